'use strict'

/**
 * The counters an operator graphs (`s.metrics()`): a scripted sequence of logins,
 * refreshes (one in the grace window), a theft, a logout and a forged refresh gives
 * exactly its counts, which agree with the events; the prom-client adapter
 * (`session.prometheus`) serves them as /metrics text, with the store latency histogram.
 */

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const promClient = require('prom-client')

const { assertCode, assertOk, eachExpress, login, session, useApp, GRACE_MS, REFRESH_PATH } = require('./support/apps.js')

/** The counters that move with the requests (store calls move with the background syncs too). */
function counts (m) {
  const { logins, anonymousSessions, refreshes, graceHits, refreshesRefused, thefts, revocations, storeErrors } = m
  return { logins, anonymousSessions, refreshes, graceHits, refreshesRefused, thefts, revocations, storeErrors }
}

/** Logins, refreshes (one a grace hit), a theft, a logout, a forged refresh. */
async function script (app) {
  const tab1 = app.client()
  await login(tab1, 'alice')
  const tab2 = tab1.clone()
  app.advance(1000)
  assertOk(await tab1.post(REFRESH_PATH), 'a refresh')
  assertOk(await tab2.post(REFRESH_PATH), 'the other tab, in the grace window')
  const victim = app.client()
  await login(victim, 'bob')
  const thief = victim.clone()
  app.advance(1000)
  assertOk(await thief.post(REFRESH_PATH), 'the thief refreshes first')
  app.advance(GRACE_MS + 1000)
  assertCode(await victim.post(REFRESH_PATH), 401, 'TOKEN_THEFT_DETECTED')
  assertOk(await tab1.post('/logout'))
  const forged = app.client({ headers: { cookie: 'connect.sid.refresh=' + 'A'.repeat(92) } })
  assertCode(await forged.post(REFRESH_PATH, { jar: false }), 401, 'UNAUTHORISED')
}

const EXPECTED = {
  logins: 2,
  anonymousSessions: 0,
  refreshes: 3,
  graceHits: 1,
  refreshesRefused: 1,
  thefts: 1,
  revocations: 2, // bob's session for the theft, alice's at logout
  storeErrors: 0
}

eachExpress(function (express) {
  describe('metrics()', function () {
    it('should count what a scripted sequence did, as the events tell it', async function (t) {
      const app = await useApp(t, express)
      await app.s.ready()
      const zero = app.s.metrics()
      assert.deepEqual(counts(zero), { ...EXPECTED, logins: 0, refreshes: 0, graceHits: 0, refreshesRefused: 0, thefts: 0, revocations: 0 })
      await script(app)
      const m = app.s.metrics()
      assert.deepEqual(counts(m), EXPECTED)
      assert.equal(app.events.created.length, m.logins)
      assert.equal(app.events.refreshed.length, m.refreshes)
      assert.equal(app.events.theft.length, m.thefts)
      assert.equal(app.events.revoked.length, m.revocations)
      assert.ok(m.storeCalls > 0 && m.storeLatencySumMs >= 0)
      assert.equal(m.storeLatencyBuckets.length, m.storeLatencyBoundsMs.length)
      assert.ok(m.storeLatencyBuckets.every((n, i) => i === 0 || n >= m.storeLatencyBuckets[i - 1]), 'cumulative')
    })

    it('should be zeros before the engine started', function () {
      const s = session({ store: new session.NativeMemoryStore(), saveUninitialized: false }) // waits for req.secret
      assert.equal(s.metrics().logins, 0)
      assert.equal(s.metrics().storeCalls, 0)
    })
  })

  describe('session.prometheus(s, promClient)', function () {
    it('should serve the counts and the latency histogram as /metrics text', async function (t) {
      const registry = new promClient.Registry()
      const app = await useApp(t, express, {}, {
        setup (a) {
          a.get('/metrics', async (req, res) => res.type(registry.contentType).send(await registry.metrics()))
        }
      })
      const names = session.prometheus(app.s, registry)
      assert.ok(names.includes('tandem_session_thefts_total'))
      await script(app)
      const text = (await app.client().get('/metrics')).text
      assert.match(text, /^# TYPE tandem_session_logins_total counter$/m)
      for (const [name, n] of [['logins', 2], ['refreshes', 3], ['grace_hits', 1], ['thefts', 1], ['revocations', 2], ['refreshes_refused', 1], ['store_errors', 0]]) {
        assert.match(text, new RegExp(`^tandem_session_${name}_total ${n}$`, 'm'), name)
      }
      assert.match(text, /^# TYPE tandem_session_store_latency_seconds histogram$/m)
      assert.match(text, /^tandem_session_store_latency_seconds_bucket\{le="0.001"\} \d+$/m)
      const count = Number(text.match(/^tandem_session_store_latency_seconds_count (\d+)$/m)[1])
      assert.ok(count > 0)
      assert.match(text, new RegExp(`^tandem_session_store_latency_seconds_bucket\\{le="\\+Inf"\\} ${count}$`, 'm'))
    })

    it('should take the prom-client module (its default registry) and a prefix, and refuse anything else', async function (t) {
      const app = await useApp(t, express)
      t.after(() => promClient.register.clear())
      session.prometheus(app.s, promClient, { prefix: 'myapp_sessions_' })
      assert.match(await promClient.register.metrics(), /^myapp_sessions_logins_total 0$/m)
      assert.throws(() => session.prometheus(app.s, {}), { name: 'TypeError', message: /promClient/ })
      assert.throws(() => session.prometheus(app.s, promClient, { prefix: 'bad prefix' }), { name: 'TypeError', message: /prefix option/ })
      assert.throws(() => session.prometheus({}, promClient), { name: 'TypeError', message: /middleware/ })
    })
  })
})
