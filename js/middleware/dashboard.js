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
const { MAX_USER_ID, isUserIdLength } = require('./user-id.js')
const { redirectNavigation } = require('./transport.js')

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

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Text for HTML (content or a quoted attribute). */
function esc (v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c])
}

function time (ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return '<span class="muted">—</span>'
  const d = new Date(ms)
  const iso = d.toISOString()
  return `<time datetime="${esc(iso)}">${esc(iso.slice(0, 19).replace('T', ' '))} UTC</time>`
}

function deviceCell (d) {
  const ua = d && typeof d.userAgent === 'string' && d.userAgent !== '' ? d.userAgent : null
  return ua === null ? '<span class="muted">unknown</span>' : `<span class="ua" title="${esc(ua)}">${esc(ua)}</span>`
}

function ipCell (d) {
  return d && d.ip ? `<code>${esc(d.ip)}</code>` : '<span class="muted">—</span>'
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2430;background:#f5f6f8}
header{background:#1f2430;color:#fff;padding:14px 24px;display:flex;align-items:center;gap:16px;flex-wrap:wrap}
header h1{font-size:17px;margin:0;font-weight:600}
header .sub{color:#aab1c2;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:20px 24px 48px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:16px 18px;margin:0 0 18px}
h2{font-size:15px;margin:0 0 10px;display:flex;align-items:center;gap:10px;flex-wrap:wrap}
h2 .count{font-weight:400;color:#677085;font-size:13px}
table{width:100%;border-collapse:collapse;font-size:13px}
th,td{text-align:left;padding:7px 8px;border-top:1px solid #eceef2;vertical-align:top}
th{font-weight:600;color:#566074;border-top:0;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
time{white-space:nowrap}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f1f3f6;padding:1px 4px;border-radius:4px}
.ua{display:inline-block;max-width:340px;overflow-wrap:anywhere}
.muted{color:#8a92a3}
.badge{display:inline-block;font-size:11px;padding:1px 7px;border-radius:10px;background:#e8f0fe;color:#1a56c4;margin-left:4px}
.notice{background:#e9f7ef;border:1px solid #b7e2c8;color:#1d6b3f;padding:9px 12px;border-radius:6px;margin:0 0 16px}
.error{background:#fdecec;border-color:#f3c2c2;color:#9b1c1c}
form{margin:0;display:inline}
form.search{display:flex;gap:8px;margin:0}
input[type=search]{padding:6px 9px;border:1px solid #c9ced8;border-radius:6px;font:inherit;min-width:240px}
button{font:inherit;font-size:13px;padding:5px 11px;border-radius:6px;border:1px solid #c9ced8;background:#fff;cursor:pointer}
button:hover{background:#f1f3f6}
button.danger{border-color:#e3a5a5;color:#a61b1b}
button.danger:hover{background:#fdecec}
tr.theft td{background:#fffaf0}
.empty{color:#677085;margin:4px 0}
a{color:#1a56c4}
`

function page (title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`
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
  const authorize = o.authorize ?? (() => false)
  const seen = tracker(s)

  function csrfValid (req, body) {
    const token = field(body, '_csrf')
    const handle = req.session && typeof req.session.id === 'string' ? req.session.id : null
    if (token === null || handle === null || !s.engine) return false
    try {
      return s.engine.verifyCsrfToken(token, handle) === true
    } catch {
      return false
    }
  }

  async function sessionsOf (users) {
    return Promise.all(users.map(async (userId) => ({ userId, sessions: await s.listSessions(userId) })))
  }

  function userSection (base, req, csrf, { userId, sessions }, searched) {
    const own = req.session && req.session.id
    const rows = sessions.map((x) => `<tr data-handle="${esc(x.handle)}">
<td><code title="${esc(x.handle)}">${esc(String(x.handle).slice(0, 8))}…</code>${x.handle === own ? '<span class="badge">you</span>' : ''}</td>
<td>${deviceCell(x.lastDevice)}${x.createdDevice && x.lastDevice && x.createdDevice.userAgent !== x.lastDevice.userAgent ? `<div class="muted">signed in on ${deviceCell(x.createdDevice)}</div>` : ''}</td>
<td>${ipCell(x.lastDevice)}${x.createdDevice && x.lastDevice && x.createdDevice.ip !== x.lastDevice.ip ? `<div class="muted">from ${ipCell(x.createdDevice)}</div>` : ''}</td>
<td>${time(x.createdAt)}</td>
<td>${time(x.lastRefreshAt)}</td>
<td>${time(x.expiresAt)}</td>
<td><form method="post" action="${esc(base)}/revoke"><input type="hidden" name="_csrf" value="${esc(csrf)}"><input type="hidden" name="handle" value="${esc(x.handle)}">${searched ? `<input type="hidden" name="user" value="${esc(userId)}">` : ''}<button type="submit" class="revoke danger">Revoke</button></form></td>
</tr>`).join('\n')
    const all = sessions.length > 1
      ? `<form method="post" action="${esc(base)}/revoke-user"><input type="hidden" name="_csrf" value="${esc(csrf)}"><input type="hidden" name="user" value="${esc(userId)}"><button type="submit" class="revoke-user danger">Revoke all ${sessions.length}</button></form>`
      : ''
    return `<section class="user" data-user="${esc(userId)}">
<h2>${esc(userId)} <span class="count">${sessions.length} active session${sessions.length === 1 ? '' : 's'}</span> ${all}</h2>
${sessions.length === 0
    ? '<p class="empty">No active session.</p>'
    : `<table><thead><tr><th>Session</th><th>Device (last seen)</th><th>IP</th><th>Created</th><th>Last refresh</th><th>Expires</th><th></th></tr></thead>
<tbody>
${rows}
</tbody></table>`}
</section>`
  }

  function theftSection () {
    const list = seen.thefts
    const rows = list.map((e) => `<tr class="theft" data-handle="${esc(e.handle)}">
<td>${time(e.at)}</td>
<td>${e.userId === null || e.userId === undefined ? '<span class="muted">anonymous</span>' : esc(e.userId)}</td>
<td><code title="${esc(e.handle)}">${esc(String(e.handle).slice(0, 8))}…</code></td>
<td>${deviceCell(e.lastDevice)}<div>${ipCell(e.lastDevice)}</div></td>
<td>${deviceCell(e.presenter)}<div>${ipCell(e.presenter)}</div></td>
</tr>`).join('\n')
    return `<section id="thefts">
<h2>Recent token theft <span class="count">${list.length === 0 ? 'none seen by this process' : `last ${list.length} in this process, newest first`}</span></h2>
${list.length === 0
    ? '<p class="empty">No reused refresh token since this process started.</p>'
    : `<table><thead><tr><th>When</th><th>User</th><th>Session</th><th>Last refreshed by</th><th>Reused token presented by</th></tr></thead>
<tbody>
${rows}
</tbody></table>`}
</section>`
  }

  async function show (req, res, base, query, head) {
    const csrf = req.session && typeof req.session.csrfToken === 'function' ? req.session.csrfToken() : null
    const raw = query.get('user')
    const user = raw === null ? null : raw.trim()
    const notice = NOTICES[query.get('done')]
    let body
    if (user !== null && user !== '') {
      if (!isUserIdLength(user)) {
        body = `<section class="notice error">A user id is 1 to ${MAX_USER_ID} characters.</section>`
      } else {
        const [one] = await sessionsOf([user])
        body = userSection(base, req, csrf, one, true)
      }
    } else {
      const users = [...seen.users.keys()].reverse().slice(0, USERS_LISTED)
      const lists = await sessionsOf(users)
      const active = lists.filter((u) => u.sessions.length > 0)
      const idle = lists.filter((u) => u.sessions.length === 0)
      body = active.length === 0
        ? '<section><p class="empty">No active session among the users this process has seen. Search for a user id above.</p></section>'
        : active.map((u) => userSection(base, req, csrf, u, false)).join('\n')
      if (idle.length > 0) {
        body += `\n<section><h2>Seen, no active session <span class="count">${idle.length}</span></h2><p>${idle.map((u) => `<a href="${esc(base)}/?user=${esc(encodeURIComponent(u.userId))}">${esc(u.userId)}</a>`).join(', ')}</p></section>`
      }
      body += `\n${theftSection()}`
    }
    const searchValue = user ?? ''
    send(res, 200, page('Sessions', `<header><h1>Sessions</h1><span class="sub">users seen by this process since it started; search any user id</span>
<form class="search" method="get" action="${esc(base)}/"><input type="search" name="user" placeholder="user id" aria-label="user id" value="${esc(searchValue)}" maxlength="${MAX_USER_ID}"><button type="submit">Search</button>${searchValue !== '' ? ` <a href="${esc(base)}/" style="color:#cdd3e0;align-self:center">all users</a>` : ''}</form>
</header>
<main>
${notice ? `<p class="notice">${esc(notice)}</p>` : ''}
${body}
</main>`), head)
  }

  function back (base, user, done) {
    const q = new URLSearchParams()
    if (user) q.set('user', user)
    if (done) q.set('done', done)
    const qs = q.toString()
    return base + '/' + (qs === '' ? '' : '?' + qs)
  }

  async function handle (req, res, next) {
    const { path, query } = parseUrl(req)
    const base = typeof req.baseUrl === 'string' ? req.baseUrl : ''
    const method = req.method
    const route = (method === 'GET' || method === 'HEAD') && path === '/'
      ? 'show'
      : method === 'POST' && (path === '/revoke' || path === '/revoke-user') ? path.slice(1) : null
    if (route === null) return next()
    if (!(await authorize(req))) {
      return send(res, 403, page('Forbidden', '<main><section><h2>403 Forbidden</h2><p>You may not see the sessions dashboard.</p></section></main>'), method === 'HEAD')
    }
    if (route === 'show') return show(req, res, base, query, method === 'HEAD')
    const body = await formBody(req)
    if (!csrfValid(req, body)) {
      return send(res, 403, page('Forbidden', '<main><section><h2>403 Forbidden</h2><p>The form was stale or not from this page (CSRF token missing or invalid). Go back and try again.</p></section></main>'))
    }
    const user = field(body, 'user')
    const returnUser = isUserIdLength(user) ? user : null
    if (route === 'revoke') {
      const h = field(body, 'handle')
      if (h === null || !HANDLE.test(h)) {
        return send(res, 400, page('Bad request', '<main><section><h2>400 Bad request</h2><p>No session handle.</p></section></main>'))
      }
      const existed = await s.revokeSession(h)
      return redirectNavigation(res, false, back(base, returnUser, existed ? 'revoked' : 'gone'))
    }
    if (returnUser === null) {
      return send(res, 400, page('Bad request', '<main><section><h2>400 Bad request</h2><p>No user id.</p></section></main>'))
    }
    await s.revokeUserSessions(returnUser)
    return redirectNavigation(res, false, back(base, returnUser, 'user-revoked'))
  }

  return function sessionsDashboard (req, res, next) {
    const done = typeof next === 'function'
      ? next
      : (err) => { // a bare node:http server
          if (res.headersSent) return res.end()
          res.statusCode = err ? (err.status || 500) : 404
          res.setHeader('Cache-Control', 'no-store')
          res.end(err ? 'Internal error' : 'Not found')
        }
    handle(req, res, done).catch((e) => {
      if (e && typeof e === 'object' && e.status === undefined && e.code === 'STORE_UNAVAILABLE') e.status = 503
      done(e)
    })
  }
}

module.exports = { dashboard, track: tracker, escapeHtml: esc }
