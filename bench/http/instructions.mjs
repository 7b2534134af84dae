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
// (2: measurements run side by side; counts do not depend on the machine's load).
// Writes bench/INSTRUCTIONS-RESULTS.md (BENCH_NO_WRITE=1: stdout only).

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
process.on('exit', () => { try { fs.rmSync(tmp, { recursive: true, force: true }) } catch {} })

/** One measurement: k instructions per 2xx response. */
async function measure (id, wl) {
  const tag = `${id}-${wl}-${Math.random().toString(36).slice(2)}`
  const out = path.join(tmp, `cg-${tag}`)
  const child = spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${out}.%p`, process.execPath, SERVER], {
    cwd: root,
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
    const dump = fs.readdirSync(tmp).find((f) => f.startsWith(`cg-${tag}.`) && /\.\d+\.1$/.test(f))
    if (!dump) throw new Error(`${id} ${wl}: no callgrind dump`)
    const text = fs.readFileSync(path.join(tmp, dump), 'utf8')
    const total = Number((/^summary: (\d+)/m.exec(text) ?? /^totals: (\d+)/m.exec(text))[1])
    if (r['2xx'] !== N) throw new Error(`${id} ${wl}: ${r['2xx']} of ${N} answered 2xx`)
    return total / r['2xx'] / 1000
  } finally {
    child.kill('SIGKILL')
  }
}

const jobs = []
for (let r = 0; r < ROUNDS; r++) for (const wl of WORKLOADS) for (const id of CONTENDERS) jobs.push({ id, wl })
const results = {} // wl -> id -> [k instr]
const t0 = Date.now()
let next = 0
async function worker () {
  while (next < jobs.length) {
    const { id, wl } = jobs[next++]
    const k = await measure(id, wl)
    ;((results[wl] ??= {})[id] ??= []).push(k)
    console.log(`  ${wl.padEnd(9)} ${id.padEnd(19)} ${k.toFixed(1).padStart(8)} k instructions/request  [${((Date.now() - t0) / 1000).toFixed(0)} s]`)
  }
}
await Promise.all(Array.from({ length: Math.max(1, JOBS) }, worker))

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2 }
const rows = []
for (const id of CONTENDERS) {
  const cells = WORKLOADS.map((wl) => {
    const xs = results[wl]?.[id]
    const ceil = results[wl]?.none
    if (!xs) return '– | –'
    const m = median(xs)
    return `${m.toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')}) | ${ceil ? (median(ceil) / m * 100).toFixed(1) + ' %' : '–'}`
  })
  rows.push(`| ${id.startsWith('tandem') ? `**${LABELS[id] ?? id}**` : LABELS[id] ?? id} | ${cells.join(' | ')} |`)
}
const table = `| contender | ${WORKLOADS.map((wl) => `${wl}: k instructions/request (runs) | ceiling ÷ this`).join(' | ')} |
|---|${WORKLOADS.map(() => '---:|---:').join('|')}|
${rows.join('\n')}`
console.log('\n' + table)

if (process.env.BENCH_NO_WRITE !== '1') {
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
