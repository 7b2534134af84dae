'use strict'

/**
 * RequestFields, the plain implementation (read this one first; `fast/request-fields.js`
 * is the tuned one, `machinery.js` picks): `req.sessionID` and `req.sessionStore`
 * (express-session's names) for a request whose session state is `state`, set as own
 * properties of the request, as express-session sets them.
 *
 * The interface: `expose(req, state)`, after which both read what the state says
 * (`state.sessionId`, the store in use) for the rest of the request; `state.ownFields`
 * tells the state whether it must assign `req.sessionID` itself when the handle changes
 * (a login in the request).
 * Guarantees: an app that assigns them keeps its value.
 * @private
 */

/**
 * @param {object} req
 * @param {{sessionId: string|null, ownFields: boolean, store: object}} state
 */
function expose (req, state) {
  state.ownFields = true
  req.sessionID = state.sessionId
  req.sessionStore = state.store
}

module.exports = { expose }
