'use strict'

// The cap on one user's sessions (`maxSessionsPerUser`, 100 by default) over HTTP, on
// Express 5 and 4: a login past it succeeds and logs out that user's least recently
// refreshed session (its next request is refused, its refresh too); the other sessions,
// other users and visitors are untouched; the dashboard list stays within the cap.
// (issue 18: store growth and per-user lists.)

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const session = require('../../js/index.js')
const { REFRESH_PATH, assertCode, assertOk, eachExpress, useApp } = require('./support/apps.js')

eachExpress(function (express) {
  describe('when a user logs in more often than maxSessionsPerUser', function () {
    it('should log out the least recently refreshed session and keep every login', async function (t) {
      const app = await useApp(t, express, { maxSessionsPerUser: 3 })
      const devices = []
      for (let i = 0; i < 3; i++) {
        const c = app.client()
        assertOk(await c.post('/login', { json: { user: 'alice' } }), `login ${i}`)
        devices.push(c)
        app.advance(1000)
      }
      // The first device refreshes: the second is now the least recently refreshed.
      assertOk(await devices[0].post(REFRESH_PATH, { headers: { Origin: app.origin } }), 'refresh')
      app.advance(1000)
      const bob = app.client()
      assertOk(await bob.post('/login', { json: { user: 'bob' } }))
      const fourth = app.client()
      const r = await fourth.post('/login', { json: { user: 'alice' } })
      assertOk(r, 'the login past the cap')
      assert.equal(r.json.userId, 'alice')
      assert.equal((await app.s.listSessions('alice')).length, 3, 'the list stays within the cap')
      assertCode(await devices[1].get('/me'), 401, 'UNAUTHORISED', 'the evicted device')
      assertCode(await devices[1].post(REFRESH_PATH, { headers: { Origin: app.origin } }), 401, 'UNAUTHORISED', 'its refresh')
      for (const [name, c, user] of [['first', devices[0], 'alice'], ['third', devices[2], 'alice'], ['fourth', fourth, 'alice'], ['bob', bob, 'bob']]) {
        const me = await c.get('/me')
        assertOk(me, name)
        assert.equal(me.json.userId, user, name)
      }
    })

    it('should hold 100 sessions per user by default', async function (t) {
      const app = await useApp(t, express, { store: new session.NativeMemoryStore() })
      for (let i = 0; i < 101; i++) {
        assertOk(await app.client().post('/login', { json: { user: 'carol' } }), `login ${i}`)
        app.advance(10)
      }
      assert.equal((await app.s.listSessions('carol')).length, 100)
    })
  })
})

describe('maxSessionsPerUser as an option', function () {
  it('should be refused at setup with a TypeError naming it when out of range or not whole', function () {
    for (const bad of [0, 1_000_001, 2.5, -3, 'many', NaN]) {
      assert.throws(() => session({ secret: 's'.repeat(32), maxSessionsPerUser: bad }), (e) => {
        assert.ok(e instanceof TypeError, `${bad}: ${e}`)
        assert.match(e.message, /maxSessionsPerUser/, String(bad))
        return true
      })
    }
  })
})
