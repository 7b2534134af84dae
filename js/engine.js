'use strict'

/**
 * Engine: sessions over a store. Login, refresh with rotation and theft detection,
 * revocation that sticks, a user's sessions, session data patches; and the per-request
 * verify (no I/O) that also refuses sessions known to be revoked. A background task reads
 * revocations and the key ring from the store every `syncInterval` ms.
 *
 * Guarantees: a thin wrapper. Every failure is an Error whose `code` the addon set (sync
 * calls throw, async ones reject, bad arguments included); option defaults and checks are the Rust core's
 * (`CONFIG_INVALID`, the message naming the option). Only the lone-surrogate check of
 * arguments.js runs here, because the crossing into Rust would hide it. `close()` waits for
 * the calls in flight, then stops the background task; every call after it fails with
 * `SHUTTING_DOWN` (async calls reject).
 * @public
 */

const native = require('./native.js')
const { requestResult, tokenResult } = require('./packed.js')
const { assertWellFormed } = require('./arguments.js')
const { openable } = require('./compat/bridge.js')

// The option names are the fields of the addon's option structs (src/napi/options.rs),
// read from them once: adding an option there adds it here.
const { token: TOKEN_OPTIONS, session: SESSION_OPTIONS } = native.optionNames()
/** Every option `Engine.start` reads besides `store`: token options, then session options. */
const ENGINE_OPTIONS = Object.freeze([...TOKEN_OPTIONS, ...SESSION_OPTIONS])

/**
 * `fn()`, an async call of the addon, as a promise whatever happens: bad arguments (a
 * lone surrogate, a value napi cannot convert) reject it instead of throwing at the call.
 */
function later (fn) {
  try {
    return fn()
  } catch (e) {
    return Promise.reject(e)
  }
}

/** The error of every call after `close()`. */
function shuttingDown () {
  const e = new Error('SHUTTING_DOWN: the session engine was closed')
  e.code = 'SHUTTING_DOWN'
  return e
}

function pick (options, names) {
  const out = {}
  for (const n of names) if (options[n] !== undefined) out[n] = options[n]
  return out
}

class Engine {
  #native
  #id
  /** Async calls in flight (what `close()` waits for). */
  #inflight = new Set()
  #closing = null

  /** Use `Engine.start(options)`. @private */
  constructor (nativeEngine) {
    this.#native = nativeEngine
    this.#id = nativeEngine.id
  }

  /**
   * Start an engine over `options.store`, with the token options of TokenCore and the
   * session options `refreshGrace`, `refreshTokenMaxAge`, `absoluteMaxAge`, `anonymousMaxAge`,
   * `syncInterval`, `maxDataBytes`, `maxSessionsPerUser`.
   * @returns {Promise<Engine>}
   */
  static async start (options) {
    const openableStore = openable(options ? options.store : undefined)
    if (openableStore === null) {
      throw new TypeError('store option must be a tandem-session store (e.g. new SqliteStore()) or an express-session store')
    }
    const store = await openableStore._open()
    const nativeEngine = await store.startEngine(pick(options, TOKEN_OPTIONS), pick(options, SESSION_OPTIONS))
    return new Engine(nativeEngine)
  }

  /**
   * The first problem with engine options (a sentence naming the option), or null when an
   * engine would start with them: the core's own checks, run without starting anything.
   * @returns {string|null}
   */
  static optionsProblem (options) {
    const picked = pick(options, ENGINE_OPTIONS)
    // JSON has no Infinity or NaN: the addon could not even read them to name them.
    for (const [name, v] of Object.entries(picked)) {
      if (typeof v === 'number' && !Number.isFinite(v)) return `${name} must be a finite number`
    }
    return native.engineOptionsProblem(picked) ?? null
  }

  /**
   * Verify a request's access token (see TokenCore#verifyRequest); also refuses revoked
   * sessions. `secure`: read the cookie under `secureAccessCookieName`.
   */
  verifyRequest (cookieHeader, authorization, secure) {
    return requestResult(native.verifyRequestPacked(this.#id, cookieHeader ?? null, authorization ?? null, secure === true))
  }

  /**
   * A number that moves whenever a token accepted so far may now be refused other than by
   * expiring (a revocation, a theft, a new key ring): see the middleware's verdict cache.
   */
  verdictEpoch () {
    return native.verdictEpoch(this.#id)
  }

  /** Verify one access token; throws with `code` (`SESSION_REVOKED` among them). */
  verifyAccessToken (token) {
    return tokenResult(native.verifyAccessTokenPacked(this.#id, token))
  }

  /**
   * The value of cookie `name` in a Cookie header, read strictly as the verify reads it
   * (never URL-decoded), or null when absent. Throws an Error with `code`
   * `CREDENTIALS_AMBIGUOUS` when the name appears twice, `TOKEN_MALFORMED` when the header
   * is too long or the value is not ASCII.
   * @param {string} cookieHeader
   * @param {string} name
   * @returns {string|null}
   */
  readCookie (cookieHeader, name) {
    return native.readCookie(cookieHeader, name)
  }

  /**
   * Log in: `{userId, data?, claims?, device?: {ip, userAgent}, replaces?, handle?}` →
   * tokens `{handle, userId, subject, accessToken, accessExpires, refreshToken}`. A null
   * `userId` makes an anonymous session (its tokens' `userId` is null too).
   */
  create (session) {
    return this.#call(() => {
      if (session !== null && typeof session === 'object') {
        assertWellFormed(session.userId, 'userId')
        assertWellFormed(session.claims, 'claims')
        assertWellFormed(session.data, 'data')
        // napi reads an absent field as None, but refuses null: anonymous is absent there.
        if (session.userId === null) session = { ...session, userId: undefined }
      }
      return this.#native.create(session)
    })
  }

  /** `fn()`, an async call of the addon, as a promise (see `later`) that `close()` waits for. */
  #call (fn) {
    if (this.#closing !== null) return Promise.reject(shuttingDown())
    const p = later(fn)
    this.#inflight.add(p)
    const done = () => { this.#inflight.delete(p) }
    p.then(done, done)
    return p
  }

  /**
   * Wait for the calls in flight (saves, logins, refreshes: their answers are kept), then
   * stop the background task (syncs, sweeps) and the verify (`SHUTTING_DOWN` from then
   * on). Idempotent: every call returns the same promise, which never rejects. The
   * store's connections close when the store object is no longer referenced.
   * @returns {Promise<void>}
   */
  close () {
    if (this.#closing === null) {
      this.#closing = (async () => {
        while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight])
        this.#native.close()
      })()
    }
    return this.#closing
  }

  /** Whether `close()` was called. */
  get closed () { return this.#closing !== null }

  /**
   * The counters since the engine started: `{logins, anonymousSessions, refreshes,
   * graceHits, refreshesRefused, thefts, revocations, storeCalls, storeErrors,
   * storeLatencySumMs, storeLatencyBoundsMs, storeLatencyBuckets}` (see README
   * "Metrics"). Atomic counters in Rust: no I/O, cheap enough to read at every scrape.
   */
  metrics () { return this.#native.metrics() }

  /** Whether this engine's start replaced a key ring no secret opened (`resetKeyRing`). */
  get keyRingReset () { return this.#native.keyRingReset }

  /** Refresh → `{outcome: 'refreshed'|'theft'|'refused', tokens?, theft?, code?}`. */
  refresh (refreshToken, device) { return this.#call(() => this.#native.refresh(refreshToken, device)) }
  /** Revoke a session → whether it existed. */
  revoke (handle) { return this.#call(() => this.#native.revoke(handle)) }
  /** Revoke all of a user's sessions except `except` → revoked handles. */
  revokeUser (userId, except) { return this.#call(() => this.#native.revokeUser(userId, except)) }
  /** A user's live sessions, most recently refreshed first. */
  listUser (userId) { return this.#call(() => this.#native.listUser(userId)) }
  /** A live session's data, or null. */
  get (handle) { return this.#call(() => this.#native.get(handle)) }
  /**
   * The session in `json`, what an express-session store's `get` of `handle` gave (read on
   * Node's side: compat/bridge.js `read`), decoded and checked as `get` checks → what `get`
   * gives, or null (expired, revoked). No I/O; throws STORE_CORRUPT.
   */
  decodeBridged (handle, json) { return this.#native.decodeBridged(handle, json) }
  /**
   * Node's side's touch over an express-session store, under the session's lock: `json` is
   * what the store holds now → the JSON text to touch it with, or null (revoked: touch
   * nothing). No I/O; throws STORE_CORRUPT.
   */
  touchBridged (handle, json) { return this.#native.touchBridged(handle, json) }
  /**
   * Node's side's patch over an express-session store, under the session's lock: `json` is
   * what the store holds now → `{json, dataVersion}` to set, or null (revoked: write
   * nothing). No I/O; throws STORE_CORRUPT.
   */
  patchBridged (handle, json, changes) {
    assertWellFormed(changes, 'changes')
    return this.#native.patchBridged(handle, json, changes)
  }
  /** Change some keys of a session's data (`null` deletes) → new version, or null if gone. */
  patchData (handle, changes) {
    return this.#call(() => {
      assertWellFormed(changes, 'changes')
      return this.#native.patchData(handle, changes)
    })
  }

  /**
   * The app used the session and changed nothing: the store's end-of-request call
   * (`rewrite`: express-session's `resave`) → whether the session still exists.
   */
  keepAlive (handle, rewrite) { return this.#call(() => this.#native.keepAlive(handle, rewrite)) }

  /** Read revocations and the key ring from the store now. */
  sync () { return this.#call(() => this.#native.sync()) }
  /** Emergency: revoke signing key `kid` for every process sharing the store. */
  revokeKey (kid) { return this.#call(() => this.#native.revokeKey(kid)) }
  currentKid () { return this.#native.currentKid() }
  csrfToken (handle) { return this.#native.csrfToken(handle) }
  verifyCsrfToken (token, handle) { return this.#native.verifyCsrfToken(token, handle) }
  jwks () { return this.#native.jwks() }
  /**
   * A new access token after a data write (new data version), expiring no later than
   * `notAfter` (seconds: the replaced token's `exp`). No I/O.
   */
  reissue (userId, handle, dataVersion, claims, notAfter) {
    return this.#native.reissue(userId, handle, dataVersion, claims ?? null, notAfter)
  }
  /** Tests only (needs `fixedNow`). */
  setNow (ms) { return this.#native.setNow(ms) }
}

/** Longest user id a login may use (characters, as `length` counts): the core's limit. */
const MAX_USER_ID_LENGTH = native.MAX_USER_ID_LENGTH

/** Shortest secret the core takes without `allowShortSecret` (bytes). */
const MIN_SECRET_LENGTH = native.MIN_SECRET_LENGTH

module.exports = { Engine, ENGINE_OPTIONS, MAX_USER_ID_LENGTH, MIN_SECRET_LENGTH }
