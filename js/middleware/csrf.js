'use strict'

/**
 * Cross-site request forgery defence for unsafe methods in cookie mode (DESIGN promise 8).
 *
 * The browser says where a request comes from; a request that no browser sent is not a
 * forgery. The origin verdict follows Go 1.25's `net/http.CrossOriginProtection` (Filippo
 * Valsorda's design): `Sec-Fetch-Site` first, `Origin` for browsers without it, and a
 * request with neither is not from a browser. One difference, stricter: `Origin` must be
 * this request's whole origin (scheme, host and port), not only its host; with
 * `csrf.origins` the app names its own origins, and `Host` is not used at all.
 *
 * | `Sec-Fetch-Site`                      | `Origin`                        | verdict             |
 * |---------------------------------------|---------------------------------|---------------------|
 * | `same-origin`, `none`                 | anything or absent              | same origin: passes |
 * | `same-site`, `cross-site`, any other  | in `trustedOrigins`             | trusted: passes     |
 * | `same-site`, `cross-site`, any other  | anything else, or absent        | refused             |
 * | absent                                | absent                          | no browser: passes  |
 * | absent                                | ours, or in `trustedOrigins`    | passes              |
 * | absent                                | `null`, or anything else        | refused             |
 *
 * (`none` is a request the user started: the address bar, a bookmark; no page made it.
 * `Sec-Fetch-Site: same-origin` beats `Origin: null`, which browsers send on same-origin
 * form posts under `Referrer-Policy: no-referrer`.)
 *
 * A page navigation to the refresh endpoint (its `GET`, a state change: it rotates the
 * refresh token) is judged by the same table, the origin of `Referer` standing in for the
 * `Origin` a GET does not carry (`navigationRefusedByOrigin`); refresh.js sends a refused
 * one back to its page unrefreshed, and the page's own navigation bounces it through a
 * same-origin page first (middleware.js).
 *
 * Then the token. Ours is 43 base64url characters (`ourTokenShape`) in the `X-CSRF-Token`
 * header or the `_csrf` field of a body a parser already read. Anything else there (csurf's
 * `_csrf` has 36 characters, lusca's 38 with `=`) is another library's and is ignored: the
 * verdict above decides. Other headers (`csrf-token`, `x-xsrf-token`) are never
 * read.
 * 1. Refused by the verdict: 403, whatever token comes with it.
 * 2. A token of our shape: it must verify for this request's stored session (checked in
 *    Rust); with no stored session it cannot, and the request is refused.
 * 3. `requireToken` and a stored session: a valid token of ours is needed, whatever the
 *    headers say.
 * 4. Otherwise: passes.
 *
 * Guarantees: a refusal is decided from headers (and the parsed body) before the request has
 * any effect; a token of ours that does not verify is never ignored; a foreign token never
 * lets through a request that would be refused without it.
 * Not covered: browsers that send neither `Sec-Fetch-Site` nor `Origin` on a cross-site
 * POST (Internet Explorer, Firefox before 70; see SECURITY.md), which `requireToken` covers;
 * a foreign token of exactly our shape is checked as ours and refused (it verifies with
 * probability 2^-128); requests in header mode (a page on another site cannot set
 * Authorization or custom headers without passing CORS, which is the app's to configure).
 * @private
 */

const { ownOrigin } = require('./request.js')
const { refererOrigin } = require('./origin.js')

/**
 * The app's own origins for this request: `csrf.origins` when the app pinned them, else
 * the one its `Host` (with `proxy`, `X-Forwarded-Host`) and scheme make.
 */
function ownOrigins (req, settings, secure) {
  return settings.csrf.origins ?? [ownOrigin(req, secure, settings.proxy)]
}

const CSRF_HEADER = 'x-csrf-token'
/** Our token: base64url of 32 bytes, no padding (src/token/csrf.rs, CSRF_TEXT_LEN). */
const OUR_TOKEN = /^[A-Za-z0-9_-]{43}$/

/** Is `value` a CSRF token of ours by its shape (not whether it verifies)? */
function ourTokenShape (value) {
  return typeof value === 'string' && OUR_TOKEN.test(value)
}

/**
 * Where does the browser say this request comes from? `'same'` (this origin or a trusted
 * one), `'cross'` (elsewhere: refuse), or `'none'` (no browser said anything). The table in
 * the module comment.
 */
function originVerdict (req, own, trusted) { // own: the app's origins (ownOrigins)
  const h = req.headers
  return verdict(h['sec-fetch-site'], h.origin, own, trusted)
}

/** The table of the module comment, for a `Sec-Fetch-Site` value and an origin (each may be absent). */
function verdict (site, origin, own, trusted) {
  if (origin !== undefined) origin = String(origin).toLowerCase()
  if (site !== undefined) {
    if (site === 'same-origin' || site === 'none') return 'same'
    return origin !== undefined && trusted.includes(origin) ? 'same' : 'cross'
  }
  if (origin === undefined) return 'none'
  return own.includes(origin) || trusted.includes(origin) ? 'same' : 'cross'
}

/**
 * The origin gate alone, for a request that acts before any session is read (a form
 * submission sent through the refresh endpoint, the endpoint's own POST): true when CSRF
 * is on and the browser says the request comes from another site.
 * @param {object} req
 * @param {{csrf: object|null, proxy: boolean|undefined}} settings the middleware's settings
 * @param {boolean} secure whether the request counts as secure
 */
function refusedByOrigin (req, settings, secure) {
  return settings.csrf !== null &&
    originVerdict(req, ownOrigins(req, settings, secure), settings.csrf.trustedOrigins) === 'cross'
}

/**
 * The origin gate for a page navigation to the refresh endpoint (a `GET`, which carries no
 * `Origin`): true when CSRF is on and the browser says the navigation comes from another
 * site. The same table, with the origin of `Referer` standing in for an absent `Origin`, so
 * a browser without Fetch Metadata is judged by the page that linked here: another site's
 * is refused, ours or none passes.
 * @param {object} req
 * @param {{csrf: object|null, proxy: boolean|undefined}} settings the middleware's settings
 * @param {boolean} secure whether the request counts as secure
 */
function navigationRefusedByOrigin (req, settings, secure) {
  if (settings.csrf === null) return false
  const h = req.headers
  const origin = h.origin !== undefined ? h.origin : refererOrigin(h.referer)
  return verdict(h['sec-fetch-site'], origin, ownOrigins(req, settings, secure), settings.csrf.trustedOrigins) === 'cross'
}

/** The tokens of our shape in the request (header first, then the parsed body's `_csrf`). */
function ourTokens (req) {
  const body = req.body
  const found = []
  const header = req.headers[CSRF_HEADER]
  if (ourTokenShape(header)) found.push(header)
  if (body !== null && typeof body === 'object' && ourTokenShape(body._csrf)) found.push(body._csrf)
  return found
}

/**
 * Is this unsafe cookie-mode request allowed?
 * @param {object} req
 * @param {object} o `{own, settings: {trustedOrigins, requireToken}, handle, verify}` where
 *   `own` is the app's origins (`ownOrigins`),
 *   `handle` is the stored session's handle (or null) and `verify(token, handle)` checks a
 *   CSRF token in Rust
 * @returns {boolean}
 */
function allowed (req, o) {
  if (originVerdict(req, o.own, o.settings.trustedOrigins) === 'cross') return false
  const tokens = ourTokens(req)
  if (tokens.length > 0) return o.handle !== null && tokens.every((t) => o.verify(t, o.handle))
  return o.handle === null || !o.settings.requireToken
}

module.exports = { allowed, ownOrigins, refusedByOrigin, navigationRefusedByOrigin }
