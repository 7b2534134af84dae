'use strict'

// What page scripts may learn beside the tokens they cannot read: X-Session-Info (user id
// and access-token expiry, or "ended") and, in cookie mode, the session's CSRF token.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { ACCESS_MS, EXPIRE_MS, REFRESH_PATH, assertCode, assertOk, eachExpress, login, useApp } = require('./support/apps.js')

function info (res) {
  const v = res.headers['x-session-info']
  return v === undefined || v === 'ended' ? v : JSON.parse(decodeURIComponent(v))
}

eachExpress(function (express) {
  describe('X-Session-Info and X-CSRF-Token', function () {
    it('should tell the user and the expiry at login, refresh and writes, and "ended" at logout', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const l = await login(c, 'alice')
      assert.deepEqual(info(l), { userId: 'alice', accessExpires: app.now() + ACCESS_MS })
      assert.equal((await c.get('/me')).headers['x-session-info'], undefined, 'a read that writes no token says nothing')
      app.advance(EXPIRE_MS)
      const r = await c.post(REFRESH_PATH)
      assert.equal(r.status, 200)
      assert.deepEqual(info(r), { userId: 'alice', accessExpires: r.json.accessExpires })
      assert.deepEqual(info(await c.post('/data', { json: { a: 1 } })).userId, 'alice')
      assert.equal(info(await c.post('/logout')), 'ended')
      const bad = await app.client().get('/me', { headers: { Cookie: 'connect.sid=garbage' } })
      assertOk(bad, 'a cookie that is no token of ours is ignored')
      assert.equal(info(bad), 'ended', 'cleared tokens are announced')
    })

    it('should hand a CSRF token that passes the check where no Origin proves the page', async function (t) {
      const app = await useApp(t, express, { csrf: { requireToken: true } })
      const c = app.client()
      const l = await login(c, 'carol')
      const token = l.headers['x-csrf-token']
      assert.equal(typeof token, 'string')
      assertCode(await c.post('/data', { json: { a: 1 }, headers: { Origin: false } }), 403, 'CSRF_INVALID')
      assertOk(await c.post('/data', { json: { a: 1 }, headers: { Origin: false, 'X-CSRF-Token': token } }))
      const other = app.client()
      const o = await login(other, 'dave')
      assertCode(await c.post('/data', { json: { b: 2 }, headers: { Origin: false, 'X-CSRF-Token': o.headers['x-csrf-token'] } }),
        403, 'CSRF_INVALID', 'another session\'s token')
    })

    it('should send no CSRF token in header mode', async function (t) {
      const app = await useApp(t, express)
      const r = await app.client().post('/login', { json: { user: 'erin' }, jar: false, headers: { Origin: false, 'X-Session-Transfer': 'header' } })
      assertOk(r)
      assert.equal(r.headers['x-csrf-token'], undefined)
      assert.equal(info(r).userId, 'erin')
    })
  })
})
