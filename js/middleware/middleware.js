'use strict'

/**
 * `SessionMiddleware`: the Express middleware as an object. It holds the settings, the
 * engine, this process's caches and the event emitter; `handle(req, res, next)` runs the
 * steps before the app's route, in this order:
 *
 * 1. `route`: the refresh endpoint (`refresh.js`) and the JWKS route are answered here;
 *    requests outside the cookie Path are left alone;
 * 2. `authenticate`: the access token is verified in Rust with no I/O (the Verifier); an
 *    expired one answers `401 TRY_REFRESH` (a page navigation is sent through the refresh
 *    endpoint instead), a revoked one `401 UNAUTHORISED` with the tokens cleared; a cookie
 *    that is no token of ours is cleared and the request goes on without a session;
 * 3. `checkCsrf`: unsafe methods in cookie mode (`csrf.js`), before anything else happens;
 * 4. `loadData`: the session data from this process's cache when the token's data version
 *    says the copy is current, else from the store;
 * 5. `attach`: `req.session` is set, and the response is held at its first byte until the
 *    changed keys are saved and the new tokens are in its headers (the ResponseHold).
 *
 * Each step that answers the request itself says so (`ANSWERED`, or false), and the
 * later steps do not run. Synchronous when the data is in this process's cache (the
 * steady state); a promise when it reads the store or refreshes.
 *
 * Guarantees: errors reach Express's error handler with `code` and `status`; logs go
 * through `debug` (`DEBUG=tandem-session`) and never contain a token; an event listener
 * that throws is logged, not propagated into the request. After `close()` every request
 * answers `503 SHUTTING_DOWN`, and nothing reaches the engine.
 * Not here: the user-level calls (`admin.js`) and the function Express calls (`index.js`).
 * @private
 */

const { EventEmitter } = require('node:events')
const debug = require('debug')('tandem-session')

const { Engine } = require('../engine.js')
const { normalize, secretOptions, requestCookie } = require('./options.js')
const { BOUNCED, cookieNames, isSecureCookie, sendJson, redirectNavigation, bounceNavigation } = require('./transport.js')
const { isSecure, credentialHeaders, isNavigation, transferMode, pathname, isSafeMethod } = require('./request.js')
const csrf = require('./csrf.js')
const { DataCache, NO_DATA_CACHE } = require('./data-cache.js')
const { RequestState } = require('./request-state.js')
const { httpError, coded } = require('./errors.js')
const { sessionJson, storeOwnError } = require('../compat/bridge.js')
const { setBounded } = require('./bounded.js')
const { refresh } = require('./refresh.js')
const { LegacySwitch } = require('./legacy.js')
const { ResponseHold, RequestFields, Verifier } = require('./machinery.js')

/** `metrics()` before the engine started: every counter at zero. */
const NO_METRICS = Object.freeze({
  logins: 0,
  anonymousSessions: 0,
  refreshes: 0,
  graceHits: 0,
  refreshesRefused: 0,
  thefts: 0,
  revocations: 0,
  storeCalls: 0,
  storeErrors: 0,
  storeLatencySumMs: 0,
  storeLatencyBoundsMs: [],
  storeLatencyBuckets: []
})
/** Session data copies (and CSRF tokens) kept per process. */
const CACHE_ENTRIES = 10000
/** Verify codes that a refresh can fix. */
const TRY_REFRESH = new Set(['TOKEN_EXPIRED', 'KEY_UNKNOWN', 'TOKEN_NOT_YET_VALID'])
/** Verify codes of a value that is no token of ours (no signature of ours checks out). */
const NOT_OURS = new Set(['TOKEN_MALFORMED', 'TOKEN_INVALID'])
/** What `route` found. */
const OUTSIDE = 0
const SESSION = 1
const REFRESH = 2
const JWKS = 3
/** A step answered the request (or handed it to the error handler). */
const ANSWERED = Symbol('answered')
/** The steps are done and the request goes on: `run` calls `next()`, outside its try. */
const GO_ON = Symbol('go on')

/** The refresh endpoint's `next(err)`: throws `err` back to `run`, which calls next once. */
function rethrow (err) {
  throw err
}

/** Is `path` inside the cookie Path `base` (RFC 6265 path-match)? */
function inCookiePath (path, base) {
  return base === '/' || path === base || path.startsWith(base.endsWith('/') ? base : base + '/')
}

class SessionMiddleware {
  /** @param {object} options see README "Options" */
  constructor (options) {
    const settings = normalize(options)
    this.settings = settings
    // A cookie function may answer any Path or Domain: a `__Host-` name falls back to `__Secure-`.
    this.names = cookieNames(settings.name, settings.cookieFn === null ? settings.cookie : { path: '/*' })
    this.cookieNameList = [...new Set([this.names.plain.access, this.names.plain.refresh, this.names.secure.access, this.names.secure.refresh])]
    this.emitter = new EventEmitter()
    // An express-session store is the truth, as in express-session: what it no longer has
    // (cleared, expired by its TTL, destroyed by other code) is gone at the next request,
    // so nothing of it is kept here.
    this.dataCache = settings.bridged ? NO_DATA_CACHE : new DataCache(CACHE_ENTRIES)
    this.csrfTokens = new Map() // handle -> CSRF token (bounded.js)
    this.fixedNow = settings.engine.fixedNow ?? null
    this.engine = null
    this.verifier = null
    this.legacy = settings.legacy === null ? null : new LegacySwitch(settings.legacy)
    this.startError = null
    this.closing = null // close()'s promise, once called
    this.saving = new Set() // responses held for a save (RequestState#commit)
    this.startWith = null // without a secret option: resolves `started` once req.secret is known
    this.started = settings.secretFromRequest
      ? new Promise((resolve) => { this.startWith = resolve })
      : this.start(settings.engine)
  }

  /** Start the engine with `engineOptions` (the secret among them); the promise never rejects. */
  start (engineOptions) {
    return Engine.start({
      ...engineOptions,
      store: this.settings.store,
      accessCookieName: this.names.plain.access,
      secureAccessCookieName: this.names.secure.access,
      accessCookieWithSid: true // `s:<sid>.<jwt>`, express-session's shape (transport.js)
    }).then((engine) => {
      this.engine = engine
      this.verifier = new Verifier(engine, this.settings.transfer, () => this.now())
      if (engine.keyRingReset) this.announceReset()
    }, (e) => {
      this.startError = httpError(e)
      debug('the session engine did not start: %s', e.code)
      this.announceStartError(this.startError)
    })
  }

  /**
   * Say why the engine did not start, once: an `'error'` event when the app listens for
   * one, and for a key ring no secret opens a warning that says what to do (every request
   * answers 503 KEYRING_UNREADABLE until the configuration is fixed).
   */
  announceStartError (err) {
    if (this.emitter.listenerCount('error') > 0) this.emitter.emit('error', err)
    if (err.code !== 'KEYRING_UNREADABLE') return
    process.emitWarning(`tandem-session: no configured secret opens the key ring in ${this.storeName()}. ` +
      'It was sealed with another secret: ' +
      'every request answers 503 KEYRING_UNREADABLE. If you changed the secret, rotate instead: ' +
      'secret: [newSecret, oldSecret] opens the ring with the old one and seals it with the new one, and nobody is ' +
      'logged out. If the store belongs to another app (the default SQLite file is shared by every app started in ' +
      'the same folder), give this app its own: a SqliteStore path, a RedisStore prefix, a PostgresStore schema or ' +
      'tablePrefix. To start over, logging everyone out, start once with resetKeyRing: true (it replaces the ring ' +
      'by a new one sealed with the current secret).',
    { code: 'TANDEM_KEYRING_UNREADABLE' })
  }

  /** This start replaced a key ring that no secret opened (`resetKeyRing`): say so, once. */
  announceReset () {
    process.emitWarning(`tandem-session: resetKeyRing replaced the key ring in ${this.storeName()}, which no ` +
      'configured secret opened, by a new one sealed with the current secret: everyone was logged out. Remove ' +
      'resetKeyRing from the options now, so that a later mistyped secret is refused instead.',
    { code: 'TANDEM_KEYRING_RESET' })
  }

  /** The store's class name, and a SqliteStore's file, for the warnings. */
  storeName () {
    const store = this.settings.sessionStore
    const kind = store && store.constructor ? store.constructor.name : 'the store'
    return kind + (kind === 'SqliteStore' && store.path ? ` (${store.path})` : '')
  }

  /**
   * Stop: from now on every request answers 503 SHUTTING_DOWN; the responses held for a
   * save and the engine calls in flight (logins, refreshes) finish first, then the engine
   * stops its background task. A request already in the app's route when close() is
   * called and saving after it is done fails with 503 SHUTTING_DOWN: close the HTTP
   * server first (it waits for its requests). The default store (made here) is closed
   * too; a store the app gave is the app's to close (`store.close()`). The same promise
   * every call; never rejects.
   */
  close () {
    if (this.closing === null) {
      this.closing = this.started.then(async () => {
        while (this.saving.size > 0) await Promise.allSettled([...this.saving])
        if (this.engine !== null) await this.engine.close()
        // The default store is ours to close; a store the app gave is the app's.
        if (this.settings.ownsStore) await this.settings.sessionStore.close()
      })
      if (this.startWith !== null) { // never started: nothing to wait for
        this.startWith()
        this.startWith = null
      }
    }
    return this.closing
  }

  /** A response is held for `saving` (a promise): `close()` waits for it. */
  holding (saving) {
    this.saving.add(saving)
    const done = () => { this.saving.delete(saving) }
    saving.then(done, done)
  }

  /** The engine's counters (see README "Metrics"); zeros before it started. */
  metrics () {
    return this.engine === null ? { ...NO_METRICS } : this.engine.metrics()
  }

  /**
   * No secret option: the first request that carries `req.secret` (cookie-parser's)
   * starts the engine with it, as express-session signs with it. False when this request
   * has none: it fails with a 500 as under express-session, and the next may start it.
   */
  startFromRequest (req) {
    const secret = req.secret
    if (!((typeof secret === 'string' && secret.length > 0) || (Buffer.isBuffer(secret) && secret.length > 0))) return false
    const resolve = this.startWith
    this.startWith = null
    let options
    try {
      options = { ...this.settings.engine, ...secretOptions(secret) }
    } catch (e) { // a short req.secret with NODE_ENV=production
      this.startError = Object.assign(e, { status: 500, code: 'CONFIG_INVALID' })
      resolve()
      return true
    }
    this.start(options).then(resolve)
    return true
  }

  /** The engine's clock in ms (the test clock under `fixedNow`). */
  now () {
    return this.fixedNow ?? Date.now()
  }

  emit (event, payload) {
    try {
      this.emitter.emit(event, payload)
    } catch (e) {
      debug('a %s listener threw: %s', event, e && e.message)
    }
  }

  /** The session's CSRF token (an HMAC of the handle, fixed for the process's secrets). */
  csrfToken (handle) {
    let t = this.csrfTokens.get(handle)
    if (t === undefined) {
      t = this.engine.csrfToken(handle)
      setBounded(this.csrfTokens, handle, t, CACHE_ENTRIES)
    }
    return t
  }

  /** Express's `(req, res, next)`: wait for the engine once, then run the steps. */
  handle (req, res, next) {
    if (req.session) return next()
    if (this.closing !== null) return next(coded('SHUTTING_DOWN', 'the session middleware was closed', 503))
    // express-session's rule: while its store is disconnected, requests go on without
    // req.session (and nothing is written); the refresh endpoint answers 503.
    if (this.settings.store.connected === false && pathname(req) !== this.settings.refreshPath) return next()
    if (this.engine !== null || this.startError !== null) return this.run(req, res, next)
    if (this.startWith !== null && !this.startFromRequest(req)) {
      return next(Object.assign(new Error('secret option required for sessions'), { status: 500, code: 'CONFIG_INVALID' }))
    }
    this.started.then(() => this.closing !== null ? next(coded('SHUTTING_DOWN', 'the session middleware was closed', 503)) : this.run(req, res, next))
  }

  /**
   * The steps, their errors (thrown or rejected) going to Express's error handler. `next`
   * is called once, never inside our try: an exception it throws is the caller's, as with
   * express-session (thrown to whoever called the middleware; after a store read, an
   * unhandled rejection where express-session has an uncaught exception).
   */
  run (req, res, next) {
    if (this.startError !== null) return next(this.startError)
    let pending
    try {
      pending = this.steps(req, res, next)
    } catch (e) {
      return next(httpError(e))
    }
    if (pending === GO_ON) return next()
    if (pending !== undefined && typeof pending.then === 'function') {
      pending.then((r) => { if (r === GO_ON) next() }, (e) => next(httpError(e)))
    }
  }

  /**
   * route → authenticate → checkCsrf → loadData → attach (see the module comment). GO_ON
   * (or a promise of it) when the request goes on; errors are thrown (or rejected). `next`
   * is kept only for a save that fails after the route (`RequestState#failed`).
   */
  steps (req, res, next) {
    const headers = credentialHeaders(req, req.headers, this.cookieNameList) // read once: every read on a request costs (fast/express-proto.js)
    const method = req.method
    const route = this.route(req, method)
    if (route === OUTSIDE) return GO_ON
    if (route === JWKS) return sendJson(res, 200, this.engine.jwks(), 'public, max-age=300')
    const settings = this.settings
    const state = new RequestState(this, req, res, transferMode(req, settings.transfer, headers), isSecure(req, settings.proxy, headers))
    state.next = next
    if (settings.cookieFn !== null) state.cookieSettings = requestCookie(settings, req)
    state.cookieHeader = headers.cookie
    if (route === REFRESH) return refresh(this, state, rethrow)
    const claims = this.authenticate(state, headers, method)
    if (claims === ANSWERED || !this.checkCsrf(state, claims, method)) return undefined
    return this.loadData(state, claims)
  }

  /** Step 1: which part of the middleware answers this path. */
  route (req, method) {
    const path = pathname(req)
    const settings = this.settings
    if (path === settings.refreshPath) return REFRESH
    if (path === settings.jwksPath && method === 'GET') return JWKS
    return settings.cookieFn !== null || inCookiePath(path, settings.cookie.path) ? SESSION : OUTSIDE
  }

  /**
   * Step 2: the access token's claims; null when the request goes on without a session
   * (none presented, or a page load whose token was refused); ANSWERED when refused.
   */
  authenticate (state, headers, method) {
    const r = this.verifier.verify(headers, isSecureCookie(state.cookieSettings, state.secure))
    state.navigation = state.mode === 'cookie' && isNavigation(state.req, headers, method)
    if (r.ok) {
      state.mode = r.source === 'cookie' ? 'cookie' : 'header' // new tokens go back the way they came
      return r.claims
    }
    if (r.code === 'NO_TOKEN') return null
    return this.refused(state, r.code, method)
  }

  /** The access token was refused with `code`: answer, or go on without a session (a page load). */
  refused (state, code, method) {
    debug('access token refused: %s', code)
    const res = state.res
    if (code === 'INTERNAL') throw httpError(Object.assign(new Error('INTERNAL: session engine unavailable'), { code: 'INTERNAL' }))
    if (TRY_REFRESH.has(code)) {
      if (state.navigation) this.refreshThenReturn(state, method)
      else sendJson(res, 401, { code: 'TRY_REFRESH' })
      return ANSWERED
    }
    state.clearTokens()
    if (code === 'CREDENTIALS_AMBIGUOUS') {
      if (state.mode === 'header') { // a cookie was in it too: clear that as well
        state.mode = 'cookie'
        state.flush()
      }
      sendJson(res, 400, { code })
      return ANSWERED
    }
    // A page load goes on without a session (the page shows "signed out"); so does any
    // request whose cookie is not a token of ours (another app's cookie of the same name,
    // an express-session cookie, an old secret's token), as express-session ignores a
    // cookie it cannot unsign. A verified token of a revoked session is told: 401.
    if (state.navigation || (NOT_OURS.has(code) && state.req.headers.authorization === undefined)) return null
    sendJson(res, 401, { code: code === 'TOKEN_THEFT_DETECTED' ? code : 'UNAUTHORISED' })
    return ANSWERED
  }

  /**
   * A page navigation with an expired token goes through the refresh endpoint and back. A
   * form submission goes with a 307, so the browser posts the form again, to the page,
   * once refreshed; a cross-site one stops here. A cross-site page load (a link on another
   * site) would be sent back unrefreshed by the endpoint (refresh.js), and again, so it
   * goes through a page of ours first: the navigation that page starts is our own.
   */
  refreshThenReturn (state, method) {
    const { req, res } = state
    const resendForm = !isSafeMethod(req, method)
    const to = this.settings.refreshPath + '?to=' + encodeURIComponent(req.originalUrl || req.url)
    if (resendForm) {
      if (csrf.refusedByOrigin(req, this.settings, state.secure)) return sendJson(res, 403, { code: 'CSRF_INVALID' })
    } else if (csrf.navigationRefusedByOrigin(req, this.settings, state.secure)) {
      return bounceNavigation(res, to + '&' + BOUNCED + '=1')
    }
    redirectNavigation(res, resendForm, to)
  }

  /** Step 3: false (answered 403) when an unsafe cookie-mode request fails the CSRF check. */
  checkCsrf (state, claims, method) {
    const settings = this.settings
    const req = state.req
    if (settings.csrf === null || state.mode !== 'cookie' || isSafeMethod(req, method)) return true
    const engine = this.engine
    if (csrf.allowed(req, {
      own: csrf.ownOrigins(req, settings, state.secure),
      settings: settings.csrf,
      handle: claims ? claims.sid : null,
      verify: (t, handle) => engine.verifyCsrfToken(t, handle)
    })) return true
    debug('CSRF check refused a %s', method)
    sendJson(state.res, 403, { code: 'CSRF_INVALID' })
    return false
  }

  /**
   * Step 4: the session's data, from this process's copy when it is current, else the
   * store; without a session, an express-session cookie moved over (`legacy`).
   */
  loadData (state, claims) {
    if (claims === null && this.legacy !== null && state.mode === 'cookie') {
      const sid = this.legacy.sessionId(state.cookieHeader)
      if (sid !== null) {
        return this.legacy.move(state, sid)
          .catch((e) => { debug('a legacy session was not moved: %s', e && e.code) })
          .then(() => this.attach(state))
      }
    }
    if (claims !== null) {
      const copy = this.dataCache.get(claims.sid, claims.dv)
      if (copy === undefined) return this.loadFromStore(state, claims)
      state.adoptLoaded(claims, copy)
    }
    return this.attach(state)
  }

  async loadFromStore (state, claims) {
    const rec = this.settings.bridged ? await this.readBridged(state, claims.sid) : await this.engine.get(claims.sid)
    if (rec === null) { // gone (revoked elsewhere, not yet synced; or idle-expired)
      state.clearTokens()
      // express-session goes on with a new session when its store has none; so do we
      // over its stores. Over ours the client is told (a page load goes on signed out).
      if (!state.navigation && !this.settings.bridged) return sendJson(state.res, 401, { code: 'UNAUTHORISED' })
    } else {
      this.dataCache.set(claims.sid, rec.dataVersion, rec.data)
      state.adoptLoaded(claims, { data: rec.data, version: rec.dataVersion })
    }
    return this.attach(state)
  }

  /**
   * Session `handle` over an express-session store: the store's `get` on Node's side,
   * decoded in Rust (no thread crossing). When the store's `get` fails, its own error
   * goes to `next(err)`, as express-session passes it; a disconnected or silent store is
   * our 503 STORE_UNAVAILABLE.
   */
  async readBridged (state, handle) {
    const sess = await this.settings.store.read(handle).catch((e) => { throw storeOwnError(e) ?? e })
    if (sess === null) return null
    return this.engine.decodeBridged(handle, sessionJson(sess))
  }

  /** Step 5: expose req.session, hold the response until it is saved, and go on to the app. */
  attach (state) {
    RequestFields.expose(state.req, state)
    if (state.session === null) state.install({})
    ResponseHold.hold(state.res, state)
    return GO_ON
  }
}

module.exports = { SessionMiddleware }
