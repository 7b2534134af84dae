'use strict'

// Real Chromium, scenario 5: a page on another loopback port (same site, other origin: the
// SameSite=Lax cookies ARE sent) auto-submits a form to the demo. The server refuses it (403)
// and nothing changes.

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
