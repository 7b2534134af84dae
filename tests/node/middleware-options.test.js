'use strict'

// session() options, checked at setup (a TypeError naming the option), a few options
// at work over HTTP (genid, refreshPath, jwksPath, saveUninitialized, unset), and a store
// that is down, on Express 5 and 4. The cookie options are in middleware-cookies, csrf in
// middleware-csrf.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const {
  ACCESS, EXPIRE_MS, REFRESH, REFRESH_PATH, SECRET, assertCode, assertOk, bothCookies, eachExpress,
  login, redisAvailable, session, shouldClearCookies, shouldNotSetCookie, shouldSetCookie,
  startRedis, useApp
} = require('./support/apps.js')

const { MemoryStore, RedisStore } = session

/** Assert that `session(options)` throws a TypeError whose message names `name`. */
function throwsNaming (options, name) {
  assert.throws(() => session(options), (err) => {
    assert.ok(err instanceof TypeError, `${name}: a TypeError, got ${err && err.constructor.name}: ${err && err.message}`)
    assert.ok(err.message.includes(name), `the message names ${name}: ${err.message}`)
    return true
  }, name)
}

eachExpress(function (express) {
  describe('when session() is given bad options', function () {
    it('should throw a TypeError naming the option', function () {
      const store = new MemoryStore()
      const cases = [
        [{ store, secret: [] }, 'secret'],
        [{ store, secret: [SECRET, SECRET] }, 'secret'],
        [{ store, secret: [SECRET, ''] }, 'secret'],
        [{ store, secret: 42 }, 'secret'],
        // Engine options are checked by the core at setup, not at the first request.
        [{ store, secret: SECRET, accessTokenMaxAge: 1500 }, 'accessTokenMaxAge'],
        [{ store, secret: SECRET, accessTokenMaxAge: 0 }, 'accessTokenMaxAge'],
        [{ store, secret: SECRET, leeway: 'x' }, 'leeway'],
        [{ store, secret: SECRET, leeway: 301000 }, 'leeway'],
        [{ store, secret: SECRET, refreshGrace: -1 }, 'refreshGrace'],
        [{ store, secret: SECRET, refreshGrace: NaN }, 'refreshGrace'],
        [{ store, secret: SECRET, syncInterval: Infinity }, 'syncInterval'],
        [{ store, secret: SECRET, retiredKeyTtl: 1000 }, 'retiredKeyTtl'],
        [{ store, secret: SECRET, algorithm: 'RS256' }, 'algorithm'],
        [{ store, secret: SECRET, issuer: 7 }, 'issuer'],
        [{ store, secret: SECRET, name: 'a', key: 'b' }, 'key'],
        // A prefix the browser would refuse the cookie under.
        [{ store, secret: SECRET, name: '__host-sid' }, 'name'],
        [{ store, secret: SECRET, name: '__Host-' }, 'name'],
        [{ store, secret: SECRET, name: '__Host-sid', cookie: { path: '/app' } }, 'name'],
        [{ store, secret: SECRET, name: '__Host-sid', cookie: { domain: 'example.com' } }, 'name'],
        [{ store, secret: SECRET, name: '__Secure-sid', cookie: { secure: false } }, 'name'],
        [{ store, secret: SECRET, transfer: 'carrier-pigeon' }, 'transfer'],
        [{ store, secret: SECRET, unset: 'forget' }, 'unset'],
        [{ store, secret: SECRET, cookie: { httpOnly: false } }, 'httpOnly'],
        [{ store, secret: SECRET, cookie: { expires: new Date(NaN) } }, 'cookie.expires'],
        [{ store, secret: SECRET, cookie: { expires: new Date(Date.now() + 1000) } }, 'cookie.expires'],
        [{ store, secret: SECRET, genid: 'predictable' }, 'genid'],
        [{ store, secret: SECRET, jwksPath: '/.well-known/jwks.json' }, 'jwksPath'],
        [{ store, secret: SECRET, csrf: 'yes' }, 'csrf'],
        [{ store, secret: SECRET, csrf: { origins: [] } }, 'csrf.origins'],
        [{ store, secret: SECRET, csrf: { origins: ['app.example.com'] } }, 'csrf.origins'],
        ...['https://app.example.com/', 'https://app.example.com/app', 'https://u:p@app.example.com',
          'https://app.example.com?x=1', 'https://app.example.com#x', 'https://app.example.com:99999',
          'ftp://app.example.com', 'null', 'https://', 42, null].map((o) => [{ store, secret: SECRET, csrf: { origins: [o] } }, 'csrf.origins']),
        [{ store, secret: SECRET, csrf: { origins: 'https://app.example.com' } }, 'csrf.origins'],
        [{ store, secret: SECRET, csrf: { trustedOrigins: ['https://admin.example.com/'] } }, 'csrf.trustedOrigins'],
        [{ store, secret: SECRET, rolling: 'yes' }, 'rolling'],
        [{ store, secret: SECRET, saveUninitialized: 1 }, 'saveUninitialized'],
        [{ secret: SECRET, store: {} }, 'store']
      ]
      for (const [options, name] of cases) throwsNaming(options, name)
    })

    it('should accept the documented values', function () {
      const store = new MemoryStore()
      for (const extra of [{}, { transfer: 'header' }, { transfer: 'cookie' }, { unset: 'destroy' }, { csrf: false },
        { csrf: { trustedOrigins: ['https://app.example.com'], requireToken: true } }, { secret: [SECRET, SECRET + '2'] },
        { cookie: { httpOnly: true, sameSite: 'strict' } }, { algorithm: 'EdDSA', jwksPath: '/.well-known/jwks.json' },
        { leeway: 0 }, { refreshGrace: 0 }, { key: 'connect.sid' }, { cookie: { sameSite: 'auto' } },
        { name: '__Host-sid' }, { name: '__Secure-sid', cookie: { path: '/app' } }]) {
        const s = session({ secret: SECRET, store, ...extra })
        assert.equal(typeof s, 'function', JSON.stringify(extra))
      }
    })
  })

  describe('the genid option', function () {
    it('should name each new session, and fail a login it gives a bad or taken handle', async function (t) {
      const crypto = require('node:crypto')
      const made = []
      let next = () => crypto.randomBytes(16).toString('base64url')
      const app = await useApp(t, express, { genid: (req) => { const h = next(req); made.push(h); return h } })
      const c = app.client()
      const r = await login(c, 'alice')
      // as in express-session: one for the request's new session (its id was read), one for
      // the login, which never keeps an id seen before it
      assert.equal(made.length, 2)
      assert.equal(r.json.id, made[1], 'req.sessionID is what genid made')
      made.shift()
      assert.equal((await c.get('/me')).json.id, made[0])
      next = () => 'not-a-handle'
      const bad = await app.client().post('/login', { json: { user: 'bob' } })
      assert.equal(bad.status, 500)
      assert.match(bad.json.message, /genid must return 22 base64url characters/)
      next = () => made[0] // alice's handle: the store never overwrites a session
      const taken = await app.client().post('/login', { json: { user: 'mallory' } })
      assert.equal(taken.status, 500)
      const me = await c.get('/me')
      assert.deepEqual([me.status, me.json.userId, me.json.id], [200, 'alice', made[0]], 'alice keeps her session')
      assert.deepEqual(await app.s.listSessions('mallory'), [])
    })
  })

  describe('ready()', function () {
    it('should resolve once the engine has started over the store', async function (t) {
      const app = await useApp(t, express)
      await app.s.ready()
      assert.equal(typeof app.s.currentKid(), 'string')
      assert.equal(typeof app.s.engine.verifyRequest, 'function')
    })
  })

  describe('refreshPath', function () {
    it('should move the refresh endpoint and the refresh cookie\'s Path', async function (t) {
      const app = await useApp(t, express, { refreshPath: '/auth/renew' })
      const c = app.client()
      const r = await login(c, 'alice')
      assert.equal(shouldSetCookie(r, REFRESH).pathAttribute, '/auth/renew')
      app.advance(EXPIRE_MS)
      assertOk(await c.post('/auth/renew'))
      assertOk(await c.get('/me'))
    })
  })

  describe('jwksPath', function () {
    it('should serve the public keys with EdDSA', async function (t) {
      const app = await useApp(t, express, { algorithm: 'EdDSA', jwksPath: '/.well-known/jwks.json' })
      const r = await app.client().get('/.well-known/jwks.json')
      assertOk(r)
      assert.ok(Array.isArray(r.json.keys) && r.json.keys.length >= 1)
      assert.ok(r.json.keys.some((k) => k.kid === app.s.currentKid() && k.kty === 'OKP'))
      assert.ok(r.json.keys.every((k) => k.d === undefined), 'no private part')
    })
  })

  describe('when the store is down', function () {
    const skip = redisAvailable() ? false : 'redis-server is not installed'

    it('should keep valid access tokens working, answer refresh 503 and leave the cookies alone', { skip }, async function (t) {
      const redis = await startRedis()
      t.after(() => redis.stop())
      const app = await useApp(t, express, { store: new RedisStore({ url: redis.url }) })
      const c = app.client()
      await login(c, 'alice', { data: { a: 1 } })
      assertOk(await c.get('/me'))
      await redis.stop()
      const who = await c.get('/whoami')
      assertOk(who, 'a valid access token keeps working')
      assert.equal(who.json.userId, 'alice')
      const me = await c.get('/me')
      if (me.status === 200) assert.deepEqual([me.json.userId, me.json.data], ['alice', { a: 1 }])
      else assertCode(me, 503, 'STORE_UNAVAILABLE', 'GET /me with the data not cached')
      shouldNotSetCookie(me)
      const w = await c.post('/data', { json: { b: 2 } })
      assertCode(w, 503, 'STORE_UNAVAILABLE', 'a write while the store is down')
      app.advance(EXPIRE_MS)
      const r = await c.post(REFRESH_PATH)
      assertCode(r, 503, 'STORE_UNAVAILABLE', 'refresh')
      shouldNotSetCookie(r)
      assert.deepEqual(c.jar.names(), [ACCESS, REFRESH], 'the cookies are untouched')
      assert.equal(app.errors.filter((e) => !e.status || (e.status >= 500 && e.status !== 503)).length, 0)
    })

    it('should answer 503 STORE_UNAVAILABLE when the store cannot be reached at all, and keep serving', async function (t) {
      const app = await useApp(t, express, { store: new RedisStore({ url: 'redis://127.0.0.1:1' }) })
      await assert.rejects(app.s.ready(), { code: 'STORE_UNAVAILABLE' })
      const c = app.client()
      for (let i = 0; i < 2; i++) {
        const r = await c.post('/data', { json: { a: 1 } })
        assertCode(r, 503, 'STORE_UNAVAILABLE', `anonymous write #${i + 1}`)
        shouldNotSetCookie(r)
      }
      assertCode(await c.post('/login', { json: { user: 'alice' } }), 503, 'STORE_UNAVAILABLE', 'login')
    })
  })

  describe('saveUninitialized', function () {
    it('should send no cookie and store nothing for an untouched session when false (as the sample apps set it)', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const r = await c.get('/me')
      assertOk(r)
      shouldNotSetCookie(r)
      assert.match(r.json.id, /^[A-Za-z0-9_-]{22}$/, 'a new session has its id from the start, as in express-session')
      assert.equal(r.json.userId, null)
      assert.equal(app.events.created.length, 0)
      const again = await c.get('/me')
      shouldNotSetCookie(again)
      assert.notEqual(again.json.id, r.json.id, 'an id nobody stored is not kept')
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
