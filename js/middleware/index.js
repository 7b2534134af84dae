'use strict'

/**
 * `session(options)`: the Express middleware. Per request:
 *
 * 1. the refresh endpoint and the JWKS route are answered here;
 * 2. the access token is verified in Rust with no I/O (`Engine#verifyRequest`); an expired
 *    one answers `401 TRY_REFRESH` (a page navigation is sent through the refresh
 *    endpoint instead), a bad or revoked one `401 UNAUTHORISED` with the tokens cleared;
 * 3. CSRF is checked for unsafe methods in cookie mode (`csrf.js`), before anything else
 *    happens;
 * 4. the session data comes from this process's cache when the token's data version says
 *    the copy is current, else from the store;
 * 5. `req.session` is set, and the response is held at its first byte until the changed
 *    keys are saved and the new tokens are in its headers (`hold.js`).
 *
 * The function returned is also an event emitter (`created`, `refreshed`, `revoked`,
 * `theft`) and carries the user-level calls (`listSessions`, `revokeSession`, …).
 * Errors reach Express's error handler with `code` and `status`; logs go through `debug`
 * (`DEBUG=tandem-session`) and never contain a token.
 * @public
 */

const crypto = require('node:crypto')
const { EventEmitter } = require('node:events')
const debug = require('debug')('tandem-session')

const { Engine } = require('../engine.js')
const { normalize } = require('./options.js')
const { cookieNames, isSecureCookie, sendJson: json } = require('./transport.js')
const { isSecure, ownOrigin, isNavigation, transferMode, device, pathname, isSafeMethod } = require('./request.js')
const csrf = require('./csrf.js')
const { DataCache } = require('./data-cache.js')
const { VerdictCache } = require('./verdict-cache.js')
const { RequestState, ANONYMOUS, httpError } = require('./session.js')
const { refresh } = require('./refresh.js')
const { hold } = require('./hold.js')
const { attach } = require('./slots.js')
const { dashboard, track } = require('./dashboard.js')

/** Session data copies kept per process. */
const CACHE_ENTRIES = 10000
/** Verify codes that a refresh can fix. */
const TRY_REFRESH = new Set(['TOKEN_EXPIRED', 'KEY_UNKNOWN', 'TOKEN_NOT_YET_VALID'])

/** Is `path` inside the cookie Path `base` (RFC 6265 path-match)? */
function inCookiePath (path, base) {
  return base === '/' || path === base || path.startsWith(base.endsWith('/') ? base : base + '/')
}

function publicUserId (u) {
  return u.startsWith(ANONYMOUS) ? null : u
}

/**
 * Create the middleware.
 * @param {object} options see README "Options"
 */
function session (options) {
  const settings = normalize(options)
  const names = cookieNames(settings.name, settings.cookie)
  const emitter = new EventEmitter()
  let fixedNow = settings.engine.fixedNow ?? null
  const mw = {
    settings,
    names,
    engine: null,
    cache: new DataCache(CACHE_ENTRIES),
    verdicts: new VerdictCache(CACHE_ENTRIES),
    /** The engine's clock in ms (the test clock under `fixedNow`). */
    now: () => fixedNow ?? Date.now(),
    debug,
    device,
    emit: (event, payload) => {
      try {
        emitter.emit(event, payload)
      } catch (e) {
        debug('a %s listener threw: %s', event, e && e.message)
      }
    },
    randomId: () => crypto.randomBytes(16).toString('base64url'),
    /** The session's CSRF token (an HMAC of the handle, fixed for the process's secrets). */
    csrfToken: (handle) => {
      let t = csrfTokens.get(handle)
      if (t === undefined) {
        t = mw.engine.csrfToken(handle)
        if (csrfTokens.size >= CACHE_ENTRIES) csrfTokens.delete(csrfTokens.keys().next().value)
        csrfTokens.set(handle, t)
      }
      return t
    }
  }
  const csrfTokens = new Map() // handle -> CSRF token, the oldest dropped first
  let startError = null
  const ready = Engine.start({
    store: settings.store,
    secret: settings.secret,
    algorithm: settings.algorithm,
    accessCookieName: names.plain.access,
    secureAccessCookieName: names.secure.access,
    ...settings.engine
  }).then((e) => { mw.engine = e }, (e) => {
    startError = httpError(e)
    debug('the session engine did not start: %s', e.code)
  })

  /**
   * Everything before the app's route. Synchronous when the data is in this process's
   * cache (the steady state); returns a promise when it reads the store or refreshes.
   */
  function load (req, res, next) {
    const h = req.headers
    const method = req.method
    const secure = isSecure(req, settings.proxy, h)
    const mode = transferMode(req, settings.transfer, h)
    const path = pathname(req)
    if (path === settings.refreshPath) return refresh(mw, req, res, { mode, secure }, next)
    if (settings.jwksPath !== null && path === settings.jwksPath && method === 'GET') {
      return json(res, 200, mw.engine.jwks(), 'public, max-age=300')
    }
    if (!inCookiePath(path, settings.cookie.path)) return next()
    const engine = mw.engine
    const state = new RequestState(mw, req, res, mode, secure)
    // 'auto' hands Rust both headers: a cookie and a Bearer token that disagree are
    // CREDENTIALS_AMBIGUOUS, not a choice we make.
    const transfer = settings.transfer
    const cookie = transfer !== 'header' ? h.cookie : undefined
    const authorization = transfer !== 'cookie' ? h.authorization : undefined
    const cookieSecure = isSecureCookie(settings.cookie, secure)
    const epoch = engine.verdictEpoch()
    const now = mw.now()
    let r = mw.verdicts.get(cookie, authorization, cookieSecure, epoch, now)
    if (r === undefined) {
      r = engine.verifyRequest(cookie, authorization, cookieSecure)
      if (r.ok) mw.verdicts.set(cookie, authorization, cookieSecure, r, epoch, now)
    }
    const navigation = mode === 'cookie' && isNavigation(req, h, method)
    if (!r.ok && r.code !== 'NO_TOKEN') {
      debug('access token refused: %s', r.code)
      if (r.code === 'INTERNAL') return next(httpError(Object.assign(new Error('INTERNAL: session engine unavailable'), { code: 'INTERNAL' })))
      if (TRY_REFRESH.has(r.code)) {
        if (!navigation) return json(res, 401, { code: 'TRY_REFRESH' })
        // A form submission goes through the refresh endpoint with a 307, so the browser
        // posts the form again, to the page, once refreshed; a cross-site one stops here.
        const get = isSafeMethod(req, method)
        if (!get && settings.csrf !== null &&
            csrf.originVerdict(req, ownOrigin(req, secure, settings.proxy), settings.csrf.trustedOrigins) === false) {
          return json(res, 403, { code: 'CSRF_INVALID' })
        }
        res.statusCode = get ? 303 : 307
        res.setHeader('Location', settings.refreshPath + '?to=' + encodeURIComponent(req.originalUrl || req.url))
        res.setHeader('Cache-Control', 'no-store')
        return res.end()
      }
      state.sendTokens(null)
      state.flush()
      if (r.code === 'CREDENTIALS_AMBIGUOUS') {
        if (state.mode === 'header') { // a cookie was in it too: clear that as well
          state.mode = 'cookie'
          state.flush()
        }
        return json(res, 400, { code: r.code })
      }
      // A page load goes on without a session (the page shows "signed out").
      if (!navigation) return json(res, 401, { code: r.code === 'TOKEN_THEFT_DETECTED' ? r.code : 'UNAUTHORISED' })
    }
    const claims = r.ok ? r.claims : null
    const byCookie = r.ok ? r.source === 'cookie' : mode === 'cookie'
    if (r.ok) state.mode = byCookie ? 'cookie' : 'header' // new tokens go back the way they came
    if (settings.csrf !== null && byCookie && !isSafeMethod(req, method) && !csrf.allowed(req, {
      own: ownOrigin(req, secure, settings.proxy),
      settings: settings.csrf,
      handle: claims ? claims.sid : null,
      verify: (t, h) => engine.verifyCsrfToken(t, h)
    })) {
      debug('CSRF check refused a %s', req.method)
      return json(res, 403, { code: 'CSRF_INVALID' })
    }
    if (claims !== null) {
      const copy = mw.cache.get(claims.sid, claims.dv)
      if (copy === undefined) return loadFromStore(state, claims, navigation, next)
      adopt(state, claims, copy)
    }
    return proceed(state, next)
  }

  /** The session's data is not in this process's cache (or is older): read the store. */
  async function loadFromStore (state, claims, navigation, next) {
    let rec
    try {
      rec = await mw.engine.get(claims.sid)
    } catch (e) {
      return next(httpError(e))
    }
    if (rec === null) { // gone (revoked elsewhere, not yet synced; or idle-expired)
      state.sendTokens(null)
      state.flush()
      if (!navigation) return json(state.res, 401, { code: 'UNAUTHORISED' })
    } else {
      mw.cache.set(claims.sid, rec.dataVersion, rec.data)
      adopt(state, claims, { data: rec.data, version: rec.dataVersion })
    }
    return proceed(state, next)
  }

  function adopt (state, claims, copy) {
    state.adopt(claims.sid, claims.sub, claims.claims, claims.exp, Math.max(copy.version, claims.dv), copy.data, copy.json)
    state.loaded = true
  }

  /** Expose req.session, hold the response until it is saved, and go on to the app. */
  function proceed (state, next) {
    attach(state.req, state)
    if (state.session === null) state.install({})
    state.next = next
    hold(state.res, state)
    next()
  }

  /** Run `load`, its errors (thrown or rejected) going to Express's error handler. */
  function run (req, res, next) {
    if (startError !== null) return next(startError)
    let pending
    try {
      pending = load(req, res, next)
    } catch (e) {
      return next(httpError(e))
    }
    if (pending !== undefined && typeof pending.then === 'function') pending.catch((e) => next(httpError(e)))
  }

  function middleware (req, res, next) {
    if (req.session) return next()
    if (mw.engine !== null || startError !== null) return run(req, res, next)
    ready.then(() => run(req, res, next))
  }

  const api = {
    /** Resolves once the engine has started (rejects with the start error). */
    ready: () => ready.then(() => { if (startError !== null) throw startError }),
    /** The live sessions of a user, most recently refreshed first, with device facts. */
    listSessions: async (userId) => { await api.ready(); return mw.engine.listUser(userId) },
    /** Revoke one session (every process refuses it within about a second). */
    revokeSession: async (handle) => {
      await api.ready()
      const rec = await mw.engine.get(handle).catch(() => null) // only to name the user in the event
      const existed = await mw.engine.revoke(handle)
      mw.cache.delete(handle)
      if (existed) mw.emit('revoked', { handle, userId: rec ? publicUserId(rec.userId) : null, reason: 'admin' })
      return existed
    },
    /** Revoke every session of a user ("sign out everywhere"), except `options.except`. */
    revokeUserSessions: async (userId, options) => {
      await api.ready()
      const revoked = await mw.engine.revokeUser(userId, options && options.except)
      for (const handle of revoked) {
        mw.cache.delete(handle)
        mw.emit('revoked', { handle, userId: publicUserId(userId), reason: 'admin' })
      }
      return revoked
    },
    /** The public key set (EdDSA: current, next and retired keys). */
    jwks: () => mw.engine.jwks(),
    /** Emergency: stop accepting access tokens signed by `kid` (clients refresh). */
    revokeSigningKey: async (kid) => { await api.ready(); return mw.engine.revokeKey(kid) },
    currentKid: () => mw.engine.currentKid(),
    /** Tests only (needs `fixedNow`). */
    setNow: (ms) => {
      mw.engine.setNow(ms)
      fixedNow = ms
    },
    get engine () { return mw.engine }
  }
  for (const k of ['on', 'once', 'off', 'addListener', 'removeListener', 'removeAllListeners', 'listenerCount']) {
    middleware[k] = (...args) => { emitter[k](...args); return middleware }
  }
  middleware.listenerCount = (e) => emitter.listenerCount(e)
  Object.defineProperties(middleware, Object.getOwnPropertyDescriptors(api))
  /** The sessions dashboard: an HTML page for admins (`authorize(req)`; nobody by default). */
  middleware.dashboard = (options) => dashboard(middleware, options)
  track(middleware) // the dashboard lists the users this process has seen since it started
  return middleware
}

module.exports = { session }
