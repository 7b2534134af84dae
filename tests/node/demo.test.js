'use strict'

// Smoke test of the demo app (examples/demo) over HTTP, as a browser without JavaScript
// would use it: sign in with the form, the server page's counter, a refresh through the
// page navigation, the API, "your devices" (revoke, sign out everywhere), the theft
// walkthrough, the dashboard's access rule. MemoryStore and a fixed clock moved by the
// test: nothing sleeps.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { once } = require('node:events')
const { describe, it } = require('node:test')

const session = require('../..')
const { createDemo } = require('../../examples/demo/app.js')
const { HttpClient } = require('./support/http-client.js')

const CLIENT_FILE = path.resolve(__dirname, '../../client/index.js')

async function startDemo (t, options = {}) {
  const start = Math.floor(Date.now() / 1000) * 1000
  const clock = { now: start }
  const { app, session: s } = createDemo({ store: new session.NativeMemoryStore(), fixedNow: start, ...options })
  const server = http.createServer(app)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    s,
    advance (ms) {
      clock.now += ms
      s.setNow(clock.now)
    },
    client (opts) {
      return new HttpClient(url, { clock: () => clock.now, ...opts })
    }
  }
}

/** The text of element `#id` (no nested markup). */
function textOf (html, id) {
  const m = new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html)
  return m ? m[1] : null
}

function csrfOf (html) {
  const m = /name="_csrf" value="([^"]+)"/.exec(html)
  return m ? m[1] : undefined
}

function okPage (res, what) {
  assert.equal(res.status, 200, `${what}: ${res.status} ${res.text.slice(0, 300)}`)
  assert.match(res.headers['content-type'], /^text\/html/)
  return res.text
}

/** Submit a form of the page `html` (its _csrf, if any, included), as a browser would. */
function submit (client, html, action, fields = {}) {
  const form = { ...fields }
  const token = csrfOf(html)
  if (token !== undefined) form._csrf = token
  return client.post(action, {
    form,
    headers: { Accept: 'text/html', 'Sec-Fetch-Mode': 'navigate', 'Sec-Fetch-Site': 'same-origin', 'Sec-Fetch-Dest': 'document' }
  })
}

async function signIn (client, user) {
  const home = okPage(await client.navigate('/'), 'home')
  assert.match(home, new RegExp(`id="signin-${user}"`))
  const res = await submit(client, home, '/login', { user })
  assert.equal(res.status, 303, `login: ${res.status} ${res.text}`)
  const after = okPage(await client.follow(res), 'home after login')
  assert.equal(textOf(after, 'user'), user)
  return after
}

async function serverCounter (client) {
  return Number(textOf(okPage(await client.navigate('/server'), '/server'), 'counter'))
}

function deviceHandles (html) {
  return [...html.matchAll(/<li data-handle="([^"]+)"/g)].map((m) => m[1])
}

describe('demo app', () => {
  it('signs in as alice with the form; signs out', async (t) => {
    const d = await startDemo(t)
    const browser = d.client({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36' })
    const home = okPage(await browser.navigate('/'), 'home')
    assert.equal(textOf(home, 'user'), 'signed out')
    assert.match(home, /id="signin-bob"/)
    assert.doesNotMatch(home, /id="signout"/)
    assert.match(home, /<link rel="stylesheet" href="\/assets\/style.css">/)
    const after = await signIn(browser, 'alice')
    assert.match(after, /id="signout"/)
    assert.match(after, /<meta name="csrf-token" content="[^"]+">/)
    assert.deepEqual(browser.jar.names(), ['connect.sid', 'connect.sid.refresh'])
    for (const c of browser.jar.all()) assert.equal(c.httpOnly, true)
    const out = await submit(browser, after, '/logout')
    assert.equal(out.status, 303)
    assert.deepEqual(browser.jar.names(), [], 'both cookies cleared')
    assert.equal(textOf(okPage(await browser.follow(out), 'home'), 'user'), 'signed out')
    assert.deepEqual(await d.s.listSessions('alice'), [])
  })

  it('refuses an unknown user and a cross-site login', async (t) => {
    const d = await startDemo(t)
    const browser = d.client()
    const home = okPage(await browser.navigate('/'), 'home')
    assert.equal((await submit(browser, home, '/login', { user: 'mallory' })).status, 400)
    const evil = await browser.post('/login', { form: { user: 'alice' }, headers: { Origin: 'http://evil.example' } })
    assert.equal(evil.status, 403)
    assert.deepEqual(browser.jar.names(), [])
  })

  it('/server shows the counter increasing, across an access-token refresh', async (t) => {
    const d = await startDemo(t)
    const browser = d.client()
    // Anonymous first: the counter lives in an anonymous session, and comes along at login.
    assert.equal(await serverCounter(browser), 1)
    assert.equal(await serverCounter(browser), 2)
    await signIn(browser, 'alice')
    assert.equal(await serverCounter(browser), 3)
    assert.equal(await serverCounter(browser), 4)
    // 30 s access token: expired, the page navigation goes through the refresh endpoint.
    d.advance(32000)
    const first = await browser.navigate('/server')
    assert.equal(first.status, 303)
    assert.equal(first.location, '/session/refresh?to=%2Fserver')
    const back = await browser.follow(first)
    assert.equal(back.status, 303)
    assert.equal(back.location, '/server')
    const text = okPage(await browser.follow(back), '/server after refresh')
    assert.equal(textOf(text, 'counter'), '5')
    assert.equal(textOf(text, 'refresh-count'), '1')
    assert.equal(textOf(text, 'user'), 'alice')
    assert.match(text, /&quot;views&quot;: 5/, 'session data shown (escaped JSON)')
  })

  it('/app and its API: /api/me, POST /api/counter (CSRF checked), the client helper served', async (t) => {
    const d = await startDemo(t)
    const browser = d.client()
    await signIn(browser, 'alice')
    const app = okPage(await browser.navigate('/app'), '/app')
    assert.match(app, /id="counter-inc"/)
    assert.equal(textOf(app, 'counter'), '0')
    assert.match(app, /<script type="module" src="\/assets\/app.js"><\/script>/)
    const me = await browser.get('/api/me')
    assert.equal(me.status, 200)
    assert.equal(me.json.userId, 'alice')
    const inc = await browser.post('/api/counter', { headers: { 'X-CSRF-Token': me.headers['x-csrf-token'] ?? csrfOf(app) ?? '' } })
    assert.equal(inc.status, 200, inc.text)
    assert.equal(inc.json.counter, 1)
    assert.equal((await browser.post('/api/counter')).json.counter, 2, 'same-origin proof: Origin')
    assert.equal((await browser.post('/api/counter', { headers: { Origin: 'http://evil.example' } })).status, 403)
    assert.equal(textOf(okPage(await browser.navigate('/app'), '/app'), 'counter'), '2')
    // Expired: the API says TRY_REFRESH; a refresh and the retry work.
    d.advance(32000)
    const expired = await browser.get('/api/me')
    assert.equal(expired.status, 401)
    assert.equal(expired.json.code, 'TRY_REFRESH')
    assert.equal((await browser.post('/session/refresh')).status, 200)
    assert.equal((await browser.get('/api/me')).json.counter, 2)

    const script = await browser.get('/assets/app.js')
    assert.equal(script.status, 200)
    assert.match(script.headers['content-type'], /javascript/)
    assert.match(script.text, /from '\/assets\/tandem-client\.js'/)
    const css = await browser.get('/assets/style.css')
    assert.equal(css.status, 200)
    assert.match(css.headers['content-type'], /text\/css/)
    const helper = await browser.get('/assets/tandem-client.js')
    if (fs.existsSync(CLIENT_FILE)) {
      assert.equal(helper.status, 200)
      assert.match(helper.headers['content-type'], /javascript/)
      assert.equal(helper.text, fs.readFileSync(CLIENT_FILE, 'utf8'))
      assert.match(helper.text, /export function createClient/)
    } else {
      assert.equal(helper.status, 404)
    }
  })

  it('/devices lists the sessions of the user; revoke one; the revoked one is refused', async (t) => {
    const d = await startDemo(t)
    const laptop = d.client({ userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Firefox/131.0' })
    const phone = d.client({ userAgent: 'Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile <i>x</i>' })
    await signIn(laptop, 'alice')
    await signIn(phone, 'alice')
    const bob = d.client()
    await signIn(bob, 'bob')

    let page = okPage(await laptop.navigate('/devices'), '/devices')
    const handles = deviceHandles(page)
    assert.equal(handles.length, 2)
    const all = await d.s.listSessions('alice')
    assert.deepEqual(new Set(handles), new Set(all.map((x) => x.handle)))
    assert.match(page, /Firefox on macOS/)
    assert.match(page, /Chrome on Android/)
    assert.ok(page.includes('Mobile &lt;i&gt;x&lt;/i&gt;'), 'user agent escaped')
    assert.equal((page.match(/class="badge ok this-device"/g) || []).length, 1)
    assert.equal((page.match(/<button type="submit" class="revoke danger">/g) || []).length, 2)
    assert.match(page, /id="signout-everywhere"/)
    const mine = /<li data-handle="([^"]+)" data-current="true"/.exec(page)[1]
    const phoneHandle = handles.find((h) => h !== mine)

    // bob cannot revoke alice's session with her handle.
    const bobPage = okPage(await bob.navigate('/devices'), 'bob devices')
    assert.equal(deviceHandles(bobPage).length, 1)
    const tried = await submit(bob, bobPage, '/devices/revoke', { handle: phoneHandle })
    assert.equal(tried.location, '/devices?done=gone')
    assert.equal((await phone.get('/api/me')).json.userId, 'alice')

    // Without the form's _csrf and with a foreign Origin: refused.
    assert.equal((await laptop.post('/devices/revoke', { form: { handle: phoneHandle }, headers: { Origin: 'http://evil.example' } })).status, 403)
    assert.equal((await phone.get('/api/me')).json.userId, 'alice')

    const res = await submit(laptop, page, '/devices/revoke', { handle: phoneHandle })
    assert.equal(res.status, 303)
    assert.equal(res.location, '/devices?done=revoked')
    page = okPage(await laptop.follow(res), '/devices after revoke')
    assert.deepEqual(deviceHandles(page), [mine])
    assert.match(page, /Session revoked/)
    const refused = await phone.get('/api/me')
    assert.equal(refused.status, 401)
    assert.equal(refused.json.code, 'UNAUTHORISED')
    // A page load of the revoked device goes on signed out.
    assert.equal(textOf(okPage(await phone.navigate('/'), 'phone home'), 'user'), 'signed out')
  })

  it('"sign out everywhere" ends every session of the user, this one included', async (t) => {
    const d = await startDemo(t)
    const a1 = d.client()
    const a2 = d.client()
    const bob = d.client()
    await signIn(a1, 'alice')
    await signIn(a2, 'alice')
    await signIn(bob, 'bob')
    const page = okPage(await a1.navigate('/devices'), '/devices')
    const res = await submit(a1, page, '/devices/revoke-all')
    assert.equal(res.status, 303)
    assert.equal(res.location, '/?done=everywhere')
    assert.deepEqual(a1.jar.names(), [], 'this browser signed out')
    assert.deepEqual(await d.s.listSessions('alice'), [])
    assert.equal((await a2.get('/api/me')).status, 401)
    assert.equal((await bob.get('/api/me')).json.userId, 'bob', "bob's session is not touched")
    // Revoking this device from the list signs out here.
    const own = okPage(await bob.navigate('/devices'), 'bob devices')
    const out = await submit(bob, own, '/devices/revoke', { handle: deviceHandles(own)[0] })
    assert.equal(out.location, '/?done=signed-out')
    assert.deepEqual(bob.jar.names(), [])
  })

  it('/devices signed out: sign-in buttons, no list', async (t) => {
    const d = await startDemo(t)
    const page = okPage(await d.client().navigate('/devices'), '/devices')
    assert.match(page, /id="signin-alice"/)
    assert.doesNotMatch(page, /id="devices"/)
  })

  it('/theft walks through theft detection and ends with both refused', async (t) => {
    const d = await startDemo(t)
    const browser = d.client()
    await signIn(browser, 'alice')
    const page = okPage(await browser.navigate('/theft'), '/theft')
    assert.match(page, /id="theft-run"/)
    assert.doesNotMatch(page, /id="theft-steps"/)
    const res = await submit(browser, page, '/theft')
    assert.equal(res.status, 303, res.text)
    assert.match(res.location, /^\/theft\?run=[A-Za-z0-9_-]+$/)
    const result = okPage(await browser.follow(res), 'walkthrough')
    const ol = result.slice(result.indexOf('<ol id="theft-steps">'), result.indexOf('</ol>'))
    const steps = [...ol.matchAll(/<li class="(\w+)" data-actor="(\w+)"(?: data-status="(\d+)")?>/g)].map((m) => [m[2], m[3] ? Number(m[3]) : null])
    assert.deepEqual(steps, [
      ['victim', 200], // signs in
      ['thief', null], // copies the cookies
      ['thief', 200], // refreshes first
      ['clock', null], // grace window passes
      ['victim', 401], // refreshes with the old token: theft
      ['thief', 401], // the thief's new refresh token is dead too
      ['thief', 401], // and its access token
      ['victim', 401] // and the victim's
    ])
    assert.match(ol, /TOKEN_THEFT_DETECTED/)
    assert.match(result, /id="theft-verdict">Theft detected: the thief and the victim are both refused/)
    // The visitor's own session is untouched, and the walkthrough's session is gone.
    assert.equal(textOf(result, 'user'), 'alice')
    assert.equal((await browser.get('/api/me')).json.userId, 'alice')
    const user = /of demo user <code>(theft-demo-[0-9a-f]+)<\/code>/.exec(result)[1]
    assert.deepEqual(await d.s.listSessions(user), [])
    // Anonymous visitors can run it too; an unknown run id says so.
    const anon = d.client()
    const again = await submit(anon, okPage(await anon.navigate('/theft'), 'anon /theft'), '/theft')
    assert.equal(again.status, 303)
    assert.match(okPage(await anon.follow(again), 'anon run'), /both refused/)
    assert.match(okPage(await anon.navigate('/theft?run=nope'), 'missing run'), /no longer kept/)
  })

  it('/admin/sessions: the dashboard, for alice only', async (t) => {
    const d = await startDemo(t)
    const bob = d.client({ userAgent: 'Bob<script>' })
    await signIn(bob, 'bob')
    assert.equal((await bob.navigate('/admin/sessions')).status, 403)
    assert.equal((await d.client().navigate('/admin/sessions')).status, 403)
    const alice = d.client()
    await signIn(alice, 'alice')
    const res = await alice.navigate('/admin/sessions')
    const text = okPage(res, 'dashboard')
    assert.equal(res.headers['cache-control'], 'no-store')
    assert.match(text, /data-user="bob"/)
    assert.ok(text.includes('Bob&lt;script&gt;'))
    assert.ok(!text.includes('Bob<script>'))
  })

  it('unknown pages: 404 (HTML for pages, JSON for the API)', async (t) => {
    const d = await startDemo(t)
    const c = d.client()
    const page = await c.navigate('/nope')
    assert.equal(page.status, 404)
    assert.match(page.headers['content-type'], /^text\/html/)
    const api = await c.get('/api/nope')
    assert.equal(api.status, 404)
    assert.equal(api.json.code, 'NOT_FOUND')
    assert.equal((await c.get('/assets/missing.css')).status, 404)
  })
})

describe('npm start (examples/demo/server.js)', () => {
  it('keeps its own SQLite file: a trial of session() in the folder with another secret does not stop it; SIGTERM ends it', async (t) => {
    const os = require('node:os')
    const { spawn } = require('node:child_process')
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-demo-'))
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
    // The README's quick start, run once in the folder: the default file, another secret.
    const trial = session({
      secret: 'a-trial-secret-of-someone-reading-the-readme-01',
      store: new session.SqliteStore({ path: path.join(dir, '.tandem-session', 'sessions.sqlite3') }),
      saveUninitialized: false
    })
    await trial.ready()
    await trial.close()
    const child = spawn(process.execPath, [path.resolve(__dirname, '../../examples/demo/server.js')], {
      cwd: dir, env: { ...process.env, PORT: '0', SESSION_SECRET: '' }, stdio: ['ignore', 'pipe', 'pipe']
    })
    t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    const deadline = Date.now() + 10000
    while (!/demo: http:\/\/127\.0\.0\.1:\d+/.test(out)) {
      assert.ok(child.exitCode === null && Date.now() < deadline, 'the demo serves: ' + out)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    assert.ok(fs.existsSync(path.join(dir, '.tandem-session', 'demo.sqlite3')), 'in a file of its own')
    const url = out.match(/(http:\/\/127\.0\.0\.1:\d+)/)[1]
    assert.equal((await fetch(url + '/', { headers: { connection: 'close' } })).status, 200)
    child.kill('SIGTERM')
    const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000).unref())
    assert.equal(await Promise.race([exited, timeout]), 0, 'it exits by itself after SIGTERM: ' + out)
  })
})
