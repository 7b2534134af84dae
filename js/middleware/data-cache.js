'use strict'

/**
 * This process's copies of session data, keyed by session handle, each with the data
 * version it was read or written at. An access token carries the data version its
 * session had when the token was signed, and every write re-signs the writer's token; so
 * a copy whose version is at least the token's is what the store holds for that client,
 * and the read needs no store round trip.
 *
 * Guarantees: bounded (least recently used entries go first, `bounded.js`); entries are
 * JSON text, so each request parses its own copy and no request sees another's unsaved
 * changes.
 * Not guaranteed: freshness against a write by another process whose new token the client
 * has not presented yet (the client reads at the version its token names, as it would
 * from any cache).
 * @private
 */

const { setBounded } = require('./bounded.js')

class DataCache {
  #max
  #map = new Map()

  /** @param {number} max most entries kept */
  constructor (max) {
    this.#max = max
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
    setBounded(this.#map, handle, { version, json: JSON.stringify(data) }, this.#max)
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
      this.#map.delete(handle)
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
    this.#map.delete(handle)
  }
}

/** The cache of a middleware that keeps no copies (over an express-session store). */
const NO_DATA_CACHE = Object.freeze({
  get () { return undefined },
  set () {},
  patched () {},
  delete () {}
})

module.exports = { DataCache, NO_DATA_CACHE }
