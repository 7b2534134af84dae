'use strict'

// The Session methods in both styles (node callback and promise), req.sessionID, and
// what regenerate(), reload() and save() do, modelled on express-session's own tests,
// on Express 5 and 4. destroy() is in middleware-logout, create() in middleware-login.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { cookieNames } = require('./support/http-client.js')
const {
  ACCESS, REFRESH, REFRESH_PATH, assertCode, assertOk, eachExpress, login, session,
  shouldSetCookie, useApp
} = require('./support/apps.js')

const METHODS = ['create', 'regenerate', 'destroy', 'reload', 'save', 'touch']

eachExpress(function (express) {
  describe('the session methods', function () {
    for (const name of METHODS) {
      for (const style of ['cb', 'promise']) {
        it(`should run ${name}() with ${style === 'cb' ? 'a callback (and still return a promise)' : 'a promise'}`, async function (t) {
          const app = await useApp(t, express)
          const c = app.client()
          const li = await login(c, 'alice', { data: { a: 1 } })
          const r = await c.post(`/method/${name}?style=${style}`, { json: { user: 'bob' } })
          assertOk(r, `${name} (${style})`)
          assert.equal(r.json.err, null, `${name} (${style}) error: ${JSON.stringify(r.json.err)}`)
          assert.equal(r.json.thenable, true, `${name} returns a promise`)
          if (style === 'cb') assert.equal(r.json.calls, 1, 'the callback runs exactly once')
          assert.equal(r.json.idBefore, li.json.id)
          const me = await c.get('/me')
          switch (name) {
            case 'create':
              assert.equal(r.json.userId, 'bob')
              assert.notEqual(r.json.id, li.json.id)
              assert.deepEqual(r.json.data, {})
              assert.equal(me.json.userId, 'bob')
              break
            case 'regenerate':
              assert.equal(r.json.userId, 'alice')
              assert.notEqual(r.json.id, li.json.id)
              assert.deepEqual(r.json.data, {})
              assert.equal(me.json.id, r.json.id)
              break
            case 'destroy':
              assert.equal(r.json.id, null, 'req.session is gone')
              assert.equal(me.json.userId, null)
              break
            default:
              assert.equal(r.json.id, li.json.id)
              assert.deepEqual(r.json.data, { a: 1 })
              assert.deepEqual([me.json.userId, me.json.id], ['alice', li.json.id])
          }
          if (name === 'touch') shouldSetCookie(r, ACCESS)
          if (r.json.sessionIdMatches !== null) assert.equal(r.json.sessionIdMatches, true, 'req.sessionID follows req.session.id')
        })
      }
    }

    it('should pass an error to the callback and reject the promise, with a code', async function (t) {
      for (const style of ['cb', 'promise']) {
        const app = await useApp(t, express)
        const c = app.client()
        await login(c, 'alice')
        const slow = c.post(`/reload?gate=G&style=${style}`)
        await app.gates.arrived('G')
        await app.s.revokeUserSessions('alice')
        app.gates.open('G')
        const r = await slow
        assert.equal(r.json?.err?.code, 'SESSION_REVOKED', `${style}: ${r.text}`)
      }
    })
  })

  describe('req.sessionID', function () {
    it('should be the id a new session will be stored under, and the handle after; req.sessionStore is the store', async function (t) {
      const store = new session.NativeMemoryStore()
      const app = await useApp(t, express, { store }, {
        setup (a) { a.get('/store', (req, res) => res.json({ same: req.sessionStore === store })) }
      })
      assert.deepEqual((await app.client().get('/store')).json, { same: true })
      const c = app.client()
      const anon = await c.get('/me')
      assert.match(anon.json.sessionID, /^[A-Za-z0-9_-]{22}$/, 'a string from the start, as in express-session')
      assert.equal(anon.json.id, anon.json.sessionID)
      const li = await login(c, 'alice')
      assert.notEqual(li.json.id, anon.json.id, 'a login gets a new id')
      assert.equal(li.json.sessionID, li.json.id, 'set by create() within the request')
      const r = await c.get('/session-id')
      assert.deepEqual(r.json, { sessionID: li.json.id, id: li.json.id, same: true })
    })
  })

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
})
