'use strict'

// Two apps on one store server (issue 17, point 2): each with its own secret, and its own
// Redis key prefix or PostgreSQL schema or table prefix. Without the namespaces the second
// app could not open the key ring the first sealed and would answer 503
// KEYRING_UNREADABLE to every request; with them both serve, and neither sees the other's
// sessions. The namespaces are new on every run (nothing to clean up between runs but
// what each test drops). Servers from .ci/run; skipped locally without their URLs, a
// failure in CI.

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { describe, it } = require('node:test')

const express = require('express')
const { session, assertCode, assertOk, login, startApp, REFRESH_PATH } = require('./support/apps.js')
const { skipWithout } = require('./support/servers.js')

const OTHER_SECRET = 'the-staging-copy-has-a-secret-of-its-own-0002'

/**
 * App A (the test secret) over `storeA` and app B (another secret) over `storeB`: both
 * serve, a login on each is the other's stranger, and a logout everywhere on A leaves B's
 * user logged in.
 */
async function twoAppsKeepApart (t, storeA, storeB) {
  const a = await startApp(express, { store: storeA })
  t.after(() => a.close())
  const b = await startApp(express, { store: storeB, secret: OTHER_SECRET })
  t.after(() => b.close())
  const ca = a.client()
  const cb = b.client()
  const user = 'shared-user-' + crypto.randomUUID()
  await login(ca, user)
  await login(cb, user)
  assertOk(await ca.get('/me'))
  assertOk(await cb.get('/me'))
  assert.equal((await a.s.listSessions(user)).length, 1, 'A lists its own session only')
  assert.equal((await b.s.listSessions(user)).length, 1, 'B lists its own session only')
  // A's cookies presented to B: not a session there (another key, another store).
  const stranger = b.client()
  stranger.jar = ca.jar
  assert.notEqual((await stranger.get('/me')).status, 200, "B does not accept A's access token")
  assert.equal((await stranger.post(REFRESH_PATH)).status === 200, false, "B does not refresh A's session")
  await a.s.revokeUserSessions(user)
  assert.equal((await a.s.listSessions(user)).length, 0)
  assert.equal((await b.s.listSessions(user)).length, 1, "A's logout everywhere does not reach B")
  b.advance(16 * 60 * 1000)
  assertCode(await cb.get('/me'), 401, 'TRY_REFRESH')
  const r = await cb.post(REFRESH_PATH)
  assert.equal(r.status, 200, r.text)
}

const redisBase = process.env.TANDEM_REDIS_URL && process.env.TANDEM_REDIS_URL.replace(/\/\d*$/, '')
describe('two apps on one Redis database', { skip: skipWithout(redisBase, 'set TANDEM_REDIS_URL (source scripts/ci/redis.sh)') }, function () {
  const url = redisBase + '/7'
  const run = crypto.randomBytes(4).toString('hex')

  it('should keep apart when each has its own prefix', async function (t) {
    const { createClient } = require('redis')
    const client = createClient({ url })
    await client.connect()
    t.after(async () => {
      for (const p of [`shop-${run}:`, `staging-${run}:`]) {
        for (const pattern of [`${p}*`, `{${p}*`]) {
          const keys = await client.keys(pattern)
          if (keys.length > 0) await client.del(keys)
        }
      }
      await client.quit()
    })
    await twoAppsKeepApart(t,
      new session.RedisStore({ url, prefix: `shop-${run}:` }),
      new session.RedisStore({ url, prefix: `staging-${run}:` }))
    const keys = [...await client.keys(`*${run}*`)]
    assert.ok(keys.length > 0)
    const outside = keys.filter((k) => !k.startsWith(`shop-${run}:`) && !k.startsWith(`staging-${run}:`) &&
      !k.startsWith(`{shop-${run}:`) && !k.startsWith(`{staging-${run}:`))
    assert.deepEqual(outside, [], 'every key is under one of the prefixes')
    assert.ok(keys.some((k) => k.startsWith(`{staging-${run}:ring}`)), 'the second app keeps its own key ring')
  })

  it('should refuse a prefix that is not one at setup, with a TypeError naming it', function () {
    for (const prefix of ['', 'a{b}', 'has space', 'x'.repeat(65), 7]) {
      assert.throws(() => new session.RedisStore({ url, prefix }), (e) => e instanceof TypeError && /prefix/.test(e.message), String(prefix))
    }
  })
})

const pgUrl = process.env.TANDEM_PG_URL && process.env.TANDEM_PG_URL.replace(/\/[^/]*$/, '/tandem_http')
describe('two apps on one PostgreSQL database', { skip: skipWithout(pgUrl, 'set TANDEM_PG_URL (bash scripts/ci/postgres.sh)') }, function () {
  const run = crypto.randomBytes(4).toString('hex')

  it('should keep apart when each has its own schema or table prefix', async function (t) {
    const { Client } = require('pg')
    const admin = new Client({ connectionString: pgUrl })
    await admin.connect()
    const schema = `ns_${run}`
    const tablePrefix = `staging_${run}_`
    t.after(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      const { rows } = await admin.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE $1",
        [tablePrefix + '%'])
      for (const r of rows) await admin.query(`DROP TABLE IF EXISTS ${r.table_name} CASCADE`)
      await admin.query(`DROP FUNCTION IF EXISTS ${tablePrefix}anonymous_count_change() CASCADE`)
      await admin.end()
    })
    await twoAppsKeepApart(t,
      new session.PostgresStore({ connectionString: pgUrl, schema }),
      new session.PostgresStore({ connectionString: pgUrl, tablePrefix }))
    const inSchema = await admin.query('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1', [schema])
    assert.deepEqual(inSchema.rows.map((r) => r.table_name),
      ['tandem_anonymous_count', 'tandem_key_ring', 'tandem_revocations', 'tandem_schema_version', 'tandem_sessions'])
    const prefixed = await admin.query('SELECT count(*)::int AS n FROM ' + tablePrefix + 'sessions')
    assert.equal(prefixed.rows[0].n, 1, "the prefixed tables hold the second app's session")
  })

  it('should refuse names that are not plain lower-case names at setup, with a TypeError naming them', function () {
    for (const [name, bad] of [['schema', 'Shop'], ['schema', 'a;drop'], ['schema', 's'.repeat(64)], ['tablePrefix', '1_'], ['tablePrefix', 'p'.repeat(33)], ['tablePrefix', '']]) {
      assert.throws(() => new session.PostgresStore({ connectionString: pgUrl, [name]: bad }),
        (e) => e instanceof TypeError && e.message.startsWith(name + ' option'), `${name}=${bad}`)
    }
  })
})
