'use strict'

/**
 * Helpers that *craft* inputs for the binding tests. Nothing here decides whether a
 * token is acceptable: that is the Rust core's job, and every assertion about acceptance
 * goes through `verifyAccessToken` or `verifyRequest`. In particular nothing here decodes
 * a token with Node's lenient base64url decoder (security.md §1.4, NB-01).
 */

const assert = require('node:assert/strict')
const crypto = require('node:crypto')

const { TokenCore } = require('../../..')

/** Two distinct secrets of at least 32 bytes. */
const SECRET = 'tandem-session-test-secret-0000000000001'
const SECRET_2 = 'tandem-session-test-secret-0000000000002'

/** A fixed start time: 2023-11-14T22:13:20Z, a whole second. */
const T0 = 1_700_000_000_000

/** The default issuer and audience of the core. */
const ISS = 'tandem-session'
const AUD = 'tandem-session'

/** The base64url alphabet, in value order. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * A core with a fixed clock at `T0` (unless `fixedNow` says otherwise).
 * @param {object} [options] extra options of `TokenCore`
 */
function newCore (options) {
  return new TokenCore({ secret: [SECRET], fixedNow: T0, ...options })
}

/** Encode bytes or a string (as UTF-8) as unpadded base64url. Encoding only. */
function b64url (data) {
  return Buffer.from(data).toString('base64url')
}

/** The three segments of a compact token, as text (no decoding). */
function segments (token) {
  return token.split('.')
}

/** The segment of a compact token that is signed: `header.payload`. */
function signingInput (token) {
  return token.slice(0, token.lastIndexOf('.'))
}

/** Replace the signature segment of `token` with `sig`. */
function withSignature (token, sig) {
  return signingInput(token) + '.' + sig
}

/**
 * The header JSON text of our access tokens, with `extra` members merged in (a member
 * set to `undefined` is left out).
 */
function headerJson (core, extra) {
  const h = { alg: core.keyRingInfo().algorithm, typ: 'at+jwt', kid: core.currentKid(), ...extra }
  return JSON.stringify(h)
}

/**
 * A valid claims object for the core's clock: the shape `signAccessToken` produces.
 * `extra` overrides or adds members; a member set to `undefined` is left out.
 */
function claims (core, extra) {
  const now = Math.floor(core.now() / 1000)
  return {
    iss: ISS,
    sub: 'alice',
    aud: AUD,
    exp: now + 900,
    nbf: now,
    iat: now,
    jti: crypto.randomBytes(16).toString('base64url'),
    sid: 'session-1',
    dv: 0,
    ...extra
  }
}

/** `claims(core, extra)` as JSON text. */
function claimsJson (core, extra) {
  return JSON.stringify(claims(core, extra))
}

/**
 * Sign exact header and payload JSON text with the core's current key (the test hook),
 * so that only the rule under test can reject the token.
 */
function signRaw (core, header, payload) {
  return core.dangerousSignRaw(
    typeof header === 'string' ? header : JSON.stringify(header),
    typeof payload === 'string' ? payload : JSON.stringify(payload)
  )
}

/** A compact token from exact header and payload text and a given signature segment. */
function compact (header, payload, sig) {
  return b64url(header) + '.' + b64url(payload) + '.' + sig
}

/** HMAC-SHA-256 of a token's signing input under `key`, as a signature segment. */
function hmacSignature (key, input) {
  return crypto.createHmac('sha256', key).update(input).digest('base64url')
}

/**
 * The twins of a base64url segment's last character: same data bits, different unused
 * low bits (a lenient decoder maps them all to the same bytes). `unusedBits` is 2 for a
 * 32-byte value (43 characters) and 4 for a 64-byte value (86 characters).
 */
function lastCharTwins (segment, unusedBits) {
  const last = segment[segment.length - 1]
  const v = ALPHABET.indexOf(last)
  assert.ok(v >= 0, 'segment must end with a base64url character')
  const mask = (1 << unusedBits) - 1
  assert.equal(v & mask, 0, 'a canonical segment has zero unused bits')
  const out = []
  for (let low = 1; low <= mask; low++) {
    out.push(segment.slice(0, -1) + ALPHABET[(v & ~mask) | low])
  }
  return out
}

/** Every character of `s` percent-encoded (`%41%42…`). */
function percentEncodeAll (s) {
  return Array.from(Buffer.from(s), (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')
}

/**
 * Assert that `fn` throws an Error whose `code` is exactly `code`.
 * @returns {Error} the error
 */
function throwsCode (fn, code, message) {
  let caught
  try {
    fn()
  } catch (err) {
    caught = err
  }
  assert.ok(caught, (message ? message + ': ' : '') + `expected ${code}, nothing was thrown`)
  assert.ok(caught instanceof Error, 'expected an Error instance')
  assert.equal(caught.code, code, (message ? message + ': ' : '') + `code (${caught.message})`)
  return caught
}

/**
 * Assert that the core rejects `token` with exactly `code` by every route: the direct
 * call (thrown), the access cookie and the Bearer header (returned).
 */
function assertRejected (core, token, code, label) {
  const what = label || 'token'
  throwsCode(() => core.verifyAccessToken(token), code, what + ' (verifyAccessToken)')
  const byCookie = core.verifyRequest('__Host-at=' + token, undefined)
  assert.deepEqual(byCookie, { ok: false, code }, what + ' (cookie)')
  const byHeader = core.verifyRequest(undefined, 'Bearer ' + token)
  assert.deepEqual(byHeader, { ok: false, code }, what + ' (Bearer)')
}

/**
 * Assert that the core accepts `token` by every route, and return its claims.
 */
function assertAccepted (core, token, label) {
  const what = label || 'token'
  const direct = core.verifyAccessToken(token)
  const byCookie = core.verifyRequest('__Host-at=' + token, undefined)
  assert.equal(byCookie.ok, true, what + ' (cookie): ' + byCookie.code)
  assert.equal(byCookie.source, 'cookie')
  const byHeader = core.verifyRequest(undefined, 'Bearer ' + token)
  assert.equal(byHeader.ok, true, what + ' (Bearer): ' + byHeader.code)
  assert.equal(byHeader.source, 'header')
  assert.deepEqual(byCookie.claims, direct)
  assert.deepEqual(byHeader.claims, direct)
  return direct
}

module.exports = {
  ALPHABET,
  AUD,
  ISS,
  SECRET,
  SECRET_2,
  T0,
  TokenCore,
  assertAccepted,
  assertRejected,
  b64url,
  claims,
  claimsJson,
  compact,
  headerJson,
  hmacSignature,
  lastCharTwins,
  newCore,
  percentEncodeAll,
  segments,
  signRaw,
  signingInput,
  throwsCode,
  withSignature
}
