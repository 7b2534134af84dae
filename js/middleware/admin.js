'use strict'

/**
 * The user-level calls of the object `session()` returns: a user's sessions, revoking one
 * or all of them, the public keys, emergency key revocation, and the test clock.
 *
 * Guarantees: the async calls wait for the engine to start (and reject with its start
 * error); a revocation drops this process's copy of the session's data and fires
 * `revoked` (reason `admin`) once per session that existed, with the app's user id
 * (null for an anonymous session). `jwks()`, `currentKid()` and `setNow()` need the
 * started engine.
 * @private
 */


/**
 * The calls, as an object whose property descriptors `index.js` copies onto the
 * middleware function.
 * @param {import('./middleware.js').SessionMiddleware} middleware
 */
function adminApi (middleware) {
  const api = {
    /** Resolves once the engine has started (rejects with the start error). */
    ready: () => middleware.started.then(() => {
      if (middleware.startError !== null) throw middleware.startError
    }),
    /** The live sessions of a user, most recently refreshed first, with device facts. */
    listSessions: async (userId) => { await api.ready(); return middleware.engine.listUser(userId) },
    /** Revoke one session (every process refuses it within about a second). */
    revokeSession: async (handle) => {
      await api.ready()
      const engine = middleware.engine
      const rec = await engine.get(handle).catch(() => null) // only to name the user in the event
      const existed = await engine.revoke(handle)
      middleware.dataCache.delete(handle)
      if (existed) middleware.emit('revoked', { handle, userId: rec ? rec.userId : null, reason: 'admin' })
      return existed
    },
    /** Revoke every session of a user ("sign out everywhere"), except `options.except`. */
    revokeUserSessions: async (userId, options) => {
      await api.ready()
      const revoked = await middleware.engine.revokeUser(userId, options && options.except)
      for (const handle of revoked) {
        middleware.dataCache.delete(handle)
        middleware.emit('revoked', { handle, userId, reason: 'admin' })
      }
      return revoked
    },
    /** The public key set (EdDSA: current, next and retired keys). */
    jwks: () => middleware.engine.jwks(),
    /** Emergency: stop accepting access tokens signed by `kid` (clients refresh). */
    revokeSigningKey: async (kid) => { await api.ready(); return middleware.engine.revokeKey(kid) },
    currentKid: () => middleware.engine.currentKid(),
    /** Tests only (needs `fixedNow`). */
    setNow: (ms) => {
      middleware.engine.setNow(ms)
      middleware.fixedNow = ms
    },
    get engine () { return middleware.engine }
  }
  return api
}

module.exports = { adminApi }
