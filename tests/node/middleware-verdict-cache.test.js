'use strict'

// The verdict cache (js/middleware/fast/verdict-cache.js): a token presented again is not
// verified again, and yet every way a token stops being good is seen on the very next
// request: logout, admin revocation, theft, emergency key revocation, expiry. The HTTP
// tests present the same cookie several times first, so the refusal comes from a cached
// acceptance being dropped, not from a first verify.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { VerdictCache, MAX_KEY_CHARS, MAX_KEY_TOTAL } = require('../../js/middleware/fast/verdict-cache.js')
const {
  ACCESS, ACCESS_MS, EXPIRE_MS, GRACE_MS, REFRESH_PATH,
  assertCode, assertOk, eachExpress, login, useApp
} = require('./support/apps.js')

const ok = (exp, claims) => ({ ok: true, source: 'cookie', claims: { sub: 'u', sid: 's', exp, dv: 0, ...(claims ? { claims } : {}) } })

describe('VerdictCache', function () {
  it('should give back an acceptance for the same header, cookie-name choice and epoch', function () {
    const c = new VerdictCache(10)
    const r = ok(100)
    c.set('a=1', undefined, false, r, 7, 1000)
    assert.equal(c.get('a=1', undefined, false, 7, 2000), r)
    assert.equal(c.get('a=1 ', undefined, false, 7, 2000), undefined, 'byte for byte')
    assert.equal(c.get('a=1', undefined, true, 7, 2000), undefined, 'the other cookie name')
    assert.equal(c.get(undefined, 'a=1', false, 7, 2000), undefined, 'not as a Bearer header')
  })

  it('should forget everything when the epoch moves', function () {
    const c = new VerdictCache(10)
    c.set('a=1', undefined, false, ok(100), 7, 1000)
    c.set(undefined, 'Bearer x', false, ok(100), 7, 1000)
    assert.equal(c.get('a=1', undefined, false, 8, 1000), undefined)
    assert.equal(c.get('a=1', undefined, false, 7, 1000), undefined, 'gone, not just hidden')
    assert.equal(c.get(undefined, 'Bearer x', false, 7, 1000), undefined)
  })

  it('should refuse at exp with no leeway, and when the clock is before the verify', function () {
    const c = new VerdictCache(10)
    c.set('a=1', undefined, false, ok(100), 1, 50_000)
    assert.ok(c.get('a=1', undefined, false, 1, 99_999))
    assert.equal(c.get('a=1', undefined, false, 1, 100_000), undefined)
    c.set('b=1', undefined, false, ok(100), 1, 50_000)
    assert.equal(c.get('b=1', undefined, false, 1, 49_999), undefined)
  })

  it('should keep no refusal, nothing for a request with both credentials, and at most max', function () {
    const c = new VerdictCache(2)
    c.set('a=1', undefined, false, { ok: false, code: 'TOKEN_INVALID' }, 1, 0)
    assert.equal(c.get('a=1', undefined, false, 1, 0), undefined)
    c.set('a=1', 'Bearer x', false, ok(100), 1, 0)
    assert.equal(c.get('a=1', 'Bearer x', false, 1, 0), undefined)
    c.set('k=1', undefined, false, ok(100), 1, 0)
    c.set('k=2', undefined, false, ok(100), 1, 0)
    c.set('k=3', undefined, false, ok(100), 1, 0)
    assert.equal(c.get('k=1', undefined, false, 1, 0), undefined, 'the oldest went first')
    assert.ok(c.get('k=2', undefined, false, 1, 0))
    assert.ok(c.get('k=3', undefined, false, 1, 0))
  })

  it('should keep no header longer than MAX_KEY_CHARS, and at most MAX_KEY_TOTAL characters of them (padded headers)', function () {
    const c = new VerdictCache(100000)
    const padded = 'at=token; pad=' + 'x'.repeat(MAX_KEY_CHARS)
    c.set(padded, undefined, false, ok(100), 7, 1000)
    assert.equal(c.get(padded, undefined, false, 7, 1000), undefined, 'verified every time instead')
    assert.equal(c.keptChars, 0)
    // One valid token, a different padding each time: what an attacker can send.
    const n = Math.ceil((2 * MAX_KEY_TOTAL) / MAX_KEY_CHARS)
    let last
    for (let i = 0; i < n; i++) {
      last = `at=token; pad=${i};` + 'y'.repeat(MAX_KEY_CHARS - 40)
      c.set(last, undefined, false, ok(100), 7, 1000)
      assert.ok(c.keptChars <= MAX_KEY_TOTAL, `${c.keptChars} characters kept after ${i + 1}`)
    }
    assert.ok(c.get(last, undefined, false, 7, 1000), 'the newest is kept')
    assert.equal(c.get('at=token; pad=0;' + 'y'.repeat(MAX_KEY_CHARS - 40), undefined, false, 7, 1000), undefined, 'the oldest went first')
    c.clear(8)
    assert.equal(c.keptChars, 0)
  })

  it('should drop expired verdicts as new ones come in, not only at the cap', function () {
    const c = new VerdictCache(1000)
    for (let i = 0; i < 10; i++) c.set(`old=${i}`, undefined, false, ok(10), 1, 0) // exp 10 s
    for (let i = 0; i < 5; i++) c.set(`new=${i}`, undefined, false, ok(100), 1, 20_000)
    for (let i = 0; i < 10; i++) assert.equal(c.get(`old=${i}`, undefined, false, 1, 5_000), undefined, `old=${i} dropped`)
    assert.ok(c.get('new=4', undefined, false, 1, 20_000))
  })

  it('should hand each hit its own copy of the app claims, as verified', function () {
    const c = new VerdictCache(10)
    const first = ok(100, { roles: ['reader'] })
    c.set('a=1', undefined, false, first, 1, 0)
    first.claims.claims.roles.push('admin') // what a route could do to its copy
    const hit = c.get('a=1', undefined, false, 1, 0)
    assert.deepEqual(hit.claims.claims, { roles: ['reader'] })
    hit.claims.claims.roles.push('x')
    assert.deepEqual(c.get('a=1', undefined, false, 1, 0).claims.claims, { roles: ['reader'] })
    assert.ok(Object.isFrozen(c.get('k', undefined, false, 1, 0) ?? Object.freeze({})))
  })
})

eachExpress(function (express) {
  describe('a cached acceptance, over HTTP', function () {
    async function warm (c, times = 3) {
      for (let i = 0; i < times; i++) assertOk(await c.get('/me'))
    }

    it('should be dropped by a logout in this process', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      await warm(c)
      const copy = c.clone() // the same cookies, kept by someone else
      assertOk(await c.post('/logout'))
      assertCode(await copy.get('/me'), 401, 'UNAUTHORISED')
    })

    it('should be dropped by an admin revocation', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      const id = (await login(c, 'alice')).json.id
      await warm(c)
      assert.equal(await app.s.revokeSession(id), true)
      assertCode(await c.get('/me'), 401, 'UNAUTHORISED')
    })

    it('should be dropped by a theft, for the victim too', async function (t) {
      const app = await useApp(t, express)
      const victim = app.client()
      await login(victim, 'alice')
      await warm(victim)
      const thief = victim.clone()
      app.advance(1000)
      assertOk(await victim.post(REFRESH_PATH))
      await warm(victim)
      app.advance(GRACE_MS + 1000) // the old refresh token is past its grace: a replay is theft
      const stolen = await thief.post(REFRESH_PATH)
      assertCode(stolen, 401, 'TOKEN_THEFT_DETECTED')
      assertCode(await victim.get('/me'), 401, 'TOKEN_THEFT_DETECTED')
    })

    it('should be dropped by an emergency key revocation (the client refreshes)', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      await warm(c)
      await app.s.revokeSigningKey(app.s.currentKid())
      assertCode(await c.get('/me'), 401, 'TRY_REFRESH')
    })

    it('should end at the token\'s expiry', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const cookie = `${ACCESS}=${c.jar.get(ACCESS).value}`
      const again = () => c.get('/me', { headers: { cookie } })
      assertOk(await again())
      app.advance(ACCESS_MS - 1000)
      assertOk(await again())
      app.advance(EXPIRE_MS - ACCESS_MS + 1000) // past exp and the leeway
      assertCode(await again(), 401, 'TRY_REFRESH')
    })
  })
})
