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
const MAX_USER_AGENT = 512

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
  // 'trust proxy' says; skipping its getter chain saves work on every request.
  return forwarded !== undefined && req.secure === true
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

/** The device facts kept with a session (shown in "your devices"). */
function device (req) {
  const ua = req.headers['user-agent']
  return {
    ip: req.ip || (req.socket && req.socket.remoteAddress) || undefined,
    userAgent: typeof ua === 'string' ? ua.slice(0, MAX_USER_AGENT) : undefined
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

module.exports = { isSecure, ownOrigin, isNavigation, transferMode, device, pathname, isSafeMethod }
