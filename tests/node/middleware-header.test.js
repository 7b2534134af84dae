'use strict'

// Header mode (mobile and service clients), on Express 5 and 4: tokens travel in
// X-Access-Token / X-Refresh-Token response headers and come back as
// `Authorization: Bearer` and `X-Refresh-Token`; no cookies, no CSRF token needed.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, ACCESS_MS, EVIL, EXPIRE_MS, REFRESH, REFRESH_PATH,
  assertCode, assertNoTokenInBody, assertOk, eachExpress, shouldClearCookies, shouldNotSetCookie, useApp
} = require('./support/apps.js')

/** A client with no cookie jar use: it keeps its tokens itself, as a mobile app does. */
function headerClient (app) {
  const c = app.client()
  const tokens = {}
  const send = async (method, path, opts = {}) => {
    const r = await c.request(method, path, { ...opts, jar: false })
    shouldNotSetCookie(r)
    return r
  }
  return {
    tokens,
    async login (user, body = {}) {
      const r = await send('POST', '/login', { json: { user, ...body }, headers: { Origin: false, 'X-Session-Transfer': 'header' } })
      assertOk(r, 'header-mode login')
      tokens.access = r.headers['x-access-token']
      tokens.refresh = r.headers['x-refresh-token']
      return r
    },
    api (method, path, opts = {}) {
      return send(method, path, { ...opts, headers: { Origin: false, Authorization: 'Bearer ' + tokens.access, ...opts.headers } })
    },
    async refresh (headers = {}) {
      const r = await send('POST', REFRESH_PATH, { headers: { Origin: false, 'X-Refresh-Token': tokens.refresh, ...headers } })
      if (r.status === 200) {
        tokens.access = r.headers['x-access-token']
        tokens.refresh = r.headers['x-refresh-token']
      }
      return r
    },
    send
  }
}

/** Alice logged in by a header-mode client, mallory by a browser (cookies), on `app`. */
async function twoSessions (app) {
  const h = headerClient(app)
  await h.login('alice')
  const browser = app.client()
  await browser.post('/login', { json: { user: 'mallory' } })
  return { h, browser }
}

eachExpress(function (express) {
  describe('when a client logs in with X-Session-Transfer: header', function () {
    it('should answer the tokens in headers, with no Set-Cookie and no-store', async function (t) {
      const app = await useApp(t, express)
      const h = headerClient(app)
      const r = await h.login('alice')
      assert.equal(typeof h.tokens.access, 'string')
      assert.ok(h.tokens.access.split('.').length === 3, 'a JWT')
      assert.equal(typeof h.tokens.refresh, 'string')
      assert.ok(h.tokens.refresh.length > 20)
      const expires = Number(r.headers['x-access-expires'])
      assert.ok(expires > app.now() && expires <= app.now() + ACCESS_MS + 1000, `X-Access-Expires ${r.headers['x-access-expires']}`)
      assert.match(r.headers['cache-control'] ?? '', /no-store/)
      assertNoTokenInBody(r, [h.tokens.access, h.tokens.refresh])
    })

    it('should authenticate Bearer requests, and need no CSRF proof for them', async function (t) {
      const app = await useApp(t, express)
      const h = headerClient(app)
      const li = await h.login('alice')
      const me = await h.api('GET', '/me')
      assertOk(me)
      assert.deepEqual([me.json.userId, me.json.id], ['alice', li.json.id])
      const w = await h.api('POST', '/data', { json: { a: 1 } })
      assertOk(w, 'POST with Bearer, no Origin, no CSRF token')
      assert.equal(typeof w.headers['x-access-token'], 'string', 'the re-signed access token comes back in a header')
      const foreign = await h.api('POST', '/data', { json: { b: 2 }, headers: { Origin: EVIL } })
      assertOk(foreign, 'a browser cannot attach a Bearer token cross-site: no CSRF check')
      assert.deepEqual((await h.api('GET', '/me')).json.data, { a: 1, b: 2 })
    })

    it('should refresh with X-Refresh-Token and answer new tokens in headers', async function (t) {
      const app = await useApp(t, express)
      const h = headerClient(app)
      await h.login('alice')
      const old = { ...h.tokens }
      app.advance(EXPIRE_MS)
      assertCode(await h.api('GET', '/me'), 401, 'TRY_REFRESH', 'expired Bearer token')
      const r = await h.refresh()
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(Object.keys(r.json).sort(), ['accessExpires', 'userId'])
      assert.equal(r.json.userId, 'alice')
      assert.notEqual(h.tokens.refresh, old.refresh)
      assert.notEqual(h.tokens.access, old.access)
      assert.equal(Number(r.headers['x-access-expires']), r.json.accessExpires)
      assert.match(r.headers['cache-control'] ?? '', /no-store/)
      assertNoTokenInBody(r, [h.tokens.access, h.tokens.refresh])
      assertOk(await h.api('GET', '/me'))
    })

    it('should detect a replayed refresh token in header mode too', async function (t) {
      const app = await useApp(t, express)
      const h = headerClient(app)
      await h.login('alice')
      const stolen = h.tokens.refresh
      assertOk(await h.refresh())
      app.advance(60 * 1000)
      const r = await h.send('POST', REFRESH_PATH, { headers: { Origin: false, 'X-Refresh-Token': stolen } })
      assertCode(r, 401, 'TOKEN_THEFT_DETECTED')
      assertCode(await h.api('GET', '/me'), 401, 'TOKEN_THEFT_DETECTED')
      assert.equal(app.events.theft.length, 1)
    })

    it('should refuse garbage and missing refresh tokens with 401 UNAUTHORISED', async function (t) {
      const app = await useApp(t, express)
      const h = headerClient(app)
      await h.login('alice')
      for (const bad of ['garbage', 'a'.repeat(200), h.tokens.refresh.slice(0, -2), h.tokens.access]) {
        assertCode(await h.send('POST', REFRESH_PATH, { headers: { Origin: false, 'X-Refresh-Token': bad } }), 401, 'UNAUTHORISED', bad.slice(0, 20))
      }
      assertCode(await h.send('POST', REFRESH_PATH, { headers: { Origin: false, 'X-Session-Transfer': 'header' } }), 401, 'UNAUTHORISED', 'none')
      assertOk(await h.refresh(), 'the real one still works: nothing was revoked')
    })

    it('should log out with empty token headers', async function (t) {
      const app = await useApp(t, express)
      const h = headerClient(app)
      await h.login('alice')
      const r = await h.api('POST', '/logout')
      assertOk(r)
      assert.equal(r.headers['x-access-token'], '')
      assert.equal(r.headers['x-refresh-token'], '')
      assertCode(await h.api('GET', '/me'), 401, 'UNAUTHORISED')
      assertCode(await h.refresh(), 401, 'UNAUTHORISED')
    })

    it('should refuse a cookie and a different Bearer token together: 400 CREDENTIALS_AMBIGUOUS', async function (t) {
      const app = await useApp(t, express)
      const { h, browser } = await twoSessions(app)
      const r = await browser.get('/me', { headers: { Authorization: 'Bearer ' + h.tokens.access } })
      assertCode(r, 400, 'CREDENTIALS_AMBIGUOUS')
      shouldClearCookies(r, { [ACCESS]: '/' })
    })
  })

  describe('when a refresh carries a refresh cookie and X-Refresh-Token', function () {
    it('should refuse different ones with 400 CREDENTIALS_AMBIGUOUS and rotate neither', async function (t) {
      const app = await useApp(t, express)
      const { h, browser } = await twoSessions(app)
      const r = await browser.post(REFRESH_PATH, { headers: { 'X-Refresh-Token': h.tokens.refresh } })
      assertCode(r, 400, 'CREDENTIALS_AMBIGUOUS')
      assert.equal(app.events.refreshed.length, 0, 'nothing rotated')
      assertOk(await h.refresh(), "alice's header-mode refresh token still works")
      assertOk(await browser.post(REFRESH_PATH), "and mallory's cookie")
    })

    it('should refuse them with 400 CREDENTIALS_AMBIGUOUS even when they are the same token, rotating nothing', async function (t) {
      const app = await useApp(t, express)
      const browser = app.client()
      await browser.post('/login', { json: { user: 'bo' } })
      const rt = browser.jar.get(REFRESH).value
      for (const value of [rt, '']) {
        const r = await browser.post(REFRESH_PATH, { headers: { 'X-Refresh-Token': value } })
        assertCode(r, 400, 'CREDENTIALS_AMBIGUOUS', value === '' ? 'an empty header' : 'the same token')
        shouldNotSetCookie(r)
      }
      assert.equal(app.events.refreshed.length, 0, 'nothing rotated')
      assert.equal(browser.jar.get(REFRESH).value, rt, 'nothing cleared')
      const ok = await browser.post(REFRESH_PATH)
      assertOk(ok, 'the cookie alone still refreshes')
      assert.equal(ok.json.userId, 'bo')
    })
  })

  describe('with transfer: \'cookie\'', function () {
    it('should ignore X-Session-Transfer and set cookies', async function (t) {
      const app = await useApp(t, express, { transfer: 'cookie' })
      const c = app.client()
      const r = await c.post('/login', { json: { user: 'alice' }, headers: { 'X-Session-Transfer': 'header' } })
      assertOk(r)
      assert.equal(r.headers['x-access-token'], undefined)
      assert.ok(r.setCookies.some((x) => x.name === ACCESS))
    })
  })

  describe('with transfer: \'header\'', function () {
    it('should answer tokens in headers without being asked', async function (t) {
      const app = await useApp(t, express, { transfer: 'header' })
      const c = app.client()
      const r = await c.post('/login', { json: { user: 'alice' } })
      assertOk(r)
      shouldNotSetCookie(r)
      assert.equal(typeof r.headers['x-access-token'], 'string')
      const me = await c.get('/me', { headers: { Authorization: 'Bearer ' + r.headers['x-access-token'] } })
      assert.equal(me.json.userId, 'alice')
    })
  })
})
