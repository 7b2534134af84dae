'use strict'

/**
 * `Store`: express-session's abstract base class for session stores, so that store
 * packages written for express-session load and construct against tandem-session:
 * `require('connect-sqlite3')(session)`, `memorystore(session)`, connect-redis's
 * `class RedisStore extends session.Store`, and the older `Store.call(this, options)` +
 * `util.inherits(X, Store)` / `X.prototype = Object.create(Store.prototype)` forms.
 *
 * Guarantees (as express-session 1.19's Store, written from its documented behaviour):
 * - `Store` is an EventEmitter and a plain constructor function (not a class), so a
 *   subclass may call `Store.call(this, …)` as the older packages do;
 * - `regenerate(req, fn)`: `this.destroy(req.sessionID, cb)`, then in that callback
 *   `this.generate(req)` (which the session middleware installs on the store it is
 *   given), then `fn(err)` with destroy's error;
 * - `load(sid, fn)`: `this.get(sid, cb)`; an error goes to `fn(err)`, nothing found is
 *   `fn()`, a found session is `fn(null, this.createSession(req, sess))` with
 *   `req = {sessionID: sid, sessionStore: this}`;
 * - `createSession(req, sess)`: turns `sess.cookie` (stored JSON: `expires` a string)
 *   into a `Cookie` whose `expires` is a Date and whose `originalMaxAge` is the stored
 *   one, then sets and returns `req.session = new Session(req, sess)`.
 * Differences, each a failure made clearer: `regenerate` without an installed
 * `generate` throws before destroying anything; an exception from `createSession` in
 * `load` goes to `fn(err)` instead of being thrown inside the store's callback; stored
 * data without a cookie gets a default Cookie.
 *
 * The Session seam: `createSession` builds `new Session(req, sess)` with the constructor
 * registered by `setSessionConstructor(Session)` (process-wide; it returns the previous
 * one). Until something registers one it is `StoreSession` (store-session.js), which
 * behaves as express-session's Session over `req.sessionStore`.
 * Not here: running tandem's engine on such a store (the store bridge), and which
 * methods a store must have (the middleware checks that when given one).
 * @public
 */

const { EventEmitter } = require('node:events')
const util = require('node:util')
const { Cookie } = require('./cookie.js')
const { StoreSession } = require('./store-session.js')

let SessionConstructor = StoreSession

/**
 * Make `createSession` build sessions with `Session` (called as `new Session(req, sess)`).
 * @param {Function} Session
 * @returns {Function} the constructor registered before
 * @private
 */
function setSessionConstructor (Session) {
  if (typeof Session !== 'function') throw new TypeError('Session must be a constructor function')
  const previous = SessionConstructor
  SessionConstructor = Session
  return previous
}

/** Abstract base class for session stores (an EventEmitter). */
function Store () {
  if (this === undefined || this === null) throw new TypeError("Store must be called with 'new' or on a store being constructed")
  EventEmitter.call(this)
}

util.inherits(Store, EventEmitter) // as express-session: Store.super_ too

// The methods are assigned, as express-session's are, so they are enumerable like theirs.

/** Replace `req`'s session: destroy `req.sessionID`, then generate a new one; `fn(err)`. */
Store.prototype.regenerate = function regenerate (req, fn) {
  if (typeof this.generate !== 'function') {
    throw new TypeError('store.generate is not set: regenerate() needs the store to be given to session()')
  }
  this.destroy(req.sessionID, (err) => {
    this.generate(req)
    fn(err)
  })
}

/** Fetch session `sid` and hand it to `fn(err, session)` as a Session (`fn()` when not found). */
Store.prototype.load = function load (sid, fn) {
  this.get(sid, (err, sess) => {
    if (err) return fn(err)
    if (!sess) return fn()
    let session
    try {
      session = this.createSession({ sessionID: sid, sessionStore: this }, sess)
    } catch (e) {
      return fn(e)
    }
    fn(null, session)
  })
}

/** Make `req.session` from stored data `sess` (its `cookie` becomes a Cookie); returns it. */
Store.prototype.createSession = function createSession (req, sess) {
  const stored = sess.cookie
  if (stored === undefined || stored === null) {
    sess.cookie = new Cookie()
  } else {
    const { expires, originalMaxAge } = stored
    sess.cookie = new Cookie(stored)
    if (typeof expires === 'string') sess.cookie.expires = new Date(expires)
    sess.cookie.originalMaxAge = originalMaxAge // the setters above changed it
  }
  req.session = new SessionConstructor(req, sess)
  return req.session
}

module.exports = { Store, setSessionConstructor }
