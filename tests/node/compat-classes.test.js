'use strict'

// express-session's public classes as tandem-session ships them (js/compat): Cookie
// (req.session.cookie), Store (the base class store packages extend) and the session a
// store's load() gives. Written from express-session's documented behaviour; where the
// exact shape matters (enumerable keys, stored JSON, Set-Cookie text) the real
// express-session Cookie (a devDependency) is the reference. Store packages: local
// factories in the connect-sqlite3 / connect-mongo / memorystore styles, connect-redis 9
// (a devDependency, loaded with `express-session` resolved to our classes), and
// memorystore itself when TANDEM_COMPAT_STORE_DIR names a directory where it is installed.

const assert = require('node:assert/strict')
const { EventEmitter } = require('node:events')
const path = require('node:path')
const util = require('node:util')
const { describe, it } = require('node:test')

const { Cookie, Store, StoreSession, setSessionConstructor, responseAttributes } = require('../../js/compat/index.js')
const ExpressCookie = require('express-session/session/cookie')

const MINUTE = 60000

/** Every name `for…in` lists, own and inherited, in order. */
function forInKeys (object) {
  const keys = []
  for (const key in object) keys.push(key)
  return keys
}

/** Assert `actual` is within a second of `expected` (clocks move between two reads). */
function near (actual, expected) {
  assert.equal(typeof actual, 'number')
  assert.ok(Math.abs(actual - expected) <= 1000, `${actual} is not within 1 s of ${expected}`)
}

/** A minimal in-memory store in the style of express-session's docs: JSON in a Map. */
function jsonMapMethods (Ctor) {
  Ctor.prototype.get = function (sid, cb) {
    const text = this.sessions.get(sid)
    setImmediate(cb, null, text === undefined ? undefined : JSON.parse(text))
  }
  Ctor.prototype.set = function (sid, sess, cb) {
    this.sessions.set(sid, JSON.stringify(sess))
    setImmediate(cb, null)
  }
  Ctor.prototype.destroy = function (sid, cb) {
    this.sessions.delete(sid)
    setImmediate(cb, null)
  }
}

describe('Cookie', function () {
  describe('when created without options', function () {
    it('should be a browser-session cookie on path "/" with HttpOnly', function () {
      const cookie = new Cookie()
      assert.equal(typeof cookie, 'object')
      assert.equal(cookie.path, '/')
      assert.equal(cookie.httpOnly, true)
      assert.equal(cookie.expires, null)
      assert.equal(cookie.maxAge, null)
      assert.equal(cookie.originalMaxAge, null)
    })

    it('should treat a falsy argument as no options', function () {
      for (const none of [undefined, null, 0, '', false]) assert.equal(new Cookie(none).path, '/')
    })
  })

  describe('when given options', function () {
    it('should refuse options that are not an object, naming the argument', function () {
      for (const bad of [42, 'foo', true, () => {}]) {
        assert.throws(() => new Cookie(bad), (e) => e instanceof TypeError && /argument options/.test(e.message))
      }
    })

    it('should copy every option, the special values included', function () {
      const cookie = new Cookie({
        path: '/app', domain: 'example.com', httpOnly: false, secure: 'auto', sameSite: 'auto',
        partitioned: true, priority: 'high', signed: true
      })
      assert.equal(cookie.path, '/app')
      assert.equal(cookie.domain, 'example.com')
      assert.equal(cookie.httpOnly, false)
      assert.equal(cookie.secure, 'auto')
      assert.equal(cookie.sameSite, 'auto')
      assert.equal(cookie.partitioned, true)
      assert.equal(cookie.priority, 'high')
      assert.equal(cookie.signed, true)
    })

    it('should ignore a "data" option and never take a prototype from "__proto__"', function () {
      const cookie = new Cookie({ data: { foo: 'bar' }, path: '/foo' })
      assert.equal(cookie.data.path, '/foo')
      assert.equal(cookie.data.foo, undefined)
      const hostile = new Cookie(JSON.parse('{"__proto__": {"polluted": true}, "path": "/x"}'))
      assert.equal(Object.getPrototypeOf(hostile), Cookie.prototype)
      assert.equal(hostile.polluted, undefined)
    })

    it('should turn maxAge into an absolute expires and read it back as time left', function () {
      const cookie = new Cookie({ maxAge: MINUTE })
      assert.ok(cookie.expires instanceof Date)
      near(cookie.expires.getTime() - Date.now(), MINUTE)
      near(cookie.maxAge, MINUTE)
      assert.equal(cookie.originalMaxAge, MINUTE)
    })

    it('should make originalMaxAge exactly the maxAge given, however the clock ticks meanwhile', function () {
      // Reading the clock twice (as express-session does) gives MINUTE - 1 whenever a
      // millisecond boundary falls between the reads: thousands of tries meet one.
      const started = Date.now()
      let tries = 0
      while (Date.now() - started < 50 || tries < 20000) {
        tries++
        const m = new Cookie({ maxAge: MINUTE }).originalMaxAge
        if (m !== MINUTE) assert.fail(`originalMaxAge ${m} after ${tries} tries`)
      }
    })

    it('should take expires as given and derive maxAge from it', function () {
      const expires = new Date(Date.now() + MINUTE)
      const cookie = new Cookie({ expires })
      assert.equal(cookie.expires, expires)
      near(cookie.maxAge, MINUTE)
    })

    it('should let the last of maxAge and expires win, as the options are ordered', function () {
      const expires = new Date(Date.now() + 5 * MINUTE)
      near(new Cookie({ expires, maxAge: MINUTE }).maxAge, MINUTE)
      near(new Cookie({ maxAge: MINUTE, expires }).maxAge, 5 * MINUTE)
    })

    it('should accept a Date as maxAge (deprecated) and use it as expires', function () {
      const date = new Date(Date.now() + MINUTE)
      const cookie = new Cookie({ maxAge: date })
      assert.equal(cookie.expires.getTime(), date.getTime())
      near(cookie.maxAge, MINUTE)
    })

    it('should refuse a maxAge that is neither a number nor a Date, naming maxAge', function () {
      for (const bad of ['42', true, () => {}, {}]) {
        assert.throws(() => new Cookie({ maxAge: bad }), (e) => e instanceof TypeError && /maxAge/.test(e.message))
      }
    })

    it('should keep an originalMaxAge it is given (a cookie read back from a store)', function () {
      assert.equal(new Cookie({ originalMaxAge: 1234 }).originalMaxAge, 1234)
    })
  })

  describe('when maxAge or expires is changed', function () {
    it('should move expires and originalMaxAge when maxAge is set', function () {
      const cookie = new Cookie({ maxAge: MINUTE })
      cookie.maxAge = 10 * MINUTE
      near(cookie.expires.getTime() - Date.now(), 10 * MINUTE)
      assert.equal(cookie.originalMaxAge, 10 * MINUTE)
    })

    it('should become a browser-session cookie when expires is set to null or false', function () {
      for (const none of [null, false]) {
        const cookie = new Cookie({ maxAge: MINUTE })
        cookie.expires = none
        assert.equal(cookie.expires, none)
        assert.equal(cookie.maxAge, none)
        assert.equal(cookie.originalMaxAge, none)
        assert.ok(!cookie.serialize('sid', 'v').includes('Expires'))
      }
    })

    it('should count maxAge down as time passes and below zero once past', function () {
      const cookie = new Cookie()
      cookie.expires = new Date(Date.now() - 1000)
      assert.ok(cookie.maxAge < 0)
    })

    it('should accept maxAge 0 (expires now) and null (browser session)', function () {
      const cookie = new Cookie({ maxAge: MINUTE })
      cookie.maxAge = 0
      near(cookie.expires.getTime(), Date.now())
      cookie.maxAge = null
      assert.equal(cookie.expires, null)
    })
  })

  describe('when enumerated or stored', function () {
    it('should list the same names as express-session\'s Cookie, own and inherited', function () {
      const optionSets = [undefined, { maxAge: MINUTE, secure: 'auto', sameSite: 'auto', signed: true },
        { expires: new Date(Date.now() + MINUTE), domain: 'example.com', priority: 'low', partitioned: true }]
      for (const options of optionSets) {
        const ours = new Cookie(options)
        const theirs = new ExpressCookie(options)
        assert.deepEqual(Object.keys(ours), Object.keys(theirs))
        assert.deepEqual(forInKeys(ours), forInKeys(theirs))
      }
      assert.deepEqual(Object.keys(new Cookie()), ['path', '_expires', 'originalMaxAge', 'httpOnly'])
    })

    it('should store its data object, as express-session stores it', function () {
      const options = { maxAge: MINUTE, domain: 'example.com', secure: true, sameSite: 'lax', priority: 'medium' }
      const ours = new Cookie(options)
      assert.deepEqual(Object.keys(ours.data), ['originalMaxAge', 'partitioned', 'priority', 'expires',
        'secure', 'httpOnly', 'domain', 'path', 'sameSite'])
      assert.deepEqual(ours.toJSON(), ours.data)
      const stored = JSON.parse(JSON.stringify(ours))
      assert.equal(stored.expires, ours.expires.toISOString())
      assert.equal(stored.path, '/')
      assert.equal(stored.maxAge, undefined)
      const theirs = JSON.parse(JSON.stringify(new ExpressCookie(options)))
      assert.deepEqual(Object.keys(stored), Object.keys(theirs))
    })

    it('should give a fresh data object each time (changing it changes nothing)', function () {
      const cookie = new Cookie()
      cookie.data.path = '/elsewhere'
      assert.equal(cookie.path, '/')
    })
  })

  describe('.serialize(name, value)', function () {
    it('should write the same Set-Cookie text as express-session', function () {
      const expires = new Date(Date.now() + MINUTE)
      const optionSets = [
        {},
        { expires, domain: 'example.com', path: '/app', secure: true, sameSite: true, partitioned: true, priority: 'HIGH' },
        { maxAge: MINUTE, sameSite: 'None', secure: true, priority: 'low', httpOnly: false },
        { sameSite: 'strict' }, { sameSite: 'lax' }, { sameSite: false }
      ]
      for (const options of optionSets) {
        for (const value of ['s:abc.def', 'a b;c=d', '😀']) {
          assert.equal(new Cookie(options).serialize('connect.sid', value),
            new ExpressCookie(options).serialize('connect.sid', value))
        }
      }
    })

    it('should write Expires, never Max-Age, and HttpOnly by default', function () {
      const line = new Cookie({ maxAge: MINUTE }).serialize('sid', 'v')
      assert.match(line, /^sid=v; Path=\/; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT; HttpOnly$/)
    })

    it('should throw express-session\'s TypeErrors for what a header cannot carry', function () {
      const cases = [
        [{}, 'bad name', 'argument name is invalid'],
        [{ expires: new Date(NaN) }, 'sid', 'option expires is invalid'],
        [{ domain: 'exa mple.com' }, 'sid', 'option domain is invalid'],
        [{ path: '/a;b' }, 'sid', 'option path is invalid'],
        [{ priority: 'urgent' }, 'sid', 'option priority is invalid'],
        [{ sameSite: 'auto' }, 'sid', 'option sameSite is invalid'] // 'auto' is resolved by the middleware
      ]
      for (const [options, name, message] of cases) {
        assert.throws(() => new Cookie(options).serialize(name, 'v'), (e) => e instanceof TypeError && e.message === message, message)
        assert.throws(() => new ExpressCookie(options).serialize(name, 'v'), { message }, 'express-session agrees: ' + message)
      }
    })
  })

  describe('responseAttributes(cookie, requestSecure) (for the middleware)', function () {
    it('should resolve secure and sameSite "auto" from the request, as express-session does', function () {
      const cookie = new Cookie({ secure: 'auto', sameSite: 'auto' })
      assert.equal(responseAttributes(cookie, true).secure, true)
      assert.equal(responseAttributes(cookie, true).sameSite, 'none')
      assert.equal(responseAttributes(cookie, false).secure, false)
      assert.equal(responseAttributes(cookie, false).sameSite, 'lax')
    })

    it('should spell sameSite and priority in lower case, true as "strict", false as no attribute', function () {
      assert.equal(responseAttributes(new Cookie({ sameSite: true }), false).sameSite, 'strict')
      assert.equal(responseAttributes(new Cookie({ sameSite: 'Lax' }), false).sameSite, 'lax')
      assert.equal(responseAttributes(new Cookie({ sameSite: false }), false).sameSite, undefined)
      assert.equal(responseAttributes(new Cookie({ priority: 'HIGH' }), false).priority, 'high')
      assert.equal(responseAttributes(new Cookie(), false).priority, undefined)
    })

    it('should give the milliseconds left now, 0 once past, null for a browser-session cookie', function () {
      near(responseAttributes(new Cookie({ maxAge: MINUTE }), false).maxAge, MINUTE)
      const past = new Cookie()
      past.expires = new Date(Date.now() - MINUTE)
      assert.equal(responseAttributes(past, false).maxAge, 0)
      assert.equal(responseAttributes(new Cookie(), false).maxAge, null)
      const closed = new Cookie({ maxAge: MINUTE })
      closed.expires = false
      assert.equal(responseAttributes(closed, false).maxAge, null)
    })

    it('should be a plain object of the transport\'s fields', function () {
      const attrs = responseAttributes(new Cookie({ path: '/app', domain: 'example.com', partitioned: true }), false)
      assert.deepEqual(attrs, {
        path: '/app', domain: 'example.com', httpOnly: true, secure: false, sameSite: undefined,
        priority: undefined, partitioned: true, maxAge: null
      })
    })

    it('should throw serialize\'s TypeErrors for invalid values', function () {
      assert.throws(() => responseAttributes(new Cookie({ expires: new Date(NaN) }), false), { message: 'option expires is invalid' })
      assert.throws(() => responseAttributes(new Cookie({ sameSite: 'sometimes' }), false), { message: 'option sameSite is invalid' })
      assert.throws(() => responseAttributes(new Cookie({ priority: 3 }), false), { message: 'option priority is invalid' })
      assert.throws(() => responseAttributes(new Cookie({ domain: 'a b' }), false), { message: 'option domain is invalid' })
      assert.throws(() => responseAttributes(new Cookie({ path: '/\n' }), false), { message: 'option path is invalid' })
    })
  })
})

describe('Store', function () {
  describe('when subclassed in each style store packages use', function () {
    function InheritsStore (options) {
      Store.call(this, options)
      this.sessions = new Map()
    }
    util.inherits(InheritsStore, Store)
    jsonMapMethods(InheritsStore)

    // connect-sqlite3 / connect-mysql: Store.call(this) and a prototype made by hand.
    function ObjectCreateStore (options) {
      Store.call(this, options)
      this.sessions = new Map()
    }
    ObjectCreateStore.prototype = Object.create(Store.prototype)
    jsonMapMethods(ObjectCreateStore)

    class ExtendsStore extends Store {
      constructor (options) {
        super(options)
        this.sessions = new Map()
      }
    }
    jsonMapMethods(ExtendsStore)

    for (const Ctor of [InheritsStore, ObjectCreateStore, ExtendsStore]) {
      it(`should construct an EventEmitter and a Store (${Ctor.name})`, function () {
        const store = new Ctor({})
        assert.ok(store instanceof Store)
        assert.ok(store instanceof EventEmitter)
        let heard = 0
        store.on('connect', () => { heard++ })
        store.emit('connect')
        assert.equal(heard, 1)
        for (const method of ['regenerate', 'load', 'createSession']) assert.equal(typeof store[method], 'function')
      })
    }

    it('should be a function constructor with express-session\'s statics and enumerable methods', function () {
      assert.equal(typeof Store, 'function')
      assert.equal(Store.super_, EventEmitter)
      assert.ok(new Store() instanceof EventEmitter)
      assert.deepEqual(Object.keys(Store.prototype), ['regenerate', 'load', 'createSession'])
      assert.throws(() => Store(), TypeError)
    })
  })

  describe('when a store package\'s factory is given the session module', function () {
    const sessionModule = Object.assign(function session () {}, { Store, Cookie })

    it('should load a factory in the connect-mongo style (connect.Store || connect.session.Store)', function () {
      const factory = (connect) => {
        const Base = connect.Store || connect.session.Store
        return class MongoLikeStore extends Base {}
      }
      const MongoLike = factory(sessionModule)
      assert.ok(new MongoLike() instanceof Store)
      const ViaSession = factory({ session: sessionModule })
      assert.ok(new ViaSession() instanceof Store)
    })

    it('should load connect-redis 9 (class RedisStore extends require("express-session").Store)', function () {
      const { RedisStore } = requireWithExpressSessionAs(require.resolve('connect-redis'), sessionModule)
      const values = new Map()
      const client = {
        async get (key) { return values.get(key) ?? null },
        async set (key, value) { values.set(key, value) },
        async del (key) { values.delete(key) },
        async expire () {}
      }
      const store = new RedisStore({ client })
      assert.ok(store instanceof Store)
      const cookie = new Cookie({ maxAge: MINUTE })
      return new Promise((resolve, reject) => {
        store.set('sid1', { cookie, n: 1 }, (err) => {
          if (err) return reject(err)
          store.load('sid1', (err, sess) => {
            if (err) return reject(err)
            try {
              assert.equal(sess.n, 1)
              assert.ok(sess.cookie instanceof Cookie)
              near(sess.cookie.maxAge, MINUTE)
              resolve()
            } catch (e) { reject(e) }
          })
        })
      })
    })

    const storeDir = process.env.TANDEM_COMPAT_STORE_DIR
    it('should load memorystore (class MemoryStore extends session.Store) and round-trip a session', { skip: storeDir ? false : 'set TANDEM_COMPAT_STORE_DIR to a directory where memorystore is installed' }, function (t, done) {
      const memorystore = require(require.resolve('memorystore', { paths: [storeDir ?? '.'] }))
      const MemoryStore = memorystore(sessionModule)
      const store = new MemoryStore({ checkPeriod: 0 })
      assert.ok(store instanceof Store)
      store.set('sid1', { cookie: new Cookie({ maxAge: MINUTE }), n: 2 }, (err) => {
        if (err) return done(err)
        store.load('sid1', (err, sess) => {
          if (err) return done(err)
          assert.equal(sess.n, 2)
          near(sess.cookie.originalMaxAge, MINUTE)
          store.stopInterval?.()
          done()
        })
      })
    })
  })

  describe('.regenerate(req, fn)', function () {
    it('should destroy req.sessionID, then call generate(req), then fn with destroy\'s error', function (t, done) {
      const calls = []
      const failure = new Error('destroy failed')
      class Recording extends Store {
        destroy (sid, cb) { calls.push('destroy ' + sid); setImmediate(cb, failure) }
        generate (req) { calls.push('generate'); req.session = { fresh: true } }
      }
      const req = { sessionID: 'old' }
      new Recording().regenerate(req, (err) => {
        assert.equal(err, failure)
        assert.deepEqual(calls, ['destroy old', 'generate'])
        assert.deepEqual(req.session, { fresh: true })
        done()
      })
    })

    it('should refuse at once, destroying nothing, when no middleware installed generate', function () {
      let destroyed = false
      class NoGenerate extends Store { destroy (sid, cb) { destroyed = true; cb() } }
      assert.throws(() => new NoGenerate().regenerate({ sessionID: 'x' }, () => {}), /generate/)
      assert.equal(destroyed, false)
    })
  })

  describe('.load(sid, fn)', function () {
    class Fixed extends Store {
      constructor (result) { super(); this.result = result; this.asked = [] }
      get (sid, cb) { this.asked.push(sid); setImmediate(() => cb(...this.result)) }
    }

    it('should get the sid, then give back a session made by createSession', function (t, done) {
      const stored = { cookie: { originalMaxAge: MINUTE, expires: new Date(Date.now() + MINUTE).toISOString(), path: '/', httpOnly: true }, n: 3 }
      const store = new Fixed([null, stored])
      const made = []
      store.createSession = function (req, sess) { made.push(req); return Store.prototype.createSession.call(this, req, sess) }
      store.load('abc', (err, sess) => {
        assert.equal(err, null)
        assert.deepEqual(store.asked, ['abc'])
        assert.equal(made.length, 1)
        assert.equal(made[0].sessionID, 'abc')
        assert.equal(made[0].sessionStore, store)
        assert.equal(sess.id, 'abc')
        assert.equal(sess.n, 3)
        done()
      })
    })

    it('should call fn() with nothing when the store has no such session', function (t, done) {
      new Fixed([null, null]).load('gone', function (...args) {
        assert.deepEqual(args, [])
        done()
      })
    })

    it('should pass the store\'s error to fn', function (t, done) {
      const failure = new Error('store down')
      new Fixed([failure]).load('abc', (err, sess) => {
        assert.equal(err, failure)
        assert.equal(sess, undefined)
        done()
      })
    })

    it('should pass an exception from createSession to fn instead of throwing in the store\'s callback', function (t, done) {
      const store = new Fixed([null, { cookie: { maxAge: 'soon' } }])
      store.load('abc', (err) => {
        assert.ok(err instanceof TypeError)
        assert.match(err.message, /maxAge/)
        done()
      })
    })
  })

  describe('.createSession(req, sess)', function () {
    it('should make the stored cookie a Cookie with expires a Date and originalMaxAge kept', function () {
      const expires = new Date(Date.now() + 30000)
      const req = { sessionID: 'abc', sessionStore: new Store() }
      const stored = JSON.parse(JSON.stringify({ cookie: new Cookie({ maxAge: MINUTE, sameSite: 'lax' }), n: 1 }))
      stored.cookie.expires = expires.toISOString() // half the minute has gone by
      const sess = req.sessionStore.createSession(req, stored)
      assert.equal(req.session, sess)
      assert.ok(sess.cookie instanceof Cookie)
      assert.ok(sess.cookie.expires instanceof Date)
      assert.equal(sess.cookie.expires.getTime(), expires.getTime())
      assert.equal(sess.cookie.originalMaxAge, MINUTE)
      near(sess.cookie.maxAge, 30000)
      assert.equal(sess.cookie.sameSite, 'lax')
    })

    it('should keep a browser-session cookie one', function () {
      const req = { sessionID: 'abc', sessionStore: new Store() }
      const sess = req.sessionStore.createSession(req, JSON.parse(JSON.stringify({ cookie: new Cookie() })))
      assert.equal(sess.cookie.expires, null)
      assert.equal(sess.cookie.originalMaxAge, null)
    })

    it('should give data without a cookie a default Cookie', function () {
      const req = { sessionID: 'abc', sessionStore: new Store() }
      const sess = req.sessionStore.createSession(req, { n: 1 })
      assert.ok(sess.cookie instanceof Cookie)
      assert.equal(sess.cookie.path, '/')
    })

    it('should build the session with the constructor registered by setSessionConstructor', function () {
      const seen = []
      function AppSession (req, data) { seen.push([req, data]); Object.assign(this, data) }
      const previous = setSessionConstructor(AppSession)
      try {
        assert.equal(previous, StoreSession)
        const req = { sessionID: 'abc', sessionStore: new Store() }
        const sess = req.sessionStore.createSession(req, { cookie: {}, n: 1 })
        assert.ok(sess instanceof AppSession)
        assert.equal(seen[0][0], req)
        assert.ok(seen[0][1].cookie instanceof Cookie)
      } finally {
        assert.equal(setSessionConstructor(previous), AppSession)
      }
      assert.throws(() => setSessionConstructor({}), TypeError)
    })
  })
})

describe('the session a store gives back (StoreSession)', function () {
  class JsonStore extends Store {
    constructor () { super(); this.sessions = new Map() }
  }
  jsonMapMethods(JsonStore)
  JsonStore.prototype.regenerate = function (req, fn) { this.regenerated = req; fn() }

  function loaded (store, sid, data) {
    store.sessions.set(sid, JSON.stringify(data))
    return new Promise((resolve, reject) => store.load(sid, (err, sess) => (err ? reject(err) : resolve(sess))))
  }

  it('should show only the data (and cookie) as enumerable keys', async function () {
    const store = new JsonStore()
    const sess = await loaded(store, 's1', { cookie: new Cookie(), a: 1, b: 'two' })
    assert.deepEqual(Object.keys(sess), ['cookie', 'a', 'b'])
    assert.equal(sess.id, 's1')
    assert.equal(sess.req.sessionStore, store)
    assert.throws(() => { sess.id = 'other' }, TypeError)
    assert.deepEqual(JSON.parse(JSON.stringify(sess)), { cookie: JSON.parse(JSON.stringify(new Cookie())), a: 1, b: 'two' })
  })

  it('should not let stored keys shadow its methods or id', async function () {
    const sess = await loaded(new JsonStore(), 's1', { cookie: {}, save: 'x', id: 'forged', n: 1 })
    assert.equal(typeof sess.save, 'function')
    assert.equal(sess.id, 's1')
    assert.equal(sess.n, 1)
  })

  it('should save to the store, reload from it, and destroy in it', async function () {
    const store = new JsonStore()
    const sess = await loaded(store, 's1', { cookie: new Cookie(), n: 1 })
    sess.n = 2
    await new Promise((resolve, reject) => assert.equal(sess.save((err) => (err ? reject(err) : resolve())), sess))
    assert.equal(JSON.parse(store.sessions.get('s1')).n, 2)

    store.sessions.set('s1', JSON.stringify({ cookie: new Cookie(), n: 5 }))
    await new Promise((resolve, reject) => sess.reload((err) => (err ? reject(err) : resolve())))
    assert.equal(sess.req.session.n, 5)
    assert.notEqual(sess.req.session, sess)

    const req = sess.req
    await new Promise((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())))
    assert.equal(req.session, undefined)
    assert.equal(store.sessions.has('s1'), false)
  })

  it('should report a session gone from the store on reload', async function () {
    const store = new JsonStore()
    const sess = await loaded(store, 's1', { cookie: {} })
    store.sessions.delete('s1')
    const err = await new Promise((resolve) => sess.reload(resolve))
    assert.equal(err.message, 'failed to load session')
  })

  it('should reset the cookie\'s lifetime on touch and regenerate through the store', async function () {
    const store = new JsonStore()
    const stored = JSON.parse(JSON.stringify({ cookie: new Cookie({ maxAge: MINUTE }) }))
    stored.cookie.expires = new Date(Date.now() + 1000).toISOString()
    const sess = await loaded(store, 's1', stored)
    near(sess.cookie.maxAge, 1000)
    assert.equal(sess.touch(), sess)
    near(sess.cookie.maxAge, MINUTE)
    sess.regenerate(() => {})
    assert.equal(store.regenerated, sess.req)
  })
})

/**
 * Load the module at `file` afresh with `require('express-session')` inside it resolved to
 * `replacement`, as an app that aliases express-session to tandem-session would see it.
 */
function requireWithExpressSessionAs (file, replacement) {
  const target = require.resolve('express-session', { paths: [path.dirname(file)] })
  const saved = { target: require.cache[target], file: require.cache[file] }
  const Module = require('node:module')
  const fake = new Module(target)
  fake.filename = target
  fake.loaded = true
  fake.exports = replacement
  require.cache[target] = fake
  delete require.cache[file]
  try {
    return require(file)
  } finally {
    if (saved.target) require.cache[target] = saved.target
    else delete require.cache[target]
    if (saved.file) require.cache[file] = saved.file
    else delete require.cache[file]
  }
}
