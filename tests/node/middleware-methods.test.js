'use strict'

// The Session methods in both styles (node callback and promise), req.sessionID, and
// the proxy and secure-cookie options, on Express 5 and 4.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { cookieNames } = require('./support/http-client.js')
const {
  ACCESS, REFRESH, REFRESH_PATH,
  assertOk, eachExpress, login, session, shouldNotSetCookie, shouldSetCookie, useApp
} = require('./support/apps.js')

const METHODS = ['create', 'regenerate', 'destroy', 'reload', 'save', 'touch']

eachExpress(function (express) {
  describe('the session methods', function () {
    for (const name of METHODS) {
      for (const style of ['cb', 'promise']) {
        it(`should run ${name}() with ${style === 'cb' ? 'a callback (and still return a promise)' : 'a promise'}`, async function (t) {
          const app = await useApp(t, express)
          const c = app.client()
          const li = await login(c, 'alice', { data: { a: 1 } })
          const r = await c.post(`/method/${name}?style=${style}`, { json: { user: 'bob' } })
          assertOk(r, `${name} (${style})`)
          assert.equal(r.json.err, null, `${name} (${style}) error: ${JSON.stringify(r.json.err)}`)
          assert.equal(r.json.thenable, true, `${name} returns a promise`)
          if (style === 'cb') assert.equal(r.json.calls, 1, 'the callback runs exactly once')
          assert.equal(r.json.idBefore, li.json.id)
          const me = await c.get('/me')
          switch (name) {
            case 'create':
              assert.equal(r.json.userId, 'bob')
              assert.notEqual(r.json.id, li.json.id)
              assert.deepEqual(r.json.data, {})
              assert.equal(me.json.userId, 'bob')
              break
            case 'regenerate':
              assert.equal(r.json.userId, 'alice')
              assert.notEqual(r.json.id, li.json.id)
              assert.deepEqual(r.json.data, {})
              assert.equal(me.json.id, r.json.id)
              break
            case 'destroy':
              assert.equal(r.json.id, null, 'req.session is gone')
              assert.equal(me.json.userId, null)
              break
            default:
              assert.equal(r.json.id, li.json.id)
              assert.deepEqual(r.json.data, { a: 1 })
              assert.deepEqual([me.json.userId, me.json.id], ['alice', li.json.id])
          }
          if (name === 'touch') shouldSetCookie(r, ACCESS)
          if (r.json.sessionIdMatches !== null) assert.equal(r.json.sessionIdMatches, true, 'req.sessionID follows req.session.id')
        })
      }
    }

    it('should pass an error to the callback and reject the promise, with a code', async function (t) {
      for (const style of ['cb', 'promise']) {
        const app = await useApp(t, express)
        const c = app.client()
        await login(c, 'alice')
        const slow = c.post(`/reload?gate=G&style=${style}`)
        await app.gates.arrived('G')
        await app.s.revokeUserSessions('alice')
        app.gates.open('G')
        const r = await slow
        assert.equal(r.json?.err?.code, 'SESSION_REVOKED', `${style}: ${r.text}`)
      }
    })
  })

  describe('req.sessionID', function () {
    it('should be null before the session is stored and the handle after; req.sessionStore is the store', async function (t) {
      const store = new session.MemoryStore()
      const app = await useApp(t, express, { store }, {
        setup (a) { a.get('/store', (req, res) => res.json({ same: req.sessionStore === store })) }
      })
      assert.deepEqual((await app.client().get('/store')).json, { same: true })
      const c = app.client()
      const anon = await c.get('/me')
      assert.equal(anon.json.sessionID, null)
      assert.equal(anon.json.id, null)
      const li = await login(c, 'alice')
      assert.equal(li.json.sessionID, li.json.id, 'set by create() within the request')
      const r = await c.get('/session-id')
      assert.deepEqual(r.json, { sessionID: li.json.id, id: li.json.id, same: true })
    })
  })

  describe('when the cookies must be Secure', function () {
    it('should set no cookie over plain http with cookie.secure true', async function (t) {
      const app = await useApp(t, express, { cookie: { secure: true } })
      const c = app.client()
      const r = await c.post('/login', { json: { user: 'alice' } })
      assert.notEqual(r.status, 500, r.text)
      shouldNotSetCookie(r)
      assert.deepEqual(c.jar.names(), [])
    })

    it('should trust X-Forwarded-Proto with proxy: true and use __Host-/__Secure- names', async function (t) {
      const app = await useApp(t, express, { proxy: true })
      const c = app.client({ secure: true, headers: { 'X-Forwarded-Proto': 'https' } })
      const r = await login(c, 'alice')
      const at = shouldSetCookie(r, '__Host-tandem')
      assert.equal(at.secure, true)
      assert.equal(at.pathAttribute, '/')
      assert.equal(at.hostOnly, true, 'no Domain')
      const rt = shouldSetCookie(r, '__Secure-tandem.refresh')
      assert.equal(rt.secure, true)
      assert.equal(rt.pathAttribute, REFRESH_PATH)
      shouldNotSetCookie(r, ACCESS)
      shouldNotSetCookie(r, REFRESH)
      assert.deepEqual(c.jar.refused, [], 'a browser keeps them all')
      const me = await c.get('/me')
      assertOk(me)
      assert.equal(me.json.userId, 'alice')
      assert.deepEqual(cookieNames(me.cookie), ['__Host-tandem'])
      const ref = await c.post(REFRESH_PATH)
      assertOk(ref, 'refresh behind the proxy (Origin is the https origin)')
      shouldSetCookie(ref, '__Secure-tandem.refresh')
    })

    it('should not trust X-Forwarded-Proto with proxy: false', async function (t) {
      const app = await useApp(t, express, { proxy: false }, { trustProxy: true })
      const c = app.client({ headers: { 'X-Forwarded-Proto': 'https' } })
      const r = await login(c, 'alice')
      const at = shouldSetCookie(r, ACCESS)
      assert.equal(at.secure, false)
      shouldNotSetCookie(r, '__Host-tandem')
    })

    it('should follow Express\'s req.secure when proxy is unset', async function (t) {
      const trusted = await useApp(t, express, {}, { trustProxy: true })
      const c = trusted.client({ secure: true, headers: { 'X-Forwarded-Proto': 'https' } })
      shouldSetCookie(await login(c, 'alice'), '__Host-tandem')
      const untrusted = await useApp(t, express)
      const d = untrusted.client({ headers: { 'X-Forwarded-Proto': 'https' } })
      shouldSetCookie(await login(d, 'alice'), ACCESS)
    })

    it('should use __Secure- for the access cookie when its path is not /', async function (t) {
      const app = await useApp(t, express, { proxy: true, cookie: { path: '/app' }, refreshPath: '/app/refresh' }, {
        setup (a) {
          a.post('/app/login', async (req, res, next) => {
            try {
              await req.session.create('alice')
              res.json({ id: req.session.id })
            } catch (err) { next(err) }
          })
        }
      })
      const c = app.client({ secure: true, headers: { 'X-Forwarded-Proto': 'https' } })
      const r = await c.post('/app/login', { json: {} })
      assertOk(r)
      const at = shouldSetCookie(r, '__Secure-tandem')
      assert.equal(at.pathAttribute, '/app')
      shouldNotSetCookie(r, '__Host-tandem')
      assert.equal(shouldSetCookie(r, '__Secure-tandem.refresh').pathAttribute, '/app/refresh')
    })
  })
})
