'use strict'

/**
 * Session stores, by their public names. A store object is a description plus a lazily
 * opened native store; the engine opens it when it starts.
 *
 * Today: MemoryStore. The SQLite (embedded default), Redis and PostgreSQL stores join as
 * their Rust implementations land (see README, Status).
 * @public
 */

const native = require('./native.js')

class MemoryStore {
  #native

  /**
   * @param {{maxSessions?: number}} [options] maxSessions: bound on live sessions
   *   (default 100000); a full store refuses new logins rather than evicting anyone.
   */
  constructor (options = {}) {
    const max = options.maxSessions
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 2 ** 32 - 1)) {
      throw new TypeError('maxSessions option must be a positive integer')
    }
    this.#native = native.openMemoryStore(max)
  }

  /** @private */
  async _open () {
    return this.#native
  }
}

module.exports = { MemoryStore }
