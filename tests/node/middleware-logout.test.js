'use strict'

// Logout over HTTP, on Express 5 and 4: destroy() revokes the session and clears both
// cookies, and a slow request that saves after the logout brings nothing back.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  REFRESH_PATH, assertCode, assertOk, bothCookies, eachExpress, login, shouldClearCookies, stored,
  useApp
} = require('./support/apps.js')

eachExpress(function (express) {
  describe('req.session.destroy()', function () {
    it('should revoke the session, clear both cookies on their paths and leave req.session undefined', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const li = await login(c, 'alice')
      const old = c.clone()
      const r = await c.post('/logout')
      assertOk(r)
      assert.equal(r.json.after, 'undefined')
      shouldClearCookies(r, bothCookies())
      assert.deepEqual(c.jar.names(), [], 'the browser holds no cookie any more')
      const me = await c.get('/me')
      assertOk(me)
      assert.equal(me.json.userId, null)
      assertCode(await old.get('/me'), 401, 'UNAUTHORISED')
      assert.deepEqual(await app.s.listSessions('alice'), [])
      assert.ok(app.events.revoked.some((e) => e.handle === li.json.id && e.reason === 'logout' && e.userId === 'alice'))
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
