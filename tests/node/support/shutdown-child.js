'use strict'

/**
 * A child process for tests/node/shutdown.test.js: an app over a server store (argv[2]:
 * `redis` or `postgres`, URL in argv[3]) with the README's SIGTERM handler, and nothing
 * else: on SIGTERM it closes the HTTP server, then the session middleware, and must then
 * exit by itself (no process.exit): a handle left open would keep it alive.
 */

const http = require('node:http')
const express = require('express')
const session = require('../../..')

const [kind, url, name] = process.argv.slice(2)
const store = kind === 'redis'
  ? new session.RedisStore({ url, prefix: name + ':' })
  : new session.PostgresStore({ connectionString: url, schema: name })
const s = session({ secret: 'shutdown-child-secret-that-is-long-enough-01', store, saveUninitialized: false, syncInterval: 20 })

const app = express()
app.use(express.json())
app.use(s)
app.post('/login', async (req, res, next) => {
  try {
    await req.session.create(req.body.user)
    req.session.visits = 1
    res.json({ ok: true })
  } catch (e) { next(e) }
})
app.get('/me', (req, res) => res.json({ userId: req.session ? req.session.owner : null }))

const server = http.createServer(app)
s.ready().then(() => {
  server.listen(0, '127.0.0.1', () => console.log('listening %d', server.address().port))
}, (e) => { console.error('did not start: %s', e.code); process.exitCode = 1 })

process.once('SIGTERM', () => {
  server.close(async () => {
    await s.close()
    console.log('closed')
  })
})
