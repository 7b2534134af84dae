'use strict'

/**
 * The store bridge, JS side: an express-session store object (connect-redis,
 * connect-pg-simple, connect-mongo, memorystore, express-session's own MemoryStore, or a
 * store an app wrote on `session.Store`) as the function the native bridge store runs on
 * (`src/napi/bridge.rs`, `src/store/bridge`): `call([op, key, json])` → a promise of the
 * JSON text found (`get`), or null.
 *
 * The contract it takes, as express-session uses it: `get(sid, cb)`, `set(sid, sess, cb)`,
 * `destroy(sid, cb)` and, when the store has it, `touch(sid, sess, cb)`, with node-style callbacks, called back synchronously or later; a
 * store whose methods return promises instead works too. `get`'s `ENOENT` error is "not
 * found", as in express-session. A store that emits `disconnect` is not used until it
 * emits `connect` again: calls fail at once with STORE_UNAVAILABLE (the middleware answers
 * 503) instead of waiting on a dead connection; a call that does not answer within
 * `STORE_TIMEOUT_MS` (5 s) fails the same way.
 *
 * A request's read of its session, its writes of changed keys and the touch at its end
 * (`read`, `patch`, `touch`) are made here, on Node's side, with no thread crossing; the
 * write and the touch under the session's lock (taken without waiting: `tryHold`), after
 * reading the session again under it, as the native bridge does. Logins, refreshes,
 * logouts and `resave`'s `set` go through the native bridge, as does a write or a touch
 * whose lock was taken.
 *
 * A store that keeps the bridge's own records (`~tandem:` keys: key ring, revocation
 * feed, users' handle lists) apart from its sessions offers them under `OWN_RECORDS`
 * (our MemoryStore does): then they never reach its `get`/`set`/`destroy`.
 *
 * Guarantees: a store error never reaches our messages (the native side replaces it with
 * a fixed one); the store's own error of a session's call goes with ours for the
 * middleware to pass on to the app (express-session gives it to `next(err)`): as `cause`
 * of a call made on Node's side, kept for `takeStoreError` (at most `KEPT_ERRORS` per
 * store) of one made through the native bridge; what the store hands back is parsed by Rust as
 * untrusted JSON. Not here:
 * what is stored (the session objects of `src/store/bridge/wire.rs`) and the guarantees
 * across processes (`src/store/bridge/mod.rs`, SECURITY.md).
 * @private
 */

const native = require('../native.js')
const { OWN_RECORDS } = require('./memory-store.js')
const { setBounded } = require('../middleware/bounded.js')
const { coded } = require('../middleware/errors.js')

/** The keys of the bridge's own records (src/store/bridge/mod.rs): not sessions. */
const OWN_PREFIX = '~tandem:'

/** The express-session store methods the bridge needs. */
const REQUIRED = ['get', 'set', 'destroy']

/** Is `store` an express-session store (as opposed to one of ours)? */
function isExpressSessionStore (store) {
  return store !== null && typeof store === 'object' && REQUIRED.every((m) => typeof store[m] === 'function')
}

/**
 * The error of a failed store call made on Node's side: the native side's code and text,
 * with the store's own error, when there is one, as its `cause` (for the app's logs).
 */
function unavailable (cause) {
  const e = coded('STORE_UNAVAILABLE', "the app's session store failed", 503)
  if (cause !== undefined) e.cause = cause
  return e
}

/** Session `key` from an express-session store: its object, or null (`ENOENT` is "not found", as there). */
async function getSession (store, key) {
  try {
    const sess = await settle(store, 'get', [key])
    return sess === undefined ? null : sess
  } catch (e) {
    if (e && e.code === 'ENOENT') return null
    throw e
  }
}

/** The JSON text of a session object a store gave (for Rust to decode); STORE_CORRUPT if it has none. */
function sessionJson (sess) {
  let json
  try {
    json = JSON.stringify(sess)
  } catch { // a cycle or a BigInt: no session of ours
    json = undefined
  }
  if (typeof json !== 'string') throw coded('STORE_CORRUPT', 'a stored session record is not valid', 500)
  return json
}

/** A store call that has not answered by then fails (STORE_UNAVAILABLE) rather than hold the request. */
const STORE_TIMEOUT_MS = 5000

/** A store call that did not answer in time: not an error of the store's own. */
class StoreTimeout extends Error {
  constructor () {
    super('the session store did not answer')
  }
}

/**
 * The store's own error behind `e`, a failed call made on Node's side (its `cause`), or
 * undefined when it has none: the store was disconnected or did not answer.
 */
function storeOwnError (e) {
  const cause = e !== null && typeof e === 'object' ? e.cause : undefined
  return cause instanceof StoreTimeout ? undefined : cause
}

/**
 * Call `store[method](...args, cb)` of an express-session store as a promise, whether it
 * calls back (at once or later) or returns a promise; no answer in `STORE_TIMEOUT_MS` fails.
 * Also the legacy switch's way to its store (legacy.js).
 */
function settle (store, method, args) {
  return new Promise((resolve, reject) => {
    let done = false
    const timer = setTimeout(() => cb(new StoreTimeout()), STORE_TIMEOUT_MS)
    timer.unref()
    const cb = (err, value) => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (err) reject(err)
      else resolve(value)
    }
    const r = store[method](...args, cb)
    if (r !== null && typeof r === 'object' && typeof r.then === 'function') r.then((v) => cb(null, v), (e) => cb(e || new Error('rejected')))
  })
}

/** One bridge per store object: every session() over it shares the bridge's locks. */
const opened = new WeakMap()

/**
 * Handles being stored for the first time, per store object, that this process drew at
 * random (128 bits from the CSPRNG): the insert's check that the handle is free is
 * answered here (it is) without a `get`, as express-session never reads a new id. A
 * handle the app's `genid` made is not in it: its check reads the store.
 */
const freshHandles = new WeakMap()

/**
 * Run `create` (a promise-returning login) with `handle`, drawn at random by this
 * process, known to be free in `store` meanwhile.
 */
async function withFreshHandle (store, handle, create) {
  let fresh = freshHandles.get(store)
  if (fresh === undefined) freshHandles.set(store, fresh = new Set())
  fresh.add(handle)
  try {
    return await create()
  } finally {
    fresh.delete(handle)
  }
}

/** Is `key` a handle being stored for the first time, drawn at random (withFreshHandle)? Once. */
function takeFresh (store, key) {
  const fresh = freshHandles.get(store)
  return fresh !== undefined && fresh.delete(key)
}

/** Store errors not taken yet, per store object: key → the store's own error (newest last). */
const storeErrors = new WeakMap()
/** At most this many per store (errors nobody takes, of calls that were not a request's). */
const KEPT_ERRORS = 64

/** Keep `err`, the store's failure of a call on `key`, for `takeStoreError`. */
function keepStoreError (store, key, err) {
  let kept = storeErrors.get(store)
  if (kept === undefined) storeErrors.set(store, kept = new Map())
  setBounded(kept, key, err, KEPT_ERRORS)
}

/**
 * The error `store` (the app's express-session store) failed with on a call for `key` (a
 * session's id), once; undefined if none is kept (not a bridged store, or another failure).
 */
function takeStoreError (store, key) {
  const kept = storeErrors.get(store)
  if (kept === undefined || !kept.has(key)) return undefined
  const err = kept.get(key)
  kept.delete(key)
  return err
}

class BridgedStore {
  #store
  #connected = true
  #opened = null

  /**
   * @param {object} store an express-session store
   * @param {{cookieMaxAge?: number|null}} [options] the `cookie.maxAge` option (ms; null:
   *   browser-session cookies): a session's stored `cookie` says when its cookie expires
   */
  constructor (store, options = {}) {
    this.#store = store
    this.cookieMaxAge = options.cookieMaxAge ?? null
    if (typeof store.on === 'function') {
      store.on('disconnect', () => { this.#connected = false })
      store.on('connect', () => { this.#connected = true })
    }
  }

  /** False from the store's `disconnect` event until its `connect`. */
  get connected () {
    return this.#connected
  }

  /** The app's store object (`req.sessionStore`). */
  get store () {
    return this.#store
  }

  /**
   * Session `handle` read on Node's side, with no thread crossing: what a request's load
   * asks (the engine decodes it: `Engine#decodeBridged`). The store's session object, or
   * null; a failure is STORE_UNAVAILABLE.
   */
  read (handle) {
    return this.#onNodeSide(() => getSession(this.#store, handle))
  }

  /**
   * express-session's touch at the end of a request that changed nothing, on Node's side,
   * under the session's lock: read the session again (what the store holds now, so a store
   * whose `touch` writes the whole session writes that), let the engine make the value
   * (`Engine#touchBridged`: its cookie expiring with the record), `touch` it. Whether the
   * session is still there, as the engine's `keepAlive` answers (false: the store no longer
   * has it or it is revoked, nothing touched); null when the lock is taken (the caller leaves it to the engine's `keepAlive`, which waits). A
   * store without `touch` gets no call, as in express-session.
   */
  async touch (handle, engine) {
    const store = this.#store
    if (typeof store.touch !== 'function') return true
    const native = this._open()
    const hold = native.tryHold(handle)
    if (hold === null) return null
    try {
      const sess = await this.read(handle)
      const value = sess === null ? null : engine.touchBridged(handle, sessionJson(sess))
      if (value === null) return false
      await this.#onNodeSide(() => settle(store, 'touch', [handle, this.#withCookie(JSON.parse(value))]))
      return true
    } finally {
      native.release(hold)
    }
  }

  /**
   * A write of the app's changed keys, on Node's side, under the session's lock: read the
   * session again, let the engine apply `changes` (`Engine#patchBridged`), `set` it. The new
   * data version; null when the session is gone (nothing written); undefined when the
   * lock is taken (the caller leaves it to the engine's `patchData`, which waits).
   */
  async patch (handle, changes, engine) {
    const native = this._open()
    const hold = native.tryHold(handle)
    if (hold === null) return undefined
    try {
      const sess = await this.read(handle)
      if (sess === null) return null
      const out = engine.patchBridged(handle, sessionJson(sess), changes)
      if (out === null) return null
      await this.#onNodeSide(() => settle(this.#store, 'set', [handle, this.#withCookie(JSON.parse(out.json))]))
      return out.dataVersion
    } finally {
      native.release(hold)
    }
  }

  /** A store call made on Node's side: its failure is STORE_UNAVAILABLE, the store's error its cause. */
  async #onNodeSide (call) {
    if (!this.#connected) throw unavailable()
    try {
      return await call()
    } catch (e) {
      throw unavailable(e)
    }
  }

  /**
   * Run `create()` (a login storing session `handle`, which this process drew at random):
   * the store is not asked whether `handle` is free (`withFreshHandle`).
   */
  asFresh (handle, create) {
    return withFreshHandle(this.#store, handle, create)
  }

  /** @private */
  _open () {
    if (this.#opened === null) {
      this.#opened = opened.get(this.#store) ?? native.openBridgeStore(([op, key, json]) => this.#call(op, key, json))
      opened.set(this.#store, this.#opened)
    }
    return this.#opened
  }

  async #call (op, key, json) {
    const store = this.#store
    const own = store[OWN_RECORDS]
    if (own !== undefined && key.startsWith(OWN_PREFIX)) return this.#callOwn(own, op, key, json)
    if (!this.#connected) throw new Error('the session store is disconnected')
    try {
      return await this.#callStore(store, op, key, json)
    } catch (e) {
      if (!key.startsWith(OWN_PREFIX)) keepStoreError(store, key, e)
      throw e
    }
  }

  async #callStore (store, op, key, json) {
    if (op === 'get') {
      if (takeFresh(store, key)) return null
      const sess = await getSession(store, key)
      return sess === null ? null : sessionJson(sess)
    }
    if (op === 'set') {
      await settle(store, 'set', [key, this.#withCookie(JSON.parse(json))])
      return null
    }
    if (op === 'touch') { // express-session calls it only when the store has one
      if (typeof store.touch === 'function') await settle(store, 'touch', [key, this.#withCookie(JSON.parse(json))])
      return null
    }
    if (op === 'destroy') {
      await settle(store, 'destroy', [key])
      return null
    }
    throw new Error('unknown store operation')
  }

  /**
   * A session object whose `cookie` is its cookie's, as express-session stores it: with a
   * lifetime (the session's own, kept in its data as `cookie.originalMaxAge`, else the
   * `cookie.maxAge` option), it expires that long from now, or when the record does if that
   * is sooner; so the store's TTL ends the session when its cookie ends. Without one (a
   * browser-session cookie) the record's own expiry stays.
   */
  #withCookie (sess) {
    const cookie = sess.cookie
    const data = sess.tandem && sess.tandem.data
    const own = data && data.cookie && data.cookie.originalMaxAge
    const maxAge = own === undefined || own === null ? this.cookieMaxAge : own
    if (cookie && typeof maxAge === 'number' && maxAge > 0) {
      const record = Date.parse(cookie.expires)
      const expires = Math.min(Date.now() + maxAge, Number.isFinite(record) ? record : Infinity)
      cookie.expires = new Date(expires).toISOString()
      cookie.originalMaxAge = maxAge
    }
    return sess
  }

  /** The bridge's own records, in a store that keeps them apart from its sessions. */
  async #callOwn (own, op, key, json) {
    if (op === 'get') {
      const value = await own.get(key)
      return value === null ? null : JSON.stringify(value)
    }
    if (op === 'set') await own.set(key, JSON.parse(json))
    else if (op === 'destroy') await own.destroy(key)
    else if (op !== 'touch') throw new Error('unknown store operation')
    return null
  }
}

/**
 * What the engine opens for the `store` option `given`: one of ours as it is, an
 * express-session store through a bridge (with `options`), or null for anything else.
 */
function openable (given, options) {
  if (given !== null && typeof given === 'object' && typeof given._open === 'function') return given
  return isExpressSessionStore(given) ? new BridgedStore(given, options) : null
}

module.exports = { BridgedStore, isExpressSessionStore, openable, sessionJson, settle, storeOwnError, takeStoreError }
