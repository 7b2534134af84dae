'use strict'

// Refresh over HTTP, on Express 5 and 4: an API call with an expired access token gets
// 401 TRY_REFRESH and POSTs the refresh endpoint; a page navigation is refreshed by
// redirects alone (303 to the refresh path and back), and never redirected off-site; a
// navigation another site starts is sent back unrefreshed, or, for a page of ours, through
// a page of ours first (ATK-55). A stolen refresh token used
// first by the thief is theft for both holders, a race within the grace window is not,
// and an emergency signing-key revocation refreshes into the same session.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, ACCESS_MS, EVIL, EXPIRE_MS, GRACE_MS, REFRESH, REFRESH_PATH, assertCode,
  assertNoTokenInBody, assertOk, bothCookies, eachExpress, loggedIn, login, shouldClearCookies,
  shouldNotSetCookie, shouldSetCookie, useApp
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

  describe('when a refresh token is stolen and used first by the thief', function () {
    it('should refuse the victim, then both holders, with TOKEN_THEFT_DETECTED, and fire theft once', async function (t) {
      const app = await useApp(t, express)
      const victim = app.client({ userAgent: 'Victim/1.0' })
      const li = await login(victim, 'alice')
      const attacker = victim.clone({ userAgent: 'curl/8' })
      app.advance(1000)
      const stolen = await attacker.post(REFRESH_PATH)
      assertOk(stolen, 'the thief refreshes first')
      assert.equal(stolen.json.userId, 'alice')
      assertOk(await attacker.get('/me'), 'the thief is in')
      app.advance(GRACE_MS + 1000)
      const r = await victim.post(REFRESH_PATH)
      assertCode(r, 401, 'TOKEN_THEFT_DETECTED', 'victim refresh with the rotated token')
      shouldClearCookies(r, bothCookies())
      const attackerCopy = attacker.clone()
      const api = await attacker.get('/me')
      assertCode(api, 401, 'TOKEN_THEFT_DETECTED', 'the thief\'s next API call')
      shouldClearCookies(api, { [ACCESS]: '/' })
      // With a copy of the thief's cookies from before that call (its 401 cleared them):
      assertCode(await attackerCopy.post(REFRESH_PATH), 401, 'TOKEN_THEFT_DETECTED', 'the thief\'s next refresh')
      assert.equal(app.events.theft.length, 1, 'theft fires exactly once')
      const theft = app.events.theft[0]
      assert.equal(theft.userId, 'alice')
      assert.equal(theft.handle, li.json.id)
      assert.equal(theft.presenter.userAgent, 'Victim/1.0')
      assert.equal(theft.lastDevice.userAgent, 'curl/8')
      assert.deepEqual(await app.s.listSessions('alice'), [])
      assert.ok(app.events.revoked.some((e) => e.handle === li.json.id && e.reason === 'theft'))
    })

    it('should not call a benign race within the grace window theft', async function (t) {
      const app = await useApp(t, express)
      const tab1 = app.client()
      await login(tab1, 'alice')
      const tab2 = tab1.clone()
      app.advance(1000)
      assertOk(await tab1.post(REFRESH_PATH))
      app.advance(GRACE_MS - 2000)
      assertOk(await tab2.post(REFRESH_PATH), 'the other tab, within the grace window')
      assertOk(await tab2.get('/me'))
      assertOk(await tab1.get('/me'))
      assert.equal(app.events.theft.length, 0)
    })
  })

  describe('when the signing key is revoked in an emergency', function () {
    it('should answer TRY_REFRESH, then refresh into the same session', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice', { data: { cart: [1] } })
      const me1 = await c.get('/me')
      assertOk(me1)
      const kid = app.s.currentKid()
      await app.s.revokeSigningKey(kid)
      assertCode(await c.get('/me'), 401, 'TRY_REFRESH', 'an access token signed by the revoked key')
      const r = await c.post(REFRESH_PATH)
      assertOk(r, 'refresh')
      assert.equal(r.json.userId, 'alice')
      assert.notEqual(app.s.currentKid(), kid, 'a new key signs')
      const me2 = await c.get('/me')
      assertOk(me2)
      assert.equal(me2.json.userId, 'alice')
      assert.equal(me2.json.id, me1.json.id, 'same session')
      assert.deepEqual(me2.json.data, { cart: [1] })
    })
  })

  describe('when another site links to the refresh endpoint (ATK-55)', function () {
    // A GET navigation to <refreshPath> that another site started (Sec-Fetch-Site
    // cross-site or same-site; without Fetch Metadata, an Origin or Referer of another
    // site) is sent back to its page, 303, rotating nothing (issue 17, point 7 c). An
    // incoming link to a page of ours with an expired access token would be sent there and
    // back again (every hop of a redirect chain that a cross-site navigation started is
    // cross-site), so the page bounces it through a page of ours, whose navigation is
    // same-origin, and the visitor still arrives signed in.
    const crossSite = { headers: { 'Sec-Fetch-Site': 'cross-site' } }
    const sameOrigin = { headers: { 'Sec-Fetch-Site': 'same-origin' } }

    it('should 303 back to a same-origin path without rotating, reading or clearing anything', async function (t) {
      const app = await useApp(t, express)
      const { c, access, refresh } = await loggedIn(app, 'alice')
      const r = await c.navigate(REFRESH_PATH + '?to=/page', crossSite)
      assert.equal(r.status, 303, r.text)
      assert.equal(r.location, '/page')
      assert.match(r.cookie, new RegExp(`(^|; )${REFRESH.replace('.', '\\.')}=`), 'the Lax refresh cookie was sent')
      shouldNotSetCookie(r)
      assert.equal(r.text, '', 'no body at all')
      assert.match(r.headers['cache-control'] ?? '', /no-store/)
      assert.equal(app.events.refreshed.length, 0, 'nothing rotated')
      assert.equal(c.jar.get(ACCESS).value, access)
      assert.equal(c.jar.get(REFRESH).value, refresh)
      const page = await c.follow(r, crossSite)
      assert.match(page.text, /signed in as alice/, 'the access token was still good')
      for (const to of ['https://evil.example', EVIL + '/page', '//evil.example/page']) {
        const off = await c.navigate(REFRESH_PATH + '?to=' + encodeURIComponent(to), crossSite)
        assert.equal(off.status, 303, off.text)
        assert.equal(off.location, '/', `to=${to}`)
      }
      assert.equal(app.events.refreshed.length, 0, 'still nothing rotated')
      assertOk(await c.post(REFRESH_PATH), 'the refresh token still works')
    })

    it('should judge each way another site can say so, and refresh our own and the user\'s navigations', async function (t) {
      const app = await useApp(t, express)
      const { c } = await loggedIn(app, 'alice')
      const own = app.url
      const rows = [
        ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }, false],
        ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }, false],
        ['Sec-Fetch-Site: cross-site, Referer ours', { 'Sec-Fetch-Site': 'cross-site', Referer: own + '/x' }, false],
        ['no Fetch Metadata, Referer of another site', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, Referer: EVIL + '/a?b' }, false],
        ['no Fetch Metadata, Origin of another site', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, Origin: EVIL }, false],
        ['no Fetch Metadata, Origin null', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, Origin: 'null' }, false],
        ['no Fetch Metadata, an app: Referer', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, Referer: 'android-app://com.evil/' }, false],
        ['Sec-Fetch-Site: same-origin', { 'Sec-Fetch-Site': 'same-origin' }, true],
        ['Sec-Fetch-Site: none (the address bar)', { 'Sec-Fetch-Site': 'none' }, true],
        ['no Fetch Metadata, Referer ours', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, Referer: own + '/page' }, true],
        ['no Fetch Metadata, nothing', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false }, true],
        ['no Fetch Metadata, a Referer that is no URL', { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, Referer: 'not a url' }, true]
      ]
      for (const [what, headers, refreshes] of rows) {
        const before = app.events.refreshed.length
        const r = await c.navigate(REFRESH_PATH + '?to=/page', { headers })
        assert.equal(r.status, 303, what + ': ' + r.text)
        assert.equal(r.location, '/page', what)
        assert.equal(app.events.refreshed.length - before, refreshes ? 1 : 0, what + (refreshes ? ': refreshed' : ': not rotated'))
        if (!refreshes) shouldNotSetCookie(r)
      }
    })

    it('should refresh a link from a trusted origin, and every link with csrf: false', async function (t) {
      const app = await useApp(t, express, { csrf: { trustedOrigins: ['https://admin.example.com'] } })
      const { c } = await loggedIn(app, 'alice')
      const r = await c.navigate(REFRESH_PATH + '?to=/page', { headers: { 'Sec-Fetch-Site': 'same-site', Referer: 'https://admin.example.com/users' } })
      assert.equal(r.status, 303)
      assert.equal(app.events.refreshed.length, 1, 'a trusted origin may refresh')
      const off = await useApp(t, express, { csrf: false })
      const o = await loggedIn(off, 'bo')
      await o.c.navigate(REFRESH_PATH + '?to=/page', crossSite)
      assert.equal(off.events.refreshed.length, 1, 'csrf: false checks nothing, as before')
    })

    it('should bring a visitor who follows a link from another site with an expired token in signed in, through a page of ours', async function (t) {
      const app = await useApp(t, express)
      const { c, refresh } = await loggedIn(app, 'alice')
      app.advance(EXPIRE_MS)
      const first = await c.navigate('/page?x=1&y=%C3%A9', crossSite)
      assert.equal(first.status, 200, first.text)
      assert.match(first.headers['content-type'], /^text\/html/)
      assert.match(first.headers['cache-control'] ?? '', /no-store/)
      shouldNotSetCookie(first)
      assert.equal(app.hits.page ?? 0, 0, 'the page did not run')
      const m = /<meta http-equiv="refresh" content="0; url=([^"]+)">/.exec(first.text)
      assert.ok(m, first.text)
      const next = m[1].replace(/&amp;/g, '&')
      assert.equal(next, REFRESH_PATH + '?to=' + encodeURIComponent('/page?x=1&y=%C3%A9') + '&bounced=1')
      assert.equal(app.events.refreshed.length, 0)
      // The meta refresh is a navigation our own page started.
      const r = await c.navigate(next, { headers: { 'Sec-Fetch-Site': 'same-origin', Referer: app.url + '/page?x=1&y=%C3%A9' } })
      assert.equal(r.status, 303, r.text)
      assert.equal(r.location, '/page?x=1&y=%C3%A9')
      assert.notEqual(shouldSetCookie(r, REFRESH).value, refresh, 'rotated')
      assert.equal(app.events.refreshed.length, 1)
      const page = await c.follow(r, sameOrigin)
      assert.match(page.text, /signed in as alice/)
    })

    it('should answer a bounced navigation that still says cross-site 403, not loop', async function (t) {
      const app = await useApp(t, express)
      const { c } = await loggedIn(app, 'alice')
      app.advance(EXPIRE_MS)
      const r = await c.navigate(REFRESH_PATH + '?to=/page&bounced=1', crossSite)
      assertCode(r, 403, 'CSRF_INVALID')
      shouldNotSetCookie(r)
      assert.equal(app.events.refreshed.length, 0)
    })

    it('should judge the Referer against csrf.origins when the app pins them, not against Host', async function (t) {
      const app = await useApp(t, express, { csrf: { origins: ['https://app.example.com'] } })
      const { c } = await loggedIn(app, 'alice', app.client({ origin: 'https://app.example.com' }))
      const legacy = (headers) => ({ headers: { 'Sec-Fetch-Site': false, 'Sec-Fetch-Mode': false, ...headers } })
      const spoofed = await c.navigate(REFRESH_PATH + '?to=/page', legacy({ Host: 'evil.example', Referer: 'http://evil.example/x' }))
      assert.equal(spoofed.status, 303)
      assert.equal(app.events.refreshed.length, 0, 'a Host spoofed to match the Referer does not make it ours')
      shouldNotSetCookie(spoofed)
      await c.navigate(REFRESH_PATH + '?to=/page', legacy({ Referer: 'https://app.example.com/page' }))
      assert.equal(app.events.refreshed.length, 1, 'the pinned origin refreshes')
    })
  })
})
