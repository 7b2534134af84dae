'use strict'

// CSRF as real apps meet it, over HTTP on Express 5 and 4: the decision table of
// js/middleware/csrf.js row by row (Sec-Fetch-Site first, then Origin, neither = no
// browser), another library's token (csurf's, lusca's) ignored in the `_csrf` field and in
// the csrf-token / x-csrf-token / x-xsrf-token headers while the headers decide, a token
// of exactly our shape checked as ours, and clients that send no browser headers at all.

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const http = require('node:http')
const { describe, it } = require('node:test')

const {
  ACCESS, REFRESH_PATH, assertCode, assertOk, eachExpress, login, useApp
} = require('./support/apps.js')

const EVIL = 'https://evil.example'
const TRUSTED = 'https://admin.example.com'

/**
 * A synchronizer token of csurf's shape, written here: `salt-hash`, an 8-character salt and
 * the base64url SHA-1 of salt and a per-session secret kept in the session (36 characters).
 */
const csurfLike = {
  secretOf (req) {
    if (typeof req.session.csrfSecret !== 'string') req.session.csrfSecret = crypto.randomBytes(18).toString('base64url')
    return req.session.csrfSecret
  },
  sign (salt, secret) {
    return salt + '-' + crypto.createHash('sha1').update(salt + '-' + secret).digest('base64url')
  },
  issue (req) {
    return csurfLike.sign(crypto.randomBytes(6).toString('base64url'), csurfLike.secretOf(req))
  },
  /** The check csurf makes: `_csrf` in the body or a token header, against the session's secret. */
  check (req, res, next) {
    const h = req.headers
    const token = (req.body && req.body._csrf) || h['csrf-token'] || h['xsrf-token'] || h['x-csrf-token'] || h['x-xsrf-token']
    const secret = req.session && req.session.csrfSecret
    const valid = typeof token === 'string' && typeof secret === 'string' && token.length === 36 &&
      csurfLike.sign(token.slice(0, 8), secret) === token
    if (!valid) return res.status(403).json({ code: 'EBADCSRFTOKEN' })
    next()
  }
}

/** A token of lusca's shape: a 10-character salt and a padded base64 SHA-1 (38 characters, with `=`). */
function luscaShaped () {
  return 'aB3dE5gH7j' + crypto.createHash('sha1').update('x').digest('base64')
}

/** The passport sample's routes: a form carrying the csurf-like token, a POST it guards. */
function csurfRoutes (app, ctx) {
  app.get('/form', (req, res) => res.json({ csrfToken: csurfLike.issue(req) }))
  app.post('/transfer', csurfLike.check, (req, res) => {
    ctx.hits.transfer = (ctx.hits.transfer ?? 0) + 1
    res.json({ amount: req.body.amount })
  })
}

/** POST `path` with exactly these headers and the session cookie, by plain node:http (no browser headers). */
function bareRequest (url, path, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url + path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('error', reject)
    req.end(body === undefined ? undefined : JSON.stringify(body))
  })
}

eachExpress(function (express) {
  describe('the decision table (Sec-Fetch-Site, then Origin)', function () {
    it('should pass or refuse each row as the module comment of csrf.js says, refusals with no side effect', async function (t) {
      const app = await useApp(t, express, { csrf: { trustedOrigins: [TRUSTED] } })
      const c = app.client()
      await login(c, 'alice')
      const own = app.origin
      // [Sec-Fetch-Site, Origin, passes?, why]; undefined: the header is not sent.
      const rows = [
        ['same-origin', undefined, true, 'same origin'],
        ['same-origin', own, true, 'same origin, our Origin'],
        ['same-origin', 'null', true, 'Origin: null from Referrer-Policy: no-referrer'],
        ['none', undefined, true, 'started by the user (address bar, bookmark)'],
        ['none', EVIL, true, 'started by the user: no page made it (Go does the same)'],
        ['same-site', TRUSTED, true, 'a trusted sibling subdomain'],
        ['cross-site', TRUSTED, true, 'a trusted origin'],
        ['same-site', undefined, false, 'a sibling subdomain'],
        ['same-site', own, false, 'same-site is not same-origin, whatever Origin says'],
        ['cross-site', EVIL, false, 'another site'],
        ['cross-site', undefined, false, 'another site, no Origin'],
        ['cross-site', own, false, 'the browser says cross-site'],
        ['cross-origin', own, false, 'a value we do not know'],
        ['Same-Origin', undefined, false, 'not a value browsers send'],
        [undefined, undefined, true, 'no browser headers at all: not a browser'],
        [undefined, own, true, 'an older browser, our Origin'],
        [undefined, own.toUpperCase(), true, 'our Origin in upper case'],
        [undefined, TRUSTED, true, 'an older browser, a trusted Origin'],
        [undefined, 'null', false, 'an older browser, Origin: null'],
        [undefined, EVIL, false, 'an older browser, another site'],
        [undefined, own + '.evil.example', false, 'an Origin that starts like ours']
      ]
      let passed = 0
      for (const [site, origin, passes, why] of rows) {
        const headers = { Origin: origin ?? false, 'Sec-Fetch-Site': site ?? false }
        const what = `Sec-Fetch-Site ${site ?? '(none)'}, Origin ${origin ?? '(none)'}: ${why}`
        const r = await c.post('/data', { json: { row: what }, headers })
        if (passes) {
          assertOk(r, what)
          passed++
        } else {
          assertCode(r, 403, 'CSRF_INVALID', what)
        }
        assert.equal(app.hits.data ?? 0, passed, what + ': the route ran only when passed')
        const refresh = await c.post(REFRESH_PATH, { headers })
        if (passes) assertOk(refresh, 'refresh, ' + what)
        else assertCode(refresh, 403, 'CSRF_INVALID', 'refresh, ' + what)
      }
      assert.equal((await c.get('/me')).json.userId, 'alice', 'still logged in')
    })
  })

  describe('when the form carries another library\'s _csrf (csurf, as in passport\'s sample)', function () {
    it('should let same-origin posts through to the app\'s own check, and refuse cross-site ones', async function (t) {
      const app = await useApp(t, express, {}, { setup: csurfRoutes })
      const c = app.client()
      await login(c, 'alice')
      const token = (await c.get('/form')).json.csrfToken
      assert.equal(token.length, 36, 'csurf\'s shape')
      const sameOrigin = { 'Sec-Fetch-Site': 'same-origin' } // and the app's Origin, sent by default
      const ok = await c.post('/transfer', { form: { amount: '10', _csrf: token }, headers: sameOrigin })
      assertOk(ok, 'same origin, csurf token')
      assert.equal(ok.json.amount, '10')
      assertCode(await c.post('/transfer', { form: { amount: '10', _csrf: (token[0] === 'x' ? 'y' : 'x') + token.slice(1) }, headers: sameOrigin }),
        403, 'EBADCSRFTOKEN', 'a wrong csurf token: the app\'s check refuses it, not ours')
      assertOk(await c.post('/transfer', { form: { amount: '11', _csrf: token }, headers: { 'Sec-Fetch-Site': 'same-origin', Origin: 'null' } }),
        'same origin under Referrer-Policy: no-referrer (helmet\'s default)')
      assertOk(await c.post('/transfer', { form: { amount: '12', _csrf: token }, headers: { Origin: false } }), 'no browser headers')
      assert.equal(app.hits.transfer, 3)
      for (const [what, headers] of [
        ['cross-site', { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL }],
        ['cross-site, no Origin', { 'Sec-Fetch-Site': 'cross-site', Origin: false }],
        ['an older browser on another site', { Origin: EVIL }]
      ]) {
        assertCode(await c.post('/transfer', { form: { amount: '666', _csrf: token }, headers }), 403, 'CSRF_INVALID', what)
      }
      assert.equal(app.hits.transfer, 3, 'no cross-site transfer ran')
    })

    it('should let a visitor log in through a form with a csurf token, and refuse a cross-site login', async function (t) {
      const app = await useApp(t, express, {}, { setup: csurfRoutes })
      const visitor = app.client()
      const token = (await visitor.get('/form')).json.csrfToken
      const evil = await visitor.post('/login', { form: { user: 'mallory', _csrf: token }, headers: { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL } })
      assertCode(evil, 403, 'CSRF_INVALID', 'login CSRF')
      assert.equal(app.hits.login ?? 0, 0)
      const r = await visitor.post('/login', { form: { user: 'alice', _csrf: token }, headers: { 'Sec-Fetch-Site': 'same-origin' } })
      assertOk(r, 'login with a csurf token')
      assert.equal((await visitor.get('/me')).json.userId, 'alice')
    })

    it('should ignore foreign tokens in the csrf-token, x-csrf-token and x-xsrf-token headers and a lusca _csrf', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const foreign = [
        ['csrf-token', { 'csrf-token': 'abcdefgh-' + 'A'.repeat(27) }],
        ['x-csrf-token', { 'X-CSRF-Token': 'abcdefgh-' + 'A'.repeat(27) }],
        ['x-xsrf-token', { 'X-XSRF-Token': 'eyJpdiI6IjEyMyJ9' }],
        ['x-csrf-token, 44 characters', { 'X-CSRF-Token': 'A'.repeat(44) }],
        ['x-csrf-token, 43 characters outside base64url', { 'X-CSRF-Token': 'A'.repeat(42) + '=' }]
      ]
      for (const [what, headers] of foreign) {
        assertOk(await c.post('/data', { json: { n: 1 }, headers: { 'Sec-Fetch-Site': 'same-origin', ...headers } }), what + ', same origin')
        assertOk(await c.post('/data', { json: { n: 1 }, headers: { Origin: false, ...headers } }), what + ', no browser headers')
        assertCode(await c.post('/data', { json: { n: 1 }, headers: { 'Sec-Fetch-Site': 'cross-site', Origin: EVIL, ...headers } }),
          403, 'CSRF_INVALID', what + ', cross-site')
      }
      const lusca = luscaShaped()
      assert.equal(lusca.length, 38)
      assertOk(await c.post('/data', { form: { n: '2', _csrf: lusca }, headers: { 'Sec-Fetch-Site': 'same-origin' } }), 'lusca _csrf, same origin')
      assertOk(await c.post('/data', { form: { n: '2', _csrf: ['a', 'b'] } }), 'a repeated _csrf field (an array), our Origin')
      assertCode(await c.post('/data', { form: { n: '3', _csrf: lusca }, headers: { Origin: EVIL } }), 403, 'CSRF_INVALID', 'lusca _csrf, another site')
      assert.deepEqual((await c.get('/me')).json.data, { n: '2' })
    })

    it('should check a foreign token of exactly our shape as ours, and refuse it (documented limit)', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const lookalike = crypto.randomBytes(32).toString('base64url')
      assert.equal(lookalike.length, 43)
      assertCode(await c.post('/data', { form: { n: '1', _csrf: lookalike }, headers: { 'Sec-Fetch-Site': 'same-origin' } }), 403, 'CSRF_INVALID', '_csrf')
      assertCode(await c.post('/data', { json: { n: 1 }, headers: { 'X-CSRF-Token': lookalike, Origin: false } }), 403, 'CSRF_INVALID', 'X-CSRF-Token')
      const ours = (await c.get('/csrf')).json.token
      assertCode(await c.post('/data', { form: { n: '1', _csrf: lookalike }, headers: { 'X-CSRF-Token': ours } }), 403, 'CSRF_INVALID',
        'every token of our shape must verify, not only one')
      assertOk(await c.post('/data', { form: { n: '1', _csrf: ours }, headers: { 'X-CSRF-Token': ours } }), 'ours twice')
      assert.equal(app.hits.data, 1)
    })

    it('should ask for our own token with requireToken, whatever foreign token comes', async function (t) {
      const app = await useApp(t, express, { csrf: { requireToken: true } }, { setup: csurfRoutes })
      const c = app.client()
      await login(c, 'alice')
      const theirs = (await c.get('/form')).json.csrfToken
      assertCode(await c.post('/transfer', { form: { amount: '1', _csrf: theirs }, headers: { 'Sec-Fetch-Site': 'same-origin' } }),
        403, 'CSRF_INVALID', 'a csurf token only')
      assertCode(await c.post('/transfer', { form: { amount: '1', _csrf: theirs }, headers: { Origin: false } }),
        403, 'CSRF_INVALID', 'a csurf token only, no browser headers')
      const ours = (await c.get('/csrf')).json.token
      const r = await c.post('/transfer', { form: { amount: '1', _csrf: theirs }, headers: { 'X-CSRF-Token': ours, 'Sec-Fetch-Site': 'same-origin' } })
      assertOk(r, 'ours in the header, theirs in the form: both checks pass')
      assert.equal(app.hits.transfer, 1)
    })
  })

  describe('when the client is not a browser (curl, supertest, socket.io\'s Node client)', function () {
    it('should let a client that sends neither Origin nor Sec-Fetch-Site write, refresh and log out with its session cookie', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const cookie = `${ACCESS}=${c.jar.get(ACCESS).value}`
      const write = await bareRequest(app.url, '/data', { Cookie: cookie }, { n: 1 })
      assert.equal(write.status, 200, write.text)
      assert.deepEqual(JSON.parse(write.text).data, { n: 1 })
      const evil = await bareRequest(app.url, '/data', { Cookie: cookie, Origin: EVIL }, { n: 666 })
      assert.equal(evil.status, 403, evil.text)
      assert.equal(JSON.parse(evil.text).code, 'CSRF_INVALID')
      assertOk(await c.post(REFRESH_PATH, { headers: { Origin: false } }), 'refresh')
      assertOk(await c.post('/logout', { headers: { Origin: false } }), 'logout')
      assert.equal(app.hits.data, 1)
      assert.equal(app.hits.logout, 1)
    })

    it('should still refuse a token of ours that does not verify, and ask a visitor with one for nothing else', async function (t) {
      const app = await useApp(t, express)
      const c = app.client()
      await login(c, 'alice')
      const stale = (await c.get('/csrf')).json.token
      await c.post('/logout')
      const visitor = app.client()
      assertOk(await visitor.post('/data', { json: { a: 1 }, headers: { Origin: false } }), 'a visitor, no token')
      assertCode(await app.client().post('/data', { json: { a: 1 }, headers: { Origin: false, 'X-CSRF-Token': stale } }),
        403, 'CSRF_INVALID', 'a visitor with a token of ours: it cannot verify')
    })
  })
})
