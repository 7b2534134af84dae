'use strict'

/**
 * RequestFields, the tuned implementation (the interface and its guarantees are in the
 * plain `../request-fields.js`). Under Express, `req.sessionID` and `req.sessionStore` are
 * accessors on its shared request prototype that read the request's state from a WeakMap,
 * so the request object gets no new properties for them (express-proto.js says why that
 * matters); elsewhere (plain `node:http`, or a prototype where someone else owns those
 * names) the request gets own properties, the plain way.
 *
 * Not guaranteed: that Express's request prototype is left as it was (this is the patch
 * that TANDEM_SESSION_PLAIN=1 turns off).
 * @private
 */

const { sharedProto, install, REQUEST_BASE } = require('./express-proto.js')
const plain = require('../request-fields.js')

const STATES = new WeakMap()

const readSessionId = (req) => { const st = STATES.get(req); return st === undefined ? undefined : st.sessionId }
const readSessionStore = (req) => { const st = STATES.get(req); return st === undefined ? undefined : st.store }

/** proto -> whether both accessors are ours on it */
const usable = new WeakMap()

/** The RequestFields interface: see `../request-fields.js`. */
function expose (req, state) {
  const proto = sharedProto(req, REQUEST_BASE)
  let ok = false
  if (proto !== null) {
    ok = usable.get(proto)
    if (ok === undefined) {
      ok = install(proto, 'sessionID', readSessionId) && install(proto, 'sessionStore', readSessionStore)
      usable.set(proto, ok)
    }
    // an own property (another middleware's, or the app's) shadows the accessor
    if (ok && (Object.hasOwn(req, 'sessionID') || Object.hasOwn(req, 'sessionStore'))) ok = false
  }
  if (ok) {
    STATES.set(req, state)
  } else {
    plain.expose(req, state)
  }
}

module.exports = { expose }
