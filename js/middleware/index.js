'use strict'

/**
 * `session(options)`: the Express middleware. The function it returns is what Express
 * calls (`SessionMiddleware#handle`, `middleware.js`, has the steps of a request); it is
 * also the event emitter (`created`, `refreshed`, `revoked`, `theft`, `error`: listeners
 * only) and carries the user-level calls (`admin.js`: `listSessions`, `revokeSession`, …),
 * `dashboard(options)` (`dashboard.js`), `metrics()` (the engine's counters) and `close()`
 * (graceful shutdown: `SessionMiddleware#close`).
 *
 * Guarantees: the options are checked here, at setup (a TypeError naming the option);
 * the returned function takes `(req, res, next)` like any Express middleware. The
 * speed-sensitive parts run tuned unless `TANDEM_SESSION_PLAIN=1` (`machinery.js`).
 * @public
 */

const { SessionMiddleware } = require('./middleware.js')
const { adminApi } = require('./admin.js')
const { dashboard, track } = require('./dashboard.js')

/** Emitter methods forwarded to the middleware's emitter; each returns the middleware. */
const LISTENER_METHODS = ['on', 'once', 'off', 'addListener', 'removeListener', 'removeAllListeners']

/**
 * Create the middleware.
 * @param {object} options see README "Options"
 */
function session (options) {
  const sessions = new SessionMiddleware(options)
  function middleware (req, res, next) {
    sessions.handle(req, res, next)
  }
  const emitter = sessions.emitter
  for (const k of LISTENER_METHODS) {
    middleware[k] = (...args) => { emitter[k](...args); return middleware }
  }
  middleware.listenerCount = (e) => emitter.listenerCount(e)
  Object.defineProperties(middleware, Object.getOwnPropertyDescriptors(adminApi(sessions)))
  /** The sessions dashboard: an HTML page for admins (`authorize(req)`; nobody by default). */
  middleware.dashboard = (o) => dashboard(middleware, o)
  /** The engine's counters since it started: logins, refreshes, grace hits, thefts, … */
  middleware.metrics = () => sessions.metrics()
  /** Graceful shutdown: finish the writes in flight, stop the engine; then 503 SHUTTING_DOWN. */
  middleware.close = () => sessions.close()
  track(middleware) // the dashboard lists the users this process has seen since it started
  return middleware
}

module.exports = { session }
