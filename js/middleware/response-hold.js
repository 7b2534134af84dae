'use strict'

/**
 * ResponseHold, the plain implementation (read this one first; `fast/response-hold.js` is
 * the tuned one, `machinery.js` picks).
 *
 * Holding a response until the session is saved: express-session writes the headers and
 * most of the body before its store write ends, so a browser can follow a redirect before
 * the data is there ("lost on redirect", expressjs/session#360). Here the first
 * `writeHead`, `flushHeaders`, `write` or `end` runs the owner's `commit()`; when commit
 * needs I/O, those calls are queued and replayed, in order, once it has finished, so the
 * response (and the token cookies commit sets) goes out after the store has the data.
 *
 * The interface: `hold(res, owner)`, where `owner` has `commit()` (returns undefined when
 * it needed no I/O, else a promise), `failed(err)` and `replayFailed(err)`.
 *
 * Guarantees: nothing of the response is sent before commit ends; when commit needs no
 * I/O, nothing is queued. If commit fails, the queued calls are dropped and the owner's
 * `failed(err)` answers instead (the app's response was not sent, so the client cannot be
 * told the data was saved). A replayed call that throws (an invalid header value, say)
 * goes to the owner's `replayFailed(err)` instead of surfacing as an unhandled
 * rejection. The wrappers stay in place once done and forward, so a middleware that
 * wrapped these methods after us (compression, say) keeps its wrapper. This
 * implementation sets the four wrappers as own properties of the response, after whatever
 * a middleware before us set there.
 *
 * After the app's `end()`, the response behaves as Node's does after `end()`, even while
 * it is held: `writeHead`, `setHeader`, `appendHeader`, `setHeaders` and `removeHeader`
 * throw `ERR_HTTP_HEADERS_SENT` synchronously (guards set on the response when an `end()`
 * is held; the owner's own token headers pass, written through `asOwner`); a `write` or an
 * `end` with data fails with `ERR_STREAM_WRITE_AFTER_END`, given to its callback and to the
 * response's `'error'` listeners. Unlike Node, when the response has no `'error'` listener
 * that error is logged (`debug`) rather than thrown as an unhandled `'error'` event: a late
 * write never crashes the process.
 *
 * A stand-in response (engine.io's for a websocket upgrade: no `headersSent`, a header map
 * that is gone once the 101 is written, and nothing that waits for us) is not held: it is
 * marked as having sent its headers, so no token is ever written to it (operations that
 * need new tokens fail with `HEADERS_SENT`), and a save its first call starts runs on in
 * the background, a failure logged.
 *
 * Not covered: writes to `res.socket` directly; `headersSent` and `writableEnded` read
 * false while an ended response is held.
 * @private
 */

const debug = require('debug')('tandem-session')

const METHODS = ['writeHead', 'flushHeaders', 'write', 'end']
const OPEN = 0
const COMMITTING = 1
const DONE = 2
/** The header methods Node refuses after `end()`, with the verb of its error message. */
const HEADER_METHODS = [['setHeader', 'set'], ['appendHeader', 'append'], ['setHeaders', 'set'], ['removeHeader', 'remove']]

/** Depth of header writes by the session itself (`asOwner`): they pass the guards. */
let ownerWriting = 0

/**
 * Run `fn(a, b)` as the session's own header write: a held response whose app already
 * called `end()` still takes the token headers that commit writes before it goes out.
 */
function asOwner (fn, a, b) {
  ownerWriting++
  try {
    return fn(a, b)
  } finally {
    ownerWriting--
  }
}

/** Node's errors for a response after `end()` (same code and message). */
function headersSentError (verb) {
  return Object.assign(new Error(`Cannot ${verb} headers after they are sent to the client`), { code: 'ERR_HTTP_HEADERS_SENT' })
}
function writeAfterEndError () {
  return Object.assign(new Error('write after end'), { code: 'ERR_STREAM_WRITE_AFTER_END' })
}

/** Does `end(...args)` write data (Node's test: a truthy first argument that is not the callback)? */
function endWritesData (args) {
  return Boolean(args[0]) && typeof args[0] !== 'function'
}

/** Deliver a write-after-end error as Node does (callback, then `'error'`), but never unhandled. */
function reportAfterEnd (res, err, cb) {
  if (cb !== null) cb(err)
  if (typeof res.listenerCount === 'function' && res.listenerCount('error') > 0) res.emit('error', err)
  else debug('a write after end() was dropped: %s', err.code)
}

/** One held response: the state machine both implementations share. */
class Hold {
  /** @param {object} originals the response's own `writeHead`, `flushHeaders`, `write`, `end` */
  constructor (res, owner, originals) {
    this.res = res
    this.owner = owner
    this.state = OPEN
    this.queue = null // method, args, method, args, …
    this.ended = false // the app's end() reached us
    this.sealed = false // an end() is held: header changes throw as after Node's end()
    this.standIn = false // not a real response: never waited for (see the module comment)
    this.writeHead = originals.writeHead
    this.flushHeaders = originals.flushHeaders
    this.write = originals.write
    this.end = originals.end
  }

  call (m, args) {
    if (this.ended && (m === 'write' || (m === 'end' && endWritesData(args)))) return this.afterEnd(m, args)
    if (this.state === OPEN) this.begin()
    if (this.state === DONE) {
      const r = this[m].apply(this.res, args)
      if (m === 'end') this.ended = true
      return r
    }
    if (this.ended) {
      if (m === 'writeHead') throw headersSentError('write')
    } else if (m === 'end') {
      this.ended = true
      this.seal()
    }
    this.queue.push(m, args)
    return m === 'write' ? true : m === 'flushHeaders' ? undefined : this.res
  }

  /** The first call: commit, and hold the response while it runs. */
  begin () {
    let pending
    try {
      pending = this.owner.commit()
    } catch (err) {
      pending = Promise.reject(err)
    }
    if (pending === undefined) {
      this.state = DONE
    } else if (this.standIn) {
      this.state = DONE
      pending.catch((err) => debug('saving the session at a websocket upgrade failed: %s', err && (err.code || err.message)))
    } else {
      this.state = COMMITTING
      this.queue = []
      pending.then(() => this.replay(), (err) => this.fail(err))
        .catch((err) => this.owner.replayFailed(err))
    }
  }

  /** A `write`, or an `end` with data, after the app's `end()`: Node's error, never thrown. */
  afterEnd (m, args) {
    const res = this.res
    const last = args[args.length - 1]
    const cb = typeof last === 'function' ? last : null
    const err = writeAfterEndError()
    if (!res.destroyed) process.nextTick(reportAfterEnd, res, err, cb)
    else if (m === 'write' && cb !== null) process.nextTick(cb, err) // Node: a destroyed response only calls back
    return m === 'write' ? false : res
  }

  /** The app's `end()` is held: from now on its header changes throw, as after Node's `end()`. */
  seal () {
    this.sealed = true
    const hold = this
    for (const [name, verb] of HEADER_METHODS) {
      const original = this.res[name]
      if (typeof original !== 'function') continue
      this.res[name] = function (...args) {
        if (hold.sealed && ownerWriting === 0) throw headersSentError(verb)
        return original.apply(this, args)
      }
    }
  }

  replay () {
    this.state = DONE
    this.sealed = false
    const q = this.queue
    this.queue = null
    for (let i = 0; i < q.length; i += 2) {
      // Node's own end() calls writeHead; one from the queue already wrote the head.
      if (q[i] === 'writeHead' && this.res.headersSent) continue
      this[q[i]].apply(this.res, q[i + 1])
    }
  }

  /** Commit failed: the app's answer (and its end) is dropped, the owner answers instead. */
  fail (err) {
    this.state = DONE
    this.queue = null
    this.ended = false
    this.sealed = false
    this.owner.failed(err)
  }
}

const HOLD = Symbol('tandem-session.hold')

function heldWriteHead (...args) { return this[HOLD].call('writeHead', args) }
function heldFlushHeaders (...args) { return this[HOLD].call('flushHeaders', args) }
function heldWrite (...args) { return this[HOLD].call('write', args) }
function heldEnd (...args) { return this[HOLD].call('end', args) }

/**
 * Hold `res` for `owner` with wrappers set on the response itself.
 * @param {import('node:http').ServerResponse} res
 * @param {{commit: () => (Promise<void>|undefined), failed: (err: Error) => void,
 *   replayFailed: (err: Error) => void}} owner
 */
function hold (res, owner) {
  const h = new Hold(res, owner, res)
  if (typeof res.headersSent !== 'boolean') { // a stand-in (see the module comment)
    h.standIn = true
    Object.defineProperty(res, 'headersSent', { value: true, writable: true, configurable: true })
  }
  res[HOLD] = h
  res.writeHead = heldWriteHead
  res.flushHeaders = heldFlushHeaders
  res.write = heldWrite
  res.end = heldEnd
}

module.exports = { hold, Hold, METHODS, asOwner }
