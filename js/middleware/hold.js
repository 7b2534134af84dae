'use strict'

/**
 * Holding a response until the session is saved: express-session writes the headers and
 * most of the body before its store write ends, so a browser can follow a redirect before
 * the data is there ("lost on redirect", expressjs/session#360). Here the first
 * `writeHead`, `flushHeaders`, `write` or `end` runs the owner's `commit()`; when commit
 * needs I/O, those calls are queued and replayed, in order, once it has finished, so the
 * response (and the token cookies commit sets) goes out after the store has the data.
 *
 * Guarantees: nothing of the response is sent before commit ends; when commit needs no
 * I/O, nothing is queued. If commit fails, the queued calls are dropped and the owner's
 * `failed(err)` answers instead (the app's response was not sent, so the client cannot be
 * told the data was saved). A replayed call that throws (an invalid header value, say)
 * goes to the owner's `replayFailed(err)` instead of surfacing as an unhandled
 * rejection. The wrappers stay in place once done and forward, so a middleware that
 * wrapped these methods after us (compression, say) keeps its wrapper. The wrappers sit
 * on Node's `ServerResponse.prototype` and nothing is added to the response (see below);
 * when something before us shadows these methods on the response, ours are set on the
 * response itself, after its.
 * Not covered: writes to `res.socket` directly.
 * @private
 */

const { RESPONSE_BASE } = require('./express-proto.js')

const HOLD = Symbol('tandem-session.hold')
const METHODS = ['writeHead', 'flushHeaders', 'write', 'end']
const OPEN = 0
const COMMITTING = 1
const DONE = 2

class Hold {
  /** @param {object} originals the response's own `writeHead`, `flushHeaders`, `write`, `end` */
  constructor (res, owner, originals) {
    this.res = res
    this.owner = owner
    this.state = OPEN
    this.queue = null // method, args, method, args, …
    this.writeHead = originals.writeHead
    this.flushHeaders = originals.flushHeaders
    this.write = originals.write
    this.end = originals.end
  }

  call (m, args) {
    if (this.state === DONE) return this[m].apply(this.res, args)
    if (this.state === OPEN) {
      let pending
      try {
        pending = this.owner.commit()
      } catch (err) {
        pending = Promise.reject(err)
      }
      if (pending === undefined) {
        this.state = DONE
        return this[m].apply(this.res, args)
      }
      this.state = COMMITTING
      this.queue = []
      pending.then(() => this.replay(), (err) => this.fail(err))
        .catch((err) => this.owner.replayFailed(err))
    }
    if (this.queue !== null) this.queue.push(m, args)
    return m === 'write' ? true : m === 'flushHeaders' ? undefined : this.res
  }

  replay () {
    this.state = DONE
    const q = this.queue
    this.queue = null
    for (let i = 0; i < q.length; i += 2) {
      // Node's own end() calls writeHead; one from the queue already wrote the head.
      if (q[i] === 'writeHead' && this.res.headersSent) continue
      this[q[i]].apply(this.res, q[i + 1])
    }
  }

  fail (err) {
    this.state = DONE
    this.queue = null
    this.owner.failed(err)
  }
}

// Own-property mode: wrappers set on the response itself (plain `http`, or a response
// whose methods a middleware before us already wrapped).
function heldWriteHead (...args) { return this[HOLD].call('writeHead', args) }
function heldFlushHeaders (...args) { return this[HOLD].call('flushHeaders', args) }
function heldWrite (...args) { return this[HOLD].call('write', args) }
function heldEnd (...args) { return this[HOLD].call('end', args) }

// Prototype mode: wrappers on Node's `http.ServerResponse.prototype`, installed once (on
// the first held response), which find the response's Hold in a WeakMap and otherwise
// call the method they replaced. Every response object inherits them whatever framework
// prototypes sit in between (Express's, a sub-app's), so nothing is added to the response
// (express-proto.js says why that matters). Used when the response resolves all four
// methods to them; a response whose methods something else shadows (a middleware before
// us that wrapped them, a framework prototype overriding one) gets own wrappers instead.
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
 * Whether prototype mode applies to `res`: its prototype chain resolves the four methods
 * to our wrappers (checked once per prototype) and it has no own method of those names.
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

/**
 * @param {import('node:http').ServerResponse} res
 * @param {{commit: () => (Promise<void>|undefined), failed: (err: Error) => void,
 *   replayFailed: (err: Error) => void}} owner commit is sync when it returns undefined
 */
function hold (res, owner) {
  if (usesSharedWrappers(res)) {
    HOLDS.set(res, new Hold(res, owner, shared))
    return
  }
  res[HOLD] = new Hold(res, owner, res)
  res.writeHead = heldWriteHead
  res.flushHeaders = heldFlushHeaders
  res.write = heldWrite
  res.end = heldEnd
}

module.exports = { hold }
