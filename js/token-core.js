'use strict'

/**
 * TokenCore: the JS face of the Rust token core.
 *
 * Cold operations (signing, refresh and CSRF tokens, the key ring) go straight to the
 * native class. The per-request verify goes through a plain native function that returns
 * one packed string (building a JS object through napi costs more than the verify), which
 * this file unpacks. The token itself is never parsed here: Rust decides, and hands back
 * what it verified. The packed format is documented in src/napi/hot.rs; keep the two in
 * sync.
 * @public
 */

const native = require('./native.js')

/**
 * Unpack a valid result (`+` source exp,iat,dv,sid,jti,kid,n,sub claims).
 * @private
 */
function unpackClaims (s) {
  let i = 2
  let j = s.indexOf(',', i)
  const exp = +s.slice(i, j)
  j = s.indexOf(',', (i = j + 1))
  const iat = +s.slice(i, j)
  j = s.indexOf(',', (i = j + 1))
  const dv = +s.slice(i, j)
  j = s.indexOf(',', (i = j + 1))
  const sid = s.slice(i, j)
  j = s.indexOf(',', (i = j + 1))
  const jti = s.slice(i, j)
  j = s.indexOf(',', (i = j + 1))
  const kid = s.slice(i, j)
  j = s.indexOf(',', (i = j + 1))
  const end = j + 1 + +s.slice(i, j)
  const sub = s.slice(j + 1, end)
  const claims = { sub, sid, jti, iat, exp, dv, kid }
  // App claims: Rust's canonical JSON of claims it parsed strictly (no duplicate member,
  // no __proto__), so JSON.parse sees exactly what Rust verified.
  if (end < s.length) claims.claims = JSON.parse(s.slice(end))
  return claims
}

/**
 * An error for a packed failure (`-` code,detail), shaped like the native errors.
 * @private
 */
function packedError (s) {
  const comma = s.indexOf(',')
  const code = s.slice(1, comma)
  const err = new Error(code + ': ' + s.slice(comma + 1))
  err.code = code
  return err
}

/** Deepest nesting of app claims checked (and accepted) when signing. */
const MAX_CLAIM_DEPTH = 64

/**
 * Throw INVALID_ARGUMENT unless every string in `value` (keys included) is well-formed
 * UTF-16. Crossing into Rust turns a lone surrogate into U+FFFD, so 'a\uD800' and
 * 'a\uFFFD' would become the same user id: refuse instead.
 * @private
 */
function assertWellFormed (value, name, depth = 0) {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) throw invalidArgument(name + ' holds a lone surrogate (not well-formed UTF-16)')
  } else if (value !== null && typeof value === 'object') {
    if (depth >= MAX_CLAIM_DEPTH) throw invalidArgument(name + ' is nested too deeply')
    for (const key of Object.keys(value)) {
      assertWellFormed(key, name, depth + 1)
      assertWellFormed(value[key], name, depth + 1)
    }
  }
}

function invalidArgument (message) {
  const err = new TypeError('INVALID_ARGUMENT: ' + message)
  err.code = 'INVALID_ARGUMENT'
  return err
}

class TokenCore {
  #core
  #id

  /**
   * @param {object} options see README, "new TokenCore(options)"
   */
  constructor (options) {
    this.#core = new native.TokenCore(options)
    this.#id = this.#core.id
  }

  /**
   * Verify the access token of a request. Never throws for a bad or missing token.
   * @param {string|null|undefined} cookieHeader the request's Cookie header
   * @param {string|null|undefined} authorization the request's Authorization header
   * @returns {{ok: true, source: 'cookie'|'header', claims: object}|{ok: false, code: string}}
   */
  verifyRequest (cookieHeader, authorization) {
    const s = native.verifyRequestPacked(this.#id, cookieHeader ?? null, authorization ?? null)
    if (s.charCodeAt(0) === 43 /* + */) {
      return { ok: true, source: s.charCodeAt(1) === 99 /* c */ ? 'cookie' : 'header', claims: unpackClaims(s) }
    }
    return { ok: false, code: s.slice(1, s.indexOf(',')) }
  }

  /**
   * Verify one access token; throws an error with `code` when it is not valid.
   * @param {string} token
   * @returns {object} the claims
   */
  verifyAccessToken (token) {
    const s = native.verifyAccessTokenPacked(this.#id, token)
    if (s.charCodeAt(0) === 43 /* + */) return unpackClaims(s)
    throw packedError(s)
  }

  signAccessToken (subject) {
    if (subject !== null && typeof subject === 'object') {
      assertWellFormed(subject.userId, 'userId')
      assertWellFormed(subject.claims, 'claims')
    }
    return this.#core.signAccessToken(subject)
  }
  newSessionHandle () { return this.#core.newSessionHandle() }
  issueRefreshToken (handle) { return this.#core.issueRefreshToken(handle) }
  parseRefreshToken (token) { return this.#core.parseRefreshToken(token) }
  /** Whether `token` is genuine and its digest is `digest` (constant time). */
  refreshMatches (token, digest) { return this.#core.refreshMatches(token, digest) }
  refreshSuccessor (token, salt) { return this.#core.refreshSuccessor(token, salt) }
  csrfToken (handle) { return this.#core.csrfToken(handle) }
  verifyCsrfToken (token, handle) { return this.#core.verifyCsrfToken(token, handle) }
  sealKeyRing () { return this.#core.sealKeyRing() }
  openKeyRing (sealed, replace) { return this.#core.openKeyRing(sealed, replace) }
  rotateKeysIfDue () { return this.#core.rotateKeysIfDue() }
  revokeKey (kid) { return this.#core.revokeKey(kid) }
  keyRingInfo () { return this.#core.keyRingInfo() }
  currentKid () { return this.#core.currentKid() }
  jwks () { return this.#core.jwks() }
  setNow (ms) { return this.#core.setNow(ms) }
  now () { return this.#core.now() }
  /** Test only: sign exact header and payload JSON with the current key. */
  dangerousSignRaw (headerJson, payloadJson) { return this.#core.dangerousSignRaw(headerJson, payloadJson) }
}

module.exports = { TokenCore }
