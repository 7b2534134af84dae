'use strict'

// Hostile input over HTTP, on Express 5 and 4: malformed, oversized, duplicated,
// percent-encoded and non-ASCII cookies and Authorization headers, and garbage refresh
// tokens. Every answer is a 400 or 401 with a stable JSON code (or an anonymous 200 when
// there is no token to judge), never a 500, and the server keeps serving. Also the
// attack-catalogue rows (shared/research/security.md §10) on tokens in the wrong place:
// in the URL (ATK-45), one kind of token as another (ATK-38), two Authorization lines
// (ATK-46, written by hand over a socket), and one answer for every refusal (ATK-60).

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { headerRoutes, rawHttp } = require('./support/raw-http.js')
const {
  ACCESS, EXPIRE_MS, GRACE_MS, REFRESH, REFRESH_PATH, assertCode, assertOk, eachExpress, flip,
  loggedIn, login, shouldClearCookies, shouldNotSetCookie, useApp
} = require('./support/apps.js')

/** Every byte of `s` percent-encoded. */
function percentEncodeAll (s) {
  return Array.from(Buffer.from(s), (b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')
}

/** UTF-8 bytes of `s` as a latin1 string, i.e. what goes on the wire byte for byte. */
function utf8Bytes (s) {
  return Buffer.from(s, 'utf8').toString('latin1')
}

/** Assert a refusal: one of `statuses`, a JSON body with an upper-case code; returns the code. */
function assertRefused (res, statuses, what) {
  assert.ok(statuses.includes(res.status), `${what}: status ${res.status} ${res.text.slice(0, 200)}`)
  assert.match(String(res.json?.code), /^[A-Z][A-Z_]+$/, `${what}: JSON code, got ${res.text.slice(0, 200)}`)
  return res.json.code
}

/**
 * Response headers with what varies by the second taken out (Date; Expires in
 * Set-Cookie), and the ETag, which follows the body (its new session's random id).
 */
function stableHeaders (res) {
  const h = { ...res.headers }
  delete h.date
  delete h.etag
  if (h['set-cookie']) h['set-cookie'] = h['set-cookie'].map((l) => l.replace(/; Expires=[^;]*/, '; Expires=<date>'))
  return h
}

eachExpress(function (express) {
  describe('when the access cookie is hostile', function () {
    it('should take malformed, forged, oversized, encoded and non-ASCII values for no session, clearing the cookie', async function (t) {
      const app = await useApp(t, express)
      const { access, handle, jwt } = await loggedIn(app, 'alice')
      const bob = await loggedIn(app, 'bob')
      const cases = {
        garbage: 'garbage',
        'three dots': 'a.b.c',
        'forged signature': flip(access),
        'alg none': `s:${handle}.${jwt.split('.').slice(0, 2).join('.')}.`,
        'the JWT alone (not the cookie\'s spelling)': jwt,
        'the URL-encoded spelling': 's%3A' + access.slice(2),
        'another session\'s id before alice\'s token': `s:${bob.handle}.${jwt}`,
        'alice\'s id before another session\'s token': `s:${handle}.${bob.jwt}`,
        'oversized (20 kB)': 'A'.repeat(20 * 1024),
        'oversized JWT-shaped': access + 'A'.repeat(20 * 1024),
        'percent-encoded real token': percentEncodeAll(access),
        'non-ASCII (UTF-8 bytes)': utf8Bytes('tökén.ünïcødé.🍪'),
        'non-ASCII (latin1 bytes)': 'caf\xe9.\xff\xfe.x',
        'quoted real token': '"' + access + '"',
        'real token with a trailing space-separated extra': access + ' x'
      }
      for (const [what, value] of Object.entries(cases)) {
        // As express-session ignores a cookie it cannot unsign: no error page, no session.
        const r = await app.client().raw('GET', '/me', [['Cookie', `${ACCESS}=${value}`], ['Accept', 'application/json']])
        assertOk(r, what)
        assert.deepEqual([r.json.userId, r.json.data], [null, {}], `${what}: no session`)
        assert.notEqual(r.json.id, handle, `${what}: a new session, not alice's`)
        shouldClearCookies(r, { [ACCESS]: '/' })
      }
      assertOk(await app.client().get('/plain'), 'still serving')
    })

    it('should answer 400 CREDENTIALS_AMBIGUOUS for the same cookie name twice', async function (t) {
      const app = await useApp(t, express)
      const { access } = await loggedIn(app, 'alice')
      const other = (await loggedIn(app, 'alice')).access
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
      const { jwt: access } = await loggedIn(app, 'alice')
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
      const { c, access, refresh } = await loggedIn(app, 'alice')
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

  describe('when a token travels in the URL (ATK-45)', function () {
    it('should treat a valid token in the query, a path segment or Referer as no token, and rotate nothing', async function (t) {
      const app = await useApp(t, express, {}, { setup: headerRoutes })
      const { c, access, refresh, handle } = await loggedIn(app, 'alice')
      const url = (q) => app.url + q
      for (const value of [access, refresh]) {
        for (const name of ['access_token', 'token', 'refresh_token']) {
          const q = `?${name}=${encodeURIComponent(value)}`
          for (const path of ['/me', '/me' + q, '/p/x' + q, '/p/' + value]) {
            for (const headers of [{}, { Referer: url('/page' + q) }, { Referer: url('/page#' + q.slice(1)) }, { 'X-Session-Transfer': 'header' }]) {
              const r = await app.client().get(path, { headers })
              assertOk(r, `GET ${path} ${JSON.stringify(headers).slice(0, 40)}`)
              assert.equal(r.json.userId, null, `GET ${path}: anonymous`)
              assert.notEqual(r.json.id, handle, `GET ${path}: not alice's session`)
              shouldNotSetCookie(r)
            }
          }
          // the refresh endpoint: by query, by Referer, cookie and header mode, POST and a navigation
          const refreshes = [
            ['POST', REFRESH_PATH + q, {}],
            ['POST', REFRESH_PATH + q, { 'X-Session-Transfer': 'header', Origin: false }],
            ['POST', REFRESH_PATH, { Referer: url(REFRESH_PATH + q) }],
            ['POST', REFRESH_PATH, { Referer: url('/page#' + q.slice(1)) }]
          ]
          for (const [method, path, headers] of refreshes) {
            const r = await app.client().request(method, path, { headers })
            assertCode(r, 401, 'UNAUTHORISED', `${method} ${path} ${JSON.stringify(headers).slice(0, 40)}`)
            assert.equal(r.headers['x-access-token'] || undefined, undefined)
            shouldNotSetCookie(r)
          }
          const nav = await app.client().navigate(REFRESH_PATH + q + '&to=/page', { headers: { 'Sec-Fetch-Site': 'same-origin' } })
          assert.equal(nav.status, 303, 'a navigation with nothing to refresh goes back to its page')
          assert.equal(nav.location, '/page')
          shouldNotSetCookie(nav)
          // a path segment past the refresh path is another path: not the endpoint
          const seg = await app.client().post(REFRESH_PATH + '/' + value)
          assert.equal(seg.status, 404, `POST ${REFRESH_PATH}/<token>: ${seg.status}`)
          shouldNotSetCookie(seg)
        }
      }
      assert.equal(app.events.refreshed.length, 0, 'nothing was refreshed')
      assert.deepEqual(app.events.revoked, [])
      app.advance(GRACE_MS + 1000) // had anything rotated, the real token would now be theft
      const r = await c.post(REFRESH_PATH)
      assertOk(r, 'the real refresh cookie still works')
      assert.equal(r.json.userId, 'alice')
      assert.equal(app.events.theft.length, 0)
    })

    it('should write no token into any Location of the refresh dance (303 and 307, success and failure)', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const seen = new Set()
      const locations = []
      const note = (r) => {
        for (const sc of r.setCookies) if (sc.value) seen.add(sc.value)
        for (const v of (r.cookie ?? '').split('; ').map((p) => p.slice(p.indexOf('=') + 1))) if (v) seen.add(v)
        for (const h of ['x-csrf-token', 'x-access-token', 'x-refresh-token']) if (r.headers[h]) seen.add(r.headers[h])
        if (r.location !== undefined) locations.push(r.location)
        return r
      }
      // a page load (303, 303, 200)
      app.advance(EXPIRE_MS)
      let r = note(await c.navigate('/page?x=1'))
      for (let hops = 0; r.status === 303 && hops < 4; hops++) r = note(await c.follow(r))
      assert.equal(r.status, 200)
      assert.match(r.text, /signed in as alice/)
      // a form submission (307, 307, 200)
      app.advance(EXPIRE_MS)
      const form = { form: { f: '1' }, headers: { 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Site': 'same-origin', Accept: 'text/html' } }
      r = note(await c.post('/data', form))
      assert.equal(r.status, 307)
      r = note(await c.post(r.location, form))
      assert.equal(r.status, 307)
      r = note(await c.post(r.location, form))
      assertOk(r, 'the form lands once refreshed')
      // a dance that fails: the session was revoked meanwhile (303 back, signed out)
      const stale = c.clone()
      note(await c.post('/logout'))
      app.advance(EXPIRE_MS)
      r = note(await stale.navigate('/page'))
      for (let hops = 0; r.status === 303 && hops < 4; hops++) r = note(await stale.follow(r))
      assert.match(r.text, /anonymous/)
      assert.ok(locations.length >= 6, `Locations seen: ${locations.length}`)
      assert.ok(seen.size >= 6, `tokens seen: ${seen.size}`)
      for (const loc of locations) {
        assert.match(loc, /^\/(?![/\\])/, `a same-origin path: ${loc}`)
        for (const v of seen) {
          // the whole value, and each part that is not the (public, shared) JWT header
          const parts = v.split('.').length === 3 ? v.split('.').slice(1) : [v]
          for (const p of parts.filter((x) => x.length >= 16)) {
            assert.ok(!loc.includes(p) && !decodeURIComponent(loc).includes(p), `token material in Location ${loc}`)
          }
        }
      }
    })
  })

  describe('when one kind of token is sent as another (ATK-38)', function () {
    it('should refuse a refresh or CSRF token as the access token (no session from a cookie, 401 as Bearer), and revoke nothing', async function (t) {
      const app = await useApp(t, express)
      const { c, jwt, refresh, csrf } = await loggedIn(app, 'alice')
      assert.match(csrf ?? '', /^[A-Za-z0-9_-]{20,}$/, 'login answers X-CSRF-Token')
      const cases = {
        'refresh token as Bearer': [['Authorization', 'Bearer ' + refresh]],
        'refresh token as the access cookie': [['Cookie', `${ACCESS}=${refresh}`]],
        'CSRF token as Bearer': [['Authorization', 'Bearer ' + csrf]],
        'CSRF token as the access cookie': [['Cookie', `${ACCESS}=${csrf}`]]
      }
      for (const [what, headers] of Object.entries(cases)) {
        const r = await app.client().raw('GET', '/me', headers)
        if (what.endsWith('cookie')) { // no token of ours in the cookie: ignored, as express-session
          assertOk(r, what)
          assert.deepEqual([r.json.userId, r.json.data], [null, {}], `${what}: no session`)
        } else {
          assertCode(r, 401, 'UNAUTHORISED', what)
        }
      }
      const atRefresh = {
        'refresh token as Bearer': [['Authorization', 'Bearer ' + refresh]],
        'CSRF token as X-Refresh-Token': [['X-Refresh-Token', csrf]],
        'CSRF token as the refresh cookie': [['Cookie', `${REFRESH}=${csrf}`], ['Origin', app.origin]]
      }
      for (const [what, headers] of Object.entries(atRefresh)) {
        assertCode(await app.client().raw('POST', REFRESH_PATH, headers), 401, 'UNAUTHORISED', 'refresh, ' + what)
      }
      assert.deepEqual(app.events.revoked, [])
      assert.equal(app.events.refreshed.length, 0)
      const me = await c.get('/me')
      assert.equal(me.json?.userId, 'alice', 'the real access token still works')
      const byBearer = await app.client().raw('GET', '/me', [['Authorization', 'Bearer ' + jwt]])
      assert.equal(byBearer.json?.userId, 'alice')
      app.advance(GRACE_MS + 1000)
      assertOk(await c.post(REFRESH_PATH), 'the real refresh token still works')
      assert.equal(app.events.theft.length, 0)
    })
  })

  describe('when a request has two Authorization lines (ATK-46)', function () {
    it('should never authenticate as the second line\'s user: Node keeps the first line only', async function (t) {
      const app = await useApp(t, express, {}, { setup: headerRoutes })
      const alice = await loggedIn(app, 'alice')
      const bob = await loggedIn(app, 'bob')
      for (const [first, second, user] of [[alice, bob, 'alice'], [bob, alice, 'bob']]) {
        const lines = ['GET /headers HTTP/1.1', `Authorization: Bearer ${first.jwt}`, `Authorization: Bearer ${second.jwt}`]
        const r = await rawHttp(app, lines)
        assert.equal(r.status, 200, r.text)
        // Node (http.IncomingMessage, joinDuplicateHeaders off) drops a repeated
        // Authorization: req.headers has the first, req.rawHeaders has both.
        assert.equal(r.json.authorizationLines, 2, 'both lines reached the server')
        assert.equal(r.json.authorization, `Bearer ${first.jwt}`, 'req.headers keeps the first')
        assert.equal(r.json.userId, user, 'the first line\'s user')
        assert.notEqual(r.json.userId, user === 'alice' ? 'bob' : 'alice', 'never the second line\'s user')
      }
      // a junk first line hides a valid second one: refused, not the second user
      const junk = await rawHttp(app, ['GET /me HTTP/1.1', 'Authorization: Bearer garbage', `Authorization: Bearer ${bob.jwt}`])
      assertCode(junk, 401, 'UNAUTHORISED', 'junk first line')
      const basic = await rawHttp(app, ['GET /me HTTP/1.1', 'Authorization: Basic dXNlcjpwYXNz', `Authorization: Bearer ${bob.jwt}`])
      assert.equal(basic.status, 200, basic.text)
      assert.equal(basic.json.userId, null, 'Basic first, Bearer second: nobody')
    })
  })

  describe('when a token is refused for any reason (ATK-60)', function () {
    it('should answer every UNAUTHORISED case with the same status, Content-Type and bytes', async function (t) {
      const app = await useApp(t, express)
      const alice = await loggedIn(app, 'alice')
      const bob = await loggedIn(app, 'bob')
      const carol = await loggedIn(app, 'carol')
      const dave = await loggedIn(app, 'dave')
      await app.s.revokeSession(bob.handle)
      assertOk(await dave.c.clone().post('/logout'))
      const get = (headers) => app.client().raw('GET', '/me', headers)
      const refresh = (value) => app.client().raw('POST', REFRESH_PATH, [['Cookie', `${REFRESH}=${value}`], ['Origin', app.origin]])
      // A cookie that is no token of ours is ignored (no session, the cookie cleared), the
      // same answer whatever it was: a forger learns nothing from it.
      const notOurs = {
        'garbage access token': () => get([['Cookie', `${ACCESS}=garbage`]]),
        'forged access token': () => get([['Cookie', `${ACCESS}=${flip(alice.access)}`]]),
        'access token with alg none': () => get([['Cookie', `${ACCESS}=s:${alice.handle}.${alice.jwt.split('.').slice(0, 2).join('.')}.`]])
      }
      const ignored = []
      for (const [what, send] of Object.entries(notOurs)) ignored.push([what, await send()])
      for (const [what, r] of ignored) {
        assert.equal(r.status, 200, `${what}: ${r.status} ${r.text}`)
        // the id of the new, unstored session each request gets is random: masked
        const masked = (text) => text.replace(/"(id|sessionID)":"[A-Za-z0-9_-]{22}"/g, '"$1":"<new>"')
        assert.equal(masked(r.text), masked(ignored[0][1].text), `${what}: body`)
        assert.deepEqual(stableHeaders(r), stableHeaders(ignored[0][1]), `${what}: headers as for ${ignored[0][0]}`)
      }
      assert.equal(ignored[0][1].json.userId, null)
      // Cookie mode, a token of ours presented: the whole answer is the same, headers included.
      const cookieCases = {
        'access token of a revoked session': () => get([['Cookie', `${ACCESS}=${bob.access}`]]),
        'access token of a logged-out session': () => get([['Cookie', `${ACCESS}=${dave.access}`]]),
        'garbage refresh token': () => refresh('garbage'),
        'forged refresh token': () => refresh(flip(alice.refresh)),
        'truncated refresh token': () => refresh(alice.refresh.slice(0, -4)),
        'refresh token of a revoked session': () => refresh(bob.refresh),
        'refresh token of a logged-out session': () => refresh(dave.refresh),
        'expired refresh token': async () => {
          app.advance(30 * 24 * 60 * 60 * 1000 + 1000) // refreshTokenMaxAge (30 days) and a second
          return refresh(carol.refresh)
        }
      }
      // Deliberately different headers, same body: header mode (no cookies to clear) and a
      // refresh with no token (nothing cleared, so a cross-site link logs nobody out).
      const otherCases = {
        'garbage Bearer token': () => get([['Authorization', 'Bearer garbage']]),
        'forged Bearer token': () => get([['Authorization', 'Bearer ' + flip(alice.jwt)]]),
        'no refresh token': () => app.client().raw('POST', REFRESH_PATH, [['Origin', app.origin]]),
        'garbage X-Refresh-Token': () => app.client().raw('POST', REFRESH_PATH, [['X-Refresh-Token', 'garbage']])
      }
      const answers = {}
      for (const [what, send] of Object.entries({ ...cookieCases, ...otherCases })) answers[what] = await send()
      const [firstName, first] = Object.entries(answers)[0]
      assert.equal(first.text, '{"code":"UNAUTHORISED"}')
      for (const [what, r] of Object.entries(answers)) {
        assert.equal(r.status, 401, `${what}: ${r.status} ${r.text}`)
        assert.equal(r.headers['content-type'], first.headers['content-type'], `${what}: Content-Type`)
        assert.ok(Buffer.from(r.text).equals(Buffer.from(first.text)), `${what}: body ${r.text} vs ${first.text}`)
        assert.equal(r.headers['content-length'], first.headers['content-length'], `${what}: Content-Length`)
        if (what in cookieCases) {
          assert.deepEqual(stableHeaders(r), stableHeaders(first), `${what}: headers as for ${firstName}`)
        }
      }
      assert.equal(app.events.theft.length, 0)
      assert.equal(app.events.refreshed.length, 0)
    })
  })
})
