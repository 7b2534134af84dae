'use strict'

/**
 * Graceful shutdown (`s.close()`): a save in flight finishes before close() resolves;
 * from the call on every request answers 503 SHUTTING_DOWN (the refresh endpoint too),
 * never a crash; close() is idempotent; the engine's background syncs stop; and a process
 * with the README's SIGTERM handler over Redis or PostgreSQL exits by itself.
 */

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { describe, it } = require('node:test')

const { assertCode, assertOk, eachExpress, login, session, useApp, REFRESH_PATH } = require('./support/apps.js')
const { skipWithout } = require('./support/servers.js')

/** express-session's MemoryStore whose `set` waits while `held` is a promise. */
class SlowStore extends session.MemoryStore {
  held = null
  arrived = null
  set (sid, sess, cb) {
    if (this.held === null) return super.set(sid, sess, cb)
    this.arrived()
    this.held.then(() => super.set(sid, sess, cb))
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

eachExpress(function (express) {
  describe('close()', function () {
    it('should finish a save in flight first, then answer 503 SHUTTING_DOWN', async function (t) {
      const store = new SlowStore()
      const app = await useApp(t, express, { store })
      const c = app.client()
      await login(c, 'alice')
      let release
      store.held = new Promise((resolve) => { release = resolve })
      const arrived = new Promise((resolve) => { store.arrived = resolve })
      const saving = c.post('/data', { json: { n: 1 } })
      await arrived
      let closed = false
      const closing = app.s.close()
      closing.then(() => { closed = true })
      assert.equal(app.s.close(), closing, 'idempotent: the same promise')
      for (let i = 0; i < 5; i++) await tick()
      assert.equal(closed, false, 'close() waits for the save')
      assertCode(await app.client({ jar: c.jar }).get('/me'), 503, 'SHUTTING_DOWN')
      assertCode(await app.client({ jar: c.jar }).post(REFRESH_PATH), 503, 'SHUTTING_DOWN')
      store.held = null
      release()
      const res = await saving
      assertOk(res, 'the save in flight')
      assert.equal(res.json.data.n, 1)
      await closing
      const sid = res.json.id
      const kept = await new Promise((resolve, reject) => store.get(sid, (e, v) => e ? reject(e) : resolve(v)))
      assert.ok(kept && JSON.stringify(kept).includes('"n":1'), 'the save reached the store')
      assertCode(await c.get('/me'), 503, 'SHUTTING_DOWN')
      await assert.rejects(app.s.engine.get(sid), { code: 'SHUTTING_DOWN' }, 'the engine refuses calls after it')
    })

    it('should stop the background syncs and resolve before the engine started', async function (t) {
      const app = await useApp(t, express, { syncInterval: 10 })
      await app.s.ready()
      const calls = () => app.s.metrics().storeCalls
      const before = calls()
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.ok(calls() > before, 'the engine syncs while open')
      await app.s.close()
      const after = calls()
      await new Promise((resolve) => setTimeout(resolve, 100))
      assert.equal(calls(), after, 'no store call after close()')

      const never = session({ store: new session.NativeMemoryStore(), saveUninitialized: false }) // secret from req.secret: never started
      await never.close()
    })
  })
})

const servers = [
  ['Redis', 'redis', process.env.TANDEM_REDIS_URL],
  ['PostgreSQL', 'postgres', process.env.TANDEM_PG_URL]
]
for (const [label, kind, url] of servers) {
  const skip = skipWithout(url, `set the ${label} URL (.ci/run)`)
  describe(`a process over ${label} with the README's SIGTERM handler`, { skip }, function () {
    it('should exit by itself once the server and the session are closed', async function (t) {
      const name = 'shutdown_' + crypto.randomBytes(4).toString('hex')
      const child = spawn(process.execPath, [path.join(__dirname, 'support/shutdown-child.js'), kind, url, name], {
        stdio: ['ignore', 'pipe', 'pipe']
      })
      t.after(async () => {
        if (child.exitCode === null) child.kill('SIGKILL')
        if (kind !== 'postgres') return // Redis: the keys under the prefix stay (a few, small)
        const { Client } = require('pg')
        const admin = new Client({ connectionString: url })
        await admin.connect()
        await admin.query(`DROP SCHEMA IF EXISTS ${name} CASCADE`)
        await admin.end()
      })
      let out = ''
      child.stdout.on('data', (d) => { out += d })
      child.stderr.on('data', (d) => { out += d })
      const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
      while (!/listening \d+/.test(out)) {
        if (child.exitCode !== null) assert.fail('the child did not start: ' + out)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      const port = out.match(/listening (\d+)/)[1]
      const r = await fetch(`http://127.0.0.1:${port}/login`, {
        method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ user: 'alice' })
      })
      assert.equal(r.status, 200)
      child.kill('SIGTERM')
      const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000).unref())
      const result = await Promise.race([exited, timeout])
      assert.notEqual(result, 'timeout', 'the process exits by itself within 5 s: ' + out)
      assert.deepEqual(result, { code: 0, signal: null }, out)
      assert.match(out, /closed/)
    })
  })
}
