'use strict'

/**
 * The demo's pages: small template functions, no template engine. `html` is a tagged
 * template that HTML-escapes every interpolated value unless it is already `html` (or
 * `raw`), so a user agent or a user id can never become markup.
 */

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

class Html {
  constructor (text) { this.text = text }
  toString () { return this.text }
}

function escapeHtml (v) {
  return String(v).replace(/[&<>"']/g, (c) => ESCAPES[c])
}

function render (v) {
  if (v instanceof Html) return v.text
  if (Array.isArray(v)) return v.map(render).join('')
  if (v === null || v === undefined || v === false) return ''
  return escapeHtml(v)
}

/** A template whose values are escaped. */
function html (strings, ...values) {
  let out = strings[0]
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]
  return new Html(out)
}

/** Trusted markup, as is. */
function raw (text) {
  return new Html(String(text))
}

const NAV = [
  ['/', 'Home'],
  ['/server', 'Server page'],
  ['/app', 'API page'],
  ['/devices', 'Devices'],
  ['/theft', 'Theft'],
  ['/admin/sessions', 'Dashboard']
]

/** "Chrome on Linux" from a user agent (good enough for a device list). */
function deviceName (ua) {
  if (typeof ua !== 'string' || ua === '') return 'Unknown device'
  const browser = /Edg\//.test(ua)
    ? 'Edge'
    : /HeadlessChrome\//.test(ua)
      ? 'Headless Chrome'
      : /OPR\//.test(ua)
        ? 'Opera'
        : /Firefox\//.test(ua)
          ? 'Firefox'
          : /Chrom(e|ium)\//.test(ua)
            ? 'Chrome'
            : /Safari\//.test(ua)
              ? 'Safari'
              : /curl\//i.test(ua) ? 'curl' : null
  const os = /Android/.test(ua)
    ? 'Android'
    : /iPhone|iPad|iPod/.test(ua)
      ? 'iOS'
      : /Windows/.test(ua)
        ? 'Windows'
        : /Mac OS X|Macintosh/.test(ua)
          ? 'macOS'
          : /CrOS/.test(ua) ? 'ChromeOS' : /Linux/.test(ua) ? 'Linux' : null
  if (browser && os) return `${browser} on ${os}`
  if (browser) return browser
  return ua.length > 40 ? ua.slice(0, 40) + '…' : ua
}

function time (ms) {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return html`<span class="muted">—</span>`
  const iso = new Date(ms).toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`
}

function short (handle) {
  return typeof handle === 'string' ? handle.slice(0, 8) + '…' : '—'
}

function csrfField (csrf) {
  return csrf ? html`<input type="hidden" name="_csrf" value="${csrf}">` : ''
}

/**
 * The page frame.
 * @param {object} v `{title, path, userId, csrf, notice, body, footer, head}`
 */
function layout (v) {
  const signedIn = typeof v.userId === 'string'
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${v.title} · tandem-session demo</title>
<link rel="stylesheet" href="/assets/style.css">
<link rel="icon" href="data:,">
${v.csrf ? html`<meta name="csrf-token" content="${v.csrf}">` : ''}
${v.head || ''}
</head>
<body>
<header class="topbar"><div class="wrap">
<a class="brand" href="/"><span class="logo">⟲</span>tandem-session <span class="tag">demo</span></a>
<nav>${NAV.map(([href, label]) => html`<a href="${href}"${v.path === href ? raw(' aria-current="page"') : ''}>${label}</a>`)}</nav>
<div class="who">
${signedIn
    ? html`<span id="user">${v.userId}</span>
<form method="post" action="/logout">${csrfField(v.csrf)}<button id="signout" class="ghost" type="submit">Sign out</button></form>`
    : html`<span id="user" class="signed-out">signed out</span>`}
</div>
</div></header>
<main class="wrap">
${v.notice ? html`<p class="notice ${v.notice.kind || ''}" id="notice">${v.notice.text}</p>` : ''}
${v.body}
</main>
<footer class="wrap">${v.footer || ''}</footer>
</body>
</html>
`
}

function signInForms (csrf, userId, users) {
  return users.map((u) => html`<form method="post" action="/login" class="inline">${csrfField(csrf)}<input type="hidden" name="user" value="${u}"><button type="submit" id="signin-${u}" class="${userId === u ? 'secondary big' : 'big'}"><span class="avatar">${u[0]}</span>${userId === null ? 'Sign in as ' : userId === u ? 'Sign in again as ' : 'Switch to '}${u}</button></form>`)
}

function homePage (v) {
  const signedIn = typeof v.userId === 'string'
  return html`<h1>Dual-token sessions, in a browser</h1>
<p class="lead">A short-lived access token (here ${v.accessSeconds} s, so you can watch it expire) travels with every request and is verified with no store lookup; a rotating refresh token goes only to <code>${v.refreshPath}</code>. Both are HttpOnly cookies: no script on these pages can read them.</p>
<section class="card">
<div class="spread">
<div>
<h2>${signedIn ? html`Signed in as ${v.userId}` : 'Sign in'}</h2>
<p class="muted small" style="margin:0">${signedIn ? 'Every sign-in makes a new session with new tokens and revokes the old one.' : 'Demo users, no password. Signing in makes a new session with new tokens.'}</p>
</div>
<div class="row">${signInForms(v.csrf, v.userId, v.users)}</div>
</div>
</section>
${signedIn
    ? html`<section class="card"><h2>This session</h2><table class="kv">
<tr><th>User</th><td>${v.userId}</td></tr>
<tr><th>Session handle</th><td><code title="${v.sessionId}">${short(v.sessionId)}</code> <span class="muted small">names the session; only the tokens open it</span></td></tr>
<tr><th>Refreshes seen by this server</th><td>${v.refreshes.count}${v.refreshes.at ? html` (last ${time(v.refreshes.at)})` : ''}</td></tr>
</table></section>`
    : ''}
<div class="grid">
<a class="card tile" href="/server"><h2>Server-rendered page →</h2><p>A visit counter in the session, with no JavaScript. After ${v.accessSeconds} s the next page load goes through the refresh endpoint and comes back.</p></a>
<a class="card tile" href="/app"><h2>API-driven page →</h2><p>fetch() through the client helper: a <code>401 TRY_REFRESH</code> becomes one refresh and a retry.</p></a>
<a class="card tile" href="/devices"><h2>Your devices →</h2><p>Every session of your user, where and when it was used; revoke one, or sign out everywhere.</p></a>
<a class="card tile" href="/theft"><h2>Token theft, step by step →</h2><p>A copied refresh token is used by a thief, then by its owner: the server notices and ends the session for both.</p></a>
<a class="card tile" href="/admin/sessions"><h2>Sessions dashboard →</h2><p>For alice only: every session of the users seen, revoke buttons, recent theft events.</p></a>
</div>`
}

function serverPage (v) {
  const signedIn = typeof v.userId === 'string'
  return html`<h1>Server-rendered page</h1>
<p class="lead">Rendered on the server from <code>req.session</code>; works with JavaScript off. Each load adds one to a counter stored in the session (${signedIn ? 'your signed-in session' : 'an anonymous session: sign in and it is carried over'}).</p>
<div class="grid">
<section class="card">
<h2>Visits to this page</h2>
<div class="counter" id="counter">${v.views}</div>
<a class="button" href="/server" id="reload">Load again</a>
</section>
<section class="card">
<h2>Refresh</h2>
<div class="stat">
<div><span class="muted small">Access token lifetime</span><b>${v.accessSeconds} s</b></div>
<div><span class="muted small">Refreshes of this session</span><b id="refresh-count">${v.refreshes.count}</b></div>
</div>
<p class="muted small">Wait ${v.accessSeconds} s and load again: the expired access token sends this page load through <code>GET ${v.refreshPath}?to=/server</code>, which rotates the refresh token and redirects back here. ${v.refreshes.at ? html`Last refresh: ${time(v.refreshes.at)}.` : ''}</p>
</section>
</div>
<section class="card">
<h2>Session</h2>
<table class="kv">
<tr><th>User</th><td>${signedIn ? v.userId : html`<span class="muted">anonymous</span>`}</td></tr>
<tr><th>Session handle</th><td>${v.sessionId ? html`<code title="${v.sessionId}">${short(v.sessionId)}</code>` : html`<span class="muted">not stored yet</span>`}</td></tr>
<tr><th>Data (<code>req.session</code>)</th><td><pre id="session-data">${JSON.stringify(v.data, null, 2)}</pre></td></tr>
</table>
</section>`
}

function appPage (v) {
  return html`<h1>API-driven page</h1>
<p class="lead">This page talks to JSON endpoints with <code>client.fetch()</code> from <code>tandem-session/client</code> (served at <code>/assets/tandem-client.js</code>). When the access token has expired, the API answers <code>401 TRY_REFRESH</code>; the helper refreshes once, for every request and tab, and retries. The log below shows each request on the wire.</p>
<noscript><p class="notice bad">This page needs JavaScript; the <a href="/server">server-rendered page</a> does not.</p></noscript>
<p class="notice bad" id="ended" hidden></p>
<div class="grid">
<section class="card">
<h2>Counter (<code>POST /api/counter</code>)</h2>
<div class="counter" id="counter">${v.counter}</div>
<div class="row"><button type="button" id="counter-inc">Add one</button><button type="button" id="me-refresh" class="secondary">GET /api/me</button></div>
</section>
<section class="card">
<h2>Session, as the client sees it</h2>
<table class="kv">
<tr><th>User (from <code>/api/me</code>)</th><td id="api-user">…</td></tr>
<tr><th>Access token expires in</th><td id="expires">…</td></tr>
<tr><th>Tokens readable by JS</th><td><span class="badge ok">none</span> <span class="muted small">HttpOnly cookies</span></td></tr>
</table>
</section>
</div>
<section class="card">
<div class="spread"><h2>Requests</h2><button type="button" id="log-clear" class="secondary">Clear</button></div>
<ol id="log"></ol>
</section>
<script type="module" src="/assets/app.js"></script>`
}

function devicesPage (v) {
  if (typeof v.userId !== 'string') {
    return html`<h1>Your devices</h1>
<section class="card"><p>Sign in to see the devices of your user.</p><div class="row">${signInForms(v.csrf, null, v.users)}</div></section>`
  }
  const items = v.sessions.map((s) => {
    const current = s.handle === v.sessionId
    const last = s.lastDevice || {}
    const first = s.createdDevice || {}
    return html`<li data-handle="${s.handle}"${current ? raw(' data-current="true" class="current"') : ''}>
<div>
<div class="name">${deviceName(last.userAgent)}${current ? html`<span class="badge ok this-device">this device</span>` : ''}</div>
<div class="ua">${last.userAgent || 'no user agent'}</div>
<dl>
<dt>IP</dt><dd>${last.ip || '—'}${first.ip && first.ip !== last.ip ? html` <span class="muted">(signed in from ${first.ip})</span>` : ''}</dd>
<dt>Signed in</dt><dd>${time(s.createdAt)}</dd>
<dt>Last refresh</dt><dd>${time(s.lastRefreshAt)}</dd>
<dt>Expires if idle</dt><dd>${time(s.expiresAt)}</dd>
</dl>
</div>
<form method="post" action="/devices/revoke">${csrfField(v.csrf)}<input type="hidden" name="handle" value="${s.handle}"><button type="submit" class="revoke danger">${current ? 'Sign out here' : 'Revoke'}</button></form>
</li>`
  })
  return html`<h1>Your devices</h1>
<p class="lead">Every live session of <b>${v.userId}</b>, most recently refreshed first. Revoking one refuses its next request, in every process sharing the store within about a second.</p>
<section class="card">
<ul id="devices">
${items}
</ul>
${v.sessions.length === 0 ? html`<p class="muted">No live session.</p>` : ''}
</section>
<section class="card spread">
<div><h2>Sign out everywhere</h2><p class="muted small" style="margin:0">Revokes all ${v.sessions.length} session${v.sessions.length === 1 ? '' : 's'} of ${v.userId}, this one included.</p></div>
<form method="post" action="/devices/revoke-all">${csrfField(v.csrf)}<button type="submit" id="signout-everywhere" class="danger">Sign out everywhere</button></form>
</section>`
}

function theftStep (step) {
  const cls = step.status === null ? 'info' : step.status < 400 ? 'ok' : 'refused'
  return html`<li class="${cls}" data-actor="${step.actor}"${step.status === null ? '' : html` data-status="${step.status}"`}>
<div><span class="actor ${step.actor}">${step.actor}</span><span class="title">${step.title}</span></div>
${step.request
    ? html`<div class="exchange"><div class="req">${step.request}</div>${step.response ? html`<div class="${step.status < 400 ? 'status-ok' : 'status-refused'}">← ${step.response}</div>` : ''}</div>`
    : ''}
${step.note ? html`<div class="note">${step.note}</div>` : ''}
</li>`
}

function theftPage (v) {
  const run = v.run
  return html`<h1>Token theft, step by step</h1>
<p class="lead">Refresh tokens rotate: each use returns a new one and retires the old. A retired token that comes back means two parties hold copies, so the session ends for both. This runs on the server, against the demo's own engine, with a throwaway session of its own (not yours).</p>
<section class="card spread">
<div><h2>Run the walkthrough</h2><p class="muted small" style="margin:0">Refresh grace window in this demo: ${v.graceSeconds} s (the default is 10 s). The run waits it out${v.fixedClock ? ' (on the test clock)' : ''}.</p></div>
<form method="post" action="/theft">${csrfField(v.csrf)}<button type="submit" id="theft-run" class="big">${run ? 'Run again' : 'Run it'}</button></form>
</section>
${run
    ? html`<section class="card">
<h2>Session <code>${short(run.handle)}</code> of demo user <code>${run.userId}</code></h2>
<ol id="theft-steps">
${run.steps.map(theftStep)}
</ol>
<div class="verdict" id="theft-verdict">${run.bothRefused ? 'Theft detected: the thief and the victim are both refused. The victim signs in again; the thief has nothing left.' : 'Unexpected: the walkthrough did not end with both refused.'}</div>
</section>`
    : v.missing ? html`<p class="notice bad">That run is no longer kept: run it again.</p>` : ''}`
}

function forbiddenPage (v) {
  return html`<h1>${v.status}</h1><section class="card"><p>${v.message}</p><p><a href="/">Back home</a></p></section>`
}

module.exports = {
  html,
  raw,
  escapeHtml,
  deviceName,
  layout,
  homePage,
  serverPage,
  appPage,
  devicesPage,
  theftPage,
  forbiddenPage
}
