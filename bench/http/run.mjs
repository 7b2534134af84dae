// HTTP benchmark: tandem-session against express-session, JWT-cookie middlewares and no session
// layer at all (the ceiling), on the same Express app (bench/http/server.mjs), with autocannon on
// loopback.
//
// Method:
// - every measurement starts a fresh server process pinned to CPU 0 (`taskset -c 0`); this
//   driver, which runs autocannon in-process, is pinned to CPU 1 (bench/run-http.sh);
// - runs are interleaved: for each round, for each workload, every contender once, the order
//   rotated each round; the figure is the median over ROUNDS rounds; the ceiling is one of the
//   contenders, so it is measured in the same run;
// - each measurement: start the server, log in CONNECTIONS sessions (one per connection) over
//   HTTP, check the workload's answer once, WARMUP s of load (not counted), then DURATION s
//   measured; server CPU is utime+stime from /proc/<pid>/stat around the measured part (all
//   its threads, the addon's runtime too), store-server CPU likewise from the redis-server /
//   postgres processes; latency percentiles are computed from every response's time;
// - any non-2xx answer, socket error or timeout in a measured run is reported next to it.
//
// Workloads (server.mjs has the routes):
//   auth-read  GET /api/me: the access token only (the user id), no session data;
//   data-read  GET /api/cart: a value put in the session at login;
//   write      POST /api/views: one session key changed (views + 1);
//   refresh    POST /session/refresh: every request presents the refresh token the previous
//              refresh returned (a real rotation, never a grace replay): the connections share
//              a queue of cookie jars, each request takes one and its response puts the
//              rotated one back;
//   login      POST /login: a new session each request.
//
// Growth (after the main tables, BENCH_GROWTH=0 to skip): servers whose store was filled with N
// sessions before listening (BENCH_GROWTH_SIZES, default 1000,100000,1000000), auth-read and data-read
// measured on them; the fill's RSS growth / N is the memory per session.
//
// Usage: sh bench/run-http.sh (or npm run bench, which runs the whole suite). Results go to stdout and bench/HTTP-RESULTS.md.
//   node bench/http/run.mjs --profile <contender> <workload>   one measurement with V8's sampling
//   profiler on in the server during the measured run (node:inspector, 100 µs), then where the
//   server's busy time went and the top self-time functions; the .cpuprofile stays in the temp dir.
// Env: BENCH_ROUNDS (3), BENCH_DURATION (s, 5), BENCH_WARMUP (s, 1), BENCH_CONNECTIONS (10),
//      BENCH_CONTENDERS / BENCH_WORKLOADS (comma lists to run a subset), BENCH_GROWTH (1),
//      BENCH_GROWTH_SIZES, BENCH_GROWTH_DURATION (s, 3), BENCH_NO_WRITE=1,
//      TANDEM_REDIS_URL (redis contenders; the bench uses databases 14 and 15 and flushes them;
//      es-redis and tandem-bridge-redis, the same connect-redis store, share 15),
//      TANDEM_PG_URL (tandem-postgres; the bench uses database tandem_bench, recreated per run).

import { createRequire } from 'node:module'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { machine as sharedMachine, root } from '../machine.mjs'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')

const here = path.dirname(fileURLToPath(import.meta.url))
const SERVER = path.join(here, 'server.mjs')

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const DURATION = Number(process.env.BENCH_DURATION ?? 5)
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10)
const GROWTH = process.env.BENCH_GROWTH !== '0'
const GROWTH_SIZES = (process.env.BENCH_GROWTH_SIZES ?? '1000,100000,1000000').split(',').map(Number)
const GROWTH_DURATION = Number(process.env.BENCH_GROWTH_DURATION ?? 3)
const CLK_TCK = 100
const REFRESH_PATH = '/session/refresh'

// ---------------------------------------------------------------------------------------------
// Contenders and workloads

const CONTENDERS = [
  { id: 'none', label: 'no session middleware (ceiling)' },
  { id: 'es-memory', label: 'express-session + MemoryStore' },
  { id: 'es-redis', label: 'express-session + connect-redis', needs: 'redis' },
  { id: 'jwt-fast-jwt', label: 'JWT cookie, fast-jwt' },
  { id: 'jwt-fast-jwt-cache', label: 'JWT cookie, fast-jwt (verify cache on)', only: ['auth-read', 'data-read'] },
  { id: 'jwt-jose', label: 'JWT cookie, jose' },
  { id: 'jwt-jsonwebtoken', label: 'JWT cookie, jsonwebtoken' },
  { id: 'tandem-memory', label: 'tandem-session + MemoryStore', tandem: true },
  { id: 'tandem-sqlite', label: 'tandem-session + SqliteStore', tandem: true },
  { id: 'tandem-redis', label: 'tandem-session + RedisStore', tandem: true, needs: 'redis' },
  { id: 'tandem-postgres', label: 'tandem-session + PostgresStore', tandem: true, needs: 'pg' },
  // An express-session store through the bridge (issue 15): the same connect-redis store and
  // node-redis client as es-redis, in the same Redis database; measured against es-redis, not
  // against the native stores' goals of issue 6.
  { id: 'tandem-bridge-redis', label: 'tandem-session + connect-redis (bridge)', tandem: true, bridge: true, needs: 'redis' }
]
const byId = Object.fromEntries(CONTENDERS.map((c) => [c.id, c]))

const WORKLOADS = [
  { id: 'auth-read', label: 'Authenticated read (access token only)', method: 'GET', path: '/api/me' },
  { id: 'data-read', label: 'Read of session data', method: 'GET', path: '/api/cart' },
  { id: 'write', label: 'Write of one session key', method: 'POST', path: '/api/views' },
  // express-session has no refresh token: nothing to compare.
  { id: 'refresh', label: 'Refresh (rotation)', method: 'POST', path: REFRESH_PATH, skip: ['es-memory', 'es-redis'] },
  { id: 'login', label: 'Login (new session)', method: 'POST', path: '/login', anonymous: true }
]
const wlById = Object.fromEntries(WORKLOADS.map((w) => [w.id, w]))

// Every POST says it is same-origin (as browsers do): tandem-session's CSRF check wants a
// same-origin proof on logged-in unsafe requests. Sent to every contender alike.
const POST_HEADERS = { 'sec-fetch-site': 'same-origin' }

// ---------------------------------------------------------------------------------------------
// Stores

const REDIS_BASE = process.env.TANDEM_REDIS_URL ? process.env.TANDEM_REDIS_URL.replace(/\/\d*$/, '') : null
const REDIS_TANDEM = REDIS_BASE && `${REDIS_BASE}/14`
const REDIS_ES = REDIS_BASE && `${REDIS_BASE}/15`
const PG_BASE = process.env.TANDEM_PG_URL ?? null
const PG_BENCH = PG_BASE && PG_BASE.replace(/\/[^/]*$/, '/tandem_bench')
const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-bench-http-'))
const shmDir = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/tandem-bench-http-') : tmpDir
process.on('exit', () => {
  for (const d of new Set([tmpDir, shmDir])) { try { fs.rmSync(d, { recursive: true, force: true }) } catch {} }
})

let redis = null
async function redisClient () {
  if (redis === null) {
    const { createClient } = require('redis')
    redis = createClient({ url: REDIS_BASE })
    redis.on('error', () => {})
    await redis.connect()
  }
  return redis
}

async function flushRedis (url) {
  const c = await redisClient()
  await c.select(Number(url.split('/').pop()))
  await c.flushDb()
}

function psql (url, sql) {
  const p = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], { encoding: 'utf8' })
  if (p.status !== 0) throw new Error(`psql ${sql}: ${p.stderr || p.error}`)
}

function resetPostgres () {
  // A fresh schema each time: the store creates its tables again on start.
  psql(PG_BENCH, 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;')
}

let sqliteN = 0
/** Prepare the contender's store and return the env its server needs. */
async function storeEnv (id, { shm = false } = {}) {
  if (id === 'es-redis' || id === 'tandem-bridge-redis') { await flushRedis(REDIS_ES); return { BENCH_REDIS_URL: REDIS_ES } }
  if (id === 'tandem-redis') { await flushRedis(REDIS_TANDEM); return { BENCH_REDIS_URL: REDIS_TANDEM } }
  if (id === 'tandem-postgres') { resetPostgres(); return { BENCH_PG_URL: PG_BENCH } }
  if (id === 'tandem-sqlite') return { BENCH_SQLITE_PATH: path.join(shm ? shmDir : tmpDir, `s${sqliteN++}.sqlite3`) }
  return {}
}

function availability () {
  const out = {}
  if (!REDIS_BASE) out.redis = 'TANDEM_REDIS_URL is not set (source scripts/ci/redis.sh)'
  if (!PG_BASE) out.pg = 'TANDEM_PG_URL is not set (bash scripts/ci/postgres.sh)'
  else {
    try {
      const p = spawnSync('psql', ['-X', '-tA', PG_BASE, '-c', "SELECT 1 FROM pg_database WHERE datname = 'tandem_bench'"], { encoding: 'utf8' })
      if (p.status !== 0) throw new Error(p.stderr || String(p.error))
      if (p.stdout.trim() !== '1') psql(PG_BASE, 'CREATE DATABASE tandem_bench')
    } catch (e) { out.pg = `PostgreSQL at TANDEM_PG_URL not usable: ${e.message.trim()}` }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc

function procCpu (pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / CLK_TCK // utime + stime, seconds
  } catch { return 0 }
}

/** Total CPU seconds of the store servers a contender talks to (0 for in-process stores). */
function storeServerCpu (id) {
  let want = null
  if (id === 'es-redis' || id === 'tandem-redis' || id === 'tandem-bridge-redis') want = 'redis'
  else if (id === 'tandem-postgres') want = 'postgres'
  if (want === null) return null
  const port = want === 'redis' ? new URL(REDIS_BASE).port : null
  let total = 0
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const comm = fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim()
      if (want === 'redis') {
        if (comm !== 'redis-server') continue
        const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8')
        if (!cmd.includes(`:${port}`)) continue
      } else if (comm !== 'postgres') continue
      total += procCpu(d)
    } catch {}
  }
  return total
}

// ---------------------------------------------------------------------------------------------
// Servers

/** Start a contender's server pinned to CPU 0; resolves to {port, pid, fill, child, stop}. */
async function startServer (id, { env = {}, nodeArgs = [], timeoutMs = 120_000 } = {}) {
  const args = ['-c', '0', process.execPath, ...nodeArgs, SERVER]
  const child = spawn('taskset', args, {
    cwd: root,
    env: { ...process.env, ...env, BENCH_CONTENDER: id },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let err = ''
  child.stderr.on('data', (d) => { err += d; if (err.length > 20000) err = err.slice(-10000) })
  const ready = await new Promise((resolve, reject) => {
    let out = ''
    const t = setTimeout(() => reject(new Error(`${id}: server not ready after ${timeoutMs} ms\n${err}`)), timeoutMs)
    child.stdout.on('data', (d) => {
      out += d
      const m = out.match(/^READY (.*)$/m)
      if (m) { clearTimeout(t); resolve(JSON.parse(m[1])) }
    })
    child.on('exit', (code) => { clearTimeout(t); reject(new Error(`${id}: server exited (${code}) before ready\n${err}`)) })
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  let lines = ''
  child.stdout.on('data', (d) => { lines += d })
  return {
    ...ready,
    child,
    /** Resolves once the server printed `word` on a line of its own (after this call). */
    waitFor: (word, ms = 30_000) => {
      const from = lines.length
      return new Promise((resolve, reject) => {
        const t0 = Date.now()
        const poll = setInterval(() => {
          if (lines.slice(from).split('\n').includes(word)) { clearInterval(poll); resolve() } else if (Date.now() - t0 > ms) {
            clearInterval(poll); reject(new Error(`${id}: no ${word} after ${ms} ms`))
          }
        }, 20)
      })
    },
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(t)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny cookie jar: name -> {value, path}; cookies are sent where their Path matches.

function absorb (jar, setCookie) {
  if (!setCookie) return jar
  for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
    const parts = line.split(';')
    const eq = parts[0].indexOf('=')
    const name = parts[0].slice(0, eq).trim()
    const value = parts[0].slice(eq + 1).trim()
    let cpath = '/'
    let gone = value === ''
    for (const a of parts.slice(1)) {
      const [k, v = ''] = a.split('=')
      const key = k.trim().toLowerCase()
      if (key === 'path') cpath = v.trim()
      if (key === 'max-age' && Number(v) <= 0) gone = true
      if (key === 'expires' && Date.parse(v) < Date.now()) gone = true
    }
    if (gone) jar.delete(name)
    else jar.set(name, { value, path: cpath })
  }
  return jar
}

function cookieFor (jar, reqPath) {
  const out = []
  for (const [name, c] of jar) {
    if (c.path === '/' || reqPath === c.path || reqPath.startsWith(c.path.endsWith('/') ? c.path : c.path + '/')) {
      out.push(`${name}=${c.value}`)
    }
  }
  return out.join('; ')
}

function request (port, method, reqPath, jar) {
  return new Promise((resolve, reject) => {
    const headers = { ...(method === 'POST' ? POST_HEADERS : {}) }
    const cookie = jar ? cookieFor(jar, reqPath) : ''
    if (cookie) headers.cookie = cookie
    const req = http.request({ host: '127.0.0.1', port, method, path: reqPath, headers, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { body += d })
      res.on('end', () => {
        if (jar) absorb(jar, res.headers['set-cookie'])
        let json = null
        try { json = JSON.parse(body) } catch {}
        resolve({ status: res.statusCode, headers: res.headers, body, json })
      })
    })
    req.on('error', reject)
    req.end()
  })
}

async function login (port) {
  const jar = new Map()
  const r = await request(port, 'POST', '/login', jar)
  if (r.status !== 200) throw new Error(`login answered ${r.status} ${r.body}`)
  return jar
}

// ---------------------------------------------------------------------------------------------
// Correctness of each workload, once per server before load.

const fail = (m) => { throw new Error(`bench precondition failed: ${m}`) }

async function check (id, wl, port, jars) {
  const jar = jars[0]
  const none = id === 'none'
  if (!none && !wlById[wl].anonymous && jar.size === 0) fail(`${id}: login set no cookie`)
  if (wl === 'auth-read') {
    const r = await request(port, 'GET', '/api/me', jar)
    if (r.status !== 200 || typeof r.json?.user !== 'string') fail(`${id} ${wl}: ${r.status} ${r.body}`)
    if (!none) {
      const anon = await request(port, 'GET', '/api/me', null)
      if (anon.status !== 401) fail(`${id} ${wl}: a request without cookie answered ${anon.status}`)
    }
  } else if (wl === 'data-read') {
    const r = await request(port, 'GET', '/api/cart', jar)
    if (r.status !== 200 || r.json?.cart?.length !== 3) fail(`${id} ${wl}: ${r.status} ${r.body}`)
  } else if (wl === 'write') {
    const a = await request(port, 'POST', '/api/views', jar)
    const b = await request(port, 'POST', '/api/views', jar)
    if (a.status !== 200 || b.status !== 200 || b.json.views !== a.json.views + 1) fail(`${id} ${wl}: ${a.body} then ${b.body}`)
  } else if (wl === 'refresh') {
    const before = new Map(jar)
    const r = await request(port, 'POST', REFRESH_PATH, jar)
    if (r.status !== 200) fail(`${id} ${wl}: ${r.status} ${r.body}`)
    if (!none) {
      const set = [].concat(r.headers['set-cookie'] ?? []).map((c) => c.split('=')[0])
      if (set.length < 2) fail(`${id} ${wl}: refresh set only ${set.join(', ') || 'no cookie'}`)
      // tandem-session rotates: both tokens must be new (a JWT signed in the same second as the
      // previous one is byte-identical, which is fine for a stateless design).
      const changed = [...jar].filter(([k, v]) => before.get(k)?.value !== v.value).map(([k]) => k)
      if (byId[id].tandem && changed.length < 2) fail(`${id} ${wl}: refresh renewed only ${changed.join(', ') || 'nothing'}`)
      const me = await request(port, 'GET', '/api/me', jar)
      if (me.status !== 200) fail(`${id} ${wl}: the refreshed access token answered ${me.status}`)
    }
  } else if (wl === 'login') {
    const j = await login(port)
    if (!none && j.size < (id.startsWith('es-') ? 1 : 2)) fail(`${id} ${wl}: login set ${j.size} cookie(s)`)
  }
}

// ---------------------------------------------------------------------------------------------
// One autocannon run

function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

/**
 * Run autocannon for `seconds` on the workload. `jars` gives each connection its session;
 * for refresh they form the shared rotation queue (updated in place).
 */
function load (port, wl, jars, seconds) {
  const w = wlById[wl]
  const headers = w.method === 'POST' ? { ...POST_HEADERS } : {}
  const opts = {
    url: `http://127.0.0.1:${port}${w.path}`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    method: w.method,
    path: w.path,
    headers
  }
  const queue = wl === 'refresh' ? [...jars] : null
  if (queue) {
    opts.requests = [{
      method: 'POST',
      path: REFRESH_PATH,
      setupRequest: (req, ctx) => {
        const jar = queue.length > 0 ? queue.shift() : null
        ctx.jar = jar
        const cookie = jar ? cookieFor(jar, REFRESH_PATH) : ''
        req.headers = cookie ? { ...req.headers, cookie } : req.headers
        return req
      },
      onResponse: (status, body, ctx, hdrs) => {
        if (!ctx.jar) return
        absorb(ctx.jar, hdrs['Set-Cookie'] ?? hdrs['set-cookie'])
        queue.push(ctx.jar)
      }
    }]
  } else if (!w.anonymous) {
    let k = 0
    opts.setupClient = (client) => {
      const jar = jars[k++ % jars.length]
      const cookie = cookieFor(jar, w.path)
      client.setHeaders(cookie ? { ...headers, cookie } : headers)
    }
  }
  return new Promise((resolve, reject) => {
    let lat = new Float64Array(1 << 16)
    let n = 0
    let ok = 0
    const codes = {}
    const t0 = performance.now()
    const cpu0 = process.cpuUsage()
    const inst = autocannon(opts, (err, result) => {
      if (err) return reject(err)
      const wall = (performance.now() - t0) / 1000
      const cpu = process.cpuUsage(cpu0)
      const sorted = lat.subarray(0, n).sort()
      resolve({
        rps: ok / result.duration,
        ok,
        total: n,
        codes,
        errors: result.errors,
        timeouts: result.timeouts,
        duration: result.duration,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        generatorCpu: (cpu.user + cpu.system) / 1e6 / wall,
        jarsBack: queue
      })
    })
    inst.on('response', (client, status, bytes, ms) => {
      if (n === lat.length) { const l = new Float64Array(lat.length * 2); l.set(lat); lat = l }
      lat[n++] = ms
      if (status >= 200 && status < 300) ok++
      else codes[status] = (codes[status] || 0) + 1
    })
  })
}

// ---------------------------------------------------------------------------------------------
// One measurement: fresh server, sessions, check, warm-up, measured run.

async function measure (id, wl, { fill = 0, duration = DURATION, nodeArgs = [], workloads = null, profileFile = null } = {}) {
  const env = await storeEnv(id, { shm: fill > 0 })
  if (fill > 0) env.BENCH_FILL = String(fill)
  if (profileFile) env.BENCH_PROFILE_FILE = profileFile
  const server = await startServer(id, { env, nodeArgs: fill > 0 ? ['--expose-gc', ...nodeArgs] : nodeArgs })
  try {
    const list = workloads ?? [wl]
    const out = {}
    for (const w of list) {
      const jars = []
      if (!wlById[w].anonymous) {
        for (let i = 0; i < CONNECTIONS; i++) jars.push(await login(server.port))
      }
      await check(id, w, server.port, jars.length ? jars : [new Map()])
      const warm = await load(server.port, w, jars, WARMUP)
      if (w === 'refresh') {
        // A chain whose request was in flight when the warm-up stopped is lost (the server may
        // have rotated it; the client never saw the answer): new sessions replace those.
        jars.length = 0
        jars.push(...warm.jarsBack)
        while (jars.length < CONNECTIONS) jars.push(await login(server.port))
      }
      if (profileFile) {
        const started = server.waitFor('PROFILING')
        process.kill(server.pid, 'SIGUSR2')
        await started
      }
      const cpu0 = procCpu(server.pid)
      const st0 = storeServerCpu(id)
      const r = await load(server.port, w, jars, duration)
      const cpu1 = procCpu(server.pid)
      const st1 = storeServerCpu(id)
      if (profileFile) {
        const written = server.waitFor('PROFILED')
        process.kill(server.pid, 'SIGUSR2')
        await written
      }
      r.serverCpuUs = ((cpu1 - cpu0) * 1e6) / Math.max(1, r.total)
      r.serverCpuShare = (cpu1 - cpu0) / r.duration
      r.storeCpuUs = st0 === null ? null : ((st1 - st0) * 1e6) / Math.max(1, r.total)
      out[w] = r
    }
    return { results: out, fill: server.fill }
  } catch (e) {
    e.message += `\nserver stderr:\n${server.stderr()}`
    throw e
  } finally {
    await server.stop()
  }
}

// ---------------------------------------------------------------------------------------------
// Stats and formatting

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}
const fmtInt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–')
const fmtMs = (x) => (Number.isFinite(x) ? x.toFixed(2) : '–')
const fmtPct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(1)} %` : '–')
const fmtX = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–')
const fmtUs = (x) => (Number.isFinite(x) ? x.toFixed(0) : '–')

function summarise (runs) {
  const bad = runs.map((r) => r.total - r.ok + r.errors + r.timeouts)
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    cpuUs: median(runs.map((r) => r.serverCpuUs)),
    cpuShare: median(runs.map((r) => r.serverCpuShare)),
    storeCpuUs: median(runs.map((r) => r.storeCpuUs ?? NaN)),
    genCpu: Math.max(...runs.map((r) => r.generatorCpu)),
    runs: runs.map((r) => r.rps),
    bad: bad.reduce((a, b) => a + b, 0),
    codes: runs.map((r) => r.codes)
  }
}

// ---------------------------------------------------------------------------------------------
// CPU profile mode

function shortUrl (u) {
  if (u.startsWith('node:')) return u
  const p = u.startsWith('file:') ? fileURLToPath(u) : u
  return path.relative(root, p).replace(/^node_modules\//, '')
}

function summariseProfile (file, top = 25) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'))
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const self = new Map()
  let total = 0
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i] ?? 0
    total += dt
    const node = byId.get(prof.samples[i])
    const cf = node.callFrame
    const where = cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''
    const key = `${cf.functionName || '(anonymous)'}${where ? ' ' + where : ''}`
    self.set(key, (self.get(key) ?? 0) + dt)
  }
  // Shares are of the busy time: (idle) is the server waiting for requests.
  const idle = self.get('(idle)') ?? 0
  self.delete('(idle)')
  const busy = total - idle
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top)
  // Buckets: which package's code the self time is in.
  const bucket = new Map()
  for (let i = 0; i < prof.samples.length; i++) {
    const cf = byId.get(prof.samples[i]).callFrame
    let b
    if (!cf.url) b = cf.functionName.startsWith('(') ? cf.functionName : 'native (addon calls, builtins)'
    else if (cf.url.startsWith('node:')) b = 'node core (http, net, streams)'
    else if (cf.url.includes('/node_modules/')) b = 'node_modules/' + cf.url.split('/node_modules/').pop().split('/')[0]
    else if (cf.url.includes('/js/')) b = 'tandem-session js/'
    else b = 'bench server'
    if (b === '(idle)') continue
    bucket.set(b, (bucket.get(b) ?? 0) + (prof.timeDeltas[i] ?? 0))
  }
  // Ours: self time in js/ frames, plus native frames (addon calls, builtins) whose nearest JS
  // caller is in js/; by that js/ function.
  const parent = new Map()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const ours = new Map()
  let oursTotal = 0
  const isOurs = (cf) => cf.url && !cf.url.startsWith('node:') && !cf.url.includes('/node_modules/') && cf.url.includes('/js/')
  for (let i = 0; i < prof.samples.length; i++) {
    let id = prof.samples[i]
    let cf = byId.get(id).callFrame
    if (!cf.url && cf.functionName.startsWith('(')) continue // idle, GC, program
    let native = false
    while (!cf.url && parent.has(id)) { native = true; id = parent.get(id); cf = byId.get(id).callFrame }
    if (!isOurs(cf)) continue
    const key = `${cf.functionName || '(anonymous)'} ${shortUrl(cf.url)}:${cf.lineNumber + 1}${native ? ' (native calls)' : ''}`
    const dt = prof.timeDeltas[i] ?? 0
    ours.set(key, (ours.get(key) ?? 0) + dt)
    oursTotal += dt
  }
  return {
    total,
    busy,
    rows: rows.map(([k, v]) => ({ fn: k, ms: v / 1000, share: v / busy })),
    buckets: [...bucket].sort((a, b) => b[1] - a[1]).map(([k, v]) => ({ bucket: k, ms: v / 1000, share: v / busy })),
    ours: oursTotal / busy,
    oursRows: [...ours].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => ({ fn: k, share: v / busy }))
  }
}

async function profile (id, wl) {
  const keep = path.join(os.tmpdir(), `tandem-http-profile-${id}-${wl}.cpuprofile`)
  const { results } = await measure(id, wl, { profileFile: keep })
  const r = results[wl]
  const s = summariseProfile(keep)
  console.log(`${id} ${wl} under V8's sampling profiler: ${fmtInt(r.rps)} req/s, p50 ${fmtMs(r.p50)} ms, ${fmtUs(r.serverCpuUs)} µs CPU/req`)
  console.log(`profile ${keep} (open in Chrome DevTools; the measured run only), ${(s.total / 1e6).toFixed(1)} s sampled, ${(s.busy / 1e6).toFixed(1)} s busy`)
  console.log('\nshare of the busy time, by where the code lives:')
  for (const b of s.buckets) console.log(`  ${(b.share * 100).toFixed(1).padStart(5)} %  ${b.bucket}`)
  console.log('\ntop self-time functions (share of the busy time):')
  for (const x of s.rows) console.log(`  ${(x.share * 100).toFixed(1).padStart(5)} %  ${x.fn}`)
  console.log(`\ntandem-session's own code (js/ and the native calls it makes, GC not included): ${(s.ours * 100).toFixed(1)} % of the busy time`)
  for (const x of s.oursRows) console.log(`  ${(x.share * 100).toFixed(1).padStart(5)} %  ${x.fn}`)
}

// ---------------------------------------------------------------------------------------------
// Main

if (process.argv[2] === '--profile') {
  availability()
  await profile(process.argv[3] ?? 'tandem-memory', process.argv[4] ?? 'auth-read')
  if (redis) await redis.quit()
  process.exit(0)
}

const info = sharedMachine(['express', 'express-session', 'redis', 'autocannon', 'fast-jwt', 'jose', 'jsonwebtoken'])
// connect-redis's exports map hides its package.json from require().
try {
  info.versions['connect-redis'] = JSON.parse(fs.readFileSync(path.join(root, 'node_modules/connect-redis/package.json'), 'utf8')).version
} catch { info.versions['connect-redis'] = '?' }
const unavailable = availability()
const pick = (env, all) => (process.env[env] ? process.env[env].split(',').map((s) => s.trim()) : all)
const contenders = pick('BENCH_CONTENDERS', CONTENDERS.map((c) => c.id)).filter((id) => {
  if (!byId[id]) throw new Error(`unknown contender ${id}`)
  return !byId[id].needs || !unavailable[byId[id].needs]
})
if (!contenders.includes('none')) contenders.unshift('none') // the ceiling is always measured
const workloads = pick('BENCH_WORKLOADS', WORKLOADS.map((w) => w.id))
const skipped = CONTENDERS.filter((c) => c.needs && unavailable[c.needs]).map((c) => `${c.id}: ${unavailable[c.needs]}`)
const loadAtStart = os.loadavg()

console.log(`tandem-session HTTP bench: ${ROUNDS} rounds × ${workloads.length} workloads × up to ${contenders.length} contenders; ` +
  `${DURATION} s measured after ${WARMUP} s warm-up, ${CONNECTIONS} connections`)
console.log(`CPU ${info.cpu}; ${info.cores} cores; driver pinned to CPU(s) ${info.affinity}; node ${info.node}; load ${info.load}`)
if (info.addon.debugInfo) console.log('WARNING: the addon carries debug info; is it a debug build? Run `npm run build` first')
if (info.affinity !== '1') console.log('WARNING: the driver is not pinned to CPU 1; use bench/run-http.sh')
for (const s of skipped) console.log(`skipped ${s}`)

const t0 = Date.now()
const results = {} // wl -> id -> [run]
for (let r = 0; r < ROUNDS; r++) {
  for (const wl of workloads) {
    const list = contenders.filter((id) => !(wlById[wl].skip ?? []).includes(id) && (!byId[id].only || byId[id].only.includes(wl)))
    const order = list.map((_, i) => list[(i + r) % list.length])
    for (const id of order) {
      const { results: out } = await measure(id, wl)
      const x = out[wl]
      ;((results[wl] ??= {})[id] ??= []).push(x)
      const bad = x.total - x.ok + x.errors + x.timeouts
      console.log(`  r${r + 1} ${wl.padEnd(9)} ${id.padEnd(19)} ${fmtInt(x.rps).padStart(7)} req/s  p50 ${fmtMs(x.p50)} p99 ${fmtMs(x.p99)} ms  ` +
        `cpu ${fmtUs(x.serverCpuUs)} µs/req (${(x.serverCpuShare * 100).toFixed(0)} % of CPU 0)` +
        (x.storeCpuUs !== null ? `  store ${fmtUs(x.storeCpuUs)} µs/req` : '') +
        `  gen ${(x.generatorCpu * 100).toFixed(0)} %` + (bad ? `  NON-2XX/ERRORS ${bad} ${JSON.stringify(x.codes)}` : '') +
        `  [${((Date.now() - t0) / 1000).toFixed(0)} s]`)
    }
  }
}

// Growth: tandem MemoryStore and SqliteStore, and express-session's MemoryStore, filled with N sessions.
const growth = {} // id -> N -> [{results, fill}]
const GROWTH_CONTENDERS = ['tandem-memory', 'tandem-sqlite', 'es-memory'].filter((id) => contenders.includes(id))
if (GROWTH) {
  const configs = []
  for (const n of GROWTH_SIZES) for (const id of GROWTH_CONTENDERS) configs.push({ id, n })
  for (let r = 0; r < ROUNDS; r++) {
    const order = configs.map((_, i) => configs[(i + r) % configs.length])
    for (const { id, n } of order) {
      const m = await measure(id, null, { fill: n, duration: GROWTH_DURATION, workloads: ['auth-read', 'data-read'] })
      ;((growth[id] ??= {})[n] ??= []).push(m)
      const a = m.results['auth-read']
      const d = m.results['data-read']
      console.log(`  r${r + 1} growth ${id.padEnd(14)} ${String(n).padStart(8)} sessions (fill ${(m.fill.ms / 1000).toFixed(1)} s, ` +
        `${fmtInt(m.fill.rssPerSession)} B RSS/session)  auth-read ${fmtInt(a.rps)} req/s p50 ${fmtMs(a.p50)} p99 ${fmtMs(a.p99)}  ` +
        `data-read ${fmtInt(d.rps)} req/s p50 ${fmtMs(d.p50)} p99 ${fmtMs(d.p99)}  [${((Date.now() - t0) / 1000).toFixed(0)} s]`)
    }
  }
}
const totalS = (Date.now() - t0) / 1000
const loadAtEnd = os.loadavg()
if (redis) await redis.quit()

// ---------------------------------------------------------------------------------------------
// Tables

const S = {} // wl -> id -> summary
for (const wl of workloads) {
  S[wl] = {}
  for (const [id, runs] of Object.entries(results[wl] ?? {})) S[wl][id] = summarise(runs)
}
const ceiling = (wl) => S[wl]?.none?.rps

function workloadTable (wl) {
  const rows = contenders.filter((id) => S[wl][id]).map((id) => {
    const s = S[wl][id]
    const issues = s.bad ? ` ⚠ ${s.bad} non-2xx/errors` : ''
    return `| ${byId[id].tandem ? `**${byId[id].label}**` : byId[id].label} | ${fmtInt(s.rps)} | ${fmtPct(s.rps / ceiling(wl))} | ` +
      `${fmtMs(s.p50)} | ${fmtMs(s.p99)} | ${fmtUs(s.cpuUs)} | ${Number.isFinite(s.storeCpuUs) ? fmtUs(s.storeCpuUs) : '–'} | ` +
      `${s.runs.map(fmtInt).join(', ')}${issues} |`
  })
  return `| contender | req/s | % of ceiling | p50 ms | p99 ms | server CPU µs/req | store-server CPU µs/req | req/s per round |
|---|---:|---:|---:|---:|---:|---:|---|
${rows.join('\n')}`
}

// Targets (issue 6), per native tandem store measured; the bridge's (issue 15) after them.
const tandemIds = contenders.filter((id) => byId[id].tandem && !byId[id].bridge)
const jwtIds = contenders.filter((id) => id.startsWith('jwt-'))
const targets = []
const rate = (wl, id) => S[wl]?.[id]?.rps
/** Per-round ratios of `id` to `other` in workload `wl` (both measured in the same round). */
const roundRatios = (wl, id, other) => {
  const a = results[wl]?.[id] ?? []
  const b = results[wl]?.[other] ?? []
  return a.map((x, i) => (b[i] ? x.rps / b[i].rps : NaN)).filter(Number.isFinite)
}
function target (name, wl, id, value, goal, note = '', other = 'none') {
  if (!Number.isFinite(value)) return
  const per = roundRatios(wl, id, other)
  targets.push({ name, wl, id, value, goal, met: value >= goal, note, per })
}
for (const id of tandemIds) {
  if (S['auth-read']) {
    target('auth read ≥ 95 % of the ceiling', 'auth-read', id, rate('auth-read', id) / ceiling('auth-read'), 0.95)
    target('auth read ≥ 1.6× express-session + MemoryStore', 'auth-read', id, rate('auth-read', id) / rate('auth-read', 'es-memory'), 1.6, '', 'es-memory')
    target('auth read ≥ 1.8× express-session + connect-redis', 'auth-read', id, rate('auth-read', id) / rate('auth-read', 'es-redis'), 1.8, '', 'es-redis')
    const best = jwtIds.filter((j) => S['auth-read'][j]).sort((a, b) => rate('auth-read', b) - rate('auth-read', a))[0]
    if (best) target('auth read ahead of every JWT middleware', 'auth-read', id, rate('auth-read', id) / rate('auth-read', best), 1.0, `fastest: ${byId[best].label}`, best)
  }
  if (S['data-read']) target('data read ≥ 90 % of the ceiling', 'data-read', id, rate('data-read', id) / ceiling('data-read'), 0.9)
}
if (S.write) target('Redis write ≥ 1.2× express-session + connect-redis', 'write', 'tandem-redis', rate('write', 'tandem-redis') / rate('write', 'es-redis'), 1.2, '', 'es-redis')
// Issue 15: the bridge over connect-redis no slower than express-session on the same store.
for (const [wl, what] of [['auth-read', 'auth read'], ['data-read', 'data read'], ['write', 'write']]) {
  if (S[wl]) target(`bridge ${what} ≥ 1.0× express-session + connect-redis`, wl, 'tandem-bridge-redis', rate(wl, 'tandem-bridge-redis') / rate(wl, 'es-redis'), 1.0, 'same connect-redis store', 'es-redis')
}

const fmtGoal = (t) => (t.goal < 1.01 && t.name.includes('%') ? fmtPct(t.goal) : fmtX(t.goal))
const fmtVal = (t) => (t.name.includes('%') ? fmtPct(t.value) : fmtX(t.value))
const fmtRatio = (t, x) => (t.name.includes('%') ? fmtPct(x) : fmtX(x))
const targetTable = `| target | contender | measured (ratio of medians) | same-round ratios (median; min–max) | goal | |
|---|---|---:|---:|---:|---|
${targets.map((t) => `| ${t.name} | ${byId[t.id].label} | ${fmtVal(t)} | ${t.per.length ? `${fmtRatio(t, median(t.per))}; ${fmtRatio(t, Math.min(...t.per))}–${fmtRatio(t, Math.max(...t.per))}` : '–'} | ${fmtGoal(t)} | ${t.met ? 'met' : '**missed**'}${t.note ? ` (${t.note})` : ''} |`).join('\n')}`

// Headline: authenticated read, data read, Redis write.
const HEAD = ['none', 'tandem-memory', 'tandem-sqlite', 'tandem-redis', 'tandem-postgres', 'tandem-bridge-redis', 'es-memory', 'es-redis', 'jwt-fast-jwt', 'jwt-fast-jwt-cache', 'jwt-jose', 'jwt-jsonwebtoken']
const headCell = (wl, id) => {
  const s = S[wl]?.[id]
  if (!s) return '–'
  return `${fmtInt(s.rps)} (${fmtPct(s.rps / ceiling(wl))})`
}
const headline = `| contender | authenticated read, req/s (% of ceiling) | read of session data | write of one key |
|---|---:|---:|---:|
${HEAD.filter((id) => contenders.includes(id)).map((id) => `| ${byId[id].tandem ? `**${byId[id].label}**` : byId[id].label} | ${headCell('auth-read', id)} | ${headCell('data-read', id)} | ${headCell('write', id)} |`).join('\n')}`

function growthTable () {
  const rows = []
  for (const id of GROWTH_CONTENDERS) {
    for (const n of GROWTH_SIZES) {
      const ms = growth[id]?.[n]
      if (!ms) continue
      const g = (wl, k) => median(ms.map((m) => m.results[wl][k]))
      rows.push(`| ${byId[id].label} | ${fmtInt(n)} | ${fmtInt(g('auth-read', 'rps'))} | ${fmtMs(g('auth-read', 'p50'))} | ${fmtMs(g('auth-read', 'p99'))} | ` +
        `${fmtInt(g('data-read', 'rps'))} | ${fmtMs(g('data-read', 'p50'))} | ${fmtMs(g('data-read', 'p99'))} | ` +
        `${fmtInt(median(ms.map((m) => m.fill.rssPerSession)))} | ${fmtInt(median(ms.map((m) => m.fill.heapPerSession)))} | ${(median(ms.map((m) => m.fill.ms)) / 1000).toFixed(1)} |`)
    }
  }
  return `| store | sessions in store | auth read req/s | p50 ms | p99 ms | data read req/s | p50 ms | p99 ms | RSS growth / session (B) | V8 heap + external growth / session (B) | fill s |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}`
}

console.log('\n## Headline\n')
console.log(headline)
console.log('\n## Targets\n')
console.log(targetTable)
for (const wl of workloads) {
  console.log(`\n## ${wlById[wl].label}\n`)
  console.log(workloadTable(wl))
}
if (GROWTH) { console.log('\n## Growth\n'); console.log(growthTable()) }
const maxGen = Math.max(...Object.values(S).flatMap((x) => Object.values(x).map((s) => s.genCpu)))
console.log(`\nload generator: at most ${(maxGen * 100).toFixed(0)} % of CPU 1 in any run; total ${totalS.toFixed(0)} s; load ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((x) => x.toFixed(2)).join(' ')} at end`)

if (process.env.BENCH_NO_WRITE !== '1') {
  const v = info.versions
  const md = `# HTTP benchmark results

Generated by \`sh bench/run-http.sh\` (\`taskset -c 1 node bench/http/run.mjs\`; also the last part of \`npm run bench\`)
on ${info.date}. Do not edit by hand; re-run the bench.

## Headline

Requests per second, median of ${ROUNDS} interleaved rounds; in brackets, the share of the ceiling
(the same Express app with no session middleware) measured in the same run.

${headline}

## Targets (issues 6 and 15)

"Measured" divides the two medians of the tables below. Rounds on this shared VM drift by
10–40 %, so the same ratio is also given per round (the two contenders measured in the same
round, minutes apart at most): their median, and their range.

${targetTable}

## Machine

| | |
|---|---|
| CPU | ${info.cpu} |
| Cores / pinning | ${info.cores}; each server \`taskset -c 0\`, the driver and autocannon \`taskset -c 1\`; redis-server and postgres not pinned |
| OS | ${info.kernel} |
| Node | ${info.node} (V8 ${info.v8}) |
| Load average | ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((x) => x.toFixed(2)).join(' ')} at end (1, 5, 15 min) |
| tandem-session | ${v['tandem-session']}; addon \`${info.addon.file}\`, ${(info.addon.size / 1024).toFixed(0)} KiB, built ${info.addon.mtime}${info.addon.debugInfo ? ' (HAS DEBUG INFO: not a release build?)' : ''} |
| Versions | ${Object.entries(v).filter(([k]) => k !== 'tandem-session').map(([k, x]) => `${k} ${x}`).join(', ')} |
| Stores | ${[REDIS_BASE && `redis-server ${redisVersion()} at ${new URL(REDIS_BASE).host} (databases 14 and 15, flushed before each server)`, PG_BASE && `PostgreSQL ${pgVersion()} at ${new URL(PG_BASE).host} (database tandem_bench, schema recreated before each server)`, `SQLite: a new file per server under ${os.tmpdir()} (${fsType(os.tmpdir())})`].filter(Boolean).join('; ')} |
${skipped.map((s) => `| Skipped | ${s} |\n`).join('')}| Total time | ${totalS.toFixed(0)} s |

## Method

- One Express ${v.express} app (\`bench/http/server.mjs\`), the same five routes for every contender;
  only the session layer differs. Express defaults (ETag, X-Powered-By) left on for all.
- Each measurement starts a fresh server process (\`taskset -c 0 node bench/http/server.mjs\`), logs in
  ${CONNECTIONS} sessions over HTTP (one per connection), checks the workload's answer once (and that a
  request without a cookie is refused), runs ${WARMUP} s of load as warm-up, then measures ${DURATION} s with
  autocannon ${v.autocannon} (${CONNECTIONS} connections, no pipelining) and stops the server.
- Runs are interleaved: each round runs every workload, and within it every contender once, the
  order rotated by one each round; each figure is the median of the ${ROUNDS} rounds.
- req/s: 2xx responses / measured seconds. p50/p99: from every response's time (autocannon's own
  histogram rounds to whole milliseconds), median over rounds.
- Server CPU µs/req: utime + stime of the server process (all threads, the addon's runtime too) from
  \`/proc/<pid>/stat\` around the measured run, divided by the responses. Store-server CPU µs/req: the same
  for the redis-server on ${REDIS_BASE ? new URL(REDIS_BASE).port : '–'} or all postgres processes (they run on either core).
- The load generator used at most ${(maxGen * 100).toFixed(0)} % of CPU 1 in any run${maxGen > 0.9 ? ' (**close to saturation: the fastest contenders may be generator-bound**)' : ''}.
- Every POST carries \`Sec-Fetch-Site: same-origin\`, as browsers send it (tandem-session's CSRF check
  wants a same-origin proof on logged-in unsafe requests; the others ignore it).

Contenders:

- **no session middleware**: the routes answer constants (the ceiling).
- **express-session ${v['express-session']}** (\`resave: false, saveUninitialized: false\`) with its MemoryStore, or with
  connect-redis ${v['connect-redis']} over node-redis ${v.redis}. Login is the documented
  \`req.session.regenerate()\` then setting \`userId\`, \`cart\`, \`views\`.
- **JWT cookie** middlewares, one per library (fast-jwt ${v['fast-jwt']}, jose ${v.jose}, jsonwebtoken ${v.jsonwebtoken}):
  the same small middleware (find the \`at\` cookie, verify HS256 with \`iss\`/\`aud\`/\`exp\` checked, set
  \`req.user\`), each library given its best key form, made once (jsonwebtoken a \`KeyObject\`: given the
  string secret its README shows, it tries to parse it as a public key on every call, about 0.6 ms
  with OpenSSL 3; jose a \`CryptoKey\`); the access token (15 min) carries \`{sub, cart, views}\`, so the data read reads claims.
  fast-jwt runs with its default (no verify cache) and, for the reads, also with \`cache: true\`
  (every connection presents the same token again, so every verify after the first is a cache hit).
  A write re-signs the access token with the new claim; a refresh verifies the refresh JWT (30 days,
  cookie \`rt\`, Path=/session/refresh) and signs a new access and refresh token: stateless, with
  no rotation record, no reuse detection and no revocation, unlike tandem-session's.
- **tandem-session** defaults (\`session({secret, store})\`: HS256, 15-min access tokens, CSRF on,
  real clock, so no access token expires during a run), with \`MemoryStore({maxSessions: 4,000,000})\`,
  \`SqliteStore\` (a new temp file; WAL, \`synchronous=FULL\`), \`RedisStore\` or \`PostgresStore\`.
  Login is \`await req.session.create(userId, {data: {cart, views: 0}})\`.
- **tandem-session + connect-redis (bridge)**: the same defaults with \`store\` the very connect-redis
  \`RedisStore({client, prefix: 'sess:'})\` over node-redis that express-session gets above, in the same
  Redis database; tandem-session takes it as an express-session store and runs its engine on the
  store's \`get\`/\`set\`/\`destroy\` through the bridge (\`js/compat/bridge.js\`). Its target (issue 15): no
  slower than express-session + connect-redis on the reads and the write.

Workloads:

- **authenticated read**: \`GET /api/me\` answers the user id; no session data is read (express-session
  still loads the whole session from its store: it has no other way to know the user).
- **read of session data**: \`GET /api/cart\` answers the cart put in at login.
- **write of one key**: \`POST /api/views\`, \`views + 1\`. Each connection keeps presenting the cookie it got at
  login (for tandem-session an access token naming an older data version, which its cache serves;
  for JWTs the same claims each time).
- **refresh**: \`POST /session/refresh\`. The connections share a queue of cookie jars, one per session:
  each request takes a jar and its response puts the rotated cookies back, so every request presents
  the refresh token the previous refresh of that session returned: a real rotation, never a grace
  replay. express-session has no refresh token and is not in this table.
- **login**: \`POST /login\` with no cookie; a new session each request (the store grows by thousands
  during a run).

${WORKLOADS.filter((w) => workloads.includes(w.id)).map((w) => `## ${w.label}\n\n${workloadTable(w.id)}\n`).join('\n')}
"req/s per round" lists the rounds in order (each round's contenders ran back to back, order rotated).

${GROWTH ? `## Growth: sessions in the store

A server whose store was filled with N sessions (each \`{cart, views}\`) before it listened, then
${CONNECTIONS} logged-in connections, ${WARMUP} s warm-up and ${GROWTH_DURATION} s measured per workload, median of ${ROUNDS}
rounds (fresh server per measurement, sizes and stores interleaved). SQLite files for this part are
on ${shmDir === tmpDir ? os.tmpdir() : '/dev/shm (tmpfs) so that the fill does not wait for an fsync per session; reads are served from the same page cache either way'}.
Memory per session: the server's RSS growth over the fill after full GCs, divided by N (for the
Rust MemoryStore RSS is the figure; express-session's MemoryStore lives in the V8 heap, next column;
SQLite's sessions are in its file, so its RSS growth is only SQLite's page cache). Per-session
figures are only meaningful for the large N: at 1,000 the allocator's and V8's fixed growth dominates.

${growthTable()}
` : ''}`
  fs.writeFileSync(path.join(root, 'bench', 'HTTP-RESULTS.md'), md)
  console.log('wrote bench/HTTP-RESULTS.md')
}

function redisVersion () {
  const p = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  return (p.stdout?.match(/v=(\S+)/) || [])[1] ?? '?'
}
function pgVersion () {
  const p = spawnSync('psql', ['-X', '-tA', PG_BASE, '-c', 'SHOW server_version'], { encoding: 'utf8' })
  return p.status === 0 ? p.stdout.trim().split(' ')[0] : '?'
}
function fsType (dir) {
  const p = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', dir], { encoding: 'utf8' })
  return p.status === 0 ? p.stdout.trim() : '?'
}
