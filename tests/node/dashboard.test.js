'use strict'

// The sessions dashboard over HTTP: authorize (deny by default, sync and async), the list
// of sessions by user (escaped), the ?user= search, revoke (POST with _csrf, 303, the
// session's next request refused), recent theft events, and its headers. Express 5 on a
// node:http server, plus a bare node:http server with no framework.

const assert = require('node:assert/strict')
const http = require('node:http')
const { once } = require('node:events')
const { describe, it } = require('node:test')
const express = require('express')

const { useApp, login, assertCode, GRACE_MS, SECRET, session } = require('./support/apps.js')
const { HttpClient } = require('./support/http-client.js')
const { dashboard } = require('../../js/middleware/dashboard.js')

const XSS_UA = 'Evil/1.0 <script>alert("ua")</script> "onmouseover=alert(1) \'x\' & co'
const XSS_UA_ESCAPED = 'Evil/1.0 &lt;script&gt;alert(&quot;ua&quot;)&lt;/script&gt; &quot;onmouseover=alert(1) &#39;x&#39; &amp; co'

/** The dashboard of `s`: through `s.dashboard` once wired, else the module function. */
function makeDashboard (s, options) {
  return typeof s.dashboard === 'function' ? s.dashboard(options) : dashboard(s, options)
}

/**
 * An app (apps.js: Express 5, MemoryStore, fixed clock, POST /login) with the dashboard
 * mounted at /admin/sessions. `authorize` defaults to "the user is admin"; pass
 * `{ authorize: undefined }` for the dashboard's own default.
 */
async function dashboardApp (t, options = { authorize: (req) => req.session !== undefined && req.session.owner === 'admin' }) {
  let handler = null
  const a = await useApp(t, express, {}, {
    setup (app) {
      app.use('/admin/sessions', (req, res, next) => handler(req, res, next))
    }
  })
  handler = makeDashboard(a.s, options)
  return a
}

async function adminClient (a) {
  const admin = a.client({ userAgent: 'AdminBrowser/2.0' })
  await login(admin, 'admin')
  return admin
}

function csrfOf (text) {
  const m = /name="_csrf" value="([^"]+)"/.exec(text)
  assert.ok(m, 'the page has a _csrf field')
  return m[1]
}

function page (res) {
  assert.equal(res.status, 200, `dashboard page: ${res.status} ${res.text.slice(0, 200)}`)
  assert.match(res.headers['content-type'], /^text\/html/)
  return res.text
}

/** The handles of the session rows of user `user` on the page. */
function rowsOf (text, user) {
  const start = text.indexOf(`<section class="user" data-user="${user}">`)
  if (start === -1) return null
  const end = text.indexOf('</section>', start)
  return [...text.slice(start, end).matchAll(/<tr data-handle="([^"]+)"/g)].map((m) => m[1])
}

function theftRows (text) {
  const start = text.indexOf('<section id="thefts">')
  assert.notEqual(start, -1, 'the page has the theft section')
  const end = text.indexOf('</section>', start)
  return [...text.slice(start, end).matchAll(/<tr class="theft" data-handle="([^"]+)"/g)].map((m) => m[1])
}

describe('dashboard: authorize', () => {
  it('denies everybody by default: 403, no-store, nothing revoked', async (t) => {
    const a = await dashboardApp(t, {})
    const admin = await adminClient(a)
    const victim = a.client()
    const who = await login(victim, 'alice')
    const res = await admin.navigate('/admin/sessions')
    assert.equal(res.status, 403)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.doesNotMatch(res.text, /alice/)
    const anon = await a.client().navigate('/admin/sessions/')
    assert.equal(anon.status, 403)
    const token = (await admin.get('/csrf')).json.token
    const post = await admin.post('/admin/sessions/revoke', { form: { handle: who.json.id, _csrf: token } })
    assert.equal(post.status, 403)
    assert.equal((await victim.get('/me')).json.userId, 'alice', 'the session is still alive')
    assert.equal((await a.s.listSessions('alice')).length, 1)
  })

  it('also with options undefined or null', async (t) => {
    for (const o of [undefined, null]) {
      let handler
      const a = await useApp(t, express, {}, { setup (app) { app.use('/d', (q, r, n) => handler(q, r, n)) } })
      handler = makeDashboard(a.s, o)
      const admin = await adminClient(a)
      assert.equal((await admin.navigate('/d')).status, 403)
    }
  })

  it('allows when authorize returns true, sync or async', async (t) => {
    const cases = [
      [(req) => req.session.owner === 'admin', 200],
      [async (req) => req.session.owner === 'admin', 200],
      [(req) => new Promise((resolve) => setImmediate(() => resolve(req.session.owner === 'admin'))), 200],
      [async () => false, 403],
      [() => 0, 403]
    ]
    for (const [authorize, status] of cases) {
      const a = await dashboardApp(t, { authorize })
      const admin = await adminClient(a)
      const res = await admin.navigate('/admin/sessions')
      assert.equal(res.status, status, String(authorize))
      assert.equal(res.headers['cache-control'], 'no-store')
      const other = a.client()
      await login(other, 'mallory')
      assert.equal((await other.navigate('/admin/sessions')).status, 403, 'another user is refused')
    }
  })

  it('authorize sees the request; a throwing authorize goes to the error handler', async (t) => {
    const seen = []
    const a = await dashboardApp(t, { authorize: (req) => { seen.push(req.method + ' ' + req.url); throw new Error('boom') } })
    const admin = await adminClient(a)
    const res = await admin.navigate('/admin/sessions/')
    assert.equal(res.status, 500)
    assert.deepEqual(seen, ['GET /'])
    assert.equal(a.errors.length, 1)
    assert.equal(a.errors[0].message, 'boom')
  })

  it('rejects bad options at creation', async (t) => {
    const a = await dashboardApp(t)
    assert.throws(() => dashboard(a.s, { authorize: true }), TypeError)
    assert.throws(() => dashboard(a.s, 'yes'), TypeError)
    assert.throws(() => dashboard({}, {}), TypeError)
    assert.throws(() => dashboard(null, {}), TypeError)
  })

  it('leaves other paths and methods to the app', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    assert.equal((await admin.navigate('/admin/sessions/elsewhere')).status, 404)
    assert.equal((await admin.request('DELETE', '/admin/sessions/')).status, 404)
  })
})

describe('dashboard: the page', () => {
  it('lists sessions by user, values escaped, no-store, no script', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const alice1 = a.client({ userAgent: XSS_UA })
    const alice2 = a.client({ userAgent: 'Phone/3.1' })
    const bob = a.client({ userAgent: 'BobBrowser/1.0' })
    const weird = a.client()
    const h1 = (await login(alice1, 'alice')).json.id
    const h2 = (await login(alice2, 'alice')).json.id
    const hb = (await login(bob, 'bob')).json.id
    await login(weird, '<img src=x onerror=alert(1)>')

    const res = await admin.navigate('/admin/sessions')
    const text = page(res)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.match(res.headers['content-security-policy'], /default-src 'none'/)
    assert.match(res.headers['content-security-policy'], /frame-ancestors 'none'/)
    assert.doesNotMatch(res.headers['referrer-policy'], /no-referrer/, 'form posts must keep their Origin')
    assert.doesNotMatch(text, /<script/i)
    assert.doesNotMatch(text, /<link|src=["']?http/i, 'no external asset')
    assert.ok(text.includes(XSS_UA_ESCAPED), 'the user agent appears, escaped')
    assert.ok(!text.includes('<img src=x'), 'a user id is escaped')
    assert.ok(text.includes('&lt;img src=x onerror=alert(1)&gt;'))

    assert.deepEqual(new Set(rowsOf(text, 'alice')), new Set([h1, h2]))
    assert.deepEqual(rowsOf(text, 'bob'), [hb])
    assert.ok(rowsOf(text, 'admin').length === 1, 'the admin session is listed too')
    assert.ok(text.includes('Phone/3.1') && text.includes('BobBrowser/1.0'))
    assert.match(text, /Last refresh/)
    assert.match(text, /<time datetime="\d{4}-\d\d-\d\dT/)
    // One revoke form per session, with the CSRF token and the handle.
    const forms = [...text.matchAll(/<form method="post" action="\/admin\/sessions\/revoke"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="handle" value="([^"]+)">/g)]
    assert.deepEqual(new Set(forms.map((m) => m[1])), new Set([h1, h2, hb, ...rowsOf(text, 'admin'), ...rowsOf(text, '&lt;img src=x onerror=alert(1)&gt;')]))
    assert.match(text, /class="revoke danger"/)

    const head = await admin.request('HEAD', '/admin/sessions', { headers: { Accept: 'text/html' } })
    assert.equal(head.status, 200)
    assert.equal(head.text, '')
  })

  it('refreshes make a user seen; a user never seen by events is found with ?user=', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    // A session made straight through the engine: no event, so not in the list.
    await a.s.ready()
    const carol = await a.s.engine.create({ userId: 'carol', data: {}, device: { ip: '192.0.2.9', userAgent: 'Carol<Browser>' } })
    let text = page(await admin.navigate('/admin/sessions'))
    assert.equal(rowsOf(text, 'carol'), null)
    text = page(await admin.navigate('/admin/sessions/?user=carol'))
    assert.deepEqual(rowsOf(text, 'carol'), [carol.handle])
    assert.ok(text.includes('Carol&lt;Browser&gt;'))
    assert.ok(text.includes('192.0.2.9'))
    assert.match(text, /value="carol"/, 'the search box keeps the query')
    // A user with no session.
    text = page(await admin.navigate('/admin/sessions?user=' + encodeURIComponent('nobody"<b>')))
    assert.deepEqual(rowsOf(text, 'nobody&quot;&lt;b&gt;'), [])
    assert.ok(!text.includes('nobody"<b>'))
    // An over-long id is refused politely.
    text = page(await admin.navigate('/admin/sessions?user=' + 'x'.repeat(300)))
    assert.match(text, /1 to 256 characters/)
  })

  it('a user whose sessions all ended is listed as seen, with no rows', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const dave = a.client()
    await login(dave, 'dave')
    await dave.post('/logout')
    const text = page(await admin.navigate('/admin/sessions'))
    assert.equal(rowsOf(text, 'dave'), null)
    assert.match(text, /Seen, no active session/)
    assert.match(text, /href="\/admin\/sessions\/\?user=dave">dave</)
  })
})

describe('dashboard: revoke', () => {
  it('POST /revoke with _csrf: 303 back, the session is refused at its next request', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const victim = a.client()
    const handle = (await login(victim, 'alice')).json.id
    const other = a.client()
    const kept = (await login(other, 'alice')).json.id
    const text = page(await admin.navigate('/admin/sessions'))
    const res = await admin.post('/admin/sessions/revoke', { form: { handle, _csrf: csrfOf(text) } })
    assert.equal(res.status, 303)
    assert.equal(res.location, '/admin/sessions/?done=revoked')
    assert.equal(res.headers['cache-control'], 'no-store')
    assertCode(await victim.get('/me'), 401, 'UNAUTHORISED', 'revoked session')
    assert.equal((await other.get('/me')).json.userId, 'alice', 'the other session lives on')
    assert.deepEqual(a.events.revoked.map((e) => [e.handle, e.userId, e.reason]), [[handle, 'alice', 'admin']])
    // The page says so, and lists what is left.
    const after = page(await admin.follow(res))
    assert.match(after, /The session was revoked/)
    assert.deepEqual(rowsOf(after, 'alice'), [kept])
    // Revoking it again: gone.
    const again = await admin.post('/admin/sessions/revoke', { form: { handle, _csrf: csrfOf(after) } })
    assert.equal(again.location, '/admin/sessions/?done=gone')
  })

  it('keeps the ?user= search across a revoke', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const victim = a.client()
    const handle = (await login(victim, 'erin')).json.id
    const text = page(await admin.navigate('/admin/sessions?user=erin'))
    const res = await admin.post('/admin/sessions/revoke', { form: { handle, user: 'erin', _csrf: csrfOf(text) } })
    assert.equal(res.status, 303)
    assert.equal(res.location, '/admin/sessions/?user=erin&done=revoked')
  })

  it('refuses a revoke without a valid _csrf, or from another origin', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const victim = a.client()
    const handle = (await login(victim, 'alice')).json.id
    const text = page(await admin.navigate('/admin/sessions'))
    const token = csrfOf(text)
    // No token: the session middleware lets a same-origin post through; the dashboard does not.
    assert.equal((await admin.post('/admin/sessions/revoke', { form: { handle } })).status, 403)
    // A token of another session: refused by the middleware already.
    const victimToken = (await victim.get('/csrf')).json.token
    assertCode(await admin.post('/admin/sessions/revoke', { form: { handle, _csrf: victimToken } }), 403, 'CSRF_INVALID')
    // A cross-site form post.
    const evil = await admin.post('/admin/sessions/revoke', { form: { handle, _csrf: token }, headers: { Origin: 'http://evil.example' } })
    assertCode(evil, 403, 'CSRF_INVALID')
    assert.equal((await victim.get('/me')).json.userId, 'alice', 'still alive')
    // A malformed handle.
    assert.equal((await admin.post('/admin/sessions/revoke', { form: { handle: '../x', _csrf: token } })).status, 400)
    // A form body that no parser read (JSON parsed instead): no token, refused.
    assert.equal((await admin.post('/admin/sessions/revoke', { json: { handle } })).status, 403)
    assert.equal((await victim.get('/me')).json.userId, 'alice', 'still alive')
  })

  it('reads the form itself when no body parser ran before it', async (t) => {
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
    const app = express()
    app.use(s)
    app.post('/login', async (req, res) => { await req.session.create(req.query.user); res.json({ id: req.session.id }) })
    app.use('/admin', makeDashboard(s, { authorize: (req) => req.session.owner === 'admin' }))
    const server = http.createServer(app).listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => { server.closeAllConnections(); server.close() })
    const url = `http://127.0.0.1:${server.address().port}`
    const admin = new HttpClient(url)
    const victim = new HttpClient(url)
    await admin.post('/login?user=admin')
    const handle = (await victim.post('/login?user=alice')).json.id
    const text = page(await admin.navigate('/admin'))
    const res = await admin.post('/admin/revoke', { form: { handle, _csrf: csrfOf(text) } })
    assert.equal(res.status, 303)
    assert.equal(res.location, '/admin/?done=revoked')
    assertCode(await victim.get('/admin'), 401, 'UNAUTHORISED')
  })

  it('POST /revoke-user revokes every session of the user', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const c1 = a.client()
    const c2 = a.client()
    await login(c1, 'frank')
    await login(c2, 'frank')
    const text = page(await admin.navigate('/admin/sessions'))
    assert.match(text, /Revoke all 2/)
    const res = await admin.post('/admin/sessions/revoke-user', { form: { user: 'frank', _csrf: csrfOf(text) } })
    assert.equal(res.status, 303)
    assert.equal(res.location, '/admin/sessions/?user=frank&done=user-revoked')
    assertCode(await c1.get('/me'), 401, 'UNAUTHORISED')
    assertCode(await c2.get('/me'), 401, 'UNAUTHORISED')
    assert.deepEqual(await a.s.listSessions('frank'), [])
  })
})

describe('dashboard: theft events', () => {
  /** Log `user` in, let a copy of its cookies refresh first, then refresh with the original: theft. */
  async function theft (a, user) {
    const victim = a.client({ userAgent: 'VictimBrowser/1.0' })
    const handle = (await login(victim, user)).json.id
    const thief = victim.clone({ userAgent: 'ThiefBrowser/6.6 <b>' })
    assert.equal((await thief.post('/session/refresh')).status, 200)
    a.advance(GRACE_MS + 1000)
    assertCode(await victim.post('/session/refresh'), 401, 'TOKEN_THEFT_DETECTED')
    return handle
  }

  it('shows recent thefts, newest first, with both devices', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    let text = page(await admin.navigate('/admin/sessions'))
    assert.deepEqual(theftRows(text), [])
    assert.match(text, /No reused refresh token/)
    const first = await theft(a, 'alice')
    const second = await theft(a, 'bob')
    text = page(await admin.navigate('/admin/sessions'))
    assert.deepEqual(theftRows(text), [second, first])
    const section = text.slice(text.indexOf('<section id="thefts">'))
    assert.ok(section.includes('ThiefBrowser/6.6 &lt;b&gt;'), 'the last refresher (the thief) is shown, escaped')
    assert.ok(section.includes('VictimBrowser/1.0'), 'the presenter of the reused token is shown')
    assert.match(section, />alice</)
    assert.match(section, />bob</)
    assert.equal(rowsOf(text, 'alice'), null, 'the stolen session is no longer listed as active (alice has no other)')
  })

  it('keeps the last 50', async (t) => {
    const a = await dashboardApp(t)
    const admin = await adminClient(a)
    const handles = []
    for (let i = 0; i < 52; i++) handles.push(await theft(a, 'user' + i))
    const rows = theftRows(page(await admin.navigate('/admin/sessions')))
    assert.equal(rows.length, 50)
    assert.deepEqual(rows, handles.slice(2).reverse())
  })

  it('two dashboards of one session() share what was seen', async (t) => {
    const a = await dashboardApp(t)
    const other = makeDashboard(a.s, { authorize: () => true })
    const handle = await theft(a, 'alice')
    const res = { headers: {}, statusCode: 0, setHeader (k, v) { this.headers[k.toLowerCase()] = v }, end (b) { this.body = b; this.done() } }
    await new Promise((resolve, reject) => {
      res.done = resolve
      other({ method: 'GET', url: '/', headers: {} }, res, reject)
    })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(theftRows(res.body), [handle])
  })
})

describe('dashboard on a bare node:http server', () => {
  it('serves, authorizes, revokes', async (t) => {
    const s = session({ secret: SECRET, store: new session.NativeMemoryStore() })
    const dash = makeDashboard(s, { authorize: (req) => req.session.owner === 'admin' })
    const server = http.createServer((req, res) => {
      s(req, res, (err) => {
        if (err) { res.statusCode = 500; return res.end() }
        const u = new URL(req.url, 'http://x')
        if (u.pathname === '/login' && req.method === 'POST') {
          return req.session.create(u.searchParams.get('user')).then(() => {
            res.setHeader('Content-Type', 'application/json')
            res.end(JSON.stringify({ id: req.session.id }))
          })
        }
        if (u.pathname === '/me') {
          res.setHeader('Content-Type', 'application/json')
          return res.end(JSON.stringify({ userId: req.session.owner }))
        }
        dash(req, res) // mounted at the root, no next: its own 404
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    t.after(() => { server.closeAllConnections(); server.close() })
    const url = `http://127.0.0.1:${server.address().port}`
    const admin = new HttpClient(url)
    const victim = new HttpClient(url, { userAgent: XSS_UA })
    assert.equal((await admin.navigate('/')).status, 403)
    await admin.post('/login?user=admin')
    const handle = (await victim.post('/login?user=alice')).json.id
    const res = await admin.navigate('/')
    const text = page(res)
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.ok(text.includes(XSS_UA_ESCAPED))
    assert.deepEqual(rowsOf(text, 'alice'), [handle])
    assert.match(text, /action="\/revoke"/)
    const post = await admin.post('/revoke', { form: { handle, _csrf: csrfOf(text) } })
    assert.equal(post.status, 303)
    assert.equal(post.location, '/?done=revoked')
    assertCode(await victim.get('/me'), 401, 'UNAUTHORISED')
    assert.equal((await admin.navigate('/nothing-here')).status, 404)
  })
})
