'use strict'

// The hot path returns one packed string that js/packed.js unpacks (its writer and the
// format: src/napi/packed.rs). These tests pin that every field survives the trip exactly,
// whatever the user id holds, that the reader agrees with the writer on the writer's own
// vectors, and that inputs outside ASCII can never turn into token characters.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { TokenCore } = require('../..')
const native = require('../../js/native.js')
const { requestResult, tokenResult } = require('../../js/packed.js')

const SECRET = 'packed-test-secret-that-is-long-enough-000'
const T0 = Date.UTC(2026, 5, 1)
const SESSION = 'AAAAAAAAAAAAAAAAAAAAAA'

function core () {
  return new TokenCore({ secret: [SECRET], fixedNow: T0 })
}

describe('TokenCore hot path', function () {
  describe('when reading the vectors the Rust writer packed', function () {
    const vectors = native.packedVectors()

    it('should cover valid results and refusals', function () {
      assert.ok(vectors.filter((v) => v.expected.ok).length >= 5)
      assert.ok(vectors.filter((v) => !v.expected.ok).length >= 3)
    })

    for (const { packed, expected } of vectors) {
      it('should give back what was packed: ' + JSON.stringify(packed.slice(0, 40)), function () {
        assert.deepEqual(requestResult(packed), expected)
        if (expected.ok) {
          assert.deepEqual(tokenResult(packed), expected.claims)
        } else {
          assert.throws(() => tokenResult(packed), (e) => e instanceof Error && e.code === expected.code)
        }
      })
    }
  })

  describe('when the user id holds separators or unusual characters', function () {
    for (const userId of ['a,b,c', ',', 'x\u0000y', '😀,😀', 'é', '9,9,9,9,9', '{"a":1}', '-', '+h1,2']) {
      it('should hand back ' + JSON.stringify(userId) + ' exactly', function () {
        const c = core()
        const claims = { k: 'v,w', n: 2 ** 53 - 1 }
        const { token } = c.signAccessToken({ userId, session: SESSION, dataVersion: 7, claims })
        for (const got of [c.verifyAccessToken(token), c.verifyRequest('__Host-at=' + token, null).claims]) {
          assert.equal(got.sub, userId)
          assert.equal(got.sid, SESSION)
          assert.equal(got.dv, 7)
          assert.equal(got.iat, T0 / 1000)
          assert.equal(got.exp, T0 / 1000 + 900)
          assert.deepEqual(got.claims, claims)
        }
      })
    }
  })

  describe('when there are no app claims', function () {
    it('should leave claims.claims undefined', function () {
      const c = core()
      const { token } = c.signAccessToken({ userId: 'alice', session: SESSION })
      assert.equal(c.verifyAccessToken(token).claims, undefined)
    })
  })

  describe('when a header holds characters outside ASCII', function () {
    it('should never read them as token characters', function () {
      const c = core()
      const { token } = c.signAccessToken({ userId: 'alice', session: SESSION })
      // U+0141 and U+0161 have low bytes 0x41 ('A') and 0x61 ('a'): a lossy latin1
      // conversion would turn them into token characters.
      const i = token.indexOf('A') >= 0 ? token.indexOf('A') : token.indexOf('a')
      const lookAlike = token.slice(0, i) + (token[i] === 'A' ? '\u0141' : '\u0161') + token.slice(i + 1)
      assert.equal(c.verifyRequest('__Host-at=' + lookAlike, null).code, 'TOKEN_MALFORMED')
      assert.equal(c.verifyRequest(null, 'Bearer ' + lookAlike).code, 'TOKEN_MALFORMED')
      assert.throws(() => c.verifyAccessToken(lookAlike), { code: 'TOKEN_MALFORMED' })
      // A look-alike of the cookie name (U+015F has low byte 0x5F, '_') is another cookie.
      assert.equal(c.verifyRequest('\u015f_Host-at=' + token, null).code, 'NO_TOKEN')
      // Other cookies may hold latin1 text; ours is still found.
      assert.equal(c.verifyRequest('note=caf\u00e9; __Host-at=' + token, null).ok, true)
    })
  })

  describe('when the core is gone', function () {
    it('should keep working for every live core', function () {
      const cores = Array.from({ length: 20 }, core)
      const tokens = cores.map((c) => c.signAccessToken({ userId: 'u', session: SESSION }).token)
      cores.forEach((c, i) => assert.equal(c.verifyAccessToken(tokens[i]).sub, 'u'))
      // Each core knows only its own keys.
      assert.throws(() => cores[0].verifyAccessToken(tokens[1]), { code: 'KEY_UNKNOWN' })
    })
  })
})
