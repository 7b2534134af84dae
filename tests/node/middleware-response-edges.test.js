'use strict'

// The edges of a held response and of `next`, over HTTP on plain node:http, Express 5 and
// Express 4 (and, with TANDEM_SESSION_PLAIN=1, with the plain machinery):
//
// - after the app's `end()`, the response behaves as Node's does after `end()` even while
//   it is held for a save: header changes throw ERR_HTTP_HEADERS_SENT synchronously, and a
//   write or an `end` with data fails with ERR_STREAM_WRITE_AFTER_END (to its callback and
//   the response's 'error' listeners), never crashing the process, while the session's own
//   token headers still go out with the held response;
// - `next` is called at most once: an exception it throws is its caller's, as with
//   express-session (synchronously to whoever called the middleware; after a store read,
//   unhandled).

const assert = require('node:assert/strict')
const http = require('node:http')
const { spawnSync } = require('node:child_process')
const crypto = require('node:crypto')
const { once } = require('node:events')
const path = require('node:path')
const { describe, it } = require('node:test')

const { SECRET, ACCESS, dataOf, session, shouldSetCookie } = require('./support/apps.js')
const { HttpClient } = require('./support/http-client.js')

/** What the routes saw, for the test to read once the response is in. */
function newSeen () {
  return { caught: [], errorEvents: [], callbacks: [], returned: [] }
}

/**
 * The routes, in node:http terms only (so the same function serves plain node:http and
 * Express). `?save=1` changes the session first, so the response is held for a store write.
 */
function route (seen) {
  return (req, res) => {
    const url = new URL(req.url, 'http://x')
    if (url.searchParams.get('save') === '1') req.session.n = (req.session.n ?? 0) + 1
    const tryIt = (fn) => {
      try {
        fn()
      } catch (e) {
        seen.caught.push(e.code)
      }
    }
    switch (url.pathname) {
      case '/read':
        res.setHeader('Content-Type', 'application/json')
        return res.end(JSON.stringify(dataOf(req.session)))
      case '/end-set-end': // the sequence of issue 14, bug 1, in one try
        return tryIt(() => {
          res.end('first')
          res.setHeader('X-Late', 'y')
          res.end('x')
        })
      case '/headers-after-end':
        res.end('first')
        tryIt(() => res.setHeader('X-Late', 'y'))
        tryIt(() => res.appendHeader('X-Late', 'y'))
        tryIt(() => res.removeHeader('Content-Type'))
        tryIt(() => res.writeHead(201))
        tryIt(() => res.flushHeaders()) // Node: no-op after end
        return
      case '/writes-after-end':
        res.on('error', (e) => seen.errorEvents.push(e.code))
        res.end('first')
        seen.returned.push(res.write('late', (e) => seen.callbacks.push('write ' + (e && e.code))))
        seen.returned.push(res.end('later', (e) => seen.callbacks.push('end ' + (e && e.code))) === res ? 'res' : 'other')
        return
      case '/end-twice': // no 'error' listener: Node would crash here
        res.end('first')
        res.end('again')
        res.write('and again')
        return
      default:
        res.statusCode = 404
        res.end()
    }
  }
}

async function listen (t, handler) {
  const server = http.createServer(handler).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return new HttpClient(`http://127.0.0.1:${server.address().port}`)
}

/** The error answer of every app: it sets a header, which the failed hold must allow again. */
function answerError (res) {
  res.statusCode = 500
  res.setHeader('X-Error', 'save failed')
  res.end('failed')
}

const FRAMEWORKS = [
  ['plain node:http', (s, handler) => (req, res) => s(req, res, (err) => {
    if (err) return answerError(res)
    handler(req, res)
  })],
  ...[['Express 5', 'express'], ['Express 4', 'express4']].map(([name, mod]) => [name, (s, handler) => {
    const app = require(mod)()
    app.use(s)
    app.use(handler)
    app.use((err, req, res, next) => answerError(res)) // eslint-disable-line no-unused-vars
    return app
  }])
]

/** A save fails when the request asks for it: `genid` then gives a handle the engine refuses. */
function genid (req) {
  return req.headers['x-fail-save'] ? 'not a handle' : crypto.randomBytes(16).toString('base64url')
}

/** Let the callbacks and events of the late calls (process.nextTick) run. */
function settle () {
  return new Promise((resolve) => setImmediate(resolve))
}

for (const [name, mount] of FRAMEWORKS) {
  describe(`after end(), on ${name}`, function () {
    async function start (t) {
      const seen = newSeen()
      const s = session({ secret: SECRET, store: new session.NativeMemoryStore(), genid })
      const c = await listen(t, mount(s, route(seen)))
      return { c, seen }
    }

    for (const save of ['1', '0']) {
      const held = save === '1' ? 'held for a save' : 'not held'
      it(`should throw ERR_HTTP_HEADERS_SENT at once for setHeader after end(), ${held}, as Node does`, async function (t) {
        const { c, seen } = await start(t)
        const r = await c.post('/end-set-end?save=' + save)
        assert.equal(r.status, 200)
        assert.equal(r.text, 'first')
        assert.equal(r.headers['x-late'], undefined)
        assert.deepEqual(seen.caught, ['ERR_HTTP_HEADERS_SENT'])
        if (save === '1') {
          shouldSetCookie(r, ACCESS) // the session's own token headers still went out
          assert.deepEqual((await c.get('/read')).json, { n: 1 })
        }
      })

      it(`should refuse every header change after end(), ${held}`, async function (t) {
        const { c, seen } = await start(t)
        const r = await c.post('/headers-after-end?save=' + save)
        assert.equal(r.text, 'first')
        assert.equal(r.status, 200)
        assert.deepEqual(seen.caught, ['ERR_HTTP_HEADERS_SENT', 'ERR_HTTP_HEADERS_SENT', 'ERR_HTTP_HEADERS_SENT', 'ERR_HTTP_HEADERS_SENT'])
      })

      it(`should fail a write after end() to its callback and 'error' listener, ${held}`, async function (t) {
        const { c, seen } = await start(t)
        const r = await c.post('/writes-after-end?save=' + save)
        await settle()
        assert.equal(r.text, 'first')
        assert.deepEqual(seen.returned, [false, 'res'])
        assert.deepEqual(seen.callbacks, ['write ERR_STREAM_WRITE_AFTER_END', 'end ERR_STREAM_WRITE_AFTER_END'])
        assert.deepEqual(seen.errorEvents, ['ERR_STREAM_WRITE_AFTER_END', 'ERR_STREAM_WRITE_AFTER_END'])
      })

      if (save === '1') {
        it('should let the error handler answer when the save held after end() fails', async function (t) {
          const { c, seen } = await start(t)
          const r = await c.post('/end-set-end?save=1', { headers: { 'X-Fail-Save': '1' } })
          assert.deepEqual(seen.caught, ['ERR_HTTP_HEADERS_SENT'], 'refused while held')
          assert.equal(r.status, 500)
          assert.equal(r.headers['x-error'], 'save failed', 'the error answer may set headers again')
          assert.equal(r.text, 'failed')
        })
      }

      it(`should not crash the process on a second end() with no 'error' listener, ${held}`, async function (t) {
        const { c } = await start(t)
        const r = await c.post('/end-twice?save=' + save)
        assert.equal(r.text, 'first')
        await settle()
        assert.equal((await c.get('/read')).status, 200, 'the process still answers')
      })
    }
  })
}

describe('next, on plain node:http', function () {
  /** A server whose `next` throws on /throw; it counts the calls and catches what reaches it. */
  async function start (t, s) {
    const seen = { calls: 0, caught: null }
    const c = await listen(t, (req, res) => {
      const throws = req.url === '/throw'
      try {
        s(req, res, (err) => {
          if (throws) {
            seen.calls++
            throw new Error('boom from next')
          }
          if (err) { res.statusCode = 500; return res.end() }
          if (req.url === '/save') req.session.n = 1
          res.end('ok')
        })
      } catch (e) {
        seen.caught = e.message
      }
      if (throws) setImmediate(() => res.end(JSON.stringify(seen)))
    })
    return { c, seen }
  }

  it('should call next once and let its exception reach the caller when the steps were synchronous', async function (t) {
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
    const { c } = await start(t, s)
    assert.equal((await c.get('/warm-up')).text, 'ok') // the engine has started: the steps run synchronously
    const r = await c.get('/throw')
    assert.deepEqual(JSON.parse(r.text), { calls: 1, caught: 'boom from next' })
  })

  it('should call next once when it throws after a store read (the exception is unhandled, as with express-session)', function () {
    // In a child process: the rejection is unhandled there, as express-session's
    // exception from its store callback is uncaught.
    const script = `
      const http = require('node:http')
      const { session, SECRET } = require(${JSON.stringify(path.join(__dirname, 'support/apps.js'))})
      const store = new session.NativeMemoryStore()
      const writer = session({ secret: SECRET, store })
      const reader = session({ secret: SECRET, store }) // its own cache is empty: it reads the store
      let calls = 0
      process.on('unhandledRejection', (e) => {
        console.log(JSON.stringify({ calls, unhandled: e.message }))
        process.exit(0)
      })
      const serve = (s, fn) => new Promise((resolve) => {
        const srv = http.createServer((req, res) => s(req, res, () => fn(req, res))).listen(0, '127.0.0.1', () => resolve(srv))
      })
      ;(async () => {
        const w = await serve(writer, (req, res) => { req.session.n = 1; res.end('saved') })
        const r = await serve(reader, () => { calls++; throw new Error('boom from next') })
        const saved = await fetch('http://127.0.0.1:' + w.address().port + '/', { method: 'POST' })
        const cookie = saved.headers.getSetCookie().map((l) => l.split(';')[0]).join('; ')
        fetch('http://127.0.0.1:' + r.address().port + '/', { headers: { cookie } }).catch(() => {})
        setTimeout(() => { console.log(JSON.stringify({ calls, unhandled: null })); process.exit(0) }, 3000)
      })()
    `
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20000 })
    assert.equal(out.status, 0, out.stderr)
    assert.deepEqual(JSON.parse(out.stdout.trim()), { calls: 1, unhandled: 'boom from next' })
  })

  it('should still answer a save that follows a normal next', async function (t) {
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
    const { c } = await start(t, s)
    const r = await c.post('/save')
    assert.equal(r.text, 'ok')
    shouldSetCookie(r, ACCESS)
  })
})
