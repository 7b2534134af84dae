'use strict'

/**
 * `session.MemoryStore` is express-session's (js/compat/memory-store.js), and the
 * middleware runs on it through the store bridge. What an app written against
 * express-session's MemoryStore observes, over HTTP on Express 5 and 4:
 * - each save is one `set` of the session (the bridge's own records, key ring included,
 *   never reach `set`, `all`, `length` or `clear`);
 * - `get(req.sessionID)` finds the saved session; a new session has its id from the start;
 * - `clear()` (or a `destroy` by other code) ends the session: the next request goes on
 *   with a new one, as under express-session;
 * - an expired session is deleted when read; `touch` replaces only the stored cookie;
 * - while the store is disconnected, requests go on without `req.session`.
 */

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { assertOk, eachExpress, shouldNotSetCookie, session, useApp } = require('./support/apps.js')

/** `fn` of an express-session-style callback method, as a promise. */
function call (store, method, ...args) {
  return new Promise((resolve, reject) => store[method](...args, (err, v) => (err ? reject(err) : resolve(v))))
}

/** An app over a fresh MemoryStore with one more route: `GET path` answered by `handler`. */
async function withRoute (t, express, options, path, handler) {
  const store = new session.MemoryStore()
  const app = await useApp(t, express, { store, ...options }, { setup (a) { a.get(path, handler) } })
  return { app, store }
}

/** Count `store.set` calls (the way express-session's own tests spy on it). */
function countSets (store) {
  const counted = { n: 0 }
  const set = store.set
  store.set = function (...args) {
    counted.n++
    return set.apply(this, args)
  }
  return counted
}

describe('MemoryStore, express-session\'s methods', function () {
  it('should keep sessions as JSON copies, delete expired ones when read, and touch only the cookie', async function () {
    const store = new session.MemoryStore()
    const later = new Date(Date.now() + 60_000).toISOString()
    await call(store, 'set', 'a', { cookie: { expires: later, originalMaxAge: 60_000 }, n: 1 })
    await call(store, 'set', 'b', { cookie: { expires: new Date(Date.now() - 1).toISOString() }, n: 2 })
    await call(store, 'set', 'c', { cookie: {}, n: 3 })
    const a = await call(store, 'get', 'a')
    a.n = 99
    assert.equal((await call(store, 'get', 'a')).n, 1, 'get hands back a copy')
    assert.equal(await call(store, 'get', 'b'), undefined, 'expired: not found')
    assert.equal(store.sessions.b, undefined, 'and deleted')
    assert.deepEqual(Object.keys(await call(store, 'all')).sort(), ['a', 'c'])
    assert.equal(await call(store, 'length'), 2)
    await call(store, 'touch', 'a', { cookie: { expires: later, originalMaxAge: 5 }, n: 7 })
    assert.deepEqual(await call(store, 'get', 'a'), { cookie: { expires: later, originalMaxAge: 5 }, n: 1 })
    await call(store, 'touch', 'gone', { cookie: {} })
    assert.equal(await call(store, 'get', 'gone'), undefined, 'touch does not create')
    await call(store, 'destroy', 'c')
    assert.equal(await call(store, 'length'), 1)
    await call(store, 'clear')
    assert.equal(await call(store, 'length'), 0)
    assert.ok(store instanceof session.Store)
    assert.throws(() => new session.MemoryStore({ maxSessions: 5 }), { name: 'TypeError', message: /NativeMemoryStore/ })
  })
})

eachExpress(function (express) {
  describe('session.MemoryStore under the middleware', function () {
    const idRoutes = {
      setup (a) {
        a.get('/id', (req, res) => res.json({ id: req.sessionID, same: req.session.id === req.sessionID }))
        a.post('/count', (req, res) => {
          req.session.count = (req.session.count ?? 0) + 1
          res.json({ id: req.sessionID, count: req.session.count })
        })
      }
    }

    it('should save a session with one set, under req.sessionID, and keep its own records out of sight', async function (t) {
      const store = new session.MemoryStore()
      const sets = countSets(store)
      const app = await useApp(t, express, { store }, idRoutes)
      const c = app.client()
      const fresh = await c.get('/id')
      assert.match(fresh.json.id, /^[A-Za-z0-9_-]{22}$/, 'a new session has its id from the start')
      assert.equal(fresh.json.same, true)
      shouldNotSetCookie(fresh) // saveUninitialized: false, as the test apps set it
      assert.equal(sets.n, 0, 'nothing saved, and the key ring went elsewhere')
      const first = await c.post('/count')
      assert.deepEqual([first.json.count, sets.n], [1, 1], 'one save, one set')
      const saved = await call(store, 'get', first.json.id)
      assert.ok(saved, 'found under req.sessionID')
      assert.equal(typeof saved.cookie.expires, 'string')
      assert.equal(await call(store, 'length'), 1, 'only the session: the key ring is no session')
      assert.deepEqual(Object.keys(await call(store, 'all')), [first.json.id])
      const second = await c.post('/count')
      assert.deepEqual([second.json.id, second.json.count, sets.n], [first.json.id, 2, 2])
    })

    it('should go on with a new session once the store lost it (clear, or destroy by other code)', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store }, idRoutes)
      const c = app.client()
      const first = await c.post('/count')
      await call(store, 'clear')
      const after = await c.post('/count')
      assertOk(after)
      assert.equal(after.json.count, 1, 'the lost data is gone, not served from a cache')
      assert.notEqual(after.json.id, first.json.id)
      await call(store, 'destroy', after.json.id)
      const me = await c.get('/me')
      assertOk(me)
      assert.deepEqual(me.json.data, {})
      assert.notEqual(me.json.id, after.json.id)
    })

    it('should save nothing when the app made req.sessionID something else than an id, as express-session', async function (t) {
      const { app, store } = await withRoute(t, express, {}, '/bogus', (req, res) => { req.sessionID = () => {}; req.session.a = 1; res.end('ok') })
      const r = await app.client().get('/bogus')
      assert.equal(r.text, 'ok')
      shouldNotSetCookie(r)
      assert.equal(await call(store, 'length'), 0)
    })

    it('should store the cookie\'s expiry, so the store ends a session when its cookie ends', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store, cookie: { maxAge: 1000 } }, idRoutes)
      const c = app.client()
      const first = await c.post('/count')
      const stored = await call(store, 'get', first.json.id)
      const line = first.headers['set-cookie'].find((l) => l.startsWith('connect.sid='))
      const sent = Date.parse(/Expires=([^;]+)/.exec(line)[1])
      assert.ok(Math.abs(Date.parse(stored.cookie.expires) - sent) <= 1500, 'the stored expiry is the cookie\'s')
      assert.equal(stored.cookie.originalMaxAge, 1000)
      const changed = await c.post('/count')
      assert.equal(changed.headers['set-cookie'], undefined, 'a data write over an express-session store keeps the cookie, as express-session')
      await new Promise((resolve) => setTimeout(resolve, 1100))
      const after = await c.post('/count')
      assert.equal(after.json.count, 1, 'expired in the store: a new session')
      assert.notEqual(after.json.id, first.json.id)
    })

    it('should send no Set-Cookie when a session never stored is destroyed', async function (t) {
      const { app, store } = await withRoute(t, express, { unset: 'destroy' }, '/drop', (req, res) => { req.session = null; res.end('dropped') })
      const r = await app.client().get('/drop')
      assert.equal(r.text, 'dropped')
      shouldNotSetCookie(r)
      assert.equal(await call(store, 'length'), 0)
    })

    it('should answer reload() of a session the store lost with express-session\'s message', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store }, {
        setup (a) {
          a.get('/reload-after-clear', (req, res) => store.clear(() => req.session.reload((err) => res.json({ message: err && err.message }))))
        }
      })
      const c = app.client()
      await c.post('/data', { json: { a: 1 } })
      assert.deepEqual((await c.get('/reload-after-clear')).json, { message: 'failed to load session' })
    })

    it('should take the cookie attributes from a cookie function of the request', async function (t) {
      const seen = []
      const app = await useApp(t, express, {
        store: new session.MemoryStore(),
        cookie: (req) => { seen.push(req.url); return { path: '/', maxAge: 120_000, sameSite: 'strict' } }
      })
      const r = await app.client().post('/data', { json: { a: 1 } })
      assertOk(r)
      assert.ok(seen.includes('/data'), 'called with the request')
      const line = r.headers['set-cookie'].find((l) => l.startsWith('connect.sid='))
      assert.match(line, /Max-Age=120;/)
      assert.match(line, /SameSite=Strict/)
      const bad = await useApp(t, express, { store: new session.MemoryStore(), cookie: () => ({ httpOnly: false }) })
      const refused = await bad.client().get('/me')
      assert.equal(refused.status, 500)
      assert.match(refused.json.message, /cookie\.httpOnly/)
    })
  })
})
