'use strict'

// TANDEM_SESSION_PLAIN=1 (read when the middleware is first required) runs the plain
// implementations of the speed machinery (js/middleware/machinery.js): own wrappers on the
// response instead of a patch on http.ServerResponse.prototype, own req.sessionID /
// req.sessionStore instead of accessors on Express's request prototype, and Rust asked on
// every request instead of a verdict cache. Each case runs a fresh process, since the
// choice is made once per process.

const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')
const { describe, it } = require('node:test')

const ROOT = path.join(__dirname, '..', '..')

/** What one process with `env` sees over two authenticated reads after a login. */
const PROBE = `
const http = require('node:http')
const express = require('express')
const ORIGINAL_END = http.ServerResponse.prototype.end
const session = require(${JSON.stringify(ROOT)})
const { Engine } = require(${JSON.stringify(path.join(ROOT, 'js', 'engine.js'))})
const { mode } = require(${JSON.stringify(path.join(ROOT, 'js', 'middleware', 'machinery.js'))})
let verifies = 0
const verify = Engine.prototype.verifyRequest
Engine.prototype.verifyRequest = function (...args) { verifies++; return verify.apply(this, args) }
const s = session({ secret: 'plain-mode-test-secret-that-is-long-enough-01', store: new session.NativeMemoryStore() })
const app = express()
app.use(s)
const seen = {}
app.post('/login', async (req, res) => { await req.session.create('alice'); res.json({}) })
app.get('/me', (req, res) => {
  seen.ownEnd = Object.hasOwn(res, 'end')
  seen.ownSessionID = Object.hasOwn(req, 'sessionID')
  seen.sessionID = typeof req.sessionID
  res.json({ user: req.session.owner })
})
const server = app.listen(0, '127.0.0.1', async () => {
  const base = 'http://127.0.0.1:' + server.address().port
  const login = await fetch(base + '/login', { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } })
  const cookie = login.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ')
  const before = verifies
  const users = []
  for (let i = 0; i < 2; i++) users.push((await (await fetch(base + '/me', { headers: { cookie } })).json()).user)
  server.close()
  const proto = Object.getPrototypeOf(express.request)
  console.log(JSON.stringify({
    mode,
    users,
    verifiesForTwoReads: verifies - before,
    prototypePatched: http.ServerResponse.prototype.end !== ORIGINAL_END,
    requestAccessor: Object.getOwnPropertyDescriptor(express.request, 'sessionID')?.get !== undefined,
    ...seen
  }))
  process.exit(0)
})
`

function probe (plain) {
  const env = { ...process.env }
  delete env.TANDEM_SESSION_PLAIN
  if (plain !== undefined) env.TANDEM_SESSION_PLAIN = plain
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', PROBE], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`probe failed: ${err.message}\n${stderr}`))
      resolve(JSON.parse(stdout.trim().split('\n').pop()))
    })
  })
}

describe('the TANDEM_SESSION_PLAIN environment variable', function () {
  it('should run the plain implementations when it is 1: nothing patched, own properties, Rust on every request', async function () {
    const r = await probe('1')
    assert.equal(r.mode, 'plain')
    assert.deepEqual(r.users, ['alice', 'alice'])
    assert.equal(r.prototypePatched, false, 'http.ServerResponse.prototype is left as it was')
    assert.equal(r.requestAccessor, false, "no accessor on Express's request prototype")
    assert.equal(r.ownEnd, true, 'the response is held by its own wrappers')
    assert.equal(r.ownSessionID, true)
    assert.equal(r.sessionID, 'string')
    assert.equal(r.verifiesForTwoReads, 2, 'no verdict cache')
  })

  it('should run the tuned implementations when it is unset or anything but 1', async function () {
    for (const value of [undefined, '0']) {
      const r = await probe(value)
      assert.equal(r.mode, 'tuned', String(value))
      assert.deepEqual(r.users, ['alice', 'alice'])
      assert.equal(r.prototypePatched, true, 'the response wrappers sit on http.ServerResponse.prototype')
      assert.equal(r.requestAccessor, true, "req.sessionID is an accessor on Express's request prototype")
      assert.equal(r.ownEnd, false)
      assert.equal(r.ownSessionID, false)
      assert.equal(r.sessionID, 'string')
      assert.equal(r.verifiesForTwoReads, 1, 'the verdict cache answers the second read')
    }
  })
})
