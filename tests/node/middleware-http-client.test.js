'use strict'

// The test client's cookie jar, checked on its own: the middleware tests rely on it to
// prove where a cookie is sent, so it must path-match and delete as a browser does.

const assert = require('node:assert/strict')
const { describe, it } = require('node:test')

const { CookieJar, cookieNames, defaultPath, pathMatches, parseSetCookie } = require('./support/http-client.js')

const BASE = 'http://127.0.0.1:9'

describe('test client cookie jar', function () {
  it('should path-match as RFC 6265 §5.1.4 says', function () {
    assert.equal(pathMatches('/session/refresh', '/session/refresh'), true)
    assert.equal(pathMatches('/session/refresh/x', '/session/refresh'), true)
    assert.equal(pathMatches('/session/refreshx', '/session/refresh'), false)
    assert.equal(pathMatches('/session', '/session/refresh'), false)
    assert.equal(pathMatches('/me', '/session/refresh'), false)
    assert.equal(pathMatches('/anything', '/'), true)
    assert.equal(pathMatches('/a/b', '/a/'), true)
    assert.equal(defaultPath('/a/b/c'), '/a/b')
    assert.equal(defaultPath('/login'), '/')
  })

  it('should send a cookie only to the paths its Path matches', function () {
    const jar = new CookieJar()
    jar.receive(['connect.sid=a; Path=/; HttpOnly; SameSite=Lax', 'connect.sid.refresh=r; Path=/session/refresh; HttpOnly'], BASE + '/login', false)
    assert.equal(jar.header(BASE + '/me', false), 'connect.sid=a')
    assert.equal(jar.header(BASE + '/session/refreshx', false), 'connect.sid=a')
    assert.equal(jar.header(BASE + '/session/refresh?to=/x', false), 'connect.sid.refresh=r; connect.sid=a')
    assert.deepEqual(cookieNames(jar.header(BASE + '/session/refresh', false)), ['connect.sid.refresh', 'connect.sid'])
  })

  it('should parse the attributes and delete on Max-Age=0, a past Expires or an empty value, on the same Path only', function () {
    const now = Date.UTC(2026, 0, 1)
    const c = parseSetCookie('x=1; Path=/p; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Strict', BASE + '/', now)
    assert.deepEqual([c.name, c.value, c.path, c.expires, c.secure, c.httpOnly, c.sameSite], ['x', '1', '/p', now + 60000, true, true, 'Strict'])
    const jar = new CookieJar(() => now)
    jar.receive(['a=1; Path=/', 'b=2; Path=/b', 'c=3; Path=/', 'd=4; Path=/'], BASE + '/', false)
    jar.receive(['a=; Path=/', 'b=x; Path=/; Max-Age=0', 'c=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT'], BASE + '/', false)
    assert.deepEqual(jar.names(), ['b', 'd'], 'b was set on /b: a deletion on / does not touch it')
    jar.receive(['b=x; Path=/b; Max-Age=0'], BASE + '/', false)
    assert.deepEqual(jar.names(), ['d'])
  })

  it('should expire cookies by its clock, and copy the jar on clone', function () {
    let now = 1000
    const jar = new CookieJar(() => now)
    jar.receive(['a=1; Path=/; Max-Age=10'], BASE + '/', false)
    const copy = jar.clone()
    jar.receive(['z=1; Path=/'], BASE + '/', false)
    assert.deepEqual(copy.names(), ['a'])
    now += 10000
    assert.deepEqual(jar.names(), ['z'])
    assert.deepEqual(copy.names(), [])
  })

  it('should refuse what a browser refuses: Secure from http, bad __Host- and __Secure- cookies', function () {
    const jar = new CookieJar()
    jar.receive(['s=1; Path=/; Secure', '__Secure-a=1; Path=/', '__Host-b=1; Path=/x; Secure', '__Host-c=1; Secure'], BASE + '/', true)
    assert.deepEqual(jar.names(), ['s'])
    assert.equal(jar.refused.length, 3)
    jar.receive(['t=1; Path=/; Secure'], BASE + '/', false)
    assert.deepEqual(jar.names(), ['s'])
    assert.equal(jar.header(BASE + '/', false), null, 'Secure cookies go to secure origins only')
    assert.equal(jar.header(BASE + '/', true), 's=1')
  })
})
