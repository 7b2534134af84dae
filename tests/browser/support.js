'use strict'

/**
 * Shared setup of the real-browser tests: the system Chromium driven by playwright-core, the
 * demo app (examples/demo/app.js `createDemo`) on 127.0.0.1 port 0 over a fresh MemoryStore and
 * a fixed server clock the tests move (`demo.advance(ms)`, never sleeping for an expiry), and a
 * few page helpers. The browser's cookies are session cookies (no Max-Age), so only the server
 * clock decides what has expired.
 */

const assert = require('node:assert/strict')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const { once } = require('node:events')

const session = require('../..')

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']
const ROOT = path.join(__dirname, '..', '..')
const SHOTS = path.join(ROOT, 'artifacts', 'screenshots')

/** The demo's timings (its defaults), passed explicitly so a change of default cannot silently weaken a test. */
const ACCESS_MS = 30 * 1000
const LEEWAY_MS = 1000 // leeway on `exp`
const GRACE_MS = 2 * 1000 // refreshGrace (the library's default is 10 s)
/** Time to move the server clock for an access token to have expired (lifetime + leeway + 1 s). */
const EXPIRE_MS = ACCESS_MS + LEEWAY_MS + 1000
const ACCESS_COOKIE = 'connect.sid'
const REFRESH_COOKIE = 'connect.sid.refresh'
const REFRESH_PATH = '/session/refresh'

/**
 * `false` when the browser tests can run, else the reason to skip them. Under CI a missing
 * Chromium is not a reason: the tests run and fail.
 */
const skip = fs.existsSync(CHROMIUM) || process.env.CI
  ? false
  : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); browser tests skipped`

/** Launch Chromium (fresh temporary user data dir, made by playwright), closed when `t` ends. */
async function useBrowser (t) {
  const { chromium } = require('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS })
  t.after(() => browser.close())
  return browser
}

/**
 * Start the demo over a MemoryStore and a fixed clock, closed when `t` ends. Every request the
 * server receives is logged (`demo.hits`: method, url, cookie names) before the app sees it;
 * the session events are collected in `demo.events`.
 */
async function useDemo (t, options = {}) {
  const { createDemo } = require('../../examples/demo/app.js')
  const start = Math.floor(Date.now() / 1000) * 1000
  let now = start
  const { app, session: s } = createDemo({
    store: new session.MemoryStore(),
    fixedNow: start,
    accessTokenMaxAge: ACCESS_MS,
    leeway: LEEWAY_MS,
    refreshGrace: GRACE_MS,
    ...options
  })
  const events = { created: [], refreshed: [], revoked: [], theft: [] }
  for (const name of Object.keys(events)) s.on(name, (e) => events[name].push(e))
  const hits = []
  const server = http.createServer((req, res) => {
    hits.push({ method: req.method, url: req.url, cookies: cookieNames(req.headers.cookie) })
    app(req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  if (typeof s.ready === 'function') await s.ready()
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const url = `http://127.0.0.1:${server.address().port}`
  return {
    url,
    app,
    session: s,
    events,
    hits,
    now: () => now,
    advance (ms) {
      now += ms
      s.setNow(now)
    }
  }
}

/**
 * A plain node:http server on another loopback port, closed when `t` ends, serving `pages`:
 * one HTML text for every path, or `{ '/path': html }`.
 */
async function useOtherOrigin (t, pages) {
  const server = http.createServer((req, res) => {
    const html = typeof pages === 'string' ? pages : pages[req.url.split('?')[0]]
    if (html === undefined) return res.writeHead(404).end()
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
    res.end(html)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.after(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  return `http://127.0.0.1:${server.address().port}`
}

/** The cookie names of a Cookie header (or of `context.cookies()`), in order. */
function cookieNames (header) {
  if (Array.isArray(header)) return header.map((c) => c.name)
  if (!header) return []
  return header.split(';').map((p) => p.trim().split('=')[0]).filter(Boolean)
}

/** Record every request a page (or context) makes with its real headers: `[{method, url, path, cookies, authorization}]`. */
function recordRequests (target) {
  const log = []
  const pending = []
  target.on('request', (request) => {
    pending.push(request.allHeaders().then((h) => {
      const u = new URL(request.url())
      log.push({ method: request.method(), url: request.url(), path: u.pathname, cookies: cookieNames(h.cookie), authorization: h.authorization ?? null })
    }, () => {}))
  })
  /** Wait for the headers of the requests seen so far. */
  log.settle = () => Promise.all(pending.slice())
  return log
}

/** The `#user` text of the page (trimmed). */
async function userOf (page) {
  return (await page.locator('#user').first().textContent()).trim()
}

/** Wait until `#user` shows `expected` (the user id, or "signed out"). */
async function expectUser (page, expected, message) {
  try {
    await page.waitForFunction((want) => {
      const el = document.querySelector('#user')
      return el !== null && el.textContent.trim() === want
    }, expected, { timeout: 5000 })
  } catch {
    assert.equal(await userOf(page).catch(() => '(no #user)'), expected, message || `#user on ${page.url()}`)
  }
}

/** Go to the home page and click "sign in as <who>"; resolves once `#user` shows the user. */
async function signIn (page, base, who = 'alice') {
  await page.goto(base + '/')
  await Promise.all([page.waitForLoadState('load'), page.click(`#signin-${who}`)])
  await expectUser(page, who, `signed in as ${who}`)
}

/** The number shown by `#counter` (on /app). */
async function counterOf (page) {
  const text = (await page.locator('#counter').textContent()).trim()
  const n = Number(text.match(/-?\d+/)?.[0])
  assert.ok(Number.isInteger(n), `#counter shows a number (${JSON.stringify(text)})`)
  return n
}

/** Open /app and wait for its script to have loaded the user (`/api/me`; it then sets `<html data-ready>`). */
async function openApp (page, base, who) {
  await page.goto(base + '/app')
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', null, { timeout: 5000 })
  if (who) await expectUser(page, who)
}

/** Is `r` the final answer to a POST /api/counter (not a `401 TRY_REFRESH` the client retries)? */
async function finalCounterResponse (r) {
  if (new URL(r.url()).pathname !== '/api/counter' || r.request().method() !== 'POST') return false
  if (r.status() !== 401) return true
  const body = await r.json().catch(() => null)
  return !body || body.code !== 'TRY_REFRESH'
}

/** Click `#counter-inc` and resolve with the final `/api/counter` POST response. */
async function clickIncrement (page) {
  const done = page.waitForResponse(finalCounterResponse, { timeout: 10000 })
  await page.click('#counter-inc')
  return done
}

/** Save a full-page screenshot to artifacts/screenshots/<name>.png; returns the path. */
async function screenshot (page, name) {
  fs.mkdirSync(SHOTS, { recursive: true })
  const file = path.join(SHOTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

module.exports = {
  ACCESS_MS,
  ACCESS_COOKIE,
  EXPIRE_MS,
  GRACE_MS,
  REFRESH_COOKIE,
  REFRESH_PATH,
  SHOTS,
  clickIncrement,
  cookieNames,
  counterOf,
  expectUser,
  finalCounterResponse,
  openApp,
  recordRequests,
  screenshot,
  signIn,
  skip,
  useBrowser,
  useDemo,
  useOtherOrigin,
  userOf
}
