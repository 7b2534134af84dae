'use strict'

/**
 * tandem-session's public entry point: the module is `session(options)`, the Express
 * middleware (as with express-session), with the stores and the lower layers as
 * properties:
 *
 * - the stores: `SqliteStore` (the default), `PostgresStore`, `RedisStore` and
 *   `NativeMemoryStore`, the engine's own; `MemoryStore` is express-session's
 *   (`js/compat/memory-store.js`), which the engine runs on through the store bridge;
 * - `session.Engine`: sessions over a store without Express;
 * - `session.TokenCore`: the token core alone (access tokens, key ring, refresh and CSRF
 *   tokens);
 * - `session.prometheus(s, promClient)`: the middleware's counters in a prom-client
 *   registry (`prometheus.js`; prom-client is the app's);
 * - `session.Store`, `session.Cookie`, `session.Session`: express-session's classes, with
 *   its shapes (`js/compat`), so store packages built on `session.Store` load, and
 *   `session({ store })` runs on them through the bridge (`js/compat/bridge.js`).
 *
 * Guarantees: `require('tandem-session')`, `.session` and `.default` are the same
 * function, so CommonJS, TypeScript's `esModuleInterop` and the ESM entry (`index.mjs`)
 * all get one implementation; requiring it loads the native addon (a missing build fails
 * here, `native.js`) but opens no store until `session()` or `Engine.start` is called.
 * @public
 */

const { session } = require('./middleware/index.js')
const { TokenCore } = require('./token-core.js')
const { Engine } = require('./engine.js')
const { NativeMemoryStore, SqliteStore, PostgresStore, RedisStore } = require('./stores.js')
const { MemoryStore } = require('./compat/memory-store.js')
const { Store, Cookie, StoreSession } = require('./compat/index.js')
const { prometheus } = require('./prometheus.js')

module.exports = session
Object.assign(session, {
  session, default: session, TokenCore, Engine, MemoryStore, NativeMemoryStore, SqliteStore, PostgresStore, RedisStore,
  Store, Cookie, Session: StoreSession, prometheus
})
