'use strict'

/**
 * How tokens travel: the names of the two cookies, `Set-Cookie` lines for them, and the
 * header-mode response headers. Writing only: tokens are read from requests in Rust
 * (`Engine#verifyRequest`, `Engine#readCookie`).
 *
 * Guarantees: both cookies are HttpOnly; the refresh cookie's Path is the refresh
 * endpoint, so the browser sends it nowhere else; with a prefixed `name` (`__Host-sid`),
 * Secure cookies carry the `__Host-` (access, when Path=/ and no Domain) or `__Secure-`
 * prefix, which browsers only accept from a secure origin with the Secure flag; responses that carry tokens get
 * `Cache-Control: no-store`. Our `Set-Cookie` lines replace earlier lines of ours and keep
 * the app's own. Token and info headers are the session's own writes (`asOwner`): they
 * still reach a response that is held after the app's `end()` (response-hold.js).
 * Also the middleware's own answers: JSON errors, and the redirects and bounce page that
 * send a page navigation on (never with a token in them).
 * @private
 */

const { asOwner } = require('./response-hold.js')

/** Header-mode wire names (lower case, as Node reports request headers). */
const HEADER = {
  access: 'x-access-token',
  refresh: 'x-refresh-token',
  expires: 'x-access-expires',
  transfer: 'x-session-transfer',
  info: 'x-session-info',
  csrf: 'x-csrf-token'
}

/** Browsers keep a cookie at most 400 days (RFC 6265bis §5.5): longer lifetimes are cut to it. */
const MAX_COOKIE_MS = 400 * 24 * 60 * 60 * 1000

/** The name prefixes browsers enforce (RFC 6265bis §4.1.3), which an app asks for by its `name`. */
const HOST = '__Host-'
const SECURE = '__Secure-'

/**
 * The cookie names for one setup: `{access, refresh}` for plain and for secure requests.
 * A name as express-session's is used as it is on both. A name given with a prefix
 * (`__Host-sid`) carries it on Secure cookies: `__Host-` on the access cookie when its
 * Path is / and it has no Domain (else `__Secure-`), `__Secure-` on the refresh cookie,
 * whose Path is the refresh endpoint; plain-HTTP cookies (development) go without it.
 * @param {string} name the `name` option
 * @param {object} cookie the normalized `cookie` option
 */
function cookieNames (name, cookie) {
  const prefix = name.startsWith(HOST) ? HOST : name.startsWith(SECURE) ? SECURE : ''
  const base = name.slice(prefix.length)
  const plain = { access: base, refresh: base + '.refresh' }
  if (prefix === '') return { plain, secure: plain }
  const hostOk = prefix === HOST && cookie.path === '/' && cookie.domain === undefined
  return { plain, secure: { access: (hostOk ? HOST : SECURE) + base, refresh: SECURE + base + '.refresh' } }
}

/**
 * Will the cookies of this response be Secure? `cookie.secure` true, or `'auto'` on a
 * secure request. The cookie names follow this flag (never the request alone), so a
 * prefixed name always comes with the Secure attribute browsers require of it.
 */
function isSecureCookie (cookie, requestSecure) {
  return cookie.secure === true || (cookie.secure === 'auto' && requestSecure)
}

/** The cookie names in force for a request: `{access, refresh}`. */
function namesFor (names, cookie, requestSecure) {
  return isSecureCookie(cookie, requestSecure) ? names.secure : names.plain
}

function attributes (cookie, path, secure, maxAgeMs) {
  let s = '; Path=' + path
  if (cookie.domain !== undefined) s += '; Domain=' + cookie.domain
  if (maxAgeMs !== null) {
    const secs = Math.max(0, Math.floor(maxAgeMs / 1000))
    // A negative lifetime is an expiry the app set in the past (`cookie.expires`): that date.
    s += '; Max-Age=' + secs + '; Expires=' + new Date(Date.now() + (maxAgeMs < 0 ? maxAgeMs : secs * 1000)).toUTCString()
  }
  s += '; HttpOnly'
  if (secure) s += '; Secure'
  // Browsers refuse SameSite=None without Secure: Lax there. sameSite 'auto' is
  // express-session's: None on secure requests, Lax on the others.
  const wide = cookie.sameSite === 'none' || cookie.sameSite === 'auto'
  const sameSite = wide ? (secure ? 'none' : 'lax') : cookie.sameSite
  s += '; SameSite=' + sameSite[0].toUpperCase() + sameSite.slice(1)
  if (cookie.priority !== undefined) s += '; Priority=' + cookie.priority[0].toUpperCase() + cookie.priority.slice(1).toLowerCase()
  if (cookie.partitioned) s += '; Partitioned'
  return s
}

/**
 * Replace our cookies in `res`'s Set-Cookie header, keeping the app's.
 * @param {import('node:http').ServerResponse} res
 * @param {string[]} ours names of our cookies (any of them is replaced)
 * @param {string[]} lines our new Set-Cookie lines
 */
function putCookies (res, ours, lines) {
  const prev = res.getHeader('set-cookie')
  const kept = (prev === undefined ? [] : Array.isArray(prev) ? prev : [String(prev)])
    .filter((l) => !ours.some((n) => l.startsWith(n + '=')))
  res.setHeader('Set-Cookie', kept.concat(lines))
}

/**
 * The access cookie's value: `s:<handle>.<jwt>`, express-session's shape (`s:<id>.<signature>`),
 * so code written for it finds the session id where it looks; the JWT is what signs it, and
 * the verify (Rust: `credentials::CookieShape::WithSid`) refuses a handle that is not the
 * token's `sid`. A Bearer token is the JWT alone.
 */
function accessCookieValue (handle, jwt) {
  return 's:' + handle + '.' + jwt
}

/**
 * Write tokens to a response, or clear them.
 *
 * @param {object} ctx `{res, mode: 'cookie'|'header', secure, names, handle, cookie, refreshPath}`
 *   where `handle` is the session's (its access cookie names it) and `cookie` this
 *   response's cookie options (`req.session.cookie`)
 * @param {{accessToken?: string, refreshToken?: string, accessExpires?: number}|null} tokens
 *   null clears; a missing refreshToken leaves the refresh cookie as it is
 */
function writeTokens (ctx, tokens) {
  asOwner(putTokens, ctx, tokens)
}

function putTokens (ctx, tokens) {
  const { res } = ctx
  res.setHeader('Cache-Control', 'no-store')
  if (ctx.mode === 'header') {
    if (tokens === null) {
      res.setHeader(HEADER.access, '')
      res.setHeader(HEADER.refresh, '')
      return
    }
    res.setHeader(HEADER.access, tokens.accessToken)
    res.setHeader(HEADER.expires, String(tokens.accessExpires * 1000))
    if (tokens.refreshToken !== undefined) res.setHeader(HEADER.refresh, tokens.refreshToken)
    return
  }
  const cookie = ctx.cookie
  const secure = isSecureCookie(cookie, ctx.secure)
  if (cookie.secure === true && !ctx.secure) return // express-session: no secure cookie over http
  const names = namesFor(ctx.names, cookie, ctx.secure)
  const ours = [names.access, names.refresh]
  if (tokens === null) {
    putCookies(res, ours, [
      names.access + '=' + attributes(cookie, cookie.path, secure, 0),
      names.refresh + '=' + attributes(cookie, ctx.refreshPath, secure, 0)
    ])
    return
  }
  const lines = [names.access + '=' + accessCookieValue(ctx.handle, tokens.accessToken) + attributes(cookie, cookie.path, secure, cookie.maxAge)]
  if (tokens.refreshToken !== undefined) {
    lines.push(names.refresh + '=' + tokens.refreshToken + attributes(cookie, ctx.refreshPath, secure, cookie.maxAge))
  } else {
    ours.pop() // keep a refresh cookie line set earlier in this response
  }
  putCookies(res, ours, lines)
}

/** Delete cookie `name` on `path` (an express-session cookie moved over), keeping the other Set-Cookie lines. */
function clearCookie (res, name, path) {
  asOwner(() => putCookies(res, [name], [name + '=; Path=' + path + '; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly']))
}

/**
 * Tell page scripts what they may know of the session, beside the tokens it cannot read:
 * `X-Session-Info` (URI-encoded JSON `{userId, accessExpires}` in ms, or `ended`) and, in
 * cookie mode, the session's CSRF token in `X-CSRF-Token` (for the client helper to send
 * back; it is bound to the session and opens nothing by itself).
 * @param {object} res
 * @param {{userId: string|null, accessExpires: number, csrfToken?: string}|null} info null: ended
 */
function writeInfo (res, info) {
  asOwner(putInfo, res, info)
}

function putInfo (res, info) {
  if (info === null) {
    res.setHeader(HEADER.info, 'ended')
    return
  }
  res.setHeader(HEADER.info, encodeURIComponent(JSON.stringify({ userId: info.userId, accessExpires: info.accessExpires })))
  if (info.csrfToken !== undefined) res.setHeader(HEADER.csrf, info.csrfToken)
}

/**
 * Answer `status` with a JSON body (error answers carry `{code}`; never a token).
 * `cacheControl` defaults to `no-store`.
 */
function sendJson (res, status, body, cacheControl = 'no-store') {
  res.statusCode = status
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Cache-Control', cacheControl)
  res.end(JSON.stringify(body))
}

/**
 * Send a page navigation on to `location`: a 307 when the browser must send its form
 * again (a form submission going through the refresh endpoint, or coming back from it),
 * else a 303 (the browser follows with a GET). Never cached.
 */
function redirectNavigation (res, resendForm, location) {
  res.statusCode = resendForm ? 307 : 303
  res.setHeader('Location', location)
  res.setHeader('Cache-Control', 'no-store')
  res.end()
}

/** The query parameter of a refresh navigation that comes from our bounce page. */
const BOUNCED = 'bounced'

const HTML_ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * Send a page navigation on to `location` (a same-origin path) through a page of ours: a
 * `200` HTML page whose `<meta http-equiv="refresh">` starts a new navigation, which the
 * browser says our own page started (`Sec-Fetch-Site: same-origin`, our `Referer`),
 * whatever site started the one that got here. No script. Never cached.
 */
function bounceNavigation (res, location) {
  const href = location.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])
  res.statusCode = 200
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.end(`<!doctype html><meta http-equiv="refresh" content="0; url=${href}"><title>Signing in</title><a href="${href}">Continue</a>`)
}

module.exports = {
  MAX_COOKIE_MS,
  NAME_PREFIX: { HOST, SECURE },
  HEADER,
  BOUNCED,
  cookieNames,
  namesFor,
  isSecureCookie,
  writeTokens,
  writeInfo,
  clearCookie,
  sendJson,
  redirectNavigation,
  bounceNavigation
}
