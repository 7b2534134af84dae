'use strict'

/**
 * `Cookie`: express-session's `req.session.cookie`, the options of one session's cookie
 * with its lifetime kept as an absolute `expires` date.
 *
 * Guarantees (as express-session 1.19's Cookie, written from its documented behaviour):
 * - defaults `path: '/'`, `httpOnly: true`, `expires: null` (a browser-session cookie),
 *   `maxAge: null`; every option key is copied onto the cookie (`data` excepted), so
 *   `secure: 'auto'`, `sameSite: 'auto'`, `signed` and the like stay as given;
 * - `maxAge` reads as the milliseconds left until `expires` (null/false while there is
 *   no date); setting a number sets `expires` to now + ms, setting a Date sets `expires`
 *   to it (deprecated, as there); anything else truthy is a TypeError naming maxAge;
 * - setting `expires` (directly or through `maxAge`) also sets `originalMaxAge` to the
 *   new remaining time (exactly the number given to `maxAge`); the constructor keeps an `originalMaxAge` passed in (a cookie
 *   read back from a store);
 * - enumerable as there: own keys are `path`, `_expires`, `originalMaxAge`, `httpOnly`
 *   and the options; `expires`, `maxAge`, `data`, `serialize` and `toJSON` are enumerable
 *   prototype members (express-session's prototype is an object literal), so `for…in`
 *   lists the same names; `JSON.stringify(cookie)` is `data`, what stores keep;
 * - `serialize(name, value)` gives express-session's `Set-Cookie` line for the value as
 *   given (`Expires`, never `Max-Age`) and throws its TypeErrors (`option expires is
 *   invalid`, …) for values a header cannot carry.
 * Differences: an option key `__proto__` is ignored rather than replacing the prototype;
 * `originalMaxAge` after `maxAge = ms` is `ms` (express-session reads the clock twice and
 * can give `ms - 1`).
 * Not here: signing the value, and tandem's own cookies (`responseAttributes` below turns
 * a Cookie into what the middleware's transport writes; the middleware decides names,
 * Max-Age rounding and the refresh cookie).
 * @public
 */

/** Names the serializer refuses, as RFC 6265 §4.1.1 (a cookie-name is a token). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A Domain attribute: dot-separated host labels, an optional leading dot. */
const DOMAIN = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i
/** A Path attribute: printable ASCII and space, no ';' (RFC 6265 §4.1.1 path-value). */
const PATH = /^[\u0020-\u003A\u003D-\u007E]*$/
/** `priority` and `sameSite` spellings, lowercased, to their attribute values. */
const PRIORITIES = { low: 'Low', medium: 'Medium', high: 'High' }
const SAME_SITES = { strict: 'Strict', lax: 'Lax', none: 'None' }

let warnedMaxAgeDate = false

class Cookie {
  /** @param {object} [options] cookie options; a falsy value means none */
  constructor (options) {
    this.path = '/'
    this.maxAge = null // own `_expires` and `originalMaxAge`, both null
    this.httpOnly = true
    if (options) {
      if (typeof options !== 'object') throw new TypeError('argument options must be an object')
      // for…in as express-session: inherited enumerable keys count too; setters run, so
      // `maxAge` and `expires` apply in the order given (the last one wins).
      for (const key in options) {
        if (key !== 'data' && key !== '__proto__') this[key] = options[key]
      }
    }
    if (this.originalMaxAge === undefined || this.originalMaxAge === null) this.originalMaxAge = this.maxAge
  }

  /** The expiry date, or null/false/undefined for a browser-session cookie. */
  get expires () { return this._expires }
  set expires (date) {
    this._expires = date
    this.originalMaxAge = this.maxAge
  }

  /** Milliseconds left until `expires` (negative once past); `expires` itself when it is no Date. */
  get maxAge () {
    return this._expires instanceof Date ? this._expires.valueOf() - Date.now() : this._expires
  }

  set maxAge (ms) {
    if (ms && typeof ms !== 'number' && !(ms instanceof Date)) throw new TypeError('maxAge must be a number or Date')
    if (ms instanceof Date && !warnedMaxAgeDate) {
      warnedMaxAgeDate = true
      process.emitWarning('cookie maxAge as a Date is deprecated: pass a number of milliseconds', 'DeprecationWarning')
    }
    if (typeof ms !== 'number') {
      this.expires = ms
      return
    }
    // One clock read: express-session reads it twice here, so its originalMaxAge can come
    // out 1 ms short of what was set, and a lifetime would look changed by the app.
    this._expires = new Date(Date.now() + ms)
    this.originalMaxAge = ms
  }

  /** The cookie's attributes as a plain object: what `toJSON` stores and `serialize` writes. */
  get data () {
    return {
      originalMaxAge: this.originalMaxAge,
      partitioned: this.partitioned,
      priority: this.priority,
      expires: this._expires,
      secure: this.secure,
      httpOnly: this.httpOnly,
      domain: this.domain,
      path: this.path,
      sameSite: this.sameSite
    }
  }

  /**
   * The `Set-Cookie` value for `name=value` with this cookie's attributes (`value`
   * URI-encoded). Throws a TypeError naming what cannot go into a header.
   */
  serialize (name, value) {
    return serializeCookie(name, value, this.data)
  }

  toJSON () {
    return this.data
  }
}

// express-session's prototype is an object literal: its members are enumerable.
for (const member of ['expires', 'maxAge', 'data', 'serialize', 'toJSON']) {
  Object.defineProperty(Cookie.prototype, member, { enumerable: true })
}

/** RFC 6265 §4.1 `Set-Cookie` text for express-session's cookie attributes (`attrs` as `Cookie#data`). */
function serializeCookie (name, value, attrs) {
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw new TypeError('argument name is invalid')
  let line = name + '=' + encodeURIComponent(value)
  if (attrs.domain) {
    if (!DOMAIN.test(attrs.domain)) throw new TypeError('option domain is invalid')
    line += '; Domain=' + attrs.domain
  }
  if (attrs.path) {
    if (!PATH.test(attrs.path)) throw new TypeError('option path is invalid')
    line += '; Path=' + attrs.path
  }
  if (attrs.expires) line += '; Expires=' + validDate(attrs.expires).toUTCString()
  if (attrs.httpOnly) line += '; HttpOnly'
  if (attrs.secure) line += '; Secure'
  if (attrs.partitioned) line += '; Partitioned'
  if (attrs.priority) line += '; Priority=' + PRIORITIES[spelling(attrs.priority, 'priority')]
  if (attrs.sameSite) line += '; SameSite=' + SAME_SITES[spelling(attrs.sameSite, 'sameSite')]
  return line
}

function validDate (date) {
  if (!(date instanceof Date) || Number.isNaN(date.valueOf())) throw new TypeError('option expires is invalid')
  return date
}

/** `priority`/`sameSite` lowercased (`sameSite: true` is 'strict'); a TypeError for anything else. */
function spelling (value, option) {
  if (option === 'sameSite' && value === true) return 'strict'
  const table = option === 'sameSite' ? SAME_SITES : PRIORITIES
  const key = typeof value === 'string' ? value.toLowerCase() : undefined
  if (key === undefined || !Object.hasOwn(table, key)) throw new TypeError('option ' + option + ' is invalid')
  return key
}

/**
 * What tandem's middleware writes for `cookie` (a Cookie, or any object with its fields)
 * on a response to a request that is (`requestSecure`) or is not secure: a plain object
 * `{path, domain, httpOnly, secure, sameSite, priority, partitioned, maxAge}` with
 * `'auto'` resolved as express-session resolves it (secure: the request's; sameSite:
 * 'none' on secure requests, 'lax' otherwise), `sameSite` 'lax'|'strict'|'none' or
 * undefined (no attribute), `priority` 'low'|'medium'|'high' or undefined, and `maxAge`
 * the milliseconds left now (0 once past; null: a browser-session cookie). Throws the
 * same TypeErrors as `serialize` for values a header cannot carry, so the middleware can
 * hand them to `next(err)` as express-session does.
 * @private
 */
function responseAttributes (cookie, requestSecure) {
  const attrs = {
    path: cookie.path || '/',
    domain: cookie.domain || undefined,
    httpOnly: Boolean(cookie.httpOnly),
    secure: cookie.secure === 'auto' ? requestSecure === true : Boolean(cookie.secure),
    sameSite: undefined,
    priority: cookie.priority ? spelling(cookie.priority, 'priority') : undefined,
    partitioned: Boolean(cookie.partitioned),
    maxAge: cookie.expires ? Math.max(0, validDate(cookie.expires).valueOf() - Date.now()) : null
  }
  if (cookie.sameSite === 'auto') attrs.sameSite = requestSecure === true ? 'none' : 'lax'
  else if (cookie.sameSite) attrs.sameSite = spelling(cookie.sameSite, 'sameSite')
  if (attrs.domain !== undefined && !DOMAIN.test(attrs.domain)) throw new TypeError('option domain is invalid')
  if (!PATH.test(attrs.path)) throw new TypeError('option path is invalid')
  return attrs
}

module.exports = { Cookie, responseAttributes }
