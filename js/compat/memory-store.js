'use strict'

/**
 * `MemoryStore`: express-session's in-process store, with its methods and their
 * observable behaviour, so that an app (and its tests) written against
 * `new session.MemoryStore()` sees what it saw under express-session: `get`, `set`,
 * `destroy`, `touch`, `all`, `length`, `clear`, `load`, `regenerate` and
 * `createSession` (from `Store`), each calling back on a later turn of the event loop.
 * The middleware runs its engine on it through the store bridge, so every save is a
 * `set` the app can spy on, as in express-session.
 *
 * Guarantees (as express-session 1.19's MemoryStore, written from its documented
 * behaviour): a session is kept as its JSON text, so what `get` hands back is a fresh
 * copy; a session whose `cookie.expires` has passed is deleted when it is next read
 * (`get`, `all`, `length`) and is not found; `touch` replaces only the stored `cookie`.
 * The bridge's own records (its key ring, revocation feed and users' handle lists, the
 * `~tandem:` keys) are kept in a separate map reached only through `OWN_RECORDS`: they
 * are not sessions, so `all`, `length`, `clear` and a spy on `set` never see them.
 *
 * Not here: bounds (like express-session's, this store grows with its sessions: it is
 * for development and tests, as express-session says of its own); sharing between
 * processes (use SqliteStore, RedisStore or PostgresStore). `NativeMemoryStore`
 * (stores.js) is the engine's own in-memory store, without the express-session methods.
 * @public
 */

const util = require('node:util')
const { Store } = require('./store.js')

/** The bridge's way to a store's own-record map (bridge.js). @private */
const OWN_RECORDS = Symbol.for('tandem-session.ownRecords')

const defer = typeof setImmediate === 'function' ? setImmediate : (fn, ...args) => process.nextTick(fn, ...args)

function MemoryStore (options) {
  if (options !== undefined && options !== null && options.maxSessions !== undefined) {
    throw new TypeError('maxSessions option is NativeMemoryStore\'s: MemoryStore is express-session\'s, unbounded')
  }
  Store.call(this)
  this.sessions = Object.create(null)
  const own = new Map()
  Object.defineProperty(this, OWN_RECORDS, {
    value: {
      get: async (key) => (own.has(key) ? JSON.parse(own.get(key)) : null),
      set: async (key, value) => { own.set(key, JSON.stringify(value)) },
      destroy: async (key) => { own.delete(key) }
    }
  })
}

util.inherits(MemoryStore, Store)

/** The session stored under `sid`, parsed, or undefined when absent or expired (then deleted). */
function readSession (store, sid) {
  const text = store.sessions[sid]
  if (text === undefined) return undefined
  const sess = JSON.parse(text)
  const expires = sess.cookie && sess.cookie.expires
  if (expires !== undefined && expires !== null) {
    const at = typeof expires === 'string' ? new Date(expires) : expires
    if (at <= Date.now()) {
      delete store.sessions[sid]
      return undefined
    }
  }
  return sess
}

/** Every live session, `{sid: session}`: `fn(null, sessions)`. */
MemoryStore.prototype.all = function all (fn) {
  const out = Object.create(null)
  for (const sid of Object.keys(this.sessions)) {
    const sess = readSession(this, sid)
    if (sess) out[sid] = sess
  }
  fn && defer(fn, null, out)
}

/** Remove every session. */
MemoryStore.prototype.clear = function clear (fn) {
  this.sessions = Object.create(null)
  fn && defer(fn)
}

/** Remove session `sid`. */
MemoryStore.prototype.destroy = function destroy (sid, fn) {
  delete this.sessions[sid]
  fn && defer(fn)
}

/** `fn(null, session)`, or `fn()` when `sid` is absent or expired. */
MemoryStore.prototype.get = function get (sid, fn) {
  defer(fn, null, readSession(this, sid))
}

/** Store `session` (as its JSON) under `sid`. */
MemoryStore.prototype.set = function set (sid, session, fn) {
  this.sessions[sid] = JSON.stringify(session)
  fn && defer(fn)
}

/** The number of live sessions: `fn(null, n)`. */
MemoryStore.prototype.length = function length (fn) {
  this.all((err, sessions) => {
    if (err) return fn(err)
    fn(null, Object.keys(sessions).length)
  })
}

/** Session `sid` is in use: its stored cookie becomes `session.cookie` (when it still exists). */
MemoryStore.prototype.touch = function touch (sid, session, fn) {
  const current = readSession(this, sid)
  if (current) {
    current.cookie = session.cookie
    this.sessions[sid] = JSON.stringify(current)
  }
  fn && defer(fn)
}

module.exports = { MemoryStore, OWN_RECORDS }
