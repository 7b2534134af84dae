'use strict'

// socket.io sharing the session through `io.engine.use(sessionMiddleware)`, as socket.io's
// "How to use with express-session" does: a real socket.io server and socket.io-client over
// 127.0.0.1, on the polling transport, the websocket transport, and polling upgraded to a
// websocket. From the event handlers, `socket.request.session` reads the session the
// cookies name, `save()` writes changed keys to the store (callback and promise forms), and
// `reload()` reads what HTTP requests wrote since. Tokens never travel over socket.io (the
// handshake response is long gone, and engine.io's stand-in response for a websocket upgrade
// cannot carry them): what would need new tokens, such as the first save of a session that
// is not stored yet, fails with HEADERS_SENT, and nothing crashes. Last, the same from a
// page in Chromium (skipped when there is none, as the browser suites are), where the
// cookies travel by themselves on both transports.

const assert = require('node:assert/strict')
const http = require('node:http')
const { once } = require('node:events')
const { describe, it } = require('node:test')

const { Server } = require('socket.io')
const { io: connectClient } = require('socket.io-client')

const { SECRET, dataOf, session } = require('./support/apps.js')
const { HttpClient } = require('./support/http-client.js')
const { skip: noBrowser, useBrowser } = require('../browser/support.js')

const TRANSPORTS = [
  ['polling', { transports: ['polling'] }],
  ['websocket', { transports: ['websocket'] }],
  ['polling upgraded to websocket', { transports: ['polling', 'websocket'] }]
]
const EXPRESS = [['Express 5', 'express'], ['Express 4', 'express4']]

/**
 * An Express app with the session middleware, shared with socket.io; `other` reads the
 * same store through a second middleware (another process's view: its own, empty cache).
 */
async function start (t, expressModule) {
  const express = require(expressModule)
  const store = new session.MemoryStore()
  const s = session({ secret: SECRET, store, saveUninitialized: false })
  const other = session({ secret: SECRET, store, saveUninitialized: false })
  const app = express()
  app.use(express.json())
  app.get('/other/read', other, (req, res) => res.json(dataOf(req.session)))
  app.use(s)
  app.post('/data', (req, res) => {
    Object.assign(req.session, req.body)
    res.json(dataOf(req.session))
  })
  app.get('/read', (req, res) => res.json(dataOf(req.session)))
  app.get('/page', (req, res) => res.type('html').send('<!doctype html><title>socket.io</title><script src="/socket.io/socket.io.js"></script>'))

  const server = http.createServer(app)
  const io = new Server(server)
  io.engine.use(s)
  const serverErrors = []
  io.on('connection', (socket) => {
    const sess = () => socket.request.session
    const fail = (err) => ({ code: err.code, message: err.message })
    socket.on('read', (ack) => ack(dataOf(sess())))
    socket.on('add', (item, ack) => {
      const s = sess()
      s.cart = [...(s.cart ?? []), item]
      s.save((err) => ack(err ? fail(err) : { ok: true, cart: s.cart }))
    })
    socket.on('add-await', async (item, ack) => {
      const s = sess()
      s.cart = [...(s.cart ?? []), item]
      try {
        await s.save()
        ack({ ok: true, cart: s.cart })
      } catch (err) {
        ack(fail(err))
      }
    })
    socket.on('reload', (ack) => sess().reload((err) => ack(err ? fail(err) : dataOf(sess()))))
    socket.on('error', (e) => serverErrors.push(e))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${server.address().port}`
  t.after(async () => {
    io.close()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return { url, serverErrors, http: new HttpClient(url) }
}

/** A connected socket.io client sending the cookies of `httpClient` (none when null). */
async function connect (t, url, options, httpClient) {
  const cookie = httpClient ? httpClient.jar.header(url, false) : ''
  const socket = connectClient(url, {
    ...options,
    forceNew: true,
    reconnection: false,
    extraHeaders: cookie ? { cookie } : {}
  })
  t.after(() => socket.close())
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('connect_error', reject)
  })
  if (options.transports.length > 1 && socket.io.engine.transport.name !== 'websocket') {
    await once(socket.io.engine, 'upgrade')
  }
  return socket
}

/** Emit `event` with `args` and resolve with the server's acknowledgement. */
function ask (socket, event, ...args) {
  return socket.timeout(5000).emitWithAck(event, ...args)
}

for (const [expressName, expressModule] of EXPRESS) {
  for (const [transportName, options] of TRANSPORTS) {
    describe(`socket.io (${transportName}), ${expressName}`, function () {
      it('should read the session the cookies name from an event handler', async function (t) {
        const app = await start(t, expressModule)
        assert.equal((await app.http.post('/data', { json: { cart: ['a'] } })).status, 200)
        const socket = await connect(t, app.url, options, app.http)
        assert.equal(socket.io.engine.transport.name, transportName === 'polling' ? 'polling' : 'websocket')
        assert.deepEqual(await ask(socket, 'read'), { cart: ['a'] })
      })

      it('should save changed keys to the store with save(cb) and with await save()', async function (t) {
        const app = await start(t, expressModule)
        await app.http.post('/data', { json: { cart: ['a'] } })
        const socket = await connect(t, app.url, options, app.http)
        assert.deepEqual(await ask(socket, 'add', 'b'), { ok: true, cart: ['a', 'b'] })
        assert.deepEqual(await ask(socket, 'add-await', 'c'), { ok: true, cart: ['a', 'b', 'c'] })
        // This process reads it back over HTTP with the same (unchanged) cookies…
        assert.deepEqual((await app.http.get('/read')).json, { cart: ['a', 'b', 'c'] })
        // …and the store has it (a middleware with no cached copy reads the store).
        assert.deepEqual((await app.http.get('/other/read')).json, { cart: ['a', 'b', 'c'] })
      })

      it('should reload what HTTP requests wrote since the socket connected', async function (t) {
        const app = await start(t, expressModule)
        await app.http.post('/data', { json: { cart: ['a'] } })
        const socket = await connect(t, app.url, options, app.http)
        await app.http.post('/data', { json: { cart: ['x'], note: 'from http' } })
        assert.deepEqual(await ask(socket, 'read'), { cart: ['a'] }, 'the handshake copy until reloaded')
        assert.deepEqual(await ask(socket, 'reload'), { cart: ['x'], note: 'from http' })
        assert.deepEqual(await ask(socket, 'add', 'y'), { ok: true, cart: ['x', 'y'] })
        assert.deepEqual((await app.http.get('/other/read')).json, { cart: ['x', 'y'], note: 'from http' })
      })

      it('should fail the first save of a session not yet stored with HEADERS_SENT, and go on', async function (t) {
        const app = await start(t, expressModule)
        const socket = await connect(t, app.url, options, null)
        const r = await ask(socket, 'add', 'a')
        assert.equal(r.code, 'HEADERS_SENT', JSON.stringify(r))
        assert.equal((await ask(socket, 'add-await', 'b')).code, 'HEADERS_SENT')
        assert.ok(socket.connected, 'the socket is still connected')
        assert.deepEqual(app.serverErrors, [])
      })
    })
  }
}

/**
 * In the page: optionally write the session over HTTP first (same-origin fetch, so the
 * browser keeps the cookies), connect with `transports`, then read, add 'b' and read back
 * over HTTP.
 */
async function inPage (page, url, transports, writeFirst) {
  await page.goto(url + '/page')
  return page.evaluate(async ({ transports, writeFirst }) => {
    if (writeFirst) {
      await fetch('/data', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ cart: ['a'] }) })
    }
    const socket = window.io({ transports, reconnection: false, forceNew: true })
    await new Promise((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('connect_error', reject)
    })
    if (transports.length > 1 && socket.io.engine.transport.name !== 'websocket') {
      await new Promise((resolve) => socket.io.engine.once('upgrade', resolve))
    }
    const read = await socket.timeout(5000).emitWithAck('read')
    const add = await socket.timeout(5000).emitWithAck('add', 'b')
    const http = await (await fetch('/read')).json()
    const transport = socket.io.engine.transport.name
    socket.close()
    return { transport, read, add, http }
  }, { transports, writeFirst })
}

describe('socket.io in Chromium', { skip: noBrowser }, function () {
  it('should read and save the session from a page on every transport', async function (t) {
    const app = await start(t, 'express')
    const browser = await useBrowser(t)
    for (const [name, options] of TRANSPORTS) {
      const context = await browser.newContext()
      const page = await context.newPage()
      const r = await inPage(page, app.url, options.transports, true)
      assert.deepEqual(r, {
        transport: name === 'polling' ? 'polling' : 'websocket',
        read: { cart: ['a'] },
        add: { ok: true, cart: ['a', 'b'] },
        http: { cart: ['a', 'b'] }
      }, name)
      const fresh = await browser.newContext()
      const anonymous = await inPage(await fresh.newPage(), app.url, options.transports, false)
      assert.equal(anonymous.add.code, 'HEADERS_SENT', name + ': ' + JSON.stringify(anonymous))
      await context.close()
      await fresh.close()
    }
  })
})
