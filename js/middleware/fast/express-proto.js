'use strict'

/**
 * Per-request members without new properties on `req` and `res`: the reason for the
 * tuned implementations in this folder (TANDEM_SESSION_PLAIN=1 runs the plain ones).
 *
 * Node's request and response objects already carry dozens of properties, and under
 * Express each request gets new hidden classes: every property a middleware adds to them
 * is a slow map migration (V8's MigrateToMap) on the hot path. Measured with callgrind on
 * the authenticated-read benchmark: the four response-method wrappers and the two request
 * properties that express-session-style middlewares add cost more instructions than the
 * rest of our middleware together. So the response wrappers live on Node's
 * `ServerResponse.prototype` (response-hold.js), and `req.sessionID` / `req.sessionStore` on the
 * framework's shared request prototype (the object just above Node's
 * `IncomingMessage.prototype` in the chain: Express's `request`, which every app and
 * sub-app of that Express inherits), reading the request's state from a WeakMap (request-fields.js).
 *
 * Guarantees: a member installed here behaves, for code that does not know us, as the
 * name did before: a request with no state of ours reads `undefined`; an assignment makes
 * an own data property. Installed once per prototype and name; a prototype that already
 * has a member of that name of someone else's is left alone and `install` says so
 * (callers then use own properties, as before).
 * Not covered: frameworks that put no prototype between the request and Node's (plain
 * `http`): `sharedProto` returns null and callers use own properties.
 * @private
 */

const http = require('node:http')

const REQUEST_BASE = http.IncomingMessage.prototype
const RESPONSE_BASE = http.ServerResponse.prototype

/**
 * The shared framework prototype of `obj` (the last one before `base` in its chain), or
 * null when there is none.
 * @param {object} obj a request or response
 * @param {object} base REQUEST_BASE or RESPONSE_BASE
 */
function sharedProto (obj, base) {
  let p = Object.getPrototypeOf(obj)
  if (p === base || p === null) return null
  for (;;) {
    const up = Object.getPrototypeOf(p)
    if (up === base) return p
    if (up === null) return null
    p = up
  }
}

/** The accessors we install, by name: one pair per name for the whole process. */
const accessors = new Map()

/**
 * An accessor for `name` that reads `read(this)`; assigning makes an own data property.
 * @param {string} name
 * @param {(self: object) => unknown} read
 */
function accessor (name, read) {
  let a = accessors.get(name)
  if (a === undefined) {
    a = {
      configurable: true,
      enumerable: false,
      get () { return read(this) },
      set (value) {
        Object.defineProperty(this, name, { value, writable: true, enumerable: true, configurable: true })
      }
    }
    accessors.set(name, a)
  }
  return a
}

/**
 * Make sure `proto[name]` is our accessor for `name`. False when `proto` has a member of
 * that name that is not ours (left alone).
 */
function install (proto, name, read) {
  const a = accessor(name, read)
  const d = Object.getOwnPropertyDescriptor(proto, name)
  if (d === undefined) {
    Object.defineProperty(proto, name, a)
    return true
  }
  return d.get === a.get
}

module.exports = { sharedProto, install, REQUEST_BASE, RESPONSE_BASE }
