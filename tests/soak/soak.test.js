'use strict'

// The short soak (the long one: `node bench/soak.mjs --seconds 1800`, README "Soak"): 20 s
// of bounded mixed load (logins, reads, writes, refreshes, logouts, theft attempts, admin
// revocations) against an app in a child process over a temp SqliteStore. bench/soak.mjs
// does the checking (zero 5xx, zero resurrected sessions, zero lost updates, nobody logged
// out unasked, memory flat after warm-up) and exits non-zero on any violation; here we also
// make sure it did enough to mean something. These run on their own (`npm run test:soak`,
// after the other suites), not beside them: a memory slope judged while other test files
// load both cores measures their load (the caches fill slower than the warm-up), not ours.

const assert = require('node:assert/strict')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { it } = require('node:test')

const SOAK = path.join(__dirname, '..', '..', 'bench', 'soak.mjs')
const SECONDS = Number(process.env.TANDEM_SOAK_SECONDS || 20)

/** Run bench/soak.mjs with `args` (and --quiet): its exit code, JSON summary and stderr. */
async function runSoak (args) {
  const child = spawn(process.execPath, [SOAK, ...args, '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { err += d })
  const code = await new Promise((resolve) => child.on('close', resolve))
  try {
    return { code, summary: JSON.parse(out), err }
  } catch {
    assert.fail(`no JSON summary (exit ${code}): ${out.slice(0, 2000)} ${err.slice(0, 2000)}`)
  }
}

it(`should survive ${SECONDS} s of mixed load with no violation`, { timeout: (SECONDS + 90) * 1000 }, async (t) => {
  const { code, summary, err } = await runSoak(['--seconds', String(SECONDS), '--store', 'sqlite'])
  const c = summary.counts
  t.diagnostic(`${summary.requests} requests (${summary.requestsPerSecond}/s); thefts ${c.theftDetected}/${c.theftAttempts}; ` +
    `writes ${c.writesAcked}; refreshes ${c.refreshes}; logouts ${c.logouts}; dead-session probes ${c.deadProbes}; ` +
    `RSS ${summary.memory.rssSlopeMBPerMin} ± ${summary.memory.rssSlopeStdErr} MB/min (${summary.memory.rss}), ` +
    `heap ${summary.memory.heapSlopeMBPerMin} ± ${summary.memory.heapSlopeStdErr} MB/min (${summary.memory.heap})`)
  assert.deepEqual({ violations: summary.violations, examples: summary.examples }, { violations: {}, examples: [] },
    'no violation')
  assert.equal(code, 0, `the soak exits 0: ${err.slice(0, 2000)}`)
  assert.equal(summary.ok, true)
  // Enough load to mean something (a 2-core machine does several hundred requests a second).
  assert.ok(summary.requests >= 2000, `thousands of requests: ${summary.requests}`)
  assert.ok(c.writesAcked >= 200, `writes: ${c.writesAcked}`)
  assert.ok(c.writeBursts >= 20, `parallel write bursts: ${c.writeBursts}`)
  assert.ok(c.refreshes >= 100, `refreshes: ${c.refreshes}`)
  assert.ok(c.theftAttempts >= 5, `theft attempts: ${c.theftAttempts}`)
  assert.equal(c.theftDetected, c.theftAttempts, 'every theft attempt detected')
  assert.equal(summary.app.theft, c.theftDetected, 'one theft event per detected theft')
  assert.ok(c.logouts >= 10, `logouts: ${c.logouts}`)
  assert.ok(c.deadProbes >= 50, `dead-session probes: ${c.deadProbes}`)
  assert.ok(c.finalSessionsChecked >= 1, 'live sessions checked at the end')
  assert.ok(summary.byStatus['200'] > 0 && !Object.keys(summary.byStatus).some((s) => Number(s) >= 500), 'no 5xx')
  assert.ok(summary.memory.samplesAfterWarmup >= 5, 'memory measured after warm-up')
})

// The exhaustion soak (issue 18), short: the same devices next to 6 hostile clients
// (cookie-less writers, padded cookies around a valid anonymous token, Bearer with extra
// spaces, random access and refresh cookies, 70 kB writes past maxDataBytes, accounts
// logging in past maxSessionsPerUser and out) on a memory store bounded at 2,000 sessions,
// so the anonymous quota (1,000) is passed many times over. The soak fails on any 5xx, any
// refused login or unasked logout, a heap that grows after warm-up, or an RSS over 250 MB
// after warm-up (the verdict cache keyed by whole headers grew 13.8 KB per padded request:
// past 250 MB within this run even at a few hundred padded requests a second).
// 60 s with 35 s of warm-up: the process's caches (10,000 entries each) fill to their bounds
// in some 20 s of this load on a 2-core machine and in 35 s with app and clients on one core.
// The RSS slope is reported, not judged: over 25 s the allocator's wandering (±20 MB here)
// swamps any bound worth stating; the long run (README "Soak") judges it.
const HOSTILE_SECONDS = Math.max(60, SECONDS)
it(`should hold its bounds for ${HOSTILE_SECONDS} s of hostile clients next to the devices`, { timeout: (HOSTILE_SECONDS + 90) * 1000 }, async (t) => {
  const { code, summary, err } = await runSoak(['--seconds', String(HOSTILE_SECONDS), '--warmup', '35', '--store', 'memory',
    '--max-sessions', '2000', '--hostile', '6', '--max-rss', '250', '--max-rss-slope', 'none'])
  const h = summary.hostile
  t.diagnostic(`${h.requestsPerSecond} hostile requests/s (${h.writer} cookie-less writes); logins ${summary.counts.logins}; ` +
    `RSS max ${summary.memory.rssMB.max} MB, ${summary.memory.rssSlopeMBPerMin} MB/min; heap ${summary.memory.heapSlopeMBPerMin} MB/min`)
  assert.deepEqual({ violations: summary.violations, examples: summary.examples }, { violations: {}, examples: [] },
    `no violation; [second, RSS MB, heap MB]: ${JSON.stringify(summary.memory.series)}`)
  assert.equal(code, 0, `the soak exits 0: ${err.slice(0, 2000)}`)
  assert.ok(summary.memory.samplesAfterWarmup >= 10, `memory sampled after warm-up: ${summary.memory.samplesAfterWarmup}`)
  assert.equal(summary.memory.bounds.rssMB, 250)
  // Far past the anonymous quota, and every kind of hostile request sent in numbers.
  assert.ok(h.writer >= 2000, `cookie-less writers (twice the quota): ${h.writer}`)
  for (const kind of ['padded', 'bearer', 'flood']) assert.ok(h[kind] >= 1000, `${kind}: ${h[kind]}`)
  // Oversized writes refused (413, judged per request by the soak) and accounts logging in
  // past their session cap (each holds at most 100 at the end, judged by the soak).
  assert.ok(h.oversized >= 500, `oversized writes: ${h.oversized}`)
  assert.ok(h.churn >= 500 && h.churnSessionsMax >= 99, `churn logins and logouts: ${h.churn}, largest account ${h.churnSessionsMax}`)
  assert.ok(summary.counts.logins >= 50, `logins beside them: ${summary.counts.logins}`)
  assert.ok(!Object.keys(summary.byStatus).some((s) => Number(s) >= 500), 'no 5xx')
})
