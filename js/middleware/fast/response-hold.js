'use strict'

/**
 * ResponseHold, the tuned implementation (the plain one, `../response-hold.js`, says what
 * holding a response means and guarantees; this file keeps every one of those guarantees
 * and changes only where the wrappers live).
 *
 * The wrappers sit on Node's `http.ServerResponse.prototype`, installed once (on the first
 * held response); they find the response's Hold in a WeakMap and otherwise call the method
 * they replaced. Every response object inherits them whatever framework prototypes sit in
 * between (Express's, a sub-app's), so nothing is added to the response (express-proto.js
 * says why that matters: measured with callgrind). Used when the response resolves all
 * four methods to them; a response whose methods something else shadows (a middleware
 * before us that wrapped them, a framework prototype overriding one) is held the plain
 * way, with own wrappers set after its. The header guards of a response whose `end()` is
 * held are own properties in both (set only then, on a response already waiting for I/O).
 *
 * Not guaranteed: that Node's prototype is left as it was (this is the process-wide patch
 * that TANDEM_SESSION_PLAIN=1 turns off).
 * @private
 */

const { RESPONSE_BASE } = require('./express-proto.js')
const plain = require('../response-hold.js')

const { Hold, METHODS } = plain
const HOLDS = new WeakMap()
let shared = null // {writeHead, …: the replaced methods; writeHeadWrapper, …: ours}

function patchServerResponse () {
  const proto = RESPONSE_BASE
  const installed = {}
  for (const m of METHODS) {
    const original = proto[m]
    const wrapper = function (...args) {
      const h = HOLDS.get(this)
      return h === undefined ? original.apply(this, args) : h.call(m, args)
    }
    installed[m] = original
    installed[m + 'Wrapper'] = wrapper
  }
  for (const m of METHODS) {
    Object.defineProperty(proto, m, { value: installed[m + 'Wrapper'], writable: true, configurable: true, enumerable: false })
  }
  return installed
}

/** prototype of a response -> whether it resolves the four methods to our wrappers */
const protoVerdicts = new WeakMap()

/**
 * Whether the shared wrappers apply to `res`: its prototype chain resolves the four
 * methods to them (checked once per prototype) and it has no own method of those names.
 * Reads on a response are costly under Express (express-proto.js), so this does no
 * property load on `res` itself.
 */
function usesSharedWrappers (res) {
  if (shared === null) shared = patchServerResponse()
  const proto = Object.getPrototypeOf(res)
  let ok = protoVerdicts.get(proto)
  if (ok === undefined) {
    ok = proto !== null && proto.writeHead === shared.writeHeadWrapper && proto.end === shared.endWrapper &&
      proto.write === shared.writeWrapper && proto.flushHeaders === shared.flushHeadersWrapper
    protoVerdicts.set(proto, ok)
  }
  return ok && !Object.hasOwn(res, 'end') && !Object.hasOwn(res, 'write') &&
    !Object.hasOwn(res, 'writeHead') && !Object.hasOwn(res, 'flushHeaders')
}

/** The ResponseHold interface: see `../response-hold.js`. */
function hold (res, owner) {
  if (usesSharedWrappers(res)) HOLDS.set(res, new Hold(res, owner, shared))
  else plain.hold(res, owner)
}

module.exports = { hold }
