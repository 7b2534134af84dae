// An app that does not augment SessionData (tsconfig.plain.json compiles this file alone):
// req.session has only the Session members.

import express = require('express')
import session = require('tandem-session')

const app = express()
app.use(session({ secret: 'a-secret-of-at-least-32-bytes....' }))
app.get('/', async (req, res) => {
  await req.session.save()
  // @ts-expect-error SessionData declares no keys
  req.session.views = 1
  // @ts-expect-error SessionData declares no keys
  res.json(req.session.views)
  // With no declared keys, create's data is not checked (Partial<{}>).
  await req.session.create('user-1', { data: { anything: 1 } })
})
