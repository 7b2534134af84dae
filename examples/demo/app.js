'use strict'

/**
 * The tandem-session demo: `createDemo(options)` → `{ app, session }`.
 *
 * `options` go over the demo's defaults to `session()` (tests pass `store` and
 * `fixedNow`). Pages: `/` (sign in as alice or bob), `/server` (server-rendered counter),
 * `/app` (API-driven, through the browser client helper), `/devices` (your sessions,
 * revoke, sign out everywhere), `/theft` (a token-theft detection walkthrough, run on
 * the server with the demo's own engine) and `/admin/sessions` (the sessions dashboard,
 * for alice). `server.js` runs it on http://127.0.0.1:3000.
 */

const crypto = require('node:crypto')
const fs = require('node:fs')
const path = require('node:path')
const express = require('express')

const session = require('../..')
const views = require('./views.js')

/** A fixed secret so the demo's SQLite file stays usable across restarts. Not for production. */
const DEMO_SECRET = 'tandem-session demo secret: public, never use it in production'
const USERS = ['alice', 'bob']
const CLIENT_FILE = path.resolve(__dirname, '../../client/index.js')
const ASSETS = path.join(__dirname, 'assets')
/** Walkthrough results kept for the page that shows them. */
const RUNS_KEPT = 50
const MAX_CONCURRENT_RUNS = 4
/** Per-session refresh facts kept for the pages. */
const REFRESHES_KEPT = 10000

const DEFAULTS = {
  secret: DEMO_SECRET,
  saveUninitialized: false, // a session is stored once it holds something (a login)
  accessTokenMaxAge: 30000, // 30 s: refresh is visible
  leeway: 1000,
  refreshGrace: 2000 // so the theft walkthrough waits 2 s, not 10
}

function wrap (fn) {
  return (req, res, next) => Promise.resolve().then(() => fn(req, res, next)).catch(next)
}

/** A same-origin path, or null. */
function localPath (to) {
  return typeof to === 'string' && /^\/(?![/\\])[\x21-\x7e]*$/.test(to) ? to : null
}

/**
 * The theft walkthrough, on the engine: returns the steps with their HTTP-like outcomes.
 * @param {object} engine the demo's Engine
 * @param {number} grace refreshGrace (ms)
 * @param {(ms: number, token: string) => Promise<void>} pass let `ms` of server time go by
 */
async function theftWalkthrough (engine, grace, pass) {
  const victim = { ip: '198.51.100.23', userAgent: "Victim's browser (Mozilla/5.0, demo)" }
  const thief = { ip: '203.0.113.66', userAgent: "Thief's laptop (curl/8.5, demo)" }
  const userId = 'theft-demo-' + crypto.randomBytes(3).toString('hex')
  const steps = []
  const accessOutcome = (token) => {
    try {
      engine.verifyAccessToken(token)
      return { status: 200, response: '200 OK  {"userId": …}' }
    } catch (e) {
      const code = e.code === 'TOKEN_THEFT_DETECTED' ? e.code : 'UNAUTHORISED'
      return { status: 401, response: `401 Unauthorized  {"code":"${code}"}` }
    }
  }
  const refreshOutcome = (r) => r.outcome === 'refreshed'
    ? { status: 200, response: '200 OK  Set-Cookie: new access token, new refresh token' }
    : { status: 401, response: `401 Unauthorized  {"code":"${r.outcome === 'theft' ? 'TOKEN_THEFT_DETECTED' : r.code === 'TOKEN_THEFT_DETECTED' ? r.code : 'UNAUTHORISED'}"}  Set-Cookie: cleared` }

  const first = await engine.create({ userId, data: {}, device: victim })
  steps.push({
    actor: 'victim',
    title: 'The victim signs in.',
    request: 'POST /login',
    status: 200,
    response: '200 OK  Set-Cookie: access token, refresh token #1',
    note: `A new session (${first.handle.slice(0, 8)}…) for ${userId}.`
  })
  steps.push({
    actor: 'thief',
    title: 'The thief copies the cookies (malware, a synced profile, a stolen backup).',
    status: null,
    note: 'Both now hold refresh token #1. The server cannot tell them apart yet.'
  })
  const byThief = await engine.refresh(first.refreshToken, thief)
  steps.push({
    actor: 'thief',
    title: 'The thief refreshes first, with refresh token #1.',
    request: 'POST /session/refresh   Cookie: refresh token #1',
    ...refreshOutcome(byThief),
    note: 'Token #1 is rotated: the thief now holds #2, and the server remembers that #1 was used.'
  })
  await pass(grace + 100, first.accessToken)
  steps.push({
    actor: 'clock',
    title: `The grace window passes (${grace / 1000} s).`,
    status: null,
    note: 'Within it, token #1 would still get the same successor: two tabs refreshing at once, or a retried request, are not theft. After it, #1 is only a copy.'
  })
  const byVictim = await engine.refresh(first.refreshToken, victim)
  steps.push({
    actor: 'victim',
    title: "The victim's browser refreshes with its refresh token #1.",
    request: 'POST /session/refresh   Cookie: refresh token #1',
    ...refreshOutcome(byVictim),
    note: byVictim.outcome === 'theft'
      ? `A retired token came back: theft. The session is revoked (last refreshed from ${byVictim.theft.lastDevice.ip}, reused from ${byVictim.theft.presenter.ip}). Over HTTP the middleware also emits its "theft" event; this walkthrough calls the engine directly, so copy your cookies into another browser to see one on the dashboard.`
      : 'Expected a theft verdict here.'
  })
  const thiefAgain = byThief.outcome === 'refreshed' ? await engine.refresh(byThief.tokens.refreshToken, thief) : { outcome: 'refused', code: 'UNAUTHORISED' }
  steps.push({
    actor: 'thief',
    title: 'The thief refreshes with its refresh token #2.',
    request: 'POST /session/refresh   Cookie: refresh token #2',
    ...refreshOutcome(thiefAgain),
    note: 'The whole session is gone, so the newest token is worthless too.'
  })
  const thiefApi = byThief.outcome === 'refreshed' ? accessOutcome(byThief.tokens.accessToken) : { status: 401, response: '401 Unauthorized' }
  steps.push({
    actor: 'thief',
    title: 'The thief calls the API with the access token it got.',
    request: 'GET /api/me   Cookie: access token (from the refresh of #1)',
    ...thiefApi,
    note: 'Refused at once in this process: the revocation is known without a store lookup.'
  })
  const victimApi = accessOutcome(first.accessToken)
  steps.push({
    actor: 'victim',
    title: 'The victim calls the API.',
    request: 'GET /api/me   Cookie: access token (from the sign-in)',
    ...victimApi,
    note: 'The victim signs in again and gets a fresh session; nothing the thief holds opens it.'
  })
  const bothRefused = byVictim.outcome === 'theft' && thiefAgain.outcome !== 'refreshed' &&
    thiefApi.status === 401 && victimApi.status === 401
  return { userId, handle: first.handle, steps, bothRefused }
}

/**
 * Build the demo app.
 * @param {object} [options] session() options over the demo defaults
 * @returns {{app: import('express').Express, session: Function}}
 */
function createDemo (options = {}) {
  const settings = { ...DEFAULTS, ...options }
  const s = session(settings)
  const fixedClock = settings.fixedNow !== undefined
  const accessSeconds = Math.round(settings.accessTokenMaxAge / 1000)
  const refreshPath = settings.refreshPath ?? '/session/refresh'
  const storeName = !settings.store
    ? 'SqliteStore (.tandem-session/sessions.sqlite3)'
    : settings.store.constructor.name + (typeof settings.store.path === 'string' ? ` (${path.relative(process.cwd(), settings.store.path)})` : '')

  // Refreshes per session, for the pages (this process only).
  const refreshes = new Map()
  s.on('refreshed', ({ handle }) => {
    const r = refreshes.get(handle) ?? { count: 0, at: null }
    refreshes.delete(handle)
    refreshes.set(handle, { count: r.count + 1, at: Date.now() })
    if (refreshes.size > REFRESHES_KEPT) refreshes.delete(refreshes.keys().next().value)
  })
  s.on('revoked', ({ handle }) => refreshes.delete(handle))
  const refreshesOf = (handle) => refreshes.get(handle) ?? { count: 0, at: null }

  const runs = new Map()
  let running = 0

  const app = express()
  app.disable('x-powered-by')
  app.set('etag', false)

  // Static files first: no session work for them.
  app.get('/assets/tandem-client.js', (req, res, next) => {
    fs.stat(CLIENT_FILE, (err) => {
      if (err) return next() // the client helper is not built into this checkout
      res.sendFile(CLIENT_FILE, { headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' } })
    })
  })
  app.use('/assets', express.static(ASSETS, { fallthrough: false, index: false, maxAge: 0 }))

  app.use((req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'same-origin') // not no-referrer: form posts would carry Origin: null
    res.setHeader('X-Frame-Options', 'DENY')
    next()
  })
  // Parsed before the session middleware, so it checks the forms' _csrf field.
  app.use(express.urlencoded({ extended: false, limit: '8kb' }))
  app.use(express.json({ limit: '8kb' }))
  app.use(s)

  const view = (req, title, body, extra = {}) => views.layout({
    title,
    path: req.path,
    userId: req.session ? req.session.owner : null,
    csrf: req.session ? req.session.csrfToken() : null,
    body,
    footer: views.html`tandem-session demo · access token ${accessSeconds} s · refresh grace ${settings.refreshGrace / 1000} s · store: ${storeName}${fixedClock ? ' · test clock' : ''}`,
    ...extra
  })
  const send = (res, page, status = 200) => {
    res.status(status).type('html').set('Cache-Control', 'no-store').send(String(page))
  }
  const userOf = (req) => (req.session ? req.session.owner : null)

  const NOTICES = {
    'signed-in': (req) => ({ text: `Signed in as ${userOf(req)}: a new session with new tokens.` }),
    'signed-out': () => ({ text: 'Signed out: the session is revoked and both cookies are cleared.', kind: 'info' }),
    everywhere: () => ({ text: 'Signed out everywhere: every session of your user is revoked.', kind: 'info' }),
    revoked: () => ({ text: 'Session revoked: its next request will be refused.' }),
    gone: () => ({ text: 'That session had already ended.', kind: 'info' })
  }
  const noticeOf = (req) => {
    const n = NOTICES[req.query.done]
    return n ? n(req) : null
  }

  app.get('/', (req, res) => {
    send(res, view(req, 'Home', views.homePage({
      userId: userOf(req),
      sessionId: req.session ? req.session.id : null,
      csrf: req.session ? req.session.csrfToken() : null,
      users: USERS,
      accessSeconds,
      refreshPath,
      refreshes: refreshesOf(req.session && req.session.id)
    }), { notice: noticeOf(req) }))
  })

  app.post('/login', wrap(async (req, res) => {
    const user = req.body && req.body.user
    if (!USERS.includes(user)) return send(res, view(req, 'Bad request', views.forbiddenPage({ status: 400, message: 'Unknown demo user.' })), 400)
    // Data put in an anonymous session (the /server counter) comes along; another user's does not.
    await req.session.create(user, { keepData: req.session.owner === null })
    res.redirect(303, localPath(req.body.to) ?? '/?done=signed-in')
  }))

  app.post('/logout', wrap(async (req, res) => {
    if (req.session) await req.session.destroy()
    res.redirect(303, '/?done=signed-out')
  }))

  app.get('/server', (req, res) => {
    req.session.views = (req.session.views || 0) + 1
    const { cookie, ...data } = req.session // the cookie's attributes are not the app's data
    send(res, view(req, 'Server page', views.serverPage({
      userId: userOf(req),
      sessionId: req.session.id,
      views: req.session.views,
      data,
      accessSeconds,
      refreshPath,
      refreshes: refreshesOf(req.session.id)
    })))
  })

  app.get('/app', (req, res) => {
    send(res, view(req, 'API page', views.appPage({ counter: req.session.counter || 0 })))
  })

  app.get('/api/me', (req, res) => {
    const s2 = req.session
    res.set('Cache-Control', 'no-store').json({
      userId: s2 ? s2.owner : null,
      sessionId: s2 ? s2.id : null,
      counter: (s2 && s2.counter) || 0,
      views: (s2 && s2.views) || 0
    })
  })

  app.post('/api/counter', (req, res) => {
    req.session.counter = (req.session.counter || 0) + 1
    res.set('Cache-Control', 'no-store').json({ counter: req.session.counter, userId: req.session.owner })
  })

  app.get('/devices', wrap(async (req, res) => {
    const userId = userOf(req)
    const sessions = userId === null ? [] : await s.listSessions(userId)
    send(res, view(req, 'Your devices', views.devicesPage({
      userId,
      sessionId: req.session ? req.session.id : null,
      csrf: req.session ? req.session.csrfToken() : null,
      users: USERS,
      sessions
    }), { notice: noticeOf(req) }))
  }))

  app.post('/devices/revoke', wrap(async (req, res) => {
    const userId = userOf(req)
    if (userId === null) return res.redirect(303, '/devices')
    const handle = req.body && req.body.handle
    if (handle === req.session.id) {
      await req.session.destroy()
      return res.redirect(303, '/?done=signed-out')
    }
    // Only the user's own sessions: a handle from elsewhere revokes nothing.
    const mine = (await s.listSessions(userId)).some((x) => x.handle === handle)
    const revoked = mine && await s.revokeSession(handle)
    res.redirect(303, revoked ? '/devices?done=revoked' : '/devices?done=gone')
  }))

  app.post('/devices/revoke-all', wrap(async (req, res) => {
    const userId = userOf(req)
    if (userId === null) return res.redirect(303, '/devices')
    await s.revokeUserSessions(userId, { except: req.session.id })
    await req.session.destroy()
    res.redirect(303, '/?done=everywhere')
  }))

  app.get('/theft', (req, res) => {
    const id = typeof req.query.run === 'string' ? req.query.run : null
    const run = id === null ? null : runs.get(id) ?? null
    send(res, view(req, 'Token theft', views.theftPage({
      run,
      missing: id !== null && run === null,
      csrf: req.session ? req.session.csrfToken() : null,
      graceSeconds: settings.refreshGrace / 1000,
      fixedClock
    })))
  })

  app.post('/theft', wrap(async (req, res) => {
    if (running >= MAX_CONCURRENT_RUNS) {
      return send(res, view(req, 'Busy', views.forbiddenPage({ status: 429, message: 'Walkthroughs are running; try again in a few seconds.' })), 429)
    }
    running++
    let run
    try {
      // A real clock waits the grace window out; a test clock (fixedNow) is moved past it.
      // The engine's time is read from a token it just signed (whole seconds: +999 ms is
      // never behind it), so tests that move the clock themselves are never moved back.
      const pass = fixedClock
        ? async (ms, token) => { s.setNow(s.engine.verifyAccessToken(token).iat * 1000 + 999 + ms) }
        : (ms) => new Promise((resolve) => setTimeout(resolve, ms))
      run = await theftWalkthrough(s.engine, settings.refreshGrace, pass)
    } finally {
      running--
    }
    const id = crypto.randomBytes(12).toString('base64url')
    runs.set(id, run)
    if (runs.size > RUNS_KEPT) runs.delete(runs.keys().next().value)
    res.redirect(303, '/theft?run=' + id)
  }))

  const dashboardOptions = { authorize: (req) => Boolean(req.session && req.session.owner === 'alice') }
  app.use('/admin/sessions', s.dashboard(dashboardOptions))

  app.use((req, res) => {
    if (req.path.startsWith('/api/')) return res.status(404).json({ code: 'NOT_FOUND' })
    send(res, view(req, 'Not found', views.forbiddenPage({ status: 404, message: 'No such page.' })), 404)
  })

  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const status = err.status || err.statusCode || 500
    if (status >= 500) console.error('demo: %s', (err && (err.code || err.message)) || err)
    if (res.headersSent) return res.end()
    if (req.path.startsWith('/api/')) return res.status(status).json({ code: err.code || 'INTERNAL' })
    const message = err.code === 'STORE_UNAVAILABLE' ? 'The session store is unavailable; try again.' : status === 404 ? 'Not found.' : status < 500 ? 'Bad request.' : 'Something went wrong.'
    res.status(status).type('html').set('Cache-Control', 'no-store').send(`<!doctype html><meta charset="utf-8"><title>${status}</title><link rel="stylesheet" href="/assets/style.css"><main class="wrap"><h1>${status}</h1><p>${views.escapeHtml(message)}</p><p><a href="/">Home</a></p></main>`)
  })

  return { app, session: s }
}

module.exports = { createDemo, theftWalkthrough, DEMO_SECRET, USERS }
