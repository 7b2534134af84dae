'use strict'

/**
 * Verifier, the plain implementation (read this one first; `fast/verifier.js` is the tuned
 * one, `machinery.js` picks): what the request's credential headers say, asked of Rust on
 * every request.
 *
 * The interface: `new Verifier(engine, transfer, now)`, then `verify(headers, secure)` →
 * `{ok: true, source: 'cookie'|'header', claims}` or `{ok: false, code}` (`NO_TOKEN` when
 * nothing was presented), where `headers` is `req.headers`, `secure` the cookie-name choice
 * (`transport.isSecureCookie`) and `now()` the engine's clock in ms. The transfer setting
 * decides which headers Rust sees: with `'auto'` it gets both, so a cookie and a Bearer
 * token that disagree are `CREDENTIALS_AMBIGUOUS`, not a choice made here.
 *
 * Guarantees: tokens are read and checked only in Rust (`Engine#verifyRequest`, which also
 * refuses sessions known to be revoked); nothing is kept between requests.
 * @private
 */

class Verifier {
  #engine
  #transfer

  /**
   * @param {import('../engine.js').Engine} engine
   * @param {'cookie'|'header'|'auto'} transfer
   */
  constructor (engine, transfer) {
    this.#engine = engine
    this.#transfer = transfer
  }

  verify (headers, secure) {
    const transfer = this.#transfer
    return this.#engine.verifyRequest(transfer !== 'header' ? headers.cookie : undefined,
      transfer !== 'cookie' ? headers.authorization : undefined, secure)
  }
}

module.exports = { Verifier }
