'use strict'

/**
 * Verifier, the tuned implementation (the interface and its guarantees are in the plain
 * `../verifier.js`): the same answers, with this process's acceptances kept in a verdict
 * cache (`verdict-cache.js`) so a token presented again is not verified again while the
 * engine's verdict epoch (revocations seen, key rings installed) has not moved and its
 * `exp` has not come. One native call per request on a hit (the epoch), two on a miss.
 *
 * Not guaranteed: that a refusal is kept (refusals always go to Rust).
 * @private
 */

const { VerdictCache } = require('./verdict-cache.js')

/** Verdicts kept per process. */
const VERDICTS_KEPT = 10000

class Verifier {
  #engine
  #transfer
  #now
  #verdicts = new VerdictCache(VERDICTS_KEPT)

  /**
   * @param {import('../../engine.js').Engine} engine
   * @param {'cookie'|'header'|'auto'} transfer
   * @param {() => number} now the engine's clock, ms
   */
  constructor (engine, transfer, now) {
    this.#engine = engine
    this.#transfer = transfer
    this.#now = now
  }

  verify (headers, secure) {
    const transfer = this.#transfer
    const cookie = transfer !== 'header' ? headers.cookie : undefined
    const authorization = transfer !== 'cookie' ? headers.authorization : undefined
    const engine = this.#engine
    const epoch = engine.verdictEpoch()
    const now = this.#now()
    let r = this.#verdicts.get(cookie, authorization, secure, epoch, now)
    if (r === undefined) {
      r = engine.verifyRequest(cookie, authorization, secure)
      if (r.ok) this.#verdicts.set(cookie, authorization, secure, r, epoch, now)
    }
    return r
  }
}

module.exports = { Verifier }
