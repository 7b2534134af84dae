'use strict'

/**
 * `req.session`: the session data as plain enumerable properties, read and written
 * synchronously as with express-session, and the session's methods (each takes an
 * optional callback and returns a promise).
 *
 * Guarantees:
 * - only data is enumerable, so `JSON.stringify(req.session)` and `res.json(req.session)`
 *   show data and never a token; `id`, `userId` and `claims` are read-only;
 * - saving writes only the keys that changed (a patch, so concurrent requests changing
 *   different keys both keep theirs, DESIGN promise 9) and only to a session that still
 *   exists (a save racing a logout writes nothing, promise 5);
 * - login (`create`) always makes a new session with new tokens and revokes the one the
 *   request had (promise 4); data moves over only with `keepData`.
 * Not here: reading tokens (Rust) and when saves happen (the middleware, `hold.js`).
 * @private
 */

const { writeTokens, writeInfo } = require('./transport.js')

/** Engine user ids of anonymous sessions (data before login) start with this. */
const ANONYMOUS = '~anon:'
const MAX_USER_ID = 256
/** Data keys never installed on req.session: its members, and what would change its prototype. */
const METHOD_NAMES = new Set(['create', 'regenerate', 'destroy', 'reload', 'save', 'touch',
  'csrfToken', 'id', 'userId', 'claims', 'cookie', '__proto__', 'constructor'])
const CLEAR = null

/** An error for Express's error handler: `code` and `status`. */
function httpError (err) {
  if (err && typeof err === 'object' && err.status === undefined && typeof err.code === 'string') {
    err.status = err.code === 'STORE_UNAVAILABLE' ? 503 : err.code === 'INVALID_ARGUMENT' ? 400 : 500
  }
  return err
}

function coded (code, message, status) {
  const e = new Error(code + ': ' + message)
  e.code = code
  e.status = status
  return e
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

function noop () {}

/** The JSON text of the data, keys in insertion order (the change detector). */
function dataJson (session) {
  return JSON.stringify(session)
}

/**
 * The keys of `session` that differ from `originalJson`, as a patch (`null` deletes), or
 * null when nothing changed. Values are JSON round-tripped: what is stored is what JSON
 * can say (a `Date` becomes its ISO text, `undefined` removes the key).
 */
function changes (session, originalJson) {
  const now = dataJson(session)
  if (now === originalJson) return null
  const before = JSON.parse(originalJson)
  const after = JSON.parse(now)
  const patch = {}
  let any = false
  for (const k of Object.keys(after)) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      patch[k] = after[k]
      any = true
    }
  }
  for (const k of Object.keys(before)) {
    if (!Object.prototype.hasOwnProperty.call(after, k)) {
      patch[k] = null
      any = true
    }
  }
  return any ? patch : null
}

/**
 * One request's view of its session: what the token said, what was loaded, and what
 * must go out with the response. Shared by the `Session` object(s) of the request.
 */
class RequestState {
  constructor (mw, req, res, mode, secure) {
    this.mw = mw
    this.req = req
    this.res = res
    this.mode = mode
    this.secure = secure
    this.handle = null // the stored session, or null
    this.engineUserId = null
    this.claims = {}
    this.exp = 0 // seconds: expiry of the access token in force
    this.version = 0
    this.originalJson = '{}'
    this.loaded = false // a session came with the request
    this.touched = false
    this.destroyed = false
    this.out = undefined // tokens to send: an object, CLEAR, or undefined (nothing)
    this.session = null
    this.cookieCopy = null // req.session.cookie, made when first asked for
    this.chain = null // the session's operations, one after another (made when first needed)
    this.busy = 0
    this.next = null // Express's next, for errors after the route (set by the middleware)
    this.sessionId = null // req.sessionID
    this.ownSlots = false // req.sessionID and req.sessionStore are own properties (slots.js)
  }

  /** This response's cookie options (`req.session.cookie`). */
  get cookie () {
    if (this.cookieCopy === null) this.cookieCopy = { ...this.mw.settings.cookie }
    return this.cookieCopy
  }

  /** Run `fn` after the operations already started on this session (save, login, …). */
  run (fn) {
    this.busy++
    const p = (this.chain ?? Promise.resolve()).then(fn)
    this.chain = p.then(noop, noop).then(() => { this.busy-- })
    return p
  }

  /** Operations that send new tokens need the response headers still open. */
  assertHeadersOpen (what) {
    if (this.res.headersSent) {
      throw coded('HEADERS_SENT', what + ' after the response headers were sent: its tokens could not reach the client', 500)
    }
  }

  get userId () {
    const u = this.engineUserId
    return u === null || u.startsWith(ANONYMOUS) ? null : u
  }

  /** Adopt a session (loaded, or made by this request) and expose it as req.session. */
  adopt (handle, engineUserId, claims, exp, version, data, json) {
    this.handle = handle
    this.engineUserId = engineUserId
    this.claims = claims || {}
    this.exp = exp
    this.version = version
    this.install(data, json)
  }

  /**
   * Expose `data` as req.session. `json`, when given, is `JSON.stringify(data)` (the
   * cache's text): it is the change detector's starting point unless a key was left out.
   */
  install (data, json) {
    const s = new Session(this)
    let skipped = false
    for (const k of Object.keys(data)) { // own keys only, whatever Object.prototype holds
      if (METHOD_NAMES.has(k)) skipped = true
      else s[k] = data[k]
    }
    this.originalJson = json === undefined || skipped ? dataJson(s) : json
    this.session = s
    this.req.session = s
    this.sessionId = this.handle
    if (this.ownSlots) this.req.sessionID = this.handle
  }

  sendTokens (tokens) {
    if (tokens === CLEAR || this.out === undefined || this.out === CLEAR) {
      this.out = tokens
    } else {
      this.out = { ...this.out, ...tokens } // a re-signed access token keeps a new refresh token
    }
  }

  /** Write what must go out into the response headers (while they can still change). */
  flush () {
    if (this.out === undefined || this.res.headersSent) return
    // Per response only maxAge may change (`req.session.cookie.maxAge`, e.g. "remember
    // me"); the rest stays as checked at setup, so a cookie's name prefix and attributes
    // always agree.
    const m = this.cookieCopy === null ? this.mw.settings.cookie.maxAge : this.cookieCopy.maxAge
    const maxAge = m === null || (Number.isInteger(m) && m > 0) ? m : this.mw.settings.cookie.maxAge
    writeTokens({
      res: this.res,
      mode: this.mode,
      secure: this.secure,
      names: this.mw.names,
      cookie: maxAge === this.mw.settings.cookie.maxAge ? this.mw.settings.cookie : { ...this.mw.settings.cookie, maxAge },
      refreshPath: this.mw.settings.refreshPath
    }, this.out)
    writeInfo(this.res, this.out === CLEAR || this.handle === null ? null : {
      userId: this.userId,
      accessExpires: this.out.accessExpires * 1000,
      csrfToken: this.mode === 'cookie' ? this.mw.csrfToken(this.handle) : undefined
    })
  }

  forget (handle, reason) {
    this.mw.cache.delete(handle)
    this.mw.emit('revoked', { handle, userId: handle === this.handle ? this.userId : null, reason })
  }

  async login (userId, options) {
    const o = options ?? {}
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > MAX_USER_ID || userId.startsWith(ANONYMOUS)) {
      throw new TypeError(`userId must be a non-empty string of at most ${MAX_USER_ID} characters, not starting with "${ANONYMOUS}"`)
    }
    if (o.data !== undefined && (o.data === null || typeof o.data !== 'object' || Array.isArray(o.data))) {
      throw new TypeError('data option of create() must be an object')
    }
    // JSON round trip: what the store keeps is what the cache keeps (a Date is its text).
    const data = JSON.parse(JSON.stringify(o.keepData ? { ...JSON.parse(dataJson(this.session ?? {})), ...(o.data ?? {}) } : (o.data ?? {})))
    return this.start(userId, data, o.claims, 'login')
  }

  async start (engineUserId, data, claims, reason) {
    this.assertHeadersOpen('a login')
    const old = this.handle
    const oldUser = this.userId
    const dev = this.mw.device(this.req)
    const tokens = await this.mw.engine.create({
      userId: engineUserId, data, claims, device: dev, replaces: old ?? undefined, handle: this.newHandle()
    }).catch((e) => { throw httpError(e) })
    if (old !== null) {
      this.mw.cache.delete(old)
      this.mw.emit('revoked', { handle: old, userId: oldUser, reason })
    }
    this.mw.cache.set(tokens.handle, 0, data)
    this.adopt(tokens.handle, engineUserId, claims, tokens.accessExpires, 0, data)
    this.sendTokens(tokens)
    this.flush()
    this.mw.emit('created', { handle: tokens.handle, userId: this.userId, device: dev })
    return this.session
  }

  /** The app's `genid(req)` for the new session's handle, or undefined (random, in Rust). */
  newHandle () {
    const genid = this.mw.settings.genid
    if (genid === null) return undefined
    const h = genid(this.req)
    if (typeof h !== 'string' || !/^[A-Za-z0-9_-]{22}$/.test(h)) {
      throw new TypeError('genid must return 22 base64url characters (128 bits), e.g. crypto.randomBytes(16).toString("base64url")')
    }
    return h
  }

  async regenerate () {
    this.assertHeadersOpen('regenerate()')
    const old = this.handle
    if (old !== null && this.userId !== null) return this.start(this.engineUserId, {}, this.claims, 'regenerate')
    if (old !== null) {
      await this.mw.engine.revoke(old).catch((e) => { throw httpError(e) })
      this.forget(old, 'regenerate')
      this.sendTokens(CLEAR)
    }
    this.handle = null
    this.engineUserId = null
    this.claims = {}
    this.install({})
    return this.session
  }

  async destroy () {
    const old = this.handle
    if (old !== null) {
      await this.mw.engine.revoke(old).catch((e) => { throw httpError(e) })
      this.forget(old, 'logout')
    }
    this.handle = null
    this.destroyed = true
    this.sendTokens(CLEAR)
    this.flush()
    if (this.req.session === this.session) this.req.session = undefined
    this.session = null
  }

  async reload () {
    if (this.handle === null) throw coded('SESSION_REVOKED', 'failed to load session: it is not stored', 401)
    const r = await this.mw.engine.get(this.handle).catch((e) => { throw httpError(e) })
    if (r === null) throw coded('SESSION_REVOKED', 'failed to load session: it no longer exists', 401)
    this.mw.cache.set(this.handle, r.dataVersion, r.data)
    this.version = Math.max(this.version, r.dataVersion)
    const s = this.session
    for (const k of Object.keys(s)) delete s[k]
    for (const k of Object.keys(r.data)) if (!METHOD_NAMES.has(k)) s[k] = r.data[k]
    this.originalJson = dataJson(s)
    return s
  }

  /**
   * Save what changed; returns undefined when nothing needs I/O (the response then goes
   * out at once), else a promise.
   */
  persist () {
    const s = this.session
    if (s === null) return undefined
    const patch = changes(s, this.originalJson)
    if (this.handle === null) {
      if (patch === null && !(this.mw.settings.saveUninitialized && !this.destroyed)) return undefined
      const data = JSON.parse(dataJson(s))
      return this.start(ANONYMOUS + this.mw.randomId(), data, undefined, 'login').then(() => {})
    }
    if (patch === null) {
      if (this.touched || (this.mw.settings.rolling && this.loaded && this.out === undefined)) this.reissue()
      return undefined
    }
    const handle = this.handle
    const json = dataJson(s)
    return this.mw.engine.patchData(handle, patch).then((v) => {
      if (v === null) { // revoked meanwhile: nothing was written, and the client must know
        this.mw.cache.delete(handle)
        this.sendTokens(CLEAR)
        return
      }
      this.mw.cache.patched(handle, v, patch)
      this.version = v
      if (this.session === s) this.originalJson = json
      this.reissue()
    }, (e) => { throw httpError(e) })
  }

  /** A new access token with the current data version, expiring when the old one does. */
  reissue () {
    try {
      const t = this.mw.engine.reissue(this.engineUserId, this.handle, this.version, this.claims, this.exp)
      this.sendTokens({ accessToken: t.accessToken, accessExpires: t.accessExpires })
    } catch (e) {
      // Revoked (the client learns at its next request) or about to expire (the next
      // request refreshes): the data is saved either way.
      this.mw.debug('no new access token after a save: %s', e.code)
    }
  }

  /** The held response could not be saved: its own answer is dropped, the error handler answers. */
  failed (err) {
    this.mw.debug('saving the session failed: %s', err && err.code)
    for (const h of ['Set-Cookie', 'Content-Length', 'Content-Encoding', 'Content-Type', 'ETag', 'Last-Modified', 'Location']) {
      this.res.removeHeader(h)
    }
    this.next(httpError(err))
  }

  /** A replayed response call threw (an invalid header value, say): end the response. */
  replayFailed (err) {
    this.mw.debug('the held response could not be written: %s', err && (err.code || err.message))
    this.res.destroy()
  }

  /** End of request: `unset`, then save, then the token headers. */
  commit () {
    if (this.busy > 0) return this.chain.then(() => this.commitNow())
    return this.commitNow()
  }

  commitNow () {
    const req = this.req
    if (this.session !== null && req.session !== this.session) {
      if (req.session == null && this.mw.settings.unset === 'destroy') {
        return this.destroy().then(() => this.flush())
      }
      if (req.session == null) { // unset 'keep': the stored copy stays as it is
        this.flush()
        return undefined
      }
    }
    const p = this.persist()
    if (p === undefined) {
      this.flush()
      return undefined
    }
    return p.then(() => this.flush())
  }
}

/** `req.session`. Own enumerable properties are the data; everything else is here. */
class Session {
  #state

  constructor (state) {
    this.#state = state
  }

  /** The session handle (`req.sessionID`), or null before the session is stored. */
  get id () { return this.#state.session === this ? this.#state.handle : null }
  /** The user id, or null for an anonymous session. */
  get userId () { return this.#state.userId }
  /** The app claims of the access token (a copy). */
  get claims () { return { ...this.#state.claims } }
  /** This response's cookie options (`maxAge` and friends may be changed per response). */
  get cookie () { return this.#state.cookie }

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
      await st.persist()
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
    return h === null ? null : this.#state.mw.csrfToken(h)
  }
}

// `Object.assign(req.session, body)` with a body naming "__proto__" must not swap the
// prototype (and with it userId, claims and the methods): this accessor shadows
// Object.prototype's for every Session, and refuses to set.
Object.defineProperty(Session.prototype, '__proto__', {
  get () { return Session.prototype },
  set () { throw new TypeError('req.session.__proto__ cannot be set') }
})

module.exports = { RequestState, Session, ANONYMOUS, httpError, coded }
