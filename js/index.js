'use strict'

/**
 * tandem-session's public entry point.
 *
 * Today it exports the token core (`TokenCore`): access tokens signed and verified in
 * Rust, the signing-key ring, refresh and CSRF tokens. The Express middleware
 * (`session(options)`) is built on it next; see README "Status".
 * @public
 */

const { TokenCore } = require('./token-core.js')

module.exports = { TokenCore }
