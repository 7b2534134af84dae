'use strict'

// Real Chromium, scenario 7: every main page of the demo renders, and a screenshot of each is
// saved to artifacts/screenshots/ for a person to look at. Also: the theft walkthrough runs,
// and the dashboard is alice's only.

const assert = require('node:assert/strict')
const fs = require('node:fs')
const { test } = require('node:test')

const { expectUser, openApp, screenshot, signIn, skip, useBrowser, useDemo } = require('./support.js')

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

/** Screenshot `page` as `name`, and check a PNG landed there. */
async function shoot (page, name) {
  const file = await screenshot(page, name)
  const bytes = fs.readFileSync(file)
  assert.ok(bytes.length > 1000 && bytes.subarray(0, 8).equals(PNG), `${file} is a PNG`)
}

test('screenshots of each main page', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  const page = await context.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()) })
  page.on('response', (r) => {
    const { pathname } = new URL(r.url())
    if (r.status() >= 400 && pathname !== '/favicon.ico') errors.push(`${r.status()} ${r.request().method()} ${pathname}`)
  })

  const home = await page.goto(demo.url + '/')
  assert.equal(home.status(), 200)
  await expectUser(page, 'signed out')
  assert.equal(await page.locator('#signin-alice').count(), 1)
  assert.equal(await page.locator('#signin-bob').count(), 1)
  await shoot(page, 'home-signed-out')

  // A second device for alice, so "your devices" lists two.
  const phone = await (await browser.newContext({ userAgent: 'Mozilla/5.0 (Linux; Android 14) DemoPhone' })).newPage()
  await signIn(phone, demo.url, 'alice')

  await signIn(page, demo.url, 'alice')
  await shoot(page, 'home')

  const server = await page.goto(demo.url + '/server')
  assert.equal(server.status(), 200)
  await expectUser(page, 'alice')
  await shoot(page, 'server')

  await openApp(page, demo.url, 'alice')
  await page.waitForFunction(() => /\d/.test(document.querySelector('#counter')?.textContent ?? ''), null, { timeout: 5000 })
  await shoot(page, 'app')

  const devices = await page.goto(demo.url + '/devices')
  assert.equal(devices.status(), 200)
  assert.equal(await page.locator('#devices li[data-handle]').count(), 2)
  assert.equal(await page.locator('#devices li[data-handle] button.revoke').count(), 2)
  assert.equal(await page.locator('#signout-everywhere').count(), 1)
  await shoot(page, 'devices')

  const theft = await page.goto(demo.url + '/theft')
  assert.equal(theft.status(), 200)
  await shoot(page, 'theft-before')
  const thefts = demo.events.theft.length
  await Promise.all([page.waitForLoadState('load'), page.click('#theft-run')])
  await page.waitForFunction(() => document.querySelectorAll('#theft-steps li').length >= 3, null, { timeout: 5000 })
  const steps = await page.locator('#theft-steps li').allTextContents()
  assert.ok(steps.length >= 3, `walkthrough steps: ${steps.length}`)
  assert.match(steps.join('\n'), /TOKEN_THEFT_DETECTED/, 'the walkthrough ends on the theft')
  assert.match(await page.locator('#theft-verdict').textContent(), /^Theft detected/)
  const statuses = await page.locator('#theft-steps li[data-status]').evaluateAll((els) => els.map((e) => e.dataset.actor + ' ' + e.dataset.status))
  assert.deepEqual(statuses.slice(-4), ['victim 401', 'thief 401', 'thief 401', 'victim 401'], 'both refused at the end')
  // The walkthrough runs on s.engine, not through the middleware's refresh endpoint, so no
  // `theft` event: the dashboard does not list it (see the theft test for one that is listed).
  assert.equal(demo.events.theft.length, thefts)
  await expectUser(page, 'alice', 'the walkthrough used its own session, not alice\'s')
  await shoot(page, 'theft')

  const dash = await page.goto(demo.url + '/admin/sessions')
  assert.equal(dash.status(), 200)
  assert.equal(dash.headers()['cache-control'], 'no-store')
  assert.ok(await page.locator('tr[data-handle]').count() >= 2, 'alice\'s sessions listed')
  assert.equal(await page.locator('#thefts').count(), 1, 'the theft section is there')
  await shoot(page, 'admin-sessions')

  assert.deepEqual(errors, [], 'no script errors, no failed loads on the pages')
})

test('the dashboard is for alice only', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const page = await (await browser.newContext()).newPage()
  const anonymous = await page.goto(demo.url + '/admin/sessions')
  assert.equal(anonymous.status(), 403, 'signed out: refused')
  await signIn(page, demo.url, 'bob')
  const bob = await page.goto(demo.url + '/admin/sessions')
  assert.equal(bob.status(), 403, 'bob: refused')
  assert.equal(await page.locator('tr[data-handle]').count(), 0, 'no session shown to bob')
})
