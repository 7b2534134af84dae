'use strict'

/**
 * TokenCore: the JS face of the Rust token core.
 *
 * Cold operations (signing, refresh and CSRF tokens, the key ring) go straight to the
 * native class. The per-request verify goes through a plain native function that returns
 * one packed string (building a JS object through napi costs more than the verify), which
 * js/packed.js unpacks. The token itself is never parsed in JS: Rust decides, and hands
 * back what it verified.
 * @public
 */

const native = require('./native.js')
const { requestResult, tokenResult } = require('./packed.js')
const { assertWellFormed } = require('./arguments.js')

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
    return requestResult(native.verifyRequestPacked(this.#id, cookieHeader ?? null, authorization ?? null))
  }

  /**
   * Verify one access token; throws an error with `code` when it is not valid.
   * @param {string} token
   * @returns {object} the claims
   */
  verifyAccessToken (token) {
    return tokenResult(native.verifyAccessTokenPacked(this.#id, token))
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
