'use strict'

/**
 * The refresh endpoint (`refreshPath`, default `POST /session/refresh`): rotates the
 * refresh token and issues a new access token. Also `GET` for page navigations, which a
 * request with an expired access token is redirected to, so a server-rendered app
 * refreshes with no client JavaScript and lands back on the page it asked for.
 *
 * Answers: 200 `{userId, accessExpires}` with new tokens (cookies, or headers in header
 * mode; never in the body); 401 `UNAUTHORISED` (missing, forged, expired or revoked
 * refresh token: tokens cleared); 401 `TOKEN_THEFT_DETECTED` (reuse: the session is
 * revoked, tokens cleared, `theft` fires once); 400 `CREDENTIALS_AMBIGUOUS`; 403
 * `CSRF_INVALID` (a cross-site POST); 503 `STORE_UNAVAILABLE` (tokens left alone, so the
 * client retries later and nobody is logged out, DESIGN promise 10). A page navigation is
 * answered with a redirect back to its page (`?to=`) instead; a cross-site one (csrf.js,
 * `navigationRefusedByOrigin`) is sent back before anything is read or rotated: a GET
 * that another site starts changes nothing.
 *
 * Guarantees: tokens are written (or cleared) only through the request's state
 * (`RequestState#flush`), the same exit as every other response; a request that
 * presents no refresh token clears nothing.
 * @private
 */

const debug = require('debug')('tandem-session')

const { BOUNCED, HEADER, namesFor, sendJson, redirectNavigation } = require('./transport.js')
const { refusedByOrigin, navigationRefusedByOrigin } = require('./csrf.js')
const { isNavigation, device } = require('./request.js')

/** The query of a request URL. */
function query (url) {
  const q = url.indexOf('?')
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1))
}

/** A same-origin path to go back to after a navigation refresh; '/' for anything else. */
function backTo (url) {
  const to = query(url).get('to')
  if (typeof to !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(to)) return '/'
  return to
}

/**
 * The presented refresh token, or `{code}` when the request is unusable: two refresh
 * cookies, or (with `transfer: 'auto'`) a refresh cookie and an `X-Refresh-Token` header,
 * even holding the same token (CREDENTIALS_AMBIGUOUS: a client speaks one transfer mode,
 * and one credential that arrives twice is not taken, whatever the copies say).
 */
function presented (middleware, state) {
  const req = state.req
  const t = req.headers[HEADER.refresh]
  const fromHeader = typeof t === 'string' && t.length > 0 ? t : null
  const transfer = middleware.settings.transfer
  if (state.mode === 'header' && transfer !== 'auto') return { token: fromHeader }
  const c = refreshCookie(middleware, state)
  if (state.mode !== 'header') return c
  if (c.code === 'CREDENTIALS_AMBIGUOUS' || (typeof c.token === 'string' && t !== undefined)) return { code: 'CREDENTIALS_AMBIGUOUS' }
  return { token: fromHeader }
}

/** The refresh cookie of the request, or `{code}` (two of them: CREDENTIALS_AMBIGUOUS). */
function refreshCookie (middleware, state) {
  const header = state.cookieHeader // req.headers.cookie, or made from req.cookies (request.js)
  if (typeof header !== 'string') return { token: null }
  const names = namesFor(middleware.names, state.cookieSettings, state.secure)
  try {
    return { token: middleware.engine.readCookie(header, names.refresh) }
  } catch (e) {
    return { code: e.code === 'CREDENTIALS_AMBIGUOUS' ? e.code : 'UNAUTHORISED' }
  }
}

/**
 * The request may not refresh: 405 for a method other than POST (or a navigation's GET),
 * 403 for a cross-site POST; a cross-site page navigation goes back to its page (303)
 * with nothing rotated, read or cleared, or, when it already bounced through our own page
 * (`bounced`, middleware.js) and is still called cross-site, stops with 403 rather than
 * loop.
 */
function refusedRequest (middleware, state, navigation) {
  const { req, res } = state
  if (req.method !== 'POST' && !(navigation && req.method === 'GET')) {
    res.setHeader('Allow', 'POST')
    sendJson(res, 405, { code: 'METHOD_NOT_ALLOWED' })
    return true
  }
  if (state.mode !== 'cookie') return false
  if (req.method === 'POST') {
    if (!refusedByOrigin(req, middleware.settings, state.secure)) return false
    sendJson(res, 403, { code: 'CSRF_INVALID' })
    return true
  }
  if (!navigationRefusedByOrigin(req, middleware.settings, state.secure)) return false
  const url = req.originalUrl || req.url
  debug('cross-site navigation to the refresh endpoint: not refreshed')
  if (query(url).has(BOUNCED)) sendJson(res, 403, { code: 'CSRF_INVALID' })
  else redirectNavigation(res, false, backTo(url))
  return true
}

/**
 * The session's stored `cookie` (its own lifetime, e.g. "remember me"), so the new
 * cookies last as long as the old ones: this process's copy of the data, else the store.
 * Undefined when unknown (the `cookie.maxAge` option then applies; the refresh stands).
 */
async function savedCookie (middleware, handle) {
  const copy = middleware.dataCache.get(handle, 0)
  if (copy !== undefined) return copy.data.cookie
  try {
    const rec = await middleware.engine.get(handle)
    return rec === null ? undefined : rec.data.cookie
  } catch (e) {
    debug('the session lifetime could not be read at refresh: %s', e.code)
    return undefined
  }
}

/**
 * Handle a request to the refresh path.
 * @param {import('./middleware.js').SessionMiddleware} middleware
 * @param {import('./request-state.js').RequestState} state
 * @param {Function} next
 */
async function refresh (middleware, state, next) {
  const { req, res } = state
  const navigation = isNavigation(req)
  if (refusedRequest(middleware, state, navigation)) return undefined
  // A navigation goes back to its page: a form submission (POST) with a 307 once
  // refreshed, so the browser posts the form again; anything else with a 303 (a GET).
  const answer = (status, code) => navigation
    ? redirectNavigation(res, status === 200 && req.method === 'POST', backTo(req.originalUrl || req.url))
    : sendJson(res, status, { code })
  const p = presented(middleware, state)
  if (p.code === 'CREDENTIALS_AMBIGUOUS') {
    // Two refresh cookies: one may have been planted by a sibling subdomain (Domain=),
    // which our host-only clearing could not remove. Clearing would delete only the real
    // one and leave the planted one to log this browser into the planter's session, so
    // nothing is cleared: the refresh fails until the planted cookie goes. A cookie and an
    // X-Refresh-Token: which one is the client's cannot be told either.
    return sendJson(res, 400, { code: p.code })
  }
  if (!p.token) {
    // Nothing presented, nothing cleared: a cross-site link to this endpoint (which
    // carries no SameSite=Strict cookie) must not log the user out.
    return answer(401, 'UNAUTHORISED')
  }
  let out
  try {
    out = await middleware.engine.refresh(p.token, device(req))
  } catch (e) {
    if (e.code === 'STORE_UNAVAILABLE') return sendJson(res, 503, { code: e.code })
    e.status = 500
    return next(e)
  }
  if (out.outcome === 'refreshed') {
    const t = out.tokens
    if (state.mode === 'cookie') state.savedCookie = await savedCookie(middleware, t.handle)
    state.sendRefreshed(t)
    middleware.emit('refreshed', { handle: t.handle, userId: state.userId })
    return navigation ? answer(200) : sendJson(res, 200, { userId: state.userId, accessExpires: t.accessExpires * 1000 })
  }
  state.clearTokens()
  if (out.outcome === 'theft') {
    const th = out.theft
    const userId = th.userId
    middleware.dataCache.delete(th.handle)
    middleware.emit('theft', { handle: th.handle, userId, lastDevice: th.lastDevice, presenter: th.presenter })
    middleware.emit('revoked', { handle: th.handle, userId, reason: 'theft' })
    return answer(401, 'TOKEN_THEFT_DETECTED')
  }
  debug('refresh refused: %s', out.code)
  return answer(401, out.code === 'TOKEN_THEFT_DETECTED' ? out.code : 'UNAUTHORISED')
}

module.exports = { refresh }
