'use strict'

/**
 * tandem-session's public entry point.
 *
 * Today it exports the token core (`TokenCore`: access tokens signed and verified in
 * Rust, the signing-key ring, refresh and CSRF tokens) and the session engine over a
 * store (`Engine`, `MemoryStore`, `SqliteStore`, `PostgresStore`, `RedisStore`). The Express middleware (`session(options)`) is built
 * on them next; see README "Status".
 * @public
 */

const { TokenCore } = require('./token-core.js')
const { Engine } = require('./engine.js')
const { MemoryStore, SqliteStore, PostgresStore, RedisStore } = require('./stores.js')

module.exports = { TokenCore, Engine, MemoryStore, SqliteStore, PostgresStore, RedisStore }
