// Instructions per request: the same server as the HTTP benchmark (bench/http/server.mjs), run
// under valgrind's callgrind, which counts the instructions the server process executes (every
// thread: V8's, the addon's, Node's) and is repeatable where req/s on a shared 2-core VM is not
// (rounds of the HTTP bench vary by 10-40 %; the same binary and inputs give the same count within
// a few per cent). It is the ruler this project optimises the hot path with; req/s stays the
// issue's measure.
//
// Per contender and workload: start the server under callgrind, log one session in, send WARM
// requests (4 connections) so the JIT settles, zero the counters (callgrind_control -z), send N
// requests, dump the counters (callgrind_control -d) and divide by the 2xx responses.
//
// What it does not see: kernel time (syscalls, the network stack, scheduling), cache misses
// and stalls: a request that waits costs no instructions. Valgrind reports no SHA extensions,
// so HMAC-SHA-256 runs in software here (about 20k instructions per HMAC more than on a CPU with
// SHA-NI); tandem-session pays it on a cache miss of its verify and on signing, the JWT
// libraries' node:crypto on every verify.
//
// Usage: node bench/http/instructions.mjs  (npm run bench runs it when valgrind is installed;
// apt-get install valgrind). Env: BENCH_INSTR_CONTENDERS (none,es-memory,jwt-fast-jwt,
// jwt-fast-jwt-cache,tandem-memory), BENCH_INSTR_WORKLOADS (auth-read,data-read),
// BENCH_INSTR_WARM (5000), BENCH_INSTR_N (2000), BENCH_INSTR_ROUNDS (2), BENCH_INSTR_JOBS
// (2: measurements run side by side; the machine's load changes counts only through when V8's
// helper threads get to run, which --single-threaded takes away, see below).
// Writes bench/INSTRUCTIONS-RESULTS.md (BENCH_NO_WRITE=1: stdout only).
//
// Comparing builds (all unset by default: one tree, this one, V8's defaults, whole-process
// totals only):
// - BENCH_INSTR_NODE_ARGS: flags for the server's node, on its command line (NODE_OPTIONS
//   refuses some of them). With --single-threaded-gc V8 collects on the main thread instead
//   of helper threads; its optimising compiler still runs on helpers. With --single-threaded
//   it compiles on the main thread too, so the count no longer depends on when valgrind (which
//   runs one thread at a time) lets a helper run; with BENCH_INSTR_WARM=10000 and
//   BENCH_INSTR_N=20000 (ten GC cycles) it is the ruler that compares two builds
//   (bench/ANALYSIS.md, 2026-12-04; rounds repeat within about 2.5 %).
// - BENCH_INSTR_PER_THREAD=1: callgrind counts each thread apart (--separate-threads=yes);
//   each run then also reports the main thread's share (the request's JS, V8's runtime, the
//   addon's calls; Node's and V8's helper threads are the rest). The total is their sum.
// - BENCH_INSTR_TREES=name=/path,name=/path: measure each tree's own bench/http/server.mjs
//   (a checkout with node_modules and its built addon) instead of this one, interleaved run by
//   run so drift in the environment falls on all of them alike; the report adds each tree's
//   ratio to the first. Nothing is written to bench/INSTRUCTIONS-RESULTS.md then (nor with
//   BENCH_INSTR_NODE_ARGS set).
// - BENCH_INSTR_KEEP=1: keep the callgrind dumps (the directory is printed) for
//   callgrind_annotate --inclusive=yes.

import { spawn, execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine, root } from '../machine.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')
const here = path.dirname(fileURLToPath(import.meta.url))
const SERVER = path.join(here, 'server.mjs')

const list = (env, dflt) => (process.env[env] ?? dflt).split(',').map((s) => s.trim()).filter(Boolean)
const CONTENDERS = list('BENCH_INSTR_CONTENDERS', 'none,es-memory,jwt-fast-jwt,jwt-fast-jwt-cache,tandem-memory')
const WORKLOADS = list('BENCH_INSTR_WORKLOADS', 'auth-read,data-read')
const WARM = Number(process.env.BENCH_INSTR_WARM ?? 5000)
const N = Number(process.env.BENCH_INSTR_N ?? 2000)
const ROUNDS = Number(process.env.BENCH_INSTR_ROUNDS ?? 2)
const JOBS = Number(process.env.BENCH_INSTR_JOBS ?? 2)
const NODE_ARGS = (process.env.BENCH_INSTR_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
const PER_THREAD = process.env.BENCH_INSTR_PER_THREAD === '1'
// name -> repository root; the default is this tree under the name '' (labels unchanged).
const TREES = process.env.BENCH_INSTR_TREES
  ? list('BENCH_INSTR_TREES', '').map((t) => {
    const i = t.indexOf('=')
    if (i < 1) throw new Error(`BENCH_INSTR_TREES: "${t}" is not name=/path`)
    return { name: t.slice(0, i), dir: path.resolve(t.slice(i + 1)) }
  })
  : [{ name: '', dir: root }]
const PATHS = { 'auth-read': '/api/me', 'data-read': '/api/cart' }
const LABELS = {
  none: 'no session middleware (ceiling)',
  'es-memory': 'express-session + MemoryStore',
  'jwt-fast-jwt': 'JWT cookie, fast-jwt',
  'jwt-fast-jwt-cache': 'JWT cookie, fast-jwt (verify cache on)',
  'jwt-jose': 'JWT cookie, jose',
  'tandem-memory': 'tandem-session + MemoryStore'
}

function have (cmd) {
  try { execFileSync(cmd, ['--version'], { stdio: 'ignore' }); return true } catch { return false }
}
if (!have('valgrind') || !have('callgrind_control')) {
  console.log('bench/http/instructions.mjs: valgrind is not installed (apt-get install valgrind); skipped')
  process.exit(0)
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-instr-'))
if (process.env.BENCH_INSTR_KEEP === '1') console.log(`callgrind dumps kept in ${tmp} (cg-<contender>-<workload>-<tag>.<pid>.1[-<thread>])`)
else process.on('exit', () => { try { fs.rmSync(tmp, { recursive: true, force: true }) } catch {} })

/** One measurement of a contender in a tree: k instructions per 2xx response, all threads and
 *  (BENCH_INSTR_PER_THREAD=1) the main thread alone. */
async function measure (id, wl, tree) {
  const tag = `${id}-${wl}${tree.name ? `-${tree.name}` : ''}-${Math.random().toString(36).slice(2)}`
  const out = path.join(tmp, `cg-${tag}`)
  const valgrindArgs = ['--tool=callgrind', `--callgrind-out-file=${out}.%p`]
  if (PER_THREAD) valgrindArgs.push('--separate-threads=yes')
  const server = path.join(tree.dir, 'bench', 'http', 'server.mjs')
  const child = spawn('valgrind', [...valgrindArgs, process.execPath, ...NODE_ARGS, server], {
    cwd: tree.dir,
    env: { ...process.env, BENCH_CONTENDER: id, BENCH_SQLITE_PATH: path.join(tmp, `${tag}.sqlite3`) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let err = ''
  child.stderr.on('data', (d) => { err = (err + d).slice(-4000) })
  try {
    const ready = await new Promise((resolve, reject) => {
      let buf = ''
      const t = setTimeout(() => reject(new Error(`${id}: not ready under valgrind\n${err}`)), 300_000)
      child.stdout.on('data', (d) => {
        buf += d
        const m = /^READY (.*)$/m.exec(buf)
        if (m) { clearTimeout(t); resolve(JSON.parse(m[1])) }
      })
      child.on('exit', (c) => { clearTimeout(t); reject(new Error(`${id}: exited ${c}\n${err}`)) })
    })
    const base = `http://127.0.0.1:${ready.port}`
    const login = await fetch(`${base}/login`, { method: 'POST', headers: { 'sec-fetch-site': 'same-origin' } })
    // Only the cookies whose Path covers the API (the refresh cookie's does not).
    const cookie = login.headers.getSetCookie()
      .filter((l) => !/;\s*path=\/session\//i.test(l))
      .map((l) => l.split(';')[0]).join('; ')
    const opts = { url: base + PATHS[wl], connections: 4, headers: { cookie }, timeout: 120 }
    const check = await fetch(opts.url, { headers: { cookie } })
    if (check.status !== 200) throw new Error(`${id} ${wl}: answered ${check.status}`)
    await autocannon({ ...opts, amount: WARM })
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' })
    const r = await autocannon({ ...opts, amount: N })
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' })
    if (r['2xx'] !== N) throw new Error(`${id} ${wl}: ${r['2xx']} of ${N} answered 2xx`)
    const threads = dumpedThreads(tag)
    const total = threads.reduce((sum, t) => sum + t.instructions, 0)
    const main = threads.find((t) => t.thread === 1)?.instructions ?? total
    return { total: total / N / 1000, main: main / N / 1000 }
  } finally {
    child.kill('SIGKILL')
  }
}

/** The counters dumped by `callgrind_control -d` for one run: one file (the whole process,
 *  thread 1) or, with --separate-threads, one per thread (name ending .1-NN). */
function dumpedThreads (tag) {
  const files = fs.readdirSync(tmp).filter((f) => f.startsWith(`cg-${tag}.`) && /\.\d+\.1(-\d+)?$/.test(f))
  if (files.length === 0) throw new Error(`${tag}: no callgrind dump`)
  return files.map((f) => {
    const text = fs.readFileSync(path.join(tmp, f), 'utf8')
    const count = (/^summary: (\d+)/m.exec(text) ?? /^totals: (\d+)/m.exec(text))
    return { thread: Number(/-(\d+)$/.exec(f)?.[1] ?? 1), instructions: Number(count?.[1] ?? 0) }
  })
}

const jobs = []
for (let r = 0; r < ROUNDS; r++) {
  for (const wl of WORKLOADS) for (const id of CONTENDERS) for (const tree of TREES) jobs.push({ id, wl, tree })
}
const results = {} // wl -> tree name -> id -> [{ total, main }] (k instructions per request)
const t0 = Date.now()
let next = 0
async function worker () {
  while (next < jobs.length) {
    const { id, wl, tree } = jobs[next++]
    const k = await measure(id, wl, tree)
    ;(((results[wl] ??= {})[tree.name] ??= {})[id] ??= []).push(k)
    const who = tree.name ? `${id}@${tree.name}` : id
    const main = PER_THREAD ? `  (main thread ${k.main.toFixed(1)}k)` : ''
    console.log(`  ${wl.padEnd(9)} ${who.padEnd(19)} ${k.total.toFixed(1).padStart(8)} k instructions/request${main}  [${((Date.now() - t0) / 1000).toFixed(0)} s]`)
  }
}
await Promise.all(Array.from({ length: Math.max(1, JOBS) }, worker))

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const runs = (wl, tree, id, part = 'total') => results[wl]?.[tree]?.[id]?.map((k) => k[part])

/** The results file's table: per contender (and tree), the median of the runs and its share of
 *  the ceiling's cost; with BENCH_INSTR_PER_THREAD=1 the main thread's median beside it. */
function contenderTable () {
  const rows = []
  for (const id of CONTENDERS) {
    for (const tree of TREES) {
      const cells = WORKLOADS.map((wl) => {
        const xs = runs(wl, tree.name, id)
        const ceil = runs(wl, tree.name, 'none')
        if (!xs) return PER_THREAD ? '– | – | –' : '– | –'
        const m = median(xs)
        const main = PER_THREAD ? ` | ${median(runs(wl, tree.name, id, 'main')).toFixed(0)}` : ''
        return `${m.toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})${main} | ${ceil ? (median(ceil) / m * 100).toFixed(1) + ' %' : '–'}`
      })
      const label = (LABELS[id] ?? id) + (tree.name ? ` @ ${tree.name}` : '')
      rows.push(`| ${id.startsWith('tandem') ? `**${label}**` : label} | ${cells.join(' | ')} |`)
    }
  }
  const head = WORKLOADS.map((wl) => `${wl}: k instructions/request (runs)${PER_THREAD ? ' | main thread' : ''} | ceiling ÷ this`)
  const align = WORKLOADS.map(() => PER_THREAD ? '---:|---:|---:' : '---:|---:')
  return `| contender | ${head.join(' | ')} |\n|---|${align.join('|')}|\n${rows.join('\n')}`
}

/** With several trees: each tree's medians against the first tree's (total and main thread). */
function treeRatios () {
  const [first, ...others] = TREES
  const lines = []
  for (const wl of WORKLOADS) {
    for (const id of CONTENDERS) {
      for (const tree of others) {
        const cell = (part) => {
          const a = runs(wl, first.name, id, part)
          const b = runs(wl, tree.name, id, part)
          if (!a || !b) return '–'
          const ma = median(a)
          const mb = median(b)
          return `${ma.toFixed(1)} → ${mb.toFixed(1)} (${((mb / ma - 1) * 100).toFixed(1)} %)`
        }
        lines.push(`| ${wl} | ${id} | ${first.name} → ${tree.name} | ${cell('total')} | ${PER_THREAD ? cell('main') : '–'} |`)
      }
    }
  }
  return `| workload | contender | trees | total, k (change) | main thread, k (change) |\n|---|---|---|---:|---:|\n${lines.join('\n')}`
}

const table = contenderTable()
console.log('\n' + table)
if (TREES.length > 1) console.log('\n' + treeRatios())
if (NODE_ARGS.length) console.log(`\nserver node flags: ${NODE_ARGS.join(' ')}`)

// A comparison of trees or of node flags is a measurement for its writer, not the results file.
if (process.env.BENCH_NO_WRITE !== '1' && !process.env.BENCH_INSTR_TREES && NODE_ARGS.length === 0) {
  const info = machine(['express', 'express-session', 'fast-jwt', 'autocannon'])
  const valgrind = execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim()
  fs.writeFileSync(path.join(root, 'bench', 'INSTRUCTIONS-RESULTS.md'), `# Instructions per request (callgrind)

Generated by \`node bench/http/instructions.mjs\` (part of \`npm run bench\`) on ${info.date}. Do not edit by hand.

The HTTP benchmark's server and routes (bench/http/server.mjs), run under ${valgrind}'s callgrind:
the instructions the whole server process executes per request (all threads), after ${WARM} warm-up
requests, over ${N} requests on 4 connections; median of ${ROUNDS} runs (each run in brackets).
"ceiling ÷ this" is the share of the ceiling's cost, the instruction-count analogue of "% of the
ceiling's req/s".

${table}

Counts are repeatable (the runs in brackets) where req/s on this shared VM is not, which is why
the hot path is tuned with them. They leave out kernel time, cache misses and stalls, so they
are not a req/s forecast. Valgrind reports no SHA extensions: each HMAC-SHA-256 costs about 20k
instructions more here than on a CPU with SHA-NI (tandem-session verifies once per distinct token
and caches the verdict; fast-jwt without its cache HMACs on every request).

Machine: ${info.cpu}; ${info.kernel}; Node ${info.node}; tandem-session ${info.versions['tandem-session']}; express ${info.versions.express}, express-session ${info.versions['express-session']}, fast-jwt ${info.versions['fast-jwt']}.
`)
  console.log('\nwrote bench/INSTRUCTIONS-RESULTS.md')
}
