'use strict'

/**
 * User ids as the app sees them, and as the engine stores them. An anonymous session
 * (data kept before login) is stored under an engine user id that starts with
 * `ANONYMOUS`; the app, the events and `X-Session-Info` see `null` for it.
 *
 * Guarantees: `publicUserId` is the only place that turns an engine user id into the app's
 * one; `MAX_USER_ID` is the only length limit JS applies to a user id.
 * Not here: the engine's own limits (Rust checks what it stores).
 * @private
 */

const crypto = require('node:crypto')

/** Engine user ids of anonymous sessions start with this. */
const ANONYMOUS = '~anon:'
/** Longest user id an app may log in as (characters). */
const MAX_USER_ID = 256

/** The app's user id for an engine user id: `null` for an anonymous session (or none). */
function publicUserId (engineUserId) {
  return engineUserId === null || engineUserId.startsWith(ANONYMOUS) ? null : engineUserId
}

/** A new engine user id for an anonymous session (128 random bits). */
function anonymousUserId () {
  return ANONYMOUS + crypto.randomBytes(16).toString('base64url')
}

/** A user id the dashboard may look up: 1 to MAX_USER_ID characters. */
function isUserIdLength (u) {
  return typeof u === 'string' && u.length > 0 && u.length <= MAX_USER_ID
}

/** A user id an app may log in as: the right length, and not an anonymous one. */
function isLoginUserId (u) {
  return isUserIdLength(u) && !u.startsWith(ANONYMOUS)
}

module.exports = { ANONYMOUS, MAX_USER_ID, publicUserId, anonymousUserId, isUserIdLength, isLoginUserId }
