'use strict'

/**
 * What an origin is (RFC 6454, as browsers serialise it in `Origin`): `scheme://host[:port]`
 * for http and https, lower case, IDNA host (punycode), no default port, no path, query,
 * fragment or user info. Two uses: the origins an app names in its options
 * (`csrf.origins`, `csrf.trustedOrigins`), checked and normalised once at setup, and the
 * origin of a request's `Referer`, for a GET navigation (which carries no `Origin`).
 *
 * Guarantees: `normalizeOrigin` accepts only text that is an origin as written (nothing
 * is cut off to make one: `https://a.example/` and `https://u@a.example` are refused), and
 * returns what a browser would send for it, so an exact string comparison with a request's
 * `Origin` is an origin comparison. Not done here: deciding anything about a request (that
 * is csrf.js).
 * @private
 */

/** The shape of an origin before the URL parser reads it: a scheme, `//`, and an authority. */
const ORIGIN_TEXT = /^https?:\/\/[^/?#@\\\s]+$/i

/**
 * The origin `text` names, serialised as a browser sends it in `Origin`
 * (`'HTTPS://App.Example.com:443'` → `'https://app.example.com'`), or null when `text` is
 * not exactly an http or https origin.
 * @param {unknown} text
 * @returns {string|null}
 */
function normalizeOrigin (text) {
  if (typeof text !== 'string' || !ORIGIN_TEXT.test(text)) return null
  let url
  try {
    url = new URL(text)
  } catch {
    return null
  }
  if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '' || url.hash !== '') return null
  return url.origin
}

/**
 * The origin of a `Referer` header: `scheme://host[:port]`, `'null'` for a URL of another
 * scheme (no origin of ours can match it), undefined when there is no header or it is not
 * a URL (treated as absent).
 * @param {unknown} referer
 * @returns {string|undefined}
 */
function refererOrigin (referer) {
  if (typeof referer !== 'string' || referer.length === 0) return undefined
  let url
  try {
    url = new URL(referer)
  } catch {
    return undefined
  }
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : 'null'
}

module.exports = { normalizeOrigin, refererOrigin }
