'use strict'

/**
 * The JWT attack catalogue (security.md §1.4, §10.1, §10.2) thrown at the native binding
 * from JavaScript. Every hostile token is crafted here and judged by the Rust core only:
 * each case asserts the exact `code`, by the direct call and through `verifyRequest` in a
 * cookie and in a Bearer header. Hostile tokens carry a valid signature where it matters
 * (`dangerousSignRaw`), so only the rule under test can reject them; each group starts
 * with a valid control built by the same fixture, to prove the fixture is good.
 */

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const net = require('node:net')
const { describe, it } = require('node:test')

const {
  AUD,
  ISS,
  SECRET,
  T0,
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
  segments,
  signRaw,
  throwsCode,
  withSignature
} = require('./support/tokens')

/** A validly signed token with `headerExtra` / `claimsExtra` merged into a good token. */
function token (core, headerExtra, claimsExtra) {
  return signRaw(core, headerJson(core, headerExtra), claimsJson(core, claimsExtra))
}

/**
 * Claims JSON text in which member `name` has the exact JSON text `raw` (`NaN`, `1e400`, a
 * duplicate, …); `raw === undefined` leaves the member out.
 */
function claimsWithRaw (core, name, raw) {
  if (raw === undefined) return claimsJson(core, { [name]: undefined })
  const marker = '"__RAW_VALUE__"'
  return JSON.stringify(claims(core, { [name]: '__RAW_VALUE__' })).replace(marker, raw)
}

/** Header JSON text in which member `name` has the exact JSON text `raw`. */
function headerWithRaw (core, name, raw) {
  if (raw === undefined) return headerJson(core, { [name]: undefined })
  const marker = '"__RAW_VALUE__"'
  return headerJson(core, { [name]: '__RAW_VALUE__' }).replace(marker, raw)
}

/** The number of unused low bits in the last character of a base64url segment. */
function unusedBits (segment) {
  return { 0: 0, 2: 4, 3: 2 }[segment.length % 4]
}

describe('TokenCore', function () {
  describe('when alg is none in any spelling', function () {
    const SPELLINGS = ['none', 'None', 'NONE', 'nOnE']

    it('should accept the same fixture with alg HS256 (valid control)', function () {
      const core = newCore()
      assertAccepted(core, token(core))
      assertAccepted(core, token(core, { alg: 'HS256' }))
    })

    it('should encode the none headers exactly as security.md §1.4 lists them', function () {
      assert.equal(b64url('{"alg":"none"}'), 'eyJhbGciOiJub25lIn0')
      assert.equal(b64url('{"alg":"None"}'), 'eyJhbGciOiJOb25lIn0')
      assert.equal(b64url('{"alg":"NONE"}'), 'eyJhbGciOiJOT05FIn0')
      assert.equal(b64url('{"alg":"nOnE"}'), 'eyJhbGciOiJuT25FIn0')
    })

    for (const alg of SPELLINGS) {
      it(`should return TOKEN_MALFORMED for alg "${alg}" with an empty signature`, function () {
        const core = newCore()
        assertRejected(core, compact(headerJson(core, { alg }), claimsJson(core), ''), 'TOKEN_MALFORMED')
        assertRejected(core, compact(JSON.stringify({ alg }), claimsJson(core), ''), 'TOKEN_MALFORMED')
      })

      it(`should return TOKEN_INVALID for alg "${alg}" with a junk signature`, function () {
        const core = newCore()
        for (const sig of ['AAAA', 'A'.repeat(43), 'RkFJTA']) {
          assertRejected(core, compact(headerJson(core, { alg }), claimsJson(core), sig), 'TOKEN_INVALID', sig)
        }
      })

      it(`should return TOKEN_INVALID for alg "${alg}" with a real HS256 signature`, function () {
        const core = newCore()
        assertRejected(core, token(core, { alg }), 'TOKEN_INVALID')
        assertRejected(core, signRaw(core, JSON.stringify({ alg }), claimsJson(core)), 'TOKEN_INVALID')
      })
    }

    it('should return TOKEN_MALFORMED for the RFC 7515 A.5 unsecured token', function () {
      const core = newCore({ fixedNow: 1300819379000 })
      const a5 = 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.'
      assertRejected(core, a5, 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_INVALID for the RFC 7515 A.5 header over our claims with a valid MAC', function () {
      const core = newCore()
      const t = signRaw(core, '{"alg":"none"}', claimsJson(core))
      assert.equal(segments(t)[0], 'eyJhbGciOiJub25lIn0')
      assertRejected(core, t, 'TOKEN_INVALID')
    })

    it('should reject the RFC 7515 Appendix E crit token', function () {
      const core = newCore()
      const e = 'eyJhbGciOiJub25lIiwNCiAiY3JpdCI6WyJodHRwOi8vZXhhbXBsZS5jb20vVU5ERUZJTkVEIl0sDQogImh0dHA6Ly9leGFtcGxlLmNvbS9VTkRFRklORUQiOnRydWUNCn0.RkFJTA.'
      assertRejected(core, e, 'TOKEN_MALFORMED')
      const header = '{"alg":"none",\r\n "crit":["http://example.com/UNDEFINED"],\r\n "http://example.com/UNDEFINED":true\r\n}'
      assert.equal(b64url(header), segments(e)[0])
      assertRejected(core, signRaw(core, header, claimsJson(core)), 'TOKEN_INVALID')
    })

    it('should return TOKEN_MALFORMED for a duplicate alg, HS256 then none', function () {
      const core = newCore()
      const header = '{"alg":"HS256","alg":"none"}'
      assert.equal(b64url(header), 'eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ')
      assertRejected(core, signRaw(core, header, claimsJson(core)), 'TOKEN_MALFORMED')
      assertRejected(core, compact(header, claimsJson(core), ''), 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_INVALID for algorithms off the allow-list', function () {
      const core = newCore()
      const algs = ['', ' ', 'HS256 ', ' HS256', 'hs256', 'Hs256', 'HS256\u0000', 'HS256\n', 'HS384', 'HS512',
        'RS256', 'PS256', 'ES256', 'ES384', 'ES512', 'Ed25519', 'EDDSA', 'eddsa', 'ＨＳ２５６']
      for (const alg of algs) {
        assertRejected(core, token(core, { alg }), 'TOKEN_INVALID', JSON.stringify(alg))
      }
    })

    it('should return TOKEN_MALFORMED for a missing or mistyped alg', function () {
      const core = newCore()
      assertRejected(core, signRaw(core, headerWithRaw(core, 'alg', undefined), claimsJson(core)), 'TOKEN_MALFORMED', 'missing')
      for (const raw of ['null', '123', 'true', 'false', '["HS256"]', '{"alg":"HS256"}', '256.0']) {
        assertRejected(core, signRaw(core, headerWithRaw(core, 'alg', raw), claimsJson(core)), 'TOKEN_MALFORMED', raw)
      }
    })
  })

  describe('when the public key is used as an HMAC secret (HS/EdDSA confusion)', function () {
    function publicKeyForms (core, kid) {
      const jwk = core.jwks().keys.find((k) => k.kid === kid)
      assert.ok(jwk, 'the key is published')
      const bare = { kty: jwk.kty, crv: jwk.crv, x: jwk.x }
      const pub = crypto.createPublicKey({ key: bare, format: 'jwk' })
      const pem = pub.export({ type: 'spki', format: 'pem' })
      const der = pub.export({ type: 'spki', format: 'der' })
      const raw = Buffer.from(jwk.x, 'base64url') // the public key, not a token
      const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b }
      const sshBlob = Buffer.concat([u32(11), Buffer.from('ssh-ed25519'), u32(raw.length), raw])
      return {
        'raw 32 bytes': raw,
        'x text': jwk.x,
        'x as standard base64': raw.toString('base64'),
        'hex text': raw.toString('hex'),
        PEM: pem,
        'PEM with leading newline': '\n' + pem,
        'PEM with leading space': ' ' + pem,
        'PEM with leading tab': '\t' + pem,
        'PEM without trailing newline': pem.trim(),
        'PEM with CRLF': pem.replace(/\n/g, '\r\n'),
        DER: der,
        'JWK JSON': JSON.stringify(jwk),
        'bare JWK JSON': JSON.stringify(bare),
        'JWK Set JSON': JSON.stringify(core.jwks()),
        'SSH public key': 'ssh-ed25519 ' + sshBlob.toString('base64'),
        'SSH public key with comment': 'ssh-ed25519 ' + sshBlob.toString('base64') + ' attacker@example\n',
        'empty key': ''
      }
    }

    it('should accept EdDSA tokens of the same fixture (valid control)', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      assertAccepted(core, core.signAccessToken({ userId: 'alice', session: 's' }).token)
      const t = token(core)
      assert.equal(JSON.parse(headerJson(core)).alg, 'EdDSA')
      assert.equal(assertAccepted(core, t).sub, 'alice')
    })

    it('should accept the same HS256 header and claims on an HS256 core (valid control)', function () {
      const core = newCore()
      assertAccepted(core, signRaw(core, headerJson(core, { alg: 'HS256' }), claimsJson(core)))
    })

    it('should return TOKEN_INVALID for alg HS256 keyed with the current public key in every form', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const kid = core.currentKid()
      const input = b64url(headerJson(core, { alg: 'HS256' })) + '.' + b64url(claimsJson(core))
      for (const [form, key] of Object.entries(publicKeyForms(core, kid))) {
        const forged = input + '.' + hmacSignature(key, input)
        assertRejected(core, forged, 'TOKEN_INVALID', form)
      }
    })

    it('should return TOKEN_INVALID for alg HS256 keyed with the announced next public key', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const next = core.keyRingInfo().keys.find((k) => k.state === 'next').kid
      const input = b64url(headerJson(core, { alg: 'HS256', kid: next })) + '.' + b64url(claimsJson(core))
      for (const [form, key] of Object.entries(publicKeyForms(core, next))) {
        assertRejected(core, input + '.' + hmacSignature(key, input), 'TOKEN_INVALID', form)
      }
    })

    it('should return TOKEN_INVALID for alg HS256 signed by the hook of an EdDSA core', function () {
      // The header says HS256 but the key is Ed25519: a valid Ed25519 signature of the
      // exact bytes must not pass as an HS256 MAC either.
      const core = newCore({ algorithm: 'EdDSA' })
      assertRejected(core, token(core, { alg: 'HS256' }), 'TOKEN_INVALID')
    })

    it('should return TOKEN_INVALID for alg EdDSA on an HS256 core, whatever the signature', function () {
      const core = newCore()
      const attacker = crypto.generateKeyPairSync('ed25519')
      const input = b64url(headerJson(core, { alg: 'EdDSA' })) + '.' + b64url(claimsJson(core))
      const edSig = crypto.sign(null, Buffer.from(input), attacker.privateKey).toString('base64url')
      assertRejected(core, input + '.' + edSig, 'TOKEN_INVALID', 'attacker Ed25519 signature')
      assertRejected(core, token(core, { alg: 'EdDSA' }), 'TOKEN_INVALID', 'our HMAC under an EdDSA header')
    })

    it('should return TOKEN_INVALID for an EdDSA token signed by another Ed25519 key', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const attacker = crypto.generateKeyPairSync('ed25519')
      const input = b64url(headerJson(core)) + '.' + b64url(claimsJson(core))
      const sig = crypto.sign(null, Buffer.from(input), attacker.privateKey).toString('base64url')
      assertRejected(core, input + '.' + sig, 'TOKEN_INVALID')
      assertRejected(core, input + '.' + 'A'.repeat(86), 'TOKEN_INVALID', 'all-zero signature')
    })

    it('should return TOKEN_INVALID for HS256 MACs under blank, common or app secrets', function () {
      const core = newCore()
      const input = b64url(headerJson(core)) + '.' + b64url(claimsJson(core))
      for (const key of ['', '\u0000', 'secret', 'your-256-bit-secret', '12345', 'password', 'tandem-session', SECRET, core.currentKid()]) {
        assertRejected(core, input + '.' + hmacSignature(key, input), 'TOKEN_INVALID', JSON.stringify(key))
      }
    })
  })

  describe('when the header carries keys, key URLs or extensions', function () {
    it('should accept unknown harmless header members (valid control)', function () {
      const core = newCore()
      assertAccepted(core, token(core, { foo: 'bar', nested: { a: [1, 2, { b: null }] } }))
    })

    it('should return TOKEN_INVALID for an embedded jwk, even signed by its private key', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const attacker = crypto.generateKeyPairSync('ed25519')
      const jwk = attacker.publicKey.export({ format: 'jwk' })
      for (const kid of [core.currentKid(), 'attacker-key', undefined]) {
        const input = b64url(headerJson(core, { jwk: { ...jwk, kid }, kid })) + '.' + b64url(claimsJson(core))
        const sig = crypto.sign(null, Buffer.from(input), attacker.privateKey).toString('base64url')
        assertRejected(core, input + '.' + sig, 'TOKEN_INVALID', 'kid ' + kid)
      }
      // And with our own valid signature: the member alone is refused.
      assertRejected(core, token(core, { jwk }), 'TOKEN_INVALID', 'jwk with a valid signature')
    })

    it('should return TOKEN_INVALID for every key-carrying member, with a valid signature', function () {
      const core = newCore()
      const cases = {
        jwk: { kty: 'oct', k: b64url('attacker') },
        jku: 'https://attacker.example/jwks.json',
        x5u: 'https://attacker.example/cert.pem',
        x5c: ['MIIBszCCAVmgAwIBAgIUQk'],
        x5t: 'dGh1bWJwcmludA',
        'x5t#S256': 'dGh1bWJwcmludC1zaGEyNTY'
      }
      for (const [name, value] of Object.entries(cases)) {
        assertRejected(core, token(core, { [name]: value }), 'TOKEN_INVALID', name)
        assertRejected(core, token(core, { [name]: null }), 'TOKEN_INVALID', name + ': null')
      }
    })

    it('should return TOKEN_INVALID for jku and x5u pointing inside, and open no connection', async function () {
      const core = newCore()
      let connections = 0
      const server = net.createServer((socket) => { connections++; socket.destroy() })
      await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
      try {
        const { port } = server.address()
        for (const url of [`http://127.0.0.1:${port}/jwks.json`, `http://localhost:${port}/`, 'http://169.254.169.254/latest/meta-data/', 'file:///etc/passwd']) {
          assertRejected(core, token(core, { jku: url }), 'TOKEN_INVALID', 'jku ' + url)
          assertRejected(core, token(core, { x5u: url }), 'TOKEN_INVALID', 'x5u ' + url)
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
        assert.equal(connections, 0)
      } finally {
        server.close()
      }
    })

    it('should return TOKEN_INVALID for crit in every form', function () {
      const core = newCore()
      for (const raw of ['[]', '["alg"]', '"x"', '["exp"]', '["http://example.com/UNDEFINED"]', '["b64"]', 'null', '{}', '["kid","kid"]']) {
        assertRejected(core, signRaw(core, headerWithRaw(core, 'crit', raw), claimsJson(core)), 'TOKEN_INVALID', raw)
      }
    })

    it('should return TOKEN_INVALID for nested, unencoded and JWE header members', function () {
      const core = newCore()
      assertRejected(core, token(core, { cty: 'JWT' }), 'TOKEN_INVALID', 'cty')
      assertRejected(core, token(core, { b64: false, crit: ['b64'] }), 'TOKEN_INVALID', 'b64 + crit')
      assertRejected(core, token(core, { b64: false }), 'TOKEN_INVALID', 'b64')
      assertRejected(core, token(core, { enc: 'A256GCM' }), 'TOKEN_INVALID', 'enc')
      assertRejected(core, token(core, { zip: 'DEF' }), 'TOKEN_INVALID', 'zip')
    })

    it('should return TOKEN_INVALID for a typ other than at+jwt', function () {
      const core = newCore()
      assertRejected(core, token(core, { typ: undefined }), 'TOKEN_INVALID', 'missing')
      for (const typ of ['JWT', 'jwt', 'dpop+jwt', 'logout+jwt', 'application/jwt', 'at+jwt ', ' at+jwt', 'at+jw', 'application/at+jwt/x', 'x/at+jwt', '']) {
        assertRejected(core, token(core, { typ }), 'TOKEN_INVALID', JSON.stringify(typ))
      }
      assertRejected(core, signRaw(core, headerWithRaw(core, 'typ', '1'), claimsJson(core)), 'TOKEN_MALFORMED', 'typ 1')
    })

    it('should accept at+jwt spelled as a media type (valid control)', function () {
      const core = newCore()
      for (const typ of ['at+jwt', 'AT+JWT', 'At+Jwt', 'application/at+jwt', 'APPLICATION/AT+JWT']) {
        assertAccepted(core, token(core, { typ }), typ)
      }
    })
  })

  describe('when the kid is odd', function () {
    it('should accept the real kid, also when spelled with JSON escapes (valid control)', function () {
      const core = newCore()
      const kid = core.currentKid()
      assertAccepted(core, token(core, { kid }))
      const escaped = '"' + Array.from(kid, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0')).join('') + '"'
      assertAccepted(core, signRaw(core, headerWithRaw(core, 'kid', escaped), claimsJson(core)), 'escaped kid')
    })

    it('should return KEY_UNKNOWN, quickly, for kids that name no key (paths, SQL, shell, look-alikes)', function () {
      const core = newCore()
      const kid = core.currentKid()
      const swapLast = kid.slice(0, -1) + (kid.endsWith('A') ? 'B' : 'A')
      const kids = [
        'AAAAAAAAAAAAAAAA',
        '',
        ' ',
        '../../../../../../dev/null',
        '/dev/null',
        '..\\..\\..\\windows\\win.ini',
        "x' UNION SELECT '1';--",
        "' OR '1'='1",
        '|sleep 10',
        '| curl http://127.0.0.1:9/',
        '$(sleep 10)',
        '`sleep 10`',
        'http://127.0.0.1/key',
        '*',
        '%',
        kid + ' ',
        ' ' + kid,
        kid + '\u0000',
        kid.toLowerCase() === kid ? kid.toUpperCase() : kid.toLowerCase(),
        swapLast,
        kid.slice(0, -1) + '\uff21', // fullwidth look-alike
        kid.slice(0, -1) + '\u0410', // Cyrillic A
        kid.slice(1),
        kid + kid,
        'k'.repeat(64)
      ].filter((k) => k !== kid)
      for (const k of kids) {
        const started = process.hrtime.bigint()
        assertRejected(core, token(core, { kid: k }), 'KEY_UNKNOWN', JSON.stringify(k))
        const ms = Number(process.hrtime.bigint() - started) / 1e6
        assert.ok(ms < 1000, `kid ${JSON.stringify(k)} took ${ms} ms`)
      }
    })

    it('should return TOKEN_MALFORMED for a kid that is not a short string', function () {
      const core = newCore()
      for (const raw of ['1', '0', 'null', 'true', '{}', '[]', '["' + core.currentKid() + '"]', '{"kid":"x"}', JSON.stringify('k'.repeat(65))]) {
        assertRejected(core, signRaw(core, headerWithRaw(core, 'kid', raw), claimsJson(core)), 'TOKEN_MALFORMED', raw.slice(0, 20))
      }
    })

    it('should return TOKEN_MALFORMED for a 10 KiB kid', function () {
      const core = newCore()
      assertRejected(core, token(core, { kid: 'k'.repeat(10 * 1024) }), 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_INVALID for a missing kid', function () {
      const core = newCore()
      assertRejected(core, token(core, { kid: undefined }), 'TOKEN_INVALID')
    })

    it('should return TOKEN_INVALID for the kid of another key of the ring', function () {
      const core = newCore()
      const next = core.keyRingInfo().keys.find((k) => k.state === 'next').kid
      assertRejected(core, token(core, { kid: next }), 'TOKEN_INVALID')
    })
  })

  describe('when exp, nbf or iat are mistyped or on a boundary', function () {
    const now = T0 / 1000

    it('should accept the fixture with exact boundaries (valid control)', function () {
      const core = newCore({ leeway: 0 })
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { exp: now + 1, nbf: now, iat: now })))
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: undefined })), 'without nbf')
    })

    it('should return TOKEN_MALFORMED for a missing exp or iat', function () {
      const core = newCore()
      assertRejected(core, signRaw(core, headerJson(core), claimsWithRaw(core, 'exp', undefined)), 'TOKEN_MALFORMED', 'exp')
      assertRejected(core, signRaw(core, headerJson(core), claimsWithRaw(core, 'iat', undefined)), 'TOKEN_MALFORMED', 'iat')
    })

    it('should return TOKEN_MALFORMED for an exp, nbf or iat that is not a finite number', function () {
      const core = newCore()
      const raws = ['"9999999999"', `"${now + 900}"`, 'null', 'true', 'false', '{}', '[]', `[${now + 900}]`,
        '1e400', '-1e400', 'NaN', 'Infinity', '-Infinity', '0x7fffffff', `${now + 900}n`, '+1', '.5', '01']
      for (const name of ['exp', 'nbf', 'iat']) {
        for (const raw of raws) {
          const t = signRaw(core, headerJson(core), claimsWithRaw(core, name, raw))
          assertRejected(core, t, 'TOKEN_MALFORMED', `${name}: ${raw}`)
        }
      }
    })

    it('should not read look-alike names as exp', function () {
      const core = newCore()
      for (const name of ['Exp', 'EXP', 'ｅｘｐ', 'exp\u0000', 'exp ', ' exp']) {
        const c = claims(core, { exp: undefined, [name]: now + 900 })
        assertRejected(core, signRaw(core, headerJson(core), JSON.stringify(c)), 'TOKEN_MALFORMED', JSON.stringify(name))
      }
    })

    it('should return TOKEN_EXPIRED for exp in the past, at now, or negative (leeway 0)', function () {
      const core = newCore({ leeway: 0 })
      for (const exp of [now, now - 1, now - 0.001, 0, -1, -1e300, 1300819380]) {
        assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { exp, iat: Math.min(now, exp) })), 'TOKEN_EXPIRED', String(exp))
      }
    })

    it('should compare a fractional exp numerically', function () {
      const core = newCore({ leeway: 0 })
      const t = signRaw(core, headerJson(core), claimsJson(core, { exp: now + 0.5 }))
      assert.equal(assertAccepted(core, t).exp, now + 0.5)
      core.setNow(T0 + 499)
      assert.equal(core.verifyAccessToken(t).sub, 'alice')
      core.setNow(T0 + 500)
      assertRejected(core, t, 'TOKEN_EXPIRED')
    })

    it('should apply the leeway to exp: exp + leeway - 1 passes, exp + leeway fails', function () {
      const core = newCore({ leeway: 5_000 })
      // Issued 10 minutes ago: a token issued after its exp is refused for that (below).
      const issued = { iat: now - 600, nbf: now - 600 }
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { ...issued, exp: now - 4 })))
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { ...issued, exp: now - 5 })), 'TOKEN_EXPIRED')
    })

    it('should return TOKEN_NOT_YET_VALID for nbf beyond the leeway, and accept it at the edge', function () {
      const core = newCore({ leeway: 5_000 })
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now + 5 })), 'nbf = now + leeway')
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now - 5 })), 'nbf = now - leeway')
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now + 6 })), 'TOKEN_NOT_YET_VALID')
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now + 5.001 })), 'TOKEN_NOT_YET_VALID')
      // Valid only after it expires: no token of ours (issue 17, point 7).
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: 9e15 })), 'TOKEN_INVALID')
    })

    it('should return TOKEN_INVALID for an iat or nbf after exp, even with exp inside the leeway', function () {
      const core = newCore({ leeway: 5_000 })
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { iat: now + 2, nbf: now + 2, exp: now + 2 })), 'iat = nbf = exp')
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { iat: now + 3, nbf: now, exp: now + 2 })), 'TOKEN_INVALID')
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now + 3, exp: now + 2 })), 'TOKEN_INVALID')
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { iat: now + 1, nbf: now + 1, exp: now - 4 })), 'TOKEN_INVALID')
    })

    it('should return TOKEN_NOT_YET_VALID for nbf in the future with leeway 0', function () {
      const core = newCore({ leeway: 0 })
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now })))
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { nbf: now + 1 })), 'TOKEN_NOT_YET_VALID')
    })

    it('should return TOKEN_NOT_YET_VALID for iat in the future beyond the leeway', function () {
      const core = newCore({ leeway: 5_000 })
      assertAccepted(core, signRaw(core, headerJson(core), claimsJson(core, { iat: now + 5, nbf: undefined })))
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core, { iat: now + 120, nbf: undefined })), 'TOKEN_NOT_YET_VALID')
    })

    it('should return TOKEN_MALFORMED for a mistyped nbf even when exp has passed', function () {
      // A mistyped claim is never "absent" and never outranked by the clock.
      const core = newCore()
      const t = signRaw(core, headerJson(core), claimsWithRaw(core, 'nbf', '"0"').replace(`"exp":${now + 900}`, '"exp":1'))
      assertRejected(core, t, 'TOKEN_MALFORMED')
    })
  })

  describe('when members are duplicated, also behind escapes', function () {
    it('should accept escaped names that are not duplicates (valid control)', function () {
      const core = newCore()
      const c = claimsJson(core).replace('"sub":', '"\\u0073ub":').replace('"exp":', '"\\u0065\\u0078\\u0070":')
      assert.match(c, /\\u0073ub/)
      const verified = assertAccepted(core, signRaw(core, headerJson(core), c))
      assert.equal(verified.sub, 'alice')
      assert.equal(verified.exp, T0 / 1000 + 900)
      const h = headerJson(core).replace('"alg":', '"\\u0061lg":')
      assertAccepted(core, signRaw(core, h, claimsJson(core)), 'escaped alg')
    })

    it('should return TOKEN_MALFORMED for duplicate claims, also escaped, with a valid signature', function () {
      const core = newCore()
      const now = T0 / 1000
      const base = claimsJson(core)
      const inject = (extra) => base.replace(/}$/, ',' + extra + '}')
      const cases = {
        'sub twice': inject('"sub":"admin"'),
        'sub then escaped sub': inject('"\\u0073ub":"admin"'),
        'sub fully escaped': inject('"\\u0073\\u0075\\u0062":"admin"'),
        'exp past and future': inject(`"exp":${now - 1000}`),
        'exp future after past': base.replace(`"exp":${now + 900}`, `"exp":${now - 1000}`).replace(/}$/, `,"exp":${now + 900}}`),
        'iss twice': inject('"iss":"evil"'),
        'aud twice': inject(`"aud":"${AUD}"`),
        'sid twice': inject('"sid":"other"'),
        'dv twice': inject('"dv":0'),
        'app claim twice': inject('"role":"user","role":"admin"'),
        'app claim escaped twice': inject('"role":"user","\\u0072ole":"admin"'),
        'nested duplicate': inject('"perm":{"a":1,"a":2}'),
        'deeply nested duplicate': inject('"perm":{"x":[{"y":{"d":1,"\\u0064":2}}]}')
      }
      for (const [label, payload] of Object.entries(cases)) {
        assertRejected(core, signRaw(core, headerJson(core), payload), 'TOKEN_MALFORMED', label)
      }
    })

    it('should return TOKEN_MALFORMED for duplicate header members, also escaped', function () {
      const core = newCore()
      const kid = core.currentKid()
      const base = headerJson(core)
      const inject = (extra) => base.replace(/}$/, ',' + extra + '}')
      const cases = {
        'alg HS256 then none': '{"alg":"HS256","alg":"none"}',
        'alg twice, same value': inject('"alg":"HS256"'),
        'alg escaped': inject('"\\u0061lg":"HS256"'),
        'typ twice': inject('"typ":"at+jwt"'),
        'kid twice': inject(`"kid":"${kid}"`),
        'kid escaped twice': inject(`"\\u006bid":"${kid}"`),
        'unknown member twice': inject('"foo":1,"foo":2')
      }
      for (const [label, header] of Object.entries(cases)) {
        assertRejected(core, signRaw(core, header, claimsJson(core)), 'TOKEN_MALFORMED', label)
      }
    })
  })

  describe('when the JSON itself is odd', function () {
    it('should accept JSON whitespace between members (valid control)', function () {
      const core = newCore()
      const c = claimsJson(core).replace(/,/g, ',\r\n\t ').replace('{', '{ \n')
      const h = headerJson(core).replace(/,/g, ' ,\t')
      assertAccepted(core, signRaw(core, h, c))
    })

    it('should return TOKEN_MALFORMED for JSON that RFC 8259 refuses, validly signed', function () {
      const core = newCore()
      const good = claimsJson(core)
      const cases = {
        BOM: '\ufeff' + good,
        'trailing data': good + ' x',
        'two objects': good + good,
        comment: good.replace('{', '{/*c*/'),
        'trailing comma': good.replace(/}$/, ',}'),
        'single quotes': good.replace('"sub":"alice"', "'sub':'alice'"),
        'top-level array': '[' + good + ']',
        'top-level string': JSON.stringify(good),
        'top-level number': '1',
        empty: '',
        'NaN app claim': good.replace(/}$/, ',"x":NaN}'),
        'lone surrogate escape': good.replace(/}$/, ',"x":"\\ud800"}'),
        'unescaped control char': good.replace('"alice"', '"ali\u0001ce"'),
        'unquoted name': good.replace('"sub"', 'sub')
      }
      for (const [label, payload] of Object.entries(cases)) {
        assertRejected(core, signRaw(core, headerJson(core), payload), 'TOKEN_MALFORMED', label)
      }
      assertRejected(core, signRaw(core, '\ufeff' + headerJson(core), good), 'TOKEN_MALFORMED', 'header BOM')
      assertRejected(core, signRaw(core, headerJson(core) + 'x', good), 'TOKEN_MALFORMED', 'header trailing data')
    })

    it('should return TOKEN_MALFORMED for UTF-16 encoded JSON', function () {
      const core = newCore()
      const input = Buffer.from(headerJson(core), 'utf16le').toString('base64url') + '.' + b64url(claimsJson(core))
      // The header is parsed before the signature is checked, so a junk MAC is enough.
      assertRejected(core, input + '.' + 'A'.repeat(43), 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_MALFORMED for mistyped registered claims', function () {
      const core = newCore()
      const cases = {
        sub: ['1', 'null', '["alice"]', JSON.stringify('s'.repeat(257))],
        sid: ['1', 'null', '{}'],
        jti: ['1', 'null'],
        iss: ['1', 'null', '["tandem-session"]'],
        aud: ['1', 'null', '[]', '[123]', '{"a":1}', JSON.stringify(Array(17).fill(AUD))],
        dv: ['-1', '1.5', '"0"', 'null', '1e400']
      }
      for (const [name, raws] of Object.entries(cases)) {
        for (const raw of raws) {
          assertRejected(core, signRaw(core, headerJson(core), claimsWithRaw(core, name, raw)), 'TOKEN_MALFORMED', `${name}: ${raw.slice(0, 20)}`)
        }
      }
    })

    it('should return TOKEN_INVALID for an empty sub, sid or jti', function () {
      const core = newCore()
      for (const name of ['sub', 'sid', 'jti']) {
        assertRejected(core, token(core, {}, { [name]: '' }), 'TOKEN_INVALID', name)
      }
    })

    it('should return TOKEN_MALFORMED for a missing sub, sid, jti or dv', function () {
      const core = newCore()
      for (const name of ['sub', 'sid', 'jti', 'dv']) {
        assertRejected(core, signRaw(core, headerJson(core), claimsWithRaw(core, name, undefined)), 'TOKEN_MALFORMED', name)
      }
    })

    it('should return TOKEN_INVALID for a wrong issuer or audience, and accept ours among others', function () {
      const core = newCore()
      for (const iss of ['', ISS + '/', ISS.toUpperCase(), ' ' + ISS, 'evil']) {
        assertRejected(core, token(core, {}, { iss }), 'TOKEN_INVALID', 'iss ' + JSON.stringify(iss))
      }
      for (const aud of ['', 'other', ['other'], [AUD.toUpperCase()], [AUD + ' ']]) {
        assertRejected(core, token(core, {}, { aud }), 'TOKEN_INVALID', 'aud ' + JSON.stringify(aud))
      }
      assertAccepted(core, token(core, {}, { aud: ['other', AUD] }))
      assertRejected(core, signRaw(core, headerJson(core), claimsWithRaw(core, 'iss', undefined)), 'TOKEN_MALFORMED', 'no iss')
      assertRejected(core, signRaw(core, headerJson(core), claimsWithRaw(core, 'aud', undefined)), 'TOKEN_MALFORMED', 'no aud')
    })
  })

  describe('when the token has many dots or the wrong shape', function () {
    it('should accept a well-shaped token (valid control)', function () {
      const core = newCore()
      assertAccepted(core, token(core))
    })

    it('should return TOKEN_MALFORMED for 100,000 dots, fast, by every route', function () {
      const core = newCore()
      const dots = '.'.repeat(100_000)
      const started = process.hrtime.bigint()
      for (let i = 0; i < 100; i++) {
        throwsCode(() => core.verifyAccessToken(dots), 'TOKEN_MALFORMED')
        assert.deepEqual(core.verifyRequest('__Host-at=' + dots, undefined), { ok: false, code: 'TOKEN_MALFORMED' })
        assert.deepEqual(core.verifyRequest(undefined, 'Bearer ' + dots), { ok: false, code: 'TOKEN_MALFORMED' })
      }
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      assert.ok(ms < 5000, `300 rejections took ${ms} ms`)
    })

    it('should return TOKEN_MALFORMED for dots under every length limit', function () {
      const core = newCore()
      assertRejected(core, '.'.repeat(8000), 'TOKEN_MALFORMED', '8,000 dots')
      const roomy = newCore({ maxTokenLength: 65_536 })
      throwsCode(() => roomy.verifyAccessToken('.'.repeat(60_000)), 'TOKEN_MALFORMED')
      throwsCode(() => roomy.verifyAccessToken('a.b.c' + '.'.repeat(60_000)), 'TOKEN_MALFORMED')
      throwsCode(() => roomy.verifyAccessToken('a'.repeat(30_000) + '.'.repeat(30_000)), 'TOKEN_MALFORMED')
      const t = token(core)
      assertRejected(core, t + '.'.repeat(1000), 'TOKEN_MALFORMED', 'valid token + 1,000 dots')
    })

    it('should return TOKEN_MALFORMED for every wrong segment count or empty segment', function () {
      const core = newCore()
      const t = token(core)
      const [h, p, s] = segments(t)
      const shapes = {
        'one segment': h,
        'two segments': h + '.' + p,
        'four segments': t + '.' + s,
        'JWE, five segments': [h, p, s, s, s].join('.'),
        'six segments': [h, p, s, s, s, s].join('.'),
        'empty header': '.' + p + '.' + s,
        'empty payload': h + '..' + s,
        'empty signature': h + '.' + p + '.',
        'leading dot': '.' + t,
        'trailing dot': t + '.',
        'double dot': h + '..' + p + '.' + s,
        'only dots': '..',
        empty: '',
        'JSON serialization': JSON.stringify({ payload: p, protected: h, signature: s }),
        polyglot: t + '{"payload":"' + p + '"}'
      }
      for (const [label, bad] of Object.entries(shapes)) {
        throwsCode(() => core.verifyAccessToken(bad), 'TOKEN_MALFORMED', label)
        assert.deepEqual(core.verifyRequest(undefined, 'Bearer ' + bad).ok, false, label)
      }
      assertAccepted(core, t, 'the original still verifies')
    })
  })

  describe('when the token is oversized', function () {
    it('should accept a token exactly at maxTokenLength (valid control) and refuse one byte more', function () {
      const subject = (n) => ({ userId: 'alice', session: 's', claims: { pad: 'x'.repeat(n) } })
      const length = newCore().signAccessToken(subject(700)).token.length
      const core = newCore({ maxTokenLength: length })
      const atLimit = core.signAccessToken(subject(700)).token
      assert.equal(atLimit.length, length)
      assertAccepted(core, atLimit)
      // Signing refuses what verifying would refuse; a longer token (from a core with
      // the default limit) is refused on its length, before its signature is looked at.
      throwsCode(() => core.signAccessToken(subject(701)), 'TOKEN_MALFORMED')
      const over = newCore().signAccessToken(subject(701)).token
      assert.ok(over.length > length)
      assertRejected(core, over, 'TOKEN_MALFORMED')
    })

    it('should check the length before the signature', function () {
      const core = newCore()
      const t = token(core)
      // The same corruption, a longer signature, is TOKEN_INVALID under the limit and
      // TOKEN_MALFORMED over it.
      assertRejected(core, t + 'AAAA', 'TOKEN_INVALID', 'under the limit')
      assertRejected(core, t + 'A'.repeat(8192 - t.length + 1), 'TOKEN_MALFORMED', 'over the limit')
      assertRejected(core, 'a'.repeat(8193), 'TOKEN_MALFORMED', '8,193 letters')
    })

    it('should return TOKEN_MALFORMED for a 1 MiB header or cookie', function () {
      const core = newCore()
      const big = 'a'.repeat(1024 * 1024)
      assert.deepEqual(core.verifyRequest(undefined, 'Bearer ' + big), { ok: false, code: 'TOKEN_MALFORMED' })
      assert.deepEqual(core.verifyRequest('__Host-at=' + big, undefined), { ok: false, code: 'TOKEN_MALFORMED' })
      assert.deepEqual(core.verifyRequest('x=' + big + '; __Host-at=' + token(core), undefined), { ok: false, code: 'TOKEN_MALFORMED' })
      throwsCode(() => core.verifyAccessToken(big), 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_MALFORMED for a header over 1 KiB, validly signed', function () {
      const core = newCore()
      assertAccepted(core, token(core, { pad: 'p'.repeat(900) }), 'a 900-byte pad is fine')
      assertRejected(core, token(core, { pad: 'p'.repeat(1100) }), 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_MALFORMED for a payload over 6 KiB, validly signed, whatever the length limit', function () {
      const core = newCore({ maxTokenLength: 65_536 })
      assertAccepted(core, token(core, {}, { pad: 'p'.repeat(5000) }), 'a 5,000-byte pad is fine')
      assertRejected(core, token(core, {}, { pad: 'p'.repeat(7000) }), 'TOKEN_MALFORMED')
    })

    it('should return TOKEN_MALFORMED for deep nesting and too many members, validly signed', function () {
      const core = newCore({ maxTokenLength: 65_536 })
      const deep = '['.repeat(2500) + ']'.repeat(2500)
      assertRejected(core, signRaw(core, headerJson(core), claimsJson(core).replace(/}$/, ',"deep":' + deep + '}')), 'TOKEN_MALFORMED', 'deep')
      const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => ['m' + i, 0]))
      assertRejected(core, token(core, {}, { many }), 'TOKEN_MALFORMED', '257 members')
      const list = Array(257).fill(0)
      assertRejected(core, token(core, {}, { list }), 'TOKEN_MALFORMED', '257 items')
      const fine = Object.fromEntries(Array.from({ length: 200 }, (_, i) => ['m' + i, 0]))
      assertAccepted(core, token(core, {}, { fine }), '200 members are fine')
    })
  })

  describe('when a signature has twins (KAT-05) in a cookie or a Bearer header', function () {
    /** An A.1-shaped token of ours: CR LF and a space inside both JSON texts. */
    function a1Shaped (core, predicate) {
      for (let i = 0; i < 200; i++) {
        const now = Math.floor(core.now() / 1000)
        const header = `{"typ":"at+jwt",\r\n "alg":"${core.keyRingInfo().algorithm}",\r\n "kid":"${core.currentKid()}"}`
        const payload = `{"iss":"${ISS}",\r\n "sub":"alice",\r\n "aud":"${AUD}",\r\n "exp":${now + 900},\r\n ` +
          `"iat":${now},\r\n "jti":"jti-${i}",\r\n "sid":"session-1",\r\n "dv":0,\r\n "http://example.com/is_root":true}`
        const t = signRaw(core, header, payload)
        if (!predicate || predicate(segments(t)[2])) return t
      }
      throw new Error('no fixture token matched')
    }

    function twins (sig, bits) {
      const out = {}
      lastCharTwins(sig, bits).forEach((t, i) => { out['last char twin ' + (i + 1) + ' (…' + t.slice(-3) + ')'] = t })
      out['standard alphabet'] = sig.replace(/-/g, '+').replace(/_/g, '/')
      out.padded = sig + '='.repeat((4 - (sig.length % 4)) % 4)
      out['padded twice'] = sig + '=='
      out['with a space'] = sig.slice(0, 4) + ' ' + sig.slice(4)
      out['with a junk char'] = sig.slice(0, 4) + '*' + sig.slice(4)
      out['with a tab'] = sig.slice(0, 4) + '\t' + sig.slice(4)
      return out
    }

    function assertTwinsRejected (core, t, bits) {
      const sig = segments(t)[2]
      const all = twins(sig, bits)
      assert.equal(Object.keys(all).length, ((1 << bits) - 1) + 6)
      for (const [label, twin] of Object.entries(all)) {
        assert.notEqual(twin, sig, label)
        const bad = withSignature(t, twin)
        throwsCode(() => core.verifyAccessToken(bad), 'TOKEN_MALFORMED', label)
        assert.deepEqual(core.verifyRequest('__Host-at=' + bad, undefined), { ok: false, code: 'TOKEN_MALFORMED' }, label + ' (cookie)')
        assert.deepEqual(core.verifyRequest(undefined, 'Bearer ' + bad), { ok: false, code: 'TOKEN_MALFORMED' }, label + ' (Bearer)')
      }
      // Failed attempts change nothing: the original still verifies.
      assertAccepted(core, t, 'original after the twins')
    }

    it('should accept the A.1-shaped HS256 token (valid control)', function () {
      const core = newCore()
      const t = a1Shaped(core)
      const c = assertAccepted(core, t)
      assert.equal(c.claims['http://example.com/is_root'], true)
      assert.equal(segments(t)[2].length, 43)
    })

    it('should return TOKEN_MALFORMED for every twin of an HS256 signature', function () {
      const core = newCore()
      const t = a1Shaped(core, (sig) => /[-_]/.test(sig))
      assertTwinsRejected(core, t, 2)
    })

    it('should return TOKEN_MALFORMED for every twin of an EdDSA signature', function () {
      const core = newCore({ algorithm: 'EdDSA' })
      const t = a1Shaped(core, (sig) => /[-_]/.test(sig))
      assert.equal(segments(t)[2].length, 86)
      assertAccepted(core, t, 'EdDSA control')
      assertTwinsRejected(core, t, 4)
    })

    it('should return TOKEN_MALFORMED for twins of the header and payload segments', function () {
      const core = newCore()
      let t
      for (let pad = 0; pad < 3 && !t; pad++) {
        const candidate = signRaw(core, headerJson(core) + ' '.repeat(pad), claimsJson(core))
        const [h, p] = segments(candidate)
        if (unusedBits(h) && unusedBits(p)) t = candidate
        for (let more = 1; more < 3 && !t; more++) {
          const c2 = signRaw(core, headerJson(core) + ' '.repeat(pad), claimsJson(core) + ' '.repeat(more))
          const [h2, p2] = segments(c2)
          if (unusedBits(h2) && unusedBits(p2)) t = c2
        }
      }
      assert.ok(t, 'a fixture with unused bits in both segments')
      assertAccepted(core, t)
      const [h, p, s] = segments(t)
      for (const twin of lastCharTwins(h, unusedBits(h))) {
        assertRejected(core, [twin, p, s].join('.'), 'TOKEN_MALFORMED', 'header twin')
      }
      for (const twin of lastCharTwins(p, unusedBits(p))) {
        // The MAC covers the text, so the twin fails the MAC first or the strict decoder.
        const bad = [h, twin, s].join('.')
        throwsCode(() => core.verifyAccessToken(bad), 'TOKEN_INVALID', 'payload twin')
      }
      assertRejected(core, [h + '=', p, s].join('.'), 'TOKEN_MALFORMED', 'padded header')
    })

    it('should reject the RFC 7515 A.1 token and its published twins', function () {
      const core = newCore({ fixedNow: 1300819379000 })
      const a1 = 'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'
      // Not our token: typ JWT and no kid, so TOKEN_INVALID before any signature work.
      assertRejected(core, a1, 'TOKEN_INVALID', 'A.1')
      for (const sig of ['dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXm', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXn']) {
        assertRejected(core, withSignature(a1, sig), 'TOKEN_INVALID', sig)
      }
      for (const sig of ['dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk=', 'dBjf tJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'dBjf*tJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk']) {
        const bad = withSignature(a1, sig)
        throwsCode(() => core.verifyAccessToken(bad), 'TOKEN_MALFORMED', sig)
        assert.deepEqual(core.verifyRequest('__Host-at=' + bad, undefined), { ok: false, code: 'TOKEN_MALFORMED' }, sig + ' (cookie)')
        assert.deepEqual(core.verifyRequest(undefined, 'Bearer ' + bad), { ok: false, code: 'TOKEN_MALFORMED' }, sig + ' (Bearer)')
      }
    })
  })
})
