'use strict'

// Access tokens signed with the app's own key whose times no token of ours has (issue 17,
// point 7), over HTTP, on Express 5 and 4: a lifetime past accessTokenMaxAge + leeway is
// refused as expired (the client refreshes), an iat or nbf after exp as no token of ours.
// The app's key comes from its key ring, sealed in an express-session MemoryStore, opened
// by a TokenCore with the same secret (what a leaked key, or a bug of ours, would give).

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { describe, it } = require('node:test')

const ExpressSession = require('express-session')

const { ACCESS, SECRET, assertCode, eachExpress, loggedIn, session, useApp } = require('./support/apps.js')

/** A TokenCore holding `app`'s own signing keys, at `app`'s clock. */
async function appKeys (app, store) {
  await app.s.ready()
  const rec = await new Promise((resolve, reject) => store.get('~tandem:ring', (e, r) => e ? reject(e) : resolve(r)))
  const core = new session.TokenCore({ secret: [SECRET], fixedNow: app.now() })
  assert.equal(core.openKeyRing(rec.tandem.sealed, true), true, 'the app ring opens')
  assert.equal(core.currentKid(), app.s.currentKid(), 'and signs with the app key')
  return core
}

/** An access token for `handle` of `user` with these times (seconds), signed by `core`. */
function forge (core, user, handle, { iat, nbf = iat, exp }) {
  const header = { alg: 'HS256', typ: 'at+jwt', kid: core.currentKid() }
  const claims = {
    iss: 'tandem-session',
    sub: user,
    aud: 'tandem-session',
    exp,
    nbf,
    iat,
    jti: crypto.randomBytes(16).toString('base64url'),
    sid: handle,
    dv: 0
  }
  return core.dangerousSignRaw(JSON.stringify(header), JSON.stringify(claims))
}

/** `/me` with `token` (of session `handle`) in the access cookie, and as a Bearer token. */
async function presented (app, token, handle) {
  const c = app.client()
  const byCookie = await c.get('/me', { headers: { Cookie: `${ACCESS}=s:${handle}.${token}` }, jar: false })
  const byBearer = await c.get('/me', { headers: { Authorization: 'Bearer ' + token, Origin: false }, jar: false })
  return { byCookie, byBearer }
}

/**
 * An app over an express-session MemoryStore with alice logged in: the app, her session's
 * handle, a TokenCore with the app's keys, and the app's time in seconds.
 */
async function aliceWithKeys (t, express) {
  const store = new ExpressSession.MemoryStore()
  const app = await useApp(t, express, { store, resave: false })
  const { handle } = await loggedIn(app, 'alice')
  const core = await appKeys(app, store)
  return { app, handle, core, now: Math.floor(app.now() / 1000) }
}

eachExpress(function (express) {
  describe('when an access token signed with the app key has times no token of ours has', function () {
    it('should take one with our own lifetime (the forgery is good)', async function (t) {
      const { app, handle, core, now } = await aliceWithKeys(t, express)
      const { byCookie, byBearer } = await presented(app, forge(core, 'alice', handle, { iat: now, exp: now + 900 }), handle)
      assert.equal(byCookie.status, 200)
      assert.equal(byCookie.json.userId, 'alice')
      assert.equal(byBearer.status, 200)
      assert.equal(byBearer.json.userId, 'alice')
    })

    it('should refuse a lifetime past accessTokenMaxAge + leeway as expired: 401 TRY_REFRESH', async function (t) {
      const { app, handle, core, now } = await aliceWithKeys(t, express)
      for (const [what, times] of [
        ['ten years', { iat: now, exp: now + 10 * 365 * 86400 }],
        ['906 s', { iat: now, exp: now + 906 }],
        ['an iat a day ago', { iat: now - 86400, exp: now + 60 }],
        ['an iat of 0', { iat: 0, exp: now + 60 }]
      ]) {
        const { byCookie, byBearer } = await presented(app, forge(core, 'alice', handle, times), handle)
        assertCode(byCookie, 401, 'TRY_REFRESH', what + ', cookie')
        assertCode(byBearer, 401, 'TRY_REFRESH', what + ', Bearer')
      }
    })

    it('should refuse an iat or nbf after exp as no token of ours, never as a session', async function (t) {
      const { app, handle, core, now } = await aliceWithKeys(t, express)
      for (const [what, times] of [
        ['iat after exp', { iat: now + 3, nbf: now, exp: now + 2 }],
        ['nbf after exp', { iat: now, nbf: now + 3, exp: now + 2 }],
        ['iat far ahead of exp', { iat: now + 4_000_000_000, nbf: now, exp: now + 600 }]
      ]) {
        const { byCookie, byBearer } = await presented(app, forge(core, 'alice', handle, times), handle)
        // Not ours: the cookie is cleared and the request goes on without a session (as a
        // cookie express-session cannot unsign); a Bearer token is told 401.
        assert.equal(byCookie.status, 200, what + ', cookie')
        assert.equal(byCookie.json.userId, null, what + ', cookie: no session')
        assertCode(byBearer, 401, 'UNAUTHORISED', what + ', Bearer')
      }
    })
  })
})
