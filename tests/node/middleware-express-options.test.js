'use strict'

/**
 * express-session's options and habits that carry over: a sample app's short secret
 * (allowed outside production with one warning, refused in production at setup), `key` as
 * the older name of `name`, `cookie.sameSite: 'auto'`, and engine options that a typo
 * makes fail at setup rather than at the first request (issue 14, bug 3).
 */

const assert = require('node:assert/strict')
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { describe, it } = require('node:test')

const { eachExpress, useApp, login, shouldSetCookie, session, SECRET, REFRESH_PATH, EXPIRE_MS } = require('./support/apps.js')

const ROOT = path.join(__dirname, '..', '..')

/** Run `code` in a fresh Node with `env`: its exit status, stdout and stderr. */
function runNode (code, env) {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

const MAKE_TWO = `
  const session = require('.')
  for (let i = 0; i < 2; i++) session({ secret: 'keyboard cat', store: new session.MemoryStore() })
  console.log('made')
`

describe('a secret shorter than 32 bytes', function () {
  it('should be accepted outside production with one warning that says how to fix it', function () {
    const r = runNode(MAKE_TWO, { NODE_ENV: 'development' })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /made/)
    const warnings = r.stderr.match(/TANDEM_SHORT_SECRET/g) ?? []
    assert.equal(warnings.length, 1, r.stderr)
    assert.match(r.stderr, /randomBytes\(32\)/)
    assert.ok(!r.stderr.includes('keyboard cat'), 'the warning never shows the secret')
  })

  it('should be refused at setup with NODE_ENV=production, with a TypeError naming secret', function () {
    const r = runNode(`
      const session = require('.')
      try { session({ secret: 'keyboard cat', store: new session.MemoryStore() }); console.log('accepted') }
      catch (e) { console.log(e.constructor.name + ': ' + e.message) }
    `, { NODE_ENV: 'production' })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /^TypeError: secret option must be at least 32 bytes with NODE_ENV=production/)
    assert.ok(!r.stdout.includes('keyboard cat'))
  })

  it('should still refuse an empty secret', function () {
    assert.throws(() => session({ secret: '', store: new session.MemoryStore() }), (e) => e instanceof TypeError && /secret/.test(e.message))
  })
})

eachExpress(function (express) {
  describe('with a short secret outside production', function () {
    it('should log in, and keep the user across requests and a refresh', async function (t) {
      const app = await useApp(t, express, { secret: 'keyboard cat' })
      const c = app.client()
      await login(c, 'ann')
      assert.equal((await c.get('/whoami')).json.userId, 'ann')
      app.advance(EXPIRE_MS)
      const r = await c.post(REFRESH_PATH)
      assert.equal(r.status, 200, r.text)
      assert.equal((await c.get('/whoami')).json.userId, 'ann')
    })
  })

  describe('the key option', function () {
    it("should name the cookies as express-session's older name for name", async function (t) {
      const app = await useApp(t, express, { key: 'connect.sid' })
      const res = await login(app.client(), 'ann')
      shouldSetCookie(res, 'connect.sid')
      shouldSetCookie(res, 'connect.sid.refresh')
    })
  })

  describe("cookie.sameSite 'auto'", function () {
    it('should be Lax on plain HTTP (None needs Secure)', async function (t) {
      const app = await useApp(t, express, { cookie: { sameSite: 'auto' } })
      const res = await login(app.client(), 'ann')
      assert.match(shouldSetCookie(res, 'connect.sid').raw, /SameSite=Lax/)
    })

    it('should be None on a secure request', async function (t) {
      const app = await useApp(t, express, { proxy: true, cookie: { sameSite: 'auto' } }, { trustProxy: true })
      const res = await login(app.client({ secure: true }), 'ann', {}, { headers: { 'x-forwarded-proto': 'https' } })
      const c = shouldSetCookie(res, 'connect.sid')
      assert.match(c.raw, /SameSite=None/)
      assert.match(c.raw, /Secure/)
    })
  })

  describe('engine options with a bad value', function () {
    it('should fail in session(), and strict leeway 0 should serve requests', async function (t) {
      assert.throws(() => session({ secret: SECRET, store: new session.MemoryStore(), accessTokenMaxAge: 1500 }),
        (e) => e instanceof TypeError && /accessTokenMaxAge/.test(e.message))
      const app = await useApp(t, express, { leeway: 0 })
      const c = app.client()
      await login(c, 'ann')
      assert.equal((await c.get('/whoami')).json.userId, 'ann')
    })
  })
})

eachExpress(function (express) {
  describe("the express-session login idiom (regenerate, req.session.userId = id, save)", function () {
    const setup = (app) => {
      app.post('/es-login', (req, res, next) => {
        req.session.regenerate((err) => {
          if (err) return next(err)
          req.session.userId = req.body.user
          req.session.save((e) => e ? next(e) : res.json({ id: req.session.id }))
        })
      })
      app.get('/es-me', (req, res) => res.json({ userId: req.session.userId ?? null, owner: req.session.owner, id: req.session.id }))
      app.post('/es-owner', (req, res) => {
        try { req.session.owner = 'mallory'; res.json({ wrote: true }) } catch (e) { res.status(400).json({ error: e.constructor.name, message: e.message }) }
      })
    }

    it("should keep the app's userId as data in a new session, and revoke the one before", async function (t) {
      const app = await useApp(t, express, {}, { setup })
      const c = app.client()
      const before = await c.post('/data', { json: { visit: 1 } })
      assert.equal(before.status, 200, before.text)
      const oldId = (await c.get('/es-me')).json.id
      assert.equal(typeof oldId, 'string')
      const login = await c.post('/es-login', { json: { user: 'ann' } })
      assert.equal(login.status, 200, login.text)
      assert.notEqual(login.json.id, oldId, 'a new session: fixation-proof')
      const me = (await c.get('/es-me')).json
      assert.deepEqual(me, { userId: 'ann', owner: null, id: login.json.id })
      assert.equal(app.events.revoked.some((e) => e.handle === oldId), true, 'the session before is revoked')
    })

    it("should refuse to write the login identity with a TypeError, not drop it", async function (t) {
      const app = await useApp(t, express, {}, { setup })
      const r = await app.client().post('/es-owner')
      assert.equal(r.status, 400)
      assert.equal(r.json.error, 'TypeError')
      assert.match(r.json.message, /create\(userId\)/)
    })
  })
})

describe("express-session's classes on the package", function () {
  it('should export Store, Cookie and Session so store factories load', function () {
    const util = require('node:util')
    const { EventEmitter } = require('node:events')
    // The connect-* factory pattern: `require('connect-x')(session)` inherits session.Store.
    const factory = (s) => { function XStore () { s.Store.call(this) } util.inherits(XStore, s.Store); return XStore }
    const XStore = factory(session)
    const store = new XStore()
    assert.ok(store instanceof session.Store && store instanceof EventEmitter)
    assert.equal(typeof store.regenerate, 'function')
    class YStore extends session.Store {}
    assert.ok(new YStore() instanceof session.Store)
    const c = new session.Cookie({ maxAge: 60000 })
    assert.equal(c.originalMaxAge, 60000)
    assert.equal(c.httpOnly, true)
    assert.equal(typeof session.Session, 'function')
  })
})

const MAKE_DEFAULT = `
  const session = require('.')
  for (let i = 0; i < 2; i++) session({ secret: ${JSON.stringify(SECRET)}, store: new session.MemoryStore() })
  session({ secret: ${JSON.stringify(SECRET)}, store: new session.MemoryStore(), saveUninitialized: false })
  console.log('made')
`

describe("express-session's defaults", function () {
  it('should warn once, as express-session does, when saveUninitialized is not given', function () {
    const r = runNode(MAKE_DEFAULT, { NODE_ENV: 'development' })
    assert.equal(r.status, 0, r.stderr)
    assert.equal((r.stderr.match(/TANDEM_SAVE_UNINITIALIZED/g) ?? []).length, 1, r.stderr)
    assert.match(r.stderr, /undefined saveUninitialized option; provide saveUninitialized option/)
  })

  eachExpress(function (express) {
    it('should name the cookie connect.sid and store a session for a visitor who wrote nothing', async function (t) {
      const app = await useApp(t, express, { saveUninitialized: undefined })
      const c = app.client()
      const first = await c.get('/me')
      const access = shouldSetCookie(first, 'connect.sid')
      shouldSetCookie(first, 'connect.sid.refresh')
      // express-session's shape, s:<id>.<signature>: the id is the session's, the signature a JWT
      assert.match(access.value, /^s:[A-Za-z0-9_-]{22}\.eyJ[^.]+\.[^.]+\.[^.]+$/, 's:<id>.<access token>')
      const again = await c.get('/me')
      assert.equal(typeof again.json.id, 'string', 'the same stored session on the next request')
      assert.equal(access.value.slice(2, access.value.indexOf('.')), again.json.id, 'the id in the cookie is req.sessionID, where express-session code reads it')
      assert.deepEqual([again.json.userId, again.json.data], [null, {}])
      assert.equal(app.events.created.length, 1)
    })

    it("should take an express-session cookie of the same name for no session: a new one, no error", async function (t) {
      const app = await useApp(t, express, { saveUninitialized: undefined })
      // What express-session sets: s:<id>.<HMAC-SHA256, base64 without padding>, URI-encoded.
      const legacy = 'connect.sid=' + encodeURIComponent('s:Kz1mOQ0wXm3aFv9m6r1y8Ue2LwbN1xQk.' + 'A'.repeat(43))
      const r = await app.client().get('/me', { headers: { Cookie: legacy } })
      assert.equal(r.status, 200, r.text)
      assert.deepEqual([r.json.userId, r.json.data], [null, {}])
      const ours = shouldSetCookie(r, 'connect.sid').value
      assert.match(ours, /^s:[A-Za-z0-9_-]{22}\.eyJ/, 'replaced by a new session of ours')
      assert.equal(ours.slice(2, 24), r.json.id)
    })
  })
})

const MAKE_WITHOUT_SECRET = `
  const session = require('.')
  for (let i = 0; i < 2; i++) session({ store: new session.MemoryStore(), saveUninitialized: false })
  console.log('made')
`

describe('the secret as express-session takes it', function () {
  it('should warn once at setup, as express-session does, when there is no secret option', function () {
    const r = runNode(MAKE_WITHOUT_SECRET, { NODE_ENV: 'development' })
    assert.equal(r.status, 0, r.stderr)
    assert.equal((r.stderr.match(/TANDEM_REQ_SECRET/g) ?? []).length, 1, r.stderr)
    assert.match(r.stderr, /req\.secret; provide secret option/)
  })

  eachExpress(function (express) {
    it("should take req.secret (cookie-parser's) at the first request, and answer 500 while there is none", async function (t) {
      let secret
      // What cookie-parser(secret) does before the session middleware: req.secret = secret.
      const setup = (app) => app.use((req, res, next) => { if (secret !== undefined) req.secret = secret; next() })
      const s = session({ store: new session.MemoryStore(), saveUninitialized: false })
      const e = express()
      setup(e)
      e.use(s)
      e.get('/n', (req, res) => { req.session.n = (req.session.n ?? 0) + 1; res.json({ n: req.session.n }) })
      e.use((err, req, res, next) => res.status(err.status ?? 500).json({ message: err.message }))
      const server = e.listen(0, '127.0.0.1')
      t.after(() => new Promise((resolve) => server.close(resolve)))
      await new Promise((resolve) => server.once('listening', resolve))
      const url = `http://127.0.0.1:${server.address().port}/n`
      const none = await fetch(url)
      assert.equal(none.status, 500)
      assert.match((await none.json()).message, /secret option required for sessions/)
      secret = SECRET
      const first = await fetch(url)
      assert.equal(first.status, 200)
      assert.deepEqual(await first.json(), { n: 1 })
      const cookie = first.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ')
      const second = await fetch(url, { headers: { cookie } })
      assert.deepEqual(await second.json(), { n: 2 }, 'the session signed with req.secret is read back')
    })

    it('should take a Buffer secret, as express-session does', async function (t) {
      const app = await useApp(t, express, { secret: [require('node:crypto').randomBytes(32), SECRET] })
      const c = app.client()
      await login(c, 'alice', { data: { a: 1 } })
      const me = await c.get('/me')
      assert.deepEqual([me.json.userId, me.json.data], ['alice', { a: 1 }])
      assert.throws(() => session({ secret: [Buffer.alloc(0), 42], store: new session.MemoryStore() }), { name: 'TypeError', message: /secret/ })
    })
  })
})

describe('cookies parsed by cookie-parser, and req.secure set by other code', function () {
  eachExpress(function (express) {
    /** What cookie-parser leaves: req.cookies, here with the Cookie header then replaced or removed. */
    const parsedThen = (header) => (app) => app.use((req, res, next) => {
      req.cookies = Object.fromEntries((req.headers.cookie ?? '').split(/; */).filter(Boolean).map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]))
      if (header === undefined) delete req.headers.cookie
      else req.headers.cookie = header
      next()
    })

    for (const [what, header] of [['replaced', 'foo=bar'], ['removed', undefined]]) {
      it(`should read the session from req.cookies when the Cookie header was ${what}, and refresh with it`, async function (t) {
        const app = await useApp(t, express, {}, { setup: parsedThen(header) })
        const c = app.client()
        await login(c, 'alice', { data: { a: 1 } })
        const me = await c.get('/me')
        assert.deepEqual([me.json.userId, me.json.data], ['alice', { a: 1 }])
        app.advance(EXPIRE_MS)
        const r = await c.post(REFRESH_PATH)
        assert.equal(r.status, 200, r.text)
        assert.equal(r.json.userId, 'alice')
      })
    }
  })

  it('should take a req.secure that other code set (plain node:http) for a secure cookie', async function (t) {
    const s = session({ secret: SECRET, store: new session.MemoryStore(), saveUninitialized: true })
    const server = require('node:http').createServer((req, res) => {
      if (req.headers['x-secure'] === 'true') req.secure = true
      s(req, res, () => res.end('ok'))
    })
    server.listen(0, '127.0.0.1')
    t.after(() => new Promise((resolve) => server.close(resolve)))
    await new Promise((resolve) => server.once('listening', resolve))
    const url = `http://127.0.0.1:${server.address().port}/`
    const secure = (await fetch(url, { headers: { 'x-secure': 'true' } })).headers.getSetCookie()
    assert.ok(secure.some((l) => l.startsWith('connect.sid=') && /; Secure/.test(l)), secure.join(' | '))
    const plain = (await fetch(url)).headers.getSetCookie()
    assert.ok(plain.some((l) => l.startsWith('connect.sid=') && !/; Secure/.test(l)), plain.join(' | '))
  })
})
