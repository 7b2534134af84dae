/// <reference path="./express-session.d.ts" />
// Public typings of tandem-session, hand-written. The generated typings of the native
// binding live in js/native/binding.d.ts; the shapes below are re-exported from there
// where they are part of the public API.
//
// The module is the middleware function `session(options)`, with the token core, the
// engine and the stores as its properties (`export =` plus a namespace, the shape of
// @types/express-session), so both of these type-check:
//
//   import session = require('tandem-session')            // or const session = require(…)
//   import session, { MemoryStore } from 'tandem-session'  // esModuleInterop, node16/nodenext
//
// Apps declare their session data by augmenting `SessionData`, under either name (in a
// module file, one with an import or export, as with @types/express-session):
//
//   declare module 'tandem-session' { interface SessionData { views: number } }
//   declare module 'express-session' { interface SessionData { views: number } }
//
// The second works because express-session.d.ts (referenced above) declares the module
// 'express-session' as this one; see there. With @types/express-session installed too,
// nothing conflicts: `req.sessionID` has its type (`string`), and `req.session` /
// `req.sessionStore` are declared on Express's handler request, not the global one
// (below).

import type { RequestHandler, Request as ExpressRequest } from 'express'
import { EventEmitter } from 'node:events'
import type {
  NapiTokenOptions,
  NapiSubject,
  NapiIssuedAccess,
  NapiRefreshToken,
  NapiParsedRefresh,
  NapiKeyRingInfo,
  NapiKeyInfo,
  NapiDevice,
  NapiNewSession,
  NapiTokens,
  NapiRefreshOutcome,
  NapiSessionInfo,
  NapiSessionData,
  NapiSessionOptions,
  NapiTheft,
} from './js/native/binding'

declare global {
  namespace Express {
    interface Request {
      /**
       * The session handle, as `req.session.id`. Typed `string` as in express-session, and
       * a string whenever the request has a stored session; at run time it is `null`
       * while it has none (an anonymous session before anything is saved in it).
       */
      sessionID: string
    }
  }
}

// `req.session` and `req.sessionStore` are members of the request of Express's handlers
// (express-serve-static-core's `Request`, which `express.Request` extends), not of the
// global `Express.Request`: @types/express-session, when installed, declares both there
// with its own types, and a second declaration would conflict (TS2717). Where it declared
// them, ours are its types intersected with tandem-session's, so handlers see both and
// `Request` still extends `Express.Request`.
declare module 'express-serve-static-core' {
  interface Request {
    /**
     * The session of this request: its data (`SessionData`) and the members of `Session`.
     * `undefined` after `destroy()` and outside `cookie.path`. Assigning `null` (or
     * `undefined`) does what the `unset` option says.
     */
    get session(): session.RequestSessionOf<Express.Request>
    set session(value: session.RequestSessionOf<Express.Request> | null | undefined)
    /** The store of the middleware that loaded this request's session. */
    sessionStore: session.SessionStoreOf<Express.Request>
  }
}

/** The module itself, for `session.session`. */
type TandemSessionModule = typeof session

/**
 * The Express middleware. Throws a `TypeError` naming the option on a bad option value.
 *
 * ```ts
 * const s = session({ secret, store: new MemoryStore() })
 * app.use(s)
 * await s.ready()
 * ```
 */
declare function session(options?: session.SessionOptions): session.TandemSession

declare namespace session {
  /** The middleware function itself (`import { session } from 'tandem-session'`). */
  const session: TandemSessionModule

  // ---------------------------------------------------------------------------------
  // Middleware options

  /** Options of `session(options)`. Lifetimes are in milliseconds. */
  interface SessionOptions {
    /**
     * A string or Buffer of at least 32 bytes, or a non-empty array of such (at most 8, no
     * repeats): the first signs and seals, all verify (rotate by putting the new one first).
     * Not given: `req.secret` (cookie-parser's) at the first request, as in express-session.
     */
    secret?: string | Buffer | ReadonlyArray<string | Buffer> | undefined
    /**
     * Where sessions live.
     * @default new SqliteStore() // file .tandem-session/sessions.sqlite3 under the working directory
     */
    store?: TandemStore | ExpressSessionStore | undefined
    /**
     * The zero-logout switch: users who come with a valid express-session cookie whose
     * session is in `store` are moved over once (logged in as `user(sess)`, by default
     * passport's `passport.user`, with the same data), the legacy cookie cleared and the
     * legacy session destroyed unless `keep`.
     * @default undefined (no switch)
     */
    legacy?: {
      /** The express-session store the sessions are in. */
      store: ExpressSessionStore
      /** express-session's cookie name. @default 'connect.sid' */
      name?: string | undefined
      /** express-session's secret(s). @default the `secret` option */
      secret?: string | readonly string[] | undefined
      /** Keep the legacy session after the move. @default false */
      keep?: boolean | undefined
      /** The user a legacy session names (null: none). @default sess => sess.passport?.user */
      user?: ((sess: any) => string | null | undefined) | undefined
    } | undefined
    /**
     * Cookie name, as express-session's: the access cookie is `<name>`, the refresh cookie
     * `<name>.refresh`. A name with a browser-enforced prefix asks for it (recommended on
     * HTTPS): with `'__Host-sid'`, secure responses set `__Host-sid` and
     * `__Secure-sid.refresh`, plain-HTTP ones `sid` and `sid.refresh`. `__Host-` needs
     * `cookie.path` `'/'` and no `cookie.domain` (use `__Secure-` then).
     * @default 'connect.sid'
     */
    name?: string | undefined
    /**
     * Cookie attributes, as in express-session.
     * @default { path: '/', httpOnly: true, secure: 'auto', sameSite: 'lax', maxAge: null }
     */
    cookie?: CookieOptions | undefined
    /**
     * `true`: trust `X-Forwarded-Proto` / `X-Forwarded-Host`; `false`: only a TLS socket is
     * secure; `undefined`: Express's `req.secure`.
     * @default undefined
     */
    proxy?: boolean | undefined
    /**
     * Re-send the access cookie (re-signed, same expiry) on every response of a loaded session.
     * @default false
     */
    rolling?: boolean | undefined
    /**
     * Store an anonymous session (and send its cookies) even when nothing was put in it.
     * Not given: `true`, express-session's default, with its deprecation message.
     * @default true
     */
    saveUninitialized?: boolean | undefined
    /**
     * What `req.session = null` (or `delete req.session`) means: `'keep'` the stored
     * session, or `'destroy'` it.
     * @default 'keep'
     */
    unset?: 'keep' | 'destroy' | undefined
    /**
     * Makes the handle (`req.sessionID`) of each new session: must return 22 base64url
     * characters (128 bits), e.g. `crypto.randomBytes(16).toString('base64url')`, and a
     * fresh one every call (a handle that exists fails the login). A handle names a
     * session; the tokens, never the handle, are the credentials.
     * @default random 128-bit handles made in Rust
     */
    genid?: ((req: ExpressRequest) => string) | undefined
    /**
     * Accepted (a boolean) and ignored, for express-session compatibility: only changed keys
     * are ever written.
     * @deprecated ignored
     */
    resave?: boolean | undefined
    /**
     * Access-token lifetime, ms.
     * @default 900000 // 15 minutes
     */
    accessTokenMaxAge?: number | undefined
    /**
     * Idle lifetime of a session (its refresh token), ms.
     * @default 2592000000 // 30 days
     */
    refreshTokenMaxAge?: number | undefined
    /**
     * Absolute lifetime of a session, ms.
     * @default 7776000000 // 90 days
     */
    absoluteMaxAge?: number | undefined
    /**
     * Idle lifetime of an anonymous session (data written before login), ms; a value over
     * refreshTokenMaxAge counts as refreshTokenMaxAge.
     * @default 86400000 // 1 day
     */
    anonymousMaxAge?: number | undefined
    /**
     * The largest one session's data may grow, bytes: its keys plus its values as JSON.
     * A login or a save past it fails with 413 `DATA_TOO_LARGE` and writes nothing; a
     * save that makes the data smaller always applies. From 256 to 16777216.
     * @default 65536 // 64 KiB
     */
    maxDataBytes?: number | undefined
    /**
     * The most live sessions one user may hold: a login past it succeeds and logs out the
     * user's least recently refreshed session. From 1 to 1000000.
     * @default 100
     */
    maxSessionsPerUser?: number | undefined
    /**
     * How long a just-rotated refresh token is still accepted (concurrent refreshes), ms.
     * At most 60000.
     * @default 10000
     */
    refreshGrace?: number | undefined
    /**
     * The refresh endpoint (POST; GET only for page navigations), also the refresh cookie's Path.
     * @default '/session/refresh'
     */
    refreshPath?: string | undefined
    /**
     * CSRF protection of unsafe methods (Origin / Fetch Metadata checks, tokens): `false`,
     * `true`, or options.
     * @default true
     */
    csrf?: boolean | CsrfOptions | undefined
    /**
     * How tokens travel: `'cookie'`, `'header'`, or `'auto'` (header mode when the request
     * carries `Authorization: Bearer …`, `X-Refresh-Token` or `X-Session-Transfer: header`).
     * @default 'auto'
     */
    transfer?: 'cookie' | 'header' | 'auto' | undefined
    /**
     * Access-token signature: `'HS256'`, or `'EdDSA'` (then `jwks()` gives the public keys).
     * @default 'HS256'
     */
    algorithm?: 'HS256' | 'EdDSA' | undefined
    /**
     * Path where GET serves `jwks()`, e.g. `'/.well-known/jwks.json'`; `null`: not served.
     * EdDSA only (a `TypeError` with HS256).
     * @default null
     */
    jwksPath?: string | null | undefined
    /**
     * `iss` of issued tokens, required on verify.
     * @default 'tandem-session'
     */
    issuer?: string | undefined
    /**
     * `aud` of issued tokens, required on verify.
     * @default 'tandem-session'
     */
    audience?: string | undefined
    /**
     * Clock skew tolerated on `exp` / `nbf` / `iat`, ms. At most 300000.
     * @default 5000
     */
    leeway?: number | undefined
    /**
     * Time between signing-key rotations, ms.
     * @default 604800000 // 7 days
     */
    keyRotationInterval?: number | undefined
    /**
     * How long a retired signing key still verifies, ms.
     * @default max(3600000, accessTokenMaxAge + leeway)
     */
    retiredKeyTtl?: number | undefined
    /**
     * How often revocations and the key ring are read from the store, ms.
     * @default 500
     */
    syncInterval?: number | undefined
    /**
     * Start over when no configured secret opens the store's key ring (a secret changed
     * without `secret: [new, old]`): replace the ring by a new one sealed with the current
     * secret, logging everyone out (the sessions from before stay refused even if the old
     * secret comes back). One process of several starting together does it. Remove it once
     * started. Without it the start fails with `KEYRING_UNREADABLE` and nothing is written.
     * @default false
     */
    resetKeyRing?: boolean | undefined
    /**
     * TESTS ONLY: run on a fixed clock starting at this time (ms since the epoch);
     * `setNow(ms)` moves it.
     * @default undefined // the real clock
     */
    fixedNow?: number | undefined
  }

  /** Cookie attributes (`cookie` option). */
  interface CookieOptions {
    /**
     * Cookie Path. Requests outside it are left alone (no session).
     * @default '/'
     */
    path?: string | undefined
    /**
     * Always on: the access cookie is never readable by scripts (`false` is a `TypeError`).
     * @default true
     */
    httpOnly?: true | undefined
    /**
     * `'auto'`: Secure iff the request is secure. `true` on an insecure request: no cookie
     * is set (as express-session).
     * @default 'auto'
     */
    secure?: boolean | 'auto' | undefined
    /**
     * SameSite attribute.
     * @default 'lax'
     */
    sameSite?: 'lax' | 'strict' | 'none' | undefined
    /**
     * Max-Age of the cookies, ms (a positive integer; more than 400 days is cut to 400 days,
     * browsers' cap); `null`: browser-session cookies.
     * @default null
     */
    maxAge?: number | null | undefined
    /**
     * Domain attribute (then a prefixed `name` must be `__Secure-`, not `__Host-`).
     * @default undefined // host-only
     */
    domain?: string | undefined
    /**
     * Priority attribute (Chromium).
     * @default undefined // not sent
     */
    priority?: 'low' | 'medium' | 'high' | undefined
    /**
     * Partitioned attribute (CHIPS).
     * @default false
     */
    partitioned?: boolean | undefined
  }

  /** The `csrf` option as an object (CSRF protection on). */
  interface CsrfOptions {
    /**
     * Other origins allowed to send unsafe requests, e.g. `'https://admin.example.com'`.
     * @default []
     */
    trustedOrigins?: readonly string[] | undefined
    /**
     * The app's own origins, e.g. `['https://app.example.com']`, pinned instead of derived
     * from each request's scheme and `Host` (`X-Forwarded-Host` with `proxy: true`): for a
     * proxy that passes any `Host` through. When set, the Origin check of unsafe requests
     * and of page navigations to the refresh endpoint compares with this list only. Each
     * entry is exactly `scheme://host[:port]` (http or https, no path, not even `/`),
     * compared as browsers write `Origin` (lower case, punycode, no default port); anything
     * else throws a TypeError naming `csrf.origins` at setup.
     * @default undefined // derived from Host
     */
    origins?: readonly string[] | undefined
    /**
     * Require a valid CSRF token (`X-CSRF-Token` header or `_csrf` body field) on every
     * unsafe request of a stored session, even a same-origin one.
     * @default false
     */
    requireToken?: boolean | undefined
  }

  // ---------------------------------------------------------------------------------
  // The middleware object

  /** Why a session was revoked (`revoked` event). */
  type RevokeReason = 'logout' | 'regenerate' | 'login' | 'admin' | 'theft'

  /** `created`: a session was stored (login, or an anonymous session's first save). */
  interface CreatedEvent {
    handle: string
    userId: string | null
    device: Device
  }

  /** `theft`: a rotated refresh token came back; the session is revoked (emitted once). */
  interface TheftEvent {
    handle: string
    /** `null` for an anonymous session. */
    userId: string | null
    /** Device of the session's last refresh. */
    lastDevice: Device
    /** Device that presented the reused token. */
    presenter: Device
  }

  /** `refreshed`: a refresh token was rotated. */
  interface RefreshedEvent {
    handle: string
    userId: string | null
  }

  /** `revoked`: a session ended. */
  interface RevokedEvent {
    handle: string
    userId: string | null
    reason: RevokeReason
  }

  /** The events of the middleware object and what their listeners get. */
  interface SessionEvents {
    created: CreatedEvent
    refreshed: RefreshedEvent
    revoked: RevokedEvent
    theft: TheftEvent
    /** The engine did not start (`KEYRING_UNREADABLE`, `STORE_UNAVAILABLE`, …): for listeners only. */
    error: SessionError
  }

  /**
   * The counters of `s.metrics()` since the engine started (every one only grows). See
   * README "Metrics".
   */
  interface SessionMetrics {
    /** Sessions created for a user (logins). */
    logins: number
    /** Anonymous sessions created (data written before login). */
    anonymousSessions: number
    /** Refreshes that gave new tokens, grace hits included. */
    refreshes: number
    /** Refreshes answered in the grace window (a second tab, a retry). */
    graceHits: number
    /** Refreshes refused (forged, expired or revoked refresh token); thefts not included. */
    refreshesRefused: number
    /** Reused refresh tokens: sessions revoked as stolen. */
    thefts: number
    /** Sessions revoked (logout, login over a session, admin, theft, session cap, …). */
    revocations: number
    /** Calls the engine made to the store (background syncs included). */
    storeCalls: number
    /** Store calls that failed (`STORE_UNAVAILABLE`, `STORE_CORRUPT`). */
    storeErrors: number
    /** Sum of the store calls' durations, ms. */
    storeLatencySumMs: number
    /** Upper bounds of the latency buckets, ms. */
    storeLatencyBoundsMs: number[]
    /** Store calls that took at most each bound (cumulative). */
    storeLatencyBuckets: number[]
  }

  /**
   * Register `s.metrics()` in a prom-client registry (read at every scrape): counters
   * `<prefix>logins_total`, … and the histogram `<prefix>store_latency_seconds`. `client`
   * is `require('prom-client')` (its default registry) or a `Registry`. Returns the names.
   */
  function prometheus(
    middleware: { metrics(): SessionMetrics },
    client: { register: unknown } | { registerMetric(metric: unknown): void },
    options?: { prefix?: string | undefined }
  ): string[]

  /** A listener of event `E`. */
  type SessionEventListener<E extends keyof SessionEvents> = (event: SessionEvents[E]) => void

  /** A public JWK (EdDSA). */
  interface Jwk {
    kty: 'OKP'
    crv: 'Ed25519'
    x: string
    kid: string
    alg: 'EdDSA'
    use: 'sig'
  }

  interface DashboardOptions {
    /**
     * Who may see the dashboard and revoke sessions (sync or async).
     * @default nobody: every request gets 403
     */
    authorize?: ((req: ExpressRequest) => boolean | Promise<boolean>) | undefined
  }

  /** A JWK Set (`{ keys: [] }` with HS256). */
  interface Jwks {
    keys: Jwk[]
  }

  /**
   * What `session(options)` returns: the middleware, an event emitter (listeners only) and
   * admin methods. `jwks()`, `currentKid()` and `setNow()` need the started engine (after
   * `ready()` or a first request); the async methods wait for it.
   */
  interface TandemSession extends RequestHandler {
    on<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): this
    once<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): this
    off<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): this
    addListener<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): this
    removeListener<E extends keyof SessionEvents>(event: E, listener: SessionEventListener<E>): this
    removeAllListeners(event?: keyof SessionEvents): this
    listenerCount(event: keyof SessionEvents): number
    /**
     * The sessions dashboard: a handler to mount (`app.use('/admin/sessions',
     * s.dashboard({ authorize }))`) serving an HTML page of active sessions by user (device,
     * IP, created, last refresh; a revoke button each) and the recent theft events.
     */
    dashboard(options?: DashboardOptions): RequestHandler
    /**
     * Resolves once the engine has started over the store (requests wait for it anyway);
     * rejects with the start error.
     */
    ready(): Promise<void>
    /**
     * Graceful shutdown: from the call on every request answers 503 `SHUTTING_DOWN`; the
     * responses held for a save and the engine calls in flight finish, then the engine's
     * background syncs stop. Idempotent (the same promise); never rejects. Close the HTTP
     * server first.
     */
    close(): Promise<void>
    /** The engine's counters since it started (zeros before). */
    metrics(): SessionMetrics
    /** The live sessions of a user ("your devices"), most recently refreshed first. */
    listSessions(userId: string): Promise<SessionInfo[]>
    /** Revoke a session; resolves to whether it existed. */
    revokeSession(handle: string): Promise<boolean>
    /** Revoke every session of a user but `except`; resolves to the revoked handles. */
    revokeUserSessions(userId: string, options?: { except?: string | undefined }): Promise<string[]>
    /** The public JWK Set (EdDSA; `{ keys: [] }` with HS256). */
    jwks(): Jwks
    /** Emergency: stop signing with and accepting key `kid`, in every process sharing the store. */
    revokeSigningKey(kid: string): Promise<void>
    /** The current signing key's id. */
    currentKid(): string
    /** TESTS ONLY (needs `fixedNow`): move the fixed clock to `ms`. */
    setNow(ms: number): void
    /** The engine underneath; `null` until it has started. */
    readonly engine: Engine | null
  }

  // ---------------------------------------------------------------------------------
  // req.session

  /**
   * The session data. Empty here; apps declare their keys by augmentation:
   * `declare module 'tandem-session' { interface SessionData { views: number } }`, or
   * `declare module 'express-session' { … }` as written for express-session.
   * Values must be JSON values. `delete req.session.key` removes a key (so does setting it to
   * `null`, where your `SessionData` allows `null`).
   */
  interface SessionData {}

  /** `req.session`: the members of `Session` and the data keys of `SessionData`. */
  type RequestSession = Session & Partial<SessionData>

  /**
   * The type of `req.session` on a request whose global part is `R` (`Express.Request`):
   * `RequestSession`, intersected with the `session` that another declaration (that of
   * @types/express-session) gives `R`.
   */
  type RequestSessionOf<R> = R extends { session: infer Other } ? Other & RequestSession : RequestSession

  /** The type of `req.sessionStore`, as `RequestSessionOf` for `req.session`. */
  type SessionStoreOf<R> = R extends { sessionStore: infer Other } ? Other & (TandemStore | ExpressSessionStore) : TandemStore | ExpressSessionStore

  /** Node-style callback of the `Session` methods: `(null, result)` or `(err)`. */
  type SessionCallback<R = undefined> = (err: SessionError | null, result?: R) => void

  /** Options of `req.session.create(userId, options)`. */
  interface CreateOptions {
    /** Initial data of the new session. */
    data?: Partial<SessionData> | undefined
    /** App claims carried by its access tokens (`req.session.claims`). */
    claims?: Record<string, unknown> | undefined
    /**
     * Copy the current session's data into the new one (`data` wins on a shared key).
     * @default false
     */
    keepData?: boolean | undefined
  }

  /**
   * `req.session.cookie`: the cookie attributes of this response, the `cookie` option with
   * its defaults filled in (change `maxAge` and friends for this response only).
   */
  interface SessionCookie {
    path: string
    secure: boolean | 'auto'
    sameSite: 'lax' | 'strict' | 'none'
    maxAge: number | null
    domain?: string | undefined
    priority?: 'low' | 'medium' | 'high' | undefined
    partitioned: boolean
  }

  /**
   * The non-enumerable members of `req.session` (its enumerable own properties are the data,
   * so `SessionData` keys must not use these names). Each method takes an optional
   * node-style callback, else returns a promise.
   */
  interface Session {
    /**
     * The session handle, as `req.sessionID`. Typed `string` as in express-session, and a
     * string whenever the session is stored; at run time it is `null` on an anonymous
     * session before anything is saved in it, and on a `req.session` object that
     * `create()` or `regenerate()` replaced.
     */
    readonly id: string
    /**
     * Who logged in with `create(userId)`: the user id, or `null` for an anonymous session.
     * (An app's own `req.session.userId` is plain data, as with express-session.)
     */
    readonly owner: string | null
    /** App claims of the access token (`{}` when none). */
    readonly claims: Readonly<Record<string, unknown>>
    /** This response's cookie attributes. */
    readonly cookie: SessionCookie

    /**
     * Log in as `userId` (1 to 256 characters, not starting with `~anon:`): a new session
     * with a new handle and new tokens; the session this request had is revoked. Replaces
     * `req.session` (and gives the new one).
     */
    create(userId: string, callback: SessionCallback<RequestSession>): void
    create(userId: string, options: CreateOptions | undefined, callback: SessionCallback<RequestSession>): void
    create(userId: string, options?: CreateOptions): Promise<RequestSession>

    /**
     * A new empty session (same user if logged in, else anonymous); the old one is revoked.
     * Replaces `req.session` (and gives the new one).
     */
    regenerate(callback: SessionCallback<RequestSession>): void
    regenerate(): Promise<RequestSession>

    /** Revoke the session and clear its cookies (or headers); `req.session` becomes `undefined`. */
    destroy(callback: SessionCallback): void
    destroy(): Promise<void>

    /** Re-read the data from the store (`SESSION_REVOKED` when the session is gone). */
    reload(callback: SessionCallback<RequestSession>): void
    reload(): Promise<RequestSession>

    /** Write the changed keys now (stores an anonymous session on its first save with data). */
    save(callback: SessionCallback): void
    save(): Promise<void>

    /** Re-send the access cookie (new Max-Age) on this response. */
    touch(callback: SessionCallback): void
    touch(): Promise<void>

    /** A CSRF token bound to this session; `null` while the session is not stored. */
    csrfToken(): string | null
  }

  // ---------------------------------------------------------------------------------
  // Errors

  /**
   * Error codes (`err.code`): of the core, the engine and the middleware; `NO_TOKEN` only
   * from `verifyRequest`.
   */
  type TokenErrorCode =
    | 'TOKEN_MALFORMED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_NOT_YET_VALID'
    | 'KEY_UNKNOWN' | 'REFRESH_MALFORMED' | 'REFRESH_FORGED' | 'CSRF_INVALID'
    | 'CREDENTIALS_AMBIGUOUS' | 'CLAIM_RESERVED' | 'CONFIG_INVALID' | 'INVALID_ARGUMENT'
    | 'KEY_MATERIAL_INVALID' | 'KEYRING_UNREADABLE' | 'RANDOM_UNAVAILABLE' | 'INTERNAL'
    | 'SESSION_REVOKED' | 'TOKEN_THEFT_DETECTED' | 'STORE_UNAVAILABLE' | 'STORE_CORRUPT'
    | 'DATA_TOO_LARGE'

  /** An error thrown by the core or the engine. */
  interface TokenError extends Error {
    code: TokenErrorCode
  }

  /**
   * An error of the middleware (`next(err)`, a `Session` method's failure): `code` on
   * tandem-session's own errors; `status` for HTTP (503 with `STORE_UNAVAILABLE`, 401 with
   * `SESSION_REVOKED`, 400 with `INVALID_ARGUMENT`, 413 with `DATA_TOO_LARGE`, else 500).
   * A bad argument is a plain
   * `TypeError`.
   */
  interface SessionError extends Error {
    code?: TokenErrorCode | undefined
    status?: number | undefined
  }

  // ---------------------------------------------------------------------------------
  // Token core, engine, stores

  type TokenCoreOptions = NapiTokenOptions
  type Subject = NapiSubject
  type IssuedAccessToken = NapiIssuedAccess
  type RefreshToken = NapiRefreshToken
  type ParsedRefreshToken = NapiParsedRefresh
  type KeyRingInfo = NapiKeyRingInfo
  type KeyInfo = NapiKeyInfo
  /** Where a session was used from. */
  type Device = NapiDevice
  type NewSession = NapiNewSession
  type SessionTokens = NapiTokens
  type RefreshOutcome = NapiRefreshOutcome
  /** One session of a user (`listSessions`). */
  type SessionInfo = NapiSessionInfo
  /** A stored session as `Engine#get` returns it. (Before the middleware: `SessionData`.) */
  type StoredSession = NapiSessionData
  /** Session lifetimes of `Engine.start`. (Before the middleware: `SessionOptions`.) */
  type EngineSessionOptions = NapiSessionOptions
  /** A detected theft, as `Engine#refresh` reports it. */
  type Theft = NapiTheft

  /** What a verified access token says. */
  interface AccessClaims {
    /** The token's subject (`sub`): opaque for an anonymous session. */
    sub: string
    /** The user id: `sub`, or null for an engine's anonymous session. */
    userId: string | null
    /** Session handle. */
    sid: string
    /** Token id. */
    jti: string
    /** Issued at, seconds since the epoch. */
    iat: number
    /** Expiry, seconds since the epoch. */
    exp: number
    /** Session data version. */
    dv: number
    /** Id of the key that signed it. */
    kid: string
    /** App claims, when the token carries any. */
    claims?: Record<string, unknown>
  }

  /** The outcome of `verifyRequest`. */
  type VerifyResult =
    | { ok: true; source: 'cookie' | 'header'; claims: AccessClaims }
    | { ok: false; code: TokenErrorCode | 'NO_TOKEN' }

  /** Secrets, the signing-key ring and the access-token policy. See the README. */
  class TokenCore {
    constructor(options: TokenCoreOptions)
    /** Verify the access token of a request (cookie or Bearer). Never throws for a bad token. */
    verifyRequest(cookieHeader?: string | null, authorization?: string | null): VerifyResult
    /** Verify one access token; throws a `TokenError` when it is not valid. */
    verifyAccessToken(token: string): AccessClaims
    signAccessToken(subject: Subject): IssuedAccessToken
    newSessionHandle(): string
    issueRefreshToken(handle: string): RefreshToken
    parseRefreshToken(token: string): ParsedRefreshToken
    /** Whether `token` is genuine and its secret has the stored `digest` (constant time). */
    refreshMatches(token: string, digest: string): boolean
    refreshSuccessor(token: string, salt: string): RefreshToken
    csrfToken(handle: string): string
    verifyCsrfToken(token: string, handle: string): boolean
    sealKeyRing(): string
    openKeyRing(sealed: string, replace?: boolean): boolean
    rotateKeysIfDue(): boolean
    revokeKey(kid: string): void
    keyRingInfo(): KeyRingInfo
    currentKid(): string
    /** The public JWK Set (EdDSA; `{ keys: [] }` for HS256). */
    jwks(): Jwks
    /** Tests only (needs the `fixedNow` option). */
    setNow(ms: number): void
    now(): number
    /** Tests only (needs `fixedNow`): sign exact header and payload JSON with the current key. */
    dangerousSignRaw(headerJson: string, payloadJson: string): string
  }

  /** One of tandem-session's own stores (the `store` option, `Engine.start({ store })`). */
  interface TandemStore {
    /** @private */
    _open(): Promise<unknown>
    /** Close the store: its push listener stops and its pooled connections close. */
    close(): Promise<void>
  }

  /**
   * An express-session store (connect-redis, connect-pg-simple, memorystore, one written on
   * `session.Store`): the engine runs on it through the bridge. Methods call back node-style
   * (at once or later) or return promises.
   */
  interface ExpressSessionStore {
    get(sid: string, callback: (err: any, session?: object | null) => void): unknown
    set(sid: string, session: object, callback?: (err?: any) => void): unknown
    destroy(sid: string, callback?: (err?: any) => void): unknown
  }

  /**
   * express-session's base class for session stores, an EventEmitter: connect-redis,
   * connect-pg-simple and memorystore extend it, and so may an app's own store. The engine
   * runs on any such store through the bridge.
   */
  abstract class Store extends EventEmitter implements ExpressSessionStore {
    constructor()
    regenerate(req: ExpressRequest, callback: (err?: any) => void): void
    load(sid: string, callback: (err: any, session?: object) => void): void
    createSession(req: ExpressRequest, session: object): object
    abstract get(sid: string, callback: (err: any, session?: object | null) => void): void
    abstract set(sid: string, session: object, callback?: (err?: any) => void): void
    abstract destroy(sid: string, callback?: (err?: any) => void): void
    touch?(sid: string, session: object, callback?: (err?: any) => void): void
    all?(callback: (err: any, sessions?: { [sid: string]: object } | object[] | null) => void): void
    length?(callback: (err: any, length?: number) => void): void
    clear?(callback?: (err?: any) => void): void
  }

  /**
   * express-session's MemoryStore, with its methods: sessions as JSON text in this
   * process's memory, unbounded (development and tests). The engine runs on it through
   * the bridge, so each save is a `set`, as in express-session.
   */
  class MemoryStore extends Store {
    constructor()
    get(sid: string, callback: (err: any, session?: object | null) => void): void
    set(sid: string, session: object, callback?: (err?: any) => void): void
    destroy(sid: string, callback?: (err?: any) => void): void
    touch(sid: string, session: object, callback?: (err?: any) => void): void
    all(callback: (err: any, sessions?: { [sid: string]: object }) => void): void
    length(callback: (err: any, length?: number) => void): void
    clear(callback?: (err?: any) => void): void
  }

  /** Sessions in this process's memory, kept by the engine in Rust (one process; bounded). */
  class NativeMemoryStore implements TandemStore {
    /**
     * @param options.maxSessions bound on live sessions; a full store evicts the oldest
     *   anonymous session for a login, and refuses one only when all are logged in. Default 100000.
     * @param options.maxAnonymousSessions bound on anonymous sessions (at most maxSessions);
     *   a new one beyond it evicts the oldest. Default: half of maxSessions.
     */
    constructor(options?: { maxSessions?: number; maxAnonymousSessions?: number })
    _open(): Promise<unknown>
    /** Close the store: its push listener stops and its pooled connections close. */
    close(): Promise<void>
  }

  /** Sessions in a SQLite file (the embedded default); several processes may share it. */
  class SqliteStore implements TandemStore {
    /**
     * @param options.path the database file. Default `.tandem-session/sessions.sqlite3`.
     * @param options.maxAnonymousSessions bound on anonymous sessions; a new one beyond it
     *   evicts the oldest. Default 100000.
     */
    constructor(options?: { path?: string; maxAnonymousSessions?: number })
    readonly path: string
    _open(): Promise<unknown>
    /** Close the store: its push listener stops and its pooled connections close. */
    close(): Promise<void>
  }

  /** Sessions in PostgreSQL. */
  class PostgresStore implements TandemStore {
    /**
     * @param options.schema the schema of the tables, created if missing (a-z 0-9 _).
     *   Default: the connection's first `search_path` schema.
     * @param options.tablePrefix the start of every table name (a-z 0-9 _, at most 32):
     *   apps sharing one database each take their own. Default `tandem_`.
     * @param options.maxAnonymousSessions as SqliteStore's. Default 100000.
     */
    constructor(options: {
      /**
       * `postgres://user:password@host:port/db`; TLS as its `sslmode` says (libpq's:
       * `disable`, `prefer` (default), `require`, `verify-ca`, `verify-full`) and
       * `sslrootcert` (a PEM file, or `system`).
       */
      connectionString: string
      /** PEM certificates to trust for TLS instead of the system's roots. */
      ca?: string | Buffer
      schema?: string
      tablePrefix?: string
      maxAnonymousSessions?: number
    })
    _open(): Promise<unknown>
    /** Close the store: its push listener stops and its pooled connections close. */
    close(): Promise<void>
  }

  /** Sessions in Redis: one server, or a Redis Cluster. */
  class RedisStore implements TandemStore {
    /**
     * @param options.prefix the start of every key (A-Z a-z 0-9 : _ . -, at most 64), as
     *   connect-redis's: apps sharing one database each take their own. Default `ts:`.
     * @param options.maxAnonymousSessions as SqliteStore's, split evenly over 256 hash tags
     *   (so rounded up to a multiple of 256). Default 100000.
     */
    constructor(
      options: ({ url: string } | { cluster: string[] }) & {
        prefix?: string
        /** PEM certificates to trust for `rediss://` URLs instead of the system's roots. */
        ca?: string | Buffer
        maxAnonymousSessions?: number
      }
    )
    _open(): Promise<unknown>
    /** Close the store: its push listener stops and its pooled connections close. */
    close(): Promise<void>
  }

  /** Options of `Engine.start`: the token options, the session lifetimes and the store. */
  interface EngineOptions extends TokenCoreOptions, EngineSessionOptions {
    store: TandemStore | ExpressSessionStore
  }

  /** Sessions over a store. See the README, "Sessions: the engine and its stores". */
  class Engine {
    static start(options: EngineOptions): Promise<Engine>
    verifyRequest(cookieHeader?: string | null, authorization?: string | null): VerifyResult
    verifyAccessToken(token: string): AccessClaims
    create(session: NewSession): Promise<SessionTokens>
    refresh(refreshToken: string, device?: Device): Promise<RefreshOutcome>
    revoke(handle: string): Promise<boolean>
    revokeUser(userId: string, except?: string): Promise<string[]>
    listUser(userId: string): Promise<SessionInfo[]>
    get(handle: string): Promise<StoredSession | null>
    patchData(handle: string, changes: Record<string, unknown>): Promise<number | null>
    sync(): Promise<void>
    revokeKey(kid: string): Promise<void>
    currentKid(): string
    csrfToken(handle: string): string
    verifyCsrfToken(token: string, handle: string): boolean
    jwks(): Jwks
    /**
     * Wait for the calls in flight, then stop the background syncs; every call after it
     * fails with `SHUTTING_DOWN`. Idempotent; never rejects.
     */
    close(): Promise<void>
    /** Whether `close()` was called. */
    readonly closed: boolean
    /** The counters since the engine started. */
    metrics(): SessionMetrics
    /** Whether this start replaced a key ring no secret opened (`resetKeyRing`). */
    readonly keyRingReset: boolean
    /** Tests only (needs `fixedNow`). */
    setNow(ms: number): void
  }
}

export = session
