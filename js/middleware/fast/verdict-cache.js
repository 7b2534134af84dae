'use strict'

/**
 * Part of the tuned Verifier (`verifier.js` here; TANDEM_SESSION_PLAIN=1 runs without it).
 * This process's recent access-token verdicts, so a client that presents the same token
 * again is not verified again (as fast-jwt's verify cache does, keyed by the token).
 *
 * A verdict is what Rust's `verifyRequest` said of one exact credential header (the
 * `Cookie` header of a cookie-mode request, or the `Authorization` header of a header-mode
 * one, with no other credential beside it) for one cookie-name choice. It is reused only
 * while all of these hold:
 * - the header is byte for byte the one verified (the whole header is the key; nothing is
 *   parsed here: tokens are read only in Rust);
 * - the engine's verdict epoch has not moved since: no session was revoked in this
 *   process or in the store's feed (a theft included), and no key ring was installed
 *   (rotation, emergency key revocation) — any of those empties the cache;
 * - the clock is before the token's `exp` (no leeway: near or past expiry Rust decides)
 *   and not before the time it was verified (a test clock moved back).
 * Only acceptances are kept; refusals always go to Rust. Bounded in entries and in bytes:
 * a header longer than `MAX_KEY_CHARS` is never kept (it is verified every time), the
 * headers kept hold at most `MAX_KEY_TOTAL` characters per map, the oldest entry goes
 * first, and expired ones are dropped as new ones come in; so padding a valid token's
 * header with junk costs the sender a verify per request and this process no memory. Each hit
 * returns the same frozen result, and a fresh copy of the app claims.
 *
 * Not a secret store: keys are headers the clients sent, values are claims that the
 * request's route sees anyway. A hit needs the full header, so timing says nothing about
 * a token the caller does not already hold whole.
 * @private
 */

/** Longest header kept (characters): a token with claims and a few cookies of the app fit. */
const MAX_KEY_CHARS = 4096
/** Characters of kept headers per map, at most (entries go oldest first beyond it). */
const MAX_KEY_TOTAL = 4 * 1024 * 1024

class VerdictCache {
  #max
  #epoch = -1
  #cookie = [new Map(), new Map()] // by cookie-name choice: plain, secure
  #bearer = new Map()
  #chars = new Map() // map -> characters of its keys

  /** @param {number} max most verdicts kept */
  constructor (max) {
    this.#max = max
  }

  #map (cookie, authorization, secure) {
    if (authorization === undefined) return cookie === undefined ? null : this.#cookie[secure ? 1 : 0]
    return cookie === undefined ? this.#bearer : null
  }

  /**
   * The kept verdict for these headers, or undefined.
   * @param {string|undefined} cookie
   * @param {string|undefined} authorization
   * @param {boolean} secure the cookie-name choice
   * @param {number} epoch the engine's verdict epoch now
   * @param {number} nowMs the engine's clock
   */
  get (cookie, authorization, secure, epoch, nowMs) {
    const map = this.#map(cookie, authorization, secure)
    if (map === null || map.size === 0) return undefined
    if (epoch !== this.#epoch) {
      this.clear(epoch)
      return undefined
    }
    const key = authorization === undefined ? cookie : authorization
    const e = map.get(key)
    if (e === undefined) return undefined
    if (nowMs >= e.expMs || nowMs < e.atMs) {
      this.#drop(map, key)
      return undefined
    }
    return e.appClaims === null ? e.result : { ...e.result, claims: { ...e.result.claims, claims: JSON.parse(e.appClaims) } }
  }

  /**
   * Keep an acceptance (`result.ok`), given at `nowMs` under `epoch`.
   * @param {{ok: true, source: string, claims: {exp: number, claims?: object}}} result
   */
  set (cookie, authorization, secure, result, epoch, nowMs) {
    const map = this.#map(cookie, authorization, secure)
    if (map === null || !result.ok) return
    if (epoch !== this.#epoch) this.clear(epoch)
    const key = authorization === undefined ? cookie : authorization
    if (key.length > MAX_KEY_CHARS) return
    // Entries go in in time order and tokens share one lifetime, so the oldest expire first:
    // each insertion drops up to two expired ones, which keeps the map near the number of
    // live tokens (not the cap) in a process that sees many short-lived ones.
    for (let i = 0; i < 2; i++) {
      const first = map.entries().next().value
      if (first === undefined || first[1].expMs > nowMs) break
      this.#drop(map, first[0])
    }
    this.#drop(map, key)
    let chars = this.#chars.get(map) ?? 0
    while (map.size > 0 && (map.size >= this.#max || chars + key.length > MAX_KEY_TOTAL)) {
      chars -= this.#drop(map, map.keys().next().value)
    }
    const appClaims = result.claims.claims === undefined ? null : JSON.stringify(result.claims.claims)
    Object.freeze(result.claims)
    map.set(key, { result: Object.freeze(result), expMs: result.claims.exp * 1000, atMs: nowMs, appClaims })
    this.#chars.set(map, chars + key.length)
  }

  /** Remove `key` from `map`, keeping the character count; the characters freed. */
  #drop (map, key) {
    if (!map.delete(key)) return 0
    this.#chars.set(map, (this.#chars.get(map) ?? 0) - key.length)
    return key.length
  }

  /** Characters of the headers kept now, all maps together (tests, memory checks). */
  get keptChars () {
    let n = 0
    for (const v of this.#chars.values()) n += v
    return n
  }

  /** Forget every verdict; `epoch` is the one new verdicts are kept under. */
  clear (epoch) {
    this.#epoch = epoch
    this.#cookie[0].clear()
    this.#cookie[1].clear()
    this.#bearer.clear()
    this.#chars.clear()
  }
}

module.exports = { VerdictCache, MAX_KEY_CHARS, MAX_KEY_TOTAL }
