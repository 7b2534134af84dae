// Default and named imports of the CommonJS module (esModuleInterop), in a file that
// compiles to CommonJS (tsconfig.json, tsconfig.cjs.json) or to ES modules (tsconfig.bundler.json).

import session, { MemoryStore, SqliteStore, RedisStore, PostgresStore, TokenCore, Engine, session as named } from 'tandem-session'
import type { SessionOptions, TandemSession, Session, SessionData, TandemStore } from 'tandem-session'
import express from 'express'

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
declare function expect<T extends true>(): void

expect<Equal<typeof named, typeof session>>()
const options: SessionOptions = { secret: 'a-secret-of-at-least-32-bytes....', store: new MemoryStore() }
const s: TandemSession = session(options)
express().use(s).use(named({ ...options, store: new SqliteStore() }))
const stores: TandemStore[] = [new RedisStore({ url: 'redis://localhost' }), new PostgresStore({ connectionString: 'postgres://localhost/db' })]
export const starting: Promise<Engine> = Engine.start({ secret: ['a-secret-of-at-least-32-bytes....'], store: stores[0]! })
export const core = new TokenCore({ secret: ['a-secret-of-at-least-32-bytes....'] })
export function current (req: express.Request): Session & Partial<SessionData> { return req.session }

import { Session as SessionClass } from 'tandem-session'
// @ts-expect-error types only: Session is an interface, there is no value
export const notAValue = SessionClass
