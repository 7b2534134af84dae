'use strict'

/**
 * Cross-site request forgery defence for unsafe methods in cookie mode (DESIGN promise 8).
 *
 * Order of checks (OWASP CSRF cheat sheet: Fetch Metadata and Origin verification, plus a
 * signed token for clients that send neither):
 * 1. `Origin: null`, or an Origin that is neither this request's own origin nor a
 *    trusted one: refused.
 * 2. No Origin but `Sec-Fetch-Site: cross-site` or `same-site`: refused.
 * 3. A CSRF token that is present (`X-CSRF-Token` header, or the `_csrf` field of a body
 *    that a parser already read) must be valid for this session (checked in Rust).
 * 4. A stored session with neither a same-origin proof (1, or `Sec-Fetch-Site:
 *    same-origin`) nor a valid token: refused. With `requireToken`, the token is needed
 *    whatever the headers say.
 *
 * Guarantees: a refusal is decided from headers before the request has any effect.
 * Not covered: requests in header mode (a page on another site cannot set Authorization
 * or custom headers without passing CORS, which is the app's to configure).
 * @private
 */

const { ownOrigin } = require('./request.js')

const CSRF_HEADER = 'x-csrf-token'

/**
 * Does the browser prove this request comes from our own origin? `false` when it proves
 * the opposite, `null` when it says nothing.
 */
function originVerdict (req, own, trusted) {
  const origin = req.headers.origin
  if (origin !== undefined) {
    if (origin === 'null') return false
    const o = String(origin).toLowerCase()
    return o === own || trusted.includes(o)
  }
  const site = req.headers['sec-fetch-site']
  if (site === 'cross-site' || site === 'same-site') return false
  if (site === 'same-origin') return true
  return null
}

/**
 * The origin gate alone, for a request that acts before any session is read (a form
 * submission sent through the refresh endpoint, the endpoint's own POST): true when CSRF
 * is on and the browser proves the request comes from another site.
 * @param {object} req
 * @param {{csrf: object|null, proxy: boolean|undefined}} settings the middleware's settings
 * @param {boolean} secure whether the request counts as secure
 */
function refusedByOrigin (req, settings, secure) {
  return settings.csrf !== null &&
    originVerdict(req, ownOrigin(req, secure, settings.proxy), settings.csrf.trustedOrigins) === false
}

/**
 * Is this unsafe cookie-mode request allowed?
 * @param {object} req
 * @param {object} o `{own, settings: {trustedOrigins, requireToken}, handle, verify}` where
 *   `handle` is the stored session's handle (or null) and `verify(token, handle)` checks a
 *   CSRF token in Rust
 * @returns {boolean}
 */
function allowed (req, o) {
  const byOrigin = originVerdict(req, o.own, o.settings.trustedOrigins)
  if (byOrigin === false) return false
  const token = req.headers[CSRF_HEADER] ?? (req.body && typeof req.body === 'object' ? req.body._csrf : undefined)
  if (token !== undefined) {
    return typeof token === 'string' && o.handle !== null && o.verify(token, o.handle)
  }
  if (o.handle === null) return true // nothing of a user's to act on
  return byOrigin === true && !o.settings.requireToken
}

module.exports = { allowed, refusedByOrigin }
