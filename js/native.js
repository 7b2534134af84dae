'use strict'

/**
 * The only file that loads the native addon. Everything else in js/ requires this one,
 * so tests can stub the addon in one place.
 *
 * Guarantees: a missing or broken build fails here, at require time, with a message that
 * says how to build it, not later inside a request.
 * @private
 */

let binding
try {
  binding = require('./native/binding.js')
} catch (err) {
  const e = new Error('tandem-session: the native addon is not built (run `npm install` ' +
    'in a source checkout, with a Rust toolchain); ' + err.message)
  e.code = 'ADDON_NOT_BUILT'
  throw e
}

module.exports = binding
