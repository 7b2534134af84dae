'use strict'

/**
 * Errors the middleware hands to Express's error handler: each carries `code` (the
 * engine's stable code, or one of ours) and `status` (the HTTP answer it stands for).
 *
 * Guarantees: `httpError` never replaces a status already set, and maps only by `code`
 * (`STORE_UNAVAILABLE`, `KEYRING_UNREADABLE` and `SHUTTING_DOWN` 503, `INVALID_ARGUMENT` 400,
 * `DATA_TOO_LARGE` 413, any other code 500); messages never carry a token.
 * @private
 */

/**
 * Codes that mean "not now": the store is down, no configured secret opens the store's
 * key ring (a configuration to fix; every request is refused until then), or the
 * middleware was closed (`close()`: the process is shutting down).
 */
const UNAVAILABLE = new Set(['STORE_UNAVAILABLE', 'KEYRING_UNREADABLE', 'SHUTTING_DOWN'])

/**
 * The status of the other codes that are the request's fault: a bad argument, and a
 * write that would grow the session data past `maxDataBytes` (nothing was written).
 */
const STATUS = { __proto__: null, INVALID_ARGUMENT: 400, DATA_TOO_LARGE: 413 }

/** Give an engine error (`err.code`) its HTTP `status`; returns `err`. */
function httpError (err) {
  if (err && typeof err === 'object' && err.status === undefined && typeof err.code === 'string') {
    err.status = UNAVAILABLE.has(err.code) ? 503 : STATUS[err.code] ?? 500
  }
  return err
}

/** A new error with `code`, `status` and the message `"CODE: message"`. */
function coded (code, message, status) {
  const e = new Error(code + ': ' + message)
  e.code = code
  e.status = status
  return e
}

module.exports = { httpError, coded }
