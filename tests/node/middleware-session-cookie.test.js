'use strict'

/**
 * `req.session.cookie` as express-session's: a Cookie, an own enumerable key of the
 * session beside the data, whose `originalMaxAge` is the `cookie.maxAge` option on every
 * request, and whose lifetime set by the app ("remember me") is the session's own: it
 * lasts across later writes and refreshes, in the cookies' Max-Age.
 */

const assert = require('node:assert/strict')
const { it, describe } = require('node:test')

const { ACCESS, REFRESH, REFRESH_PATH, EXPIRE_MS, assertOk, eachExpress, login, session, shouldSetCookie, stored, useApp } = require('./support/apps.js')

const HOUR = 60 * 60 * 1000
const MONTH = 30 * 24 * HOUR

/** Routes over the session's cookie. */
function cookieRoutes (app) {
  app.get('/cookie', (req, res) => {
    const c = req.session.cookie
    res.json({
      keys: Object.keys(req.session).sort(),
      isCookie: c instanceof session.Cookie,
      originalMaxAge: c.originalMaxAge,
      maxAge: c.maxAge,
      expiresIsDate: c.expires instanceof Date,
      httpOnly: c.httpOnly,
      path: c.path,
      json: JSON.parse(JSON.stringify(req.session))
    })
  })
  app.post('/remember', (req, res) => {
    req.session.cookie.maxAge = MONTH
    req.session.remembered = true
    res.json({ originalMaxAge: req.session.cookie.originalMaxAge })
  })
  app.post('/expire-at', (req, res) => {
    req.session.cookie.expires = new Date(req.body.at)
    req.session.n = (req.session.n ?? 0) + 1
    res.json({})
  })
  app.post('/browser-session', (req, res) => {
    req.session.cookie.expires = null
    req.session.n = (req.session.n ?? 0) + 1
    res.json({})
  })
}

eachExpress(function (express) {
  describe('a cookie lifetime longer than browsers keep (400 days)', function () {
    it('should be cut to 400 days as an option and per response, with a valid Expires', async function (t) {
      const FOREVER = 1e297
      const app = await useApp(t, express, { cookie: { maxAge: FOREVER } }, {
        setup (a) {
          a.post('/forever', (req, res) => {
            req.session.cookie.maxAge = FOREVER
            req.session.n = 1
            res.json({})
          })
        }
      })
      const c = app.client()
      for (const r of [await login(c, 'ola'), await c.post('/forever')]) {
        assertOk(r)
        const at = shouldSetCookie(r, ACCESS)
        assert.equal(at.maxAge, 400 * 24 * 60 * 60)
        const line = r.headers['set-cookie'].find((l) => l.startsWith(ACCESS + '='))
        const expires = Date.parse(/Expires=([^;]+)/.exec(line)[1])
        assert.ok(Number.isFinite(expires), 'a date: ' + line.replace(/=[^;]+/, '=…'))
      }
    })
  })

  describe('req.session.cookie', function () {
    it('should be a Cookie, enumerable beside the data, with the maxAge option as originalMaxAge on every request', async function (t) {
      const app = await useApp(t, express, { cookie: { maxAge: HOUR } }, { setup: cookieRoutes })
      const c = app.client()
      await login(c, 'alice', { data: { a: 1 } })
      for (let i = 0; i < 2; i++) {
        const r = await c.get('/cookie')
        assertOk(r)
        assert.deepEqual(r.json.keys, ['a', 'cookie'])
        assert.equal(r.json.isCookie, true)
        assert.equal(r.json.originalMaxAge, HOUR)
        assert.ok(r.json.maxAge > HOUR - 5000 && r.json.maxAge <= HOUR, `maxAge counts down from the lifetime: ${r.json.maxAge}`)
        assert.equal(r.json.expiresIsDate, true)
        assert.equal(r.json.httpOnly, true)
        assert.equal(r.json.path, '/')
        assert.equal(r.json.json.a, 1)
        assert.equal(r.json.json.cookie.originalMaxAge, HOUR, 'JSON shows the cookie as express-session does')
        for (const v of [c.jar.get(ACCESS).value, c.jar.get(REFRESH).value]) {
          assert.ok(!JSON.stringify(r.json.json).includes(v), 'no token in the session JSON')
        }
      }
      const none = await useApp(t, express, {}, { setup: cookieRoutes })
      const plain = await none.client().get('/cookie')
      assert.equal(plain.json.originalMaxAge, null)
      assert.equal(plain.json.expiresIsDate, false, 'no maxAge: a browser-session cookie')
    })

    it('should keep a lifetime the app set ("remember me") across writes and refreshes, and not store the default', async function (t) {
      const app = await useApp(t, express, {}, { setup: cookieRoutes })
      const c = app.client()
      const li = await login(c, 'alice')
      assert.equal(shouldSetCookie(li, ACCESS).maxAge, null, 'a browser-session cookie by default')
      assert.deepEqual((await stored(app, li.json.id)).data, {}, 'the default lifetime is not stored')
      const r = await c.post('/remember')
      assertOk(r)
      assert.equal(r.json.originalMaxAge, MONTH)
      assert.equal(shouldSetCookie(r, ACCESS).maxAge, MONTH / 1000)
      assert.deepEqual((await stored(app, li.json.id)).data, { cookie: { originalMaxAge: MONTH }, remembered: true })
      // A later write (another request: the lifetime comes from the store's copy).
      const w = await c.post('/data', { json: { b: 2 } })
      assertOk(w)
      assert.equal(shouldSetCookie(w, ACCESS).maxAge, MONTH / 1000, 'the lifetime outlives the request')
      assert.equal((await c.get('/cookie')).json.originalMaxAge, MONTH)
      // A refresh, once the access token expired: both new cookies keep the lifetime.
      app.advance(EXPIRE_MS)
      const rf = await c.post(REFRESH_PATH)
      assertOk(rf)
      assert.equal(shouldSetCookie(rf, ACCESS).maxAge, MONTH / 1000)
      assert.equal(shouldSetCookie(rf, REFRESH).maxAge, MONTH / 1000)
    })

    it('should make a browser-session cookie when the app sets expires to null', async function (t) {
      const app = await useApp(t, express, { cookie: { maxAge: HOUR } }, { setup: cookieRoutes })
      const c = app.client()
      await login(c, 'alice')
      const r = await c.post('/browser-session')
      assertOk(r)
      const at = shouldSetCookie(r, ACCESS)
      assert.equal(at.maxAge, null, at.raw)
      assert.ok(!/Expires=/i.test(at.raw), at.raw)
      const w = await c.post('/data', { json: { b: 2 } })
      assert.equal(shouldSetCookie(w, ACCESS).maxAge, null, 'and it stays one')
    })

    it('should send an expiry the app set in the past as that date (express-session\'s way to drop the cookie)', async function (t) {
      const app = await useApp(t, express, { cookie: { maxAge: HOUR } }, { setup: cookieRoutes })
      const c = app.client()
      await login(c, 'alice')
      const r = await c.post('/expire-at', { json: { at: 0 } })
      assertOk(r)
      const line = r.headers['set-cookie'].find((l) => l.startsWith(ACCESS + '='))
      assert.match(line, /Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT/)
    })
  })
})
