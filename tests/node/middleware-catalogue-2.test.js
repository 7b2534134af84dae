'use strict'

// Attack-catalogue rows over HTTP (shared/research/security.md §10), on Express 5 and 4,
// part 2: a cross-site navigation to the refresh endpoint (ATK-55), Origin shapes
// (ATK-57), text/plain CSRF (ATK-58), and the error oracle (ATK-60).

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, EVIL, REFRESH, REFRESH_PATH,
  assertCode, assertNoTokenInBody, assertOk, eachExpress, login, shouldNotSetCookie, shouldSetCookie, useApp
} = require('./support/apps.js')

/** Flip one character in the middle of a token. */
function flip (token) {
  const i = Math.floor(token.length / 2)
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
}

/** The data and data version the store holds for a session (null when it is gone). */
async function stored (app, handle) {
  const s = await app.s.engine.get(handle)
  return s && { data: s.data, dataVersion: s.dataVersion }
}

/** A client logged in as `user`, with its tokens and session handle. */
async function loggedIn (app, user) {
  const c = app.client()
  const res = await login(c, user)
  return { c, handle: res.json.id, access: c.jar.get(ACCESS).value, refresh: c.jar.get(REFRESH).value }
}

/** Response headers with what varies by the second taken out (Date; Expires in Set-Cookie). */
function stableHeaders (res) {
  const h = { ...res.headers }
  delete h.date
  if (h['set-cookie']) h['set-cookie'] = h['set-cookie'].map((l) => l.replace(/; Expires=[^;]*/, '; Expires=<date>'))
  return h
}

eachExpress(function (express) {
  describe('when another site links to the refresh endpoint (ATK-55)', function () {
    // Decision: a cross-site top-level GET navigation to <refreshPath> refreshes. An incoming
    // link from another site to a page of ours, with an expired access token, is redirected
    // through the refresh endpoint, and browsers mark every hop of a redirect chain that a
    // cross-site navigation started as `Sec-Fetch-Site: cross-site`; refusing it would sign
    // out every visitor who arrives by a link. What keeps it safe: the GET only rotates the
    // visitor's own refresh token (SameSite=Lax sends it on top-level navigations only), it
    // answers a 303 to a same-origin path (never off-site), and no token is in the body or
    // the Location. A cross-site POST to the endpoint stays 403 (middleware-acceptance).
    it('should refresh and 303 to a same-origin path only, with no token in the body', async function (t) {
      const app = await useApp(t, express)
      const { c, access, refresh } = await loggedIn(app, 'alice')
      const crossSite = { headers: { 'Sec-Fetch-Site': 'cross-site' } }
      const r = await c.navigate(REFRESH_PATH + '?to=/page', crossSite)
      assert.equal(r.status, 303, r.text)
      assert.equal(r.location, '/page')
      assert.match(r.cookie, new RegExp(`(^|; )${REFRESH.replace('.', '\\.')}=`), 'the Lax refresh cookie was sent')
      const at = shouldSetCookie(r, ACCESS)
      const rt = shouldSetCookie(r, REFRESH)
      assert.notEqual(at.value, access)
      assert.notEqual(rt.value, refresh, 'rotated')
      assertNoTokenInBody(r, [at.value, rt.value, access, refresh])
      assert.equal(r.text, '', 'no body at all')
      assert.match(r.headers['cache-control'] ?? '', /no-store/)
      assert.equal(app.events.refreshed.length, 1)
      const page = await c.follow(r)
      assert.match(page.text, /signed in as alice/)
      for (const to of ['https://evil.example', EVIL + '/page', '//evil.example/page']) {
        const off = await c.navigate(REFRESH_PATH + '?to=' + encodeURIComponent(to), crossSite)
        assert.equal(off.status, 303, off.text)
        assert.equal(off.location, '/', `to=${to}`)
      }
      assertOk(await c.get('/me'), 'still signed in')
    })
  })

  describe('when Origin is shaped to look like ours (ATK-57)', function () {
    it('should refuse our host in the path, another scheme or port with 403 and no side effect, and accept upper case', async function (t) {
      const app = await useApp(t, express)
      const { c, handle } = await loggedIn(app, 'alice')
      assertOk(await c.post('/data', { json: { n: 1 } }))
      const before = await stored(app, handle)
      const hits = app.hits.data
      const { host, port } = new URL(app.origin)
      const otherPort = Number(port) === 65535 ? Number(port) - 1 : Number(port) + 1
      const origins = {
        'our host in the path': `https://evil.tld/${host}`,
        'our origin in the path': `http://evil.tld/${app.origin}`,
        'https instead of http': `https://${host}`,
        'another port': `http://127.0.0.1:${otherPort}`,
        'no port': 'http://127.0.0.1',
        'localhost for 127.0.0.1': `http://localhost:${port}`,
        'a trailing slash': app.origin + '/'
      }
      for (const [what, Origin] of Object.entries(origins)) {
        const r = await c.post('/data', { json: { n: 666 }, headers: { Origin } })
        assertCode(r, 403, 'CSRF_INVALID', what)
        shouldNotSetCookie(r)
        assertCode(await c.post('/logout', { headers: { Origin } }), 403, 'CSRF_INVALID', 'logout, ' + what)
        assertCode(await c.post(REFRESH_PATH, { headers: { Origin } }), 403, 'CSRF_INVALID', 'refresh, ' + what)
      }
      assert.equal(app.hits.data, hits, 'the route never ran')
      assert.equal(app.hits.logout ?? 0, 0)
      assert.equal(app.events.refreshed.length, 0)
      assert.deepEqual(await stored(app, handle), before, 'no store write')
      // Our code lower-cases Origin before comparing (browsers send it lower-case anyway):
      // an upper-case spelling of our own origin is our origin.
      const upper = app.origin.toUpperCase()
      assert.notEqual(upper, app.origin)
      assertOk(await c.post('/data', { json: { n: 2 }, headers: { Origin: upper } }), 'upper-case Origin')
      assert.deepEqual((await stored(app, handle)).data, { n: 2 })
      assertOk(await c.post(REFRESH_PATH, { headers: { Origin: upper } }), 'refresh with upper-case Origin')
    })
  })

  describe('when a cross-site form posts JSON as text/plain (ATK-58)', function () {
    it('should refuse it with 403 on an app route and on the refresh endpoint, changing nothing', async function (t) {
      const app = await useApp(t, express)
      const { c, handle, refresh } = await loggedIn(app, 'alice')
      assertOk(await c.post('/data', { json: { n: 1 } }))
      const before = await stored(app, handle)
      const hits = app.hits.data
      const body = '{"n":666,"ignore":"="}'
      const forms = [
        ['foreign Origin', { Origin: EVIL }],
        ['foreign Origin and Sec-Fetch-Site', { Origin: EVIL, 'Sec-Fetch-Site': 'cross-site' }],
        ['no Origin, Sec-Fetch-Site: cross-site', { Origin: false, 'Sec-Fetch-Site': 'cross-site' }]
      ]
      for (const [what, headers] of forms) {
        const opts = { body, type: 'text/plain', headers: { 'Sec-Fetch-Mode': 'navigate', ...headers } }
        const r = await c.post('/data', opts)
        assertCode(r, 403, 'CSRF_INVALID', '/data, ' + what)
        shouldNotSetCookie(r)
        const rr = await c.post(REFRESH_PATH, opts)
        assertCode(rr, 403, 'CSRF_INVALID', 'refresh, ' + what)
        shouldNotSetCookie(rr)
        const anon = await app.client().post('/data', opts)
        assertCode(anon, 403, 'CSRF_INVALID', 'a visitor with no session, ' + what)
      }
      assert.equal(app.hits.data, hits, 'the route never ran')
      assert.equal(app.events.refreshed.length, 0, 'nothing rotated')
      assert.equal(c.jar.get(REFRESH).value, refresh)
      assert.deepEqual(await stored(app, handle), before, 'no store write')
      assert.deepEqual((await c.get('/me')).json.data, { n: 1 })
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
      // Cookie mode, a token presented: the whole answer is the same, headers included.
      const cookieCases = {
        'garbage access token': () => get([['Cookie', `${ACCESS}=garbage`]]),
        'forged access token': () => get([['Cookie', `${ACCESS}=${flip(alice.access)}`]]),
        'access token with alg none': () => get([['Cookie', `${ACCESS}=${alice.access.split('.').slice(0, 2).join('.')}.`]]),
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
        'forged Bearer token': () => get([['Authorization', 'Bearer ' + flip(alice.access)]]),
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
