'use strict'

// The middleware over the real stores: the default (an SQLite file under the working
// directory, surviving a restart), PostgreSQL and Redis (servers from .ci/run; skipped
// locally without their URLs, a failure in CI). Two app instances over one store stand
// for two processes: each has its own engine and data cache. Also: the debug log names
// codes, never a token.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const express = require('express')
const debug = require('debug')
const { session, assertCode, assertOk, login, SECRET, REFRESH_PATH } = require('./support/apps.js')
const { meUntilRefused, startApp } = require('./support/apps.js')
const { HttpClient } = require('./support/http-client.js')

const ROOT = path.join(__dirname, '..', '..')

/** Run an app in a child process whose working directory is `cwd`; resolves its JSON report. */
function child (cwd, script) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['-e', script], {
      cwd, env: { ...process.env, TANDEM_ROOT: ROOT }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => { out += d })
    p.stderr.on('data', (d) => { err += d })
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited ${code}: ${err}`))
      resolve(JSON.parse(out))
    })
  })
}

// The child: an app with session({ secret }) and no store option. It logs in (or uses
// the cookie it is given), reads and writes the data, and prints what it saw.
const CHILD = `
const http = require('node:http')
const express = require(require.resolve('express', { paths: [process.env.TANDEM_ROOT] }))
const session = require(process.env.TANDEM_ROOT)
const app = express()
app.use(express.json())
app.use(session({ secret: ${JSON.stringify(SECRET)} }))
app.post('/login', async (req, res) => { await req.session.create('alice', { data: { n: 1 } }); res.json({}) })
app.post('/inc', (req, res) => { req.session.n += 1; res.json({ n: req.session.n, user: req.session.owner }) })
const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port
  const post = (p, cookie) => new Promise((resolve, reject) => {
    const r = http.request(base + p, { method: 'POST', headers: { origin: base, 'content-type': 'application/json', ...(cookie ? { cookie } : {}) } }, (res) => {
      let b = ''
      res.on('data', (d) => { b += d })
      res.on('end', () => resolve({ status: res.statusCode, body: b, cookies: res.headers['set-cookie'] || [] }))
    })
    r.on('error', reject)
    r.end('{}')
  })
  let cookie = process.argv[1]
  if (!cookie) {
    const l = await post('/login')
    cookie = l.cookies.map((c) => c.split(';')[0]).find((c) => c.startsWith('connect.sid='))
  }
  const r = await post('/inc', cookie)
  const next = r.cookies.map((c) => c.split(';')[0]).find((c) => c.startsWith('connect.sid='))
  process.stdout.write(JSON.stringify({ status: r.status, body: JSON.parse(r.body), cookie: next || cookie }))
  process.exit(0)
})
`

describe('the default store', function () {
  it('should be an SQLite file under the working directory that survives a restart', async function () {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-default-store-'))
    try {
      const first = await child(cwd, CHILD)
      assert.equal(first.status, 200)
      assert.deepEqual(first.body, { n: 2, user: 'alice' })
      assert.ok(fs.statSync(path.join(cwd, '.tandem-session', 'sessions.sqlite3')).size > 0, 'the documented file')
      // A new process over the same file: the cookie still works and the data is there
      // (the key ring and the session came from the file, not from the first process).
      const second = await child(cwd, CHILD.replace('process.argv[1]', JSON.stringify(first.cookie)))
      assert.equal(second.status, 200)
      assert.deepEqual(second.body, { n: 3, user: 'alice' })
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true })
    }
  })
})

function storeCase (name, makeStore, skip) {
  describe(`over ${name}`, { skip }, function () {
    it('should share sessions between two app instances: data, refresh and logout', async function (t) {
      const a = await startApp(express, { store: makeStore(), syncInterval: 100 })
      const b = await startApp(express, { store: makeStore(), syncInterval: 100 })
      t.after(() => Promise.all([a.close(), b.close()]))
      await Promise.all([a.s.ready(), b.s.ready()])
      a.setNow(b.now()) // one clock for both
      // A user of its own per run: the PostgreSQL and Redis databases outlive the test.
      const user = 'carol-' + crypto.randomUUID()
      const ca = a.client()
      assertOk(await ca.get('/me'), 'a first request warms a up')
      await login(ca, user, { data: { cart: ['tea'] } })
      // The same browser (cookies are per host, not per port) talks to instance b:
      // another process, with a cold cache.
      const on = (app, from) => new HttpClient(app.url, { clock: () => app.now(), jar: from.jar })
      const cb = on(b, ca)
      const read = await cb.get('/me')
      assertOk(read)
      assert.deepEqual([read.json.userId, read.json.data], [user, { cart: ['tea'] }])
      assertOk(await cb.post('/data', { json: { seen: 'b' } }))
      // Back on a, whose copy is older: the token names the new data version, so a reads
      // the store.
      const ca2 = on(a, cb)
      assert.deepEqual((await ca2.get('/me')).json.data, { cart: ['tea'], seen: 'b' })
      const r = await ca2.post(REFRESH_PATH)
      assert.equal(r.status, 200, r.text)
      assert.equal(r.json.userId, user)
      assert.equal((await b.s.listSessions(user)).length, 1)
      const token = ca2.jar.get('connect.sid').value
      assertOk(await ca2.post('/logout'))
      // b learns of the logout from the store's revocation feed within a second.
      const res = await meUntilRefused(b, token, 1500)
      assertCode(res, 401, 'UNAUTHORISED', 'the other instance refuses the logged-out session')
      assert.deepEqual(await b.s.listSessions(user), [])
    })
  })
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-http-sqlite-'))
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }))
storeCase('SqliteStore', () => new session.SqliteStore({ path: path.join(tmp, 'shared.sqlite3') }), false)

const pgUrl = process.env.TANDEM_PG_URL && process.env.TANDEM_PG_URL.replace(/\/[^/]*$/, '/tandem_http')
storeCase('PostgresStore', () => new session.PostgresStore({ connectionString: pgUrl }),
  pgUrl ? false : (process.env.CI ? false : 'set TANDEM_PG_URL (bash scripts/ci/postgres.sh)'))

const redisUrl = process.env.TANDEM_REDIS_URL && process.env.TANDEM_REDIS_URL.replace(/\/\d*$/, '') + '/3'
storeCase('RedisStore', () => new session.RedisStore({ url: redisUrl }),
  redisUrl ? false : (process.env.CI ? false : 'set TANDEM_REDIS_URL (source scripts/ci/redis.sh)'))

describe('the debug log (DEBUG=tandem-session)', function () {
  it('should name codes and never contain a token', async function (t) {
    const lines = []
    const log = debug.log
    debug.log = (...args) => { lines.push(args.join(' ')) }
    debug.enable('tandem-session')
    t.after(() => { debug.disable(); debug.log = log })
    const app = await startApp(express)
    t.after(() => app.close())
    const c = app.client()
    await login(c, 'dave')
    const value = (client, name) => client.jar.all(name).map((x) => x.value)[0]
    const tokens = [value(c, 'connect.sid'), value(c, 'connect.sid.refresh')].filter(Boolean)
    assert.equal(tokens.length, 2)
    const thief = c.clone()
    app.advance(16 * 60 * 1000)
    assertCode(await c.get('/me'), 401, 'TRY_REFRESH')
    assert.equal((await thief.post(REFRESH_PATH)).status, 200)
    tokens.push(value(thief, 'connect.sid'), value(thief, 'connect.sid.refresh'))
    app.advance(60 * 1000)
    assertCode(await c.post(REFRESH_PATH), 401, 'TOKEN_THEFT_DETECTED')
    assertCode(await thief.get('/me'), 401, 'TOKEN_THEFT_DETECTED')
    assertCode(await thief.get('/me', { headers: { Authorization: 'Bearer ' + tokens[0].slice(0, -2) } }), 401, 'UNAUTHORISED')
    assert.ok(lines.some((l) => /TOKEN_EXPIRED/.test(l)), 'the log says why a token was refused')
    const all = lines.join('\n')
    for (const tok of tokens) {
      assert.ok(!all.includes(tok.slice(20, 60)), 'no token (nor a piece of one) in the log')
    }
  })
})
