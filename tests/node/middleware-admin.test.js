'use strict'

// The session() object's admin side over HTTP, on Express 5 and 4: a user's sessions
// with their devices, revoking one or all but one, and the events created, refreshed,
// revoked.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, REFRESH_PATH,
  assertCode, assertOk, eachExpress, login, shouldClearCookies, useApp
} = require('./support/apps.js')

eachExpress(function (express) {
  describe('listSessions()', function () {
    it('should list a user\'s sessions with their devices', async function (t) {
      const app = await useApp(t, express)
      const laptop = app.client({ userAgent: 'Laptop/1.0' })
      const phone = app.client({ userAgent: 'Phone/2.0' })
      const a = await login(laptop, 'alice')
      app.advance(1000)
      const b = await login(phone, 'alice')
      await login(app.client(), 'bob')
      const list = await app.s.listSessions('alice')
      assert.deepEqual(list.map((s) => s.handle).sort(), [a.json.id, b.json.id].sort())
      for (const s of list) {
        const ua = s.handle === a.json.id ? 'Laptop/1.0' : 'Phone/2.0'
        assert.equal(s.userId, 'alice')
        assert.equal(s.createdDevice.userAgent, ua)
        assert.match(String(s.createdDevice.ip), /127\.0\.0\.1/)
        assert.equal(s.lastDevice.userAgent, ua)
        assert.equal(typeof s.createdAt, 'number')
        assert.ok(s.expiresAt > s.createdAt)
      }
      assert.deepEqual(await app.s.listSessions('nobody'), [])
    })

    it('should keep a device\'s IP only when it parses as one, and 512 characters of its User-Agent', async function (t) {
      // issue 18: a client-made X-Forwarded-For or User-Agent of any length was stored whole.
      const app = await useApp(t, express, {}, { trustProxy: true })
      const long = app.client({ userAgent: 'U'.repeat(3000) })
      assertOk(await long.post('/login', { json: { user: 'alice' }, headers: { 'X-Forwarded-For': 'x'.repeat(5000) } }))
      const plain = app.client({ userAgent: 'Phone/2.0' })
      assertOk(await plain.post('/login', { json: { user: 'bob' }, headers: { 'X-Forwarded-For': '203.0.113.9' } }))
      const [a] = await app.s.listSessions('alice')
      assert.equal(a.createdDevice.userAgent, 'U'.repeat(512))
      assert.equal(a.createdDevice.ip ?? null, null, 'not an IP: not kept')
      const [b] = await app.s.listSessions('bob')
      assert.deepEqual([b.createdDevice.ip, b.createdDevice.userAgent], ['203.0.113.9', 'Phone/2.0'])
    })

    it('should record the device of the last refresh', async function (t) {
      const app = await useApp(t, express)
      const c = app.client({ userAgent: 'Old/1.0' })
      const li = await login(c, 'alice')
      app.advance(5000)
      c.userAgent = 'New/2.0'
      assertOk(await c.post(REFRESH_PATH))
      const [s] = await app.s.listSessions('alice')
      assert.equal(s.handle, li.json.id)
      assert.equal(s.createdDevice.userAgent, 'Old/1.0')
      assert.equal(s.lastDevice.userAgent, 'New/2.0')
      assert.equal(s.lastRefreshAt, app.now())
    })
  })

  describe('revokeSession() and revokeUserSessions()', function () {
    it('should log out every other device with except, and that device\'s next request is 401 UNAUTHORISED', async function (t) {
      const app = await useApp(t, express)
      const devices = [app.client({ userAgent: 'A' }), app.client({ userAgent: 'B' }), app.client({ userAgent: 'C' })]
      const ids = []
      for (const d of devices) ids.push((await login(d, 'alice')).json.id)
      const revoked = await app.s.revokeUserSessions('alice', { except: ids[0] })
      assert.deepEqual([...revoked].sort(), [ids[1], ids[2]].sort())
      assertOk(await devices[0].get('/me'))
      for (const d of devices.slice(1)) {
        assertCode(await d.get('/me'), 401, 'UNAUTHORISED')
        assertCode(await d.post(REFRESH_PATH), 401, 'UNAUTHORISED')
      }
      assert.deepEqual((await app.s.listSessions('alice')).map((s) => s.handle), [ids[0]])
      assert.deepEqual(app.events.revoked.filter((e) => e.reason === 'admin').map((e) => e.handle).sort(), [ids[1], ids[2]].sort())
      assert.equal(app.events.theft.length, 0, 'an admin revocation is not a theft')
    })

    it('should revoke one device, once', async function (t) {
      const app = await useApp(t, express)
      const phone = app.client()
      const laptop = app.client()
      const p = await login(phone, 'alice')
      await login(laptop, 'alice')
      assert.equal(await app.s.revokeSession(p.json.id), true)
      assert.equal(await app.s.revokeSession(p.json.id), false)
      const r = await phone.get('/me')
      assertCode(r, 401, 'UNAUTHORISED', 'the revoked device')
      shouldClearCookies(r, { [ACCESS]: '/' })
      assertOk(await laptop.get('/me'))
      assert.deepEqual(app.events.revoked.filter((e) => e.handle === p.json.id).map((e) => [e.reason, e.userId]), [['admin', 'alice']])
    })

    it('should revoke all of a user\'s sessions without except', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      await login(app.client(), 'alice')
      assert.equal((await app.s.revokeUserSessions('alice')).length, 2)
      assertCode(await c.get('/me'), 401, 'UNAUTHORISED')
      assert.deepEqual(await app.s.revokeUserSessions('alice'), [])
    })
  })

  describe('events', function () {
    it('should fire created, refreshed and revoked with their details', async function (t) {
      const app = await useApp(t, express)
      const c = app.client({ userAgent: 'Events/1.0' })
      await c.post('/data', { json: { a: 1 } })
      const anon = await c.get('/me')
      assert.equal(app.events.created.length, 1)
      assert.equal(app.events.created[0].handle, anon.json.id)
      assert.equal(app.events.created[0].userId, null)
      const li = await login(c, 'alice')
      assert.equal(app.events.created.length, 2)
      const created = app.events.created[1]
      assert.deepEqual([created.handle, created.userId, created.device.userAgent], [li.json.id, 'alice', 'Events/1.0'])
      assert.match(String(created.device.ip), /127\.0\.0\.1/)
      assert.deepEqual(app.events.revoked.map((e) => [e.handle, e.userId, e.reason]), [[anon.json.id, null, 'login']])
      app.advance(1000)
      assertOk(await c.post(REFRESH_PATH))
      assert.deepEqual(app.events.refreshed.map((e) => [e.handle, e.userId]), [[li.json.id, 'alice']])
      const rg = await c.post('/regenerate')
      assertOk(await c.post('/logout'))
      assert.deepEqual(app.events.revoked.map((e) => [e.handle, e.userId, e.reason]), [
        [anon.json.id, null, 'login'],
        [li.json.id, 'alice', 'regenerate'],
        [rg.json.id, 'alice', 'logout']
      ])
      assert.equal(app.events.created.length, 3, 'regenerate created a session')
      assert.equal(app.events.theft.length, 0)
    })

    it('should support on, once and off', async function (t) {
      const app = await useApp(t, express)
      const seen = []
      const listener = (e) => seen.push(e.userId)
      app.s.on('created', listener)
      let once = 0
      app.s.once('created', () => once++)
      await login(app.client(), 'u1')
      app.s.off('created', listener)
      await login(app.client(), 'u2')
      assert.deepEqual(seen, ['u1'])
      assert.equal(once, 1)
    })
  })
})
