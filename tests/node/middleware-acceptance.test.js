'use strict'

// Acceptance scenarios of the Express middleware over HTTP, on Express 5 and 4: where
// each cookie goes, refresh-token theft, session fixation, cross-site requests, an
// emergency signing-key revocation, and a slow request racing a logout.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { cookieNames } = require('./support/http-client.js')
const {
  ACCESS, EVIL, GRACE_MS, REFRESH, REFRESH_PATH,
  assertCode, assertNoTokenInBody, assertOk, bothCookies, eachExpress, login,
  shouldClearCookies, shouldNotSetCookie, shouldSetCookie, useApp
} = require('./support/apps.js')

/** The data and data version the store holds for a session (null when it is gone). */
async function stored (app, handle) {
  const s = await app.s.engine.get(handle)
  return s && { data: s.data, dataVersion: s.dataVersion }
}

eachExpress(function (express) {
  describe('when a user logs in', function () {
    it('should set an HttpOnly Lax access cookie on / and an HttpOnly refresh cookie on the refresh path only', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const res = await login(c, 'alice')
      const at = shouldSetCookie(res, ACCESS)
      assert.equal(at.pathAttribute, '/')
      assert.equal(at.httpOnly, true)
      assert.equal(String(at.sameSite).toLowerCase(), 'lax')
      assert.equal(at.secure, false, 'plain http with secure: auto')
      assert.equal(at.hostOnly, true, 'host-only (no Domain)')
      const rt = shouldSetCookie(res, REFRESH)
      assert.equal(rt.pathAttribute, REFRESH_PATH)
      assert.equal(rt.httpOnly, true)
      assert.match(res.headers['cache-control'] ?? '', /no-store/)
      assertNoTokenInBody(res, [at.value, rt.value])
      assert.deepEqual(c.jar.names(), [ACCESS, REFRESH])
    })

    it('should send only the access cookie to every path but the refresh endpoint', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const calls = [
        ['GET', '/me'], ['POST', '/data', { json: { a: 1 } }], ['GET', '/page'], ['GET', '/plain'],
        ['GET', '/session'], ['GET', '/session/refreshx'], ['GET', '/me?to=' + REFRESH_PATH]
      ]
      for (const [method, path, opts] of calls) {
        const r = await c.request(method, path, opts)
        assert.deepEqual(cookieNames(r.cookie), [ACCESS], `Cookie header of ${method} ${path}`)
        assert.notEqual(r.status, 500, `${method} ${path}`)
      }
      const me = await c.get('/me')
      assertOk(me)
      assert.equal(me.json.userId, 'alice')
      assert.deepEqual(me.json.data, { a: 1 })
      const r = await c.post(REFRESH_PATH)
      assert.deepEqual(cookieNames(r.cookie), [REFRESH, ACCESS], 'the refresh endpoint gets the refresh cookie')
      assertOk(r, 'refresh')
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

  describe('when a session is planted before login', function () {
    it('should make the planted copy useless once the victim logs in', async function (t) {
      const app = await useApp(t, express)
      const attacker = app.client()
      const planted = await attacker.post('/data', { json: { planted: true } })
      assertOk(planted)
      shouldSetCookie(planted, ACCESS)
      const anonId = (await attacker.get('/me')).json.id
      assert.equal(typeof anonId, 'string', 'the anonymous session is stored')
      const victim = attacker.clone()
      const li = await login(victim, 'alice')
      assert.notEqual(li.json.id, anonId, 'login gives a new session id')
      assertCode(await attacker.get('/me'), 401, 'UNAUTHORISED', 'the planted access token')
      assertCode(await attacker.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'the planted refresh token')
      const me = await victim.get('/me')
      assertOk(me)
      assert.equal(me.json.userId, 'alice')
      assert.equal(me.json.id, li.json.id)
      assert.deepEqual(me.json.data, {}, 'no data carried over without keepData')
      assert.ok(app.events.revoked.some((e) => e.handle === anonId && e.reason === 'login'))
    })
  })

  describe('when a request comes from another site', function () {
    it('should refuse a cross-site POST with 403 CSRF_INVALID and no side effect', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const li = await login(c, 'alice')
      assertOk(await c.post('/data', { json: { n: 1 } }), 'same-origin POST (Origin is the app\'s)')
      const token = (await c.get('/csrf')).json.token
      const before = await stored(app, li.json.id)
      const hits = app.hits.data
      const refreshed = app.events.refreshed.length
      const attempts = [
        ['a foreign Origin', { Origin: EVIL }],
        ['Origin: null', { Origin: 'null' }],
        ['Sec-Fetch-Site: cross-site', { Origin: false, 'Sec-Fetch-Site': 'cross-site' }],
        ['Sec-Fetch-Site: same-site', { Origin: false, 'Sec-Fetch-Site': 'same-site' }],
        ['a foreign Origin with a valid CSRF token', { Origin: EVIL, 'X-CSRF-Token': token }],
        ['a foreign Origin that starts like ours', { Origin: app.origin + '.evil.example' }]
      ]
      for (const [what, headers] of attempts) {
        const r = await c.post('/data', { json: { n: 666 }, headers })
        assertCode(r, 403, 'CSRF_INVALID', what)
        shouldNotSetCookie(r)
        assertCode(await c.post('/logout', { headers }), 403, 'CSRF_INVALID', 'logout, ' + what)
        assertCode(await c.post(REFRESH_PATH, { headers }), 403, 'CSRF_INVALID', 'refresh, ' + what)
      }
      assert.equal(app.hits.data, hits, 'the route never ran')
      assert.equal(app.hits.logout ?? 0, 0)
      assert.equal(app.events.refreshed.length, refreshed, 'no refresh happened')
      assert.deepEqual(await stored(app, li.json.id), before, 'no store write')
      const me = await c.get('/me')
      assert.equal(me.json.userId, 'alice', 'still logged in')
      assert.deepEqual(me.json.data, { n: 1 })
    })

    it('should ask a stored cookie session for a same-origin proof or a valid CSRF token', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const none = await c.post('/data', { json: { n: 2 }, headers: { Origin: false } })
      assertCode(none, 403, 'CSRF_INVALID', 'no Origin, no Sec-Fetch-Site, no token')
      const bad = await c.post('/data', { json: { n: 2 }, headers: { Origin: false, 'X-CSRF-Token': 'garbage' } })
      assertCode(bad, 403, 'CSRF_INVALID', 'a garbage token')
      const other = app.client()
      await login(other, 'bob')
      const bobs = (await other.get('/csrf')).json.token
      assertCode(await c.post('/data', { json: { n: 2 }, headers: { Origin: false, 'X-CSRF-Token': bobs } }),
        403, 'CSRF_INVALID', 'a token of another session')
      assert.equal(app.hits.data ?? 0, 0)

      const token = (await c.get('/csrf')).json.token
      assert.equal(typeof token, 'string')
      const byHeader = await c.post('/data', { json: { n: 2 }, headers: { Origin: false, 'X-CSRF-Token': token } })
      assertOk(byHeader, 'X-CSRF-Token')
      const byForm = await c.post('/data', { form: { m: 'x', _csrf: token }, headers: { Origin: false } })
      assertOk(byForm, '_csrf form field')
      const byFetchMetadata = await c.post('/data', { json: { k: 1 }, headers: { Origin: false, 'Sec-Fetch-Site': 'same-origin' } })
      assertOk(byFetchMetadata, 'Sec-Fetch-Site: same-origin')
      const me = await c.get('/me')
      assert.deepEqual(me.json.data, { n: 2, m: 'x', k: 1 })
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

  describe('when a slow request saves after a logout', function () {
    it('should keep the session gone', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const li = await login(c, 'alice')
      const stale = c.clone()
      const slow = c.post('/slow-save?gate=A', { json: { late: 'write' } })
      await app.gates.arrived('A')
      const out = await c.post('/logout')
      assertOk(out, 'logout')
      shouldClearCookies(out, bothCookies())
      app.gates.open('A')
      const a = await slow
      assert.notEqual(a.status, 500, a.text)
      shouldClearCookies(a, bothCookies())
      const me = await c.get('/me')
      assert.ok(me.status === 401 || (me.status === 200 && me.json.userId === null && me.json.data?.late === undefined),
        `after logout: ${me.status} ${me.text}`)
      assertCode(await stale.get('/me'), 401, 'UNAUTHORISED', 'the cookies from before the logout')
      assertCode(await stale.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'the refresh cookie from before the logout')
      assert.deepEqual(await app.s.listSessions('alice'), [])
      assert.equal(await stored(app, li.json.id), null)
    })
  })
})
