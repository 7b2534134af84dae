'use strict'

// express-session's behaviours carried over, on Express 5 and 4, modelled on
// express-session's own tests: regenerate, destroy (which here clears the cookies),
// reload, save, touch and rolling, saveUninitialized, and unset.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, REFRESH, REFRESH_PATH,
  assertCode, assertOk, bothCookies, eachExpress, login,
  shouldClearCookies, shouldNotSetCookie, shouldSetCookie, useApp
} = require('./support/apps.js')

eachExpress(function (express) {
  describe('req.session.regenerate()', function () {
    it('should give a new id and empty data for the same user, and reject the old session\'s tokens', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice', { data: { a: 1 } })
      const old = c.clone()
      const r = await c.post('/regenerate')
      assertOk(r)
      assert.equal(typeof r.json.id, 'string')
      assert.notEqual(r.json.id, r.json.before)
      assert.equal(r.json.userId, 'alice')
      assert.deepEqual(r.json.data, {})
      assert.equal(r.json.sessionID, r.json.id)
      shouldSetCookie(r, ACCESS)
      shouldSetCookie(r, REFRESH)
      const me = await c.get('/me')
      assert.deepEqual([me.json.id, me.json.userId, me.json.data], [r.json.id, 'alice', {}])
      assertCode(await old.get('/me'), 401, 'UNAUTHORISED', 'old access token')
      assertCode(await old.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'old refresh token')
      assert.ok(app.events.revoked.some((e) => e.handle === r.json.before && e.reason === 'regenerate'))
    })

    it('should regenerate an anonymous session into another anonymous one', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await c.post('/data', { json: { a: 1 } })
      const first = await c.get('/me')
      const r = await c.post('/regenerate')
      assertOk(r)
      assert.equal(r.json.userId, null)
      assert.equal(r.json.before, first.json.id)
      assert.notEqual(r.json.id, first.json.id)
      assert.deepEqual(r.json.data, {})
    })
  })

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

  describe('req.session.reload()', function () {
    it('should re-read data that another request changed meanwhile', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice', { data: { x: 1 } })
      const slow = c.post('/reload?gate=R')
      await app.gates.arrived('R')
      assertOk(await c.post('/data', { json: { x: 2, y: 3 } }))
      app.gates.open('R')
      const r = await slow
      assertOk(r)
      assert.deepEqual(r.json.seen.data, { x: 1 })
      assert.equal(r.json.err, null)
      assert.deepEqual(r.json.data, { x: 2, y: 3 })
    })

    for (const style of ['promise', 'cb']) {
      it(`should fail with SESSION_REVOKED when the session was destroyed meanwhile (${style})`, async function (t) {
        const app = await useApp(t, express)
        const c = app.client()
        await login(c, 'alice')
        const slow = c.post(`/reload?gate=R&style=${style}`)
        await app.gates.arrived('R')
        assertOk(await c.post('/logout'))
        app.gates.open('R')
        const r = await slow
        assert.equal(r.json?.err?.code, 'SESSION_REVOKED', r.text)
      })
    }
  })

  describe('req.session.save()', function () {
    it('should make the data visible to a concurrent request before the response ends', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const slow = c.post('/save-wait?gate=S', { json: { saved: 'early' } })
      await app.gates.arrived('S')
      const other = await c.get('/me')
      assertOk(other)
      assert.deepEqual(other.json.data, { saved: 'early' })
      app.gates.open('S')
      assertOk(await slow)
    })

    it('should store an anonymous session on its first save with data', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const slow = c.post('/save-wait?gate=S', { json: { cart: [1] } })
      await app.gates.arrived('S')
      app.gates.open('S')
      const r = await slow
      assertOk(r)
      assert.equal(typeof r.json.id, 'string')
      shouldSetCookie(r, ACCESS)
      const me = await c.get('/me')
      assert.deepEqual([me.json.id, me.json.data], [r.json.id, { cart: [1] }])
    })
  })

  describe('when the session is unchanged', function () {
    it('should send no Set-Cookie without rolling', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const r = await c.get('/me')
      assertOk(r)
      shouldNotSetCookie(r)
    })

    it('should re-send the access cookie on every response with rolling, same session', async function (t) {
      const app = await useApp(t, express, { rolling: true })
      const c = app.client()
      const li = await login(c, 'alice')
      for (let i = 0; i < 3; i++) {
        app.advance(1000)
        const r = await c.get('/me')
        assertOk(r)
        shouldSetCookie(r, ACCESS)
        shouldNotSetCookie(r, REFRESH)
        assert.equal(r.json.id, li.json.id)
      }
    })

    it('should re-send the access cookie with a fresh Max-Age on touch()', async function (t) {
      const app = await useApp(t, express, { cookie: { maxAge: 60 * 60 * 1000 } })
      const c = app.client()
      await login(c, 'alice')
      app.advance(1000)
      const r = await c.post('/touch')
      assertOk(r)
      const at = shouldSetCookie(r, ACCESS)
      assert.equal(at.maxAge, 3600)
    })
  })

  describe('saveUninitialized', function () {
    it('should send no cookie and store nothing for an untouched session when false (default)', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const r = await c.get('/me')
      assertOk(r)
      shouldNotSetCookie(r)
      assert.equal(r.json.id, null)
      assert.equal(r.json.userId, null)
      assert.equal(app.events.created.length, 0)
    })

    it('should store an empty anonymous session and send its cookie when true', async function (t) {
      const app = await useApp(t, express, { saveUninitialized: true })
      const c = app.client()
      const r = await c.get('/me')
      assertOk(r)
      shouldSetCookie(r, ACCESS)
      const again = await c.get('/me')
      assert.equal(typeof again.json.id, 'string')
      assert.equal(again.json.userId, null)
      assert.deepEqual(again.json.data, {})
    })
  })

  describe('unset', function () {
    for (const how of ['delete', 'null']) {
      it(`should keep the session when 'keep' (default) and the route does ${how}`, async function (t) {
        const app = await useApp(t, express)
        const c = app.client()
        const li = await login(c, 'alice', { data: { a: 1 } })
        const r = await c.post('/unset', { json: { how } })
        assertOk(r)
        shouldNotSetCookie(r)
        const me = await c.get('/me')
        assert.deepEqual([me.json.userId, me.json.id, me.json.data], ['alice', li.json.id, { a: 1 }])
      })

      it(`should destroy the session when 'destroy' and the route does ${how}`, async function (t) {
        const app = await useApp(t, express, { unset: 'destroy' })
        const c = app.client()
        await login(c, 'alice', { data: { a: 1 } })
        const old = c.clone()
        const r = await c.post('/unset', { json: { how } })
        assertOk(r)
        shouldClearCookies(r, bothCookies())
        assertCode(await old.get('/me'), 401, 'UNAUTHORISED')
        assert.deepEqual(await app.s.listSessions('alice'), [])
      })
    }
  })
})
