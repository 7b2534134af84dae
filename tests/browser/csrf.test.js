'use strict'

// Real Chromium, scenario 5: a page on another loopback port (same site, other origin: the
// SameSite=Lax cookies ARE sent) auto-submits a form to the demo. The server refuses it (403)
// and nothing changes. And links from that page: one to the refresh endpoint rotates
// nothing; one to a page while the access token has expired lands signed in, through the
// bounce page (issue 17, point 7 c), whose meta refresh the browser calls same-origin.

const assert = require('node:assert/strict')
const { test } = require('node:test')

const {
  ACCESS_COOKIE, EXPIRE_MS, REFRESH_PATH, clickIncrement, counterOf, cookieNames, expectUser,
  openApp, signIn, skip, useBrowser, useDemo, useOtherOrigin
} = require('./support.js')

/** An attacker page that posts `fields` to `action` as soon as it loads. */
function autoPost (action, fields) {
  const inputs = Object.entries(fields).map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('')
  return `<!doctype html><title>free prizes</title><form id="f" method="post" action="${action}">${inputs}</form>
<script>document.getElementById('f').submit()</script>`
}

/** Open `evil` in `page` and resolve with the demo's answer to the form post to `path`. */
async function submitFrom (page, evil, demoUrl, path) {
  const answer = page.waitForResponse((r) => r.url() === demoUrl + path && r.request().method() === 'POST', { timeout: 10000 })
  await page.goto(evil)
  return answer
}

test('cross-origin form posts to the API are refused (403) and change nothing', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const context = await browser.newContext()
  const page = await context.newPage()
  await signIn(page, demo.url, 'alice')
  await openApp(page, demo.url, 'alice')
  assert.equal((await clickIncrement(page)).status(), 200, 'the page itself may increment')
  const before = await counterOf(page)
  const evil = await useOtherOrigin(t, autoPost(demo.url + '/api/counter', { n: '1' }))
  assert.notEqual(new URL(evil).origin, new URL(demo.url).origin)

  // With a valid access token.
  const res = await submitFrom(page, evil, demo.url, '/api/counter')
  const sent = await res.request().allHeaders()
  assert.equal(sent.origin, new URL(evil).origin, 'the browser said where the post came from')
  assert.ok(cookieNames(sent.cookie).includes(ACCESS_COOKIE), 'same site: the Lax access cookie was sent along')
  assert.equal(res.status(), 403)
  assert.deepEqual(await res.json(), { code: 'CSRF_INVALID' })

  // With an expired access token: refused before any refresh (no 307 through the refresh path).
  demo.advance(EXPIRE_MS)
  const res2 = await submitFrom(page, evil, demo.url, '/api/counter')
  assert.equal(res2.status(), 403)
  assert.equal(res2.request().redirectedFrom(), null, 'answered directly')
  assert.equal(demo.events.refreshed.length, 0, 'no refresh for a cross-origin post')
  assert.ok(!demo.hits.some((h) => h.url.startsWith(REFRESH_PATH)), 'the refresh path was not visited')

  // Nothing changed: still signed in (the page refreshes on its own), same counter.
  await openApp(page, demo.url, 'alice')
  assert.equal(await counterOf(page), before, 'the counter did not change')
  await expectUser(page, 'alice')
})

test('a cross-origin form post to "sign out everywhere" is refused; the sessions live on', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const page = await (await browser.newContext()).newPage()
  const other = await (await browser.newContext()).newPage()
  await signIn(page, demo.url, 'alice')
  await signIn(other, demo.url, 'alice')
  const evil = await useOtherOrigin(t, {
    '/everywhere': autoPost(demo.url + '/devices/revoke-all', {}),
    '/logout': autoPost(demo.url + '/logout', {})
  })

  const res = await submitFrom(page, evil + '/everywhere', demo.url, '/devices/revoke-all')
  assert.equal(res.status(), 403)
  assert.deepEqual(await res.json(), { code: 'CSRF_INVALID' })
  assert.deepEqual(demo.events.revoked, [], 'nothing revoked')
  await page.goto(demo.url + '/devices')
  await expectUser(page, 'alice')
  assert.equal(await page.locator('#devices li[data-handle]').count(), 2, 'both sessions still listed')

  // A cross-origin sign-out (logout CSRF) is refused too.
  assert.equal((await submitFrom(page, evil + '/logout', demo.url, '/logout')).status(), 403)
  await page.goto(demo.url + '/server')
  await expectUser(page, 'alice', 'still signed in')
  assert.deepEqual(demo.events.revoked, [])
})

/** A page with one link, `#go`, to `href`. */
function linkTo (href) {
  return `<!doctype html><title>elsewhere</title><a id="go" href="${href}">go</a>`
}

/** Record the `Sec-Fetch-Site` and URL of every request `page` makes to `path` on `base`. */
function recordFetchSite (page, base, path) {
  const seen = []
  page.on('request', (r) => {
    if (!r.url().startsWith(base + path)) return
    seen.push(r.allHeaders().then((h) => ({ url: r.url(), site: h['sec-fetch-site'] })))
  })
  return () => Promise.all(seen)
}

test('links from another site: to the refresh endpoint rotates nothing; to a page with an expired token lands signed in', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const page = await (await browser.newContext()).newPage()
  await signIn(page, demo.url, 'alice')
  const evil = await useOtherOrigin(t, {
    '/refresh': linkTo(demo.url + REFRESH_PATH + '?to=/server'),
    '/server': linkTo(demo.url + '/server')
  })
  const refreshes = recordFetchSite(page, demo.url, REFRESH_PATH)
  const rotated = demo.events.refreshed.length

  // A link to the refresh endpoint: back to /server, nothing rotated, still signed in.
  await page.goto(evil + '/refresh')
  await Promise.all([page.waitForURL(demo.url + '/server'), page.click('#go')])
  await expectUser(page, 'alice')
  assert.equal(demo.events.refreshed.length, rotated, 'nothing rotated')
  const first = await refreshes()
  assert.deepEqual(first.map((r) => r.site), ['same-site'], 'the browser said another origin sent it')

  // A link to a page while the access token has expired: bounced, refreshed once, signed in.
  demo.advance(EXPIRE_MS)
  const hitsBefore = demo.hits.length
  await page.goto(evil + '/server')
  const refreshed = page.waitForResponse((r) => r.url().startsWith(demo.url + REFRESH_PATH), { timeout: 10000 })
  await page.click('#go')
  assert.equal((await refreshed).status(), 303)
  await page.waitForURL(demo.url + '/server')
  await expectUser(page, 'alice', 'arrived signed in')
  assert.equal(demo.events.refreshed.length, rotated + 1, 'refreshed once')
  const second = (await refreshes()).slice(first.length)
  assert.deepEqual(second.map((r) => r.site), ['same-origin'], 'the bounce page\'s navigation is our own')
  assert.match(second[0].url, /[?&]bounced=1(&|$)/)
  const paths = demo.hits.slice(hitsBefore).map((h) => h.url.split('?')[0]).filter((p) => p === '/server' || p === REFRESH_PATH)
  assert.deepEqual(paths, ['/server', REFRESH_PATH, '/server'], 'page, bounce to refresh, page: no loop')
})
