'use strict'

/**
 * `req.sessionID` and `req.sessionStore` (express-session's names) for a request whose
 * session state is `state`. Under Express they are accessors on its shared request
 * prototype that read the state from a WeakMap, so the request object gets no new
 * properties for them (express-proto.js says why that matters); elsewhere they are own
 * properties, as express-session sets them.
 *
 * Guarantees: both read what the request's state says (`state.sessionId`, the store in
 * use); an app that assigns them gets an own property, as before.
 * @private
 */

const { sharedProto, install, REQUEST_BASE } = require('./express-proto.js')

const STATES = new WeakMap()

const readSessionId = (req) => { const st = STATES.get(req); return st === undefined ? undefined : st.sessionId }
const readSessionStore = (req) => { const st = STATES.get(req); return st === undefined ? undefined : st.mw.settings.store }

/** proto -> whether both accessors are ours on it */
const usable = new WeakMap()

/**
 * Expose `state` as the request's `sessionID` / `sessionStore`.
 * @param {object} req
 * @param {{sessionId: string|null, ownSlots: boolean, mw: object}} state
 */
function attach (req, state) {
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
    state.ownSlots = false
  } else {
    state.ownSlots = true
    req.sessionID = state.sessionId
    req.sessionStore = state.mw.settings.store
  }
}

module.exports = { attach }
