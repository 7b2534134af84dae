'use strict'

// What TokenCore refuses or guards, pinned by the first security review of the token
// core: user ids and claims that are not valid Unicode, dangerousSignRaw outside tests,
// the key ring after an emergency revocation, and refresh tokens against a stored digest.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { TokenCore } = require('../..')

const SECRET = 'hardening-test-secret-that-is-long-enough'
const T0 = Date.UTC(2026, 5, 1)
const SESSION = 'AAAAAAAAAAAAAAAAAAAAAA'

function core (options) {
  return new TokenCore({ secret: [SECRET], fixedNow: T0, ...options })
}

describe('TokenCore guards', function () {
  describe('when a user id or claim holds a lone surrogate', function () {
    it('should refuse it with INVALID_ARGUMENT instead of rewriting it', function () {
      const c = core()
      for (const userId of ['a\uD800b', 'a\uDC00b']) {
        assert.throws(() => c.signAccessToken({ userId, session: SESSION }), { code: 'INVALID_ARGUMENT' })
      }
      assert.throws(() => c.signAccessToken({ userId: 'u', session: SESSION, claims: { n: ['x\uD800'] } }), { code: 'INVALID_ARGUMENT' })
      assert.throws(() => c.signAccessToken({ userId: 'u', session: SESSION, claims: { ['k\uDFFF']: 1 } }), { code: 'INVALID_ARGUMENT' })
      // U+FFFD itself is an ordinary character.
      assert.equal(c.verifyAccessToken(c.signAccessToken({ userId: 'a\uFFFDb', session: SESSION }).token).sub, 'a\uFFFDb')
    })
  })

  describe('when dangerousSignRaw is called outside tests', function () {
    it('should refuse without the fixedNow test clock', function () {
      const live = new TokenCore({ secret: [SECRET] })
      assert.throws(() => live.dangerousSignRaw('{"alg":"HS256"}', '{}'), { code: 'CONFIG_INVALID' })
      assert.match(core().dangerousSignRaw('{"alg":"HS256"}', '{}'), /^[\w-]+\.[\w-]+\.[\w-]+$/)
    })
  })

  describe('when the current key is revoked in an emergency', function () {
    it('should sign with a fresh key, not the announced next one', function () {
      const c = core()
      const before = c.keyRingInfo()
      const next = before.keys.find((k) => k.state === 'next').kid
      c.revokeKey(c.currentKid())
      assert.notEqual(c.currentKid(), next)
      assert.ok(c.keyRingInfo().keys.every((k) => k.kid !== next))
    })

    it('should not let an older sealed ring bring the revoked key back', function () {
      const c = core()
      const old = c.sealKeyRing()
      const token = c.signAccessToken({ userId: 'u', session: SESSION }).token
      c.revokeKey(c.currentKid())
      assert.equal(c.openKeyRing(old, true), false)
      assert.throws(() => c.verifyAccessToken(token), { code: 'KEY_UNKNOWN' })
    })
  })

  describe('when comparing a refresh token with a stored digest', function () {
    it('should say yes only for the genuine token of that digest', function () {
      const c = core()
      const handle = c.newSessionHandle()
      const a = c.issueRefreshToken(handle)
      const b = c.issueRefreshToken(handle)
      assert.equal(c.refreshMatches(a.token, a.digest), true)
      assert.equal(c.refreshMatches(b.token, a.digest), false)
      assert.equal(c.refreshMatches(a.token, 'not-a-digest'), false)
      assert.equal(c.refreshMatches(a.digest, a.digest), false, 'the digest is not a token')
      const forged = a.token.slice(0, 40) + (a.token[40] === 'A' ? 'B' : 'A') + a.token.slice(41)
      assert.equal(c.refreshMatches(forged, a.digest), false)
    })
  })
})
