// The browser client helper (client/index.js) in Node, with an injected fake server (`fetch`),
// fake Web Locks, a fake localStorage and a fake BroadcastChannel: single-flight refresh in a
// tab and across tabs, the retry cap, session end, CSRF and bearer headers (our origin only),
// X-Session-Info, header-mode token storage, install/uninstall, non-replayable bodies.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as tick } from 'node:timers/promises'
import { createClient } from '../../client/index.js'

const BASE = 'https://app.test/page'
const OTHER = 'https://evil.test/api'
const info = (userId, accessExpires) => encodeURIComponent(JSON.stringify({ userId, accessExpires }))

function json (status, body, headers = {}) {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status, headers: { 'content-type': 'application/json', ...headers }
  })
}

function deferred () {
  let resolve
  const promise = new Promise((r) => { resolve = r })
  return { promise, resolve }
}

/**
 * A fake server. `routes[path](req, server)` answers (default: the session-aware API below).
 * Without a route: 401 TRY_REFRESH until a refresh happened (`server.fresh`), then 200.
 * The refresh endpoint answers `server.refreshAnswer(req)` (default 200 with X-Session-Info),
 * after `server.gate` (a promise) when set.
 */
function fakeServer (routes = {}) {
  const server = {
    fresh: false,
    calls: [],
    refreshCalls: 0,
    apiCalls: 0,
    gate: null,
    refreshAnswer: () => json(200, { userId: 'alice', accessExpires: 2000 }, { 'x-session-info': info('alice', 2000) }),
    async fetch (input, init) {
      const req = new Request(input, init)
      server.calls.push({ input, init, req })
      const path = new URL(req.url).pathname
      if (path === '/session/refresh') {
        server.refreshCalls++
        if (server.gate) await server.gate
        const res = await server.refreshAnswer(req)
        if (res.ok) server.fresh = true
        return res
      }
      server.apiCalls++
      if (routes[path]) return routes[path](req, server)
      return server.fresh ? json(200, { ok: true }) : json(401, { code: 'TRY_REFRESH' })
    }
  }
  return server
}

/** Web Locks for one name, as browsers do them: `ifAvailable` gives null while held. */
function fakeLocks () {
  let tail = Promise.resolve()
  let held = 0
  const names = []
  return {
    names,
    request (name, options, callback) {
      if (typeof options === 'function') { callback = options; options = {} }
      names.push(name)
      if (options.ifAvailable && held > 0) return Promise.resolve().then(() => callback(null))
      held++
      const run = tail.then(() => callback({ name }))
      tail = run.catch(() => {}).then(() => { held-- })
      return run
    }
  }
}

function fakeArea () {
  const map = new Map()
  return { map, getItem: (k) => map.get(k) ?? null, setItem: (k, v) => { map.set(k, String(v)) } }
}

/** BroadcastChannel-like objects that deliver to each other (not to the sender), asynchronously. */
function channelHub () {
  const members = []
  return () => {
    const ch = {
      sent: [],
      listeners: [],
      postMessage (data) {
        ch.sent.push(data)
        for (const m of members) if (m !== ch) setImmediate(() => m.listeners.forEach((fn) => fn({ data })))
      },
      addEventListener (type, fn) { if (type === 'message') ch.listeners.push(fn) }
    }
    members.push(ch)
    return ch
  }
}

function client (server, options = {}) {
  return createClient({ baseUrl: BASE, fetch: server.fetch, locks: null, storageArea: null, channel: null, ...options })
}

const bodyOf = async (res) => res.json()
const refreshRequests = (server) => server.calls.filter((c) => c.req.url.endsWith('/session/refresh'))
const apiRequests = (server) => server.calls.filter((c) => !c.req.url.endsWith('/session/refresh'))

describe('client: refresh on 401 TRY_REFRESH', function () {
  it('should refresh once for N concurrent requests of the tab and replay each once', async function () {
    const server = fakeServer()
    const gate = deferred()
    server.gate = gate.promise
    const c = client(server)
    const refreshed = []
    c.on('refreshed', (v) => refreshed.push(v))
    const all = Promise.all([1, 2, 3, 4, 5].map((i) => c.fetch('/api/item/' + i)))
    while (server.apiCalls < 5 || server.refreshCalls < 1) await tick()
    await tick()
    gate.resolve()
    const responses = await all
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200, 200])
    assert.equal(server.refreshCalls, 1)
    assert.equal(server.apiCalls, 10)
    const [r] = refreshRequests(server)
    assert.equal(r.req.method, 'POST')
    assert.equal(r.req.url, 'https://app.test/session/refresh')
    assert.equal(r.req.credentials, 'same-origin')
    assert.equal(r.req.headers.get('x-refresh-token'), null)
    assert.deepEqual(refreshed, [{ userId: 'alice', accessExpires: 2000 }])
    assert.deepEqual(c.info, { userId: 'alice', accessExpires: 2000 })
  })

  it('should not refresh again for a 401 that arrives after this tab refreshed', async function () {
    const hold = deferred()
    let slow = 0
    const server = fakeServer({
      '/api/slow': async (req, s) => {
        if (slow++ > 0) return json(200, { ok: true })
        await hold.promise
        return json(401, { code: 'TRY_REFRESH' }) // sent with the old token
      }
    })
    const c = client(server)
    const pending = c.fetch('/api/slow')
    await tick()
    assert.equal(await c.refresh(), true)
    hold.resolve()
    const res = await pending
    assert.equal(res.status, 200)
    assert.equal(server.refreshCalls, 1)
    assert.equal(slow, 2)
  })

  it('should refresh once across two tabs sharing Web Locks and the storage marker', async function () {
    const server = fakeServer()
    const gate = deferred()
    server.gate = gate.promise
    const locks = fakeLocks()
    const area = fakeArea()
    const tabA = client(server, { locks, storageArea: area })
    const tabB = client(server, { locks, storageArea: area })
    const both = Promise.all([tabA.fetch('/api/a'), tabB.fetch('/api/b')])
    while (server.apiCalls < 2 || server.refreshCalls < 1) await tick()
    await tick()
    gate.resolve()
    const [a, b] = await both
    assert.equal(a.status, 200)
    assert.equal(b.status, 200)
    assert.equal(server.refreshCalls, 1)
    assert.deepEqual(locks.names, ['tandem-session:refresh', 'tandem-session:refresh', 'tandem-session:refresh'],
      'A takes the lock; B finds it taken, then waits for it')
    assert.match(area.map.get('tandem-session:refreshed'), /^[0-9a-z]+$/)
  })

  it('should refresh once across two tabs even when the marker reaches the other tab late', async function () {
    // Browsers copy localStorage writes to other tabs' processes after a delay: here each
    // tab has its own area, so B never sees A's marker; the lock alone must be enough.
    const server = fakeServer()
    const gate = deferred()
    server.gate = gate.promise
    const locks = fakeLocks()
    const tabA = client(server, { locks, storageArea: fakeArea() })
    const tabB = client(server, { locks, storageArea: fakeArea() })
    const both = Promise.all([tabA.fetch('/api/a'), tabB.fetch('/api/b')])
    while (server.apiCalls < 2 || server.refreshCalls < 1) await tick()
    await tick()
    gate.resolve()
    const [a, b] = await both
    assert.deepEqual([a.status, b.status], [200, 200])
    assert.equal(server.refreshCalls, 1)
  })

  it('should skip the refresh without Web Locks when the marker changed since the request was sent', async function () {
    const hold = deferred()
    const server = fakeServer({
      '/api/b': async (req, s) => {
        if (req.headers.get('x-replay') === null && !s.heldOnce) {
          s.heldOnce = true
          await hold.promise
          return json(401, { code: 'TRY_REFRESH' })
        }
        return json(200, { ok: true })
      }
    })
    const area = fakeArea()
    const tabA = client(server, { storageArea: area })
    const tabB = client(server, { storageArea: area })
    const pending = tabB.fetch('/api/b')
    await tick()
    assert.equal(await tabA.refresh(), true)
    hold.resolve()
    assert.equal((await pending).status, 200)
    assert.equal(server.refreshCalls, 1)
  })

  it('should refresh when the marker is unchanged (another tab did not refresh)', async function () {
    const server = fakeServer()
    const area = fakeArea()
    area.setItem('tandem-session:refreshed', 'old')
    const c = client(server, { storageArea: area })
    assert.equal((await c.fetch('/api/x')).status, 200)
    assert.equal(server.refreshCalls, 1)
    assert.notEqual(area.map.get('tandem-session:refreshed'), 'old')
  })

  it('should cap the replays: a server that always says TRY_REFRESH gets bounded calls and the 401 is returned', async function () {
    for (const [maxRetries, api, refresh] of [[undefined, 2, 1], [0, 1, 0], [3, 4, 3]]) {
      // Stops answering TRY_REFRESH after 20 calls, so a missing cap fails here instead of hanging.
      const server = fakeServer({ '/api/loop': (req, s) => (s.apiCalls > 20 ? json(500, {}) : json(401, { code: 'TRY_REFRESH' })) })
      const c = client(server, maxRetries === undefined ? {} : { maxRetries })
      const res = await c.fetch('/api/loop')
      assert.equal(res.status, 401, `maxRetries ${maxRetries}`)
      assert.deepEqual(await bodyOf(res), { code: 'TRY_REFRESH' })
      assert.equal(server.apiCalls, api, `API calls with maxRetries ${maxRetries}`)
      assert.equal(server.refreshCalls, refresh, `refresh calls with maxRetries ${maxRetries}`)
    }
  })

  it('should return the original 401 and keep the session when the refresh answers 503, 403, or fails', async function () {
    const answers = [
      () => json(503, { code: 'STORE_UNAVAILABLE' }),
      () => json(403, { code: 'CSRF_INVALID' }),
      () => { throw new TypeError('network down') }
    ]
    for (const answer of answers) {
      const server = fakeServer({ '/api/login': () => json(200, {}, { 'x-session-info': info('alice', 1000) }) })
      server.refreshAnswer = answer
      const ended = []
      const c = client(server, { onSessionEnded: (code) => ended.push(code) })
      await c.fetch('/api/login', { method: 'POST' })
      const res = await c.fetch('/api/x')
      assert.equal(res.status, 401)
      assert.deepEqual(await bodyOf(res), { code: 'TRY_REFRESH' })
      assert.equal(server.refreshCalls, 1)
      assert.equal(server.apiCalls, 2, 'no replay')
      assert.deepEqual(ended, [])
      assert.deepEqual(c.info, { userId: 'alice', accessExpires: 1000 })
      assert.equal(await c.refresh(), false)
    }
  })

  it('should return the original 401 when the lock manager rejects', async function () {
    const server = fakeServer()
    const c = client(server, { locks: { request: async () => { throw new Error('AbortError') } } })
    const res = await c.fetch('/api/x')
    assert.equal(res.status, 401)
    assert.equal(server.refreshCalls, 0)
  })

  it('should keep working when the storage area throws', async function () {
    const server = fakeServer()
    const area = { getItem () { throw new Error('denied') }, setItem () { throw new Error('full') } }
    const c = client(server, { storageArea: area })
    assert.equal((await c.fetch('/api/x')).status, 200)
    assert.equal(server.refreshCalls, 1)
  })

  it('should pass through other 401s (no code, another code, not JSON) without refresh or end', async function () {
    const server = fakeServer({
      '/api/a': () => json(401, {}),
      '/api/b': () => json(401, { code: 'NOPE' }),
      '/api/c': () => new Response('no', { status: 401 })
    })
    const ended = []
    const c = client(server, { onSessionEnded: (code) => ended.push(code) })
    for (const p of ['/api/a', '/api/b', '/api/c']) assert.equal((await c.fetch(p)).status, 401)
    assert.equal(server.refreshCalls, 0)
    assert.equal(server.apiCalls, 3)
    assert.deepEqual(ended, [])
    assert.equal(await (await c.fetch('/api/c')).text(), 'no', 'the body is left for the caller')
  })

  it('should join a refresh in progress from client.refresh()', async function () {
    const server = fakeServer()
    const gate = deferred()
    server.gate = gate.promise
    const c = client(server)
    const a = c.refresh()
    const b = c.refresh()
    assert.equal(a, b)
    gate.resolve()
    assert.deepEqual(await Promise.all([a, b]), [true, true])
    assert.equal(server.refreshCalls, 1)
    assert.equal(await c.refresh(), true)
    assert.equal(server.refreshCalls, 2, 'a later refresh() is a new flight')
  })
})

describe('client: non-replayable bodies and Request objects', function () {
  it('should not replay a ReadableStream body: one send, the 401 returned, no refresh', async function () {
    const server = fakeServer()
    const c = client(server)
    const body = new ReadableStream({ start (ctl) { ctl.enqueue(new TextEncoder().encode('x')); ctl.close() } })
    const res = await c.fetch('/api/upload', { method: 'POST', body, duplex: 'half' })
    assert.equal(res.status, 401)
    assert.equal(server.apiCalls, 1)
    assert.equal(server.refreshCalls, 0)
  })

  it('should replay a Request object with its body after a refresh', async function () {
    const bodies = []
    const server = fakeServer({
      '/api/echo': async (req, s) => {
        bodies.push(await req.text())
        return s.fresh ? json(200, { ok: true }) : json(401, { code: 'TRY_REFRESH' })
      }
    })
    const c = client(server)
    const input = new Request('https://app.test/api/echo', { method: 'PUT', body: 'payload', headers: { 'x-app': '1' } })
    const res = await c.fetch(input)
    assert.equal(res.status, 200)
    assert.deepEqual(bodies, ['payload', 'payload'])
    assert.ok(apiRequests(server).every((x) => x.req.method === 'PUT' && x.req.headers.get('x-app') === '1'))
  })

  it('should merge init over a Request input, and resolve relative URLs against baseUrl', async function () {
    const server = fakeServer({ '/api/x': () => json(200, {}), '/x': () => json(200, {}) })
    const c = client(server)
    await c.fetch(new Request('https://app.test/api/x'), { method: 'DELETE' })
    await c.fetch(new URL('https://app.test/api/x'))
    await c.fetch('x', { method: 'GET' })
    assert.deepEqual(server.calls.map((x) => [x.req.method, x.req.url]), [
      ['DELETE', 'https://app.test/api/x'], ['GET', 'https://app.test/api/x'], ['GET', 'https://app.test/x']
    ])
  })
})

describe('client: session end', function () {
  for (const code of ['UNAUTHORISED', 'TOKEN_THEFT_DETECTED']) {
    it(`should call onSessionEnded once for concurrent ${code} answers, and again for a later session`, async function () {
      const server = fakeServer({
        '/api/login': () => json(200, {}, { 'x-session-info': info('bob', 5) }),
        '/api/x': () => json(401, { code }, { 'x-session-info': 'ended' })
      })
      const newChannel = channelHub()
      const channel = newChannel()
      const ended = []
      const events = []
      const c = client(server, { channel, onSessionEnded: (v) => ended.push(v) })
      c.on('sessionEnded', (v) => events.push(v))
      await c.fetch('/api/login', { method: 'POST' })
      const responses = await Promise.all([c.fetch('/api/x'), c.fetch('/api/x'), c.fetch('/api/x')])
      assert.deepEqual(responses.map((r) => r.status), [401, 401, 401])
      assert.deepEqual(ended, [code])
      assert.deepEqual(events, [code])
      assert.deepEqual(channel.sent, [{ type: 'ended', code }])
      assert.equal(c.info, null)
      assert.equal(server.refreshCalls, 0)
      await c.fetch('/api/login', { method: 'POST' })
      assert.deepEqual(c.info, { userId: 'bob', accessExpires: 5 })
      await c.fetch('/api/x')
      assert.deepEqual(ended, [code, code])
    })
  }

  it('should end the session once when the refresh call answers TOKEN_THEFT_DETECTED, returning the original 401', async function () {
    const server = fakeServer()
    server.refreshAnswer = () => json(401, { code: 'TOKEN_THEFT_DETECTED' }, { 'x-session-info': 'ended' })
    const ended = []
    const c = client(server, { onSessionEnded: (v) => ended.push(v) })
    const [a, b] = await Promise.all([c.fetch('/api/x'), c.fetch('/api/y')])
    assert.deepEqual(await bodyOf(a), { code: 'TRY_REFRESH' })
    assert.equal(b.status, 401)
    assert.deepEqual(ended, ['TOKEN_THEFT_DETECTED'])
    assert.equal(server.refreshCalls, 1)
    assert.equal(server.apiCalls, 2, 'no replay')
  })

  it('should end the session as UNAUTHORISED when the refresh answers 401 with any other body', async function () {
    for (const answer of [() => json(401, { code: 'UNAUTHORISED' }), () => new Response('', { status: 401 })]) {
      const server = fakeServer()
      server.refreshAnswer = answer
      const ended = []
      const c = client(server, { onSessionEnded: (v) => ended.push(v) })
      assert.equal((await c.fetch('/api/x')).status, 401)
      assert.deepEqual(ended, ['UNAUTHORISED'])
    }
  })

  it('should tell the other tabs (once each, no echo) and ignore unknown messages', async function () {
    const server = fakeServer({ '/api/x': () => json(401, { code: 'TOKEN_THEFT_DETECTED' }) })
    const newChannel = channelHub()
    const chA = newChannel()
    const chB = newChannel()
    const endedA = []
    const endedB = []
    const infoB = []
    const tabA = client(server, { channel: chA, onSessionEnded: (v) => endedA.push(v) })
    const tabB = client(fakeServer({ '/api/login': () => json(200, {}, { 'x-session-info': info('alice', 9) }) }),
      { channel: chB, onSessionEnded: (v) => endedB.push(v) })
    await tabB.fetch('/api/login', { method: 'POST' })
    tabB.on('info', (v) => infoB.push(v))
    await tabA.fetch('/api/x')
    await tick()
    await tick()
    assert.deepEqual(endedA, ['TOKEN_THEFT_DETECTED'])
    assert.deepEqual(endedB, ['TOKEN_THEFT_DETECTED'])
    assert.equal(tabB.info, null)
    assert.deepEqual(infoB, [null])
    assert.deepEqual(chB.sent, [], 'the receiving tab does not re-broadcast')
    chA.postMessage({ type: 'ended', code: 'UNAUTHORISED' })
    chA.postMessage({ type: 'other' })
    chA.postMessage(null)
    await tick()
    await tick()
    assert.deepEqual(endedB, ['TOKEN_THEFT_DETECTED'], 'once per session')
    const tabC = client(fakeServer(), { channel: newChannel(), onSessionEnded: (v) => endedA.push('C:' + v) })
    chA.postMessage({ type: 'ended', code: 'SOMETHING_ELSE' })
    await tick()
    await tick()
    assert.equal(tabC.info, null)
    assert.deepEqual(endedA, ['TOKEN_THEFT_DETECTED'], 'unknown codes are ignored')
  })

  it('should report a throwing listener and still resolve the request', async function (t) {
    const reported = []
    globalThis.reportError = (e) => reported.push(e.message)
    t.after(() => { delete globalThis.reportError })
    const server = fakeServer({ '/api/x': () => json(401, { code: 'UNAUTHORISED' }) })
    const c = client(server, { onSessionEnded: () => { throw new Error('app bug') } })
    const later = []
    c.on('sessionEnded', (v) => later.push(v))
    assert.equal((await c.fetch('/api/x')).status, 401)
    assert.deepEqual(reported, ['app bug'])
    assert.deepEqual(later, ['UNAUTHORISED'], 'the next listener still runs')
  })

  it('should fall back to console.error where there is no reportError', async function (t) {
    assert.equal(globalThis.reportError, undefined)
    const logged = t.mock.method(console, 'error', () => {})
    const server = fakeServer({ '/api/x': () => json(401, { code: 'UNAUTHORISED' }) })
    const c = client(server, { onSessionEnded: () => { throw new Error('app bug 2') } })
    assert.equal((await c.fetch('/api/x')).status, 401)
    assert.deepEqual(logged.mock.calls.map((call) => call.arguments[0].message), ['app bug 2'])
  })
})

describe('client: CSRF header', function () {
  it('should add the last X-CSRF-Token on unsafe same-origin requests only', async function () {
    const server = fakeServer({ '/api/login': () => json(200, {}, { 'x-csrf-token': 'tok1' }), '/api/x': () => json(200, {}) })
    const c = client(server)
    const csrfOf = (i) => server.calls[i].req.headers.get('x-csrf-token')
    await c.fetch('/api/x', { method: 'POST' })
    assert.equal(csrfOf(0), null, 'none known yet')
    await c.fetch('/api/login', { method: 'POST' })
    const other = { method: 'POST', headers: { a: 'b' } }
    const cases = [
      ['/api/x', { method: 'POST' }, 'tok1'],
      ['/api/x', { method: 'purge' }, 'tok1'],
      ['/api/x', { method: 'get' }, null],
      ['/api/x', { method: 'DELETE' }, 'tok1'],
      ['/api/x', undefined, null],
      ['/api/x', { method: 'HEAD' }, null],
      ['/api/x', { method: 'OPTIONS' }, null],
      ['/api/x', { method: 'PUT', headers: { 'X-CSRF-Token': 'mine' } }, 'mine']
    ]
    for (const [url, init, expected] of cases) {
      await c.fetch(url, init)
      assert.equal(csrfOf(server.calls.length - 1), expected, `${init?.method ?? 'GET'} ${url}`)
    }
    const before = server.calls.length
    await c.fetch(OTHER, other)
    const sent = server.calls[before]
    assert.equal(sent.input, OTHER, 'passed through as given')
    assert.equal(sent.init, other)
    assert.equal(sent.req.headers.get('x-csrf-token'), null)
    await c.fetch('https://app.test.evil.test/x', { method: 'POST' })
    await c.fetch('http://app.test/x', { method: 'POST' })
    assert.equal(server.calls.at(-1).req.headers.get('x-csrf-token'), null, 'another scheme is another origin')
    assert.equal(server.calls.at(-2).req.headers.get('x-csrf-token'), null)
  })

  it('should fall back to <meta name="csrf-token">, and send no token once the session ended', async function (t) {
    const meta = { content: 'from-meta' }
    globalThis.document = {
      querySelector: (sel) => (sel === 'meta[name="csrf-token"]' && meta.content !== null ? { getAttribute: (n) => (n === 'content' ? meta.content : null) } : null)
    }
    t.after(() => { delete globalThis.document })
    const server = fakeServer({
      '/api/x': () => json(200, {}),
      '/api/logout': () => json(200, {}, { 'x-session-info': 'ended' }),
      '/api/login': () => json(200, {}, { 'x-session-info': info('a', 1), 'x-csrf-token': 'tok2' })
    })
    const c = client(server)
    const last = () => server.calls.at(-1).req.headers.get('x-csrf-token')
    await c.fetch('/api/x', { method: 'POST' })
    assert.equal(last(), 'from-meta')
    meta.content = ''
    await c.fetch('/api/x', { method: 'POST' })
    assert.equal(last(), null, 'an empty meta is no token')
    meta.content = null
    await c.fetch('/api/x', { method: 'POST' })
    assert.equal(last(), null, 'no meta')
    meta.content = 'from-meta'
    await c.fetch('/api/logout', { method: 'POST' })
    await c.fetch('/api/x', { method: 'POST' })
    assert.equal(last(), null, 'the meta token belonged to the ended session')
    await c.fetch('/api/login', { method: 'POST' })
    await c.fetch('/api/x', { method: 'POST' })
    assert.equal(last(), 'tok2')
  })

  it('should ignore headers of responses from other origins', async function () {
    const server = fakeServer({ '/api/login': () => json(200, {}, { 'x-session-info': info('a', 1), 'x-csrf-token': 'ours' }) })
    const evil = async () => json(200, {}, { 'x-session-info': 'ended', 'x-csrf-token': 'theirs', 'x-access-token': '' })
    const c = client(server, { fetch: (input, init) => (String(input).startsWith(OTHER) ? evil() : server.fetch(input, init)) })
    await c.fetch('/api/login', { method: 'POST' })
    await c.fetch(OTHER)
    assert.deepEqual(c.info, { userId: 'a', accessExpires: 1 })
    await c.fetch('/api/login', { method: 'POST' })
    assert.equal(server.calls.at(-1).req.headers.get('x-csrf-token'), 'ours')
  })

  it('should take the X-CSRF-Token of the refresh response for the replay', async function () {
    const server = fakeServer({ '/api/x': (req, s) => (s.fresh ? json(200, {}) : json(401, { code: 'TRY_REFRESH' })) })
    server.refreshAnswer = () => json(200, {}, { 'x-csrf-token': 'after-refresh' })
    const c = client(server)
    assert.equal((await c.fetch('/api/x', { method: 'POST' })).status, 200)
    const [first, replay] = apiRequests(server)
    assert.equal(first.req.headers.get('x-csrf-token'), null)
    assert.equal(replay.req.headers.get('x-csrf-token'), 'after-refresh')
  })
})

describe('client: X-Session-Info', function () {
  it('should parse it into client.info, clear it on "ended", ignore a malformed one, and emit info', async function () {
    let next = {}
    const server = fakeServer({ '/api/x': () => json(200, {}, next) })
    const c = client(server)
    const seen = []
    const off = c.on('info', (v) => seen.push(v))
    assert.equal(c.info, null)
    next = { 'x-session-info': info(null, 1234) }
    await c.fetch('/api/x')
    assert.deepEqual(c.info, { userId: null, accessExpires: 1234 })
    next = { 'x-session-info': '%7Bbad' }
    await c.fetch('/api/x')
    next = { 'x-session-info': encodeURIComponent('5') }
    await c.fetch('/api/x')
    next = {}
    await c.fetch('/api/x')
    assert.deepEqual(c.info, { userId: null, accessExpires: 1234 })
    next = { 'x-session-info': info('carol', 99) }
    await c.fetch('/api/x')
    assert.deepEqual(c.info, { userId: 'carol', accessExpires: 99 })
    next = { 'x-session-info': 'ended' }
    await c.fetch('/api/x')
    assert.equal(c.info, null)
    assert.deepEqual(seen, [{ userId: null, accessExpires: 1234 }, { userId: 'carol', accessExpires: 99 }, null])
    off()
    next = { 'x-session-info': info('dave', 1) }
    await c.fetch('/api/x')
    assert.equal(seen.length, 3, 'unsubscribed')
    const fn = (v) => seen.push(v)
    c.on('info', fn)
    c.off('info', fn)
    c.off('nonsense', fn)
    await c.fetch('/api/x')
    assert.equal(seen.length, 3, 'off() removed it')
    assert.throws(() => c.on('nonsense', fn), TypeError)
  })

  it('should read a missing userId as null and accessExpires as a number', async function () {
    const raw = encodeURIComponent(JSON.stringify({ accessExpires: '42' }))
    const c = client(fakeServer({ '/api/x': () => json(200, {}, { 'x-session-info': raw }) }))
    await c.fetch('/api/x')
    assert.deepEqual(c.info, { userId: null, accessExpires: 42 })
  })

  it('should not emit info when a session ends while no info is known', async function () {
    const c = client(fakeServer({ '/api/x': () => json(401, { code: 'UNAUTHORISED' }) }))
    const seen = []
    c.on('info', (v) => seen.push(v))
    await c.fetch('/api/x')
    assert.deepEqual(seen, [])
  })
})

describe('client: header mode', function () {
  function memoryStorage (initial) {
    let tokens = initial
    const log = []
    return {
      log,
      get peek () { return tokens },
      get: async () => tokens,
      set: (t) => { log.push(['set', t]); tokens = t },
      clear: () => { log.push(['clear']); tokens = null }
    }
  }

  it('should send the bearer, refresh with X-Refresh-Token, store the new tokens and replay with them', async function () {
    const server = fakeServer({
      '/api/x': (req, s) => (req.headers.get('authorization') === 'Bearer a2' ? json(200, {}) : json(401, { code: 'TRY_REFRESH' }))
    })
    server.refreshAnswer = () => json(200, { userId: 'u', accessExpires: 7 }, {
      'x-access-token': 'a2', 'x-refresh-token': 'r2', 'x-access-expires': '7', 'x-session-info': info('u', 7)
    })
    const storage = memoryStorage({ accessToken: 'a1', refreshToken: 'r1' })
    const c = client(server, { transfer: 'header', storage })
    assert.equal((await c.fetch('/api/x')).status, 200)
    const [first, second] = apiRequests(server)
    assert.equal(first.req.headers.get('authorization'), 'Bearer a1')
    assert.equal(first.req.headers.get('x-session-transfer'), 'header')
    assert.equal(second.req.headers.get('authorization'), 'Bearer a2')
    const [r] = refreshRequests(server)
    assert.equal(r.req.headers.get('x-refresh-token'), 'r1')
    assert.equal(r.req.headers.get('x-session-transfer'), 'header')
    assert.equal(r.req.headers.get('authorization'), null, 'no access token on the refresh call')
    assert.deepEqual(storage.peek, { accessToken: 'a2', refreshToken: 'r2' })
    assert.deepEqual(c.info, { userId: 'u', accessExpires: 7 })
  })

  it('should keep the refresh token when only the access token is re-issued, and clear on empty headers', async function () {
    let next = {}
    const server = fakeServer({ '/api/x': () => json(200, {}, next) })
    const storage = memoryStorage(null)
    const c = client(server, { transfer: 'header', storage })
    await c.fetch('/api/x')
    assert.equal(server.calls[0].req.headers.get('authorization'), null, 'no token yet')
    assert.equal(server.calls[0].req.headers.get('x-session-transfer'), 'header', 'asks for header mode (login)')
    next = { 'x-access-token': 'a1', 'x-refresh-token': 'r1' }
    await c.fetch('/api/x')
    next = { 'x-access-token': 'a1b' }
    await c.fetch('/api/x')
    assert.deepEqual(storage.peek, { accessToken: 'a1b', refreshToken: 'r1' })
    next = { 'x-access-token': '', 'x-refresh-token': '' }
    await c.fetch('/api/x')
    assert.equal(storage.peek, null)
    assert.deepEqual(storage.log.map((e) => e[0]), ['set', 'set', 'clear'])
  })

  it('should clear the storage when the session ends, and never send tokens to another origin', async function () {
    const server = fakeServer({ '/api/x': () => json(401, { code: 'UNAUTHORISED' }) })
    const storage = memoryStorage({ accessToken: 'a1', refreshToken: 'r1' })
    const ended = []
    const c = client(server, { transfer: 'header', storage, onSessionEnded: (v) => ended.push(v) })
    await c.fetch(OTHER, { method: 'POST' })
    const foreign = server.calls[0].req.headers
    assert.equal(foreign.get('authorization'), null)
    assert.equal(foreign.get('x-session-transfer'), null)
    assert.equal(storage.peek.accessToken, 'a1')
    await c.fetch('/api/x')
    assert.equal(storage.peek, null)
    assert.deepEqual(ended, ['UNAUTHORISED'])
  })

  it('should refresh without X-Refresh-Token when the storage has none, and end on the 401', async function () {
    const server = fakeServer()
    server.refreshAnswer = (req) => json(401, { code: req.headers.get('x-refresh-token') ? 'BUG' : 'UNAUTHORISED' })
    const storage = memoryStorage({ accessToken: 'a1' })
    const ended = []
    const c = client(server, { transfer: 'header', storage, onSessionEnded: (v) => ended.push(v) })
    assert.equal((await c.fetch('/api/x')).status, 401)
    assert.equal(refreshRequests(server)[0].req.headers.get('x-refresh-token'), null)
    assert.deepEqual(ended, ['UNAUTHORISED'])
  })

  it('should end a later session again once a new access token arrived', async function () {
    let answer = () => json(401, { code: 'UNAUTHORISED' })
    const server = fakeServer({ '/api/x': () => answer() })
    const storage = memoryStorage({ accessToken: 'a1', refreshToken: 'r1' })
    const ended = []
    const c = client(server, { transfer: 'header', storage, onSessionEnded: (v) => ended.push(v) })
    await c.fetch('/api/x')
    await c.fetch('/api/x')
    assert.deepEqual(ended, ['UNAUTHORISED'], 'once per session')
    answer = () => json(200, {}, { 'x-access-token': 'a2', 'x-refresh-token': 'r2' })
    await c.fetch('/api/x')
    answer = () => json(401, { code: 'UNAUTHORISED' })
    await c.fetch('/api/x')
    assert.deepEqual(ended, ['UNAUTHORISED', 'UNAUTHORISED'])
  })

  it('should clear the storage when another tab says the session ended', async function () {
    const newChannel = channelHub()
    const chA = newChannel()
    const storage = memoryStorage({ accessToken: 'a1', refreshToken: 'r1' })
    client(fakeServer(), { transfer: 'header', storage, channel: newChannel() })
    chA.postMessage({ type: 'ended', code: 'UNAUTHORISED' })
    await tick()
    await tick()
    assert.equal(storage.peek, null)
  })

  it('should report (not throw) a storage failure while handling a message from another tab', async function (t) {
    const reported = []
    globalThis.reportError = (e) => reported.push(e.message)
    t.after(() => { delete globalThis.reportError })
    const newChannel = channelHub()
    const chA = newChannel()
    const storage = { get: () => null, set: () => {}, clear: async () => { throw new Error('storage broken') } }
    client(fakeServer(), { transfer: 'header', storage, channel: newChannel() })
    chA.postMessage({ type: 'ended', code: 'UNAUTHORISED' })
    await tick()
    await tick()
    assert.deepEqual(reported, ['storage broken'])
  })
})

describe('client: install / uninstall', function () {
  it('should replace globalThis.fetch with client.fetch and put the original back', async function (t) {
    const original = globalThis.fetch
    t.after(() => { globalThis.fetch = original })
    const server = fakeServer()
    const c = client(server)
    c.uninstall() // not installed: nothing happens
    assert.equal(globalThis.fetch, original)
    c.install()
    c.install()
    assert.equal(globalThis.fetch, c.fetch)
    const res = await globalThis.fetch('/api/x')
    assert.equal(res.status, 200, 'went through the client: refreshed and replayed')
    assert.equal(server.refreshCalls, 1)
    c.uninstall()
    assert.equal(globalThis.fetch, original)
  })

  it('should not clobber a fetch that replaced the client after install()', async function (t) {
    const original = globalThis.fetch
    t.after(() => { globalThis.fetch = original })
    const c = client(fakeServer())
    c.install()
    const later = () => {}
    globalThis.fetch = later
    c.uninstall()
    assert.equal(globalThis.fetch, later)
    c.install()
    assert.equal(globalThis.fetch, c.fetch, 'can install again')
  })
})

describe('client: options and defaults', function () {
  it('should refuse bad options with a TypeError naming them', function (t) {
    const f = fakeServer().fetch
    const bad = [
      [{ fetch: f, baseUrl: undefined }, /baseUrl/],
      [{ fetch: f, baseUrl: BASE, refreshPath: 'https://evil.test/session/refresh' }, /refreshPath/],
      [{ fetch: f, baseUrl: BASE, maxRetries: -1 }, /maxRetries/],
      [{ fetch: f, baseUrl: BASE, maxRetries: 1.5 }, /maxRetries/],
      [{ fetch: f, baseUrl: BASE, transfer: 'both' }, /transfer/],
      [{ fetch: f, baseUrl: BASE, transfer: 'header' }, /storage/],
      [{ fetch: f, baseUrl: BASE, transfer: 'header', storage: { get () {}, set () {} } }, /storage/],
      [{ fetch: f, baseUrl: BASE, onSessionEnded: 'x' }, /onSessionEnded/],
      [{ fetch: 'x', baseUrl: BASE }, /fetch/]
    ]
    for (const [options, message] of bad) {
      assert.throws(() => createClient({ locks: null, storageArea: null, channel: null, ...options }), (e) => e instanceof TypeError && message.test(e.message), String(message))
    }
    const original = globalThis.fetch
    t.after(() => { globalThis.fetch = original })
    globalThis.fetch = undefined
    assert.throws(() => createClient({ baseUrl: BASE, channel: null }), /fetch/)
  })

  it('should call the given fetch with globalThis as this (browsers refuse any other)', async function () {
    const server = fakeServer()
    const receivers = []
    const c = client(server, { fetch (input, init) { receivers.push(this); return server.fetch(input, init) } })
    await c.fetch('/api/x')
    await c.fetch(OTHER)
    assert.equal(receivers.length, 4)
    assert.ok(receivers.every((r) => r === globalThis))
  })

  it('should use location.href, globalThis.fetch, navigator.locks and localStorage by default', async function (t) {
    const server = fakeServer()
    const locks = fakeLocks()
    const area = fakeArea()
    const saved = {}
    for (const [k, v] of Object.entries({ location: { href: 'https://app.test/dir/page' }, fetch: server.fetch, localStorage: area })) {
      saved[k] = Object.getOwnPropertyDescriptor(globalThis, k)
      Object.defineProperty(globalThis, k, { value: v, configurable: true, writable: true })
    }
    saved.navigator = Object.getOwnPropertyDescriptor(globalThis, 'navigator')
    Object.defineProperty(globalThis, 'navigator', { value: { locks }, configurable: true, writable: true })
    t.after(() => {
      for (const [k, d] of Object.entries(saved)) {
        if (d) Object.defineProperty(globalThis, k, d)
        else delete globalThis[k]
      }
    })
    const c = createClient({ channel: null })
    assert.equal((await c.fetch('item')).status, 200)
    assert.deepEqual(server.calls.map((x) => x.req.url), [
      'https://app.test/dir/item', 'https://app.test/session/refresh', 'https://app.test/dir/item'
    ])
    assert.deepEqual(locks.names, ['tandem-session:refresh'])
    assert.ok(area.map.has('tandem-session:refreshed'))
  })

  it('should work with a real BroadcastChannel by default, and without localStorage when reading it throws', async function (t) {
    const d = Object.getOwnPropertyDescriptor(globalThis, 'localStorage')
    Object.defineProperty(globalThis, 'localStorage', { get () { throw new Error('SecurityError') }, configurable: true })
    t.after(() => { if (d) Object.defineProperty(globalThis, 'localStorage', d); else delete globalThis.localStorage })
    const server = fakeServer({ '/api/x': () => json(401, { code: 'UNAUTHORISED' }) })
    const ended = []
    const c = createClient({ baseUrl: BASE, fetch: server.fetch, onSessionEnded: (v) => ended.push(v) })
    assert.equal((await c.fetch('/api/x')).status, 401)
    assert.deepEqual(ended, ['UNAUTHORISED'])
  })

  it('should work without BroadcastChannel', async function (t) {
    const saved = globalThis.BroadcastChannel
    globalThis.BroadcastChannel = undefined
    t.after(() => { globalThis.BroadcastChannel = saved })
    const server = fakeServer({ '/api/x': () => json(401, { code: 'UNAUTHORISED' }) })
    const ended = []
    const c = createClient({ baseUrl: BASE, fetch: server.fetch, onSessionEnded: (v) => ended.push(v) })
    await c.fetch('/api/x')
    assert.deepEqual(ended, ['UNAUTHORISED'])
  })
})
