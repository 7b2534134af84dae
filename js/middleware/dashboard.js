'use strict'

/**
 * `s.dashboard({ authorize })`: the sessions dashboard, a `(req, res, next)` handler the
 * app mounts (`app.use('/admin/sessions', s.dashboard({ authorize }))`).
 *
 * - `GET /`: an HTML page (inline CSS, no script, no external asset) with the active
 *   sessions of the users this process has seen since it started (from the `created`,
 *   `refreshed` and `theft` events; the store has no "every user" query), a `?user=`
 *   search for any user id, and the last 50 theft events seen by this process, newest
 *   first;
 * - `POST /revoke` (form field `handle`) and `POST /revoke-user` (field `user`): revoke,
 *   then `303` back to the page. Both need the `_csrf` field of the page
 *   (`req.session.csrfToken()`), whatever the session middleware already checked.
 *
 * `authorize(req)` (sync or async) must return a truthy value for anything to happen:
 * by default nobody may (`403`). Every value on the page is HTML-escaped (user agents and
 * user ids come from clients), every answer is `Cache-Control: no-store`, and the page
 * forbids scripts, framing and foreign form targets in its Content-Security-Policy.
 * Works behind Express (mount path from `req.baseUrl`) and on a bare `node:http` server.
 * @public
 */

const { setBounded } = require('./bounded.js')
const { MAX_USER_ID_LENGTH } = require('../engine.js')
const { redirectNavigation } = require('./transport.js')
const { messagePage, sessionsPage, overviewBody, userSection, searchError } = require('./dashboard-html.js')

/** A user id the page may look up: 1 to MAX_USER_ID_LENGTH characters (the core's limit). */
function isUserIdLength (u) {
  return typeof u === 'string' && u.length > 0 && u.length <= MAX_USER_ID_LENGTH
}

/** Theft events kept (per session() object). */
const THEFTS_KEPT = 50
/** Users remembered (the least recently seen are forgotten first). */
const USERS_KEPT = 1000
/** Users whose sessions one page lists. */
const USERS_LISTED = 100
const BODY_LIMIT = 16 * 1024
const HANDLE = /^[A-Za-z0-9_-]{22}$/
const NOTICES = {
  revoked: 'The session was revoked: its next request is refused.',
  gone: 'That session had already ended.',
  'user-revoked': "The user's sessions were revoked."
}

/**
 * What each session() object has seen: users, thefts. One per object, shared by its
 * dashboards; recording starts with the first `dashboard()` (or `track()`) call.
 */
const trackers = new WeakMap()

function tracker (s) {
  let t = trackers.get(s)
  if (t !== undefined) return t
  t = { users: new Map(), thefts: [] }
  const seen = (e) => {
    if (!e || typeof e.userId !== 'string' || e.userId === '') return
    setBounded(t.users, e.userId, Date.now(), USERS_KEPT) // the Map's order: least recently seen first
  }
  s.on('created', seen)
  s.on('refreshed', seen)
  s.on('theft', (e) => {
    if (!e || typeof e !== 'object') return
    t.thefts.unshift({ at: Date.now(), handle: e.handle, userId: e.userId, lastDevice: e.lastDevice, presenter: e.presenter })
    if (t.thefts.length > THEFTS_KEPT) t.thefts.length = THEFTS_KEPT
    seen(e)
  })
  trackers.set(s, t)
  return t
}

function send (res, status, html, head) {
  res.statusCode = status
  res.setHeader('Content-Type', 'text/html; charset=utf-8')
  res.setHeader('Cache-Control', 'no-store')
  res.setHeader('X-Content-Type-Options', 'nosniff')
  // No script at all; forms only to this origin; never in a frame. (Not `no-referrer`:
  // a browser then sends `Origin: null` with the form posts, which CSRF checks refuse.)
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
  res.setHeader('Referrer-Policy', 'same-origin')
  res.setHeader('X-Frame-Options', 'DENY')
  res.end(head ? undefined : html)
}

/** The request's own URL under the mount point: `{path, query}`. */
function parseUrl (req) {
  const u = new URL(req.url || '/', 'http://dashboard.invalid')
  const path = u.pathname === '' ? '/' : u.pathname
  return { path, query: u.searchParams }
}

/** The form fields of a POST: the body a parser already read, else read here (urlencoded). */
async function formBody (req) {
  if (req.body !== undefined && req.body !== null && typeof req.body === 'object' && !Buffer.isBuffer(req.body)) return req.body
  const type = String(req.headers['content-type'] || '').split(';')[0].trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded' || req.readableEnded || req.complete) return {}
  let text = ''
  for await (const chunk of req) {
    text += chunk
    if (text.length > BODY_LIMIT) {
      const e = new Error('form body too large')
      e.status = 413
      e.code = 'BODY_TOO_LARGE'
      throw e
    }
  }
  return Object.fromEntries(new URLSearchParams(text))
}

function field (body, name) {
  const v = body[name]
  return typeof v === 'string' ? v : null
}

/** Where a form goes back to: the page, with the searched user and what was done. */
function back (base, user, done) {
  const q = new URLSearchParams()
  if (user) q.set('user', user)
  if (done) q.set('done', done)
  const qs = q.toString()
  return base + '/' + (qs === '' ? '' : '?' + qs)
}

/** The dashboard of one `session()` object: its routes, its checks, its page. */
class Dashboard {
  constructor (s, authorize) {
    this.s = s
    this.authorize = authorize
    this.seen = tracker(s)
  }

  /** The form's `_csrf` is the viewer's session's token. */
  csrfValid (req, body) {
    const token = field(body, '_csrf')
    const handle = req.session && typeof req.session.id === 'string' ? req.session.id : null
    const engine = this.s.engine
    if (token === null || handle === null || !engine) return false
    try {
      return engine.verifyCsrfToken(token, handle) === true
    } catch {
      return false
    }
  }

  async sessionsOf (users) {
    return Promise.all(users.map(async (userId) => ({ userId, sessions: await this.s.listSessions(userId) })))
  }

  /** GET /: one searched user, or every user seen (most recent first) and the thefts. */
  async show (req, res, base, query, head) {
    const csrf = req.session && typeof req.session.csrfToken === 'function' ? req.session.csrfToken() : null
    const own = req.session && req.session.id
    const raw = query.get('user')
    const user = raw === null ? null : raw.trim()
    let body
    if (user !== null && user !== '') {
      if (!isUserIdLength(user)) {
        body = searchError(MAX_USER_ID_LENGTH)
      } else {
        const [one] = await this.sessionsOf([user])
        body = userSection(base, own, csrf, one, true)
      }
    } else {
      const users = [...this.seen.users.keys()].reverse().slice(0, USERS_LISTED)
      body = overviewBody(base, own, csrf, await this.sessionsOf(users), this.seen.thefts)
    }
    send(res, 200, sessionsPage(base, user ?? '', NOTICES[query.get('done')], body, MAX_USER_ID_LENGTH), head)
  }

  /** POST /revoke (field `handle`) and /revoke-user (field `user`), then 303 back. */
  async revoke (route, req, res, base) {
    const body = await formBody(req)
    if (!this.csrfValid(req, body)) {
      return send(res, 403, messagePage('Forbidden', '403 Forbidden', 'The form was stale or not from this page (CSRF token missing or invalid). Go back and try again.'))
    }
    const user = field(body, 'user')
    const returnUser = isUserIdLength(user) ? user : null
    if (route === 'revoke') {
      const h = field(body, 'handle')
      if (h === null || !HANDLE.test(h)) return send(res, 400, messagePage('Bad request', '400 Bad request', 'No session handle.'))
      const existed = await this.s.revokeSession(h)
      return redirectNavigation(res, false, back(base, returnUser, existed ? 'revoked' : 'gone'))
    }
    if (returnUser === null) return send(res, 400, messagePage('Bad request', '400 Bad request', 'No user id.'))
    await this.s.revokeUserSessions(returnUser)
    return redirectNavigation(res, false, back(base, returnUser, 'user-revoked'))
  }

  async handle (req, res, next) {
    const { path, query } = parseUrl(req)
    const base = typeof req.baseUrl === 'string' ? req.baseUrl : ''
    const method = req.method
    const route = (method === 'GET' || method === 'HEAD') && path === '/'
      ? 'show'
      : method === 'POST' && (path === '/revoke' || path === '/revoke-user') ? path.slice(1) : null
    if (route === null) return next()
    if (!(await this.authorize(req))) {
      return send(res, 403, messagePage('Forbidden', '403 Forbidden', 'You may not see the sessions dashboard.'), method === 'HEAD')
    }
    if (route === 'show') return this.show(req, res, base, query, method === 'HEAD')
    return this.revoke(route, req, res, base)
  }
}

/** Express's `next`, or, on a bare node:http server, a plain 404 / 500. */
function doneFor (res, next) {
  if (typeof next === 'function') return next
  return (err) => {
    if (res.headersSent) return res.end()
    res.statusCode = err ? (err.status || 500) : 404
    res.setHeader('Cache-Control', 'no-store')
    res.end(err ? 'Internal error' : 'Not found')
  }
}

/**
 * The dashboard handler.
 * @param {object} s the object `session()` returns (events, listSessions, revokeSession, …)
 * @param {{authorize?: (req: object) => unknown}} [options]
 * @returns {(req: object, res: object, next?: Function) => void}
 */
function dashboard (s, options) {
  if ((typeof s !== 'function' && (typeof s !== 'object' || s === null)) ||
      typeof s.on !== 'function' || typeof s.listSessions !== 'function' || typeof s.revokeSession !== 'function') {
    throw new TypeError('dashboard() needs the object session() returns')
  }
  const o = options ?? {}
  if (typeof o !== 'object') throw new TypeError('dashboard options must be an object')
  if (o.authorize !== undefined && typeof o.authorize !== 'function') {
    throw new TypeError('authorize option must be a function (req) => boolean (or a promise of one)')
  }
  const board = new Dashboard(s, o.authorize ?? (() => false))
  return function sessionsDashboard (req, res, next) {
    const done = doneFor(res, next)
    board.handle(req, res, done).catch((e) => {
      if (e && typeof e === 'object' && e.status === undefined && e.code === 'STORE_UNAVAILABLE') e.status = 503
      done(e)
    })
  }
}

module.exports = { dashboard, track: tracker }
