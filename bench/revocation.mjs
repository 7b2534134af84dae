// How fast a revocation made in one process is refused in another (issue 17, point 1):
// process A (this one) and process B (a child) each run an Engine over the same store with
// the default options (syncInterval 500 ms: with a live subscription B polls only every
// 5 s, so what B sees sooner it heard pushed). For each event A makes a session, hands its
// access token to B (which checks it verifies), then revokes it: a logout (`revoke`), a
// logout everywhere (`revokeUser`) or a theft (a rotated refresh token replayed), in turn.
// B spins on `verifyAccessToken` until the token is refused and reports when, on the
// machine's monotonic clock (`process.hrtime`, shared by the processes of one machine).
// The latency is from just before A's call to B's refusal: it includes A's store write.
// Goal: p99 within 50 ms over 100 events, for each store that pushes (Redis, a Redis
// Cluster, PostgreSQL); SQLite, which has no push, is measured beside them as the anchor
// (it polls every syncInterval). B's verify stays I/O-free: the loop is in memory.
//
// Usage: taskset -c 0 node bench/revocation.mjs [events per store, default 100]
// (BENCH_ROUNDS rounds per store, default 3; the table gives the medians over them)
// Env: TANDEM_REDIS_URL, TANDEM_REDIS_CLUSTER (comma-separated), TANDEM_PG_URL; a store
// whose variable is unset is skipped. Writes bench/REVOCATION-RESULTS.md. Pinned: A on core
// 0, B on core 1 (taskset when present). Databases: Redis /10, PostgreSQL database
// `tandem_bench_revocation` (created), a fresh SQLite file; each run uses a new prefix or
// schema, so nothing is shared with the tests.

import { spawn, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const here = dirname(fileURLToPath(import.meta.url))
const session = require('../js/index.js')

const SECRET = 'bench-revocation-secret-long-enough-000000001'
const EVENTS = Number(process.argv[2] ?? 100)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const KINDS = ['logout', 'everywhere', 'theft']

function storeFor (spec) {
  switch (spec.kind) {
    case 'redis': return new session.RedisStore({ url: spec.url, prefix: spec.prefix })
    case 'cluster': return new session.RedisStore({ cluster: spec.urls, prefix: spec.prefix })
    case 'postgres': return new session.PostgresStore({ connectionString: spec.url, schema: spec.schema })
    case 'sqlite': return new session.SqliteStore({ path: spec.path })
  }
  throw new Error('unknown store ' + spec.kind)
}

// ---- Process B: verify until refused. ----
async function child () {
  const spec = JSON.parse(process.env.BENCH_STORE)
  const engine = await session.Engine.start({ secret: [SECRET], store: storeFor(spec) })
  const refused = (token) => { try { engine.verifyAccessToken(token); return false } catch { return true } }
  process.on('message', (m) => {
    if (m.type === 'watch') {
      if (refused(m.token)) return process.send({ type: 'error', message: 'refused before the revocation' })
      process.send({ type: 'watching' })
      const spin = () => {
        if (refused(m.token)) return process.send({ type: 'refused', at: process.hrtime.bigint().toString() })
        setImmediate(spin)
      }
      spin()
    } else if (m.type === 'stop') process.exit(0)
  })
  process.send({ type: 'ready' })
}

// ---- Process A. ----
function nextMessage (p, type) {
  return new Promise((resolve, reject) => {
    const on = (m) => {
      if (m.type === 'error') { p.off('message', on); reject(new Error(m.message)) }
      if (m.type === type) { p.off('message', on); resolve(m) }
    }
    p.on('message', on)
  })
}

function pinned (core, args) {
  try { execFileSync('taskset', ['-c', '0', 'true']); return ['taskset', ['-c', String(core), ...args]] } catch { return [args[0], args.slice(1)] }
}

async function revokeOne (engine, kind, user) {
  const t = await engine.create({ userId: user })
  return {
    token: t.accessToken,
    revoke: async () => {
      if (kind === 'logout') return engine.revoke(t.handle)
      if (kind === 'everywhere') return engine.revokeUser(user)
      const r1 = await engine.refresh(t.refreshToken)
      await engine.refresh(r1.tokens.refreshToken)
      const replay = await engine.refresh(t.refreshToken)
      if (replay.outcome !== 'theft') throw new Error('expected a theft, got ' + replay.outcome)
    }
  }
}

async function measure (spec) {
  const engine = await session.Engine.start({ secret: [SECRET], store: storeFor(spec) })
  const [cmd, args] = pinned(1, [process.execPath, fileURLToPath(import.meta.url), '--child'])
  const b = spawn(cmd, args, { env: { ...process.env, BENCH_STORE: JSON.stringify(spec) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  await nextMessage(b, 'ready')
  // Let B's first sync and subscription settle (a subscription is made at its start).
  await new Promise((resolve) => setTimeout(resolve, 300))
  const ms = []
  for (let i = 0; i < EVENTS; i++) {
    const kind = KINDS[i % KINDS.length]
    // Theft needs the refresh rotations to leave the grace window: wait it out.
    const one = await revokeOne(engine, kind, `bench-${i}-${randomBytes(4).toString('hex')}`)
    b.send({ type: 'watch', token: one.token })
    await nextMessage(b, 'watching')
    const refused = nextMessage(b, 'refused')
    const t0 = process.hrtime.bigint()
    await one.revoke()
    const { at } = await refused
    ms.push(Number(BigInt(at) - t0) / 1e6)
  }
  b.send({ type: 'stop' })
  ms.sort((x, y) => x - y)
  const q = (p) => ms[Math.min(ms.length - 1, Math.ceil(p * ms.length) - 1)]
  return { p50: q(0.5), p99: q(0.99), max: ms[ms.length - 1], n: ms.length }
}

async function main () {
  const run = randomBytes(4).toString('hex')
  const specs = []
  const tmp = mkdtempSync(join(tmpdir(), 'tandem-bench-revocation-'))
  specs.push({ name: 'SqliteStore (no push: polls every 500 ms)', push: false, kind: 'sqlite', path: join(tmp, 's.sqlite3') })
  if (process.env.TANDEM_REDIS_URL) {
    specs.push({ name: 'RedisStore (pub/sub)', push: true, kind: 'redis', url: process.env.TANDEM_REDIS_URL.replace(/\/\d*$/, '') + '/10', prefix: `bench-${run}:` })
  }
  if (process.env.TANDEM_REDIS_CLUSTER) {
    specs.push({ name: 'RedisStore, Redis Cluster (pub/sub)', push: true, kind: 'cluster', urls: process.env.TANDEM_REDIS_CLUSTER.split(',').map((s) => s.trim()), prefix: `bench-${run}:` })
  }
  if (process.env.TANDEM_PG_URL) {
    const url = process.env.TANDEM_PG_URL.replace(/\/[^/]*$/, '/tandem_bench_revocation')
    const { Client } = require('pg')
    const admin = new Client({ connectionString: process.env.TANDEM_PG_URL })
    await admin.connect()
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'tandem_bench_revocation'")
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE tandem_bench_revocation')
    await admin.end()
    specs.push({ name: 'PostgresStore (LISTEN/NOTIFY)', push: true, kind: 'postgres', url, schema: `bench_${run}` })
  }
  const rows = []
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  for (const spec of specs) {
    const rounds = []
    for (let i = 0; i < ROUNDS; i++) rounds.push(await measure(spec))
    const r = { n: rounds[0].n, p50: median(rounds.map((x) => x.p50)), p99: median(rounds.map((x) => x.p99)), max: median(rounds.map((x) => x.max)) }
    const met = spec.push ? (r.p99 <= 50 ? 'met' : 'missed') : '—'
    const each = rounds.map((x) => x.p99.toFixed(1)).join(', ')
    rows.push(`| ${spec.name} | ${r.n} × ${ROUNDS} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${each} | ${r.max.toFixed(1)} | ${spec.push ? '≤ 50 ms p99: ' + met : 'anchor'} |`)
    console.log(rows[rows.length - 1])
  }
  rmSync(tmp, { recursive: true, force: true })
  const md = `# Revocation across processes

Generated by \`node bench/revocation.mjs ${EVENTS}\` on ${new Date().toISOString().slice(0, 10)}
(${process.version}, ${process.platform}/${process.arch}). Two processes, each an \`Engine\`
with the default options over one store; A on core 0, B on core 1. Events: logouts,
logouts everywhere and thefts in turn, in ${ROUNDS} rounds (each a fresh pair of
processes); p50, p99 and max are the medians over the rounds. Latency: from just before
A's call (its store write included) to B's first refusal of the session's access token, in ms.

| store | events × rounds | p50 | p99 | p99 of each round | max | goal |
|---|---:|---:|---:|---|---:|---|
${rows.join('\n')}

With a store that pushes, B's poll is the safety net only (every 5 s with the default
\`syncInterval\` of 500 ms, while its subscription is up); SQLite has no push and is the
anchor: its latency is the poll's. B's checks are in memory (no store I/O per verify).
`
  writeFileSync(join(here, 'REVOCATION-RESULTS.md'), md)
  process.exit(0)
}

if (process.argv.includes('--child')) child()
else main().catch((e) => { console.error(e); process.exit(1) })
