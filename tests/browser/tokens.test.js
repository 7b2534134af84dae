'use strict'

// Real Chromium: what the page can read and what each request carries (scenario 1), and the
// transparent refresh of an API call and of a page navigation past the access-token lifetime
// (scenario 2).

const assert = require('node:assert/strict')
const { test } = require('node:test')

const {
  ACCESS_COOKIE, EXPIRE_MS, REFRESH_COOKIE, REFRESH_PATH, clickIncrement, counterOf, expectUser,
  openApp, recordRequests, signIn, skip, useBrowser, useDemo
} = require('./support.js')

const JWT = /eyJ[\w-]+\.[\w-]+\.[\w-]*/

/** Check one logged request: the refresh cookie only to the refresh path, the access cookie elsewhere. */
function checkCarried (r, where) {
  const what = `${where}: ${r.method} ${r.url} carried [${r.cookies.join(', ')}]`
  if (new URL(r.url, 'http://x').pathname === REFRESH_PATH) {
    assert.ok(r.cookies.includes(REFRESH_COOKIE), `${what}: the refresh call carries the refresh cookie`)
  } else {
    assert.ok(r.cookies.includes(ACCESS_COOKIE), `${what}: carries the access cookie`)
    assert.ok(!r.cookies.includes(REFRESH_COOKIE), `${what}: never the refresh cookie`)
  }
}

test('sign in: no token readable by the page; requests carry the access cookie, the refresh cookie goes to the refresh path only', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const context = await browser.newContext()
  const page = await context.newPage()
  const log = recordRequests(context)

  await signIn(page, demo.url, 'alice')
  await log.settle()
  const signedInAt = log.length
  const serverSignedInAt = demo.hits.length

  // Nothing the page's JavaScript can read holds a token.
  const readable = await page.evaluate(() => ({
    cookie: document.cookie,
    local: Object.keys(localStorage).map((k) => k + '=' + localStorage.getItem(k)).join('\n'),
    session: Object.keys(sessionStorage).map((k) => k + '=' + sessionStorage.getItem(k)).join('\n')
  }))
  for (const name of [ACCESS_COOKIE, REFRESH_COOKIE]) {
    assert.ok(!readable.cookie.split(';').some((c) => c.trim().split('=')[0] === name),
      `document.cookie has no ${name} (${JSON.stringify(readable.cookie)})`)
  }
  assert.doesNotMatch(readable.cookie, JWT, 'no JWT in document.cookie')
  assert.doesNotMatch(readable.local, JWT, 'no JWT in localStorage')
  assert.doesNotMatch(readable.session, JWT, 'no JWT in sessionStorage')

  // The browser holds both, HttpOnly, as session cookies; the refresh cookie is scoped to its path.
  const jar = await context.cookies(demo.url)
  const access = jar.find((c) => c.name === ACCESS_COOKIE)
  const refresh = (await context.cookies(demo.url + REFRESH_PATH)).find((c) => c.name === REFRESH_COOKIE)
  assert.ok(access, `access cookie set (jar: ${jar.map((c) => c.name)})`)
  assert.ok(refresh, 'refresh cookie set')
  assert.equal(access.httpOnly, true)
  assert.equal(refresh.httpOnly, true)
  assert.equal(access.path, '/')
  assert.equal(refresh.path, REFRESH_PATH)
  assert.equal(access.sameSite, 'Lax')
  assert.equal(access.expires, -1, 'access cookie is a browser-session cookie')
  assert.equal(refresh.expires, -1, 'refresh cookie is a browser-session cookie')
  assert.ok(!jar.some((c) => c.name === REFRESH_COOKIE), 'the refresh cookie is not in the jar for "/"')

  // Browse: a server page, the API page (assets + fetch), a write, then a refresh.
  await page.goto(demo.url + '/server')
  await expectUser(page, 'alice')
  await openApp(page, demo.url, 'alice')
  assert.equal((await clickIncrement(page)).status(), 200)
  demo.advance(EXPIRE_MS)
  assert.equal((await clickIncrement(page)).status(), 200)
  await page.goto(demo.url + '/')
  await expectUser(page, 'alice')
  await log.settle()

  const after = log.slice(signedInAt).filter((r) => r.url.startsWith(demo.url))
  assert.ok(after.length >= 6, `requests seen after sign-in: ${after.length}`)
  const refreshes = after.filter((r) => r.path === REFRESH_PATH)
  assert.equal(refreshes.length, 1, `one refresh call: ${refreshes.map((r) => r.method + ' ' + r.url)}`)
  assert.ok(after.some((r) => r.path === '/api/me'), 'the /app page called /api/me')
  for (const r of after) checkCarried(r, 'browser')
  assert.deepEqual(after.filter((r) => r.authorization !== null).map((r) => r.url), [], 'cookie mode: no Authorization header')

  // The same from the server's side (what actually arrived).
  const hits = demo.hits.slice(serverSignedInAt)
  assert.equal(hits.filter((h) => h.url.split('?')[0] === REFRESH_PATH).length, 1)
  for (const h of hits) checkCarried(h, 'server')
})

test('past the access-token lifetime an API call and a page navigation both refresh transparently', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const context = await browser.newContext()
  const page = await context.newPage()

  await signIn(page, demo.url, 'alice')
  await openApp(page, demo.url, 'alice')
  assert.equal((await clickIncrement(page)).status(), 200)
  const before = await counterOf(page)
  assert.equal(demo.events.refreshed.length, 0, 'no refresh yet')

  // API call: 401 TRY_REFRESH, one POST refresh, the call replayed.
  demo.advance(EXPIRE_MS)
  const log = recordRequests(page)
  const statuses = []
  page.on('response', (r) => { if (r.url().startsWith(demo.url)) statuses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`) })
  const res = await clickIncrement(page)
  assert.equal(res.status(), 200)
  await page.waitForFunction((n) => document.querySelector('#counter')?.textContent.includes(String(n)), before + 1, { timeout: 5000 })
    .catch(() => {})
  assert.equal(await counterOf(page), before + 1, 'the counter still increments')
  await expectUser(page, 'alice')
  await log.settle()
  const refreshCalls = log.filter((r) => r.path === REFRESH_PATH)
  assert.deepEqual(refreshCalls.map((r) => r.method), ['POST'], 'one POST /session/refresh')
  assert.deepEqual(statuses.filter((s) => !s.includes('/assets/')), [
    'POST /api/counter 401', `POST ${REFRESH_PATH} 200`, 'POST /api/counter 200'
  ])
  assert.equal(demo.events.refreshed.length, 1, 'one refresh on the server')

  // Navigation: 303 to the refresh path, which refreshes and 303s back.
  demo.advance(EXPIRE_MS)
  const nav = await page.goto(demo.url + '/server')
  assert.equal(nav.status(), 200)
  assert.equal(new URL(page.url()).pathname, '/server', 'ends on /server')
  const chain = []
  for (let r = nav.request(); r; r = r.redirectedFrom()) chain.unshift(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`)
  assert.deepEqual(chain, ['GET /server', `GET ${REFRESH_PATH}?to=%2Fserver`, 'GET /server'], 'the 303 dance')
  const redirects = []
  for (let r = nav.request().redirectedFrom(); r; r = r.redirectedFrom()) redirects.push((await r.response()).status())
  assert.deepEqual(redirects, [303, 303])
  await expectUser(page, 'alice')
  assert.equal(demo.events.refreshed.length, 2, 'the navigation refreshed on the server')

  // And the refreshed tokens work without a further refresh.
  await openApp(page, demo.url, 'alice')
  assert.equal((await clickIncrement(page)).status(), 200)
  assert.equal(demo.events.refreshed.length, 2)
})
