// CommonJS style: `import session = require('tandem-session')`, the typed form of
// `const session = require('tandem-session')`. Every option, the middleware object,
// req.session and the wrong usages the typings must refuse.

import session = require('tandem-session')
import express = require('express')

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
declare function expect<T extends true>(): void

const { MemoryStore, SqliteStore, PostgresStore, RedisStore, TokenCore, Engine } = session
const secret = 'a-secret-of-at-least-32-bytes....'

// ---- the module ------------------------------------------------------------------

const s: session.TandemSession = session({ secret, store: new MemoryStore() })
const app = express()
app.use(s)
app.use(session.session({ secret: [secret, 'an-older-secret-still-verifying..'] }))
expect<Equal<typeof session.session, typeof session>>()

// the stores and the token core keep their names
new SqliteStore()
new SqliteStore({ path: '/tmp/sessions.sqlite3' }).path.toUpperCase()
new PostgresStore({ connectionString: 'postgres://localhost/app' })
new RedisStore({ url: 'redis://localhost:6379/0' })
new RedisStore({ cluster: ['redis://a:7000', 'redis://b:7000'] })
new session.NativeMemoryStore({ maxSessions: 10 })
new MemoryStore().length((err, n) => n?.toFixed())
const core = new TokenCore({ secret: [secret] })
const verified = core.verifyRequest('tandem=x', null)
if (!verified.ok) expect<Equal<typeof verified.code, session.TokenErrorCode | 'NO_TOKEN'>>()
async function engineStarts (): Promise<session.StoredSession | null> {
  const engine = await Engine.start({ secret: [secret], store: new MemoryStore(), refreshGrace: 5000 })
  return engine.get('handle')
}
const theftCode: session.TokenErrorCode = 'TOKEN_THEFT_DETECTED'

// ---- options ---------------------------------------------------------------------

const every: session.SessionOptions = {
  secret,
  store: new SqliteStore(),
  name: 'sid',
  cookie: {
    path: '/',
    httpOnly: true,
    secure: 'auto',
    sameSite: 'strict',
    maxAge: null,
    domain: 'example.com',
    priority: 'high',
    partitioned: false,
  },
  proxy: undefined,
  rolling: true,
  saveUninitialized: false,
  unset: 'destroy',
  accessTokenMaxAge: 60_000,
  refreshTokenMaxAge: 86_400_000,
  absoluteMaxAge: 7 * 86_400_000,
  refreshGrace: 10_000,
  refreshPath: '/auth/refresh',
  csrf: { trustedOrigins: ['https://admin.example.com'], origins: ['https://app.example.com'], requireToken: true },
  transfer: 'header',
  algorithm: 'EdDSA',
  jwksPath: '/.well-known/jwks.json',
  issuer: 'https://example.com',
  audience: 'app',
  leeway: 1000,
  keyRotationInterval: 86_400_000,
  retiredKeyTtl: 3_600_000,
  syncInterval: 250,
  fixedNow: Date.UTC(2030, 0, 1),
}
session(every)
session({ secret, csrf: false, cookie: { secure: true, maxAge: 3_600_000 }, proxy: true, jwksPath: null })
session({ secret, csrf: {} })

// No secret option: req.secret at the first request (cookie-parser's), as express-session.
session({ store: new MemoryStore() })
session()
session({ secret: [Buffer.from('0123456789abcdef0123456789abcdef'), secret] })
// @ts-expect-error a secret is a string or a Buffer
session({ secret: 42 })
// @ts-expect-error unknown option (maxAge belongs in cookie)
session({ secret, maxAge: 60_000 })
// express-session's resave is accepted (and ignored)
session({ secret, resave: false, saveUninitialized: false })
// @ts-expect-error resave is a boolean
session({ secret, resave: 'no' })
// @ts-expect-error transfer is 'cookie' | 'header' | 'auto'
session({ secret, transfer: 'both' })
// @ts-expect-error algorithm is 'HS256' | 'EdDSA'
session({ secret, algorithm: 'RS256' })
// @ts-expect-error unset is 'keep' | 'destroy'
session({ secret, unset: true })
// @ts-expect-error lifetimes are numbers of ms
session({ secret, accessTokenMaxAge: '15m' })
// @ts-expect-error httpOnly cannot be turned off
session({ secret, cookie: { httpOnly: false } })
// @ts-expect-error secure is boolean | 'auto'
session({ secret, cookie: { secure: 'always' } })
// @ts-expect-error sameSite is 'lax' | 'strict' | 'none'
session({ secret, cookie: { sameSite: 'sometimes' } })
// @ts-expect-error unknown cookie attribute
session({ secret, cookie: { expires: new Date() } })
// @ts-expect-error trustedOrigins is an array
session({ secret, csrf: { trustedOrigins: 'https://admin.example.com' } })
// @ts-expect-error origins is an array
session({ secret, csrf: { origins: 'https://app.example.com' } })
// @ts-expect-error genid returns a string
session({ secret, genid: () => 42 })
session({ secret, genid: (req) => req.ip + 'x'.repeat(10) })
// @ts-expect-error the store must be a tandem-session store or an express-session store (no destroy)
session({ secret, store: { get () {}, set () {} } })
// An express-session store: the bridge runs the engine on it.
session({ secret, store: { get (sid: string, cb: (e: any, s?: object | null) => void) { cb(null, null) }, set () {}, destroy () {} } })

// ---- the middleware object ------------------------------------------------------

s.on('created', (e) => {
  expect<Equal<typeof e, session.CreatedEvent>>()
  const ip: string | undefined = e.device.ip
  const user: string | null = e.userId
})
  .on('refreshed', (e) => { const h: string = e.handle })
  .once('revoked', (e) => {
    expect<Equal<typeof e.reason, 'logout' | 'regenerate' | 'login' | 'admin' | 'theft'>>()
    const user: string | null = e.userId
  })
const onTheft = (t: session.TheftEvent): void => { console.log(t.handle, t.userId, t.lastDevice.ip, t.presenter.userAgent) }
s.on('theft', onTheft).off('theft', onTheft).addListener('theft', onTheft).removeListener('theft', onTheft)
s.removeAllListeners('created').removeAllListeners()
const listeners: number = s.listenerCount('revoked')
// @ts-expect-error listeners only: emitting is the middleware's business
s.emit('theft', {})
// @ts-expect-error unknown event
s.on('logout', () => {})
// @ts-expect-error a revoked listener gets a RevokedEvent, not a TheftEvent
s.on('revoked', onTheft)

async function admin (): Promise<void> {
  await s.ready()
  const devices: session.SessionInfo[] = await s.listSessions('user-1')
  for (const d of devices) console.log(d.handle, d.createdAt, d.lastRefreshAt, d.expiresAt, d.createdDevice.ip, d.lastDevice.userAgent)
  const existed: boolean = await s.revokeSession('handle')
  const revoked: string[] = await s.revokeUserSessions('user-1', { except: 'handle' })
  await s.revokeUserSessions('user-1')
  const jwks: session.Jwks = s.jwks()
  for (const k of jwks.keys) console.log(k.kid, k.x)
  await s.revokeSigningKey(s.currentKid())
  s.setNow(Date.UTC(2030, 0, 2))
  // @ts-expect-error null until the engine has started
  const started: session.Engine = s.engine
  const engine: session.Engine | null = s.engine
  if (engine !== null) await engine.sync()
  const m: session.SessionMetrics = s.metrics()
  const counts: number = m.logins + m.refreshes + m.graceHits + m.thefts + m.revocations + m.storeErrors + m.storeLatencySumMs
  const buckets: number[] = m.storeLatencyBuckets
  const names: string[] = session.prometheus(s, { registerMetric: (metric: unknown) => {} }, { prefix: 'app_' })
  const closing: Promise<void> = s.close()
  if (engine !== null) {
    const reset: boolean = engine.keyRingReset
    await engine.close()
    const closed: boolean = engine.closed
  }
  // @ts-expect-error resetKeyRing is a boolean
  session({ secret: 'x', resetKeyRing: 'yes' })
  s.on('error', (e: session.SessionError) => console.log(e.code))
  // @ts-expect-error revokeSession takes a handle
  await s.revokeSession()
  // @ts-expect-error engine is read-only
  s.engine = engine
}

// ---- per request -----------------------------------------------------------------

app.get('/', (req, res) => {
  const sess = req.session
  const id: string | null = sess.id
  const sid: string | null = req.sessionID
  const user: string | null = sess.owner
  const claims: Readonly<Record<string, unknown>> = sess.claims
  const csrf: string | null = sess.csrfToken()
  const store: session.TandemStore | session.ExpressSessionStore = req.sessionStore
  sess.cookie.maxAge = 30 * 86_400_000
  sess.cookie.sameSite = 'strict'
  const path: string = sess.cookie.path
  res.json({ id, sid, user, claims, csrf, store, path })

  // @ts-expect-error owner is read-only
  req.session.owner = 'admin'
  // @ts-expect-error id is read-only
  req.session.id = 'forged'
  // @ts-expect-error cookie is a getter: change its attributes, not the object
  req.session.cookie = { ...req.session.cookie }
  // @ts-expect-error claims are read-only
  req.session.claims.role = 'admin'
  // typed as in express-session (null at run time only while the request has no stored session)
  expect<Equal<typeof req.sessionID, string>>()
  expect<Equal<typeof req.session.id, string>>()
  // @ts-expect-error no data keys without augmentation of SessionData (augment.ts declares views, not this)
  req.session.somethingUndeclared = 1
})

app.post('/login', async (req, res, next) => {
  const fresh: session.RequestSession = await req.session.create('user-1')
  expect<Equal<typeof fresh, typeof req.session>>()
  await req.session.create('user-1', { data: {}, claims: { role: 'admin' }, keepData: true })
  req.session.create('user-1', (err) => { if (err) next(err) })
  req.session.create('user-1', (err, s) => { if (err) next(err); else res.json({ userId: s?.owner }) })
  req.session.create('user-1', { keepData: true }, (err) => {
    const code: session.TokenErrorCode | undefined = err?.code
    if (err) return next(err)
    res.json({ ok: true, code })
  })
  const p: Promise<session.RequestSession> = req.session.create('user-1', undefined)
  await p

  // @ts-expect-error create needs the userId
  await req.session.create()
  // @ts-expect-error userId is a string
  await req.session.create(42)
  // @ts-expect-error unknown create option
  await req.session.create('user-1', { device: { ip: '1.2.3.4' } })
  // @ts-expect-error claims are an object
  await req.session.create('user-1', { claims: 'admin' })
  // @ts-expect-error the callback form returns nothing to chain on
  req.session.create('user-1', () => {}).then(() => {})
})

app.post('/logout', async (req, res, next) => {
  const regenerated: session.RequestSession = await req.session.regenerate()
  const reloaded: session.RequestSession = await req.session.reload()
  const saved: void = await req.session.save()
  const touched: void = await req.session.touch()
  const destroyed: void = await req.session.destroy()
  req.session.regenerate((err, s) => next(err ?? undefined))
  req.session.reload((err) => { if (err?.code === 'SESSION_REVOKED') res.sendStatus(401) })
  req.session.save((err) => { if (err?.status === 503) res.sendStatus(503) })
  req.session.touch(() => {})
  req.session.destroy((err) => next(err))
  // @ts-expect-error save gives no result
  req.session.save((err, result: session.RequestSession) => {})
  // @ts-expect-error save takes no data
  await req.session.save({ views: 1 })
  // @ts-expect-error csrfToken is synchronous and may be null
  const t: string = req.session.csrfToken()
  // what assigning null (or undefined) means is the unset option
  req.session = null
  req.session = undefined
  // @ts-expect-error only a Session, null or undefined
  req.session = { views: 1 }
})

// errors passed to next(err) by the middleware
app.use((err: session.SessionError, req: express.Request, res: express.Response, next: express.NextFunction) => {
  if (err.code === 'STORE_UNAVAILABLE') res.status(err.status ?? 503).json({ code: err.code })
  else next(err)
})

export { engineStarts, admin, every, theftCode }

// ---- the dashboard ----------------------------------------------------------------

const board: express.RequestHandler = s.dashboard({ authorize: (req) => req.session.owner === 'alice' })
s.dashboard({ authorize: async () => true })
s.dashboard()
// @ts-expect-error authorize takes the request and answers a boolean
s.dashboard({ authorize: 'alice' })
void board
