'use strict'

/**
 * Holding a response until the session is saved: express-session writes the headers and
 * most of the body before its store write ends, so a browser can follow a redirect before
 * the data is there ("lost on redirect", expressjs/session#360). Here the first
 * `writeHead`, `flushHeaders`, `write` or `end` runs `commit`; when commit needs I/O,
 * those calls are queued and replayed, in order, once it has finished, so the response
 * (and the token cookies commit sets) goes out after the store has the data.
 *
 * Guarantees: nothing of the response is sent before commit ends; when commit needs no
 * I/O, nothing is queued. If commit fails, the queued calls are dropped and `onError`
 * answers instead (the app's response was not sent, so the client cannot be told the
 * data was saved). A replayed call that throws (an invalid header value, say) destroys
 * the response instead of surfacing as an unhandled rejection. The wrappers stay in
 * place once done and forward, so a middleware that wrapped these methods after us
 * (compression, say) keeps its wrapper. Not covered: writes to `res.socket` directly.
 * @private
 */

const METHODS = ['writeHead', 'flushHeaders', 'write', 'end']

/**
 * @param {import('node:http').ServerResponse} res
 * @param {() => (Promise<void>|undefined)} commit sync when it returns undefined
 * @param {(err: Error) => void} onError
 * @param {(err: Error) => void} onReplayError
 */
function hold (res, commit, onError, onReplayError) {
  const originals = {}
  let state = 'open' // open → (committing →) done
  let queue = null

  function replay () {
    const q = queue
    queue = null
    try {
      for (const [m, args] of q) {
        // Node's own end() calls writeHead; one from the queue already wrote the head.
        if (m === 'writeHead' && res.headersSent) continue
        originals[m].apply(res, args)
      }
    } catch (err) {
      onReplayError(err)
    }
  }

  for (const m of METHODS) {
    originals[m] = res[m]
    res[m] = function held (...args) {
      if (state === 'open') {
        let pending
        try {
          pending = commit()
        } catch (err) {
          pending = Promise.reject(err)
        }
        if (pending === undefined) {
          state = 'done'
          return originals[m].apply(res, args)
        }
        state = 'committing'
        queue = []
        pending.then(
          () => { state = 'done'; replay() },
          (err) => { state = 'done'; queue = null; onError(err) }
        ).catch(onReplayError)
      }
      if (state === 'done') return originals[m].apply(res, args)
      if (queue !== null) queue.push([m, args])
      return m === 'write' ? true : m === 'flushHeaders' ? undefined : res
    }
  }
}

module.exports = { hold }
