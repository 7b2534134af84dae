// ESM entry: `import session, { MemoryStore } from 'tandem-session'`. The CommonJS module
// is the one implementation; this file only names its parts.
import session from './index.js'

export default session
export const { TokenCore, Engine, MemoryStore, NativeMemoryStore, SqliteStore, PostgresStore, RedisStore, Store, Cookie, Session, prometheus } = session
export { session }
