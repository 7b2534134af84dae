'use strict'

// Real Chromium, scenario 6: "your devices" in browser A revokes the session of browser B
// (both alice); B is signed out at its next request. Also "sign out everywhere".

const assert = require('node:assert/strict')
const { test } = require('node:test')

const {
  clickIncrement, expectUser, openApp, signIn, skip, useBrowser, useDemo
} = require('./support.js')

/** Sign a fresh browser context in as `who`; resolves with its page and session handle. */
async function device (browser, demo, who) {
  const context = await browser.newContext()
  const page = await context.newPage()
  const n = demo.events.created.length
  await signIn(page, demo.url, who)
  const created = demo.events.created.slice(n).filter((e) => e.userId === who)
  assert.equal(created.length, 1, 'one session created at sign-in')
  return { context, page, handle: created[0].handle }
}

/** The handles listed on the open /devices page. */
async function listed (page) {
  return page.locator('#devices li[data-handle]').evaluateAll((els) => els.map((e) => e.dataset.handle))
}

test('revoking device B from "your devices" in A signs B out at its next request', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const A = await device(browser, demo, 'alice')
  const B = await device(browser, demo, 'alice')
  const bob = await device(browser, demo, 'bob')
  await openApp(B.page, demo.url, 'alice')

  await A.page.goto(demo.url + '/devices')
  await expectUser(A.page, 'alice')
  assert.deepEqual((await listed(A.page)).sort(), [A.handle, B.handle].sort(), 'alice\'s two sessions, not bob\'s')
  const mine = A.page.locator(`#devices li[data-handle="${A.handle}"]`)
  assert.match(await mine.textContent(), /this device/i, 'A is marked as this device')
  assert.doesNotMatch(await A.page.locator(`#devices li[data-handle="${B.handle}"]`).textContent(), /this device/i)

  const back = A.page.waitForResponse((r) => new URL(r.url()).pathname === '/devices' && r.request().method() === 'GET')
  await A.page.locator(`#devices li[data-handle="${B.handle}"] button.revoke`).click()
  await back
  await A.page.waitForLoadState('load')
  assert.equal(new URL(A.page.url()).pathname, '/devices', 'back on /devices')
  assert.deepEqual(await listed(A.page), [A.handle], 'B is gone from the list')
  await expectUser(A.page, 'alice', 'A stays signed in')
  assert.ok(demo.events.revoked.some((e) => e.handle === B.handle), 'B\'s session was revoked')
  assert.ok(!demo.events.revoked.some((e) => e.handle === A.handle), 'A\'s was not')

  // B's access token is still within its lifetime; its next API call is refused all the same.
  const res = await clickIncrement(B.page)
  assert.equal(res.status(), 401)
  assert.equal((await res.json()).code, 'UNAUTHORISED')
  await expectUser(B.page, 'signed out', 'B\'s page shows signed out')
  await B.page.reload()
  await expectUser(B.page, 'signed out', 'B reloads: still signed out')

  // Bob was not touched.
  await openApp(bob.page, demo.url, 'bob')
  assert.equal((await clickIncrement(bob.page)).status(), 200)
})

test('"sign out everywhere" ends every session of the user, this one included', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const A = await device(browser, demo, 'alice')
  const B = await device(browser, demo, 'alice')
  const bob = await device(browser, demo, 'bob')

  await A.page.goto(demo.url + '/devices')
  assert.equal((await listed(A.page)).length, 2)
  await Promise.all([A.page.waitForNavigation(), A.page.click('#signout-everywhere')])
  await expectUser(A.page, 'signed out', 'A is signed out')
  const revoked = demo.events.revoked.map((e) => e.handle)
  assert.ok(revoked.includes(A.handle) && revoked.includes(B.handle), 'both of alice\'s sessions revoked')
  assert.ok(!revoked.includes(bob.handle), 'bob\'s session kept')
  await B.page.goto(demo.url + '/server')
  await expectUser(B.page, 'signed out', 'B is signed out')
  await bob.page.goto(demo.url + '/server')
  await expectUser(bob.page, 'bob', 'bob still signed in')
})
