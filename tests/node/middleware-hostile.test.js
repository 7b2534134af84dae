'use strict'

// Hostile input over HTTP, on Express 5 and 4: malformed, oversized, duplicated,
// percent-encoded and non-ASCII cookies and Authorization headers, and garbage refresh
// tokens. Every answer is a 400 or 401 with a stable JSON code (or an anonymous 200 when
// there is no token to judge), never a 500, and the server keeps serving.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, REFRESH, REFRESH_PATH,
  assertCode, assertOk, eachExpress, login, shouldClearCookies, useApp
} = require('./support/apps.js')

/** Every byte of `s` percent-encoded. */
function percentEncodeAll (s) {
  return Array.from(Buffer.from(s), (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')
}

/** UTF-8 bytes of `s` as a latin1 string, i.e. what goes on the wire byte for byte. */
function utf8Bytes (s) {
  return Buffer.from(s, 'utf8').toString('latin1')
}

/** Flip one character in the middle of a token. */
function flip (token) {
  const i = Math.floor(token.length / 2)
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
}

/** Assert a refusal: one of `statuses`, a JSON body with an upper-case code; returns the code. */
function assertRefused (res, statuses, what) {
  assert.ok(statuses.includes(res.status), `${what}: status ${res.status} ${res.text.slice(0, 200)}`)
  assert.match(String(res.json?.code), /^[A-Z][A-Z_]+$/, `${what}: JSON code, got ${res.text.slice(0, 200)}`)
  return res.json.code
}

async function realTokens (app) {
  const c = app.client()
  await login(c, 'alice')
  return { c, access: c.jar.get(ACCESS).value, refresh: c.jar.get(REFRESH).value }
}

eachExpress(function (express) {
  describe('when the access cookie is hostile', function () {
    it('should answer 401 UNAUTHORISED for malformed, forged, oversized, encoded and non-ASCII values', async function (t) {
      const app = await useApp(t, express)
      const { access } = await realTokens(app)
      const cases = {
        garbage: 'garbage',
        'three dots': 'a.b.c',
        'forged signature': flip(access),
        'alg none': access.split('.').slice(0, 2).join('.') + '.',
        'oversized (20 kB)': 'A'.repeat(20 * 1024),
        'oversized JWT-shaped': access + 'A'.repeat(20 * 1024),
        'percent-encoded real token': percentEncodeAll(access),
        'non-ASCII (UTF-8 bytes)': utf8Bytes('tökén.ünïcødé.🍪'),
        'non-ASCII (latin1 bytes)': 'caf\xe9.\xff\xfe.x',
        'quoted real token': '"' + access + '"',
        'real token with a trailing space-separated extra': access + ' x'
      }
      for (const [what, value] of Object.entries(cases)) {
        const r = await app.client().raw('GET', '/me', [['Cookie', `${ACCESS}=${value}`], ['Accept', 'application/json']])
        assertCode(r, 401, 'UNAUTHORISED', what)
        shouldClearCookies(r, { [ACCESS]: '/' })
      }
      assertOk(await app.client().get('/plain'), 'still serving')
    })

    it('should answer 400 CREDENTIALS_AMBIGUOUS for the same cookie name twice', async function (t) {
      const app = await useApp(t, express)
      const { access } = await realTokens(app)
      const other = (await realTokens(app)).access
      const cases = {
        'same token twice': `${ACCESS}=${access}; ${ACCESS}=${access}`,
        'two real tokens': `${ACCESS}=${access}; ${ACCESS}=${other}`,
        'real and garbage': `${ACCESS}=${access}; x=1; ${ACCESS}=garbage`,
        'garbage and real': `${ACCESS}=garbage;${ACCESS}=${access}`
      }
      for (const [what, cookie] of Object.entries(cases)) {
        const r = await app.client().raw('GET', '/me', [['Cookie', cookie]])
        assertCode(r, 400, 'CREDENTIALS_AMBIGUOUS', what)
        shouldClearCookies(r, { [ACCESS]: '/' })
      }
      const twoHeaders = await app.client().raw('GET', '/me', [['Cookie', `${ACCESS}=${access}`], ['Cookie', `${ACCESS}=${other}`]])
      assertCode(twoHeaders, 400, 'CREDENTIALS_AMBIGUOUS', 'two Cookie headers')
    })

    it('should neither crash nor log anyone in on odd Cookie syntax', async function (t) {
      const app = await useApp(t, express)
      const cookies = [';;;', '=', ACCESS, `${ACCESS}=`, `=${ACCESS}`, `${ACCESS}==`, ' ; = ; ', 'a=b=c; d',
        `${ACCESS.toUpperCase()}=x`, `${ACCESS}%00=x`, 'x'.repeat(30 * 1024), `${ACCESS} =x`]
      for (const cookie of cookies) {
        const r = await app.client().raw('GET', '/me', [['Cookie', cookie]])
        assert.notEqual(r.status, 500, `Cookie: ${cookie.slice(0, 40)}`)
        if (r.status === 200) assert.equal(r.json.userId, null, `Cookie: ${cookie.slice(0, 40)} is anonymous`)
        else assertRefused(r, [400, 401], `Cookie: ${cookie.slice(0, 40)}`)
      }
      assertOk(await app.client().get('/plain'), 'still serving')
    })
  })

  describe('when the Authorization header is hostile', function () {
    it('should refuse bad Bearer tokens with 401 and a code, never 500', async function (t) {
      const app = await useApp(t, express)
      const { access } = await realTokens(app)
      const cases = {
        garbage: 'Bearer garbage',
        'empty token': 'Bearer ',
        'forged signature': 'Bearer ' + flip(access),
        oversized: 'Bearer ' + 'A'.repeat(20 * 1024),
        'percent-encoded': 'Bearer ' + percentEncodeAll(access),
        'non-ASCII': 'Bearer ' + utf8Bytes('ü.ñ.é'),
        'two tokens': 'Bearer ' + access + ' ' + access,
        'comma list': 'Bearer ' + access + ', Bearer ' + access
      }
      for (const [what, value] of Object.entries(cases)) {
        const r = await app.client().raw('GET', '/me', [['Authorization', value]])
        assertRefused(r, [400, 401], what)
      }
      for (const value of ['Basic dXNlcjpwYXNz', 'bearer' + access, 'Token abc']) {
        const r = await app.client().raw('GET', '/me', [['Authorization', value]])
        assert.notEqual(r.status, 500, value.slice(0, 20))
        if (r.status === 200) assert.equal(r.json.userId, null, `${value.slice(0, 20)} logs nobody in`)
        else assertRefused(r, [400, 401], value.slice(0, 20))
      }
      const ok = await app.client().raw('GET', '/me', [['Authorization', 'Bearer ' + access]])
      assert.equal(ok.json?.userId, 'alice', 'the real token still works')
    })
  })

  describe('when the refresh token is hostile', function () {
    it('should refuse garbage refresh cookies with 401 UNAUTHORISED and revoke nothing', async function (t) {
      const app = await useApp(t, express)
      const { c, access, refresh } = await realTokens(app)
      const cases = {
        garbage: 'garbage',
        forged: flip(refresh),
        truncated: refresh.slice(0, -4),
        oversized: 'A'.repeat(20 * 1024),
        'percent-encoded': percentEncodeAll(refresh),
        'non-ASCII': utf8Bytes('rëfrésh'),
        'the access token': access
      }
      for (const [what, value] of Object.entries(cases)) {
        const r = await app.client().raw('POST', REFRESH_PATH, [['Cookie', `${REFRESH}=${value}`], ['Origin', app.origin]])
        assertCode(r, 401, 'UNAUTHORISED', what)
      }
      const dup = await app.client().raw('POST', REFRESH_PATH, [['Cookie', `${REFRESH}=${refresh}; ${REFRESH}=garbage`], ['Origin', app.origin]])
      assertCode(dup, 400, 'CREDENTIALS_AMBIGUOUS', 'refresh cookie twice')
      assert.equal(app.events.theft.length, 0)
      assertOk(await c.post(REFRESH_PATH), 'the real refresh token still works')
    })

    it('should answer a bad JSON body 400, not 500, and keep serving', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const r = await c.post('/data', { body: '{"a":', type: 'application/json' })
      assert.equal(r.status, 400)
      assertOk(await c.get('/me'))
    })
  })
})
