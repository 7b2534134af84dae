'use strict'

/**
 * `req.session`: the session data as plain enumerable properties, read and written
 * synchronously as with express-session, and the session's methods (each takes an
 * optional callback and returns a promise).
 *
 * Guarantees: only data and `cookie` (its attributes, as express-session's) are enumerable,
 * so `JSON.stringify(req.session)` and `res.json(req.session)` never show a token; any key an app writes is data
 * (`req.session.userId = id`, the tutorials' login idiom, included) except the members
 * below, and writing one of those throws a TypeError rather than being dropped; the
 * session's login identity is `owner` (and `claims`), names no express-session app uses
 * for data; the prototype cannot be swapped by assigning `__proto__`.
 * Not here: what the methods do (the request's state, `request-state.js`).
 * @private
 */

/** Set while `sessionJson` serializes: the cookie then gives only what must be stored. */
let serializing = false

/** Data keys never installed on req.session: its members, and what would change its prototype. */
const METHOD_NAMES = new Set(['create', 'regenerate', 'destroy', 'reload', 'save', 'touch',
  'csrfToken', 'id', 'owner', 'claims', 'cookie', '__proto__', 'constructor'])

/** Writing a read-only member: a clear error, never a silently dropped value. */
function readOnly (name, instead) {
  throw new TypeError(`req.session.${name} is read-only: ${instead}`)
}

/**
 * Resolve `promise` into a node-style callback too, when one is given. Without one, a
 * caller that does not wait (`req.session.save()` and carry on, an express-session habit)
 * must not crash the process with an unhandled rejection: the error is still the
 * promise's, and a failed save still fails the response.
 */
function settle (promise, cb) {
  if (typeof cb !== 'function') {
    promise.catch(() => {})
    return promise
  }
  return promise.then((v) => { cb(null, v) }, (e) => { cb(e) })
}

/** `req.session`. Own enumerable properties are the data and `cookie`; everything else is here. */
class Session {
  #state

  /**
   * `req.session.cookie`: an own enumerable property, as express-session's, made when
   * first read (`Cookie`, js/compat/cookie.js). In the stored data it is only what must
   * outlive the request (`{originalMaxAge}` once the app changed the lifetime), else absent.
   */
  static #cookieProperty = {
    enumerable: true,
    get () { return serializing ? this.#state.storedCookie() : this.#state.cookie },
    set (v) { this.#state.replaceCookie(v) }
  }

  /** @param {import('./request-state.js').RequestState} state */
  constructor (state) {
    this.#state = state
    Object.defineProperty(this, 'cookie', Session.#cookieProperty)
  }

  /** The session handle (`req.sessionID`); a new session's is the one it will be stored under. */
  get id () { return this.#state.session === this ? this.#state.sessionId : null }
  set id (v) { readOnly('id', 'it names the stored session') }
  /** Who logged in with `create(userId)`: the user id, or null (an anonymous session). */
  get owner () { return this.#state.userId }
  set owner (v) { readOnly('owner', 'log in with req.session.create(userId)') }
  /** The app claims of the access token (a copy). */
  get claims () { return { ...this.#state.claims } }
  set claims (v) { readOnly('claims', 'give them to req.session.create(userId, { claims })') }
  /** Log in as `userId`: a new session, new tokens; the current session is revoked. */
  create (userId, options, cb) {
    if (typeof options === 'function') { cb = options; options = undefined }
    const st = this.#state
    return settle(st.run(() => st.login(userId, options)), cb)
  }

  /** A new, empty session (the same user, if logged in); the current one is revoked. */
  regenerate (cb) { const st = this.#state; return settle(st.run(() => st.regenerate()), cb) }
  /** Log out: revoke the session and clear its tokens. */
  destroy (cb) { const st = this.#state; return settle(st.run(() => st.destroy()), cb) }
  /** Read the data again from the store. */
  reload (cb) { const st = this.#state; return settle(st.run(() => st.reload()), cb) }
  /** Save the changed keys now. */
  save (cb) {
    const st = this.#state
    return settle(st.run(async () => {
      await st.persist(true)
      st.flush()
    }), cb)
  }

  /** Send the access cookie again on this response (a fresh Max-Age). */
  touch (cb) {
    this.#state.touched = true
    return settle(Promise.resolve(), cb)
  }

  /** A CSRF token for this session (`X-CSRF-Token` header or `_csrf` field), or null. */
  csrfToken () {
    const h = this.#state.handle
    return h === null ? null : this.#state.middleware.csrfToken(h)
  }
}

// `Object.assign(req.session, body)` with a body naming "__proto__" must not swap the
// prototype (and with it userId, claims and the methods): this accessor shadows
// Object.prototype's for every Session, and refuses to set.
Object.defineProperty(Session.prototype, '__proto__', {
  get () { return Session.prototype },
  set () { throw new TypeError('req.session.__proto__ cannot be set') }
})

/**
 * The JSON text of a session's data as it is stored (`cookie` only when the app changed
 * its lifetime); any other object as `JSON.stringify` gives it.
 */
function sessionJson (session) {
  serializing = true
  try {
    return JSON.stringify(session)
  } finally {
    serializing = false
  }
}

module.exports = { Session, METHOD_NAMES, sessionJson }
