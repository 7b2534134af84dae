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
 * Not covered: writes to `res.socket` directly.
 * @private
 */

const METHODS = ['writeHead', 'flushHeaders', 'write', 'end']
const OPEN = 0
const COMMITTING = 1
const DONE = 2

/** One held response: the state machine both implementations share. */
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
  res[HOLD] = new Hold(res, owner, res)
  res.writeHead = heldWriteHead
  res.flushHeaders = heldFlushHeaders
  res.write = heldWrite
  res.end = heldEnd
}

module.exports = { hold, Hold, METHODS }
