'use strict'

/**
 * `StoreSession`: a session read from an express-session-style store, as express-session's
 * `Session` is: what `store.load(sid, fn)` hands back and what `Store#createSession`
 * builds until the middleware registers its own constructor (store.js's seam).
 *
 * Guarantees: `new StoreSession(req, data)` has `req` and `id` (= `req.sessionID`) as
 * non-enumerable, read-only properties and `data`'s keys as its own enumerable ones,
 * except keys it already has (its methods, `id`, `req`, `__proto__`), so
 * `JSON.stringify(session)` is the data; the methods (non-enumerable) work through
 * `req.sessionStore` with callbacks and return the session: `save` = `set(id, this)`,
 * `reload` = `get` + `createSession` (a missing session is `Error('failed to load
 * session')`), `destroy` deletes `req.session` then `destroy(id)`, `regenerate` =
 * `store.regenerate(req)`, `touch`/`resetMaxAge` set `cookie.maxAge` back to
 * `cookie.originalMaxAge`.
 * Not here: tandem's tokens, rotation or CSRF; this object only talks to the store.
 * @private
 */

const noop = () => {}

class StoreSession {
  /**
   * @param {{sessionID: string, sessionStore: object}} req
   * @param {object} [data] the stored session (its `cookie` already a Cookie)
   */
  constructor (req, data) {
    Object.defineProperty(this, 'req', { value: req })
    Object.defineProperty(this, 'id', { value: req.sessionID })
    if (typeof data === 'object' && data !== null) {
      for (const key in data) {
        if (!(key in this)) this[key] = data[key]
      }
    }
  }

  /** Reset the cookie's lifetime (`resetMaxAge`). */
  touch () { return this.resetMaxAge() }

  resetMaxAge () {
    this.cookie.maxAge = this.cookie.originalMaxAge
    return this
  }

  save (fn) {
    this.req.sessionStore.set(this.id, this, fn || noop)
    return this
  }

  reload (fn) {
    const req = this.req
    const store = req.sessionStore
    store.get(this.id, (err, sess) => {
      if (err) return fn(err)
      if (!sess) return fn(new Error('failed to load session'))
      store.createSession(req, sess)
      fn()
    })
    return this
  }

  destroy (fn) {
    delete this.req.session
    this.req.sessionStore.destroy(this.id, fn)
    return this
  }

  regenerate (fn) {
    this.req.sessionStore.regenerate(this.req, fn)
    return this
  }
}

module.exports = { StoreSession }
