// A typed app written against express-session's typings (@types/express-session), moved to
// tandem-session by its import line only: its `declare module 'express-session'`
// augmentation, the callback-style Session methods, `req.sessionID` as a string,
// `Partial<SessionData>` helpers, type-only imports from 'express-session' and the
// socket.io idiom of typing `IncomingMessage#session`. scripts/check-types.js compiles it
// with and without @types/express-session installed (and tsconfig.express-session.json
// in this repository's layout); each must be error-free.
//
// What proves that the augmentation applies: the `expect<Equal<…>>` lines and the plain
// uses of `views` / `user` (with the augmentation gone they fail: TS2339). The
// `@ts-expect-error` lines prove the opposite direction, that wrong values are refused;
// alone they would not prove anything, since an unknown key is refused too.

import express from 'express'
import type { IncomingMessage } from 'node:http'
import session, { SessionData } from 'tandem-session'
// Left over from express-session: type-only imports keep compiling and name the same types.
import type { SessionData as ExpressSessionData, Session as ExpressSession } from 'express-session'

declare module 'express-session' {
  interface SessionData {
    views: number
    user: { id: string; name: string }
    returnTo: string
    userId: string
  }
}

// socket.io apps type `socket.request.session` this way with express-session.
declare module 'http' {
  interface IncomingMessage {
    session: ExpressSession & Partial<ExpressSessionData>
  }
}

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
declare function expect<T extends true>(): void

expect<Equal<ExpressSessionData, SessionData>>()
expect<Equal<SessionData['user'], { id: string; name: string }>>()

const app = express()
app.use(session({
  secret: 'a-secret-of-at-least-32-bytes....',
  resave: false,
  saveUninitialized: false,
  cookie: { maxAge: 60_000, secure: 'auto', httpOnly: true, sameSite: 'lax' },
}))

function remember (data: Partial<SessionData>, user: SessionData['user']): void {
  data.user = user
}

app.get('/', (req, res) => {
  expect<Equal<typeof req.session.views, number | undefined>>()
  expect<Equal<typeof req.session.user, { id: string; name: string } | undefined>>()
  req.session.views = (req.session.views ?? 0) + 1
  const name: string | undefined = req.session.user?.name
  const sid: string = req.sessionID
  const id: string = req.session.id
  req.session.cookie.maxAge = 30 * 60_000
  remember(req.session, { id: 'u1', name: 'Ann' })
  res.json({ views: req.session.views, name, sid, id })

  // @ts-expect-error views is a number
  req.session.views = 'many'
  // @ts-expect-error a user has a name
  req.session.user = { id: 'u1' }
  // @ts-expect-error an undeclared key
  req.session.viewz = 1
})

// Logging in and out the express-session way: callbacks, `err` passed to `next`.
app.post('/login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.user = { id: 'u1', name: 'Ann' }
    req.session.save((err) => {
      if (err) return next(err)
      res.redirect(req.session.returnTo ?? '/')
    })
  })
})

app.post('/logout', (req, res, next) => {
  delete req.session.user
  req.session.destroy((err) => {
    if (err) return next(err)
    res.redirect('/')
  })
})

app.get('/reload', (req, res, next) => {
  req.session.reload((err) => (err ? next(err) : res.json(req.session.views ?? 0)))
})

// The tutorials' login: the app's own userId is data, typed by its augmentation.
app.post('/tutorial-login', (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err)
    req.session.userId = 'u1'
    const mine: string | undefined = req.session.userId
    // @ts-expect-error the augmentation types userId as a string
    req.session.userId = 42
    req.session.save(() => res.json({ mine }))
  })
})

// tandem-session's own members stay typed next to express-session's.
app.post('/tandem-login', async (req, res) => {
  await req.session.create('u1', { data: { views: 0 }, claims: { role: 'reader' } })
  const userId: string | null = req.session.owner
  const claims: Readonly<Record<string, unknown>> = req.session.claims
  const csrf: string | null = req.session.csrfToken()
  await req.session.save()
  res.json({ userId, claims, csrf })
  // @ts-expect-error create's data is checked against the augmented SessionData
  await req.session.create('u1', { data: { views: 'zero' } })
  // @ts-expect-error owner is read-only
  req.session.owner = 'admin'
})

// The session on a socket.io connection's request.
export function onConnection (request: IncomingMessage): number {
  // @ts-expect-error views is a number
  request.session.views = 'many'
  const views = (request.session.views ?? 0) + 1
  request.session.views = views
  return views
}

export { app }

// A store written on express-session's base class, as connect-redis and apps do, then given
// to session() and to its socket.io idiom's middleware: it type-checks as it did.
import { Store } from 'express-session'
class MapStore extends Store {
  private sessions = new Map<string, string>()
  get (sid: string, cb: (err: any, sess?: object | null) => void): void { const t = this.sessions.get(sid); cb(null, t === undefined ? null : JSON.parse(t)) }
  set (sid: string, sess: object, cb?: (err?: any) => void): void { this.sessions.set(sid, JSON.stringify(sess)); cb?.() }
  destroy (sid: string, cb?: (err?: any) => void): void { this.sessions.delete(sid); cb?.() }
}
export const withOwnStore = session({ secret: 'a-secret-of-at-least-32-bytes....', store: new MapStore() })
export const withMemoryStore = session({ secret: 'a-secret-of-at-least-32-bytes....', store: new session.MemoryStore() })
