'use strict'

/**
 * RequestFields, the plain implementation (read this one first; `fast/request-fields.js`
 * is the tuned one, `machinery.js` picks): `req.sessionID` and `req.sessionStore`
 * (express-session's names) for a request whose session state is `state`, set as own
 * properties of the request, as express-session sets them.
 *
 * The interface: `expose(req, state)`, after which both read what the state says
 * (`state.sessionId`, the store in use) for the rest of the request. `req.sessionID` is an
 * own accessor that reads the state when read (so a new session's id is made only if
 * someone asks for it); the app assigning it makes it a plain value and sets
 * `state.idReplaced`, and the state calls `exposeId` again when its handle changes (a
 * login in the request).
 * Guarantees: an app that assigns them keeps its value (until a login in the request).
 * @private
 */

/**
 * @param {object} req
 * @param {{sessionId: string|null, idReplaced: boolean, store: object}} state
 */
function expose (req, state) {
  exposeId(req, state)
  req.sessionStore = state.store
}

/** `req.sessionID` as an own property that reads `state.sessionId`; assigning it sets a value. */
function exposeId (req, state) {
  Object.defineProperty(req, 'sessionID', {
    configurable: true,
    enumerable: true,
    get () { return state.sessionId },
    set (value) {
      Object.defineProperty(req, 'sessionID', { value, writable: true, configurable: true, enumerable: true })
      state.idReplaced = true
    }
  })
}

module.exports = { expose, exposeId }
