// The demo's API-driven page (/app): every call goes through the client helper of
// tandem-session/client, which refreshes on `401 TRY_REFRESH` and retries. The fetch given
// to the helper logs each request on the wire, so the refresh shows in the page's log.
import { createClient } from '/assets/tandem-client.js'

const $ = (id) => document.getElementById(id)
const log = $('log')

function line (parts) {
  const li = document.createElement('li')
  const t = document.createElement('span')
  t.className = 't'
  t.textContent = new Date().toLocaleTimeString()
  li.append(t)
  for (const [text, cls] of parts) {
    const span = document.createElement('span')
    if (cls) span.className = cls
    span.textContent = text
    li.append(span)
  }
  log.prepend(li)
  while (log.children.length > 100) log.lastChild.remove()
}

async function describe (res) {
  let code = ''
  if (res.status >= 400) {
    try {
      const body = await res.clone().json()
      if (body && body.code) code = ' ' + body.code
    } catch {}
  }
  return res.status + code
}

// What goes on the wire, including the helper's own refresh calls.
async function loggingFetch (input, init) {
  const method = (init && init.method) || (input instanceof Request ? input.method : 'GET')
  const url = new URL(input instanceof Request ? input.url : String(input), location.href)
  try {
    const res = await fetch(input, init)
    line([[method + ' ' + url.pathname], ['→ ' + await describe(res), 's' + String(res.status)[0]]])
    return res
  } catch (e) {
    line([[method + ' ' + url.pathname], ['→ network error', 's5']])
    throw e
  }
}

function showUser (userId) {
  const el = $('user')
  el.textContent = userId === null ? 'signed out' : userId
  el.classList.toggle('signed-out', userId === null)
  $('api-user').textContent = userId === null ? 'signed out (anonymous)' : userId
}

function ended (code) {
  const banner = $('ended')
  banner.textContent = code === 'TOKEN_THEFT_DETECTED'
    ? 'Your session ended: its refresh token was used by someone else (theft detected). Sign in again.'
    : 'Your session ended (revoked or expired). Sign in again.'
  banner.hidden = false
  showUser(null)
  const signout = $('signout')
  if (signout) signout.closest('form').hidden = true
  line([['session ended: ' + code, 'ev']])
}

const client = createClient({ fetch: loggingFetch, onSessionEnded: ended })
if (typeof client.on === 'function') {
  client.on('refreshed', () => line([['access token refreshed', 'ev']]))
}

async function me () {
  const res = await client.fetch('/api/me')
  if (!res.ok) return
  const body = await res.json()
  showUser(body.userId)
  $('counter').textContent = body.counter
}

async function increment () {
  const button = $('counter-inc')
  button.disabled = true
  try {
    const res = await client.fetch('/api/counter', { method: 'POST' })
    if (res.ok) {
      const body = await res.json()
      $('counter').textContent = body.counter
      showUser(body.userId)
    }
  } finally {
    button.disabled = false
  }
}

function tick () {
  const info = client.info
  const el = $('expires')
  if (!info || typeof info.accessExpires !== 'number') {
    el.textContent = 'not known yet (no token received on this page)'
    return
  }
  const left = Math.round((info.accessExpires - Date.now()) / 1000)
  el.textContent = left > 0 ? left + ' s' : 'expired: the next call refreshes first'
}

$('counter-inc').addEventListener('click', () => { increment().catch((e) => line([['error: ' + e.message, 's5']])) })
$('me-refresh').addEventListener('click', () => { me().catch((e) => line([['error: ' + e.message, 's5']])) })
$('log-clear').addEventListener('click', () => { log.textContent = '' })
setInterval(tick, 1000)
tick()
me().catch((e) => line([['error: ' + e.message, 's5']])).finally(() => { document.documentElement.dataset.ready = 'true' })
