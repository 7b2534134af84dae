'use strict'

/**
 * This process's copies of session data, keyed by session handle, each with the data
 * version it was read or written at. An access token carries the data version its
 * session had when the token was signed, and every write re-signs the writer's token; so
 * a copy whose version is at least the token's is what the store holds for that client,
 * and the read needs no store round trip.
 *
 * Guarantees: bounded in entries and in bytes: at most `max` entries and
 * `MAX_TOTAL_CHARS` characters of JSON text in all (least recently used entries go first),
 * and a copy longer than `MAX_ENTRY_CHARS` is not kept (its reads go to the store), so a
 * client writing large session data, or many clients doing so, cannot grow it past those;
 * entries are JSON text, so each request parses its own copy and no request sees another's
 * unsaved changes.
 * Not guaranteed: freshness against a write by another process whose new token the client
 * has not presented yet (the client reads at the version its token names, as it would
 * from any cache).
 * @private
 */

/** Longest copy kept, in characters of JSON text (64 Ki). */
const MAX_ENTRY_CHARS = 64 * 1024
/** Most characters of JSON text kept in all (16 Mi: about 32 MB of strings at worst). */
const MAX_TOTAL_CHARS = 16 * 1024 * 1024

class DataCache {
  #max
  #maxChars
  #map = new Map()
  #chars = 0

  /**
   * @param {number} max most entries kept
   * @param {number} [maxChars] most characters kept in all (tests give less)
   */
  constructor (max, maxChars = MAX_TOTAL_CHARS) {
    this.#max = max
    this.#maxChars = maxChars
  }

  /** Characters kept in all (for tests). */
  get chars () {
    return this.#chars
  }

  /** How many copies are kept (for tests). */
  get size () {
    return this.#map.size
  }

  /**
   * The data of `handle` if the copy is at least at `version`, as a fresh object, with
   * the JSON text it was parsed from.
   * @returns {{data: object, version: number, json: string}|undefined}
   */
  get (handle, version) {
    const e = this.#map.get(handle)
    if (e === undefined || e.version < version) return undefined
    this.#map.delete(handle) // move to the most recent end
    this.#map.set(handle, e)
    return { data: JSON.parse(e.json), version: e.version, json: e.json }
  }

  /** Keep `data` as `handle`'s copy at `version` (an older version never replaces a newer). */
  set (handle, version, data) {
    const e = this.#map.get(handle)
    if (e !== undefined && e.version > version) return
    this.delete(handle)
    const json = JSON.stringify(data)
    if (json.length > MAX_ENTRY_CHARS) return
    while (this.#map.size > 0 && (this.#map.size >= this.#max || this.#chars + json.length > this.#maxChars)) {
      this.delete(this.#map.keys().next().value)
    }
    this.#map.set(handle, { version, json })
    this.#chars += json.length
  }

  /**
   * A patch was applied and the store says the data is now at `version`: update the copy
   * if it was the version just before (else the store merged other writes we have not
   * seen, so forget the copy).
   */
  patched (handle, version, changes) {
    const e = this.#map.get(handle)
    if (e === undefined) return
    if (e.version !== version - 1) {
      this.delete(handle)
      return
    }
    const data = JSON.parse(e.json)
    for (const [k, v] of Object.entries(changes)) {
      if (v === null) delete data[k]
      else data[k] = v
    }
    this.set(handle, version, data)
  }

  delete (handle) {
    const e = this.#map.get(handle)
    if (e === undefined) return
    this.#map.delete(handle)
    this.#chars -= e.json.length
  }
}

/** The cache of a middleware that keeps no copies (over an express-session store). */
const NO_DATA_CACHE = Object.freeze({
  get () { return undefined },
  set () {},
  patched () {},
  delete () {}
})

module.exports = { DataCache, NO_DATA_CACHE, MAX_ENTRY_CHARS, MAX_TOTAL_CHARS }
