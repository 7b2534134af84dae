'use strict'

/**
 * A store whose key ring no configured secret opens (the secret was changed, or another
 * app with another secret uses the store): the failure says so at startup (`ready()`
 * rejects, an `'error'` event for a listener, a warning that says how to rotate), and
 * every request answers 503 KEYRING_UNREADABLE, not a 500; nothing stored is touched, so
 * the right secret, or a rotation to a new one, opens it again. `resetKeyRing: true` starts
 * over instead: one process replaces the ring (compare-and-swap), everyone is logged out,
 * even when the old secret comes back; a warning says so.
 */

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const { assertCode, assertOk, eachExpress, login, session, useApp, REFRESH_PATH } = require('./support/apps.js')

const OLD = 'the-secret-this-store-was-first-started-with'
const NEW = 'a-different-secret-someone-typed-in-instead'

/** Warnings of `code` emitted while `fn` runs. */
async function warningsDuring (code, fn) {
  const seen = []
  const on = (w) => { if (w.code === code) seen.push(w) }
  process.on('warning', on)
  try {
    await fn()
    await new Promise((resolve) => setImmediate(resolve)) // warnings are emitted on a later tick
  } finally {
    process.off('warning', on)
  }
  return seen
}

/**
 * An SQLite file whose key ring an app with the OLD secret sealed, alice logged in on it
 * (her client `c`); that app is closed.
 */
async function ringSealedWithOld (t, express) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tandem-ring-'))
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'sessions.sqlite3')
  const first = await useApp(t, express, { secret: OLD, store: new session.SqliteStore({ path: file }) })
  const c = first.client()
  await login(c, 'alice')
  await first.close()
  return { file, c }
}

eachExpress(function (express) {
  describe('when no configured secret opens the store\'s key ring', function () {
    it('should say so at startup and answer 503 KEYRING_UNREADABLE, until a rotation opens it again', async function (t) {
      const { file, c } = await ringSealedWithOld(t, express)

      const errors = []
      let wrong
      const warnings = await warningsDuring('TANDEM_KEYRING_UNREADABLE', async () => {
        // An app listening from the start (the engine starts in the background) hears it.
        const listening = session({ secret: NEW, store: new session.SqliteStore({ path: file }) })
        listening.on('error', (e) => errors.push(e))
        await assert.rejects(listening.ready(), { code: 'KEYRING_UNREADABLE' })
        wrong = await useApp(t, express, { secret: NEW, store: new session.SqliteStore({ path: file }) })
        await assert.rejects(wrong.s.ready(), { code: 'KEYRING_UNREADABLE' })
      })
      assert.deepEqual(errors.map((e) => e.code), ['KEYRING_UNREADABLE'], "an 'error' event for a listener")
      assert.equal(warnings.length, 2, 'one warning per session() that did not start')
      assert.match(warnings[0].message, /secret: \[newSecret, oldSecret\]/, 'it says how to rotate')
      assert.match(warnings[0].message, /resetKeyRing: true/, 'and names the option that starts over')
      assert.ok(warnings[0].message.includes(file), 'and names the file')
      assert.ok(!warnings[0].message.includes(NEW) && !warnings[0].message.includes(OLD), 'no secret in it')
      assertCode(await wrong.client().get('/me'), 503, 'KEYRING_UNREADABLE')
      await wrong.close()

      const rotated = await useApp(t, express, { secret: [NEW, OLD], store: new session.SqliteStore({ path: file }) })
      const me = await rotated.client({ jar: c.jar }).get('/me')
      assertOk(me)
      assert.equal(me.json.userId, 'alice', 'the rotation logged nobody out')
    })
  })

  describe('with resetKeyRing: true', function () {
    it('should replace the ring once, log everyone out for good, and say so', async function (t) {
      const { file, c } = await ringSealedWithOld(t, express)

      let a, b
      const warnings = await warningsDuring('TANDEM_KEYRING_RESET', async () => {
        // Two processes' worth of middleware starting together: one resets, the other adopts.
        a = session({ secret: NEW, resetKeyRing: true, store: new session.SqliteStore({ path: file }), saveUninitialized: false })
        b = session({ secret: NEW, resetKeyRing: true, store: new session.SqliteStore({ path: file }), saveUninitialized: false })
        await Promise.all([a.ready(), b.ready()])
      })
      assert.equal(warnings.length, 1, 'one of them reset the ring')
      assert.match(warnings[0].message, /everyone was logged out/)
      assert.match(warnings[0].message, /Remove resetKeyRing/)
      assert.ok(warnings[0].message.includes(file), 'it names the file')
      assert.equal(a.currentKid(), b.currentKid(), 'both use the one new ring')
      await Promise.all([a.close(), b.close()])

      const reset = await useApp(t, express, { secret: NEW, resetKeyRing: true, store: new session.SqliteStore({ path: file }) })
      const old = reset.client({ jar: c.jar })
      assertCode(await old.get('/me'), 401, 'TRY_REFRESH', 'the old access token')
      assertCode(await old.post(REFRESH_PATH), 401, 'UNAUTHORISED', 'the old refresh token')
      await reset.close()

      // The old secret back beside the new one: the session from before the reset stays over.
      const back = await useApp(t, express, { secret: [NEW, OLD], store: new session.SqliteStore({ path: file }) })
      assertCode(await back.client({ jar: c.jar }).post(REFRESH_PATH), 401, 'UNAUTHORISED', 'refresh after the old secret came back')
      assert.deepEqual(await back.s.listSessions('alice'), [], 'the old session is not listed')
      const fresh = back.client()
      await login(fresh, 'alice')
      assert.equal((await fresh.get('/me')).json.userId, 'alice', 'new logins work')
    })

    it('should refuse a value that is not a boolean, naming the option', function () {
      assert.throws(() => session({ secret: NEW, resetKeyRing: 'yes' }), { name: 'TypeError', message: /resetKeyRing option must be a boolean/ })
    })
  })
})
