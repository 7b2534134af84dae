'use strict'

/**
 * The sessions dashboard's HTML (`dashboard.js` serves it): the page frame with its
 * inline style, a user's sessions, the recent thefts, and the short error pages.
 *
 * Guarantees: every value that reaches the page goes through `esc` (user agents, IPs and
 * user ids come from clients); the page has no script and no external asset.
 * Not here: who may see it, or what a form does (`dashboard.js`).
 * @private
 */

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

/**
 * One user's sessions, each with a revoke form (`csrf`: the page's token; `own`: the
 * viewer's session handle, badged "you").
 */
function userSection (base, own, csrf, { userId, sessions }, searched) {
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

/** The theft events this process has seen, newest first. */
function theftSection (list) {
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

/** The body of the overview: the users with sessions, the users without, the thefts. */
function overviewBody (base, own, csrf, lists, thefts) {
  const active = lists.filter((u) => u.sessions.length > 0)
  const idle = lists.filter((u) => u.sessions.length === 0)
  let body = active.length === 0
    ? '<section><p class="empty">No active session among the users this process has seen. Search for a user id above.</p></section>'
    : active.map((u) => userSection(base, own, csrf, u, false)).join('\n')
  if (idle.length > 0) {
    body += `\n<section><h2>Seen, no active session <span class="count">${idle.length}</span></h2><p>${idle.map((u) => `<a href="${esc(base)}/?user=${esc(encodeURIComponent(u.userId))}">${esc(u.userId)}</a>`).join(', ')}</p></section>`
  }
  return body + `\n${theftSection(thefts)}`
}

/** A searched user id that cannot be one. */
function searchError (maxUserId) {
  return `<section class="notice error">A user id is 1 to ${maxUserId} characters.</section>`
}

/** The sessions page: the search form, the notice of what was just done, and `body`. */
function sessionsPage (base, searchValue, notice, body, maxUserId) {
  return page('Sessions', `<header><h1>Sessions</h1><span class="sub">users seen by this process since it started; search any user id</span>
<form class="search" method="get" action="${esc(base)}/"><input type="search" name="user" placeholder="user id" aria-label="user id" value="${esc(searchValue)}" maxlength="${maxUserId}"><button type="submit">Search</button>${searchValue !== '' ? ` <a href="${esc(base)}/" style="color:#cdd3e0;align-self:center">all users</a>` : ''}</form>
</header>
<main>
${notice ? `<p class="notice">${esc(notice)}</p>` : ''}
${body}
</main>`)
}

/** A short page with one message (403, 400). */
function messagePage (title, heading, text) {
  return page(title, `<main><section><h2>${esc(heading)}</h2><p>${esc(text)}</p></section></main>`)
}

module.exports = { messagePage, sessionsPage, overviewBody, userSection, searchError }
