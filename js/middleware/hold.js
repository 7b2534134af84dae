'use strict'

/**
 * Holding a response until the session is saved: express-session writes the headers and
 * most of the body before its store write ends, so a browser can follow a redirect before
 * the data is there ("lost on redirect", expressjs/session#360). Here the first
 * `writeHead`, `write` or `end` runs `commit`; when commit needs I/O, those calls are
 * queued and replayed, in order, once it has finished, so the response (and the token
 * cookies commit sets) goes out after the store has the data.
 *
 * Guarantees: nothing of the response is sent before commit ends; when commit needs no
 * I/O, nothing is queued. If commit fails, the queued calls are dropped and `onError`
 * answers instead (the app's response was not sent, so the client cannot be told the
 * data was saved). Not covered: `res.flushHeaders()` and writes to `res.socket` directly.
 * @private
 */

const METHODS = ['writeHead', 'write', 'end']

/**
 * @param {import('node:http').ServerResponse} res
 * @param {() => (Promise<void>|undefined)} commit sync when it returns undefined
 * @param {(err: Error) => void} onError
 */
function hold (res, commit, onError) {
  const originals = {}
  let state = 'open' // open → (committing →) done
  let queue = null

  // Wrappers stay in place once done (they forward): a middleware that wrapped these
  // methods after us (compression, say) must keep its wrapper.
  function replay () {
    const q = queue
    queue = null
    for (const [m, args] of q) originals[m].apply(res, args)
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
        )
      }
      if (state === 'done') return originals[m].apply(res, args)
      if (queue !== null) queue.push([m, args])
      return m === 'write' ? true : res
    }
  }
}

module.exports = { hold }
