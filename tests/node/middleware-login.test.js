'use strict'

// Login over HTTP, on Express 5 and 4: where each cookie goes, and why a session planted
// before login is useless after it (session fixation).

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { cookieNames } = require('./support/http-client.js')
const {
  ACCESS, REFRESH, REFRESH_PATH, assertCode, assertNoTokenInBody, assertOk, eachExpress, login,
  shouldSetCookie, useApp
} = require('./support/apps.js')

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
})
