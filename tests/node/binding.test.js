'use strict'

/**
 * The native binding `TokenCore`, driven from JavaScript: options validation, the access
 * token round trip, the fixed clock, request credentials, key rotation and revocation,
 * EdDSA interoperability, sealed key rings, refresh tokens and CSRF tokens.
 *
 * Attacks on the JWT format live in attacks.test.js.
 */

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { describe, it } = require('node:test')

const native = require('../../js/native.js')
const pkg = require('../..')
const {
  SECRET,
  SECRET_2,
  T0,
  TokenCore,
  newCore,
  percentEncodeAll,
  segments,
  signingInput,
  throwsCode
} = require('./support/tokens')

const S32 = 'a'.repeat(32)
const SESSION = 'session-1'

function sign (core, extra) {
  return core.signAccessToken({ userId: 'alice', session: SESSION, ...extra })
}

describe('TokenCore', function () {
  describe('the module', function () {
    it('should export a TokenCore built on the native class and the hot-path functions', function () {
      assert.equal(typeof native.TokenCore, 'function')
      assert.equal(typeof native.verifyRequestPacked, 'function')
      assert.equal(typeof native.verifyAccessTokenPacked, 'function')
      const core = new pkg.TokenCore({ secret: [SECRET] })
      assert.equal(core.verifyRequest(null, null).code, 'NO_TOKEN')
    })

    it('should report a native build', function () {
      assert.equal(native.__napiBindingTarget, 'native')
    })
  })

  describe('when constructed', function () {
    it('should accept a secret of exactly 32 bytes', function () {
      assert.ok(new TokenCore({ secret: [S32] }))
    })

    it('should count secret length in UTF-8 bytes, not characters', function () {
      assert.ok(new TokenCore({ secret: ['é'.repeat(16)] })) // 32 bytes
      throwsCode(() => new TokenCore({ secret: ['é'.repeat(15) + 'a'] }), 'CONFIG_INVALID') // 31 bytes
    })

    it('should throw CONFIG_INVALID for a short secret', function () {
      throwsCode(() => new TokenCore({ secret: ['a'.repeat(31)] }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ secret: ['keyboard cat'] }), 'CONFIG_INVALID')
    })

    it('should throw CONFIG_INVALID for an empty secret', function () {
      throwsCode(() => new TokenCore({ secret: [] }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ secret: [''] }), 'CONFIG_INVALID')
    })

    it('should throw CONFIG_INVALID when any secret of the list is short', function () {
      throwsCode(() => new TokenCore({ secret: [SECRET, 'short'] }), 'CONFIG_INVALID')
    })

    it('should throw CONFIG_INVALID for a duplicate secret', function () {
      throwsCode(() => new TokenCore({ secret: [SECRET, SECRET] }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ secret: [SECRET, SECRET_2, SECRET] }), 'CONFIG_INVALID')
    })

    it('should throw CONFIG_INVALID for more than 8 secrets', function () {
      const nine = Array.from({ length: 9 }, (_, i) => SECRET + i)
      assert.ok(new TokenCore({ secret: nine.slice(0, 8) }))
      throwsCode(() => new TokenCore({ secret: nine }), 'CONFIG_INVALID')
    })

    it('should refuse a missing or non-array secret', function () {
      assert.throws(() => new TokenCore({}))
      assert.throws(() => new TokenCore({ secret: SECRET }))
    })

    it('should accept the algorithms HS256 and EdDSA, exactly', function () {
      assert.equal(new TokenCore({ secret: [S32] }).keyRingInfo().algorithm, 'HS256')
      assert.equal(new TokenCore({ secret: [S32], algorithm: 'HS256' }).keyRingInfo().algorithm, 'HS256')
      assert.equal(new TokenCore({ secret: [S32], algorithm: 'EdDSA' }).keyRingInfo().algorithm, 'EdDSA')
    })

    it('should throw CONFIG_INVALID for a bad algorithm', function () {
      for (const algorithm of ['none', 'None', 'hs256', 'HS256 ', 'eddsa', 'Ed25519', 'HS512', 'RS256', 'ES256', '']) {
        throwsCode(() => new TokenCore({ secret: [S32], algorithm }), 'CONFIG_INVALID', JSON.stringify(algorithm))
      }
    })

    it('should throw CONFIG_INVALID for a bad accessTokenMaxAge', function () {
      for (const v of [-1000, 0, 1500, 1.5, NaN, Infinity, -Infinity, 86_401_000, 1e16]) {
        throwsCode(() => new TokenCore({ secret: [S32], accessTokenMaxAge: v }), 'CONFIG_INVALID', String(v))
      }
      assert.ok(new TokenCore({ secret: [S32], accessTokenMaxAge: 1000 }))
      assert.ok(new TokenCore({ secret: [S32], accessTokenMaxAge: 86_400_000 }))
    })

    it('should throw CONFIG_INVALID for a bad leeway', function () {
      for (const v of [-1000, 500, 0.5, NaN, Infinity, 301_000]) {
        throwsCode(() => new TokenCore({ secret: [S32], leeway: v }), 'CONFIG_INVALID', String(v))
      }
      assert.ok(new TokenCore({ secret: [S32], leeway: 0 }))
      assert.ok(new TokenCore({ secret: [S32], leeway: 300_000 }))
    })

    it('should throw CONFIG_INVALID for a bad keyRotationInterval', function () {
      for (const v of [0, 59_999, -60_000, 60_000.5, NaN, Infinity]) {
        throwsCode(() => new TokenCore({ secret: [S32], keyRotationInterval: v }), 'CONFIG_INVALID', String(v))
      }
      assert.ok(new TokenCore({ secret: [S32], keyRotationInterval: 60_000 }))
    })

    it('should throw CONFIG_INVALID for a retiredKeyTtl shorter than an access token lives', function () {
      const base = { secret: [S32], accessTokenMaxAge: 600_000, leeway: 5_000 }
      throwsCode(() => new TokenCore({ ...base, retiredKeyTtl: 604_999 }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ ...base, retiredKeyTtl: -1 }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ ...base, retiredKeyTtl: NaN }), 'CONFIG_INVALID')
      assert.ok(new TokenCore({ ...base, retiredKeyTtl: 605_000 }))
    })

    it('should default retiredKeyTtl to cover a long access-token lifetime', function () {
      // 2 h lifetime > the 1 h default overlap: the default must grow, not fail.
      assert.ok(new TokenCore({ secret: [S32], accessTokenMaxAge: 7_200_000 }))
    })

    it('should retire keys for the access-token lifetime + leeway when that exceeds 1 hour', function () {
      const core = newCore({ accessTokenMaxAge: 7_200_000, leeway: 5_000, keyRotationInterval: 600_000 })
      const oldKid = core.currentKid()
      core.setNow(T0 + 600_000)
      assert.equal(core.rotateKeysIfDue(), true)
      const retired = core.keyRingInfo().keys.find((k) => k.kid === oldKid)
      assert.equal(retired.verifyUntil, T0 + 600_000 + 7_205_000)
    })

    it('should throw CONFIG_INVALID for a bad fixedNow', function () {
      for (const v of [-1, 0.5, NaN, Infinity]) {
        throwsCode(() => new TokenCore({ secret: [S32], fixedNow: v }), 'CONFIG_INVALID', String(v))
      }
    })

    it('should throw CONFIG_INVALID for a maxTokenLength out of range', function () {
      for (const v of [0, 511, 65_537]) {
        throwsCode(() => new TokenCore({ secret: [S32], maxTokenLength: v }), 'CONFIG_INVALID', String(v))
      }
      assert.ok(new TokenCore({ secret: [S32], maxTokenLength: 512 }))
      assert.ok(new TokenCore({ secret: [S32], maxTokenLength: 65_536 }))
    })

    it('should throw CONFIG_INVALID for a fractional or wrapped-around maxTokenLength', function () {
      for (const v of [1024.5, 2 ** 32 + 1024, -(2 ** 32) + 1024]) {
        throwsCode(() => new TokenCore({ secret: [S32], maxTokenLength: v }), 'CONFIG_INVALID', String(v))
      }
    })

    it('should throw CONFIG_INVALID for an empty or oversized issuer or audience', function () {
      throwsCode(() => new TokenCore({ secret: [S32], issuer: '' }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ secret: [S32], audience: '' }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ secret: [S32], issuer: 'i'.repeat(257) }), 'CONFIG_INVALID')
      throwsCode(() => new TokenCore({ secret: [S32], audience: 'a'.repeat(257) }), 'CONFIG_INVALID')
    })

    it('should say which option is wrong without echoing the secret', function () {
      const err = throwsCode(() => new TokenCore({ secret: [S32], leeway: 301_000 }), 'CONFIG_INVALID')
      assert.match(err.message, /leeway/)
      const short = 'my-very-own-secret-text'
      const err2 = throwsCode(() => new TokenCore({ secret: [short] }), 'CONFIG_INVALID')
      assert.ok(!err2.message.includes(short))
    })
  })

  describe('when signing and verifying an access token', function () {
    it('should round-trip the subject, session and data version', function () {
      const core = newCore()
      const issued = sign(core, { dataVersion: 7 })
      assert.equal(typeof issued.token, 'string')
      assert.equal(segments(issued.token).length, 3)
      const c = core.verifyAccessToken(issued.token)
      assert.equal(c.sub, 'alice')
      assert.equal(c.sid, SESSION)
      assert.equal(c.dv, 7)
      assert.equal(c.jti, issued.jti)
      assert.equal(c.exp, issued.exp)
      assert.equal(c.iat, T0 / 1000)
      assert.equal(c.exp, T0 / 1000 + 900)
      assert.equal(c.kid, core.currentKid())
      assert.equal(c.claims, undefined)
    })

    it('should default the data version to 0', function () {
      const core = newCore()
      assert.equal(core.verifyAccessToken(sign(core).token).dv, 0)
    })

    it('should throw CONFIG_INVALID for a bad data version', function () {
      const core = newCore()
      for (const dataVersion of [-1, 1.5, NaN, Infinity, 1e16]) {
        throwsCode(() => sign(core, { dataVersion }), 'CONFIG_INVALID', String(dataVersion))
      }
    })

    it('should give every token a distinct jti', function () {
      const core = newCore()
      const jtis = new Set()
      for (let i = 0; i < 500; i++) jtis.add(sign(core).jti)
      assert.equal(jtis.size, 500)
    })

    it('should honour accessTokenMaxAge, issuer and audience', function () {
      const core = newCore({ accessTokenMaxAge: 60_000, issuer: 'https://issuer.example', audience: 'api' })
      const issued = sign(core)
      assert.equal(issued.exp, T0 / 1000 + 60)
      assert.equal(core.verifyAccessToken(issued.token).sub, 'alice')
    })

    it('should refuse a token of another issuer or audience with TOKEN_INVALID', function () {
      const mine = newCore()
      const otherIss = new TokenCore({ secret: [SECRET], fixedNow: T0, issuer: 'someone-else' })
      const otherAud = new TokenCore({ secret: [SECRET], fixedNow: T0, audience: 'someone-else' })
      // Same ring, different policy: only iss/aud can reject.
      otherIss.openKeyRing(bump(mine))
      otherAud.openKeyRing(mine.sealKeyRing())
      const token = sign(mine).token
      throwsCode(() => otherIss.verifyAccessToken(token), 'TOKEN_INVALID')
      throwsCode(() => otherAud.verifyAccessToken(token), 'TOKEN_INVALID')
      assert.equal(mine.verifyAccessToken(token).sub, 'alice')
    })

    it('should refuse a token of another core with KEY_UNKNOWN', function () {
      const a = newCore()
      const b = newCore()
      throwsCode(() => b.verifyAccessToken(sign(a).token), 'KEY_UNKNOWN')
    })

    it('should refuse every reserved claim name with CLAIM_RESERVED', function () {
      const core = newCore()
      for (const name of ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'sid', 'dv']) {
        throwsCode(() => sign(core, { claims: { [name]: 'x' } }), 'CLAIM_RESERVED', name)
        throwsCode(() => sign(core, { claims: { role: 'user', [name]: 1 } }), 'CLAIM_RESERVED', name)
      }
    })

    it('should treat look-alikes of reserved names as app claims', function () {
      const core = newCore()
      const claims = { Exp: 1, EXP: 2, 'ｅｘｐ': 3, 'exp\u0000': 4, ' sub': 5, kid: 'k', typ: 't' }
      const c = core.verifyAccessToken(sign(core, { claims }).token)
      assert.deepEqual(c.claims, claims)
      assert.equal(c.exp, T0 / 1000 + 900)
      assert.equal(c.sub, 'alice')
    })

    it('should round-trip app claims as JavaScript values', function () {
      const core = newCore()
      const claims = {
        role: 'admin',
        admin: true,
        disabled: false,
        nothing: null,
        count: 42,
        negative: -7,
        ratio: 0.25,
        big: 2 ** 31 - 1,
        list: [1, 'two', [3], { four: 4 }, null],
        nested: { a: { b: { c: ['deep'] } } },
        empty: {},
        emptyList: [],
        text: 'ünïcödé ✓ 😀 "quoted" \\ back\nslash',
        '': 'empty name'
      }
      const c = core.verifyAccessToken(sign(core, { claims }).token)
      assert.deepEqual(c.claims, claims)
    })

    it('should round-trip large integers and doubles exactly', function () {
      const core = newCore()
      const claims = {
        maxSafe: 2 ** 53 - 1,
        minSafe: -(2 ** 53 - 1),
        id: 3780219819394602,
        ratio: 0.22056839559196462,
        seconds: 959464354.6874553
      }
      const c = core.verifyAccessToken(sign(core, { claims }).token)
      assert.deepEqual(c.claims, claims)
    })

    it('should not let a "__proto__" claim replace the prototype of the claims object', function () {
      const core = newCore()
      throwsCode(() => sign(core, { claims: JSON.parse('{"a":[{"__proto__":{"x":1}}]}') }), 'CLAIM_RESERVED')
      const fromApp = JSON.parse('{"__proto__":{"isAdmin":true},"role":"user"}')
      const fromToken = core.dangerousSignRaw(
        JSON.stringify({ alg: 'HS256', typ: 'at+jwt', kid: core.currentKid() }),
        JSON.stringify({ iss: 'tandem-session', sub: 'alice', aud: 'tandem-session', exp: T0 / 1000 + 900, iat: T0 / 1000, jti: 'j', sid: SESSION, dv: 0 })
          .replace(/}$/, ',"__proto__":{"isAdmin":true}}')
      )
      // Refused at signing (CLAIM_RESERVED) and at verification (TOKEN_MALFORMED).
      throwsCode(() => sign(core, { claims: fromApp }), 'CLAIM_RESERVED')
      throwsCode(() => core.verifyAccessToken(fromToken), 'TOKEN_MALFORMED')
      assert.equal(core.verifyRequest('__Host-at=' + fromToken, null).code, 'TOKEN_MALFORMED')
    })

    it('should refuse to sign a token for an empty user id or session', function () {
      const core = newCore()
      throwsCode(() => core.signAccessToken({ userId: '', session: SESSION }), 'INVALID_ARGUMENT')
      throwsCode(() => core.signAccessToken({ userId: 'alice', session: '' }), 'INVALID_ARGUMENT')
    })

    it('should refuse what it signed for an empty user id or session with TOKEN_INVALID', function () {
      const core = newCore()
      for (const subject of [{ userId: '', session: SESSION }, { userId: 'alice', session: '' }]) {
        let issued
        try {
          issued = core.signAccessToken(subject)
        } catch (err) {
          continue // refusing up front is fine too
        }
        throwsCode(() => core.verifyAccessToken(issued.token), 'TOKEN_INVALID')
      }
    })

    it('should leave claims undefined when there are none', function () {
      const core = newCore()
      assert.equal(core.verifyAccessToken(sign(core, { claims: {} }).token).claims, undefined)
    })

    it('should throw TOKEN_MALFORMED for claims too large for a token', function () {
      const core = newCore()
      throwsCode(() => sign(core, { claims: { blob: 'x'.repeat(7000) } }), 'TOKEN_MALFORMED')
      throwsCode(() => core.signAccessToken({ userId: 'u'.repeat(257), session: SESSION }), 'TOKEN_MALFORMED')
    })

    it('should return a fresh claims object on every verification', function () {
      const core = newCore()
      const token = sign(core, { claims: { role: 'user' } }).token
      const first = core.verifyAccessToken(token)
      first.claims.role = 'admin'
      first.sub = 'mallory'
      const second = core.verifyAccessToken(token)
      assert.equal(second.claims.role, 'user')
      assert.equal(second.sub, 'alice')
    })
  })

  describe('when the clock is fixed', function () {
    it('should report the fixed time and move it with setNow', function () {
      const core = newCore()
      assert.equal(core.now(), T0)
      core.setNow(T0 + 1234)
      assert.equal(core.now(), T0 + 1234)
    })

    it('should throw CONFIG_INVALID from setNow without fixedNow', function () {
      const core = new TokenCore({ secret: [S32] })
      throwsCode(() => core.setNow(T0), 'CONFIG_INVALID')
      assert.ok(Math.abs(core.now() - Date.now()) < 60_000)
    })

    it('should throw CONFIG_INVALID from setNow with a non-finite time', function () {
      const core = newCore()
      throwsCode(() => core.setNow(NaN), 'CONFIG_INVALID')
      throwsCode(() => core.setNow(Infinity), 'CONFIG_INVALID')
    })

    it('should expire a token exactly at exp + leeway', function () {
      const core = newCore({ leeway: 5_000 })
      const { token, exp } = sign(core)
      const deadline = (exp + 5) * 1000
      core.setNow(deadline - 1)
      assert.equal(core.verifyAccessToken(token).sub, 'alice')
      assert.equal(core.verifyRequest(null, 'Bearer ' + token).ok, true)
      core.setNow(deadline)
      throwsCode(() => core.verifyAccessToken(token), 'TOKEN_EXPIRED')
      assert.deepEqual(core.verifyRequest(null, 'Bearer ' + token), { ok: false, code: 'TOKEN_EXPIRED' })
      assert.deepEqual(core.verifyRequest('__Host-at=' + token, null), { ok: false, code: 'TOKEN_EXPIRED' })
    })

    it('should expire a token exactly at exp with leeway 0', function () {
      const core = newCore({ leeway: 0 })
      const { token, exp } = sign(core)
      core.setNow(exp * 1000 - 1)
      assert.equal(core.verifyAccessToken(token).sub, 'alice')
      core.setNow(exp * 1000)
      throwsCode(() => core.verifyAccessToken(token), 'TOKEN_EXPIRED')
    })

    it('should use the default leeway of 5 seconds', function () {
      const core = newCore()
      const { token, exp } = sign(core)
      core.setNow((exp + 5) * 1000 - 1)
      assert.equal(core.verifyAccessToken(token).sub, 'alice')
      core.setNow((exp + 5) * 1000)
      throwsCode(() => core.verifyAccessToken(token), 'TOKEN_EXPIRED')
    })

    it('should refuse a token issued in the future beyond the leeway with TOKEN_NOT_YET_VALID', function () {
      const core = newCore({ leeway: 5_000 })
      const { token } = sign(core)
      core.setNow(T0 - 5_000)
      assert.equal(core.verifyAccessToken(token).sub, 'alice')
      core.setNow(T0 - 5_001)
      throwsCode(() => core.verifyAccessToken(token), 'TOKEN_NOT_YET_VALID')
      assert.deepEqual(core.verifyRequest(null, 'Bearer ' + token), { ok: false, code: 'TOKEN_NOT_YET_VALID' })
    })

    it('should floor a fractional start time to whole seconds for iat', function () {
      const core = newCore({ fixedNow: T0 + 999 })
      const c = core.verifyAccessToken(sign(core).token)
      assert.equal(c.iat, T0 / 1000)
    })
  })

  describe('when verifying a request', function () {
    it('should return NO_TOKEN without credentials', function () {
      const core = newCore()
      assert.deepEqual(core.verifyRequest(undefined, undefined), { ok: false, code: 'NO_TOKEN' })
      assert.deepEqual(core.verifyRequest(null, null), { ok: false, code: 'NO_TOKEN' })
      assert.deepEqual(core.verifyRequest(), { ok: false, code: 'NO_TOKEN' })
      assert.deepEqual(core.verifyRequest('', ''), { ok: false, code: 'NO_TOKEN' })
      assert.deepEqual(core.verifyRequest('a=1; b=2', undefined), { ok: false, code: 'NO_TOKEN' })
      assert.deepEqual(core.verifyRequest('__Host-at', undefined), { ok: false, code: 'NO_TOKEN' })
    })

    it('should read the token from the access cookie', function () {
      const core = newCore()
      const token = sign(core).token
      const r = core.verifyRequest('theme=dark; __Host-at=' + token + '; lang=en', undefined)
      assert.equal(r.ok, true)
      assert.equal(r.source, 'cookie')
      assert.equal(r.code, undefined)
      assert.equal(r.claims.sub, 'alice')
      assert.deepEqual(r.claims, core.verifyAccessToken(token))
    })

    it('should tolerate cookie pairs without a space, with tabs, or with a space before "="', function () {
      const core = newCore()
      const token = sign(core).token
      for (const h of [`a=1;__Host-at=${token}`, `a=1;\t__Host-at=${token}\t;b=2`, `__Host-at =${token}`, `__Host-at= ${token}`]) {
        assert.equal(core.verifyRequest(h, undefined).ok, true, JSON.stringify(h.replace(token, 'T')))
      }
    })

    it('should read the token from an Authorization Bearer header', function () {
      const core = newCore()
      const token = sign(core).token
      const r = core.verifyRequest(undefined, 'Bearer ' + token)
      assert.equal(r.ok, true)
      assert.equal(r.source, 'header')
      assert.equal(r.claims.sub, 'alice')
    })

    it('should match the Bearer scheme case-insensitively', function () {
      const core = newCore()
      const token = sign(core).token
      assert.equal(core.verifyRequest(undefined, 'bearer ' + token).ok, true)
      assert.equal(core.verifyRequest(undefined, 'BEARER ' + token).ok, true)
    })

    it('should ignore other authorization schemes', function () {
      const core = newCore()
      assert.deepEqual(core.verifyRequest(undefined, 'Basic dXNlcjpwYXNz'), { ok: false, code: 'NO_TOKEN' })
      const token = sign(core).token
      const r = core.verifyRequest('__Host-at=' + token, 'Basic dXNlcjpwYXNz')
      assert.equal(r.ok, true)
      assert.equal(r.source, 'cookie')
    })

    it('should return TOKEN_MALFORMED for malformed Bearer credentials', function () {
      const core = newCore()
      const token = sign(core).token
      for (const h of ['Bearer', 'Bearer ', 'Bearer' + token, 'Bearer ' + token + ' extra', 'Bearer ' + token + ';x', 'Bearer\t' + token]) {
        assert.deepEqual(core.verifyRequest(undefined, h), { ok: false, code: 'TOKEN_MALFORMED' }, JSON.stringify(h.replace(token, 'T')))
      }
    })

    it('should accept a cookie and a header that carry the same token', function () {
      const core = newCore()
      const token = sign(core).token
      const r = core.verifyRequest('__Host-at=' + token, 'Bearer ' + token)
      assert.equal(r.ok, true)
      assert.equal(r.source, 'header')
    })

    it('should return CREDENTIALS_AMBIGUOUS when the cookie and the header disagree', function () {
      const core = newCore()
      const a = sign(core).token
      const b = sign(core).token
      assert.deepEqual(core.verifyRequest('__Host-at=' + a, 'Bearer ' + b), { ok: false, code: 'CREDENTIALS_AMBIGUOUS' })
      assert.deepEqual(core.verifyRequest('__Host-at=' + a, 'Bearer garbage'), { ok: false, code: 'CREDENTIALS_AMBIGUOUS' })
    })

    it('should return CREDENTIALS_AMBIGUOUS for a duplicated access cookie', function () {
      const core = newCore()
      const a = sign(core).token
      const b = sign(core).token
      assert.deepEqual(core.verifyRequest(`__Host-at=${a}; __Host-at=${b}`, undefined), { ok: false, code: 'CREDENTIALS_AMBIGUOUS' })
      assert.deepEqual(core.verifyRequest(`__Host-at=${a}; x=1; __Host-at=${a}`, undefined), { ok: false, code: 'CREDENTIALS_AMBIGUOUS' })
      // A header does not resolve a duplicated cookie.
      assert.deepEqual(core.verifyRequest(`__Host-at=${a}; __Host-at=${a}`, 'Bearer ' + a), { ok: false, code: 'CREDENTIALS_AMBIGUOUS' })
    })

    it('should ignore look-alike cookie names', function () {
      const core = newCore()
      const token = sign(core).token
      const lookAlikes = [
        '__host-at', '__HOST-at', '__Host-AT', '\u00a0__Host-at', '\u2000__Host-at', '__Host-at\u3000',
        '__Host-at\u00a0', 'at', '__Secure-at', '__Host-at2', 'x__Host-at', '__Host_at', '__Host-at\u0000'
      ]
      for (const name of lookAlikes) {
        assert.deepEqual(core.verifyRequest(`${name}=${token}`, undefined), { ok: false, code: 'NO_TOKEN' }, JSON.stringify(name))
        // Beside the real cookie, a look-alike is not a duplicate.
        const r = core.verifyRequest(`${name}=forged; __Host-at=${token}`, undefined)
        assert.equal(r.ok, true, JSON.stringify(name))
      }
    })

    it('should read the configured cookie name only', function () {
      const core = newCore({ accessCookieName: 'sid.at' })
      const token = sign(core).token
      assert.equal(core.verifyRequest('sid.at=' + token, undefined).ok, true)
      assert.deepEqual(core.verifyRequest('__Host-at=' + token, undefined), { ok: false, code: 'NO_TOKEN' })
    })

    it('should never URL-decode or unquote the cookie value', function () {
      const core = newCore()
      const token = sign(core).token
      const dotEncoded = token.replace(/\./g, '%2E')
      for (const value of [dotEncoded, percentEncodeAll(token), '"' + token + '"', encodeURIComponent(token + '=')]) {
        assert.deepEqual(core.verifyRequest('__Host-at=' + value, undefined), { ok: false, code: 'TOKEN_MALFORMED' })
      }
    })

    it('should return TOKEN_MALFORMED for an empty cookie value', function () {
      const core = newCore()
      assert.deepEqual(core.verifyRequest('__Host-at=', undefined), { ok: false, code: 'TOKEN_MALFORMED' })
    })

    it('should return codes, never throw, for bad tokens', function () {
      const core = newCore()
      for (const v of ['x', 'a.b.c', '\u0000', '☃', ';;;', '=', 'a'.repeat(20_000)]) {
        const r = core.verifyRequest('__Host-at=' + v, 'Bearer ' + v)
        assert.equal(r.ok, false)
        assert.equal(typeof r.code, 'string')
      }
    })

    it('should reject non-string arguments with a TypeError-like error', function () {
      const core = newCore()
      assert.throws(() => core.verifyRequest(5, undefined))
      assert.throws(() => core.verifyRequest(undefined, {}))
    })
  })

  describe('when keys rotate', function () {
    const MIN = 60_000
    const opts = { accessTokenMaxAge: MIN, leeway: 0, keyRotationInterval: 10 * MIN, retiredKeyTtl: 2 * MIN }

    it('should start with a current and an announced next key', function () {
      const core = newCore(opts)
      const info = core.keyRingInfo()
      assert.equal(info.version, 1)
      assert.equal(info.algorithm, 'HS256')
      assert.deepEqual(info.keys.map((k) => k.state).sort(), ['current', 'next'])
      const current = info.keys.find((k) => k.state === 'current')
      const next = info.keys.find((k) => k.state === 'next')
      assert.equal(current.kid, core.currentKid())
      assert.equal(current.activatesAt, T0)
      assert.equal(next.activatesAt, T0 + 10 * MIN)
      assert.match(core.currentKid(), /^[A-Za-z0-9_-]{16}$/)
      assert.notEqual(next.kid, current.kid)
    })

    it('should not rotate before the interval', function () {
      const core = newCore(opts)
      const kid = core.currentKid()
      assert.equal(core.rotateKeysIfDue(), false)
      core.setNow(T0 + 10 * MIN - 1)
      assert.equal(core.rotateKeysIfDue(), false)
      assert.equal(core.currentKid(), kid)
      assert.equal(core.keyRingInfo().version, 1)
    })

    it('should rotate after the interval and keep old tokens valid during the overlap', function () {
      const core = newCore(opts)
      const oldKid = core.currentKid()
      const nextKid = core.keyRingInfo().keys.find((k) => k.state === 'next').kid
      core.setNow(T0 + 9.5 * MIN)
      const old = sign(core).token // exp = T0 + 10.5 min
      assert.equal(core.verifyAccessToken(old).kid, oldKid)

      const rotatedAt = T0 + 10 * MIN
      core.setNow(rotatedAt)
      assert.equal(core.rotateKeysIfDue(), true)
      assert.equal(core.currentKid(), nextKid)
      const info = core.keyRingInfo()
      assert.equal(info.version, 2)
      const retired = info.keys.find((k) => k.kid === oldKid)
      assert.equal(retired.state, 'retired')
      assert.equal(retired.verifyUntil, rotatedAt + 2 * MIN)
      assert.equal(info.keys.filter((k) => k.state === 'next').length, 1)
      assert.equal(core.rotateKeysIfDue(), false, 'nothing more is due')

      // The old token still verifies, until it expires.
      assert.equal(core.verifyAccessToken(old).kid, oldKid)
      assert.equal(core.verifyRequest('__Host-at=' + old, undefined).ok, true)
      core.setNow(T0 + 10.5 * MIN - 1)
      assert.equal(core.verifyAccessToken(old).kid, oldKid)

      // A new token is signed by the new key and verifies.
      const fresh = sign(core).token
      assert.equal(core.verifyAccessToken(fresh).kid, nextKid)

      // After its expiry the old token is expired; after the overlap its key is gone.
      core.setNow(T0 + 10.5 * MIN)
      throwsCode(() => core.verifyAccessToken(old), 'TOKEN_EXPIRED')
      core.setNow(rotatedAt + 2 * MIN)
      throwsCode(() => core.verifyAccessToken(old), 'KEY_UNKNOWN')
      assert.equal(core.rotateKeysIfDue(), true, 'the retired key is pruned')
      assert.ok(!core.keyRingInfo().keys.some((k) => k.kid === oldKid))
      assert.equal(core.keyRingInfo().keys.length, 2)
    })

    it('should throw KEY_UNKNOWN for old tokens after revokeKey, and verify new ones', function () {
      const core = newCore(opts)
      const oldKid = core.currentKid()
      const old = sign(core).token
      const version = core.keyRingInfo().version
      core.revokeKey(oldKid)
      assert.notEqual(core.currentKid(), oldKid)
      assert.equal(core.keyRingInfo().version, version + 1)
      assert.ok(!core.keyRingInfo().keys.some((k) => k.kid === oldKid))
      throwsCode(() => core.verifyAccessToken(old), 'KEY_UNKNOWN')
      assert.deepEqual(core.verifyRequest(undefined, 'Bearer ' + old), { ok: false, code: 'KEY_UNKNOWN' })
      assert.deepEqual(core.verifyRequest('__Host-at=' + old, undefined), { ok: false, code: 'KEY_UNKNOWN' })
      const fresh = sign(core).token
      assert.equal(core.verifyAccessToken(fresh).kid, core.currentKid())
      assert.equal(core.keyRingInfo().keys.filter((k) => k.state === 'current').length, 1)
      assert.equal(core.keyRingInfo().keys.filter((k) => k.state === 'next').length, 1)
    })

    it('should revoke a retired key at once, before its overlap ends', function () {
      const core = newCore(opts)
      const oldKid = core.currentKid()
      core.setNow(T0 + 9.5 * MIN)
      const old = sign(core).token
      core.setNow(T0 + 10 * MIN)
      assert.equal(core.rotateKeysIfDue(), true)
      assert.equal(core.verifyAccessToken(old).kid, oldKid)
      core.revokeKey(oldKid)
      throwsCode(() => core.verifyAccessToken(old), 'KEY_UNKNOWN')
    })

    it('should throw KEY_UNKNOWN when revoking a kid the ring does not hold', function () {
      const core = newCore(opts)
      const kid = core.currentKid()
      throwsCode(() => core.revokeKey('AAAAAAAAAAAAAAAA'), 'KEY_UNKNOWN')
      throwsCode(() => core.revokeKey(''), 'KEY_UNKNOWN')
      throwsCode(() => core.revokeKey('../../etc/passwd'), 'KEY_UNKNOWN')
      core.revokeKey(kid)
      throwsCode(() => core.revokeKey(kid), 'KEY_UNKNOWN')
    })
  })

  describe('when the algorithm is EdDSA', function () {
    it('should publish a JWK Set with public members only', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const set = core.jwks()
      assert.deepEqual(Object.keys(set), ['keys'])
      const kids = core.keyRingInfo().keys.map((k) => k.kid).sort()
      assert.deepEqual(set.keys.map((k) => k.kid).sort(), kids)
      for (const jwk of set.keys) {
        assert.deepEqual(Object.keys(jwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x'])
        assert.equal(jwk.kty, 'OKP')
        assert.equal(jwk.crv, 'Ed25519')
        assert.equal(jwk.alg, 'EdDSA')
        assert.equal(jwk.use, 'sig')
        assert.match(jwk.x, /^[A-Za-z0-9_-]{43}$/)
        const key = crypto.createPublicKey({ key: jwk, format: 'jwk' })
        assert.equal(key.type, 'public')
        assert.equal(key.asymmetricKeyType, 'ed25519')
      }
    })

    it('should publish an empty JWK Set for HS256', function () {
      assert.deepEqual(newCore().jwks(), { keys: [] })
    })

    it('should sign tokens that node:crypto verifies with the published key', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const { token } = sign(core, { claims: { role: 'reader' } })
      const [header, , sig] = segments(token)
      // Proof that another service can verify: decode the header, find the key by kid.
      const h = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))
      assert.deepEqual(h, { alg: 'EdDSA', typ: 'at+jwt', kid: core.currentKid() })
      const jwk = core.jwks().keys.find((k) => k.kid === h.kid)
      assert.ok(jwk, 'the signing key is published')
      const publicKey = crypto.createPublicKey({ key: jwk, format: 'jwk' })
      const signature = Buffer.from(sig, 'base64url')
      assert.equal(signature.length, 64)
      assert.equal(crypto.verify(null, Buffer.from(signingInput(token)), publicKey, signature), true)
      // And that the check is real: another input does not verify.
      assert.equal(crypto.verify(null, Buffer.from(signingInput(token) + 'x'), publicKey, signature), false)
      assert.equal(core.verifyAccessToken(token).claims.role, 'reader')
    })

    it('should keep publishing a retired key while it verifies', function () {
      const core = newCore({ algorithm: 'EdDSA', keyRotationInterval: 600_000 })
      const oldKid = core.currentKid()
      core.setNow(T0 + 600_000)
      assert.equal(core.rotateKeysIfDue(), true)
      assert.ok(core.jwks().keys.some((k) => k.kid === oldKid))
      const until = core.keyRingInfo().keys.find((k) => k.kid === oldKid).verifyUntil
      core.setNow(until)
      assert.ok(!core.jwks().keys.some((k) => k.kid === oldKid))
    })

    it('should drop a revoked key from the JWK Set', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const kid = core.currentKid()
      core.revokeKey(kid)
      assert.ok(!core.jwks().keys.some((k) => k.kid === kid))
      assert.ok(core.jwks().keys.some((k) => k.kid === core.currentKid()))
    })
  })

  describe('when sealing and opening the key ring', function () {
    it('should let a second instance with the same secret verify the first one\'s tokens', function () {
      const a = newCore()
      const b = newCore()
      const sealed = bump(a)
      assert.equal(typeof sealed, 'string')
      assert.match(sealed, /^[A-Za-z0-9_-]+$/)
      const token = sign(a).token
      throwsCode(() => b.verifyAccessToken(token), 'KEY_UNKNOWN')
      assert.equal(b.openKeyRing(sealed), true)
      assert.equal(b.currentKid(), a.currentKid())
      assert.deepEqual(b.keyRingInfo(), a.keyRingInfo())
      assert.equal(b.verifyAccessToken(token).sub, 'alice')
      assert.equal(b.verifyRequest('__Host-at=' + token, undefined).ok, true)
      // And the other way round: the first verifies what the second signs now.
      assert.equal(a.verifyAccessToken(sign(b).token).sub, 'alice')
    })

    it('should let a fresh instance adopt a stored ring of the same version when asked to replace', function () {
      const a = newCore()
      const b = newCore()
      assert.equal(b.openKeyRing(a.sealKeyRing()), false, 'not newer: kept without replace')
      assert.equal(b.openKeyRing(a.sealKeyRing(), true), true)
      assert.equal(b.verifyAccessToken(sign(a).token).sub, 'alice')
    })

    it('should not install an older or equal ring', function () {
      const a = newCore()
      const b = newCore()
      const sealedV2 = bump(a)
      assert.equal(b.openKeyRing(sealedV2), true)
      assert.equal(b.openKeyRing(sealedV2), false, 'same version again')
      const c = newCore()
      const sealedV1 = c.sealKeyRing()
      assert.equal(b.openKeyRing(sealedV1), false, 'older version')
      assert.equal(b.currentKid(), a.currentKid())
    })

    it('should throw KEYRING_UNREADABLE for a ring sealed with a different secret', function () {
      const a = newCore()
      const stranger = new TokenCore({ secret: [SECRET_2], fixedNow: T0 })
      throwsCode(() => stranger.openKeyRing(bump(a)), 'KEYRING_UNREADABLE')
      throwsCode(() => stranger.verifyAccessToken(sign(a).token), 'KEY_UNKNOWN')
    })

    it('should open a ring sealed with an older secret after the secret rotates', function () {
      const a = newCore()
      const sealed = bump(a)
      const rotated = new TokenCore({ secret: [SECRET_2, SECRET], fixedNow: T0 })
      assert.equal(rotated.openKeyRing(sealed), true)
      assert.equal(rotated.verifyAccessToken(sign(a).token).sub, 'alice')
      // It seals with the new secret: the old-secret-only core cannot open that.
      rotated.revokeKey(rotated.keyRingInfo().keys.find((k) => k.state === 'next').kid)
      const resealed = rotated.sealKeyRing()
      throwsCode(() => newCore().openKeyRing(resealed), 'KEYRING_UNREADABLE')
      assert.equal(new TokenCore({ secret: [SECRET_2], fixedNow: T0 }).openKeyRing(resealed), true)
    })

    it('should throw KEYRING_UNREADABLE for a tampered or malformed sealed ring', function () {
      const a = newCore()
      const b = newCore()
      const sealed = bump(a)
      const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)
      for (const bad of [
        flip(sealed, 2), // magic
        flip(sealed, 20), // nonce
        flip(sealed, Math.floor(sealed.length / 2)), // ciphertext
        flip(sealed, sealed.length - 2), // tag
        sealed.slice(0, -4),
        sealed + 'AAAA',
        sealed + '=',
        sealed.replace(/-/g, '+').replace(/_/g, '/'),
        '',
        'not a ring',
        'A'.repeat(20_000)
      ]) {
        if (bad === sealed) continue
        throwsCode(() => b.openKeyRing(bad), 'KEYRING_UNREADABLE', bad.slice(0, 12))
      }
      assert.equal(b.openKeyRing(sealed), true, 'the untouched ring still opens')
    })

    it('should throw CONFIG_INVALID for a ring of another algorithm', function () {
      const ed = newCore({ algorithm: 'EdDSA' })
      const hs = newCore()
      throwsCode(() => hs.openKeyRing(bump(ed)), 'CONFIG_INVALID')
    })

    it('should seal differently every time', function () {
      const a = newCore()
      assert.notEqual(a.sealKeyRing(), a.sealKeyRing())
    })
  })

  describe('when issuing refresh tokens', function () {
    it('should make 128-bit session handles of 22 base64url characters', function () {
      const core = newCore()
      const seen = new Set()
      for (let i = 0; i < 200; i++) {
        const h = core.newSessionHandle()
        assert.match(h, /^[A-Za-z0-9_-]{21}[AQgw]$/)
        seen.add(h)
      }
      assert.equal(seen.size, 200)
    })

    it('should issue a generation-0 token that parses back', function () {
      const core = newCore()
      const handle = core.newSessionHandle()
      const rt = core.issueRefreshToken(handle)
      assert.equal(rt.handle, handle)
      assert.equal(rt.generation, 0)
      assert.match(rt.token, /^[A-Za-z0-9_-]{92}$/)
      assert.match(rt.digest, /^[A-Za-z0-9_-]{43}$/)
      assert.ok(!rt.token.includes(rt.digest), 'the digest is not part of the token')
      const parsed = core.parseRefreshToken(rt.token)
      assert.deepEqual(parsed, { handle, generation: 0, digest: rt.digest })
    })

    it('should issue a different token every time', function () {
      const core = newCore()
      const handle = core.newSessionHandle()
      const a = core.issueRefreshToken(handle)
      const b = core.issueRefreshToken(handle)
      assert.notEqual(a.token, b.token)
      assert.notEqual(a.digest, b.digest)
    })

    it('should parse a token in another instance with the same secret', function () {
      const rt = newCore().issueRefreshToken(newCore().newSessionHandle())
      assert.equal(newCore().parseRefreshToken(rt.token).digest, rt.digest)
    })

    it('should parse a token issued under an older secret after the secret rotates', function () {
      const rt = newCore().issueRefreshToken(newCore().newSessionHandle())
      const rotated = new TokenCore({ secret: [SECRET_2, SECRET] })
      assert.equal(rotated.parseRefreshToken(rt.token).digest, rt.digest)
    })

    it('should throw REFRESH_FORGED for a token of another secret', function () {
      const rt = newCore().issueRefreshToken(newCore().newSessionHandle())
      const stranger = new TokenCore({ secret: [SECRET_2] })
      throwsCode(() => stranger.parseRefreshToken(rt.token), 'REFRESH_FORGED')
    })

    it('should throw REFRESH_FORGED for a token whose secret or MAC was changed', function () {
      const core = newCore()
      const { token } = core.issueRefreshToken(core.newSessionHandle())
      const swap = (i) => token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
      // 69 bytes = 92 characters: version (1), handle (16), generation (4), secret (32), MAC (16).
      for (const i of [3, 25, 40, 60, 80, 91]) {
        throwsCode(() => core.parseRefreshToken(swap(i)), 'REFRESH_FORGED', 'position ' + i)
      }
    })

    it('should throw REFRESH_MALFORMED for anything not of the format', function () {
      const core = newCore()
      const { token } = core.issueRefreshToken(core.newSessionHandle())
      const access = sign(core).token
      for (const bad of [
        '',
        'x',
        token.slice(0, -1),
        token + 'A',
        token + '=',
        'B' + token.slice(1), // version 5
        token.slice(0, 10) + '+' + token.slice(11),
        token.slice(0, 10) + ' ' + token.slice(11),
        token.slice(0, 10) + '.' + token.slice(11),
        access,
        core.newSessionHandle()
      ]) {
        throwsCode(() => core.parseRefreshToken(bad), 'REFRESH_MALFORMED', bad.slice(0, 12))
      }
    })

    it('should throw INVALID_ARGUMENT when issuing for a bad handle', function () {
      const core = newCore()
      const h = core.newSessionHandle()
      for (const bad of ['', 'short', h + 'A', h.slice(0, -1) + 'B', '../../../etc/passwd', h.replace(/./, '+')]) {
        if (bad === h) continue
        throwsCode(() => core.issueRefreshToken(bad), 'INVALID_ARGUMENT', bad)
      }
    })

    it('should derive the same successor for the same token and salt, in any instance', function () {
      const core = newCore()
      const handle = core.newSessionHandle()
      const rt = core.issueRefreshToken(handle)
      const salt = crypto.randomBytes(16).toString('base64url')
      const a = core.refreshSuccessor(rt.token, salt)
      const b = core.refreshSuccessor(rt.token, salt)
      const c = newCore().refreshSuccessor(rt.token, salt)
      assert.deepEqual(a, b)
      assert.deepEqual(a, c)
      assert.equal(a.handle, handle)
      assert.equal(a.generation, 1)
      assert.notEqual(a.token, rt.token)
      assert.notEqual(a.digest, rt.digest)
      assert.deepEqual(core.parseRefreshToken(a.token), { handle, generation: 1, digest: a.digest })
    })

    it('should derive a different successor for another salt or another parent', function () {
      const core = newCore()
      const handle = core.newSessionHandle()
      const rt1 = core.issueRefreshToken(handle)
      const rt2 = core.issueRefreshToken(handle)
      const s1 = crypto.randomBytes(16).toString('base64url')
      const s2 = crypto.randomBytes(16).toString('base64url')
      assert.notEqual(core.refreshSuccessor(rt1.token, s1).token, core.refreshSuccessor(rt1.token, s2).token)
      assert.notEqual(core.refreshSuccessor(rt1.token, s1).token, core.refreshSuccessor(rt2.token, s1).token)
    })

    it('should count generations along a chain', function () {
      const core = newCore()
      let rt = core.issueRefreshToken(core.newSessionHandle())
      const digests = new Set([rt.digest])
      for (let g = 1; g <= 5; g++) {
        rt = core.refreshSuccessor(rt.token, crypto.randomBytes(16).toString('base64url'))
        assert.equal(rt.generation, g)
        digests.add(rt.digest)
      }
      assert.equal(digests.size, 6)
    })

    it('should throw for a successor of a forged token or with a bad salt', function () {
      const core = newCore()
      const rt = core.issueRefreshToken(core.newSessionHandle())
      const foreign = new TokenCore({ secret: [SECRET_2] }).issueRefreshToken(core.newSessionHandle())
      const salt = crypto.randomBytes(16).toString('base64url')
      throwsCode(() => core.refreshSuccessor(foreign.token, salt), 'REFRESH_FORGED')
      throwsCode(() => core.refreshSuccessor('x', salt), 'REFRESH_MALFORMED')
      const canonical = 'AAAAAAAAAAAAAAAAAAAAAA' // 16 zero bytes
      assert.equal(core.refreshSuccessor(rt.token, canonical).generation, 1)
      for (const bad of ['', canonical.slice(1), canonical + 'A', 'AAAAAAAAAAAAAAAAAAAAAB', canonical + '==', '+AAAAAAAAAAAAAAAAAAAAA']) {
        throwsCode(() => core.refreshSuccessor(rt.token, bad), 'INVALID_ARGUMENT', bad)
      }
    })
  })

  describe('when using CSRF tokens', function () {
    it('should verify a token for its own session only', function () {
      const core = newCore()
      const h1 = core.newSessionHandle()
      const h2 = core.newSessionHandle()
      const t = core.csrfToken(h1)
      assert.match(t, /^[A-Za-z0-9_-]{43}$/)
      assert.equal(core.verifyCsrfToken(t, h1), true)
      assert.equal(core.verifyCsrfToken(t, h2), false)
    })

    it('should issue distinct tokens that all verify', function () {
      const core = newCore()
      const h = core.newSessionHandle()
      const a = core.csrfToken(h)
      const b = core.csrfToken(h)
      assert.notEqual(a, b)
      assert.equal(core.verifyCsrfToken(a, h), true)
      assert.equal(core.verifyCsrfToken(b, h), true)
    })

    it('should verify across instances with the same secret, and not with another', function () {
      const core = newCore()
      const h = core.newSessionHandle()
      const t = core.csrfToken(h)
      assert.equal(newCore().verifyCsrfToken(t, h), true)
      assert.equal(new TokenCore({ secret: [SECRET_2, SECRET] }).verifyCsrfToken(t, h), true)
      assert.equal(new TokenCore({ secret: [SECRET_2] }).verifyCsrfToken(t, h), false)
    })

    it('should return false for tampered, malformed or foreign tokens', function () {
      const core = newCore()
      const h = core.newSessionHandle()
      const t = core.csrfToken(h)
      const swap = (i) => t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1)
      const rt = core.issueRefreshToken(h).token
      for (const bad of [swap(0), swap(20), swap(41), t.slice(0, -1), t + 'A', t + '=', '', h, rt, sign(core).token]) {
        assert.equal(core.verifyCsrfToken(bad, h), false, bad.slice(0, 12))
      }
    })

    it('should return false, not throw, for a bad handle', function () {
      const core = newCore()
      const h = core.newSessionHandle()
      const t = core.csrfToken(h)
      for (const bad of ['', 'x', h + 'A', '../../etc/passwd']) {
        assert.equal(core.verifyCsrfToken(t, bad), false)
      }
    })

    it('should throw INVALID_ARGUMENT when issuing for a bad handle', function () {
      const core = newCore()
      throwsCode(() => core.csrfToken('not-a-handle'), 'INVALID_ARGUMENT')
      throwsCode(() => core.csrfToken(''), 'INVALID_ARGUMENT')
    })
  })
})

/**
 * Make `core`'s ring newer than a fresh one (version 2, by revoking its announced next
 * key) and return it sealed, so another instance installs it.
 */
function bump (core) {
  const next = core.keyRingInfo().keys.find((k) => k.state === 'next')
  core.revokeKey(next.kid)
  assert.equal(core.keyRingInfo().version, 2)
  return core.sealKeyRing()
}
