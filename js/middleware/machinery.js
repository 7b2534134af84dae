'use strict'

/**
 * Which implementation of the speed-sensitive parts the middleware runs. Each part has a
 * plain implementation beside this file, which is the one to read first, and a tuned one
 * in `fast/` that gives the same answers with fewer instructions per request (measured
 * with callgrind: bench/http/instructions.mjs):
 *
 * - ResponseHold `hold(res, owner)`: `response-hold.js` sets own wrappers on the
 *   response; `fast/response-hold.js` puts them on Node's `ServerResponse.prototype`.
 * - RequestFields `expose(req, state)`: `request-fields.js` sets own `req.sessionID` and
 *   `req.sessionStore`; `fast/request-fields.js` reads them through accessors on
 *   Express's request prototype.
 * - Verifier `verify(headers, secure)`: `verifier.js` asks Rust on every request;
 *   `fast/verifier.js` keeps acceptances in a verdict cache under the engine's epoch.
 *
 * Guarantees: the tuned ones are the default; `TANDEM_SESSION_PLAIN=1` in the environment
 * when this module is first required selects the plain ones for the whole process (CI
 * runs the tests both ways), and nothing switches later.
 * @private
 */

const PLAIN = process.env.TANDEM_SESSION_PLAIN === '1'

module.exports = PLAIN
  ? {
      mode: 'plain',
      ResponseHold: require('./response-hold.js'),
      RequestFields: require('./request-fields.js'),
      Verifier: require('./verifier.js').Verifier
    }
  : {
      mode: 'tuned',
      ResponseHold: require('./fast/response-hold.js'),
      RequestFields: require('./fast/request-fields.js'),
      Verifier: require('./fast/verifier.js').Verifier
    }
