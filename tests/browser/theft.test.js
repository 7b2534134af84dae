'use strict'

// Real Chromium, scenario 4: the cookies of browser context A are copied into context B (the
// thief); B refreshes first, then, past the grace window, A refreshes with the same old refresh
// token: theft. Both end signed out, the `theft` event fires once and the dashboard lists it.

const assert = require('node:assert/strict')
const { test } = require('node:test')

const {
  ACCESS_COOKIE, EXPIRE_MS, GRACE_MS, REFRESH_COOKIE, REFRESH_PATH, clickIncrement, expectUser,
  openApp, screenshot, signIn, skip, useBrowser, useDemo
} = require('./support.js')

/** The method, path+query and status of each hop of a navigation, first to last. */
async function hops (response) {
  const out = []
  for (let r = response.request(); r; r = r.redirectedFrom()) {
    const u = new URL(r.url())
    out.unshift(`${r.method()} ${u.pathname}${u.search} ${(await r.response())?.status()}`)
  }
  return out
}

test('stolen cookies: thief refreshes first, victim later; both signed out, theft on the dashboard', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const victim = await browser.newContext()
  const pageA = await victim.newPage()
  await signIn(pageA, demo.url, 'alice')
  await openApp(pageA, demo.url, 'alice')
  const handle = demo.events.created.at(-1)?.handle
  assert.ok(handle, 'a session was created at sign-in')

  // The thief gets a copy of every cookie (the refresh cookie too, with its path).
  const stolen = await victim.cookies()
  assert.deepEqual(stolen.map((c) => c.name).sort(), [ACCESS_COOKIE, REFRESH_COOKIE].sort())
  const thief = await browser.newContext()
  await thief.addCookies(stolen)
  const pageB = await thief.newPage()

  // Past the access lifetime the thief navigates first: the 303 dance refreshes for it.
  demo.advance(EXPIRE_MS)
  const navB = await pageB.goto(demo.url + '/app')
  assert.deepEqual(await hops(navB), [
    'GET /app 303', `GET ${REFRESH_PATH}?to=%2Fapp 303`, 'GET /app 200'
  ], 'the thief refreshed through the navigation')
  await expectUser(pageB, 'alice', 'the thief is in, for now')
  assert.equal(demo.events.refreshed.length, 1)
  assert.equal(demo.events.theft.length, 0)

  // Past the grace window the victim's client refreshes with the old refresh token: theft.
  demo.advance(GRACE_MS + 1000)
  const statuses = []
  pageA.on('response', (r) => { if (r.url().startsWith(demo.url)) statuses.push(`${r.request().method()} ${new URL(r.url()).pathname} ${r.status()}`) })
  const refreshA = pageA.waitForResponse((r) => new URL(r.url()).pathname === REFRESH_PATH)
  await pageA.click('#counter-inc')
  const resA = await refreshA
  assert.equal(resA.status(), 401, 'the victim\'s refresh is refused')
  assert.equal((await resA.json()).code, 'TOKEN_THEFT_DETECTED')
  assert.equal(demo.events.theft.length, 1, 'the theft event fired once')
  assert.equal(demo.events.theft[0].handle, handle)
  assert.equal(demo.events.theft[0].userId, 'alice')
  assert.ok(demo.events.revoked.some((e) => e.handle === handle && e.reason === 'theft'))
  await expectUser(pageA, 'signed out', 'the victim\'s page shows it was signed out (onSessionEnded)')
  assert.match(await pageA.locator('#ended').textContent(), /theft/i, 'the victim\'s page says why')
  assert.deepEqual(statuses.filter((x) => x.includes('/api/counter') || x.includes(REFRESH_PATH)),
    ['POST /api/counter 401', `POST ${REFRESH_PATH} 401`], 'no retry after the refused refresh')
  const jarA = (await victim.cookies()).map((c) => c.name)
  assert.ok(!jarA.includes(ACCESS_COOKIE) && !jarA.includes(REFRESH_COOKIE), `victim's cookies cleared: ${jarA}`)
  await pageA.goto(demo.url + '/server')
  await expectUser(pageA, 'signed out', 'the victim reloads: still signed out')

  // The thief's access token is still within its lifetime, but the session is revoked:
  // its next API call is refused and its page says signed out.
  const resB = await clickIncrement(pageB)
  assert.equal(resB.status(), 401, 'the thief\'s next call is refused')
  const codeB = (await resB.json()).code
  assert.equal(codeB, 'TOKEN_THEFT_DETECTED', 'revoked after a theft')
  await expectUser(pageB, 'signed out', 'the thief\'s page shows signed out')
  assert.match(await pageB.locator('#ended').textContent(), /theft/i, 'the thief\'s page says why')
  await pageB.goto(demo.url + '/server')
  await expectUser(pageB, 'signed out', 'the thief navigates: signed out')
  assert.equal(demo.events.theft.length, 1, 'still one theft event')

  // Alice, signed in afresh elsewhere, sees the theft on the dashboard.
  const admin = await browser.newContext()
  const pageC = await admin.newPage()
  await signIn(pageC, demo.url, 'alice')
  const dash = await pageC.goto(demo.url + '/admin/sessions')
  assert.equal(dash.status(), 200)
  const row = pageC.locator(`#thefts tr.theft[data-handle="${handle}"]`)
  assert.equal(await row.count(), 1, 'the theft is listed with its session handle')
  assert.match(await row.textContent(), /alice/)
  assert.equal(await pageC.locator('#thefts tr.theft').count(), 1, 'one theft listed')
  await screenshot(pageC, 'admin-sessions-after-theft')
})
