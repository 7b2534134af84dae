'use strict'

// The response is held until the session is saved, and req.sessionID / req.sessionStore
// read right, however the response and request objects were set up: our wrappers on
// Node's ServerResponse.prototype (the usual case), a middleware before us that wrapped
// the response's methods (ours then go on the response itself), a middleware after us
// that wraps them, a route in a mounted sub-app (its own prototypes), a sub-app from
// another copy of Express, and plain node:http with no framework. In each, a write made by
// the route must be saved before the response goes out: the response carries the
// re-signed access cookie, and the next request reads the data back.

const assert = require('node:assert/strict')
const http = require('node:http')
const { once } = require('node:events')
const { describe, it } = require('node:test')

const session = require('../..')
const { HttpClient } = require('./support/http-client.js')
const { dataOf } = require('./support/apps.js')
const { mode } = require('../../js/middleware/machinery.js')

const SECRET = 'hold-modes-test-secret-that-is-long-enough-0001'
const ACCESS = 'connect.sid'

/** An Express app: `before(app)` runs before the session middleware, `after(app)` after. */
async function start (t, { express = require('express'), before, after, mount } = {}) {
  const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
  const app = express()
  app.use(express.json())
  if (before) before(app)
  app.use(s)
  if (after) after(app)
  const routes = mount ? mount.app : app
  routes.post('/login', async (req, res, next) => {
    try {
      await req.session.create('alice')
      res.json({ ok: true })
    } catch (e) { next(e) }
  })
  routes.post('/data', (req, res) => {
    Object.assign(req.session, req.body)
    res.json({ ok: true })
  })
  routes.get('/me', (req, res) => {
    res.json({
      data: dataOf(req.session),
      sessionID: req.sessionID ?? null,
      storeIsOurs: req.sessionStore === s.engine ? 'engine' : req.sessionStore !== undefined
    })
  })
  if (mount) app.use(mount.path, mount.app)
  const server = http.createServer(app).listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  const c = new HttpClient(`http://127.0.0.1:${server.address().port}`)
  c.prefix = mount ? mount.path : ''
  return c
}

async function writeThenRead (c) {
  const p = c.prefix ?? ''
  const post = { headers: { 'sec-fetch-site': 'same-origin' } }
  assert.equal((await c.post(p + '/login', { ...post, json: {} })).status, 200)
  const before = c.jar.get(ACCESS).value
  const w = await c.post(p + '/data', { ...post, json: { cart: ['sku-1'] } })
  assert.equal(w.status, 200)
  const cookie = (w.headers['set-cookie'] ?? []).find((l) => l.startsWith(ACCESS + '='))
  assert.ok(cookie, 'the write response carries the re-signed access cookie (saved before the headers went out)')
  assert.notEqual(c.jar.get(ACCESS).value, before)
  const me = await c.get(p + '/me')
  assert.equal(me.status, 200)
  assert.deepEqual(me.json.data, { cart: ['sku-1'] })
  assert.match(me.json.sessionID, /^[A-Za-z0-9_-]{22}$/)
  assert.equal(me.json.storeIsOurs, true)
  return me
}

/** A middleware that wraps end/write on the response, as compression does. */
function wrapsResponse (calls) {
  return (req, res, next) => {
    const end = res.end
    const write = res.write
    res.end = function (...args) { calls.push('end'); return end.apply(this, args) }
    res.write = function (...args) { calls.push('write'); return write.apply(this, args) }
    next()
  }
}

describe('holding the response until the session is saved', function () {
  it('should hold with nothing added to the response (wrappers on the prototype)',
    { skip: mode === 'plain' && 'the tuned ResponseHold only (middleware-plain-mode.test.js checks the plain one)' }, async function (t) {
    let own = null
    const c = await start(t, {
      after: (app) => app.use((req, res, next) => {
        res.on('finish', () => { own = ['writeHead', 'write', 'end', 'flushHeaders'].filter((m) => Object.hasOwn(res, m)) })
        next()
      })
    })
    await writeThenRead(c)
    assert.deepEqual(own, [], 'no method of the response is an own property')
  })

  it('should hold when a middleware before it wrapped the response methods', async function (t) {
    const calls = []
    const c = await start(t, { before: (app) => app.use(wrapsResponse(calls)) })
    await writeThenRead(c)
    assert.ok(calls.includes('end'), 'the earlier wrapper still runs')
  })

  it('should hold when a middleware after it wraps the response methods', async function (t) {
    const calls = []
    const c = await start(t, { after: (app) => app.use(wrapsResponse(calls)) })
    await writeThenRead(c)
    assert.ok(calls.includes('end'))
  })

  it('should hold for a route in a mounted sub-app', async function (t) {
    const express = require('express')
    const c = await start(t, { mount: { path: '/sub', app: express() } })
    await writeThenRead(c)
  })

  it('should hold for a route in a sub-app of another copy of Express (4 under 5)', async function (t) {
    const c = await start(t, { mount: { path: '/sub', app: require('express4')() } })
    const me = await writeThenRead(c)
    assert.deepEqual(me.json.data, { cart: ['sku-1'] })
  })

  it('should hold on plain node:http with no framework', async function (t) {
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
    const server = http.createServer((req, res) => {
      s(req, res, (err) => {
        if (err) { res.statusCode = 500; return res.end() }
        const send = (body) => { res.setHeader('Content-Type', 'application/json'); res.end(JSON.stringify(body)) }
        if (req.url === '/login') return req.session.create('alice').then(() => send({ ok: true }))
        if (req.url === '/data') {
          let body = ''
          req.on('data', (d) => { body += d })
          req.on('end', () => { Object.assign(req.session, JSON.parse(body)); send({ ok: true }) })
          return
        }
        send({ data: dataOf(req.session), sessionID: req.sessionID, storeIsOurs: req.sessionStore !== undefined })
      })
    }).listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
    await writeThenRead(new HttpClient(`http://127.0.0.1:${server.address().port}`))
  })
})

describe('req.sessionID and req.sessionStore', function () {
  it('should read undefined on a request the middleware did not handle, and take an assignment', async function (t) {
    const express = require('express')
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore(), cookie: { path: '/app' } })
    const app = express()
    app.use(s)
    app.get('/other', (req, res) => {
      const before = [req.sessionID, req.sessionStore, req.session]
      req.sessionID = 'mine'
      res.json({ before: before.map((v) => v === undefined ? 'undefined' : typeof v), after: req.sessionID, own: Object.hasOwn(req, 'sessionID') })
    })
    const server = http.createServer(app).listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
    const r = await new HttpClient(`http://127.0.0.1:${server.address().port}`).get('/other')
    assert.deepEqual(r.json, { before: ['undefined', 'undefined', 'undefined'], after: 'mine', own: true })
  })

  it('should follow a login in the same request', async function (t) {
    const express = require('express')
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
    const app = express()
    app.use(s)
    app.post('/login', async (req, res) => {
      const before = req.sessionID
      await req.session.create('bob')
      res.json({ before, after: req.sessionID, id: req.session.id })
    })
    const server = http.createServer(app).listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
    const r = await new HttpClient(`http://127.0.0.1:${server.address().port}`).post('/login', { headers: { 'sec-fetch-site': 'same-origin' } })
    assert.match(r.json.before, /^[A-Za-z0-9_-]{22}$/, 'a new session has its id from the start')
    assert.match(r.json.after, /^[A-Za-z0-9_-]{22}$/)
    assert.notEqual(r.json.after, r.json.before, 'a login gets an id nobody saw before it')
    assert.equal(r.json.after, r.json.id)
  })
})
