'use strict'

// Refresh over HTTP, on Express 5 and 4: an API call with an expired access token gets
// 401 TRY_REFRESH and POSTs the refresh endpoint; a page navigation is refreshed by
// redirects alone (303 to the refresh path and back), and never redirected off-site.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, ACCESS_MS, EXPIRE_MS, REFRESH, REFRESH_PATH,
  assertCode, assertNoTokenInBody, assertOk, bothCookies, eachExpress, login,
  shouldClearCookies, shouldNotSetCookie, shouldSetCookie, useApp
} = require('./support/apps.js')

/** The app's URL for a Location header (relative or absolute). */
function resolve (app, location) {
  return new URL(location, app.url + '/')
}

eachExpress(function (express) {
  describe('when the access token has expired', function () {
    it('should answer an API call 401 TRY_REFRESH, without clearing the cookies', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      app.advance(EXPIRE_MS)
      const r = await c.get('/me')
      assertCode(r, 401, 'TRY_REFRESH', 'GET /me')
      shouldNotSetCookie(r)
      assertCode(await c.post('/data', { json: { a: 1 } }), 401, 'TRY_REFRESH', 'POST /data')
      assert.equal(app.hits.me ?? 0, 0)
      assert.equal(app.hits.data ?? 0, 0)
      assert.deepEqual(c.jar.names(), [ACCESS, REFRESH])
    })

    it('should refresh on POST with {userId, accessExpires}, no token in the body, no-store and new cookies', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice', { data: { n: 1 } })
      const oldAccess = c.jar.get(ACCESS).value
      const oldRefresh = c.jar.get(REFRESH).value
      app.advance(EXPIRE_MS)
      const r = await c.post(REFRESH_PATH)
      assert.equal(r.status, 200, r.text)
      assert.deepEqual(Object.keys(r.json).sort(), ['accessExpires', 'userId'])
      assert.equal(r.json.userId, 'alice')
      assert.equal(typeof r.json.accessExpires, 'number')
      assert.ok(r.json.accessExpires > app.now() && r.json.accessExpires <= app.now() + ACCESS_MS + 1000,
        `accessExpires ${r.json.accessExpires} is about now + 15 min (${app.now() + ACCESS_MS})`)
      assert.match(r.headers['cache-control'] ?? '', /no-store/)
      const at = shouldSetCookie(r, ACCESS)
      const rt = shouldSetCookie(r, REFRESH)
      assert.notEqual(at.value, oldAccess)
      assert.notEqual(rt.value, oldRefresh, 'the refresh token rotates')
      assert.equal(rt.pathAttribute, REFRESH_PATH)
      assertNoTokenInBody(r, [at.value, rt.value, oldAccess, oldRefresh])
      const me = await c.get('/me')
      assertOk(me, 'API call after the refresh')
      assert.equal(me.json.userId, 'alice')
      assert.deepEqual(me.json.data, { n: 1 })
      assert.equal(app.events.refreshed.length, 1)
      assert.equal(app.events.refreshed[0].userId, 'alice')
      assert.equal(app.events.refreshed[0].handle, me.json.id)
    })

    it('should refuse a refresh without a refresh cookie, or with a garbage one, 401 UNAUTHORISED', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      assertCode(await c.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'no refresh cookie')
      await login(c, 'alice')
      c.jar.set(REFRESH, 'garbage', { path: REFRESH_PATH })
      const r = await c.post(REFRESH_PATH)
      assertCode(r, 401, 'UNAUTHORISED', 'garbage refresh cookie')
      shouldClearCookies(r, bothCookies())
    })

    it('should refuse a refresh past the refresh token\'s idle lifetime', async function (t) {
      const app = await useApp(t, express, { refreshTokenMaxAge: 60 * 60 * 1000, accessTokenMaxAge: 60 * 1000 })
      const c = app.client()
      await login(c, 'alice')
      app.advance(60 * 60 * 1000 + 1000)
      assertCode(await c.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'refresh token idle too long')
    })
  })

  describe('when the session reaches its absolute lifetime', function () {
    it('should refuse the refresh however recently it was refreshed', async function (t) {
      const hour = 60 * 60 * 1000
      const app = await useApp(t, express, { accessTokenMaxAge: 60 * 1000, refreshTokenMaxAge: hour, absoluteMaxAge: 2 * hour })
      const c = app.client()
      await login(c, 'alice')
      const minute = 60 * 1000
      let at = 0
      for (const step of [30, 30, 30, 20]) {
        at += step
        app.advance(step * minute)
        assertOk(await c.post(REFRESH_PATH), `refresh after ${at} min`)
      }
      app.advance(15 * minute)
      assertCode(await c.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'refresh after 125 min, 15 min after the last one')
    })
  })

  describe('when a page navigation carries an expired access token', function () {
    it('should 303 to the refresh path, which 303s back with new cookies, and the page renders signed in', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      app.advance(EXPIRE_MS)
      const first = await c.navigate('/page?x=1&y=%C3%A9')
      assert.equal(first.status, 303, first.text)
      const to = resolve(app, first.location)
      assert.equal(to.origin, app.origin)
      assert.equal(to.pathname, REFRESH_PATH)
      assert.equal(to.searchParams.get('to'), '/page?x=1&y=%C3%A9')
      assert.equal(app.hits.page ?? 0, 0, 'the page did not render with an expired token')
      const back = await c.follow(first)
      assert.equal(back.status, 303, back.text)
      assert.deepEqual(back.cookie.split('; ').map((p) => p.split('=')[0]).sort(), [ACCESS, REFRESH].sort())
      shouldSetCookie(back, ACCESS)
      shouldSetCookie(back, REFRESH)
      assert.match(back.headers['cache-control'] ?? '', /no-store/)
      const home = resolve(app, back.location)
      assert.equal(home.origin, app.origin)
      assert.equal(home.pathname + home.search, '/page?x=1&y=%C3%A9')
      const page = await c.follow(back)
      assert.equal(page.status, 200)
      assert.match(page.text, /signed in as alice/)
    })

    it('should also treat Accept: text/html without Sec-Fetch-Mode as a navigation', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      app.advance(EXPIRE_MS)
      const r = await c.get('/page', { headers: { Accept: 'text/html,*/*;q=0.8' } })
      assert.equal(r.status, 303, r.text)
      assert.equal(resolve(app, r.location).pathname, REFRESH_PATH)
      const api = await c.get('/page', { headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'cors' } })
      assertCode(api, 401, 'TRY_REFRESH', 'a fetch() that accepts HTML is not a navigation')
    })

    it('should let a navigation with an invalid token continue without a session, clearing the cookies', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      c.jar.set(ACCESS, 'not-a-token')
      const r = await c.navigate('/page')
      assert.equal(r.status, 200, r.text)
      assert.match(r.text, /anonymous/)
      shouldClearCookies(r, { [ACCESS]: '/' })
    })

    it('should never redirect off-site, whatever "to" says', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const hostile = ['//evil.example', 'https://evil.example', 'http://evil.example/page', '/\\evil.example',
        '\\\\evil.example', '/%2F%2Fevil.example', 'javascript:alert(1)', '//evil.example/%2F..', ' //evil.example',
        '/\t/evil.example', 'http:evil.example', '///evil.example']
      for (const to of hostile) {
        app.advance(EXPIRE_MS)
        const r = await c.navigate(REFRESH_PATH + '?to=' + encodeURIComponent(to), { headers: { 'Sec-Fetch-Site': 'same-origin' } })
        assert.ok(r.status < 500, `to=${to}: ${r.status}`)
        if (r.location !== undefined) {
          assert.equal(resolve(app, r.location).origin, app.origin, `to=${JSON.stringify(to)} redirected to ${r.location}`)
        }
      }
      const me = await c.get('/me')
      assertOk(me, 'still signed in after all that')
    })

    it('should refuse a refresh GET that is not a navigation', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const refreshed = app.events.refreshed.length
      const r = await c.get(REFRESH_PATH)
      assert.ok(r.status >= 400 && r.status < 500, `GET ${REFRESH_PATH} as an API call: ${r.status}`)
      shouldNotSetCookie(r, REFRESH)
      assert.equal(app.events.refreshed.length, refreshed)
    })
  })
})
