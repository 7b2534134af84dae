'use strict'

// store.close() (issue 17, point 5): after the session middleware is closed, closing a
// PostgresStore ends every connection it opened (the pool's and the push listener's, found
// by their application_name), and closing a RedisStore ends its pub/sub subscription; the
// middleware closes the default store it made itself. Servers from .ci/run; skipped
// locally without their URLs, a failure in CI.

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { describe, it } = require('node:test')

const express = require('express')
const { session, login, startApp } = require('./support/apps.js')
const { skipWithout } = require('./support/servers.js')

/** Poll `count()` until it is 0, at most `ms`; the last count. */
async function untilZero (count, ms) {
  const end = Date.now() + ms
  let n = await count()
  while (n !== 0 && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    n = await count()
  }
  return n
}

const pgUrl = process.env.TANDEM_PG_URL && process.env.TANDEM_PG_URL.replace(/\/[^/]*$/, '/tandem_http')
describe('PostgresStore#close', { skip: skipWithout(pgUrl, 'set TANDEM_PG_URL (.ci/run starts the servers)') }, function () {
  it('should end the pool and the listener, so that no connection of the store is left', async function (t) {
    const { Client } = require('pg')
    const admin = new Client({ connectionString: pgUrl })
    await admin.connect()
    const name = 'close_' + crypto.randomBytes(4).toString('hex')
    const schema = name
    t.after(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)
      await admin.end()
    })
    const store = new session.PostgresStore({ connectionString: `${pgUrl}?application_name=${name}`, schema })
    const app = await startApp(express, { store })
    await login(app.client(), 'closing-user')
    const count = async () => (await admin.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE $1', [name + '%'])).rows[0].n
    // The pool's connections and the listener (`<name> listener`) are up.
    assert.ok(await count() >= 2, 'the store has a pooled connection and a listener')
    await app.close()
    await store.close()
    assert.equal(await untilZero(count, 2000), 0, 'no connection of the closed store is left')
  })
})

const redisBase = process.env.TANDEM_REDIS_URL && process.env.TANDEM_REDIS_URL.replace(/\/\d*$/, '')
describe('RedisStore#close', { skip: skipWithout(redisBase, 'set TANDEM_REDIS_URL (.ci/run starts the servers)') }, function () {
  it('should end the pub/sub subscription', async function (t) {
    const { createClient } = require('redis')
    const url = redisBase + '/7'
    const admin = createClient({ url })
    await admin.connect()
    t.after(() => admin.quit())
    const prefix = 'close-' + crypto.randomBytes(4).toString('hex') + ':'
    const store = new session.RedisStore({ url, prefix })
    const app = await startApp(express, { store })
    await login(app.client(), 'closing-user')
    const count = async () => Number((await admin.sendCommand(['PUBSUB', 'NUMSUB', prefix + 'events']))[1])
    assert.equal(await count(), 1, 'the store subscribed once')
    await app.close()
    await store.close()
    assert.equal(await untilZero(count, 2000), 0, 'the closed store is no longer subscribed')
    const keys = await admin.keys(`*${prefix}*`)
    if (keys.length > 0) await admin.del(keys)
  })
})
