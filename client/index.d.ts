// Typings of the tandem-session browser client (client/index.js).

/** Why a session ended. */
export type SessionEndCode = 'UNAUTHORISED' | 'TOKEN_THEFT_DETECTED'

/** What the server says about the session (`X-Session-Info`); never a token. */
export interface SessionInfo {
  /** null for an anonymous session */
  userId: string | null
  /** ms since the epoch */
  accessExpires: number
}

/** Header mode: the tokens, as the app's storage keeps them. */
export interface Tokens {
  accessToken: string
  refreshToken: string | undefined
}

/** Header mode: where the app keeps the tokens (sync or async). */
export interface TokenStorage {
  get (): Tokens | null | undefined | Promise<Tokens | null | undefined>
  set (tokens: Tokens): void | Promise<void>
  clear (): void | Promise<void>
}

/** The part of the Web Locks API used (`navigator.locks`). */
export interface LockManagerLike {
  request<T> (name: string, callback: () => T | Promise<T>): Promise<T>
}

/** The part of the Web Storage API used (`localStorage`). */
export interface StorageAreaLike {
  getItem (key: string): string | null
  setItem (key: string, value: string): void
}

/** The part of BroadcastChannel used. */
export interface ChannelLike {
  postMessage (message: unknown): void
  addEventListener (type: 'message', listener: (event: { data: any }) => void): void
}

export interface ClientOptions {
  /** The refresh endpoint, resolved against baseUrl; must be on our origin. Default '/session/refresh'. */
  refreshPath?: string
  /** Called once per session when it ends (in this tab, or in another tab of the origin). */
  onSessionEnded?: (code: SessionEndCode) => void
  /** How many times one request is replayed after a refresh. Integer >= 0, default 1. */
  maxRetries?: number
  /** Default 'cookie'. 'header' needs `storage`. */
  transfer?: 'cookie' | 'header'
  /** Header mode: where the tokens live. Required with transfer 'header'. */
  storage?: TokenStorage
  /** Where relative URLs resolve and whose origin is "ours". Default `location.href`; required without `location`. */
  baseUrl?: string | URL
  /** Default: globalThis.fetch at createClient() time. */
  fetch?: typeof fetch
  /** Cross-tab lock. Default navigator.locks; null: in-tab single flight only. */
  locks?: LockManagerLike | null
  /** Holds the cross-tab "refreshed" marker. Default localStorage; null: none. */
  storageArea?: StorageAreaLike | null
  /** Tells other tabs that the session ended. Default new BroadcastChannel('tandem-session'); null: none. */
  channel?: ChannelLike | null
}

export interface ClientEvents {
  sessionEnded: SessionEndCode
  /** the info after the refresh (null if the server sent none) */
  refreshed: SessionInfo | null
  info: SessionInfo | null
}

export interface TandemClient {
  /** Same signature as fetch. Requests to other origins are passed through untouched. */
  fetch (input: RequestInfo | URL, init?: RequestInit): Promise<Response>
  /** The session as the last response of our origin described it, or null. */
  readonly info: SessionInfo | null
  /** Refresh now (joins a refresh in progress). true: refreshed (by this tab or another). Never rejects. */
  refresh (): Promise<boolean>
  /** Replace globalThis.fetch with client.fetch (idempotent). */
  install (): void
  /** Put back the fetch install() replaced, unless something replaced client.fetch since. */
  uninstall (): void
  /** Listen; returns a function that removes the listener. */
  on<E extends keyof ClientEvents> (event: E, listener: (value: ClientEvents[E]) => void): () => void
  off<E extends keyof ClientEvents> (event: E, listener: (value: ClientEvents[E]) => void): void
}

export function createClient (options?: ClientOptions): TandemClient
