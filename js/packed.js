'use strict'

/**
 * Unpacking the hot path's packed results: the reader twin of src/napi/packed.rs, which
 * holds the writer and the format. tests/node/packed.test.js reads the writer's own
 * vectors (`packedVectors()`) with these functions, so the two cannot drift apart.
 * Shared by TokenCore and Engine. Tokens are never parsed here: Rust verified them and
 * hands back what they say; a refusal is data (`-CODE,detail`), never a parsed message.
 * @private
 */

const PLUS = 43 // '+'
const C = 99 // 'c'
const A = 97 // 'a'

/**
 * Claims of a valid result: `+` source owner exp,iat,dv,sid,jti,kid,n,sub claims. `userId`
 * is `sub`, or null when the owner mark says the session is anonymous.
 * @param {string} s
 * @returns {object}
 */
function unpackClaims (s) {
  let i = 3
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
  const claims = { sub, sid, jti, iat, exp, dv, kid, userId: s.charCodeAt(2) === A ? null : sub }
  // App claims: Rust's canonical JSON of claims it parsed strictly (no duplicate member,
  // no __proto__), so JSON.parse sees exactly what Rust verified.
  if (end < s.length) claims.claims = JSON.parse(s.slice(end))
  return claims
}

/**
 * The result of verifyRequest from a packed string.
 * @param {string} s
 */
function requestResult (s) {
  if (s.charCodeAt(0) === PLUS) {
    return { ok: true, source: s.charCodeAt(1) === C ? 'cookie' : 'header', claims: unpackClaims(s) }
  }
  return { ok: false, code: s.slice(1, s.indexOf(',')) }
}

/**
 * The claims of verifyAccessToken from a packed string, or a thrown error with `code`.
 * @param {string} s
 */
function tokenResult (s) {
  if (s.charCodeAt(0) === PLUS) return unpackClaims(s)
  const comma = s.indexOf(',')
  const code = s.slice(1, comma)
  const err = new Error(code + ': ' + s.slice(comma + 1))
  err.code = code
  throw err
}

module.exports = { requestResult, tokenResult }
