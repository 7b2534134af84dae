'use strict'

// The size limit of session data (`maxDataBytes`, 64 KiB by default) over HTTP, on
// Express 5 and 4, on a native store and over an express-session store (the bridge): a
// save that would grow the data past it answers 413 DATA_TOO_LARGE and writes nothing
// (the session keeps its data and keeps working); a save that shrinks oversized data is
// never refused; a cookie-less visitor's too-large first save stores no session; a login
// carrying too much data fails before anything changes. (issue 18: store growth.)

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const session = require('../../js/index.js')
const { assertCode, assertOk, eachExpress, useApp } = require('./support/apps.js')

/** A client logged in as `user`, with `data` written after the login. */
async function loggedIn (app, user, data) {
  const c = app.client()
  assertOk(await c.post('/login', { json: { user } }), 'login')
  if (data) assertOk(await c.post('/data', { json: data }), 'first write')
  return c
}

const STORES = {
  'a native store': () => new session.NativeMemoryStore(),
  'an express-session store': () => new session.MemoryStore()
}

eachExpress(function (express) {
  for (const [name, makeStore] of Object.entries(STORES)) {
    describe(`when a save would grow the session data past maxDataBytes, on ${name}`, function () {
      it('should answer 413 DATA_TOO_LARGE and keep the data as it was', async function (t) {
        const app = await useApp(t, express, { store: makeStore(), maxDataBytes: 1024 })
        const c = await loggedIn(app, 'alice', { note: 'hello' })
        const r = await c.post('/data', { json: { blob: 'x'.repeat(1100) } })
        assertCode(r, 413, 'DATA_TOO_LARGE', 'the oversized save')
        const me = await c.get('/me')
        assertOk(me, 'the session still works')
        assert.equal(me.json.userId, 'alice')
        assert.deepEqual(me.json.data, { note: 'hello' }, 'nothing of the refused save was written')
        assertOk(await c.post('/data', { json: { blob: 'x'.repeat(900) } }), 'a save within the limit')
        assert.equal((await c.get('/me')).json.data.blob.length, 900)
      })

      it('should count what the data adds up to, not one save', async function (t) {
        const app = await useApp(t, express, { store: makeStore(), maxDataBytes: 1024 })
        const c = await loggedIn(app, 'bob')
        for (let i = 0; i < 3; i++) {
          assertOk(await c.post('/data', { json: { ['k' + i]: 'y'.repeat(300) } }), `save ${i}`)
        }
        // Each save is small; together they would pass 1024 bytes.
        assertCode(await c.post('/data', { json: { k3: 'y'.repeat(300) } }), 413, 'DATA_TOO_LARGE')
        assert.deepEqual(Object.keys((await c.get('/me')).json.data).sort(), ['k0', 'k1', 'k2'])
      })
    })
  }

  describe('when the session data is already over the limit', function () {
    it('should accept a save that makes it smaller', async function (t) {
      const store = new session.NativeMemoryStore()
      const wide = await useApp(t, express, { store, maxDataBytes: 4096 })
      const c = await loggedIn(wide, 'carol', { blob: 'x'.repeat(3000), other: 1 })
      // The same store under a smaller limit (the app lowered maxDataBytes).
      const narrow = await useApp(t, express, { store, maxDataBytes: 1024 })
      const moved = narrow.client({ jar: c.jar.clone() })
      assertCode(await moved.post('/data', { json: { more: 1 } }), 413, 'DATA_TOO_LARGE', 'growing oversized data')
      assertOk(await moved.post('/data', { json: { blob: 'short' } }), 'shrinking oversized data')
      assert.deepEqual((await moved.get('/me')).json.data, { blob: 'short', other: 1 })
    })
  })

  describe('when a visitor without a session writes too much', function () {
    it('should store no session and set no session cookie', async function (t) {
      const app = await useApp(t, express, { maxDataBytes: 1024 })
      const c = app.client()
      const r = await c.post('/data', { json: { blob: 'x'.repeat(2000) } })
      assertCode(r, 413, 'DATA_TOO_LARGE')
      assert.deepEqual(c.jar.names(), [], `no cookie: ${JSON.stringify(r.setCookies.map((x) => x.raw))}`)
      const me = await c.get('/me')
      assert.equal(me.json.userId, null)
      assert.deepEqual(me.json.data, {}, 'no session was stored')
    })
  })

  describe('when a login carries more data than the limit', function () {
    it('should fail with 413 and leave the session it would replace logged in', async function (t) {
      const app = await useApp(t, express, { maxDataBytes: 1024 })
      const c = await loggedIn(app, 'dave', { cart: [1, 2] })
      const r = await c.post('/login', { json: { user: 'eve', data: { blob: 'x'.repeat(2000) } } })
      assertCode(r, 413, 'DATA_TOO_LARGE')
      const me = await c.get('/me')
      assert.equal(me.json.userId, 'dave', 'the earlier login stands')
      assert.deepEqual(me.json.data, { cart: [1, 2] })
    })
  })

  describe('with the default limit', function () {
    it('should refuse data past 64 KiB and take data under it', async function (t) {
      const app = await useApp(t, express)
      const c = await loggedIn(app, 'frank')
      assertOk(await c.post('/data', { json: { blob: 'x'.repeat(60_000) } }), '60 kB')
      assertCode(await c.post('/data', { json: { more: 'x'.repeat(6_000) } }), 413, 'DATA_TOO_LARGE', '66 kB')
    })
  })
})

describe('maxDataBytes as an option', function () {
  it('should be refused at setup with a TypeError naming it when out of range or not whole', function () {
    for (const bad of [0, 255, 16_777_217, 1.5, -1, '1024', Infinity]) {
      assert.throws(() => session({ secret: 's'.repeat(32), maxDataBytes: bad }), (e) => {
        assert.ok(e instanceof TypeError, `${bad}: ${e}`)
        assert.match(e.message, /maxDataBytes/, String(bad))
        return true
      })
    }
  })
})
