'use strict'

/**
 * Test apps for the middleware tests: one Express app (5 or 4) with `session()` in front
 * of a few routes, on 127.0.0.1 port 0, over a fresh MemoryStore and a fixed clock that
 * the tests move (`app.advance(ms)`), never sleeping past an expiry. Also the assertions
 * the test files share (`shouldSetCookie`, `shouldClearCookies`, `assertCode`,
 * `shouldRefuseCsrf`, …) and small helpers over a logged-in client (`loggedIn`, `stored`).
 */

const assert = require('node:assert/strict')
const http = require('node:http')
const net = require('node:net')
const { spawn, spawnSync } = require('node:child_process')
const { once } = require('node:events')
const { describe } = require('node:test')

const session = require('../../..')
const { HttpClient, isDeletion } = require('./http-client.js')

const SECRET = 'middleware-test-secret-that-is-long-enough-01'
const ACCESS = 'connect.sid'
const REFRESH = 'connect.sid.refresh'
const REFRESH_PATH = '/session/refresh'
const ACCESS_MS = 15 * 60 * 1000
/** Time to move on for an access token to have expired: its lifetime and the default 5 s leeway. */
const EXPIRE_MS = ACCESS_MS + 10 * 1000
const GRACE_MS = 10 * 1000
const EVIL = 'http://evil.example'

const EXPRESS = [['Express 5', () => require('express')], ['Express 4', () => require('express4')]]

/** Run `fn(express)` in a describe block per Express version. */
function eachExpress (fn) {
  for (const [name, load] of EXPRESS) describe(name, () => fn(load()))
}

/** Named rendezvous between a route and a test: the route `arrive`s then `wait`s; the test opens. */
class Gates {
  #gates = new Map()

  #get (name) {
    let g = this.#gates.get(name)
    if (!g) {
      g = {}
      g.arrived = new Promise((resolve) => { g.arrive = resolve })
      g.opened = new Promise((resolve) => { g.open = resolve })
      this.#gates.set(name, g)
    }
    return g
  }

  arrive (name) { this.#get(name).arrive() }
  arrived (name) { return this.#get(name).arrived }
  open (name) { this.#get(name).open() }
  wait (name) { return this.#get(name).opened }
  openAll () { for (const g of this.#gates.values()) g.open() }
}

/** What the routes answer about the request's session. */
function view (req) {
  const s = req.session
  if (s === undefined || s === null) return { userId: null, id: null, sessionID: req.sessionID ?? null, data: null }
  return { userId: s.owner, id: s.id, sessionID: req.sessionID, data: dataOf(s), claims: s.claims }
}

function wrap (fn) {
  return (req, res, next) => Promise.resolve().then(() => fn(req, res, next)).catch(next)
}

function escapeHtml (s) {
  return String(s).replace(/[&<>"']/g, (c) => '&#' + c.charCodeAt(0) + ';')
}

/** Call a session method in callback style (`cb`) or promise style, and say what it did. */
async function callMethod (target, name, args, style) {
  if (style === 'cb') {
    let returned
    let calls = 0
    const err = await new Promise((resolve) => {
      returned = target[name](...args, (e) => { calls++; resolve(e ?? null) })
    })
    const thenable = returned !== null && typeof returned === 'object' && typeof returned.then === 'function'
    if (thenable) await returned.catch(() => {})
    await new Promise((resolve) => setImmediate(resolve))
    return { err, thenable, calls }
  }
  const returned = target[name](...args)
  const thenable = returned !== null && typeof returned === 'object' && typeof returned.then === 'function'
  let err = null
  try {
    await returned
  } catch (e) {
    err = e
  }
  return { err, thenable, calls: 0 }
}

function routes (app, ctx) {
  const hit = (name) => { ctx.hits[name] = (ctx.hits[name] ?? 0) + 1 }
  const gate = async (req) => {
    if (!req.query.gate) return
    ctx.gates.arrive(req.query.gate)
    await ctx.gates.wait(req.query.gate)
  }
  const assign = (req) => {
    for (const [k, v] of Object.entries(req.body ?? {})) if (k !== '_csrf') req.session[k] = v
  }

  app.post('/login', wrap(async (req, res) => {
    hit('login')
    const { user, keepData, data, claims } = req.body
    const options = {}
    if (keepData !== undefined) options.keepData = keepData
    if (data !== undefined) options.data = data
    if (claims !== undefined) options.claims = claims
    const before = req.session.id
    await req.session.create(user, options)
    res.json({ before, ...view(req) })
  }))
  app.get('/me', (req, res) => { hit('me'); res.json(view(req)) })
  app.get('/whoami', (req, res) => { hit('whoami'); res.json({ userId: req.session ? req.session.owner : null }) })
  app.get('/plain', (req, res) => { hit('plain'); res.json({ plain: true }) })
  app.post('/data', wrap(async (req, res) => {
    hit('data')
    assign(req)
    res.json(view(req))
  }))
  // Loads the session, waits at the gate, then changes the keys of the body.
  app.post('/slow-save', wrap(async (req, res) => {
    hit('slow-save')
    const seen = view(req)
    await gate(req)
    assign(req)
    res.json({ seen, ...view(req) })
  }))
  app.post('/logout', wrap(async (req, res) => {
    hit('logout')
    await req.session.destroy()
    res.json({ destroyed: true, after: req.session === undefined ? 'undefined' : typeof req.session })
  }))
  app.post('/regenerate', wrap(async (req, res) => {
    const before = req.session.id
    await req.session.regenerate()
    res.json({ before, ...view(req) })
  }))
  app.post('/reload', wrap(async (req, res) => {
    const seen = view(req)
    await gate(req)
    const r = await callMethod(req.session, 'reload', [], req.query.style)
    res.json({ seen, err: r.err && { code: r.err.code, message: r.err.message }, ...view(req) })
  }))
  // Sets the body's keys, saves, then waits at the gate before answering.
  app.post('/save-wait', wrap(async (req, res) => {
    assign(req)
    await req.session.save()
    await gate(req)
    res.json(view(req))
  }))
  app.post('/touch', wrap(async (req, res) => {
    await req.session.touch()
    res.json(view(req))
  }))
  app.post('/unset', (req, res) => {
    if (req.body.how === 'null') req.session = null
    else delete req.session
    res.json({ unset: req.body.how })
  })
  app.get('/csrf', (req, res) => res.json({ token: req.session.csrfToken() }))
  app.post('/flash', (req, res) => {
    assign(req)
    res.redirect('/me')
  })
  app.get('/page', (req, res) => {
    hit('page')
    const who = req.session && req.session.owner ? 'signed in as ' + escapeHtml(req.session.owner) : 'anonymous'
    res.type('html').send(`<!doctype html><title>page</title><p id="who">${who}</p>`)
  })
  // Every session method, in callback or promise style (?style=cb).
  app.post('/method/:name', wrap(async (req, res) => {
    const name = req.params.name
    const args = name === 'create' ? [req.body.user, {}] : []
    const target = req.session
    const idBefore = target.id
    const r = await callMethod(target, name, args, req.query.style)
    res.json({
      name,
      err: r.err && { code: r.err.code, message: r.err.message },
      thenable: r.thenable,
      calls: r.calls,
      idBefore,
      sessionIdMatches: req.session ? req.sessionID === req.session.id : null,
      ...view(req)
    })
  }))
  app.get('/session-id', (req, res) => {
    res.json({ sessionID: req.sessionID, id: req.session.id, same: req.sessionID === req.session.id })
  })
}

function errorHandler (ctx) {
  // eslint-disable-next-line no-unused-vars
  return (err, req, res, next) => {
    ctx.errors.push(err)
    if (res.headersSent) return res.end()
    res.status(err.status || err.statusCode || 500).json({ code: err.code || 'INTERNAL', message: err.message })
  }
}

/**
 * Start a test app.
 * @param {Function} express the Express module (5 or 4)
 * @param {object} [options] session() options over the defaults (secret, MemoryStore, fixedNow)
 * @param {object} [extra] `trustProxy` (app setting), `setup(app)` (more routes first)
 * @returns {Promise<object>} `{url, origin, s, app, server, events, gates, hits, errors,
 *   now(), setNow(ms), advance(ms), client(opts), close()}`
 */
async function startApp (express, options = {}, extra = {}) {
  const start = Math.floor(Date.now() / 1000) * 1000
  const clock = { now: start }
  // saveUninitialized: false, as the sample apps of express-session set it (its default
  // true is tested where it is the subject).
  const s = session({ secret: SECRET, store: new session.NativeMemoryStore(), fixedNow: start, saveUninitialized: false, ...options })
  const events = { created: [], refreshed: [], revoked: [], theft: [] }
  if (typeof s.on === 'function') {
    for (const name of Object.keys(events)) s.on(name, (e) => events[name].push(e))
  }
  const ctx = { gates: new Gates(), hits: {}, errors: [] }
  const app = express()
  if (extra.trustProxy !== undefined) app.set('trust proxy', extra.trustProxy)
  app.use(express.json())
  app.use(express.urlencoded({ extended: false }))
  app.use(s)
  if (extra.setup) extra.setup(app, ctx)
  routes(app, ctx)
  app.use(errorHandler(ctx))
  const server = http.createServer({ maxHeaderSize: 64 * 1024 }, app)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    origin: url,
    s,
    /** The options given to session() (beside the test defaults). */
    options: { ...options },
    app,
    server,
    events,
    ...ctx,
    now: () => clock.now,
    setNow (ms) {
      clock.now = ms
      s.setNow(ms)
    },
    advance (ms) {
      this.setNow(clock.now + ms)
    },
    client (opts) {
      return new HttpClient(url, { clock: () => clock.now, ...opts })
    },
    async close () {
      ctx.gates.openAll()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  }
}

/** `startApp`, closed when the test `t` ends. */
async function useApp (t, express, options, extra) {
  const app = await startApp(express, options, extra)
  t.after(() => app.close())
  return app
}

// ---- assertions ----

function describeRes (res) {
  return `${res.status} ${res.text.slice(0, 300)}`
}

/** Assert an error answer: this status and JSON `code`. */
function assertCode (res, status, code, what = '') {
  assert.equal(res.status, status, `${what} status (${describeRes(res)})`)
  assert.equal(res.json && res.json.code, code, `${what} code (${describeRes(res)})`)
}

/** Assert a 2xx answer. */
function assertOk (res, what = '') {
  assert.ok(res.status >= 200 && res.status < 300, `${what} expected 2xx, got ${describeRes(res)}`)
}

/** Assert that `res` sets (not deletes) cookie `name`; returns the parsed Set-Cookie. */
function shouldSetCookie (res, name) {
  const c = res.setCookies.find((x) => x.name === name)
  assert.ok(c, `Set-Cookie ${name} expected, got: ${JSON.stringify(res.setCookies.map((x) => x.raw))}`)
  assert.ok(!isDeletion(c, res.now), `Set-Cookie ${name} should set, not delete: ${c.raw}`)
  return c
}

/** Assert that `res` has no Set-Cookie for `name` (or none at all when no name). */
function shouldNotSetCookie (res, name) {
  const lines = res.setCookies.filter((x) => name === undefined || x.name === name).map((x) => x.raw)
  assert.deepEqual(lines, [], `no Set-Cookie${name ? ' ' + name : ''} expected`)
}

/**
 * Assert that `res` deletes each cookie of `paths` (`{name: path}`): a Set-Cookie with
 * Max-Age=0 / an Expires in the past / an empty value, on the Path the cookie was set with
 * (a deletion on another Path deletes nothing in a browser).
 */
function shouldClearCookies (res, paths) {
  for (const [name, path] of Object.entries(paths)) {
    const c = res.setCookies.find((x) => x.name === name && isDeletion(x, res.now))
    assert.ok(c, `a deletion of ${name} expected, got: ${JSON.stringify(res.setCookies.map((x) => x.raw))}`)
    assert.equal(c.path, path, `deletion of ${name} on its own Path: ${c.raw}`)
  }
}

/** The default cookie pair, plain-http names: `{'connect.sid': '/', 'connect.sid.refresh': refreshPath}`. */
function bothCookies (refreshPath = REFRESH_PATH) {
  return { [ACCESS]: '/', [REFRESH]: refreshPath }
}

/** Assert that no token value of `values` occurs in the body of `res`. */
function assertNoTokenInBody (res, values) {
  for (const v of values.filter(Boolean)) {
    assert.ok(!res.text.includes(v), 'a token appears in the body')
  }
}

/** Log `user` in through POST /login; assert 200 and return the response. */
async function login (client, user, body = {}, opts = {}) {
  const res = await client.post('/login', { json: { user, ...body }, ...opts })
  assertOk(res, 'login')
  return res
}

/**
 * The names of the access and refresh cookies `client` gets from `app`: the `name` option
 * as given, and for a prefixed one (`__Host-sid`) on a secure client `__Host-sid` and
 * `__Secure-sid.refresh` (without the prefix over plain http).
 */
function tokenCookieNames (app, client) {
  const name = app.options.name ?? ACCESS
  const m = /^(__Host-|__Secure-)(.+)$/.exec(name)
  if (m === null) return [name, name + '.refresh']
  return client.secure ? [name, '__Secure-' + m[2] + '.refresh'] : [m[2], m[2] + '.refresh']
}

/**
 * Log `user` in with `client` (a fresh one by default): `{c, res, handle, access, refresh,
 * csrf}`, the tokens read from the jar under the names of the client's scheme.
 */
/**
 * The JWT of an access cookie value `s:<handle>.<jwt>` (what a Bearer header carries).
 * Test code only: the package reads tokens in Rust.
 */
function jwtOf (cookieValue) {
  assert.match(cookieValue, /^s:[A-Za-z0-9_-]{22}\./, 'an access cookie in express-session\'s shape')
  return cookieValue.slice(25)
}

async function loggedIn (app, user, client = app.client()) {
  const res = await login(client, user)
  const [access, refresh] = tokenCookieNames(app, client)
  return {
    c: client,
    res,
    handle: res.json.id,
    access: client.jar.get(access).value,
    jwt: jwtOf(client.jar.get(access).value),
    refresh: client.jar.get(refresh).value,
    csrf: res.headers['x-csrf-token']
  }
}

/** The data and data version the store holds for a session (null when it is gone). */
async function stored (app, handle) {
  const s = await app.s.engine.get(handle)
  return s && { data: s.data, dataVersion: s.dataVersion }
}

/** The session's data: its own keys but `cookie` (express-session's, enumerable beside them). */
function dataOf (session) {
  const { cookie, ...data } = session
  return data
}

/**
 * Ask `app` for /me with access token `token` every 100 ms until it stops answering 200
 * or `ms` passed (another instance learning of a logout at its next sync); the last answer.
 */
async function meUntilRefused (app, token, ms) {
  const deadline = Date.now() + ms
  let res
  do {
    await new Promise((resolve) => setTimeout(resolve, 100))
    res = await app.client().get('/me', { headers: { Cookie: ACCESS + '=' + token } })
  } while (res.status === 200 && Date.now() < deadline)
  return res
}

/** Flip one character in the middle of a token. */
function flip (token) {
  const i = Math.floor(token.length / 2)
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
}

/**
 * What a refused request must leave alone: the /data and /logout routes' hit counts, the
 * refreshes so far and the stored session `handle`. Compare with `shouldHaveChangedNothing`.
 */
async function sideEffects (app, handle) {
  return { data: app.hits.data ?? 0, logout: app.hits.logout ?? 0, refreshed: app.events.refreshed.length, stored: await stored(app, handle) }
}

/** Assert that nothing of `sideEffects(app, handle)` moved since `before`. */
async function shouldHaveChangedNothing (app, handle, before) {
  assert.equal(app.hits.data ?? 0, before.data, 'the route never ran')
  assert.equal(app.hits.logout ?? 0, before.logout, 'logout never ran')
  assert.equal(app.events.refreshed.length, before.refreshed, 'no refresh happened')
  assert.deepEqual(await stored(app, handle), before.stored, 'no store write')
}

/**
 * Assert that the CSRF check refuses a write, a logout and a refresh of `client` sent with
 * `headers`: 403 CSRF_INVALID each, and no cookie set by the write.
 */
async function shouldRefuseCsrf (client, headers, what) {
  const r = await client.post('/data', { json: { n: 666 }, headers })
  assertCode(r, 403, 'CSRF_INVALID', what)
  shouldNotSetCookie(r)
  assertCode(await client.post('/logout', { headers }), 403, 'CSRF_INVALID', 'logout, ' + what)
  assertCode(await client.post(REFRESH_PATH, { headers }), 403, 'CSRF_INVALID', 'refresh, ' + what)
}

// ---- a throwaway redis-server for the store-down tests ----

function redisAvailable () {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return r.status === 0
}

function freePort () {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

function canConnect (port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    sock.once('connect', () => { sock.destroy(); resolve(true) })
    sock.once('error', () => resolve(false))
  })
}

/** Start redis-server on a free loopback port (no persistence); `stop()` kills it (by its pid). */
async function startRedis () {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '',
    '--appendonly', 'no', '--protected-mode', 'yes'], { stdio: 'ignore' })
  const exited = once(child, 'exit')
  for (let i = 0; i < 200 && !(await canConnect(port)); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25)) // waiting for startup, not an expiry
  }
  assert.ok(await canConnect(port), 'redis-server started')
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop () {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exited
      }
    }
  }
}

module.exports = {
  jwtOf,
  ACCESS,
  ACCESS_MS,
  EVIL,
  EXPIRE_MS,
  GRACE_MS,
  REFRESH,
  REFRESH_PATH,
  SECRET,
  assertCode,
  assertNoTokenInBody,
  assertOk,
  bothCookies,
  dataOf,
  eachExpress,
  flip,
  loggedIn,
  login,
  meUntilRefused,
  redisAvailable,
  session,
  shouldClearCookies,
  shouldHaveChangedNothing,
  shouldNotSetCookie,
  shouldRefuseCsrf,
  shouldSetCookie,
  sideEffects,
  startApp,
  startRedis,
  stored,
  useApp,
  view
}
