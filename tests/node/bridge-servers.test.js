'use strict'

/**
 * The bridge on real servers: the engine on connect-redis (node-redis, a real Redis) and on
 * connect-pg-simple (pg, a real PostgreSQL), as an app that used them with express-session
 * passes them to tandem-session: login, data, refresh, logout; two app instances on one
 * store share the session, and a logout in one is refused by the other once it syncs;
 * what the store keeps carries the TTL the store expires it by.
 */

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { describe, it } = require('node:test')

const express = require('express')
const { EXPIRE_MS, REFRESH_PATH, assertCode, assertOk, login, meUntilRefused, startApp } = require('./support/apps.js')
const { HttpClient } = require('./support/http-client.js')
const { skipWithout } = require('./support/servers.js')

const redisUrl = process.env.TANDEM_REDIS_URL
const pgUrl = process.env.TANDEM_PG_URL

/** A connect-redis store over its own node-redis client, on a prefix of its own. */
async function connectRedis (t) {
  const { createClient } = require('redis')
  const { RedisStore } = require('connect-redis')
  const client = createClient({ url: redisUrl })
  await client.connect()
  t.after(() => client.quit())
  const prefix = 'bridge-test:' + crypto.randomUUID() + ':'
  return { store: new RedisStore({ client, prefix }), ttlOf: (sid) => client.pTTL(prefix + sid) }
}

/** A connect-pg-simple store over a pg pool, in a table of its own. */
async function connectPg (t) {
  const pg = require('pg')
  const PgSession = require('connect-pg-simple')(require('express-session'))
  const pool = new pg.Pool({ connectionString: pgUrl })
  const table = 'bridge_test_' + crypto.randomBytes(6).toString('hex')
  t.after(async () => {
    await pool.query(`DROP TABLE IF EXISTS ${table}`)
    await pool.end()
  })
  const store = new PgSession({ pool, tableName: table, createTableIfMissing: true, pruneSessionInterval: false })
  const ttlOf = async (sid) => {
    const r = await pool.query(`SELECT expire FROM ${table} WHERE sid = $1`, [sid])
    return r.rows.length === 0 ? -2 : r.rows[0].expire.valueOf() - Date.now()
  }
  return { store, ttlOf }
}

for (const [name, make, skip] of [
  ['connect-redis on a real Redis', connectRedis, skipWithout(redisUrl, 'set TANDEM_REDIS_URL (source scripts/ci/redis.sh)')],
  ['connect-pg-simple on a real PostgreSQL', connectPg, skipWithout(pgUrl, 'set TANDEM_PG_URL (bash scripts/ci/postgres.sh)')]
]) {
  describe(`the engine on ${name}`, { skip }, function () {
    it('should log in, read, write, refresh and log out, the stored session expiring with it', async function (t) {
      const { store, ttlOf } = await make(t)
      const app = await startApp(express, { store })
      t.after(() => app.close())
      const c = app.client()
      const li = await login(c, 'alice', { data: { cart: ['tea'] } })
      const handle = li.json.id
      const ttl = await ttlOf(handle)
      // 30 days of refresh-token idle lifetime, as the store's own expiry (its TTL).
      assert.ok(ttl > 29 * 24 * 3600 * 1000 && ttl <= 30 * 24 * 3600 * 1000 + 5000, `TTL ${ttl}`)
      assertOk(await c.post('/data', { json: { seen: 1 } }))
      assert.deepEqual((await c.get('/me')).json.data, { cart: ['tea'], seen: 1 })
      app.advance(EXPIRE_MS)
      assert.equal((await c.post(REFRESH_PATH)).status, 200)
      assertOk(await c.post('/logout'))
      assert.equal(await ttlOf(handle), -2, 'logout removed it from the store')
    })

    it('should share a session between two app instances, and refuse it in the second after a logout in the first', async function (t) {
      const { store } = await make(t)
      const a = await startApp(express, { store, syncInterval: 100 })
      const b = await startApp(express, { store, syncInterval: 100 })
      t.after(() => Promise.all([a.close(), b.close()]))
      await Promise.all([a.s.ready(), b.s.ready()])
      b.setNow(a.now())
      const ca = a.client()
      await login(ca, 'bob', { data: { n: 1 } })
      const cb = new HttpClient(b.url, { clock: () => b.now(), jar: ca.jar })
      const read = await cb.get('/me')
      assert.deepEqual([read.json.userId, read.json.data], ['bob', { n: 1 }])
      assertOk(await cb.post('/data', { json: { n: 2 } }))
      assert.equal((await ca.get('/me')).json.data.n, 2, 'a reads what b wrote')
      const token = ca.jar.get('connect.sid').value
      assertOk(await ca.post('/logout'))
      const res = await meUntilRefused(b, token, 2000)
      assertCode(res, 401, 'UNAUTHORISED', 'the other instance refuses the logged-out session')
    })
  })
}
