'use strict'

/**
 * When an express-session store fails, over HTTP on Express 5 and 4 (request-state.js
 * `storeError`, `failLate`):
 * - a failure that loses nothing the app wrote (the touch of an unchanged session, the
 *   first save of a session holding no data, the destroy of `unset: 'destroy'`) lets the
 *   app's response go out as it is; the store's own error then goes to `next(err)`, as
 *   express-session passes it on;
 * - a failure that would lose the app's writes fails the request: 503 STORE_UNAVAILABLE,
 *   our message only, with the store's error as `err.cause` for the app's logs.
 */

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { ACCESS, assertCode, assertOk, eachExpress, session, shouldNotSetCookie, useApp } = require('./support/apps.js')

/** Make `store[method]` call back with a store error of its own, from the next call on. */
function breakMethod (store, method) {
  const err = new Error('boom! (the store\'s own message)')
  store[method] = function (...args) {
    const cb = args[args.length - 1]
    setImmediate(cb, err)
  }
  return err
}

/** Resolve once the app's error handler has seen `n` errors (bounded: fails after 2 s). */
async function errorsSeen (app, n) {
  const until = Date.now() + 2000
  while (app.errors.length < n) {
    if (Date.now() > until) assert.fail(`the error handler saw ${app.errors.length} errors, not ${n}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return app.errors
}

const routes = {
  setup (a) {
    a.get('/read', (req, res) => res.json({ id: req.sessionID, n: req.session.n ?? null }))
    a.post('/write', (req, res) => {
      req.session.n = (req.session.n ?? 0) + 1
      res.json({ n: req.session.n })
    })
    a.post('/drop', (req, res) => {
      req.session = null
      res.json({ dropped: true })
    })
  }
}

eachExpress(function (express) {
  describe('when an express-session store fails after the response is decided', function () {
    it('should send the response of an unchanged session whose touch failed, then pass the store\'s error on', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store, resave: false }, routes)
      const c = app.client()
      assertOk(await c.post('/write'))
      const own = breakMethod(store, 'touch')
      const r = await c.get('/read')
      assertOk(r, 'the app\'s answer, as express-session sends it')
      assert.equal(r.json.n, 1)
      const [err] = await errorsSeen(app, 1)
      assert.equal(err, own, 'next(err) got the store\'s own error')
    })

    it('should send an empty new session\'s response without a cookie when its save failed, then pass the error on', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store, saveUninitialized: true }, routes)
      const own = breakMethod(store, 'set')
      const r = await app.client().get('/read')
      assertOk(r)
      assert.match(r.json.id, /^[A-Za-z0-9_-]{22}$/)
      shouldNotSetCookie(r)
      const [err] = await errorsSeen(app, 1)
      assert.equal(err, own)
      assert.equal(await new Promise((resolve) => store.length((e, n) => resolve(n))), 0, 'nothing stored')
    })

    it('should end the session unset dropped even when its destroy failed, then pass the error on', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store, unset: 'destroy' }, routes)
      const c = app.client()
      assertOk(await c.post('/write'))
      const own = breakMethod(store, 'destroy')
      const r = await c.post('/drop')
      assertOk(r)
      assert.equal(r.json.dropped, true)
      const cleared = (r.headers['set-cookie'] ?? []).find((l) => l.startsWith(ACCESS + '='))
      assert.ok(cleared && /Max-Age=0|Expires=Thu, 01 Jan 1970/.test(cleared), 'the browser forgets the session')
      const [err] = await errorsSeen(app, 1)
      assert.equal(err, own)
    })

    it('should call the store\'s destroy with req.sessionID when unset drops a session never stored, as express-session', async function (t) {
      const store = new session.MemoryStore()
      const destroyed = []
      const destroy = store.destroy
      store.destroy = function (sid, cb) {
        destroyed.push(sid)
        return destroy.call(this, sid, cb)
      }
      const app = await useApp(t, express, { store, unset: 'destroy' }, {
        setup (a) {
          a.get('/drop-new', (req, res) => {
            const id = req.sessionID
            req.session = null
            res.json({ id })
          })
        }
      })
      const r = await app.client().get('/drop-new')
      assertOk(r)
      assert.deepEqual(destroyed, [r.json.id])
      shouldNotSetCookie(r)
      assert.deepEqual(app.errors, [])
    })
  })

  describe('when an express-session store fails a read', function () {
    it('should pass the store\'s own error of a failed load to next(err), as express-session does', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store }, routes)
      const c = app.client()
      assertOk(await c.post('/write'))
      const own = breakMethod(store, 'get')
      const r = await c.get('/read')
      assert.equal(r.status, 500, 'the app\'s error handler decides, as under express-session')
      const [err] = await errorsSeen(app, 1)
      assert.equal(err, own, 'next(err) got the store\'s own error')
    })

    it('should store a new session without reading its new id first, as express-session never reads one', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store, saveUninitialized: true }, routes)
      const own = breakMethod(store, 'get')
      const r = await app.client().get('/read')
      assertOk(r, 'a store whose get fails does not stop a new session being stored')
      assert.ok((r.headers['set-cookie'] ?? []).some((l) => l.startsWith(ACCESS + '=')), 'the new session\'s cookie is set')
      assert.equal(await new Promise((resolve) => store.length((e, n) => resolve(n))), 1, 'stored by set')
      assert.deepEqual(app.errors, [])
      assert.ok(own instanceof Error)
    })

    it('should still check that an id the app\'s genid made is free: a second session never overwrites the first', async function (t) {
      const store = new session.MemoryStore()
      const fixed = 'AAAAAAAAAAAAAAAAAAAAAA'
      const app = await useApp(t, express, { store, genid: () => fixed }, routes)
      const first = app.client()
      assertOk(await first.post('/write'))
      assertOk(await first.post('/write'))
      const second = await app.client().post('/write')
      assert.ok(second.status >= 500, `the second session with the same id is refused (${second.status})`)
      assert.equal((await first.get('/read')).json.n, 2, 'the first session is as it was')
    })
  })

  describe('when an express-session store fails a write the app made', function () {
    it('should answer 503 STORE_UNAVAILABLE with our message, the store\'s error as its cause', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store }, routes)
      const c = app.client()
      assertOk(await c.post('/write'))
      const own = breakMethod(store, 'set')
      const r = await c.post('/write')
      assertCode(r, 503, 'STORE_UNAVAILABLE')
      assert.doesNotMatch(r.text, /boom/, 'the store\'s text stays out of the response')
      const [err] = await errorsSeen(app, 1)
      assert.equal(err.code, 'STORE_UNAVAILABLE')
      assert.equal(err.cause, own, 'the store\'s own error, for the app\'s logs')
      assert.equal((await c.get('/read')).json.n, 1, 'the stored session is as it was')
    })

    it('should answer 503 for a new session holding data whose first save failed, and set no cookie', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store }, routes)
      const own = breakMethod(store, 'set')
      const r = await app.client().post('/write')
      assertCode(r, 503, 'STORE_UNAVAILABLE')
      shouldNotSetCookie(r)
      const [err] = await errorsSeen(app, 1)
      assert.equal(err.cause, own)
    })
  })
})
