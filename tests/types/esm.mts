// An ES module (.mts) under Node's rules (module nodenext): the package is CommonJS, so
// the default import is module.exports, the middleware function.

import session, { MemoryStore, TokenCore, type SessionOptions, type TandemSession } from 'tandem-session'
import express from 'express'

const options = { secret: 'a-secret-of-at-least-32-bytes....', store: new MemoryStore(), transfer: 'cookie' } satisfies SessionOptions
const s: TandemSession = session(options)
const app = express()
app.use(s)
await s.ready()

app.post('/login', async (req, res) => {
  await req.session.create('user-1', { claims: { role: 'reader' } })
  res.json({ csrf: req.session.csrfToken(), userId: req.session.owner })
})

s.on('theft', ({ handle, userId }) => { console.warn('theft', handle, userId) })
new TokenCore({ secret: ['a-secret-of-at-least-32-bytes....'] }).currentKid()

// @ts-expect-error transfer is 'cookie' | 'header' | 'auto'
session({ ...options, transfer: 'bearer' })
