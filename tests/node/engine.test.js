'use strict'

// The session engine from JS, over the memory store: login, verify, refresh, theft,
// revocation, data patches, a user's sessions, and errors with codes.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { Engine, NativeMemoryStore, SqliteStore, PostgresStore, RedisStore } = require('../..')

const SECRET = 'engine-js-test-secret-that-is-long-enough'
const T0 = Date.UTC(2026, 5, 1)

function start (options) {
  return Engine.start({ store: new NativeMemoryStore(), secret: [SECRET], fixedNow: T0, ...options })
}

const browser = { ip: '192.0.2.10', userAgent: 'Browser/1.0' }
const thief = { ip: '198.51.100.66', userAgent: 'curl/8' }

describe('Engine', function () {
  describe('when an async method is given bad arguments', function () {
    it('should return a rejected promise, never throw at the call', async function () {
      const e = await start()
      const t = await e.create({ userId: 'alice' })
      const calls = [
        ['patchData (lone surrogate)', () => e.patchData(t.handle, { a: 'x\uD800' }), 'INVALID_ARGUMENT'],
        ['create (lone surrogate)', () => e.create({ userId: 'a\uDC00' }), 'INVALID_ARGUMENT'],
        ['get (not a string)', () => e.get(42)],
        ['revoke (not a string)', () => e.revoke({})],
        ['refresh (not a string)', () => e.refresh(7, browser)],
        ['listUser (not a string)', () => e.listUser(null)],
        ['keepAlive (not a string)', () => e.keepAlive([], false)],
        ['revokeUser (not a string)', () => e.revokeUser(1)]
      ]
      for (const [what, call, code] of calls) {
        let p
        assert.doesNotThrow(() => { p = call() }, what)
        assert.ok(p instanceof Promise, what)
        await assert.rejects(p, (err) => err instanceof Error && (code === undefined || err.code === code), what)
      }
      assert.deepEqual((await e.get(t.handle)).data, {}, 'nothing was written')
    })
  })

  describe('when a user logs in', function () {
    it('should issue tokens whose access token verifies with no I/O', async function () {
      const e = await start()
      const t = await e.create({ userId: 'alice', data: { cart: [] }, claims: { role: 'editor' }, device: browser })
      assert.match(t.handle, /^[\w-]{22}$/)
      const r = e.verifyRequest('__Host-at=' + t.accessToken, null)
      assert.equal(r.ok, true)
      assert.equal(r.claims.sub, 'alice')
      assert.equal(r.claims.sid, t.handle)
      assert.deepEqual(r.claims.claims, { role: 'editor' })
      assert.deepEqual((await e.get(t.handle)).data, { cart: [] })
    })

    it('should read the access cookie as s:<handle>.<jwt> with accessCookieWithSid, and only the token\'s own handle', async function () {
      const e = await start({ accessCookieWithSid: true })
      const a = await e.create({ userId: 'alice' })
      const b = await e.create({ userId: 'bob' })
      const r = e.verifyRequest(`__Host-at=s:${a.handle}.${a.accessToken}`, null)
      assert.deepEqual([r.ok, r.claims.sub, r.claims.sid], [true, 'alice', a.handle])
      assert.equal(e.verifyRequest(null, 'Bearer ' + a.accessToken).ok, true, 'a Bearer token is the JWT alone')
      for (const [what, cookie, code] of [
        ['the JWT alone', `__Host-at=${a.accessToken}`, 'TOKEN_MALFORMED'],
        ['URL-encoded', `__Host-at=s%3A${a.handle}.${a.accessToken}`, 'TOKEN_MALFORMED'],
        ['another session\'s handle', `__Host-at=s:${b.handle}.${a.accessToken}`, 'TOKEN_INVALID']
      ]) {
        const v = e.verifyRequest(cookie, null)
        assert.deepEqual([v.ok, v.code], [false, code], what)
      }
    })

    it('should give a new handle every time and revoke the session it replaces', async function () {
      const e = await start()
      const a = await e.create({ userId: 'alice' })
      const b = await e.create({ userId: 'alice', replaces: a.handle })
      assert.notEqual(a.handle, b.handle)
      assert.equal(e.verifyRequest('__Host-at=' + a.accessToken).code, 'SESSION_REVOKED')
      assert.equal((await e.refresh(a.refreshToken)).outcome, 'refused')
      assert.equal(e.verifyRequest('__Host-at=' + b.accessToken).ok, true)
    })
  })

  describe('when refreshing', function () {
    it('should rotate, and give the same successor to a retry within the grace window', async function () {
      const e = await start()
      const t0 = await e.create({ userId: 'bob', device: browser })
      const r1 = await e.refresh(t0.refreshToken, browser)
      assert.equal(r1.outcome, 'refreshed')
      assert.notEqual(r1.tokens.refreshToken, t0.refreshToken)
      const again = await e.refresh(t0.refreshToken, browser)
      assert.equal(again.outcome, 'refreshed')
      assert.equal(again.tokens.refreshToken, r1.tokens.refreshToken)
    })

    it('should never issue an access token that outlives the session\'s absolute lifetime', async function () {
      const absolute = 20 * 60 * 1000 // 20 min, with 15 min access tokens
      const e = await start({ absoluteMaxAge: absolute })
      const t0 = await e.create({ userId: 'bob' })
      assert.equal(t0.accessExpires, (T0 + 15 * 60 * 1000) / 1000, 'a full lifetime while it fits')
      e.setNow(T0 + 10 * 60 * 1000)
      const r = await e.refresh(t0.refreshToken)
      assert.equal(r.outcome, 'refreshed')
      assert.equal(r.tokens.accessExpires, (T0 + absolute) / 1000, 'cut at the absolute end, not 15 min more')
      e.setNow(T0 + absolute + 6000)
      assert.equal(e.verifyRequest(null, 'Bearer ' + r.tokens.accessToken).code, 'TOKEN_EXPIRED')
      assert.equal((await e.refresh(r.tokens.refreshToken)).outcome, 'refused')
    })

    it('should share one successor among 20 parallel refreshes', async function () {
      const e = await start()
      const t = await e.create({ userId: 'carol' })
      const out = await Promise.all(Array.from({ length: 20 }, () => e.refresh(t.refreshToken)))
      assert.ok(out.every((o) => o.outcome === 'refreshed'))
      assert.equal(new Set(out.map((o) => o.tokens.refreshToken)).size, 1)
    })

    it('should detect theft when a rotated token comes back, and log both holders out', async function () {
      const e = await start()
      const t0 = await e.create({ userId: 'dave', device: browser })
      const stolen = t0.refreshToken
      e.setNow(T0 + 1000)
      const r1 = await e.refresh(stolen, browser)
      const r2 = await e.refresh(r1.tokens.refreshToken, browser)
      const theft = await e.refresh(stolen, thief)
      assert.equal(theft.outcome, 'theft')
      assert.equal(theft.theft.userId, 'dave')
      assert.equal(theft.theft.handle, t0.handle)
      assert.deepEqual(theft.theft.presenter, thief)
      assert.deepEqual(theft.theft.lastDevice, browser)
      const after = await e.refresh(r2.tokens.refreshToken, browser)
      assert.deepEqual([after.outcome, after.code], ['refused', 'TOKEN_THEFT_DETECTED'], 'the holder learns why')
      assert.equal(e.verifyRequest(null, 'Bearer ' + r2.tokens.accessToken).code, 'TOKEN_THEFT_DETECTED')
    })

    it('should refuse a forged token naming a real session and revoke nothing', async function () {
      const e = await start()
      const t = await e.create({ userId: 'erin' })
      const forged = t.refreshToken.slice(0, 40) + (t.refreshToken[40] === 'A' ? 'B' : 'A') + t.refreshToken.slice(41)
      const r = await e.refresh(forged, thief)
      assert.deepEqual([r.outcome, r.code], ['refused', 'REFRESH_FORGED'])
      assert.equal((await e.refresh(t.refreshToken)).outcome, 'refreshed')
    })
  })

  describe('when revoking', function () {
    it('should make the access token fail at once and list only live sessions', async function () {
      const e = await start()
      const a = await e.create({ userId: 'fay', device: browser })
      const b = await e.create({ userId: 'fay', device: thief })
      assert.equal((await e.listUser('fay')).length, 2)
      assert.equal(await e.revoke(a.handle), true)
      assert.equal(await e.revoke(a.handle), false)
      assert.equal(e.verifyRequest('__Host-at=' + a.accessToken).code, 'SESSION_REVOKED')
      const list = await e.listUser('fay')
      assert.deepEqual(list.map((s) => s.handle), [b.handle])
      assert.deepEqual(list[0].createdDevice, thief)
      assert.deepEqual(await e.revokeUser('fay'), [b.handle])
      assert.deepEqual(await e.listUser('fay'), [])
    })

    it('should never let a data save bring a revoked session back', async function () {
      const e = await start()
      const t = await e.create({ userId: 'gus' })
      await e.revoke(t.handle)
      assert.equal(await e.patchData(t.handle, { late: true }), null)
      assert.equal(await e.get(t.handle), null)
    })
  })

  describe('when another engine shares the store', function () {
    it('should see a revocation within a second, by its background sync', async function () {
      const store = new NativeMemoryStore()
      const a = await Engine.start({ store, secret: [SECRET], syncInterval: 100 })
      const b = await Engine.start({ store, secret: [SECRET], syncInterval: 100 })
      const t = await a.create({ userId: 'jay' })
      const cookie = '__Host-at=' + t.accessToken
      assert.equal(b.verifyRequest(cookie).ok, true)
      await a.revoke(t.handle)
      const started = Date.now()
      while (b.verifyRequest(cookie).ok && Date.now() - started < 1000) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      assert.equal(b.verifyRequest(cookie).code, 'SESSION_REVOKED', 'seen within 1 s')
    })
  })

  describe('when changing session data', function () {
    it('should apply only the given keys and bump the version', async function () {
      const e = await start()
      const t = await e.create({ userId: 'hal', data: { a: 1, b: 2 } })
      assert.equal(await e.patchData(t.handle, { a: 10, c: [3], b: null }), 1)
      const s = await e.get(t.handle)
      assert.deepEqual(s.data, { a: 10, c: [3] })
      assert.equal(s.dataVersion, 1)
    })
  })

  describe('when given bad input', function () {
    it('should reject with stable codes', async function () {
      const e = await start()
      await assert.rejects(e.revoke('not-a-handle'), { code: 'INVALID_ARGUMENT' })
      await assert.rejects(e.create({ userId: '' }), { code: 'INVALID_ARGUMENT' })
      await assert.rejects(e.create({ userId: 'x', claims: { sub: 'admin' } }), { code: 'CLAIM_RESERVED' })
      await assert.rejects(Engine.start({ store: new NativeMemoryStore(), secret: ['short'] }), { code: 'CONFIG_INVALID' })
      await assert.rejects(start({ refreshGrace: 60001 }), { code: 'CONFIG_INVALID' })
      assert.throws(() => new NativeMemoryStore({ maxSessions: 0 }), TypeError)
      await assert.rejects(Engine.start({ secret: [SECRET] }), TypeError)
    })
  })

  describe('when a native call fails', function () {
    // The addon itself sets err.code, for async calls as for sync ones: these go to the
    // native objects directly, past the JS wrappers.
    const native = require('../../js/native.js')

    it('should reject async calls with an Error whose code the addon set', async function () {
      const store = native.openMemoryStore()
      const nativeEngine = await store.startEngine({ secret: [SECRET], fixedNow: T0 })
      for (const call of [() => nativeEngine.revoke('not-a-handle'), () => nativeEngine.get('x'),
        () => nativeEngine.create({ userId: 'x', claims: { sub: 'admin' } }), () => nativeEngine.revokeKey('no-such-kid')]) {
        const err = await call().then(() => null, (e) => e)
        assert.ok(err instanceof Error, 'an Error')
        assert.match(err.code, /^(INVALID_ARGUMENT|CLAIM_RESERVED|KEY_UNKNOWN)$/)
        assert.ok(err.message.startsWith(err.code + ': '), err.message)
      }
      await assert.rejects(store.startEngine({ secret: ['short'] }), { code: 'CONFIG_INVALID' })
      await assert.rejects(store.startEngine({ secret: [SECRET], leeway: 1.5 }), (e) => e.code === 'CONFIG_INVALID' && /leeway/.test(e.message))
    })

    it('should throw sync calls with the code, and never put the input in the message', async function () {
      const e = await start()
      const token = 'x'.repeat(40) + '.' + 'y'.repeat(40)
      const err = await e.refresh(token).then((out) => out)
      assert.deepEqual({ outcome: err.outcome, code: err.code }, { outcome: 'refused', code: 'REFRESH_MALFORMED' })
      assert.throws(() => e.csrfToken('not-a-handle'), (x) => x.code === 'INVALID_ARGUMENT' && !x.message.includes('not-a-handle'))
      assert.throws(() => e.verifyAccessToken(token), (x) => x.code === 'TOKEN_MALFORMED' && !x.message.includes(token))
    })
  })

  describe('when reading a cookie', function () {
    it('should return the value as sent, null when absent, and throw with code when ambiguous', async function () {
      const e = await start()
      assert.equal(e.readCookie('a=1; __Host-rt=x.y%20z', '__Host-rt'), 'x.y%20z')
      assert.equal(e.readCookie('a=1', '__Host-rt'), null)
      assert.throws(() => e.readCookie('rt=1; rt=2', 'rt'), (err) => err instanceof Error && err.code === 'CREDENTIALS_AMBIGUOUS')
      assert.throws(() => e.readCookie('rt=\u00e9', 'rt'), { code: 'TOKEN_MALFORMED' })
    })
  })

  describe('ENGINE_OPTIONS', function () {
    it('should list every option Engine.start reads besides store', function () {
      const { ENGINE_OPTIONS } = require('../../js/engine.js')
      assert.ok(Object.isFrozen(ENGINE_OPTIONS))
      for (const n of ['secret', 'accessTokenMaxAge', 'leeway', 'fixedNow', 'refreshGrace', 'syncInterval']) {
        assert.ok(ENGINE_OPTIONS.includes(n), n)
      }
      assert.ok(!ENGINE_OPTIONS.includes('store'))
      assert.deepEqual(ENGINE_OPTIONS, ['secret', 'allowShortSecret', 'algorithm', 'issuer', 'audience', 'accessTokenMaxAge', 'leeway',
        'keyRotationInterval', 'retiredKeyTtl', 'maxTokenLength', 'accessCookieName', 'secureAccessCookieName', 'accessCookieWithSid', 'fixedNow',
        'refreshGrace', 'refreshTokenMaxAge', 'absoluteMaxAge', 'anonymousMaxAge', 'syncInterval', 'maxDataBytes', 'maxSessionsPerUser', 'resetKeyRing'])
    })
  })

  describe('when the store is SQLite', function () {
    it('should keep sessions across engines sharing the file, and see revocations at sync', async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-sqlite-'))
      try {
        const file = path.join(dir, 'nested', 'sessions.sqlite3')
        const a = await Engine.start({ store: new SqliteStore({ path: file }), secret: [SECRET], fixedNow: T0 })
        const b = await Engine.start({ store: new SqliteStore({ path: file }), secret: [SECRET], fixedNow: T0 })
        const t = await a.create({ userId: 'ivy', data: { n: 1 } })
        assert.equal(b.verifyRequest('__Host-at=' + t.accessToken).ok, true, 'one key ring for both')
        assert.deepEqual((await b.get(t.handle)).data, { n: 1 })
        await a.revoke(t.handle)
        await b.sync()
        assert.equal(b.verifyRequest('__Host-at=' + t.accessToken).code, 'SESSION_REVOKED')
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })

    it('should refuse a path that is not a database with STORE_CORRUPT', async function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-sqlite-'))
      try {
        const file = path.join(dir, 'not-a-db')
        fs.writeFileSync(file, 'hello, this is not SQLite at all'.repeat(100))
        await assert.rejects(Engine.start({ store: new SqliteStore({ path: file }), secret: [SECRET] }), { code: 'STORE_CORRUPT' })
        assert.throws(() => new SqliteStore({ path: '' }), TypeError)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  })

  describe('when the store is PostgreSQL', function () {
    // Its own database (created by scripts/ci/postgres.sh): the store suite leaves fake key rings in `tandem`.
    const url = process.env.TANDEM_PG_URL && process.env.TANDEM_PG_URL.replace(/\/[^/]*$/, '/tandem_js')
    const skip = url ? false : (process.env.CI ? false : 'set TANDEM_PG_URL (bash scripts/ci/postgres.sh)')

    it('should share sessions, the key ring and revocations between engines', { skip }, async function () {
      assert.ok(url, 'TANDEM_PG_URL must be set in CI')
      const a = await Engine.start({ store: new PostgresStore({ connectionString: url }), secret: [SECRET], fixedNow: T0 })
      const b = await Engine.start({ store: new PostgresStore({ connectionString: url }), secret: [SECRET], fixedNow: T0 })
      const t = await a.create({ userId: 'pg-user', data: { n: 1 }, device: browser })
      assert.equal(b.verifyRequest('__Host-at=' + t.accessToken).ok, true)
      const r = await b.refresh(t.refreshToken, browser)
      assert.equal(r.outcome, 'refreshed')
      await a.revoke(t.handle)
      await b.sync()
      assert.equal(b.verifyRequest('__Host-at=' + r.tokens.accessToken).code, 'SESSION_REVOKED')
    })

    it('should refuse a connection string that is not a postgres URL', function () {
      assert.throws(() => new PostgresStore({ connectionString: 'mysql://x' }), TypeError)
    })
  })

  describe('when the store is Redis', function () {
    // Database 2 of the test server: the store suite leaves fake key rings in database 0.
    const url = process.env.TANDEM_REDIS_URL && process.env.TANDEM_REDIS_URL.replace(/\/\d*$/, '') + '/2'
    const skip = url ? false : (process.env.CI ? false : 'set TANDEM_REDIS_URL (source scripts/ci/redis.sh)')

    it('should share sessions, the key ring and revocations between engines', { skip }, async function () {
      assert.ok(url, 'TANDEM_REDIS_URL must be set in CI')
      const a = await Engine.start({ store: new RedisStore({ url }), secret: [SECRET], fixedNow: T0 })
      const b = await Engine.start({ store: new RedisStore({ url }), secret: [SECRET], fixedNow: T0 })
      const t = await a.create({ userId: 'redis-user', data: { n: 1 }, device: browser })
      assert.equal(b.verifyRequest('__Host-at=' + t.accessToken).ok, true)
      const r = await b.refresh(t.refreshToken, browser)
      assert.equal(r.outcome, 'refreshed')
      assert.equal(await b.patchData(t.handle, { n: 2 }), 1)
      await a.revoke(t.handle)
      await b.sync()
      assert.equal(b.verifyRequest('__Host-at=' + r.tokens.accessToken).code, 'SESSION_REVOKED')
    })

    it('should take exactly one of url and cluster', function () {
      assert.throws(() => new RedisStore({}), TypeError)
      assert.throws(() => new RedisStore({ url: 'redis://a', cluster: ['redis://b'] }), TypeError)
      assert.throws(() => new RedisStore({ cluster: [] }), TypeError)
      assert.throws(() => new RedisStore({ url: 'http://x' }), TypeError)
    })
  })
})
