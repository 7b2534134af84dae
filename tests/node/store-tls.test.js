'use strict'

// The stores over TLS from an app (issue 17, point 3), against the TLS-only servers of
// scripts/ci/tls.sh (a CA of its own; PostgreSQL refusing plain TCP; Redis and a Redis
// Cluster on TLS ports with an ACL user). A login and a refresh go through each with the
// test CA given as `ca`; with another CA the app answers 503 STORE_UNAVAILABLE, never a
// 500; options that are not PEM or not for TLS are TypeErrors naming `ca`. Skipped locally
// without the variables, a failure in CI.

const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const fs = require('node:fs')
const { describe, it } = require('node:test')

const express = require('express')
const { session, assertCode, assertOk, login, startApp, REFRESH_PATH } = require('./support/apps.js')
const { skipWithout } = require('./support/servers.js')

const { TANDEM_TLS_CA: CA, TANDEM_TLS_OTHER_CA: OTHER_CA } = process.env
const PG = process.env.TANDEM_PG_TLS_URL
const REDIS = process.env.TANDEM_REDIS_TLS_URL
const CLUSTER = process.env.TANDEM_REDIS_TLS_CLUSTER

const skip = (...vars) => skipWithout(vars.map((v) => process.env[v]), `set ${vars.join(', ')} (source scripts/ci/tls.sh)`)

/** A login, a read and a refresh through an app over `store`. */
async function works (t, store) {
  const app = await startApp(express, { store })
  t.after(() => app.close())
  const c = app.client()
  await login(c, 'tls-user-' + crypto.randomUUID())
  assertOk(await c.get('/me'))
  app.advance(16 * 60 * 1000)
  assertCode(await c.get('/me'), 401, 'TRY_REFRESH')
  const r = await c.post(REFRESH_PATH)
  assert.equal(r.status, 200, r.text)
}

/** An app over `store`, whose server it cannot trust: 503 STORE_UNAVAILABLE, not 500. */
async function refused (t, store) {
  const app = await startApp(express, { store })
  t.after(() => app.close())
  const r = await app.client().post('/login', { json: { user: 'nobody' } })
  assertCode(r, 503, 'STORE_UNAVAILABLE')
}

describe('PostgresStore over TLS', { skip: skip('TANDEM_PG_TLS_URL', 'TANDEM_TLS_CA') }, function () {
  const schema = 'tls_http_' + crypto.randomBytes(4).toString('hex')

  it('should work with sslmode=verify-full against the given CA', async function (t) {
    await works(t, new session.PostgresStore({ connectionString: PG + '?sslmode=verify-full', ca: fs.readFileSync(CA), schema }))
  })

  it('should answer 503 when the server is not signed by the given CA', async function (t) {
    await refused(t, new session.PostgresStore({ connectionString: PG + '?sslmode=verify-full', ca: fs.readFileSync(OTHER_CA), schema }))
  })

  it('should refuse a ca that is not PEM at setup', function () {
    for (const ca of ['', 'not a certificate', 42, {}]) {
      assert.throws(() => new session.PostgresStore({ connectionString: PG, ca }), (e) => e instanceof TypeError && /^ca option/.test(e.message))
    }
  })
})

describe('RedisStore over TLS', { skip: skip('TANDEM_REDIS_TLS_URL', 'TANDEM_REDIS_TLS_CLUSTER', 'TANDEM_TLS_CA') }, function () {
  const prefix = 'tls-http-' + crypto.randomBytes(4).toString('hex') + ':'

  it('should work with rediss:// and an ACL user against the given CA', async function (t) {
    await works(t, new session.RedisStore({ url: REDIS, ca: fs.readFileSync(CA, 'utf8'), prefix }))
  })

  it('should work on a Redis Cluster over TLS', async function (t) {
    await works(t, new session.RedisStore({ cluster: CLUSTER.split(','), ca: fs.readFileSync(CA), prefix }))
  })

  it('should answer 503 when the server is not signed by the given CA', async function (t) {
    await refused(t, new session.RedisStore({ url: REDIS, ca: fs.readFileSync(OTHER_CA), prefix }))
  })

  it('should refuse a ca for redis:// URLs, and one that is not PEM, at setup', function () {
    const pem = fs.readFileSync(CA)
    assert.throws(() => new session.RedisStore({ url: REDIS.replace('rediss://', 'redis://'), ca: pem }), /^TypeError: ca option is for TLS/)
    assert.throws(() => new session.RedisStore({ url: REDIS, ca: Buffer.from('junk') }), /^TypeError: ca option must be PEM/)
  })
})
