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
 * client retries later and nobody is logged out, DESIGN promise 10).
 * @private
 */

const native = require('../native.js')
const { HEADER, namesFor, writeTokens, writeInfo, sendJson: json } = require('./transport.js')
const { originVerdict } = require('./csrf.js')
const { isNavigation, ownOrigin } = require('./request.js')
const { ANONYMOUS } = require('./session.js')

/** A same-origin path to go back to after a navigation refresh; '/' for anything else. */
function backTo (url) {
  const q = url.indexOf('?')
  if (q === -1) return '/'
  const to = new URLSearchParams(url.slice(q + 1)).get('to')
  if (typeof to !== 'string' || !/^\/(?![/\\])[\x21-\x7e]*$/.test(to)) return '/'
  return to
}

/** The presented refresh token, or `{code}` when the request is unusable. */
function presented (req, mode, names) {
  if (mode === 'header') {
    const t = req.headers[HEADER.refresh]
    return typeof t === 'string' && t.length > 0 ? { token: t } : { token: null }
  }
  const header = req.headers.cookie
  if (typeof header !== 'string') return { token: null }
  try {
    return { token: native.readCookie(header, names.refresh) }
  } catch (e) {
    return { code: e.code === 'CREDENTIALS_AMBIGUOUS' ? e.code : 'UNAUTHORISED' }
  }
}

/**
 * Handle a request to the refresh path.
 * @param {object} mw the middleware's shared state
 * @param {object} req
 * @param {object} res
 * @param {{mode: string, secure: boolean}} r
 * @param {Function} next
 */
async function refresh (mw, req, res, r, next) {
  const navigation = isNavigation(req)
  if (req.method !== 'POST' && !(navigation && req.method === 'GET')) {
    res.setHeader('Allow', 'POST')
    return json(res, 405, { code: 'METHOD_NOT_ALLOWED' })
  }
  const csrf = mw.settings.csrf
  if (req.method === 'POST' && r.mode === 'cookie' && csrf !== null &&
      originVerdict(req, ownOrigin(req, r.secure, mw.settings.proxy), csrf.trustedOrigins) === false) {
    return json(res, 403, { code: 'CSRF_INVALID' })
  }
  const ctx = {
    res, mode: r.mode, secure: r.secure, names: mw.names, cookie: mw.settings.cookie, refreshPath: mw.settings.refreshPath
  }
  const names = namesFor(mw.names, mw.settings.cookie, r.secure)
  // A navigation goes back to its page: a form submission (POST) with a 307 once
  // refreshed, so the browser posts the form again; anything else with a 303 (a GET).
  const finish = (status, code) => {
    if (navigation) {
      res.statusCode = status === 200 && req.method === 'POST' ? 307 : 303
      res.setHeader('Location', backTo(req.originalUrl || req.url))
      res.setHeader('Cache-Control', 'no-store')
      return res.end()
    }
    return json(res, status, { code })
  }
  const p = presented(req, r.mode, names)
  if (p.code === 'CREDENTIALS_AMBIGUOUS') {
    // Two refresh cookies: one may have been planted by a sibling subdomain (Domain=),
    // which our host-only clearing could not remove. Clearing would delete only the real
    // one and leave the planted one to log this browser into the planter's session, so
    // nothing is cleared: the refresh fails until the planted cookie goes.
    return json(res, 400, { code: p.code })
  }
  if (!p.token) {
    // Nothing presented, nothing cleared: a cross-site link to this endpoint (which
    // carries no SameSite=Strict cookie) must not log the user out.
    return finish(401, 'UNAUTHORISED')
  }
  let out
  try {
    out = await mw.engine.refresh(p.token, mw.device(req))
  } catch (e) {
    if (e.code === 'STORE_UNAVAILABLE') return json(res, 503, { code: e.code })
    e.status = 500
    return next(e)
  }
  if (out.outcome === 'refreshed') {
    const t = out.tokens
    writeTokens(ctx, t)
    const userId = t.userId.startsWith(ANONYMOUS) ? null : t.userId
    writeInfo(res, {
      userId,
      accessExpires: t.accessExpires * 1000,
      csrfToken: r.mode === 'cookie' ? mw.csrfToken(t.handle) : undefined
    })
    mw.emit('refreshed', { handle: t.handle, userId })
    if (navigation) return finish(200)
    return json(res, 200, { userId, accessExpires: t.accessExpires * 1000 })
  }
  writeTokens(ctx, null)
  writeInfo(res, null)
  if (out.outcome === 'theft') {
    const th = out.theft
    mw.cache.delete(th.handle)
    const userId = th.userId.startsWith(ANONYMOUS) ? null : th.userId
    mw.emit('theft', { handle: th.handle, userId, lastDevice: th.lastDevice, presenter: th.presenter })
    mw.emit('revoked', { handle: th.handle, userId, reason: 'theft' })
    return finish(401, 'TOKEN_THEFT_DETECTED')
  }
  mw.debug('refresh refused: %s', out.code)
  return finish(401, out.code === 'TOKEN_THEFT_DETECTED' ? out.code : 'UNAUTHORISED')
}

module.exports = { refresh, backTo }
