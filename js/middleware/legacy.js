'use strict'

/**
 * The zero-logout switch (the `legacy` option): a request that carries a valid
 * express-session cookie (`legacy.name`, signed with one of `legacy.secret`, checked in
 * Rust: `legacySessionId`) whose session is in `legacy.store` is moved over once: a
 * tandem-session session is made with the same data (the cookie's lifetime included), logged
 * in as the user the data names (`passport.user` by default, or `legacy.user(sess)`), its
 * tokens are set, the legacy cookie is cleared and the legacy session destroyed (kept with
 * `legacy.keep`).
 *
 * Guarantees: a forged, unknown or expired legacy cookie, a legacy store that fails, or
 * data that cannot move (a user id the engine refuses: then the session moves anonymous)
 * never makes an error page: the request goes on without a session; parallel first requests
 * of one browser in this process move it once and all get the new session's tokens (for
 * `MOVED_KEPT_MS`). Not guaranteed: two processes moving one legacy session at once may make
 * two sessions of it (the legacy store has no compare-and-swap); both are valid sessions of
 * the same user, and the legacy one is destroyed.
 * @private
 */

const debug = require('debug')('tandem-session')

const native = require('../native.js')
const { settle } = require('../compat/bridge.js')
const { setBounded } = require('./bounded.js')
const { clearCookie, namesFor } = require('./transport.js')

/** How long the outcome of one move is kept for the browser's parallel requests. */
const MOVED_KEPT_MS = 30 * 1000
/** Moves remembered at once (each a few hundred bytes). */
const MOVED_MAX = 10000

/** The user a legacy session names: passport's `passport.user` (a string or a number). */
function passportUser (sess) {
  const u = sess.passport && sess.passport.user
  return typeof u === 'string' || (typeof u === 'number' && Number.isFinite(u)) ? String(u) : null
}

class LegacySwitch {
  /** @param {{store: object, name: string, secrets: string[], keep: boolean, user: Function}} options */
  constructor (options) {
    this.options = options
    this.moving = new Map() // legacy id -> {at, promise of the moved session's state or null}
  }

  /** The legacy session id of this request's cookies, or null (absent, forged, not ours). */
  sessionId (cookieHeader) {
    if (typeof cookieHeader !== 'string') return null
    return native.legacySessionId(cookieHeader, this.options.name, this.options.secrets)
  }

  /**
   * Move the legacy session `sid` over into `state` (as a login would); resolves when done,
   * whether or not there was anything to move.
   */
  async move (state, sid) {
    const now = Date.now()
    this.forgetOldMoves(now) // so an entry still here is within its MOVED_KEPT_MS
    let entry = this.moving.get(sid)
    if (entry === undefined) {
      entry = { at: now, first: true, promise: this.load(sid) }
      setBounded(this.moving, sid, entry, MOVED_MAX)
    }
    const moved = await entry.promise
    if (moved === null) return
    if (entry.first) { // the first request of this browser makes the session
      entry.first = false
      moved.session = this.start(state, moved).then(() => state.movedSession())
      moved.session.then(() => this.retire(sid), () => {})
      await moved.session
    } else { // a parallel request gets the same session and tokens
      state.adoptMoved(await moved.session)
    }
    const mw = state.middleware
    if (namesFor(mw.names, state.cookieSettings, state.secure).access !== this.options.name) {
      clearCookie(state.res, this.options.name, state.cookieSettings.path)
    }
  }

  /**
   * Drop the moves older than MOVED_KEPT_MS (with their data and tokens): the map is in the
   * order of `at` (a renewed entry is re-inserted as the newest), so they are at its front.
   */
  forgetOldMoves (now) {
    for (const [sid, entry] of this.moving) {
      if (now - entry.at <= MOVED_KEPT_MS) break
      this.moving.delete(sid)
    }
  }

  /** Make the session: as the user the data names, or anonymous when the engine refuses that id. */
  async start (state, moved) {
    const data = JSON.parse(JSON.stringify(moved.data))
    try {
      await state.start(moved.userId, data, undefined, 'legacy')
    } catch (e) {
      if (!(e instanceof TypeError) || moved.userId === null) throw e
      debug('a legacy user id was refused: the session moves anonymous')
      await state.start(null, data, undefined, 'legacy')
    }
  }

  /** The legacy session's user and data, or null when there is none to move. */
  async load (sid) {
    const o = this.options
    let sess
    try {
      sess = await settle(o.store, 'get', [sid])
    } catch (e) {
      debug('the legacy store failed: a legacy session was not moved')
      return null
    }
    if (sess === null || sess === undefined || typeof sess !== 'object') return null
    const expires = sess.cookie && sess.cookie.expires
    if (expires && new Date(expires).valueOf() <= Date.now()) return null
    let userId = null
    try {
      userId = o.user(sess)
    } catch (e) {
      debug('legacy.user threw: the session moves anonymous')
    }
    const { cookie, ...rest } = sess
    const data = JSON.parse(JSON.stringify(rest))
    const lifetime = cookie && cookie.originalMaxAge
    if (lifetime === null || (Number.isInteger(lifetime) && lifetime > 0)) data.cookie = { originalMaxAge: lifetime }
    return { userId: typeof userId === 'string' && userId.length > 0 ? userId : null, data, session: null }
  }

  /** After the move: the legacy session goes (unless `keep`). */
  retire (sid) {
    if (this.options.keep) return
    settle(this.options.store, 'destroy', [sid]).catch(() => debug('the legacy session could not be destroyed'))
  }
}

module.exports = { LegacySwitch, passportUser }
