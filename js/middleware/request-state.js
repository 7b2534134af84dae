'use strict'

/**
 * One request's view of its session: what the token said, what was loaded, and what must
 * go out with the response. Shared by the `Session` object(s) of the request
 * (`session.js`), and the one place that writes tokens to a response (`flush`), for the
 * app's routes and the refresh endpoint alike.
 *
 * Guarantees:
 * - saving writes only the keys that changed (`changes.js`) and only to a session that
 *   still exists (a save racing a logout writes nothing, DESIGN promise 5);
 * - login (`create`) always makes a new session with new tokens and revokes the one the
 *   request had (promise 4); data moves over only with `keepData`;
 * - tokens go out only while the response headers are open; a login after they were
 *   sent fails with `HEADERS_SENT` rather than losing its tokens.
 * Not here: reading tokens (Rust), and when the end of the request comes (the
 * ResponseHold calls `commit`).
 * @private
 */

const { randomBytes } = require('node:crypto')
const debug = require('debug')('tandem-session')

const { MAX_COOKIE_MS, writeTokens, writeInfo } = require('./transport.js')
const { device } = require('./request.js')
const { Session, METHOD_NAMES } = require('./session.js')
const { exposeId } = require('./request-fields.js')
const { Cookie } = require('../compat/cookie.js')
const { dataJson, changes } = require('./changes.js')
const { httpError, coded } = require('./errors.js')
const { settle, takeStoreError } = require('../compat/bridge.js')

/** `out` when the response must clear the tokens. */
const CLEAR = null
/** Response headers that describe the app's own answer (dropped when its save failed). */
const ANSWER_HEADERS = ['Set-Cookie', 'Content-Length', 'Content-Encoding', 'Content-Type', 'ETag', 'Last-Modified', 'Location']

function noop () {}

/** A new session's handle drawn here: 128 bits from the CSPRNG, as Rust draws them. */
function randomHandle () {
  return randomBytes(16).toString('base64url')
}

/** Did the store fail (as opposed to the app's input or the session's state)? */
function isStoreFailure (e) {
  return e !== null && typeof e === 'object' && (e.code === 'STORE_UNAVAILABLE' || e.code === 'STORE_CORRUPT')
}

/** `reload()` of a session the store does not have: express-session's message, our code. */
function notLoaded () {
  return Object.assign(new Error('failed to load session'), { code: 'SESSION_REVOKED', status: 401 })
}

class RequestState {
  /**
   * @param {import('./middleware.js').SessionMiddleware} middleware
   * @param {'cookie'|'header'} mode how this request's tokens travel (new ones go back so)
   * @param {boolean} secure whether the request counts as secure for cookies
   */
  constructor (middleware, req, res, mode, secure) {
    this.middleware = middleware
    this.req = req
    this.res = res
    this.mode = mode
    this.secure = secure
    this.cookieSettings = middleware.settings.cookie // this request's cookie attributes (a `cookie` function's answer)
    this.navigation = false // a page load in cookie mode (set by the middleware)
    this.handle = null // the stored session, or null
    this.subject = null // the access token's `sub`: opaque, what `reissue` takes back
    this.userId = null // the app's user id: null for an anonymous session or none
    this.claims = {}
    this.exp = 0 // seconds: expiry of the access token in force
    this.version = 0
    this.originalJson = '{}'
    this.loaded = false // a session came with the request
    this.touched = false
    this.keptAlive = false // express-session's touch/resave call made (an express-session store)
    this.destroyed = false
    this.out = undefined // tokens to send: an object, CLEAR, or undefined (nothing)
    this.session = null
    this.cookieObject = null // req.session.cookie, made when first asked for
    this.savedCookie = undefined // the stored data's `cookie` ({originalMaxAge}), if any
    this.chain = null // the session's operations, one after another (made when first needed)
    this.busy = 0
    this.next = null // Express's next, for errors after the route (set by the middleware)
    this.cookieHeader = undefined // the Cookie header the credentials were read from (request.js)
    this.pendingHandle = null // the handle a new session will be stored under, once asked for
    this.pendingRandom = false // drawn at random (not by the app's genid)
    this.idReplaced = false // the app assigned req.sessionID where it is our own property (RequestFields)
  }

  /**
   * `req.session.cookie`: express-session's Cookie with this setup's attributes, its
   * lifetime the session's own (`originalMaxAge` as stored, else the `cookie.maxAge`
   * option) counted from now, as express-session's touch at load does.
   */
  get cookie () {
    if (this.cookieObject === null) {
      const c = this.cookieSettings
      this.cookieObject = new Cookie({
        path: c.path,
        domain: c.domain,
        secure: c.secure,
        sameSite: c.sameSite,
        priority: c.priority,
        partitioned: c.partitioned,
        maxAge: this.sessionMaxAge()
      })
    }
    return this.cookieObject
  }

  /** `req.session.cookie = options`: a new Cookie from them (an object, as express-session's fields). */
  replaceCookie (options) {
    if (options === null || typeof options !== 'object') throw new TypeError('req.session.cookie must be set to an object of cookie fields')
    this.cookieObject = new Cookie(options)
  }

  /** The session's cookie lifetime in ms (null: a browser-session cookie), before this request changed it. */
  sessionMaxAge () {
    const saved = this.savedCookie
    const m = saved !== undefined && saved !== null ? saved.originalMaxAge : undefined
    return m === null || (Number.isInteger(m) && m > 0) ? m : this.cookieSettings.maxAge
  }

  /**
   * What the stored data keeps of the cookie: `{originalMaxAge}` when the session's
   * lifetime is not the `cookie.maxAge` option's (a "remember me"), else undefined (no key).
   */
  storedCookie () {
    const c = this.cookieObject
    if (c === null) return this.savedCookie
    const m = c.originalMaxAge
    if (m === this.cookieSettings.maxAge || !(m === null || (Number.isFinite(m) && m > 0))) return undefined
    return { originalMaxAge: m === null ? null : Math.min(Math.round(m), MAX_COOKIE_MS) }
  }

  /** The Max-Age (ms) of this response's cookies: the Cookie's time left, or the session's lifetime. */
  responseMaxAge () {
    const c = this.cookieObject
    if (c === null) return this.sessionMaxAge()
    const e = c.expires
    if (e === null || e === undefined || e === false) return null
    if (!(e instanceof Date) || !Number.isFinite(e.valueOf())) return this.sessionMaxAge()
    const now = Date.now()
    const left = e.valueOf() - now
    if (left <= 0) return Math.max(left, -now) // already past: expire it, Expires that date
    // Whole seconds, as Max-Age says: a cookie made this request keeps its exact lifetime.
    return Math.min(Math.round(left / 1000) * 1000, MAX_COOKIE_MS)
  }

  /** The store in use (`req.sessionStore`). */
  get store () { return this.middleware.settings.sessionStore }

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

  /** Adopt a session (loaded, or made by this request) and expose it as req.session. */
  adopt (handle, subject, userId, claims, exp, version, data, json) {
    this.handle = handle
    this.subject = subject
    this.userId = userId
    this.claims = claims || {}
    this.exp = exp
    this.version = version
    this.install(data, json)
  }

  /**
   * Adopt the session the access token names, with its data `copy` (`{data, version,
   * json?}`, from this process's cache or the store).
   */
  adoptLoaded (claims, copy) {
    this.adopt(claims.sid, claims.sub, claims.userId, claims.claims, claims.exp, Math.max(copy.version, claims.dv), copy.data, copy.json)
    this.loaded = true
  }

  /**
   * Expose `data` as req.session. `json`, when given, is `JSON.stringify(data)` (the
   * cache's text): it is the change detector's starting point unless a key was left out.
   */
  install (data, json) {
    const s = new Session(this)
    let skipped = false
    this.cookieObject = null
    this.savedCookie = undefined
    for (const k of Object.keys(data)) { // own keys only, whatever Object.prototype holds
      if (METHOD_NAMES.has(k)) {
        skipped = true
        if (k === 'cookie') this.savedCookie = data[k]
      } else {
        s[k] = data[k]
      }
    }
    this.originalJson = json === undefined || skipped ? dataJson(s) : json
    this.session = s
    this.req.session = s
    if (this.idReplaced) { // the app's value gives way to the new session's id
      this.idReplaced = false
      exposeId(this.req, this)
    }
  }

  /**
   * `req.sessionID` and `req.session.id`: the stored session's handle; for a session not
   * stored yet, the handle it will be stored under (made when first asked for, by `genid`
   * or at random, as express-session makes its id at the start); null without a session.
   */
  get sessionId () {
    if (this.handle !== null) return this.handle
    if (this.session === null) return null
    if (this.pendingHandle === null) {
      const made = this.newHandle()
      this.pendingRandom = made === undefined
      this.pendingHandle = made ?? randomHandle()
    }
    return this.pendingHandle
  }

  sendTokens (tokens) {
    if (tokens === CLEAR || this.out === undefined || this.out === CLEAR) {
      this.out = tokens
    } else {
      this.out = { ...this.out, ...tokens } // a re-signed access token keeps a new refresh token
    }
  }

  /** Clear the tokens on this response now. */
  clearTokens () {
    this.sendTokens(CLEAR)
    this.flush()
  }

  /** The refresh endpoint rotated the tokens of session `tokens.handle`: send them now. */
  sendRefreshed (tokens) {
    this.handle = tokens.handle
    this.subject = tokens.subject
    this.userId = tokens.userId
    this.sendTokens(tokens)
    this.flush()
  }

  /** Write what must go out into the response headers (while they can still change). */
  flush () {
    if (this.out === undefined || this.res.headersSent) return
    const settings = this.middleware.settings
    // Per session only the lifetime may change (`req.session.cookie.maxAge`, e.g.
    // "remember me"); the rest stays as checked at setup, so a cookie's name prefix and
    // attributes always agree.
    const maxAge = this.responseMaxAge()
    writeTokens({
      res: this.res,
      mode: this.mode,
      secure: this.secure,
      names: this.middleware.names,
      handle: this.handle,
      cookie: maxAge === this.cookieSettings.maxAge ? this.cookieSettings : { ...this.cookieSettings, maxAge },
      refreshPath: settings.refreshPath
    }, this.out)
    writeInfo(this.res, this.out === CLEAR || this.handle === null ? null : {
      userId: this.userId,
      accessExpires: this.out.accessExpires * 1000,
      csrfToken: this.mode === 'cookie' ? this.middleware.csrfToken(this.handle) : undefined
    })
  }

  forget (handle, reason) {
    this.middleware.dataCache.delete(handle)
    this.middleware.emit('revoked', { handle, userId: handle === this.handle ? this.userId : null, reason })
  }

  async login (userId, options) {
    const o = options ?? {}
    if (typeof userId !== 'string') throw new TypeError('userId must be a string')
    if (o.data !== undefined && (o.data === null || typeof o.data !== 'object' || Array.isArray(o.data))) {
      throw new TypeError('data option of create() must be an object')
    }
    // JSON round trip: what the store keeps is what the cache keeps (a Date is its text).
    const data = JSON.parse(JSON.stringify(o.keepData ? { ...JSON.parse(dataJson(this.session ?? {})), ...(o.data ?? {}) } : (o.data ?? {})))
    return this.start(userId, data, o.claims, 'login')
  }

  /** A new session for `userId` (null: anonymous) with `data`, replacing this request's. */
  async start (userId, data, claims, reason) {
    this.assertHeadersOpen('a login')
    this.loaded = false // the session from now on is this request's, already stored
    const middleware = this.middleware
    const old = this.handle
    const oldUser = this.userId
    const dev = device(this.req)
    const { handle, random } = this.loginHandle(userId)
    const create = () => middleware.engine.create({ userId, data, claims, device: dev, replaces: old ?? undefined, handle })
    const tokens = await (random ? middleware.settings.store.asFresh(handle, create) : create())
      .catch((e) => { throw e.code === 'INVALID_ARGUMENT' ? new TypeError(e.message) : httpError(e) })
    if (old !== null) {
      middleware.dataCache.delete(old)
      middleware.emit('revoked', { handle: old, userId: oldUser, reason })
    }
    middleware.dataCache.set(tokens.handle, 0, data)
    const cookie = this.cookieObject
    this.adopt(tokens.handle, tokens.subject, tokens.userId, claims, tokens.accessExpires, 0, data)
    // the first save of this request's session keeps the cookie the app set on it
    if (reason === 'save') this.cookieObject = cookie
    this.sendTokens(tokens)
    this.flush()
    middleware.emit('created', { handle: tokens.handle, userId: this.userId, device: dev })
    return this.session
  }

  /** What a parallel request needs to take over the session this request just made (legacy.js). */
  movedSession () {
    return { out: this.out, handle: this.handle, subject: this.subject, userId: this.userId, exp: this.exp, json: dataJson(this.session) }
  }

  /** Take over a session another request of this browser just made (`movedSession`). */
  adoptMoved (m) {
    this.adopt(m.handle, m.subject, m.userId, {}, m.exp, 0, JSON.parse(m.json))
    this.sendTokens(m.out)
    this.flush()
  }

  /**
   * The handle promised to a new anonymous session (`sessionId`), once. A login always
   * gets a handle nobody saw before it (the promised one is dropped).
   */
  takePendingHandle (userId) {
    const h = this.pendingHandle
    this.pendingHandle = null
    return userId === null ? h ?? undefined : undefined
  }

  /**
   * The handle a login stores its session under (undefined: drawn in Rust), and whether
   * it was drawn at random here over an express-session store: then the store is not
   * asked whether it is free (compat/bridge.js `asFresh`), as express-session never reads
   * a new id. The app's `genid` ids are checked.
   */
  loginHandle (userId) {
    const random = this.pendingRandom
    const pending = this.takePendingHandle(userId)
    if (pending !== undefined) return { handle: pending, random: random && this.middleware.settings.bridged }
    const made = this.newHandle()
    if (made !== undefined || !this.middleware.settings.bridged) return { handle: made, random: false }
    return { handle: randomHandle(), random: true }
  }

  /** The app's `genid(req)` for the new session's handle, or undefined (random, in Rust). */
  newHandle () {
    const genid = this.middleware.settings.genid
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
    if (old !== null && this.userId !== null) return this.start(this.userId, {}, this.claims, 'regenerate')
    if (old !== null) {
      await this.middleware.engine.revoke(old).catch((e) => { throw httpError(e) })
      this.forget(old, 'regenerate')
      this.sendTokens(CLEAR)
    }
    this.handle = null
    this.pendingHandle = null // a new session, a new id (as express-session's regenerate)
    this.pendingRandom = false
    this.subject = null
    this.userId = null
    this.claims = {}
    this.install({})
    return this.session
  }

  async destroy () {
    const old = this.handle
    if (old !== null) {
      await this.middleware.engine.revoke(old).catch((e) => { throw httpError(e) })
      this.forget(old, 'logout')
    }
    this.dropSession(old)
  }

  /** This request's session `old` (null: never stored) is gone: no handle, no req.session. */
  dropSession (old) {
    this.handle = null
    this.destroyed = true
    if (old !== null) this.clearTokens() // a session never stored has no cookies to clear
    if (this.req.session === this.session) this.req.session = undefined
    this.session = null
  }

  /**
   * `unset: 'destroy'`: destroy the session the app dropped. If the store fails, it is
   * dropped here all the same (its cookies cleared) and the error follows the response
   * (failLate), as express-session's destroy at the end of a request.
   */
  unsetDestroy () {
    const handle = this.handle
    if (handle === null && this.middleware.settings.bridged && this.session !== null) {
      // Never stored: express-session calls its store's destroy all the same (it cannot
      // tell), and an app's spy on it sees that call; a failure follows the response.
      const id = this.sessionId
      return this.destroy().then(() => settle(this.store, 'destroy', [id]).catch((e) => this.reportLate(e)))
    }
    return this.destroy().catch((e) => {
      this.failLate(e, handle)
      this.middleware.dataCache.delete(handle)
      this.dropSession(handle)
    })
  }

  async reload () {
    if (this.handle === null) throw notLoaded()
    const r = await this.middleware.engine.get(this.handle).catch((e) => { throw httpError(e) })
    if (r === null) throw notLoaded()
    this.middleware.dataCache.set(this.handle, r.dataVersion, r.data)
    this.version = Math.max(this.version, r.dataVersion)
    const s = this.session
    for (const k of Object.keys(s)) if (k !== 'cookie') delete s[k]
    for (const k of Object.keys(r.data)) if (!METHOD_NAMES.has(k)) s[k] = r.data[k]
    this.originalJson = dataJson(s)
    return s
  }

  /**
   * Save what changed; returns undefined when nothing needs I/O (the response then goes
   * out at once), else a promise. `explicit`: the app called `save()` (on an
   * express-session store, an unchanged session is then written, as its `set`).
   */
  persist (explicit = false) {
    const s = this.session
    if (s === null) return undefined
    const settings = this.middleware.settings
    const patch = changes(s, this.originalJson)
    if (this.handle === null) {
      if (patch === null && !(settings.saveUninitialized && !this.destroyed)) return undefined
      // express-session saves nothing when the app made req.sessionID something else than an id
      if (typeof this.req.sessionID !== 'string') return undefined
      const data = JSON.parse(dataJson(s))
      // over an express-session store, the id it is stored under names a failure's own error
      const handle = settings.bridged ? this.sessionId : null
      const saved = this.start(null, data, undefined, 'save').then(noop)
      // An uninitialized session (saveUninitialized) holds nothing the app wrote: if the
      // store fails, the response goes out without it and the error follows (failLate).
      return patch !== null ? saved.catch((e) => { throw this.storeError(e, handle) }) : saved.catch((e) => this.failLate(e, handle))
    }
    if (patch === null) {
      if (this.touched || (settings.rolling && this.loaded && this.out === undefined)) this.reissue()
      if (settings.keepAlive === null || !this.loaded || (this.keptAlive && !explicit)) return undefined
      this.keptAlive = true
      return this.keepAlive(explicit || settings.keepAlive === 'resave')
    }
    const handle = this.handle
    const json = dataJson(s)
    const cache = this.middleware.dataCache
    return this.patchStored(handle, patch).then((v) => {
      if (v === null) { // revoked meanwhile: nothing was written, and the client must know
        cache.delete(handle)
        this.sendTokens(CLEAR)
        return
      }
      cache.patched(handle, v, patch)
      this.version = v
      if (this.session === s) this.originalJson = json
      // The new data version travels in a new access token, so that other processes'
      // caches know theirs is old. Over an express-session store every request reads the
      // store: the cookie stays as it is (as express-session's), unless its lifetime moves.
      if (!settings.bridged || this.touched || settings.rolling || Object.hasOwn(patch, 'cookie')) this.reissue()
    }, (e) => { throw this.storeError(e, handle) })
  }

  /**
   * Write `patch` to session `handle` → the new data version, or null when it is gone.
   * Over an express-session store on Node's side (compat/bridge.js `patch`), unless the
   * session's lock is taken; else by the engine.
   */
  patchStored (handle, patch) {
    const { settings, engine } = this.middleware
    if (!settings.bridged) return engine.patchData(handle, patch)
    return settings.store.patch(handle, patch, engine).then((v) => v === undefined ? engine.patchData(handle, patch) : v)
  }

  /**
   * The error a failed store call of session `handle` fails the request with: ours (a
   * code and a status, no text of the store's), with the app's store's own error, when
   * it is an express-session store, as its `cause` (for the app's logs).
   */
  storeError (e, handle) {
    const err = httpError(e)
    if (!isStoreFailure(err)) return err
    if (err.cause === undefined) { // made through the native bridge: its store error was kept
      const own = takeStoreError(this.store, handle)
      if (own !== undefined) err.cause = own
    }
    return err
  }

  /**
   * A store failure that loses nothing the app wrote (the touch of an unchanged session,
   * the first save of an empty one, the destroy of `unset: 'destroy'`): the response goes
   * out as it is, and once it is sent the error goes to `next(err)`, as express-session
   * passes it on: the app's store's own error when it is an express-session store, else
   * ours. Anything but a store failure still fails the request.
   */
  failLate (e, handle) {
    if (!isStoreFailure(e)) throw httpError(e)
    debug('the session store failed after the response was decided: %s', e.code)
    this.reportLate(e.cause ?? takeStoreError(this.store, handle) ?? httpError(e))
  }

  /** Give `err` to `next(err)` once the response is sent (or the connection gone). */
  reportLate (err) {
    const res = this.res
    const next = this.next
    if (next === null) return
    let reported = false
    const report = () => {
      if (reported) return
      reported = true
      setImmediate(next, err)
    }
    if (res.writableFinished || res.destroyed) report()
    else {
      res.once('finish', report)
      res.once('close', report)
    }
  }

  /**
   * express-session's end-of-request call for the unchanged session it loaded (an
   * express-session store only): touch it, or `rewrite` it (`resave`). A session the
   * store no longer has was revoked elsewhere: the client learns it now.
   */
  keepAlive (rewrite) {
    const handle = this.handle
    const { settings, engine } = this.middleware
    // A touch over an express-session store is made on Node's side (compat/bridge.js
    // `touch`) unless the session's lock is taken; `resave`'s set always by the engine.
    const kept = !rewrite && settings.bridged
      ? settings.store.touch(handle, engine).then((r) => r ?? engine.keepAlive(handle, rewrite))
      : engine.keepAlive(handle, rewrite)
    return kept.then((alive) => {
      if (!alive && this.handle === handle) {
        this.middleware.dataCache.delete(handle)
        this.sendTokens(CLEAR)
      }
    }, (e) => this.failLate(e, handle))
  }

  /** A new access token with the current data version, expiring when the old one does. */
  reissue () {
    try {
      const t = this.middleware.engine.reissue(this.subject, this.handle, this.version, this.claims, this.exp)
      this.sendTokens({ accessToken: t.accessToken, accessExpires: t.accessExpires })
    } catch (e) {
      // Revoked (the client learns at its next request) or about to expire (the next
      // request refreshes): the data is saved either way.
      debug('no new access token after a save: %s', e.code)
    }
  }

  /** The held response could not be saved: its own answer is dropped, the error handler answers. */
  failed (err) {
    debug('saving the session failed: %s', err && err.code)
    for (const h of ANSWER_HEADERS) this.res.removeHeader(h)
    this.next(httpError(err))
  }

  /** A replayed response call threw (an invalid header value, say): end the response. */
  replayFailed (err) {
    debug('the held response could not be written: %s', err && (err.code || err.message))
    this.res.destroy()
  }

  /** End of request: `unset`, then save, then the token headers. */
  commit () {
    const saving = this.busy > 0 ? this.chain.then(() => this.commitNow()) : this.commitNow()
    if (saving !== undefined) this.middleware.holding(saving) // close() waits for it
    return saving
  }

  commitNow () {
    const req = this.req
    if (this.session !== null && req.session !== this.session) {
      if (req.session == null && this.middleware.settings.unset === 'destroy') {
        return this.unsetDestroy().then(() => this.flush())
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

module.exports = { RequestState }
