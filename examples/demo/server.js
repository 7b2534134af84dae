'use strict'

/**
 * `npm start`: the demo on http://127.0.0.1:3000 (PORT to change it), over the embedded
 * SQLite store in a file of its own (`.tandem-session/demo.sqlite3` under the working
 * directory), so that no other trial of session() in the folder, with another secret,
 * keeps it from starting. No other server is needed. SIGINT and SIGTERM close the server and
 * the session middleware, and the process exits by itself.
 */

const http = require('node:http')
const path = require('node:path')
const { SqliteStore } = require('../..')
const { createDemo } = require('./app.js')

const port = Number(process.env.PORT || 3000)
const host = '127.0.0.1'
const store = new SqliteStore({ path: path.join(process.cwd(), '.tandem-session', 'demo.sqlite3') })
const { app, session } = createDemo({ store, ...(process.env.SESSION_SECRET ? { secret: process.env.SESSION_SECRET } : {}) })

session.on('theft', ({ userId, lastDevice, presenter }) => {
  console.log('theft detected: user %s, last refreshed from %s, reused from %s', userId, lastDevice && lastDevice.ip, presenter && presenter.ip)
})

session.ready().then(() => {
  const server = http.createServer(app)
  server.listen(port, host, () => {
    console.log(`tandem-session demo: http://${host}:${server.address().port}`)
  })
  // Graceful shutdown (README "close()"): the server finishes its requests, then the
  // session middleware its writes and background work; the process then exits by itself.
  const stop = () => server.close(() => session.close())
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}, (err) => {
  console.error('the session store did not start: %s', (err && (err.code || err.message)) || err)
  process.exit(1)
})
