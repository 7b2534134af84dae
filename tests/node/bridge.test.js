'use strict'

/**
 * The engine on an express-session store (the bridge): express-session's own MemoryStore,
 * a store an app wrote on session.Store (callbacks, later or at once), one that returns
 * promises; what such a store sees (one set per save, destroy at logout, session objects
 * whose cookie.expires is the session's expiry); races within the process (no false theft,
 * no resurrection); a store that fails or disconnects answers 503, never a 500, and never
 * shows the store's own error text. Over connect-redis and connect-pg-simple on real
 * servers: bridge-servers.test.js.
 */

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  EXPIRE_MS, GRACE_MS, REFRESH_PATH, assertCode, assertOk, bothCookies, eachExpress, login, shouldClearCookies, shouldNotSetCookie, session, useApp
} = require('./support/apps.js')

const ExpressSession = require('express-session')

/** A store written on session.Store, keeping JSON text; `sync` calls back at once. */
class MapStore extends session.Store {
  constructor ({ sync = false } = {}) {
    super()
    this.sessions = new Map()
    this.sync = sync
  }

  #later (cb, ...args) {
    if (this.sync) cb(...args)
    else setImmediate(() => cb(...args))
  }

  get (sid, cb) { const t = this.sessions.get(sid); this.#later(cb, null, t === undefined ? null : JSON.parse(t)) }
  set (sid, sess, cb) { this.sessions.set(sid, JSON.stringify(sess)); this.#later(cb, null) }
  destroy (sid, cb) { this.sessions.delete(sid); this.#later(cb, null) }
}

/** A store whose methods return promises (no callbacks). */
class PromiseStore {
  sessions = new Map()
  async get (sid) { const t = this.sessions.get(sid); return t === undefined ? null : JSON.parse(t) }
  async set (sid, sess) { this.sessions.set(sid, JSON.stringify(sess)) }
  async destroy (sid) { this.sessions.delete(sid) }
}

/** Count the calls of `store`'s methods on session keys (the bridge's own records aside). */
function spy (store) {
  const calls = { get: 0, set: 0, destroy: 0 }
  for (const m of Object.keys(calls)) {
    const orig = store[m]
    store[m] = function (sid, ...rest) {
      if (!String(sid).startsWith('~tandem:')) calls[m]++
      return orig.call(this, sid, ...rest)
    }
  }
  return calls
}

const STORES = [
  ["express-session's MemoryStore", () => new ExpressSession.MemoryStore()],
  ['a session.Store subclass calling back later', () => new MapStore()],
  ['a session.Store subclass calling back at once', () => new MapStore({ sync: true })],
  ['a store returning promises', () => new PromiseStore()]
]

eachExpress(function (express) {
  for (const [name, make] of STORES) {
    describe(`over ${name}`, function () {
      it('should log in, read, write, refresh and log out, with one store.set per save and destroy at logout', async function (t) {
        const store = make()
        const app = await useApp(t, express, { store })
        const calls = spy(store)
        const c = app.client()
        const li = await login(c, 'alice', { data: { cart: ['tea'] } })
        const handle = li.json.id
        assert.equal(calls.set, 1, 'the login stored the session once')
        const me = await c.get('/me')
        assert.deepEqual([me.json.userId, me.json.data], ['alice', { cart: ['tea'] }])
        const setsBefore = calls.set
        assertOk(await c.post('/data', { json: { seen: 1 } }))
        assert.equal(calls.set - setsBefore, 1, 'one store.set per save')
        // What the store holds: an express-session session object, expiring with the session.
        const stored = await new Promise((resolve, reject) => {
          const r = store.get(handle, (e, s) => e ? reject(e) : resolve(s))
          if (r && typeof r.then === 'function') r.then(resolve, reject)
        })
        assert.ok(stored.cookie && !Number.isNaN(Date.parse(stored.cookie.expires)), 'cookie.expires for the store\'s TTL')
        assert.ok(Date.parse(stored.cookie.expires) > Date.now(), 'in the future')
        assert.equal(JSON.stringify(stored).includes(c.jar.get('connect.sid.refresh').value), false, 'no refresh token stored')
        app.advance(EXPIRE_MS)
        const rf = await c.post(REFRESH_PATH)
        assert.equal(rf.status, 200, rf.text)
        assert.equal((await c.get('/me')).json.data.seen, 1)
        const destroys = calls.destroy
        const access = c.jar.get('connect.sid').value
        assertOk(await c.post('/logout'))
        assert.equal(calls.destroy - destroys, 1, 'logout destroys the stored session')
        assertCode(await app.client().get('/me', { headers: { Cookie: 'connect.sid=' + access } }), 401, 'UNAUTHORISED')
        assert.deepEqual(await app.s.listSessions('alice'), [])
      })
    })
  }

  describe('the end of a request that changed nothing, as express-session ends it', function () {
    /** A MapStore with express-session's optional touch, counting its calls on session keys. */
    class TouchStore extends MapStore {
      touches = []
      touch (sid, sess, cb) { this.touches.push([sid, sess]); setImmediate(cb, null) }
    }

    it('should touch the session with its stored object when resave is false', async function (t) {
      const store = new TouchStore()
      const app = await useApp(t, express, { store, resave: false })
      const c = app.client()
      const handle = (await login(c, 'fay', { data: { a: 1 } })).json.id
      const calls = spy(store)
      assertOk(await c.get('/me'))
      // read at the start (an express-session store is the truth: what it lost is gone),
      // read again under the session's lock to touch it: a store whose touch writes the
      // whole session then writes what it holds now, not what the request read
      assert.deepEqual(calls, { get: 2, set: 0, destroy: 0 }, 'read to load it and to touch it, nothing written')
      assert.equal(store.touches.length, 1)
      const [sid, sess] = store.touches[0]
      assert.equal(sid, handle)
      const held = JSON.parse(store.sessions.get(handle))
      assert.deepEqual([sess.tandem, sess.cookie.expires], [held.tandem, held.cookie.expires], 'the session object as stored')
      assertOk(await c.post('/data', { json: { a: 2 } }))
      assert.deepEqual([calls.set, store.touches.length], [1, 1], 'a save is a set, not also a touch')
    })

    it('should move the touched cookie\'s expiry on by cookie.maxAge from the touch, within the record\'s life', async function (t) {
      const store = new TouchStore()
      const app = await useApp(t, express, { store, resave: false, cookie: { maxAge: 60_000 } })
      const c = app.client()
      const handle = (await login(c, 'gus', { data: { a: 1 } })).json.id
      const written = Date.parse(JSON.parse(store.sessions.get(handle)).cookie.expires)
      await new Promise((resolve) => setTimeout(resolve, 30))
      const before = Date.now()
      assertOk(await c.get('/me'))
      const [, sess] = store.touches.at(-1)
      const touched = Date.parse(sess.cookie.expires)
      assert.ok(touched >= before + 60_000 && touched > written, `touched ${touched - written} ms later than written`)
      assert.equal(sess.cookie.originalMaxAge, 60_000)
    })

    it('should write the session again when resave is true, and make no call without touch when false', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store, resave: true })
      const c = app.client()
      await login(c, 'gus')
      const calls = spy(store)
      assertOk(await c.get('/me'))
      assert.equal(calls.set, 1, 'resave: one set of the unchanged session')
      const quiet = new MapStore()
      const app2 = await useApp(t, express, { store: quiet, resave: false })
      const c2 = app2.client()
      await login(c2, 'gus')
      const calls2 = spy(quiet)
      assertOk(await c2.get('/me'))
      assert.deepEqual([calls2.set, calls2.destroy], [0, 0], 'a store without touch is left alone')
    })

    it('should default resave to true with express-session\'s deprecation message, once', async function (t) {
      const warnings = []
      const onWarning = (w) => { if (w.code === 'TANDEM_RESAVE') warnings.push(w) }
      process.on('warning', onWarning)
      t.after(() => process.off('warning', onWarning))
      const store = new MapStore()
      const app = await useApp(t, express, { store })
      const c = app.client()
      await login(c, 'hal')
      const calls = spy(store)
      assertOk(await c.get('/me'))
      assert.equal(calls.set, 1, 'resave by default')
      await useApp(t, express, { store: new MapStore() })
      await new Promise((resolve) => setImmediate(resolve))
      assert.ok(warnings.length <= 1, 'at most once per process')
    })

    it('should write an unchanged session at save(), and not again at the end of the request', async function (t) {
      const store = new TouchStore()
      const app = await useApp(t, express, { store, resave: false }, {
        setup: (a) => a.get('/save', (req, res, next) => { void req.session.seen; req.session.save((e) => e ? next(e) : res.json({ ok: true })) })
      })
      const c = app.client()
      await login(c, 'ivy')
      const calls = spy(store)
      assertOk(await c.get('/save'))
      assert.deepEqual([calls.set, store.touches.length], [1, 0], 'one set, no touch after it')
    })

    it('should clear the tokens of a session the store no longer has (revoked by another process)', async function (t) {
      const store = new TouchStore()
      const app = await useApp(t, express, { store, resave: false })
      const c = app.client()
      const handle = (await login(c, 'jo')).json.id
      store.sessions.delete(handle) // as another process's logout does
      const r = await c.get('/me')
      shouldClearCookies(r, bothCookies())
      assert.equal(store.sessions.has(handle), false, 'and nothing is written back')
      assert.equal((await c.get('/me')).json.userId, null, 'the browser is no longer logged in')
    })
  })

  describe('races within one process, over a store of the app', function () {
    it('should give 20 parallel refreshes one successor and detect no theft', async function (t) {
      const app = await useApp(t, express, { store: new MapStore() })
      const c = app.client()
      await login(c, 'bob')
      app.advance(EXPIRE_MS)
      const tabs = Array.from({ length: 20 }, () => c.clone())
      const answers = await Promise.all(tabs.map((tab) => tab.post(REFRESH_PATH)))
      for (const r of answers) assert.equal(r.status, 200, r.text)
      app.advance(GRACE_MS + 1000)
      const next = await tabs[19].post(REFRESH_PATH)
      assert.equal(next.status, 200, 'the shared successor refreshes on: ' + next.text)
      assert.equal(app.events.theft.length, 0)
    })

    it('should never bring a session back when saves race its logout (200 sessions)', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store })
      const handles = []
      await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        const c = app.client()
        const li = await login(c, 'u' + (i % 10))
        handles.push(li.json.id)
        await Promise.all([c.clone().post('/data', { json: { late: i } }), c.post('/logout')])
      }))
      for (const h of handles) assert.equal(store.sessions.has(h), false, 'no session written back after its logout')
    })
  })

  describe('races within one process, on Node\'s side of the bridge (reads, touches and writes made in JS)', function () {
    /** A store whose touch writes the whole session it is given, whether or not it is there. */
    class TouchWritesStore extends MapStore {
      touch (sid, sess, cb) { this.set(sid, sess, cb) }
    }

    /** A store whose set answers 5 ms later: parallel writes overlap. */
    class SlowSetStore extends MapStore {
      set (sid, sess, cb) { setTimeout(() => super.set(sid, sess, cb), 5) }
    }

    it('should land every one of 20 parallel writes of different keys of one session', async function (t) {
      const store = new SlowSetStore()
      const app = await useApp(t, express, { store, resave: false })
      const c = app.client()
      const handle = (await login(c, 'cy')).json.id
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.clone().post('/data', { json: { ['k' + i]: i } })))
      for (const r of answers) assertOk(r)
      const held = JSON.parse(store.sessions.get(handle)).tandem.data
      for (let i = 0; i < 20; i++) assert.equal(held['k' + i], i, `k${i} landed`)
    })

    it('should not touch back a session its logout destroyed while the request ran, over a store whose touch writes', async function (t) {
      const store = new TouchWritesStore()
      const app = await useApp(t, express, { store, resave: false })
      const c = app.client()
      const handle = (await login(c, 'vi')).json.id
      const slow = c.clone().post('/slow-save?gate=g1', { json: {} }) // loads, waits, changes nothing
      await app.gates.arrived('g1')
      assertOk(await c.post('/logout'))
      assert.equal(store.sessions.has(handle), false)
      app.gates.open('g1')
      await slow
      assert.equal(store.sessions.has(handle), false, 'the touch at its end did not write it back')
    })

    it('should never bring a session back when touches race its logout, over a store whose touch writes (200 sessions)', async function (t) {
      const store = new TouchWritesStore()
      const app = await useApp(t, express, { store, resave: false })
      const handles = []
      await Promise.all(Array.from({ length: 200 }, async (_, i) => {
        const c = app.client()
        const li = await login(c, 'v' + (i % 10))
        handles.push(li.json.id)
        await Promise.all([c.clone().get('/me'), c.clone().get('/me'), c.post('/logout')])
      }))
      for (const h of handles) assert.equal(store.sessions.has(h), false, 'no session touched back after its logout')
    })

    it('should keep a save made during the request when its end touches a store whose touch writes', async function (t) {
      const store = new TouchWritesStore()
      const app = await useApp(t, express, { store, resave: false })
      const c = app.client()
      const handle = (await login(c, 'ed')).json.id
      assertOk(await c.post('/save-wait', { json: { x: 1 } })) // sets x, save(), nothing changed after it
      assert.equal(JSON.parse(store.sessions.get(handle)).tandem.data.x, 1, 'the touch wrote what the store holds, not what was loaded')
    })

    it('should keep every rotation when writes race refreshes (no false theft)', async function (t) {
      const app = await useApp(t, express, { store: new MapStore(), resave: false })
      const c = app.client()
      await login(c, 'dee')
      for (let round = 0; round < 5; round++) {
        app.advance(EXPIRE_MS)
        const writer = c.clone()
        const [ref] = await Promise.all([c.post(REFRESH_PATH), writer.post('/data', { json: { round } })])
        assertOk(ref, 'refresh ' + round)
      }
      app.advance(GRACE_MS + 1000)
      assertOk(await c.post(REFRESH_PATH), 'the last successor refreshes on')
      assert.equal(app.events.theft.length, 0)
    })
  })

  describe('a store that fails', function () {
    it('should answer a failed write 503 STORE_UNAVAILABLE without the store\'s message, and serve again once it recovers', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store })
      const c = app.client()
      await login(c, 'carol')
      const secret = 'connection refused by db-7.internal'
      const { set } = store
      store.set = (sid, sess, cb) => setImmediate(() => cb(new Error(secret)))
      const r = await c.post('/data', { json: { a: 1 } })
      assertCode(r, 503, 'STORE_UNAVAILABLE')
      assert.ok(!r.text.includes(secret), 'the store\'s error text stays out of the answer')
      store.set = set
      assertOk(await c.post('/data', { json: { a: 2 } }))
      assert.equal((await c.get('/me')).json.data.a, 2)
    })

    it('should give a failed load\'s own store error to next(err), as express-session does, and serve again once it recovers', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store })
      const c = app.client()
      await login(c, 'carol', { data: { a: 1 } })
      const own = new Error('connection refused by db-7.internal')
      const { get } = store
      store.get = (sid, cb) => setImmediate(() => cb(sid.startsWith('~tandem:') ? null : own, null))
      const r = await c.post('/data', { json: { a: 2 } })
      assert.equal(r.status, 500, 'the app\'s error handler answers, as under express-session')
      assert.equal(app.errors.at(-1), own, 'next(err) got the store\'s own error')
      store.get = get
      assert.equal((await c.get('/me')).json.data.a, 1, 'nothing was written while the load failed')
    })

    it('should go on without req.session while the store is disconnected (express-session\'s rule), until it emits connect', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store }, {
        setup (a) { a.get('/has-session', (req, res) => res.json({ session: typeof req.session })) }
      })
      const c = app.client()
      await login(c, 'dave', { data: { a: 1 } })
      const calls = spy(store)
      store.emit('disconnect')
      const r = await c.get('/has-session')
      assert.deepEqual(r.json, { session: 'undefined' })
      shouldNotSetCookie(r)
      assertCode(await c.post(REFRESH_PATH, { headers: { Origin: app.origin } }), 503, 'STORE_UNAVAILABLE')
      assert.deepEqual(calls, { get: 0, set: 0, destroy: 0 }, 'the store is not used while disconnected')
      store.emit('connect')
      assert.deepEqual((await c.get('/has-session')).json, { session: 'object' })
      assert.deepEqual((await c.get('/me')).json.data, { a: 1 })
      assertOk(await c.post('/data', { json: { a: 2 } }))
    })

    it('should answer 503 when the store hangs (no answer in 5 s) and 500 STORE_CORRUPT for garbage, losing nothing', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store })
      const c = app.client()
      await login(c, 'erin', { data: { a: 1 } })
      const { get } = store
      store.get = () => {} // never calls back
      const t0 = Date.now()
      assertCode(await c.post('/data', { json: { a: 2 } }), 503, 'STORE_UNAVAILABLE')
      assert.ok(Date.now() - t0 < 8000, 'answered once the call timed out')
      store.get = (sid, cb) => setImmediate(() => cb(null, sid.startsWith('~tandem:') ? null : 'garbage'))
      const garbage = await c.post('/data', { json: { a: 3 } })
      assert.ok(garbage.status >= 500 && garbage.status !== 502, garbage.text)
      assert.equal(garbage.json.code, 'STORE_CORRUPT')
      store.get = get
      const me = await c.get('/me')
      assert.deepEqual([me.json.userId, me.json.data], ['erin', { a: 1 }], 'nothing stored was lost or changed')
    })

    it('should take ENOENT from get as "not found", as express-session does', async function (t) {
      const store = new MapStore()
      const app = await useApp(t, express, { store, saveUninitialized: true })
      const c = app.client()
      assertOk(await c.get('/me'))
      store.get = (sid, cb) => setImmediate(() => cb(Object.assign(new Error('gone'), { code: 'ENOENT' })))
      const r = await c.post('/data', { json: { a: 1 } })
      assert.notEqual(r.status, 500, r.text)
    })
  })

  it('should expose the app\'s store as req.sessionStore', async function (t) {
    const store = new MapStore()
    const app = await useApp(t, express, { store }, {
      setup: (a) => a.get('/store', (req, res) => res.json({ same: req.sessionStore === store }))
    })
    assert.equal((await app.client().get('/store')).json.same, true)
  })
})

describe('session() with an object that is no store', function () {
  it('should throw a TypeError naming store and both kinds', function () {
    assert.throws(() => session({ secret: 'x'.repeat(40), store: { get () {} } }), { name: 'TypeError', message: /store option .*express-session store/ })
  })
})
