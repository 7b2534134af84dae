// Session-engine benchmark: create (login), refresh and patchData operations per second for
// each store `js/index.js` exports and this machine can open, and bytes per session in our
// MemoryStore next to express-session's MemoryStore holding the same data.
//
// Throughput: for each store, each round starts a fresh store and `Engine` (real clock, default
// session options, background sync every 500 ms as in production) and times, round-robin with
// the start rotated each round:
//   create   `engine.create({userId, data})`, a new session each call;
//   refresh  `engine.refresh(token)` along real rotation chains: each chain presents the token
//            its previous refresh returned (never a grace replay), one chain per worker;
//   patch    `engine.patchData(handle, {views: n})` over a pool of 256 live sessions.
// Each is run with CONCURRENCY calls in flight (workers awaiting one call at a time) and, for
// reference, with 1 in flight. A measurement stops at MAX_OPS calls or MAX_MS ms, whichever
// comes first; the figure is the median over ROUNDS rounds of ops / wall time. Every result is
// checked while timing (a refresh that is not 'refreshed' with a new token aborts the bench).
//
// Memory: a fresh `node --expose-gc` child per measurement stores N sessions and reports the
// growth of process.memoryUsage() after full GCs, divided by N (median of MEM_REPEATS
// children). Our MemoryStore keeps its sessions in Rust (malloc), outside V8's heap and
// outside `external` (no ArrayBuffers), so for ours the figure is RSS growth; express-session's
// MemoryStore keeps JSON strings in the V8 heap, so for it the figure is heapUsed + external
// growth (RSS growth is shown for both).
//
// Run pinned to one core: `npm run bench:engine` (bench/run-engine.sh does `taskset -c 1`;
// the memory children inherit the pinning). Results go to stdout and bench/ENGINE-RESULTS.md.
// Not a test: nothing here fails on a slow number.
//
// Env: BENCH_ROUNDS (default 5), BENCH_MAX_MS per measurement (default 600), BENCH_MAX_OPS
//      (default 100000), BENCH_CONCURRENCY (default 16), BENCH_MEM_N (default 20000),
//      BENCH_MEM_REPEATS (default 3), BENCH_NO_WRITE=1 to skip writing ENGINE-RESULTS.md,
//      TANDEM_REDIS_URL / TANDEM_PG_URL to include RedisStore / PostgresStore when exported;
//      BENCH_ADDON_NOTE, BENCH_SERVER_NOTE: free text for ENGINE-RESULTS.md (which addon, which servers).

import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import v8 from 'node:v8'
import vm from 'node:vm'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { machine as sharedMachine } from './machine.mjs'
import { performance } from 'node:perf_hooks'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
const root = path.join(here, '..')
const self = fileURLToPath(import.meta.url)

const lib = require('../js/index.js')
const { Engine } = lib

const SECRET = 'bench-engine-secret-bench-engine-secret!'
const CART = () => ['sku-1001', 'sku-2002', 'sku-3003']
const THIRTY_DAYS = 30 * 24 * 3600 * 1000
const DEVICE = {
  ip: '203.0.113.42',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
}

// ---------------------------------------------------------------------------------------------
// Memory child: `node --expose-gc bench/engine.mjs --mem-child <variant> <N>`; prints one JSON line.

const MEM_VARIANTS = {
  ours: 'ours: MemoryStore via Engine#create({userId, data: {cart, views}})',
  oursDup: 'ours, userId also in data: create({userId, data: {userId, cart, views}})',
  oursDevice: 'ours + device: create({userId, data: {cart, views}, device: {ip, userAgent}})',
  express: "express-session MemoryStore#set(sid, {cookie, userId, cart, views})",
}

async function memChild(variant, n) {
  if (typeof globalThis.gc !== 'function') throw new Error('memory child needs --expose-gc')
  const settle = () => new Promise((resolve) => setImmediate(resolve))
  const fullGc = async () => {
    for (let i = 0; i < 4; i++) { globalThis.gc(); await settle() }
  }
  const WARM = 1000
  const BATCH = 64
  let put // (i) => Promise
  let check // () => Promise<string|null> (error text)
  let keep // the store must stay reachable until the last measurement
  if (variant === 'express') {
    const session = require('express-session')
    const store = new session.MemoryStore()
    keep = store
    const sids = []
    put = (i) => new Promise((resolve, reject) => {
      const sid = crypto.randomBytes(24).toString('base64url') // express-session's uid-safe(24): 32 chars
      const cookie = new session.Cookie({ maxAge: THIRTY_DAYS, httpOnly: true, path: '/' })
      const sess = { cookie, userId: `user-${i}`, cart: CART(), views: 1 }
      if (i === 0 || i === n - 1) sids.push(sid)
      store.set(sid, sess, (err) => (err ? reject(err) : resolve()))
    })
    check = async () => {
      const count = Object.keys(store.sessions).length
      if (count !== n + WARM) return `express store holds ${count}, expected ${n + WARM}`
      const json = store.sessions[sids[sids.length - 1]]
      const parsed = JSON.parse(json)
      const keys = Object.keys(parsed.cookie).join(',')
      if (keys !== 'originalMaxAge,expires,httpOnly,path') return `cookie keys ${keys}`
      if (parsed.userId !== `user-${n - 1}` || parsed.cart.length !== 3 || parsed.views !== 1) return 'express data'
      return null
    }
  } else {
    const store = new lib.NativeMemoryStore({ maxSessions: n + WARM + 10 })
    const engine = await Engine.start({ store, secret: [SECRET] })
    keep = engine
    const handles = []
    put = async (i) => {
      const userId = `user-${i}`
      const s = { userId, data: { cart: CART(), views: 1 } }
      if (variant === 'oursDup') s.data = { userId, cart: CART(), views: 1 }
      if (variant === 'oursDevice') s.device = { ...DEVICE }
      const t = await engine.create(s)
      if (i === 0 || i === n - 1) handles.push(t.handle)
    }
    check = async () => {
      const got = await engine.get(handles[handles.length - 1])
      if (!got || got.userId !== `user-${n - 1}` || got.data.cart.length !== 3 || got.data.views !== 1) {
        return `ours: get returned ${JSON.stringify(got)}`
      }
      return null
    }
  }
  // Warm up: load code, start the runtime's threads, grow the tables a little.
  for (let i = 0; i < WARM; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, WARM - i) }, (_, k) => put(n + i + k)))
  }
  await fullGc()
  const before = process.memoryUsage()
  const t0 = performance.now()
  for (let i = 0; i < n; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => put(i + k)))
  }
  const fillMs = performance.now() - t0
  await fullGc()
  const after = process.memoryUsage()
  const err = await check()
  if (err) throw new Error(`memory child ${variant}: ${err}`)
  const per = (k) => (after[k] - before[k]) / n
  process.stdout.write(JSON.stringify({
    variant, n, fillMs,
    rss: per('rss'), heapUsed: per('heapUsed'), heapTotal: per('heapTotal'),
    external: per('external'), arrayBuffers: per('arrayBuffers'),
    before, after, kept: typeof keep,
  }) + '\n')
}

if (process.argv[2] === '--mem-child') {
  await memChild(process.argv[3], Number(process.argv[4]))
  process.exit(0)
}

// ---------------------------------------------------------------------------------------------
// Settings

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const MAX_MS = Number(process.env.BENCH_MAX_MS ?? 600)
const MAX_OPS = Number(process.env.BENCH_MAX_OPS ?? 100_000)
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16)
const MEM_N = Number(process.env.BENCH_MEM_N ?? 20_000)
const MEM_REPEATS = Number(process.env.BENCH_MEM_REPEATS ?? 3)
const PATCH_POOL = 256

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

// ---------------------------------------------------------------------------------------------
// Stores: every one index.js exports that can be opened here.

const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-engine-'))
process.on('exit', () => { try { fs.rmSync(tmpDir, { recursive: true, force: true }) } catch {} })
let sqliteN = 0

const hostOf = (u) => { try { return new URL(u).host } catch { return '?' } }

// Constructors are tried with the option shapes below in turn (the SQL/Redis facades are not in
// js/ yet; their option names are a guess until they land).
function construct(Cls, shapes) {
  let last
  for (const s of shapes) {
    try { return new Cls(s) } catch (e) { last = e }
  }
  throw last
}

const storeDefs = [
  {
    name: 'MemoryStore',
    open: () => new lib.NativeMemoryStore({ maxSessions: 2 * MAX_OPS + 4 * PATCH_POOL + 1000 }),
    note: 'in-process, Rust HashMap behind one mutex',
  },
  {
    name: 'SqliteStore',
    open: () => {
      const p = path.join(tmpDir, `bench-${process.pid}-${sqliteN++}.db`)
      return construct(lib.SqliteStore, [{ path: p }, p, { filename: p }])
    },
    note: `temp file under ${os.tmpdir()}; WAL, synchronous=FULL`,
  },
  {
    name: 'RedisStore',
    env: 'TANDEM_REDIS_URL',
    open: () => construct(lib.RedisStore, [{ url: process.env.TANDEM_REDIS_URL }, process.env.TANDEM_REDIS_URL]),
    note: `server at ${hostOf(process.env.TANDEM_REDIS_URL)}, from TANDEM_REDIS_URL`,
  },
  {
    name: 'PostgresStore',
    env: 'TANDEM_PG_URL',
    open: () => construct(lib.PostgresStore, [
      { connectionString: process.env.TANDEM_PG_URL }, { url: process.env.TANDEM_PG_URL }, process.env.TANDEM_PG_URL]),
    note: `server at ${hostOf(process.env.TANDEM_PG_URL)}, from TANDEM_PG_URL`,
  },
]

// ---------------------------------------------------------------------------------------------
// Correctness, before anything is timed.

const fail = (m) => { throw new Error(`bench precondition failed: ${m}`) }
const cookie = (at) => `__Host-at=${at}`

async function assertStore(def) {
  const engine = await Engine.start({ store: def.open(), secret: [SECRET] })
  const t = await engine.create({ userId: 'user-1', data: { cart: CART(), views: 1 } })
  if (typeof t.accessToken !== 'string' || typeof t.refreshToken !== 'string') fail(`${def.name}: create tokens`)
  const v = engine.verifyRequest(cookie(t.accessToken), null)
  if (!v.ok || v.claims.sub !== 'user-1' || v.claims.sid !== t.handle) fail(`${def.name}: verifyRequest of a new login`)
  if (!engine.verifyRequest(null, `Bearer ${t.accessToken}`).ok) fail(`${def.name}: verifyRequest (Authorization)`)
  // A chain of rotations: each refresh presents what the previous one returned.
  let tok = t.refreshToken
  const seen = new Set([tok])
  for (let i = 0; i < 5; i++) {
    const r = await engine.refresh(tok)
    if (r.outcome !== 'refreshed' || !r.tokens) fail(`${def.name}: refresh ${i}: ${r.outcome} ${r.code ?? ''}`)
    if (seen.has(r.tokens.refreshToken)) fail(`${def.name}: refresh ${i} returned a token already seen`)
    if (r.tokens.handle !== t.handle) fail(`${def.name}: refresh changed the handle`)
    const rv = engine.verifyRequest(cookie(r.tokens.accessToken), null)
    if (!rv.ok || rv.claims.sid !== t.handle) fail(`${def.name}: refreshed access token does not verify`)
    seen.add(r.tokens.refreshToken)
    tok = r.tokens.refreshToken
  }
  // A token two rotations old is theft, not a refresh: the chain is real rotation.
  const t2 = await engine.create({ userId: 'user-2' })
  const a = await engine.refresh(t2.refreshToken)
  const b = await engine.refresh(a.tokens.refreshToken)
  if (b.outcome !== 'refreshed') fail(`${def.name}: second rotation`)
  const stale = await engine.refresh(t2.refreshToken)
  if (stale.outcome !== 'theft') fail(`${def.name}: a token two rotations old gave ${stale.outcome}, expected theft`)
  // patchData bumps the version and the data reads back.
  const v1 = await engine.patchData(t.handle, { views: 2 })
  const v2 = await engine.patchData(t.handle, { views: 3 })
  if (v1 !== 1 || v2 !== 2) fail(`${def.name}: patchData versions ${v1}, ${v2}`)
  const got = await engine.get(t.handle)
  if (got.data.views !== 3 || got.data.cart.length !== 3 || got.userId !== 'user-1') fail(`${def.name}: get after patch`)
}

// ---------------------------------------------------------------------------------------------
// Timing: `workers` loops, each awaiting one call at a time, until MAX_OPS calls were started
// or MAX_MS passed; wall time from the first start to the last completion.

async function timed(workers, body) {
  let started = 0
  let done = 0
  const t0 = performance.now()
  const deadline = t0 + MAX_MS
  await Promise.all(Array.from({ length: workers }, async (_, w) => {
    while (started < MAX_OPS && performance.now() < deadline) {
      const i = started++
      await body(w, i)
      done++
    }
  }))
  const ms = performance.now() - t0
  return { ops: done, ms, opsPerSec: (done * 1000) / ms }
}

const OPS = ['create', 'refresh', 'patch']

// One round for one store: a fresh store and engine, then each op at each concurrency.
async function round(def, r, concurrencies) {
  const engine = await Engine.start({ store: def.open(), secret: [SECRET] })
  const out = {}
  let userN = 0
  // Chains for refresh (one per worker, the largest concurrency) and the patch pool.
  const maxC = Math.max(...concurrencies)
  const chains = []
  for (let w = 0; w < maxC; w++) chains.push((await engine.create({ userId: `chain-${w}` })).refreshToken)
  const pool = []
  for (let i = 0; i < PATCH_POOL; i += 16) {
    const batch = await Promise.all(Array.from({ length: 16 }, (_, k) =>
      engine.create({ userId: `pool-${i + k}`, data: { cart: CART(), views: 1 } })))
    pool.push(...batch.map((t) => t.handle))
  }
  const bodies = {
    create: async () => {
      const i = userN++
      const t = await engine.create({ userId: `user-${i}`, data: { cart: CART(), views: 1 } })
      if (!t.refreshToken) fail('create returned no refresh token')
    },
    refresh: async (w) => {
      const res = await engine.refresh(chains[w])
      if (res.outcome !== 'refreshed' || res.tokens.refreshToken === chains[w]) {
        fail(`refresh chain ${w}: ${res.outcome} ${res.code ?? ''}`)
      }
      chains[w] = res.tokens.refreshToken
    },
    patch: async (w, i) => {
      const v = await engine.patchData(pool[i % PATCH_POOL], { views: i })
      if (typeof v !== 'number') fail(`patchData returned ${v}`)
    },
  }
  const jobs = []
  for (const c of concurrencies) for (const op of OPS) jobs.push({ op, c })
  const order = jobs.map((_, i) => jobs[(i + r) % jobs.length])
  for (const { op, c } of order) {
    gc()
    out[`${op}@${c}`] = await timed(c, bodies[op])
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Machine info (as bench/verify.mjs)

function machine() {
  return sharedMachine(['express-session'])
}

// ---------------------------------------------------------------------------------------------
// Run

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const spreadOf = (xs) => (Math.max(...xs) - Math.min(...xs)) / median(xs)
const pad = (s, n, right = false) => (right ? String(s).padStart(n) : String(s).padEnd(n))
const fmtOps = (x) => Math.round(x).toLocaleString('en-US')
const fmtUs = (opsPerSec, c) => ((c * 1e6) / opsPerSec).toFixed(1)
const fmtB = (x) => Math.round(x).toLocaleString('en-US')

const info = machine()
const t0 = Date.now()
const concurrencies = [...new Set([CONCURRENCY, 1])]

console.log(`tandem-session engine bench: ${ROUNDS} rounds, <= ${MAX_MS} ms or ${MAX_OPS} ops per measurement, ` +
  `concurrency ${concurrencies.join(' and ')}`)
console.log(`CPU ${info.cpu}; ${info.cores} cores; pinned to CPU(s) ${info.affinity}; node ${info.node}; load ${info.load}`)
console.log(`addon ${info.addon.file}, ${(info.addon.size / 1024).toFixed(0)} KiB, built ${info.addon.mtime}; express-session ${info.versions['express-session']}`)
if (info.addon.debugInfo) {
  console.log('WARNING: the addon carries debug info; is it a debug build? Run `npm run build` (release) first')
}
if (info.affinity.includes(',') || info.affinity.includes('-')) {
  console.log('WARNING: not pinned to one core; use `npm run bench:engine` (taskset -c 1) for comparable numbers')
}

// Which stores run.
const stores = []
const skipped = []
for (const def of storeDefs) {
  if (typeof lib[def.name] !== 'function') { skipped.push({ name: def.name, why: 'not exported by js/index.js yet' }); continue }
  if (def.env && !process.env[def.env]) { skipped.push({ name: def.name, why: `skipped (set ${def.env})` }); continue }
  try {
    await assertStore(def)
    stores.push(def)
  } catch (e) {
    if (String(e.message).startsWith('bench precondition failed')) throw e
    if (def.name === 'MemoryStore') {
      if (/Failed to get constructor of class `NativeStore`/.test(e.message)) {
        e.message += ' (the addon registered the store class under another name: napi-derive expands ' +
          "engine.rs's `#[napi] impl NapiStore` before store.rs's struct and falls back to the Rust name; " +
          'seen in release builds)'
      }
      throw e
    }
    skipped.push({ name: def.name, why: `cannot be opened here: ${e.code ?? ''} ${e.message}`.trim() })
  }
}
for (const s of skipped) console.log(`${s.name}: ${s.why}`)
console.log(`stores: ${stores.map((s) => s.name).join(', ')}; correctness checked (create verifies, refresh rotates, ` +
  'stale token is theft, patchData versions)')

// Throughput.
const results = {} // store -> key -> [opsPerSec per round]
for (const def of stores) {
  results[def.name] = {}
  for (let r = 0; r < ROUNDS; r++) {
    const out = await round(def, r, concurrencies)
    for (const [k, v] of Object.entries(out)) (results[def.name][k] ??= []).push(v)
    gc()
    process.stdout.write(`  ${def.name} round ${r + 1}/${ROUNDS} done (${((Date.now() - t0) / 1000).toFixed(0)} s)\n`)
  }
}

const rows = []
for (const def of stores) {
  for (const c of concurrencies) {
    for (const op of OPS) {
      const xs = results[def.name][`${op}@${c}`]
      const rates = xs.map((x) => x.opsPerSec)
      rows.push({
        store: def.name, op, c, med: median(rates), spread: spreadOf(rates), rates,
        ops: xs.map((x) => x.ops), ms: xs.map((x) => x.ms),
      })
    }
  }
}

console.log('')
console.log(`${pad('store', 14)} ${pad('op', 8)} ${pad('in flight', 9, true)} ${pad('ops/s', 10, true)} ${pad('us/op*c', 8, true)} ${pad('spread', 7, true)}  per-round ops/s`)
for (const r of rows) {
  console.log(`${pad(r.store, 14)} ${pad(r.op, 8)} ${pad(r.c, 9, true)} ${pad(fmtOps(r.med), 10, true)} ${pad(fmtUs(r.med, r.c), 8, true)} ` +
    `${pad((r.spread * 100).toFixed(1) + '%', 7, true)}  ${r.rates.map(fmtOps).join(' ')}`)
}

// Memory: fresh children.
console.log('')
console.log(`memory: ${MEM_REPEATS} fresh child(ren) per variant, N = ${MEM_N} sessions each`)
const mem = {}
for (let k = 0; k < MEM_REPEATS; k++) {
  for (const variant of Object.keys(MEM_VARIANTS)) {
    const p = spawnSync(process.execPath, ['--expose-gc', self, '--mem-child', variant, String(MEM_N)], {
      cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
    })
    if (p.status !== 0) throw new Error(`memory child ${variant} failed (status ${p.status})`)
    ;(mem[variant] ??= []).push(JSON.parse(p.stdout.trim().split('\n').pop()))
  }
}
const memRows = Object.keys(MEM_VARIANTS).map((variant) => {
  const xs = mem[variant]
  const m = (f) => median(xs.map(f))
  const heapExt = m((x) => x.heapUsed + x.external)
  const rss = m((x) => x.rss)
  return {
    variant, label: MEM_VARIANTS[variant],
    rss, heapUsed: m((x) => x.heapUsed), heapTotal: m((x) => x.heapTotal), external: m((x) => x.external), heapExt,
    primary: variant === 'express' ? heapExt : rss,
    primaryName: variant === 'express' ? 'heapUsed + external' : 'RSS',
    rssRuns: xs.map((x) => x.rss), heapExtRuns: xs.map((x) => x.heapUsed + x.external),
    fillMs: m((x) => x.fillMs),
  }
})
const exp = memRows.find((r) => r.variant === 'express')
console.log(`${pad('variant', 82)} ${pad('RSS', 7, true)} ${pad('heapUsed', 9, true)} ${pad('heapTotal', 9, true)} ${pad('external', 9, true)} ${pad('used', 7, true)} ${pad('vs express', 11, true)}`)
for (const r of memRows) {
  console.log(`${pad(r.label, 82)} ${pad(fmtB(r.rss), 7, true)} ${pad(fmtB(r.heapUsed), 9, true)} ${pad(fmtB(r.heapTotal), 9, true)} ${pad(fmtB(r.external), 9, true)} ` +
    `${pad(fmtB(r.primary), 7, true)} ${pad((r.primary / exp.primary).toFixed(2) + 'x', 11, true)}`)
}
console.log(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`)

// ---------------------------------------------------------------------------------------------
// ENGINE-RESULTS.md

if (process.env.BENCH_NO_WRITE !== '1') {
  const ours = memRows.find((r) => r.variant === 'ours')
  const md = `# Session-engine benchmark results

Generated by \`npm run bench:engine\` (\`bench/run-engine.sh\` → \`taskset -c 1 node bench/engine.mjs\`)
on ${info.date}. Do not edit by hand; re-run the bench.

## Machine

| | |
|---|---|
| CPU | ${info.cpu} |
| Cores / pinned to | ${info.cores} / CPU ${info.affinity} (the addon's runtime threads and the memory children too) |
| OS | ${info.kernel} |
| Node | ${info.node} (V8 ${info.v8}) |
| Load average at start | ${info.load} |
| tandem-session | ${info.versions['tandem-session']}; addon \`${info.addon.file}\`, ${(info.addon.size / 1024).toFixed(0)} KiB, built ${info.addon.mtime}${info.addon.debugInfo ? ' (HAS DEBUG INFO: not a release build?)' : ''}${info.addon.note ? `; ${info.addon.note}` : ''} |
| express-session | ${info.versions['express-session']} |

## Settings

- Stores measured: ${stores.map((s) => `${s.name} (${s.note})`).join('; ')}.
${skipped.map((s) => `- ${s.name}: ${s.why}.\n`).join('')}${process.env.BENCH_SERVER_NOTE ? `- Servers: ${process.env.BENCH_SERVER_NOTE}\n` : ''}- Engine: \`Engine.start({store, secret: [32+ chars]})\`, real clock, default session options
  (HS256 access tokens, 10 s refresh grace, background sync of revocations and keys every 500 ms,
  running during the measurements as it would in production).
- Each round starts a fresh store and engine, creates ${Math.max(...concurrencies)} sessions for the refresh chains and
  ${PATCH_POOL} sessions (with data) for the patch pool, then times each operation at each concurrency,
  round-robin with the start rotated per round. A measurement stops at ${MAX_OPS.toLocaleString('en-US')} calls or
  ${MAX_MS} ms; the figure is the median over ${ROUNDS} rounds of calls / wall time.
- create: \`engine.create({userId: 'user-<i>', data: {cart: [3 short strings], views: 1}})\`, a new
  session each call (the store grows by up to ${MAX_OPS.toLocaleString('en-US')} per measurement).
- refresh: real rotation chains: each of the *c* workers owns a session and presents the refresh
  token its previous refresh returned; every result must be \`'refreshed'\` with a new token.
- patch: \`engine.patchData(handle, {views: i})\` over the ${PATCH_POOL}-session pool; must return a version.
- "in flight" is how many calls are awaited at once (workers each awaiting one call at a time).
  "µs/op × c" is in-flight / ops-per-s: the mean time one call takes when *c* are in flight.
- Before timing, each store is checked: a new login's access token passes \`verifyRequest\`
  (cookie and Bearer), five chained refreshes each return \`'refreshed'\`, a new refresh token
  and an access token that verifies, a token two rotations old is \`'theft'\`, and
  \`patchData\` returns versions 1, 2 with the data reading back.

## Throughput

| Store | Operation | In flight | ops/s (median) | µs/op × c | spread | ops/s per round |
|---|---|---:|---:|---:|---:|---|
${rows.map((r) => `| ${r.store} | ${r.op} | ${r.c} | ${fmtOps(r.med)} | ${fmtUs(r.med, r.c)} | ${(r.spread * 100).toFixed(1)}% | ${r.rates.map(fmtOps).join(', ')} |`).join('\n')}

"spread" is (max − min) / median of the per-round figures.

## Memory per session

N = ${MEM_N.toLocaleString('en-US')} sessions, each holding \`{userId: 'user-<i>', cart: ['sku-1001', 'sku-2002', 'sku-3003'], views: 1}\`,
stored in a fresh \`node --expose-gc\` child per measurement (median of ${MEM_REPEATS} children per variant).
Each child first stores 1,000 warm-up sessions (code loaded, runtime threads started), runs full
GCs, reads \`process.memoryUsage()\`, stores N more (64 in flight), runs full GCs again and
divides the growth by N. The tokens and objects returned by \`create\` are dropped (the client
would hold them, not the server).

- ours: our \`MemoryStore\` through \`Engine#create\`; the userId is the session's user and the data
  is \`{cart, views}\`. Also shown with the userId duplicated into the data, and with a
  device (IP and a ${DEVICE.userAgent.length}-character User-Agent, kept for login and last refresh).
- express-session: its \`MemoryStore#set(sid, session, cb)\` with a 32-character sid like its
  \`uid-safe(24)\` and a session \`{cookie, userId, cart, views}\` whose cookie is express-session's own
  \`Cookie({maxAge: 30 days, httpOnly: true, path: '/'})\`, i.e. stored as
  \`{"cookie":{"originalMaxAge":…,"expires":"…","httpOnly":true,"path":"/"},"userId":…,"cart":[…],"views":1}\`.

Which number is which: our store keeps its sessions in Rust memory (the global allocator), which
is neither V8's heap nor \`external\` (that counts ArrayBuffers and externally reported memory),
so for ours the figure used is **RSS growth**. It is an upper bound: it also holds what V8
reserved while collecting the garbage of ${MEM_N.toLocaleString('en-US')} calls (the heapTotal column,
${fmtB(memRows.find((r) => r.variant === 'ours').heapTotal)} bytes/session here, so the Rust side is about
${fmtB(memRows.find((r) => r.variant === 'ours').rss - memRows.find((r) => r.variant === 'ours').heapTotal)}) and whatever the allocator keeps
from freed blocks. express-session's \`MemoryStore\` keeps one JSON string per sid in a plain
object inside the V8 heap, so for it the figure used is **heapUsed + external growth**: what
its sessions occupy. Its RSS growth is shown too; it is dominated by heap V8 reserved during the
fill and had not given back after the GCs (its heapTotal column), so "vs express (RSS)" compares
two upper bounds, and "vs express (used)" compares our upper bound with its live bytes.

| Store / variant | bytes/session used | RSS | heapUsed | heapTotal | external | vs express (used) | vs express (RSS) | RSS per child |
|---|---:|---:|---:|---:|---:|---:|---:|---|
${memRows.map((r) => `| ${r.label} | **${fmtB(r.primary)}** (${r.primaryName}) | ${fmtB(r.rss)} | ${fmtB(r.heapUsed)} | ${fmtB(r.heapTotal)} | ${fmtB(r.external)} | ${(r.primary / exp.primary).toFixed(2)}x | ${(r.rss / exp.rss).toFixed(2)}x | ${r.rssRuns.map(fmtB).join(', ')} |`).join('\n')}

Headline: ours ${fmtB(ours.primary)} bytes/session (RSS) against express-session's ${fmtB(exp.primary)}
(heapUsed + external): ${(ours.primary / exp.primary).toFixed(2)}x; RSS against RSS: ${fmtB(ours.rss)} against ${fmtB(exp.rss)}, ${(ours.rss / exp.rss).toFixed(2)}x.
Where ours goes: each session is a \`SessionRecord\` stored inline in a \`HashMap\` (handle,
user id, refresh state with two SHA-256 digests and a salt, timestamps, two device records,
claims and data as \`serde_json\` maps: a B-tree node per non-empty map, a \`Value\` per element,
a heap block per string), plus an entry in the per-user index (a \`HashSet\` per user) and the
tables' spare capacity, which grows by doubling, so bytes/session moves with N.

## Notes

- Every call is async: the JS call hands the work to the addon's tokio runtime and the result
  comes back through a promise, so with one call in flight the memory store's figures are
  mostly that round trip; with ${CONCURRENCY} in flight the calls overlap on the single pinned core.
- refresh reads the session (\`store.get\`) and then rotates it with a compare-and-set write
  (\`store.rotate\`): two store operations, where create is one insert and patch one
  read-modify-write. On the networked stores that is two round trips per refresh.
- create signs an access token and issues a refresh token, as refresh does, and inserts a new
  record into a growing store (each round's store starts empty).
- SQLite commits each write in its own \`BEGIN IMMEDIATE\` transaction with
  \`synchronous = FULL\`, so its figures are bound by the disk's fsync latency; writes are
  serialised, so more calls in flight help little.
`
  fs.writeFileSync(path.join(here, 'ENGINE-RESULTS.md'), md)
  console.log('wrote bench/ENGINE-RESULTS.md')
}
