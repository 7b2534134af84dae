'use strict'

// Session data over HTTP, on Express 5 and 4: anonymous sessions and what login does
// with their data, no lost update between concurrent requests, and data saved before
// the response (so a redirect's next request sees it).

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, EXPIRE_MS, REFRESH_PATH,
  assertCode, assertOk, eachExpress, login, shouldSetCookie, useApp
} = require('./support/apps.js')

eachExpress(function (express) {
  describe('when an anonymous visitor puts data in the session', function () {
    it('should keep it across requests, with no user', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const first = await c.post('/data', { json: { cart: [1], theme: 'dark' } })
      assertOk(first)
      shouldSetCookie(first, ACCESS)
      assert.equal(first.json.userId, null)
      const id = (await c.get('/me')).json.id
      assert.equal(typeof id, 'string')
      assertOk(await c.post('/data', { json: { cart: [1, 2] } }))
      const me = await c.get('/me')
      assert.deepEqual([me.json.userId, me.json.id, me.json.data], [null, id, { cart: [1, 2], theme: 'dark' }])
      assert.equal(app.events.created.length, 1)
      assert.equal(app.events.created[0].userId, null)
    })

    it('should remove a key set to null', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await c.post('/data', { json: { a: 1, b: 2 } })
      assertOk(await c.post('/data', { json: { a: null } }))
      assert.deepEqual((await c.get('/me')).json.data, { b: 2 })
    })

    it('should start the logged-in session empty without keepData', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await c.post('/data', { json: { cart: [1] } })
      const anonId = (await c.get('/me')).json.id
      const li = await login(c, 'alice')
      assert.equal(li.json.before, anonId)
      assert.deepEqual(li.json.data, {})
      const me = await c.get('/me')
      assert.deepEqual([me.json.userId, me.json.data], ['alice', {}])
    })

    it('should carry the data over with keepData, into a new session', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await c.post('/data', { json: { cart: [1], theme: 'dark' } })
      const anonId = (await c.get('/me')).json.id
      const li = await login(c, 'alice', { keepData: true })
      assert.notEqual(li.json.id, anonId)
      const me = await c.get('/me')
      assert.deepEqual([me.json.userId, me.json.id, me.json.data], ['alice', li.json.id, { cart: [1], theme: 'dark' }])
      assert.equal(await app.s.engine.get(anonId), null, 'the anonymous session is gone')
    })

    it('should survive a refresh of the anonymous session', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await c.post('/data', { json: { cart: [1] } })
      app.advance(EXPIRE_MS)
      assertCode(await c.get('/me'), 401, 'TRY_REFRESH', 'anonymous session, expired access token')
      const r = await c.post(REFRESH_PATH)
      assertOk(r)
      assert.equal(r.json.userId, null)
      assert.deepEqual((await c.get('/me')).json.data, { cart: [1] })
    })
  })

  describe('when a user logs in with app claims', function () {
    it('should carry them in the access token as req.session.claims, across a refresh', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      assert.deepEqual((await c.get('/me')).json.claims, {}, 'anonymous: no claims')
      await login(c, 'alice', { claims: { role: 'editor', org: 7 } })
      assert.deepEqual((await c.get('/me')).json.claims, { role: 'editor', org: 7 })
      app.advance(EXPIRE_MS)
      assertOk(await c.post(REFRESH_PATH))
      assert.deepEqual((await c.get('/me')).json.claims, { role: 'editor', org: 7 })
    })
  })

  describe('when two requests change the session at once', function () {
    it('should keep both changes to different keys', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice', { data: { a: 0, b: 0, keep: 'me' } })
      const slow = c.post('/slow-save?gate=A', { json: { a: 1 } })
      await app.gates.arrived('A')
      const fast = await c.post('/data', { json: { b: 2 } })
      assertOk(fast)
      app.gates.open('A')
      const r = await slow
      assertOk(r)
      assert.deepEqual(r.json.seen.data, { a: 0, b: 0, keep: 'me' }, 'A loaded the session before B wrote')
      const me = await c.get('/me')
      assert.deepEqual(me.json.data, { a: 1, b: 2, keep: 'me' })
    })

    it('should keep all of ten concurrent writers\' keys', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const writers = []
      for (let i = 0; i < 10; i++) writers.push(c.post(`/slow-save?gate=w${i}`, { json: { ['k' + i]: i } }))
      for (let i = 0; i < 10; i++) await app.gates.arrived('w' + i)
      for (let i = 9; i >= 0; i--) app.gates.open('w' + i)
      for (const r of await Promise.all(writers)) assertOk(r)
      const me = await c.get('/me')
      assert.deepEqual(me.json.data, Object.fromEntries(Array.from({ length: 10 }, (_, i) => ['k' + i, i])))
    })
  })

  describe('when a route changes the session and redirects', function () {
    it('should have saved the change before the redirect goes out', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const r = await c.post('/flash', { json: { flash: 'saved!' } })
      assert.equal(r.status, 302)
      shouldSetCookie(r, ACCESS) // re-signed for the new data version: commit ran before the headers went out
      const next = await c.get(r.location)
      assertOk(next)
      assert.equal(next.json.data.flash, 'saved!')
      const other = c.clone()
      assert.equal((await other.get('/me')).json.data.flash, 'saved!', 'also for another request with the same cookies')
    })

    it('should re-sign the access token with the new data version on the response', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const before = c.jar.get(ACCESS).value
      const r = await c.post('/data', { json: { x: 1 } })
      const at = shouldSetCookie(r, ACCESS)
      assert.notEqual(at.value, before)
      const me = await c.get('/me')
      assert.deepEqual(me.json.data, { x: 1 })
    })
  })
})
