// Public typings of tandem-session, hand-written. The generated typings of the native
// binding live in js/native/binding.d.ts; the option and result shapes below are
// re-exported from there where they are part of the public API.
//
// Today the package exports the token core. The Express middleware, `session(options)`,
// with `req.session` and `SessionData` augmentation, comes with the middleware.

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

export type TokenCoreOptions = NapiTokenOptions
export type Subject = NapiSubject
export type IssuedAccessToken = NapiIssuedAccess
export type RefreshToken = NapiRefreshToken
export type ParsedRefreshToken = NapiParsedRefresh
export type KeyRingInfo = NapiKeyRingInfo
export type KeyInfo = NapiKeyInfo
export type Device = NapiDevice
export type NewSession = NapiNewSession
export type SessionTokens = NapiTokens
export type RefreshOutcome = NapiRefreshOutcome
export type SessionInfo = NapiSessionInfo
export type SessionData = NapiSessionData
export type SessionOptions = NapiSessionOptions
export type Theft = NapiTheft

/** What a verified access token says. */
export interface AccessClaims {
  /** User id. */
  sub: string
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

/** Error codes of the core (`err.code`), and `NO_TOKEN` from `verifyRequest`. */
export type TokenErrorCode =
  | 'TOKEN_MALFORMED' | 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'TOKEN_NOT_YET_VALID'
  | 'KEY_UNKNOWN' | 'REFRESH_MALFORMED' | 'REFRESH_FORGED' | 'CSRF_INVALID'
  | 'CREDENTIALS_AMBIGUOUS' | 'CLAIM_RESERVED' | 'CONFIG_INVALID' | 'INVALID_ARGUMENT'
  | 'KEY_MATERIAL_INVALID' | 'KEYRING_UNREADABLE' | 'RANDOM_UNAVAILABLE' | 'INTERNAL'
  | 'SESSION_REVOKED' | 'STORE_UNAVAILABLE' | 'STORE_CORRUPT'

/** The outcome of `verifyRequest`. */
export type VerifyResult =
  | { ok: true; source: 'cookie' | 'header'; claims: AccessClaims }
  | { ok: false; code: TokenErrorCode | 'NO_TOKEN' }

/** An error thrown by the core. */
export interface TokenError extends Error {
  code: TokenErrorCode
}

/** Secrets, the signing-key ring and the access-token policy. See the README. */
export declare class TokenCore {
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
  jwks(): { keys: Array<{ kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }> }
  /** Tests only (needs the `fixedNow` option). */
  setNow(ms: number): void
  now(): number
  /** Tests only (needs `fixedNow`): sign exact header and payload JSON with the current key. */
  dangerousSignRaw(headerJson: string, payloadJson: string): string
}

/** A session store for `Engine.start({ store })`. */
export interface Store {
  /** @private */
  _open(): Promise<unknown>
}

/** Sessions in this process's memory (tests, one process). */
export declare class MemoryStore implements Store {
  constructor(options?: { maxSessions?: number })
  _open(): Promise<unknown>
}

/** Sessions in a SQLite file (the embedded default); several processes may share it. */
export declare class SqliteStore implements Store {
  constructor(options?: { path?: string })
  readonly path: string
  _open(): Promise<unknown>
}

/** Sessions in PostgreSQL. */
export declare class PostgresStore implements Store {
  constructor(options: { connectionString: string })
  _open(): Promise<unknown>
}

/** Sessions in Redis: one server, or a Redis Cluster. */
export declare class RedisStore implements Store {
  constructor(options: { url: string } | { cluster: string[] })
  _open(): Promise<unknown>
}

/** Options of `Engine.start`: the token options, the session options and the store. */
export interface EngineOptions extends TokenCoreOptions, SessionOptions {
  store: Store
}

/** Sessions over a store. See the README, "Sessions: the engine and its stores". */
export declare class Engine {
  static start(options: EngineOptions): Promise<Engine>
  verifyRequest(cookieHeader?: string | null, authorization?: string | null): VerifyResult
  verifyAccessToken(token: string): AccessClaims
  create(session: NewSession): Promise<SessionTokens>
  refresh(refreshToken: string, device?: Device): Promise<RefreshOutcome>
  revoke(handle: string): Promise<boolean>
  revokeUser(userId: string, except?: string): Promise<string[]>
  listUser(userId: string): Promise<SessionInfo[]>
  get(handle: string): Promise<SessionData | null>
  patchData(handle: string, changes: Record<string, unknown>): Promise<number | null>
  sync(): Promise<void>
  revokeKey(kid: string): Promise<void>
  currentKid(): string
  csrfToken(handle: string): string
  verifyCsrfToken(token: string, handle: string): boolean
  jwks(): { keys: Array<{ kty: 'OKP'; crv: 'Ed25519'; x: string; kid: string; alg: 'EdDSA'; use: 'sig' }> }
  /** Tests only (needs `fixedNow`). */
  setNow(ms: number): void
}
