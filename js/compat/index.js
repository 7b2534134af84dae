'use strict'

/**
 * express-session's public classes, for apps and store packages written against it:
 * `Cookie` (`req.session.cookie`), `Store` (the base class of session stores) and
 * `StoreSession` (express-session's `Session` over a store: what `store.load` gives).
 * The middleware's seams, not for apps: `setSessionConstructor` (which constructor
 * `Store#createSession` uses) and `responseAttributes` (a Cookie as the transport writes it).
 * @private
 */

const { Cookie, responseAttributes } = require('./cookie.js')
const { Store, setSessionConstructor } = require('./store.js')
const { StoreSession } = require('./store-session.js')

module.exports = { Cookie, Store, StoreSession, setSessionConstructor, responseAttributes }
