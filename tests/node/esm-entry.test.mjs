// The ESM entry (package.json "exports" → js/index.mjs), imported by the package's own
// name as an app would: the default export is session(), the named exports are the same
// objects as the CommonJS module's properties.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import session, { session as named, MemoryStore, SqliteStore, PostgresStore, RedisStore, Engine, TokenCore } from 'tandem-session'

const cjs = createRequire(import.meta.url)('tandem-session')

describe('import from "tandem-session"', function () {
  it('should give session() as the default export, and the CommonJS objects by name', function () {
    assert.equal(typeof session, 'function')
    assert.equal(session, cjs)
    assert.equal(named, cjs)
    const parts = { MemoryStore, SqliteStore, PostgresStore, RedisStore, Engine, TokenCore }
    for (const [name, value] of Object.entries(parts)) assert.equal(value, cjs[name], name)
  })

  it('should build a working middleware from the ESM import', async function () {
    const s = session({ secret: 'esm-entry-test-secret-of-at-least-32-bytes', store: new MemoryStore() })
    await s.ready()
    assert.equal(typeof s, 'function')
    assert.equal(s.length, 3, 'an Express middleware (req, res, next)')
    assert.deepEqual(await s.listSessions('nobody'), [])
  })
})
