// One contender's Express server for the HTTP benchmark (bench/http/run.mjs starts a fresh one
// per measurement, pinned with `taskset -c 0`). The same five routes on every contender, so
// the only difference between two servers is the session layer:
//
//   POST /login            log in: a new session for `user-<n>` holding {cart, views: 0}
//   GET  /api/me           authenticated read: answers the user id, touches no session data
//   GET  /api/cart         read of session data: the cart put in at login
//   POST /api/views        write of one session key: views + 1
//   POST /session/refresh  refresh (tandem-session's endpoint; a stateless re-issue for JWTs)
//
// Env: BENCH_CONTENDER (see CONTENDERS), BENCH_REDIS_URL (es-redis, tandem-redis, tandem-bridge-redis),
// BENCH_PG_URL (tandem-postgres), BENCH_SQLITE_PATH (tandem-sqlite), BENCH_FILL (growth:
// sessions put in the store before listening), BENCH_MAX_SESSIONS (tandem MemoryStore bound).
// Prints one line `READY {json}` on stdout once listening on 127.0.0.1 (a free port).
// SIGTERM/SIGINT exit cleanly (so `node --cpu-prof` writes its profile).

import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import http from 'node:http'

const require = createRequire(import.meta.url)
const express = require('express')

const CONTENDER = process.env.BENCH_CONTENDER
const SECRET = 'bench-http-secret-bench-http-secret-0123456789'
const CART = ['sku-1001', 'sku-2002', 'sku-3003']
const ISS = 'bench'
const AUD = 'bench'
const ACCESS_MS = 15 * 60 * 1000
const REFRESH_MS = 30 * 24 * 3600 * 1000
const REFRESH_PATH = '/session/refresh'

let userN = 0
const nextUser = () => `user-${++userN}`
const unauthorised = (res) => res.status(401).json({ code: 'UNAUTHORISED' })

// ---------------------------------------------------------------------------------------------
// Session-object contenders (express-session and tandem-session share `req.session`).

// `userOf(req)`: who logged in (express-session: the app's own `userId` key; tandem-session:
// `req.session.owner`, set by `create(userId)`).
function sessionRoutes (app, login, userOf) {
  app.post('/login', login)
  app.get('/api/me', (req, res) => {
    const user = userOf(req)
    if (!user) return unauthorised(res)
    res.json({ user })
  })
  app.get('/api/cart', (req, res) => {
    const user = userOf(req)
    if (!user) return unauthorised(res)
    res.json({ user, cart: req.session.cart })
  })
  app.post('/api/views', (req, res) => {
    if (!userOf(req)) return unauthorised(res)
    req.session.views = (req.session.views || 0) + 1
    res.json({ views: req.session.views })
  })
}

/** connect-redis over a node-redis client on BENCH_REDIS_URL: express-session's store (es-redis)
 * and the one tandem-session runs on through its store bridge (tandem-bridge-redis), alike. */
async function connectRedisStore () {
  const { RedisStore } = await import('connect-redis')
  const { createClient } = require('redis')
  const client = createClient({ url: process.env.BENCH_REDIS_URL })
  client.on('error', (e) => { console.error('redis client:', e.message) })
  await client.connect()
  return new RedisStore({ client, prefix: 'sess:' })
}

async function expressSession (app, storeKind) {
  const session = require('express-session')
  let store
  let fillStore
  if (storeKind === 'redis') {
    store = await connectRedisStore()
  } else {
    store = new session.MemoryStore()
  }
  fillStore = store
  app.use(session({ secret: SECRET, store, resave: false, saveUninitialized: false }))
  // The documented login: regenerate (fixation), then put the user and data in.
  sessionRoutes(app, (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err)
      req.session.userId = nextUser()
      req.session.cart = CART
      req.session.views = 0
      res.json({ ok: true })
    })
  }, (req) => req.session.userId)
  return {
    fill: (n) => fillExpress(fillStore, session, n)
  }
}

async function fillExpress (store, session, n) {
  const BATCH = 256
  for (let i = 0; i < n; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => new Promise((resolve, reject) => {
      const sid = crypto.randomBytes(24).toString('base64url')
      const cookie = new session.Cookie({ httpOnly: true, path: '/' })
      store.set(sid, { cookie, userId: `fill-${i + k}`, cart: CART, views: 0 }, (e) => (e ? reject(e) : resolve()))
    })))
  }
}

async function tandemSession (app, storeKind) {
  const session = require('../../js/index.js')
  let store
  if (storeKind === 'memory') store = new session.NativeMemoryStore({ maxSessions: Number(process.env.BENCH_MAX_SESSIONS || 4_000_000) })
  else if (storeKind === 'sqlite') store = new session.SqliteStore({ path: process.env.BENCH_SQLITE_PATH })
  else if (storeKind === 'redis') store = new session.RedisStore({ url: process.env.BENCH_REDIS_URL })
  else if (storeKind === 'postgres') store = new session.PostgresStore({ connectionString: process.env.BENCH_PG_URL })
  // An express-session store, taken as it is: the engine runs on it through the bridge (js/compat/bridge.js).
  else if (storeKind === 'bridge-redis') store = await connectRedisStore()
  else throw new Error(`unknown store ${storeKind}`)
  // express-session's options as its contenders set them (resave matters over the bridge only).
  const s = session({ secret: SECRET, store, resave: false, saveUninitialized: false })
  await s.ready()
  app.use(s)
  sessionRoutes(app, async (req, res, next) => {
    try {
      await req.session.create(nextUser(), { data: { cart: CART, views: 0 } })
      res.json({ ok: true })
    } catch (e) { next(e) }
  }, (req) => req.session.owner)
  return {
    fill: async (n) => {
      const BATCH = 256
      for (let i = 0; i < n; i += BATCH) {
        await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) =>
          s.engine.create({ userId: `fill-${i + k}`, data: { cart: CART, views: 0 } })))
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JWT-cookie contenders: a small middleware per library. The access token (15 min, cookie `at`,
// Path=/) carries {sub, cart, views} (a JWT session keeps its data in the token); the refresh
// token (30 days, cookie `rt`, Path=/session/refresh) carries the same claims and typ 'refresh'.
// Verify: HS256 only, iss and aud checked, exp/nbf checked by the library.

/** The value of cookie `name` in a Cookie header, or null (no decoding: JWTs need none). */
function readCookie (header, name) {
  if (typeof header !== 'string') return null
  const key = name + '='
  let i = 0
  const n = header.length
  while (i < n) {
    while (header.charCodeAt(i) === 32) i++
    let end = header.indexOf(';', i)
    if (end === -1) end = n
    if (header.startsWith(key, i)) return header.slice(i + key.length, end)
    i = end + 1
  }
  return null
}

const ACCESS_COOKIE = { httpOnly: true, sameSite: 'lax', path: '/' }
const REFRESH_COOKIE = { httpOnly: true, sameSite: 'lax', path: REFRESH_PATH }

function jwtLibrary (kind) {
  const keyBytes = Buffer.from(SECRET)
  if (kind === 'fast-jwt' || kind === 'fast-jwt-cache') {
    const { createSigner, createVerifier } = require('fast-jwt')
    const common = { key: SECRET, algorithm: 'HS256', iss: ISS, aud: AUD }
    const signAccess = createSigner({ ...common, expiresIn: ACCESS_MS })
    const signRefresh = createSigner({ ...common, expiresIn: REFRESH_MS })
    const verify = createVerifier({ key: SECRET, algorithms: ['HS256'], allowedIss: ISS, allowedAud: AUD, cache: kind === 'fast-jwt-cache' })
    return { signAccess, signRefresh, verify }
  }
  if (kind === 'jsonwebtoken') {
    const jwt = require('jsonwebtoken')
    // A KeyObject, made once: given the string, jsonwebtoken 9 first tries to parse it as a
    // public key on every call, which costs about 0.6 ms with OpenSSL 3.
    const key = crypto.createSecretKey(keyBytes)
    const o = { algorithm: 'HS256', issuer: ISS, audience: AUD }
    const v = { algorithms: ['HS256'], issuer: ISS, audience: AUD }
    return {
      signAccess: (p) => jwt.sign(p, key, { ...o, expiresIn: ACCESS_MS / 1000 }),
      signRefresh: (p) => jwt.sign(p, key, { ...o, expiresIn: REFRESH_MS / 1000 }),
      verify: (t) => jwt.verify(t, key, v)
    }
  }
  if (kind === 'jose') {
    return Promise.all([
      import('jose'),
      // A CryptoKey, imported once (jose would import raw bytes on every call).
      crypto.webcrypto.subtle.importKey('raw', keyBytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    ]).then(([{ SignJWT, jwtVerify }, key]) => {
      const sign = (p, ms) => new SignJWT(p).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt()
        .setIssuer(ISS).setAudience(AUD).setExpirationTime(Math.floor((Date.now() + ms) / 1000)).sign(key)
      const v = { issuer: ISS, audience: AUD, algorithms: ['HS256'] }
      return {
        signAccess: (p) => sign(p, ACCESS_MS),
        signRefresh: (p) => sign(p, REFRESH_MS),
        verify: (t) => jwtVerify(t, key, v).then((r) => r.payload)
      }
    })
  }
  throw new Error(`unknown JWT library ${kind}`)
}

/** Call `f(value)` on a value or a promise's result, errors to `fail`: sync libraries stay sync. */
function then (x, f, fail) {
  if (x !== null && typeof x === 'object' && typeof x.then === 'function') return x.then(f, fail)
  return f(x)
}

async function jwtSession (app, kind) {
  const lib = await jwtLibrary(kind)
  const issue = (res, claims, next) => {
    let at
    try { at = lib.signAccess(claims) } catch (e) { return next(e) }
    return then(at, (a) => {
      res.cookie('at', a, ACCESS_COOKIE)
      let rt
      try { rt = lib.signRefresh({ ...claims, typ: 'refresh' }) } catch (e) { return next(e) }
      return then(rt, (r) => { res.cookie('rt', r, REFRESH_COOKIE) }, next)
    }, next)
  }
  app.post('/login', (req, res, next) => {
    const claims = { sub: nextUser(), cart: CART, views: 0 }
    then(issue(res, claims, next), () => { if (!res.headersSent) res.json({ ok: true }) }, next)
  })
  app.post(REFRESH_PATH, (req, res, next) => {
    const t = readCookie(req.headers.cookie, 'rt')
    if (t === null) return unauthorised(res)
    let v
    try { v = lib.verify(t) } catch { return unauthorised(res) }
    then(v, (c) => {
      if (c.typ !== 'refresh') return unauthorised(res)
      const claims = { sub: c.sub, cart: c.cart, views: c.views }
      return then(issue(res, claims, next), () => {
        if (!res.headersSent) res.json({ userId: c.sub, accessExpires: Date.now() + ACCESS_MS })
      }, next)
    }, () => unauthorised(res))
  })
  // The middleware: verify the access cookie, set req.user (null without a cookie).
  app.use((req, res, next) => {
    const t = readCookie(req.headers.cookie, 'at')
    if (t === null) { req.user = null; return next() }
    let v
    try { v = lib.verify(t) } catch { return unauthorised(res) }
    then(v, (c) => {
      if (c.typ === 'refresh') return unauthorised(res)
      req.user = c
      next()
    }, () => unauthorised(res))
  })
  app.get('/api/me', (req, res) => {
    if (!req.user) return unauthorised(res)
    res.json({ user: req.user.sub })
  })
  app.get('/api/cart', (req, res) => {
    if (!req.user) return unauthorised(res)
    res.json({ user: req.user.sub, cart: req.user.cart })
  })
  // A write re-issues the access token with the changed claim.
  app.post('/api/views', (req, res, next) => {
    const u = req.user
    if (!u) return unauthorised(res)
    const views = (u.views || 0) + 1
    let at
    try { at = lib.signAccess({ sub: u.sub, cart: u.cart, views }) } catch (e) { return next(e) }
    then(at, (a) => {
      res.cookie('at', a, ACCESS_COOKIE)
      res.json({ views })
    }, next)
  })
  return { fill: null }
}

// ---------------------------------------------------------------------------------------------
// The ceiling: no session layer, the same routes answering constants.

function none (app) {
  let views = 0
  app.post('/login', (req, res) => res.json({ ok: true }))
  app.get('/api/me', (req, res) => res.json({ user: 'user-1' }))
  app.get('/api/cart', (req, res) => res.json({ user: 'user-1', cart: CART }))
  app.post('/api/views', (req, res) => res.json({ views: ++views }))
  app.post(REFRESH_PATH, (req, res) => res.json({ userId: 'user-1', accessExpires: Date.now() + ACCESS_MS }))
  return { fill: null }
}

const CONTENDERS = {
  none: (app) => none(app),
  'es-memory': (app) => expressSession(app, 'memory'),
  'es-redis': (app) => expressSession(app, 'redis'),
  'jwt-fast-jwt': (app) => jwtSession(app, 'fast-jwt'),
  'jwt-fast-jwt-cache': (app) => jwtSession(app, 'fast-jwt-cache'),
  'jwt-jose': (app) => jwtSession(app, 'jose'),
  'jwt-jsonwebtoken': (app) => jwtSession(app, 'jsonwebtoken'),
  'tandem-memory': (app) => tandemSession(app, 'memory'),
  'tandem-sqlite': (app) => tandemSession(app, 'sqlite'),
  'tandem-redis': (app) => tandemSession(app, 'redis'),
  'tandem-postgres': (app) => tandemSession(app, 'postgres'),
  'tandem-bridge-redis': (app) => tandemSession(app, 'bridge-redis')
}

if (!CONTENDERS[CONTENDER]) {
  console.error(`server.mjs: unknown BENCH_CONTENDER ${CONTENDER}; one of ${Object.keys(CONTENDERS).join(', ')}`)
  process.exit(2)
}

const app = express()
const built = await CONTENDERS[CONTENDER](app)
// Errors answer 500 with a code (counted as non-2xx by the driver), never a stack trace.
app.use((err, req, res, next) => {
  if (res.headersSent) return next(err)
  console.error(`server.mjs ${CONTENDER}: ${err && (err.code || err.message)}`)
  res.status(err.status || 500).json({ code: err.code || 'ERROR' })
})

const fillN = Number(process.env.BENCH_FILL || 0)
let fill = null
if (fillN > 0) {
  if (!built.fill) throw new Error(`${CONTENDER} cannot be filled`)
  const gc = globalThis.gc || (() => {})
  gc(); gc()
  const before = process.memoryUsage()
  const t0 = performance.now()
  await built.fill(fillN)
  const ms = performance.now() - t0
  gc(); gc()
  const after = process.memoryUsage()
  fill = {
    n: fillN,
    ms,
    rssPerSession: (after.rss - before.rss) / fillN,
    heapPerSession: (after.heapUsed + after.external - before.heapUsed - before.external) / fillN
  }
}

const server = http.createServer(app)
server.keepAliveTimeout = 60_000
server.listen(0, '127.0.0.1', () => {
  process.stdout.write('READY ' + JSON.stringify({ port: server.address().port, pid: process.pid, fill }) + '\n')
})
// BENCH_PROFILE_FILE: SIGUSR2 starts V8's sampling profiler (100 µs), a second SIGUSR2 stops it,
// writes the profile there and prints `PROFILED` (the driver profiles the measured run only).
if (process.env.BENCH_PROFILE_FILE) {
  const inspector = await import('node:inspector')
  const fs = await import('node:fs')
  const session = new inspector.Session()
  session.connect()
  const post = (m, p) => new Promise((resolve, reject) => session.post(m, p, (e, r) => (e ? reject(e) : resolve(r))))
  let on = false
  process.on('SIGUSR2', async () => {
    if (!on) {
      on = true
      await post('Profiler.enable')
      await post('Profiler.setSamplingInterval', { interval: 100 })
      await post('Profiler.start')
      process.stdout.write('PROFILING\n')
    } else {
      const { profile } = await post('Profiler.stop')
      fs.writeFileSync(process.env.BENCH_PROFILE_FILE, JSON.stringify(profile))
      process.stdout.write('PROFILED\n')
    }
  })
}
const stop = () => { server.close(); process.exit(0) }
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
