'use strict'

/**
 * The zero-logout switch (`legacy`): sessions written by express-session (its MemoryStore,
 * and connect-redis on a real Redis) are moved over at the first request that carries their
 * cookie: logged in as passport's user, with the same data and cookie lifetime, new tokens,
 * the legacy cookie cleared (or replaced, under the same name) and the legacy session
 * destroyed (kept with `keep`). Forged, unknown and expired legacy cookies are ignored;
 * parallel first requests move it once.
 */

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { describe, it } = require('node:test')

const express = require('express')
const expressSession = require('express-session')

/** cookie-signature's sign(): `id.` + HMAC-SHA256 of the id, base64 without padding. */
const sign = (id, secret) => id + '.' + crypto.createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, '')

const { REFRESH, assertOk, session, shouldSetCookie, startApp } = require('./support/apps.js')

const OLD_SECRET = 'keyboard cat'
const DAY = 24 * 60 * 60 * 1000

/**
 * The express-session app the users were on: passport's login, a cart (and `more` keys).
 * Returns its cookie.
 */
async function legacyLogin (t, store, user, more = {}) {
  const app = express()
  app.use(expressSession({ secret: OLD_SECRET, store, resave: false, saveUninitialized: false }))
  app.post('/login', (req, res) => {
    req.session.passport = { user }
    req.session.cart = ['tea']
    Object.assign(req.session, more)
    req.session.cookie.maxAge = 14 * DAY // "remember me"
    res.end('ok')
  })
  const server = app.listen(0, '127.0.0.1')
  t.after(() => new Promise((resolve) => server.close(resolve)))
  await new Promise((resolve) => server.once('listening', resolve))
  const r = await fetch(`http://127.0.0.1:${server.address().port}/login`, { method: 'POST' })
  const line = r.headers.getSetCookie().find((l) => l.startsWith('connect.sid='))
  assert.ok(line, 'express-session set its cookie')
  const cookie = line.split(';')[0]
  const value = decodeURIComponent(cookie.slice('connect.sid='.length))
  const sid = value.slice(2, value.lastIndexOf('.'))
  assert.equal('s:' + sign(sid, OLD_SECRET), value, 'signed as cookie-signature signs')
  return { cookie, sid }
}

function get (store, sid) {
  return new Promise((resolve, reject) => store.get(sid, (e, s) => e ? reject(e) : resolve(s ?? null)))
}

async function tandem (t, legacy, options = {}, extra = {}) {
  const app = await startApp(express, { legacy, ...options }, extra)
  t.after(() => app.close())
  return app
}

async function redisStore (t) {
  const { createClient } = require('redis')
  const { RedisStore } = require('connect-redis')
  const client = createClient({ url: process.env.TANDEM_REDIS_URL })
  await client.connect()
  t.after(() => client.quit())
  return new RedisStore({ client, prefix: 'legacy-test:' + crypto.randomUUID() + ':' })
}

const redisSkip = process.env.TANDEM_REDIS_URL ? false : (process.env.CI ? false : 'set TANDEM_REDIS_URL (source scripts/ci/redis.sh)')

for (const [name, makeStore, skip] of [
  ["express-session's MemoryStore", async () => new expressSession.MemoryStore(), false],
  ['connect-redis on a real Redis', redisStore, redisSkip]
]) {
  describe(`moving users over from ${name}`, { skip }, function () {
    it('should log the user in with the same data and lifetime, replace the cookie and destroy the legacy session', async function (t) {
      const legacyStore = await makeStore(t)
      const { cookie, sid } = await legacyLogin(t, legacyStore, 'alice')
      const app = await tandem(t, { store: legacyStore, secret: OLD_SECRET })
      const c = app.client()
      const r = await c.get('/me', { headers: { Cookie: cookie } })
      assertOk(r)
      assert.equal(r.json.userId, 'alice', 'logged in as passport.user')
      assert.deepEqual(r.json.data, { passport: { user: 'alice' }, cart: ['tea'] })
      const access = shouldSetCookie(r, 'connect.sid') // the same name: the legacy value is replaced
      assert.match(access.value, /^s:[A-Za-z0-9_-]{22}\.eyJ/, 'ours: s:<handle>.<access token>')
      assert.equal(access.maxAge, 14 * DAY / 1000, 'remember me carried over')
      shouldSetCookie(r, REFRESH)
      assert.equal(await get(legacyStore, sid), null, 'the legacy session is gone')
      const again = await c.get('/me')
      assert.deepEqual([again.json.userId, again.json.data.cart], ['alice', ['tea']])
      assert.equal((await app.s.listSessions('alice')).length, 1)
    })

    it('should keep users logged in when only the require line changed (the same store and secret)', async function (t) {
      const store = await makeStore(t)
      const { cookie } = await legacyLogin(t, store, 'dora')
      // The app's session() call as it was, store and secret unchanged: no legacy option.
      const app = await startApp(express, { store, secret: OLD_SECRET })
      t.after(() => app.close())
      const c = app.client()
      const r = await c.get('/me', { headers: { Cookie: cookie } })
      assert.deepEqual([r.status, r.json.userId, r.json.data.cart], [200, 'dora', ['tea']])
      assert.equal((await c.get('/me')).json.userId, 'dora', 'and on the next request, by our own cookie')
    })

    it('should move parallel first requests once, and ignore forged, unknown and replayed legacy cookies', async function (t) {
      const legacyStore = await makeStore(t)
      const { cookie } = await legacyLogin(t, legacyStore, 'bob')
      const app = await tandem(t, { store: legacyStore, secret: [OLD_SECRET] })
      const answers = await Promise.all(Array.from({ length: 5 }, () => app.client().get('/me', { headers: { Cookie: cookie } })))
      for (const r of answers) assert.equal(r.json.userId, 'bob', r.text)
      assert.equal(new Set(answers.map((r) => r.json.id)).size, 1, 'one session for the parallel requests')
      assert.equal((await app.s.listSessions('bob')).length, 1)
      const forged = 'connect.sid=' + encodeURIComponent('s:' + sign('x'.repeat(32), 'another secret'))
      const unknown = 'connect.sid=' + encodeURIComponent('s:' + sign('y'.repeat(32), OLD_SECRET))
      for (const bad of [forged, unknown, 'connect.sid=s%3Agarbage']) {
        const r = await app.client().get('/me', { headers: { Cookie: bad } })
        assert.equal(r.status, 200, r.text)
        assert.equal(r.json.userId, null, bad)
      }
      assert.equal(app.events.created.length, 1, 'nothing was made of them')
    })

    it('should not move a session whose data is over maxDataBytes, and keep it in the legacy store', async function (t) {
      const legacyStore = await makeStore(t)
      const { cookie, sid } = await legacyLogin(t, legacyStore, 'dora', { notes: 'n'.repeat(2000) })
      const app = await tandem(t, { store: legacyStore, secret: OLD_SECRET }, { maxDataBytes: 1024 })
      const r = await app.client().get('/me', { headers: { Cookie: cookie } })
      assertOk(r, 'the request goes on')
      assert.equal(r.json.userId, null, 'without a session')
      assert.equal((await get(legacyStore, sid)).notes.length, 2000, 'the legacy session is kept whole')
      // With room for it, the same cookie moves.
      const roomy = await tandem(t, { store: legacyStore, secret: OLD_SECRET }, { maxDataBytes: 4096 })
      assert.equal((await roomy.client().get('/me', { headers: { Cookie: cookie } })).json.userId, 'dora')
    })

    it('should keep the legacy session with keep, and clear the legacy cookie when ours has another name', async function (t) {
      const legacyStore = await makeStore(t)
      const { cookie, sid } = await legacyLogin(t, legacyStore, 'carol')
      const app = await tandem(t, { store: legacyStore, secret: OLD_SECRET, keep: true }, { name: 'app.sid' })
      const r = await app.client().get('/me', { headers: { Cookie: cookie } })
      assert.equal(r.json.userId, 'carol')
      const cleared = r.setCookies.find((x) => x.name === 'connect.sid')
      assert.ok(cleared && cleared.value === '' && cleared.path === '/', 'the legacy cookie is cleared')
      shouldSetCookie(r, 'app.sid')
      assert.notEqual(await get(legacyStore, sid), null, 'kept')
    })
  })
}

describe('the legacy option at setup', function () {
  it('should refuse a missing store, a bad name or secret with a TypeError naming it', function () {
    const base = { secret: 'x'.repeat(40), store: new session.MemoryStore() }
    for (const [legacy, option] of [[{}, 'legacy.store'], [{ store: new expressSession.MemoryStore(), name: 'a b' }, 'legacy.name'],
      [{ store: new expressSession.MemoryStore(), secret: [] }, 'legacy.secret'], ['yes', 'legacy']]) {
      assert.throws(() => session({ ...base, legacy }), (e) => e instanceof TypeError && e.message.startsWith(option + ' '), option)
    }
  })
})

describe('the moves kept for parallel requests', function () {
  const { LegacySwitch } = require('../../js/middleware/legacy.js')
  const unknown = { get: (sid, cb) => setImmediate(cb, null, null) } // a legacy store without them

  it('should forget a move 30 s after it started, data and all', async (t) => {
    let now = 1_000_000
    t.mock.method(Date, 'now', () => now)
    const sw = new LegacySwitch({ store: unknown, name: 'connect.sid', secrets: ['s'], keep: false, user: () => null })
    for (const sid of ['a', 'b', 'c']) {
      await sw.move({}, sid)
      now += 10_000
    }
    assert.deepEqual([...sw.moving.keys()], ['a', 'b', 'c'], 'kept while their 30 s run')
    now += 1 // 'a' started 30,001 ms ago
    await sw.move({}, 'd')
    assert.deepEqual([...sw.moving.keys()], ['b', 'c', 'd'])
    now += 60_000
    await sw.move({}, 'e')
    assert.deepEqual([...sw.moving.keys()], ['e'], 'a quiet minute later only the newest is kept')
  })
})
