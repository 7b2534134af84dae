'use strict'

// Real Chromium, scenario 3: two tabs of one browser hit an expired access token at the same
// moment; one refresh happens (Web Locks + the localStorage marker), both tabs stay signed in.

const assert = require('node:assert/strict')
const { test } = require('node:test')

const {
  EXPIRE_MS, REFRESH_PATH, clickIncrement, counterOf, expectUser, finalCounterResponse, openApp, signIn, skip,
  useBrowser, useDemo
} = require('./support.js')

test('two tabs hit an expired access token at once: one refresh, both stay signed in', { skip }, async (t) => {
  const demo = await useDemo(t)
  const browser = await useBrowser(t)
  const context = await browser.newContext()
  const tabA = await context.newPage()
  await signIn(tabA, demo.url, 'alice')
  const tabB = await context.newPage()
  await openApp(tabA, demo.url, 'alice')
  await openApp(tabB, demo.url, 'alice')
  assert.equal(await tabA.evaluate(() => typeof navigator.locks?.request), 'function', 'Web Locks available on http://127.0.0.1')
  const start = await counterOf(tabB)

  // Both tabs' POST /api/counter must get their 401 before any refresh completes: the first
  // refresh request is held until both 401s have been seen (or 5 s passed: then the check
  // below fails, saying the calls did not overlap).
  const tryRefresh = []
  let bothRefused
  const overlapped = new Promise((resolve) => { bothRefused = resolve })
  const onResponse = (tab) => async (r) => {
    if (new URL(r.url()).pathname !== '/api/counter' || r.status() !== 401) return
    const body = await r.json().catch(() => null)
    if (body?.code === 'TRY_REFRESH') tryRefresh.push(tab)
    if (tryRefresh.includes('A') && tryRefresh.includes('B')) bothRefused(true)
  }
  tabA.on('response', onResponse('A'))
  tabB.on('response', onResponse('B'))
  const refreshCalls = []
  await context.route('**' + REFRESH_PATH + '*', async (route) => {
    refreshCalls.push(route.request().method())
    const timer = new Promise((resolve) => setTimeout(resolve, 5000, false))
    t.diagnostic(`both 401 before the refresh went out: ${await Promise.race([overlapped, timer])}`)
    await route.continue()
  })

  demo.advance(EXPIRE_MS)
  const doneA = tabA.waitForResponse(finalCounterResponse, { timeout: 15000 })
  const doneB = tabB.waitForResponse(finalCounterResponse, { timeout: 15000 })
  await Promise.all([tabA.click('#counter-inc'), tabB.click('#counter-inc')])
  const [resA, resB] = await Promise.all([doneA, doneB])

  assert.deepEqual([...tryRefresh].sort(), ['A', 'B'], 'both tabs got 401 TRY_REFRESH (the expiry was hit at once)')
  assert.equal(resA.status(), 200, 'tab A: the increment went through after the refresh')
  assert.equal(resB.status(), 200, 'tab B: the increment went through after the refresh')
  assert.deepEqual(refreshCalls, ['POST'], 'one refresh request left the browser')
  assert.equal(demo.events.refreshed.length, 1, 'one successful refresh on the server')
  assert.equal(demo.events.theft.length, 0)
  assert.equal(demo.events.revoked.length, 0)

  await expectUser(tabA, 'alice')
  await expectUser(tabB, 'alice')
  // The two replayed increments ran concurrently on one session: session data is last write
  // wins (as with express-session), so the stored counter is the larger of the two answers.
  const answers = [(await resA.json()).counter, (await resB.json()).counter]
  t.diagnostic(`concurrent increments answered ${answers} (from ${start})`)
  assert.ok(answers.every((n) => n === start + 1 || n === start + 2), `each increment counted from a stored value: ${answers}`)
  await context.unroute('**' + REFRESH_PATH + '*')
  await openApp(tabA, demo.url, 'alice')
  const stored = await counterOf(tabA)
  assert.equal(stored, Math.max(...answers), 'the stored counter is the last write')

  // Both tabs keep working on the refreshed tokens without another refresh, one after the other.
  let expected = stored
  for (const tab of [tabA, tabB]) {
    const res = await clickIncrement(tab)
    assert.equal(res.status(), 200)
    assert.equal((await res.json()).counter, ++expected, 'sequential increments all count')
  }
  await expectUser(tabB, 'alice')
  assert.equal(demo.events.refreshed.length, 1)
})
