'use strict'

// Anonymous sessions (a visitor without cookies whose request writes session data) over
// HTTP, on Express 5 and 4: they live `anonymousMaxAge` (1 day) from their last refresh
// where a login lives `refreshTokenMaxAge`, and a flood of them neither fills the store
// for logins nor grows it past its quota (`maxAnonymousSessions`): the oldest go first.
// (issue 18, point 2; the review's case: 70 such visits against `maxSessions: 60` made
// every login answer 503 STORE_UNAVAILABLE.)

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const session = require('../../js/index.js')
const {
  EXPIRE_MS, REFRESH_PATH, assertCode, assertOk, eachExpress, useApp
} = require('./support/apps.js')

const DAY = 86_400_000

/** A cookie-less visitor who writes `n` into its session; its client (cookies kept). */
async function visitor (app, n) {
  const c = app.client()
  const r = await c.post('/data', { json: { visit: n } })
  assertOk(r, `visitor ${n}`)
  app.advance(1) // visitors come one after another: the store ranks them by creation time
  assert.equal(r.json.userId, null, `visitor ${n} is anonymous`)
  return c
}

/** A refresh by `c`, as a browser's script sends it. */
function refresh (app, c) {
  return c.post(REFRESH_PATH, { headers: { Origin: app.origin } })
}

eachExpress(function (express) {
  describe('when cookie-less visitors write session data', function () {
    it('should never refuse a login because of them, evicting the oldest visitors instead', async function (t) {
      const app = await useApp(t, express, { store: new session.NativeMemoryStore({ maxSessions: 60 }) })
      const visitors = []
      for (let i = 0; i < 70; i++) visitors.push(await visitor(app, i))
      for (let i = 0; i < 30; i++) {
        const r = await app.client().post('/login', { json: { user: `user-${i}` } })
        assertOk(r, `login ${i} next to 70 visitors`)
      }
      // The store is now full (30 visitors, the quota of half, and 30 logins): a login
      // takes the oldest visitor's place.
      const last = await visitors[69].post('/login', { json: { user: 'alice' } })
      assertOk(last, 'a login into a full store')
      assert.equal(last.json.userId, 'alice')
      // Once the access tokens are past, the evicted visitors' refresh finds nothing and
      // the newest keep their data.
      app.advance(EXPIRE_MS)
      assertCode(await refresh(app, visitors[0]), 401, 'UNAUTHORISED', 'the oldest visitor was evicted')
      assertOk(await refresh(app, visitors[68]), 'a recent visitor refreshes')
      const me = await visitors[68].get('/me')
      assert.deepEqual(me.json.data, { visit: 68 }, 'and keeps its data')
    })

    it('should keep at most maxAnonymousSessions of them', async function (t) {
      const store = new session.NativeMemoryStore({ maxSessions: 1000, maxAnonymousSessions: 5 })
      const app = await useApp(t, express, { store })
      const visitors = []
      for (let i = 0; i < 8; i++) visitors.push(await visitor(app, i))
      app.advance(EXPIRE_MS)
      const kept = []
      for (const [i, c] of visitors.entries()) if ((await refresh(app, c)).status === 200) kept.push(i)
      assert.deepEqual(kept, [3, 4, 5, 6, 7], 'the newest five are kept')
    })
  })

  describe('when a session has been idle', function () {
    it('should end an anonymous session after anonymousMaxAge (1 day) and a login only after refreshTokenMaxAge', async function (t) {
      const app = await useApp(t, express)
      const anon = await visitor(app, 1)
      const user = app.client()
      assertOk(await user.post('/login', { json: { user: 'alice' } }))
      app.advance(DAY + 60_000)
      assertCode(await refresh(app, anon), 401, 'UNAUTHORISED', 'an anonymous session idle for a day')
      assertOk(await refresh(app, user), 'a login idle for a day')
    })

    it('should take anonymousMaxAge as an option, and refuse one under a minute at setup', async function (t) {
      const app = await useApp(t, express, { anonymousMaxAge: 3_600_000 })
      const anon = await visitor(app, 1)
      app.advance(30 * 60_000)
      assertOk(await refresh(app, anon), 'within the hour')
      app.advance(61 * 60_000)
      assertCode(await refresh(app, anon), 401, 'UNAUTHORISED', 'an hour after the last refresh')
      assert.throws(() => session({ secret: 'x'.repeat(32), anonymousMaxAge: 1000 }), { name: 'TypeError', message: /anonymousMaxAge/ })
      assert.throws(() => session({ secret: 'x'.repeat(32), anonymousMaxAge: 1.5e4 + 0.5 }), { name: 'TypeError', message: /anonymousMaxAge/ })
    })
  })
})

describe('the maxAnonymousSessions option of the native stores', function () {
  it('should be a positive integer, and on NativeMemoryStore at most maxSessions', function () {
    for (const bad of [0, -1, 1.5, '10', 2 ** 32]) {
      for (const make of [
        (n) => new session.NativeMemoryStore({ maxAnonymousSessions: n }),
        (n) => new session.SqliteStore({ path: '/tmp/unused.sqlite3', maxAnonymousSessions: n }),
        (n) => new session.PostgresStore({ connectionString: 'postgres://x@127.0.0.1/x', maxAnonymousSessions: n }),
        (n) => new session.RedisStore({ url: 'redis://127.0.0.1:1', maxAnonymousSessions: n })
      ]) {
        assert.throws(() => make(bad), { name: 'TypeError', message: /maxAnonymousSessions/ }, String(bad))
      }
    }
    assert.throws(() => new session.NativeMemoryStore({ maxSessions: 10, maxAnonymousSessions: 11 }), { name: 'TypeError', message: /maxAnonymousSessions/ })
  })
})
