'use strict'

/**
 * Facts about a request that the middleware decides on: is it secure, what is its own
 * origin, is it a page navigation, which transfer mode does it use, which device sent it.
 * Reads headers only; never a token. The hot path passes `req.headers` and `req.method`,
 * read once, since every property read on a request costs (express-proto.js).
 * @private
 */

const { HEADER } = require('./transport.js')

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

function firstValue (header) {
  if (typeof header !== 'string') return undefined
  const comma = header.indexOf(',')
  return (comma === -1 ? header : header.slice(0, comma)).trim()
}

/**
 * Whether the request counts as secure for cookies (express-session's `proxy` rules).
 * @param {object} req
 * @param {boolean|undefined} proxy
 */
function isSecure (req, proxy, headers = req.headers) {
  const socket = req.socket
  if (socket && socket.encrypted) return true
  if (proxy === false) return false
  const forwarded = headers['x-forwarded-proto']
  if (proxy === true) return (firstValue(forwarded) || '').toLowerCase() === 'https'
  // Express's req.secure: without the header it is the socket's answer (false), whatever
  // 'trust proxy' says; skipping its getter chain saves work on every request. A
  // req.secure that other code set on the request itself counts, as with express-session.
  return (forwarded !== undefined || Object.hasOwn(req, 'secure')) && req.secure === true
}

/** A cookie value that can go back into a Cookie header as it is. */
const COOKIE_VALUE = /^[\x21-\x2b\x2d-\x3a\x3c-\x7e]+$/

/**
 * The headers the credentials are read from: `headers`, or, when cookie-parser ran
 * (`req.cookies`) and the Cookie header holds none of our cookies `names` (a middleware
 * replaced or removed it), a Cookie header made of our cookies in `req.cookies`, as
 * express-session falls back to them. Values are never decoded or trusted here: Rust
 * parses them as from any Cookie header.
 */
function credentialHeaders (req, headers, names) {
  const parsed = req.cookies
  if (parsed === undefined || parsed === null || typeof parsed !== 'object') return headers
  const header = headers.cookie
  if (typeof header === 'string' && names.some((n) => header.includes(n + '='))) return headers
  const pairs = []
  for (const n of names) {
    const v = Object.hasOwn(parsed, n) ? parsed[n] : undefined
    if (typeof v === 'string' && COOKIE_VALUE.test(v)) pairs.push(n + '=' + v)
  }
  return pairs.length === 0 ? headers : { ...headers, cookie: pairs.join('; ') }
}

/** Does the app trust its proxy's X-Forwarded-* headers (`proxy`, else Express's `trust proxy`)? */
function trustsProxy (req, proxy) {
  if (proxy !== undefined) return proxy
  return Boolean(req.app && typeof req.app.get === 'function' && req.app.get('trust proxy'))
}

/** The request's own origin, e.g. `https://app.example.com`. */
function ownOrigin (req, secure, proxy) {
  const host = (trustsProxy(req, proxy) && firstValue(req.headers['x-forwarded-host'])) || req.headers.host || ''
  return (secure ? 'https://' : 'http://') + host.toLowerCase()
}

/**
 * A top-level page load (a link, the address bar, a form submission): the browser says
 * so (`Sec-Fetch-Mode: navigate`), or, for a GET from an older browser, it asks for HTML.
 */
function isNavigation (req, headers = req.headers, method = req.method) {
  const mode = headers['sec-fetch-mode']
  if (mode !== undefined) return mode === 'navigate'
  if (method !== 'GET' && method !== 'HEAD') return false
  const accept = headers.accept
  return typeof accept === 'string' && accept.includes('text/html')
}

/**
 * The transfer mode of this request: `'header'` when the app chose it, or (`'auto'`) when
 * the client speaks it; else `'cookie'`.
 */
function transferMode (req, option, h = req.headers) {
  if (option !== 'auto') return option
  if (h[HEADER.transfer] === 'header' || h[HEADER.refresh] !== undefined) return 'header'
  const auth = h.authorization
  return typeof auth === 'string' && /^bearer /i.test(auth) ? 'header' : 'cookie'
}

/**
 * The device facts kept with a session (shown in "your devices"), as the client gives them:
 * the engine keeps an IP only if it is one and cuts the User-Agent to 512 characters
 * (`DeviceInfo::from_client`).
 */
function device (req) {
  const ua = req.headers['user-agent']
  return {
    ip: req.ip || (req.socket && req.socket.remoteAddress) || undefined,
    userAgent: typeof ua === 'string' ? ua : undefined
  }
}

/** The path of the request URL (no query), as the client sent it. */
function pathname (req) {
  const url = req.originalUrl || req.url || '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}

function isSafeMethod (req, method = req.method) {
  return SAFE_METHODS.has(method)
}

module.exports = { isSecure, credentialHeaders, ownOrigin, isNavigation, transferMode, device, pathname, isSafeMethod }
