'use strict'

/**
 * A cluster worker for tests/node/cluster.test.js: an Express 5 app with `session()` over
 * the store named by `TANDEM_CLUSTER` (JSON: `{store: 'redis'|'sqlite', url, path, port,
 * fixedNow, syncInterval, refreshGrace, keyRotationInterval, name}`), listening on its own
 * port (`port`, 0 for any) with `exclusive: true`, so that the test addresses each worker
 * directly instead of through the primary's round-robin on a shared port.
 *
 * IPC with the primary (the test process):
 * - worker → primary: `{type: 'listening', port, pid, kid}` once the engine has started;
 *   `{type: 'event', name, payload}` for every `theft` and `revoked` event;
 *   `{type: 'reply', id, value}` / `{type: 'reply', id, error}` for each command.
 * - primary → worker: `{cmd: 'setNow', ms, id}` (the engine's test clock), `{cmd: 'exit'}`.
 *
 * Admin routes (before the session middleware, tests only): GET /admin/kid,
 * POST /admin/revoke-key {kid}, POST /admin/revoke {handle},
 * POST /admin/revoke-user {user, except}, GET /admin/sessions/:user.
 */

const http = require('node:http')

const express = require('express')
const session = require('../../..')

const cfg = JSON.parse(process.env.TANDEM_CLUSTER)
const SECRET = 'cluster-test-secret-that-is-long-enough-0001'

const store = cfg.store === 'redis'
  ? new session.RedisStore({ url: cfg.url })
  : new session.SqliteStore({ path: cfg.path })

const s = session({
  secret: SECRET,
  store,
  fixedNow: cfg.fixedNow,
  syncInterval: cfg.syncInterval,
  refreshGrace: cfg.refreshGrace,
  keyRotationInterval: cfg.keyRotationInterval
})

const send = (m) => { if (process.connected) process.send(m) }
for (const name of ['theft', 'revoked']) s.on(name, (payload) => send({ type: 'event', name, payload }))

const wrap = (fn) => (req, res, next) => Promise.resolve().then(() => fn(req, res)).catch(next)
const view = (req) => req.session
  ? { worker: cfg.name, userId: req.session.owner, id: req.session.id, data: (({ cookie, ...data }) => data)(req.session) }
  : { worker: cfg.name, userId: null, id: null, data: null }

const app = express()
app.use(express.json())

app.get('/admin/kid', (req, res) => res.json({ worker: cfg.name, kid: s.currentKid() }))
app.post('/admin/revoke-key', wrap(async (req, res) => {
  await s.revokeSigningKey(req.body.kid)
  res.json({ worker: cfg.name, kid: s.currentKid() })
}))
app.post('/admin/revoke', wrap(async (req, res) => {
  res.json({ worker: cfg.name, existed: await s.revokeSession(req.body.handle) })
}))
app.post('/admin/revoke-user', wrap(async (req, res) => {
  res.json({ worker: cfg.name, revoked: await s.revokeUserSessions(req.body.user, { except: req.body.except }) })
}))
app.get('/admin/sessions/:user', wrap(async (req, res) => {
  res.json({ worker: cfg.name, sessions: await s.listSessions(req.params.user) })
}))

app.use(s)
app.post('/login', wrap(async (req, res) => {
  await req.session.create(req.body.user, { data: req.body.data ?? {} })
  res.json(view(req))
}))
app.get('/me', (req, res) => res.json(view(req)))
app.post('/data', (req, res) => {
  for (const [k, v] of Object.entries(req.body ?? {})) req.session[k] = v
  res.json(view(req))
})
app.post('/logout', wrap(async (req, res) => {
  await req.session.destroy()
  res.json({ worker: cfg.name, destroyed: true })
}))
// eslint-disable-next-line no-unused-vars
app.use((err, req, res, next) => {
  if (res.headersSent) return res.end()
  res.status(err.status || 500).json({ code: err.code || 'INTERNAL', message: err.message, worker: cfg.name })
})

process.on('message', (m) => {
  if (m.cmd === 'exit') process.exit(0)
  if (m.cmd === 'setNow') {
    try {
      s.setNow(m.ms)
      send({ type: 'reply', id: m.id, value: m.ms })
    } catch (e) {
      send({ type: 'reply', id: m.id, error: e.message })
    }
  }
})
// The primary going away (the test process ended or crashed) ends the worker too.
process.on('disconnect', () => process.exit(0))

s.ready().then(() => {
  const server = http.createServer(app)
  server.listen({ port: cfg.port ?? 0, host: '127.0.0.1', exclusive: true }, () => {
    send({ type: 'listening', port: server.address().port, pid: process.pid, kid: s.currentKid() })
  })
}, (e) => {
  process.stderr.write(`worker ${cfg.name}: the engine did not start: ${e.code} ${e.message}\n`)
  process.exit(1)
})
