'use strict'

// CSRF over HTTP, on Express 5 and 4: cross-site writes, logouts and refreshes refused
// with 403 and no side effect, a request no browser sent let through, a token of ours that
// does not verify refused, Origin shapes that look like ours (ATK-57), a text/plain JSON
// form (ATK-58), and the csrf option (trustedOrigins, requireToken, off). Foreign tokens
// (csurf's, lusca's) and the whole decision table: middleware-csrf-foreign.test.js.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  EVIL, REFRESH, REFRESH_PATH, assertCode, assertOk, eachExpress, flip, loggedIn, login,
  shouldHaveChangedNothing, shouldNotSetCookie, shouldRefuseCsrf, sideEffects, stored, useApp
} = require('./support/apps.js')

eachExpress(function (express) {
  describe('when a request comes from another site', function () {
    it('should refuse a cross-site POST with 403 CSRF_INVALID and no side effect', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const li = await login(c, 'alice')
      assertOk(await c.post('/data', { json: { n: 1 } }), 'same-origin POST (Origin is the app\'s)')
      const token = (await c.get('/csrf')).json.token
      const before = await sideEffects(app, li.json.id)
      const attempts = [
        ['a foreign Origin', { Origin: EVIL }],
        ['Origin: null', { Origin: 'null' }],
        ['Sec-Fetch-Site: cross-site', { Origin: false, 'Sec-Fetch-Site': 'cross-site' }],
        ['Sec-Fetch-Site: same-site', { Origin: false, 'Sec-Fetch-Site': 'same-site' }],
        ['a foreign Origin with a valid CSRF token', { Origin: EVIL, 'X-CSRF-Token': token }],
        ['a foreign Origin that starts like ours', { Origin: app.origin + '.evil.example' }],
        ['Origin: null and no Sec-Fetch-Site', { Origin: 'null', 'X-CSRF-Token': token }],
        ['Sec-Fetch-Site: cross-site with our own Origin', { 'Sec-Fetch-Site': 'cross-site' }],
        ['Sec-Fetch-Site: cross-site with a valid CSRF token', { 'Sec-Fetch-Site': 'cross-site', 'X-CSRF-Token': token }],
        ['a Sec-Fetch-Site value we do not know', { 'Sec-Fetch-Site': 'cross-origin' }]
      ]
      for (const [what, headers] of attempts) await shouldRefuseCsrf(c, headers, what)
      await shouldHaveChangedNothing(app, li.json.id, before)
      const me = await c.get('/me')
      assert.equal(me.json.userId, 'alice', 'still logged in')
      assert.deepEqual(me.json.data, { n: 1 })
    })

    it('should let a request with neither Origin nor Sec-Fetch-Site through (no browser sent it), and refuse a token of ours that does not verify', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const token = (await c.get('/csrf')).json.token
      assert.equal(typeof token, 'string')
      const other = app.client()
      await login(other, 'bob')
      const bobs = (await other.get('/csrf')).json.token
      const wrong = [
        ['a token of our shape that is garbage', 'A'.repeat(43)],
        ['our token with one character flipped', flip(token)],
        ['a token of another session', bobs]
      ]
      for (const [what, bad] of wrong) {
        assertCode(await c.post('/data', { json: { n: 2 }, headers: { Origin: false, 'X-CSRF-Token': bad } }), 403, 'CSRF_INVALID', what)
        assertCode(await c.post('/data', { form: { n: '2', _csrf: bad }, headers: { 'Sec-Fetch-Site': 'same-origin' } }), 403, 'CSRF_INVALID', what + ' in _csrf, same origin')
      }
      assert.equal(app.hits.data ?? 0, 0)

      assertOk(await c.post('/data', { json: { n: 2 }, headers: { Origin: false } }), 'no Origin, no Sec-Fetch-Site, no token')
      assertOk(await c.post('/data', { json: { j: 1 }, headers: { Origin: false, 'X-CSRF-Token': token } }), 'X-CSRF-Token')
      assertOk(await c.post('/data', { form: { m: 'x', _csrf: token }, headers: { Origin: false } }), '_csrf form field')
      assertOk(await c.post('/data', { json: { k: 1 }, headers: { Origin: false, 'Sec-Fetch-Site': 'same-origin' } }), 'Sec-Fetch-Site: same-origin')
      const me = await c.get('/me')
      assert.deepEqual(me.json.data, { n: 2, j: 1, m: 'x', k: 1 })
    })

    it('should give a session that is not stored yet a null CSRF token and let its first write through', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      assert.equal((await c.get('/csrf')).json.token, null)
      const r = await c.post('/data', { json: { a: 1 }, headers: { Origin: false } })
      assertOk(r, 'nothing stored, nothing to forge')
      assert.equal(typeof (await c.get('/csrf')).json.token, 'string')
    })
  })

  describe('when Origin is shaped to look like ours (ATK-57)', function () {
    it('should refuse our host in the path, another scheme or port with 403 and no side effect, and accept upper case', async function (t) {
      const app = await useApp(t, express)
      const { c, handle } = await loggedIn(app, 'alice')
      assertOk(await c.post('/data', { json: { n: 1 } }))
      const before = await sideEffects(app, handle)
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
      for (const [what, Origin] of Object.entries(origins)) await shouldRefuseCsrf(c, { Origin }, what)
      await shouldHaveChangedNothing(app, handle, before)
      assert.equal(app.events.refreshed.length, 0)
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
      const before = await sideEffects(app, handle)
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
      await shouldHaveChangedNothing(app, handle, before)
      assert.equal(app.events.refreshed.length, 0, 'nothing rotated')
      assert.equal(c.jar.get(REFRESH).value, refresh)
      assert.deepEqual((await c.get('/me')).json.data, { n: 1 })
    })
  })

  describe('csrf', function () {
    it('should let a trusted origin through, and requireToken ask every cookie write for a token', async function (t) {
      const app = await useApp(t, express, { csrf: { trustedOrigins: ['https://admin.example.com'], requireToken: true } })
      const c = app.client()
      await login(c, 'alice')
      assertCode(await c.post('/data', { json: { a: 1 } }), 403, 'CSRF_INVALID', 'same origin, no token, requireToken')
      assertCode(await c.post('/data', { json: { a: 1 }, headers: { Origin: false } }), 403, 'CSRF_INVALID', 'no Origin, no Sec-Fetch-Site, no token, requireToken')
      assertCode(await c.post('/data', { form: { a: '1', _csrf: 'abcdefgh-' + 'x'.repeat(27) }, headers: { 'Sec-Fetch-Site': 'same-origin' } }), 403, 'CSRF_INVALID', 'a foreign token, requireToken')
      const token = (await c.get('/csrf')).json.token
      assertOk(await c.post('/data', { json: { a: 1 }, headers: { 'X-CSRF-Token': token, Origin: 'https://admin.example.com' } }))
      assertOk(await c.post('/data', { json: { a: 1 }, headers: { 'X-CSRF-Token': token, 'Sec-Fetch-Site': 'same-site', Origin: 'https://admin.example.com' } }),
        'a trusted sibling subdomain, as a browser sends it')
      assertOk(await c.post('/data', { json: { a: 1 }, headers: { 'X-CSRF-Token': token, Origin: false } }), 'no headers, a valid token')
      assertCode(await c.post('/data', { json: { a: 2 }, headers: { 'X-CSRF-Token': token, Origin: 'https://evil.example' } }), 403, 'CSRF_INVALID')
    })

    it('should take the app\'s own origins from csrf.origins, not from Host, when the app pins them', async function (t) {
      const derived = await useApp(t, express)
      const spoofed = { Host: 'evil.example', Origin: 'http://evil.example' } // a proxy that passes any Host
      const d = derived.client()
      await login(d, 'al')
      assertOk(await d.post('/data', { json: { a: 1 }, headers: spoofed }), 'derived from Host: the spoofed pair looks same-origin')
      const app = await useApp(t, express, { csrf: { origins: ['https://app.example.com'] } })
      const c = app.client()
      await login(c, 'alice', {}, { headers: { Origin: 'https://app.example.com' } })
      assertOk(await c.post('/data', { json: { a: 1 }, headers: { Origin: 'https://app.example.com' } }), 'the pinned origin')
      assertCode(await c.post('/data', { json: { a: 2 }, headers: spoofed }), 403, 'CSRF_INVALID', 'Host no longer counts')
      assertCode(await c.post('/data', { json: { a: 3 } }), 403, 'CSRF_INVALID', 'nor the origin Host makes')
      assertOk(await c.post('/data', { json: { a: 4 }, headers: { Origin: false, 'Sec-Fetch-Site': 'same-origin' } }), 'the browser\'s word still counts')
    })

    it('should compare Origin with csrf.origins as browsers write origins (case, default port, punycode)', async function (t) {
      const app = await useApp(t, express, { csrf: { origins: ['HTTPS://App.Example.com:443', 'https://bücher.example'] } })
      const c = app.client()
      await login(c, 'alice', {}, { headers: { Origin: 'https://app.example.com' } })
      for (const origin of ['https://app.example.com', 'https://xn--bcher-kva.example']) {
        assertOk(await c.post('/data', { json: { a: 1 }, headers: { Origin: origin } }), origin)
      }
      for (const origin of ['https://app.example.com:8443', 'http://app.example.com', 'https://app.example.com.evil.example', 'null']) {
        assertCode(await c.post('/data', { json: { a: 2 }, headers: { Origin: origin } }), 403, 'CSRF_INVALID', origin)
      }
    })

    it('should check nothing with csrf: false', async function (t) {
      const app = await useApp(t, express, { csrf: false })
      const c = app.client()
      await login(c, 'alice')
      assertOk(await c.post('/data', { json: { a: 1 }, headers: { Origin: 'http://evil.example' } }))
    })
  })
})
