'use strict'

/**
 * The options of `session(options)`, checked once at setup: every bad value is a
 * TypeError naming the option, so a typo fails at boot rather than on the first request.
 * Names follow express-session where the meaning carries over; lifetimes are in
 * milliseconds like its `cookie.maxAge`. Does not open the store (the engine does).
 *
 * The names: the Express-level options listed here, and the engine's own list
 * (`ENGINE_OPTIONS` of `js/engine.js`), whose values go to `Engine.start` as given. This
 * file checks the Express-level values; the engine's values are checked by the Rust core
 * (`Engine.optionsProblem`), here at setup, so a bad lifetime fails at boot too.
 * @private
 */

const { SqliteStore } = require('../stores.js')
const { isExpressSessionStore, openable } = require('../compat/bridge.js')
const { passportUser } = require('./legacy.js')
const { Engine, ENGINE_OPTIONS, MIN_SECRET_LENGTH } = require('../engine.js')
const { MAX_COOKIE_MS, NAME_PREFIX } = require('./transport.js')
const { normalizeOrigin } = require('./origin.js')

const TRANSFERS = ['cookie', 'header', 'auto']
const UNSETS = ['keep', 'destroy']
const SAME_SITES = ['lax', 'strict', 'none', 'auto']
const PRIORITIES = ['low', 'medium', 'high']
/** A cookie name: an RFC 6265 token (no separators, no spaces, no controls). */
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** The options the middleware reads itself: the Express-level ones. */
const EXPRESS_OPTIONS = ['store', 'name', 'key', 'cookie', 'proxy', 'rolling', 'saveUninitialized', 'unset',
  'genid', 'resave', 'refreshPath', 'csrf', 'transfer', 'jwksPath', 'legacy']
/** Engine options that are not the app's: the middleware sets them from its own (`name`, `cookie`). */
const SET_BY_MIDDLEWARE = new Set(['accessCookieName', 'secureAccessCookieName', 'accessCookieWithSid', 'maxTokenLength', 'allowShortSecret'])
/** The engine options an app may pass to `session()`; they go to `Engine.start` as given. */
const PASSED_TO_ENGINE = ENGINE_OPTIONS.filter((k) => !SET_BY_MIDDLEWARE.has(k))
const KNOWN = new Set([...EXPRESS_OPTIONS, ...PASSED_TO_ENGINE])

function fail (option, must) {
  return new TypeError(`${option} option ${must}`)
}

function bool (value, option, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw fail(option, 'must be a boolean')
  return value
}

function path (value, option, fallback) {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !value.startsWith('/') || /[\s;,?#]/.test(value)) {
    throw fail(option, 'must be a path starting with "/" (no spaces, ";", ",", "?" or "#")')
  }
  return value
}

const FIX_SECRET = 'use 32 random bytes, e.g. secret: process.env.SESSION_SECRET set to the output of ' +
  `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`
let warnedShortSecret = false

/**
 * The secret as the engine takes it: a list, newest first, and whether the core must
 * accept short ones. A secret under MIN_SECRET_LENGTH bytes (a sample app's 'keyboard cat')
 * is refused with NODE_ENV=production, and elsewhere accepted with a warning, once per
 * process: a short secret can be guessed offline from any token it MACs.
 */
function secrets (value) {
  const given = Array.isArray(value) ? value : [value]
  if (value === undefined) throw fail('secret', `is required (${FIX_SECRET})`)
  if (given.length === 0) throw fail('secret', 'array must not be empty')
  if (!given.every((s) => typeof s === 'string' || Buffer.isBuffer(s))) {
    throw fail('secret', 'must be a string or a Buffer, or an array of them')
  }
  const short = given.some((s) => Buffer.byteLength(s) < MIN_SECRET_LENGTH)
  // A Buffer's bytes, as text the engine takes (base64url keeps every bit of them).
  const list = given.map((s) => typeof s === 'string' ? s : 'buffer:' + s.toString('base64url'))
  if (short && process.env.NODE_ENV === 'production') {
    throw fail('secret', `must be at least ${MIN_SECRET_LENGTH} bytes with NODE_ENV=production: ${FIX_SECRET}`)
  }
  if (short && !warnedShortSecret) {
    warnedShortSecret = true
    process.emitWarning(`tandem-session: a secret is shorter than ${MIN_SECRET_LENGTH} bytes, so anyone ` +
      'holding one of its tokens can guess it offline. Allowed only because NODE_ENV is not ' +
      `"production" (there it is refused at startup). Fix: ${FIX_SECRET}`, { code: 'TANDEM_SHORT_SECRET' })
  }
  return { list, short }
}

let warnedSaveUninitialized = false

/**
 * `saveUninitialized`, express-session's default (true) when not given, with its
 * deprecation message once per process: the app should say whether a visitor who wrote
 * nothing gets a stored session.
 */
function saveUninitialized (value) {
  if (value !== undefined) return bool(value, 'saveUninitialized', true)
  if (!warnedSaveUninitialized) {
    warnedSaveUninitialized = true
    process.emitWarning('tandem-session: undefined saveUninitialized option; provide saveUninitialized option ' +
      '(true, the default, stores a session for every visitor; false stores one only once it holds data)',
    { type: 'DeprecationWarning', code: 'TANDEM_SAVE_UNINITIALIZED' })
  }
  return true
}

let warnedResave = false

/**
 * What the end of a request that changed nothing asks of an express-session store (the
 * bridge), as express-session does: `resave` true (its default when not given, with its
 * deprecation message once per process) writes the session again, false touches it.
 */
function keepAlive (value) {
  if (value !== undefined) return value ? 'resave' : 'touch'
  if (!warnedResave) {
    warnedResave = true
    process.emitWarning('tandem-session: undefined resave option; provide resave option ' +
      '(true, the default, writes an unchanged session back to the store at every request; false touches it)',
    { type: 'DeprecationWarning', code: 'TANDEM_RESAVE' })
  }
  return 'resave'
}

/** The engine options for a `secret` value: `{secret}`, and `allowShortSecret` when one is short. */
function secretOptions (value) {
  const secret = secrets(value)
  return secret.short ? { secret: secret.list, allowShortSecret: true } : { secret: secret.list }
}

/** Only checks the other engine options when the secret comes later (req.secret). */
const STAND_IN_SECRET = 'x'.repeat(MIN_SECRET_LENGTH)
let warnedSecretFromRequest = false

/** express-session's message for a setup without `secret` (it then takes req.secret), once. */
function warnSecretFromRequest () {
  if (warnedSecretFromRequest) return
  warnedSecretFromRequest = true
  process.emitWarning('tandem-session: req.secret; provide secret option (without it, the secret is the ' +
    `req.secret that cookie-parser sets, read at the first request; ${FIX_SECRET})`,
  { type: 'DeprecationWarning', code: 'TANDEM_REQ_SECRET' })
}

function cookieOptions (value) {
  if (value === undefined) value = {}
  if (value === null || typeof value !== 'object') throw fail('cookie', 'must be an object')
  const c = {
    path: path(value.path, 'cookie.path', '/'),
    domain: value.domain,
    secure: value.secure === undefined ? 'auto' : value.secure,
    sameSite: value.sameSite === undefined ? 'lax' : value.sameSite,
    maxAge: value.maxAge === undefined ? null : value.maxAge,
    priority: value.priority,
    partitioned: bool(value.partitioned, 'cookie.partitioned', false)
  }
  if (value.expires !== undefined) {
    // express-session's fixed date for every cookie (it discourages it too): not taken
    // silently, since every session would end together.
    throw fail('cookie.expires', 'is not supported: give cookie.maxAge (or set req.session.cookie.expires per session)')
  }
  if (value.httpOnly !== undefined && value.httpOnly !== true) {
    throw fail('cookie.httpOnly', 'must be true: tokens are never readable by page scripts')
  }
  if (c.domain !== undefined && (typeof c.domain !== 'string' || !/^[A-Za-z0-9.-]+$/.test(c.domain))) {
    throw fail('cookie.domain', 'must be a host name')
  }
  if (c.secure !== true && c.secure !== false && c.secure !== 'auto') throw fail('cookie.secure', "must be true, false or 'auto'")
  if (c.sameSite === true) c.sameSite = 'strict'
  if (typeof c.sameSite === 'string') c.sameSite = c.sameSite.toLowerCase()
  if (!SAME_SITES.includes(c.sameSite)) throw fail('cookie.sameSite', "must be 'lax', 'strict', 'none' or 'auto'")
  if (c.maxAge !== null && !(Number.isInteger(c.maxAge) && c.maxAge > 0)) {
    throw fail('cookie.maxAge', 'must be null (browser-session cookies) or a positive integer (milliseconds)')
  }
  // Browsers keep a cookie 400 days at most: a longer lifetime ("forever") is that long.
  if (c.maxAge !== null && c.maxAge > MAX_COOKIE_MS) c.maxAge = MAX_COOKIE_MS
  if (c.priority !== undefined && !PRIORITIES.includes(String(c.priority).toLowerCase())) {
    throw fail('cookie.priority', "must be 'low', 'medium' or 'high'")
  }
  if (c.sameSite === 'none' && c.secure === false) throw fail('cookie.sameSite', "'none' needs cookie.secure true or 'auto'")
  return c
}

/**
 * A `name` with a browser-enforced prefix (`__Host-sid`, `__Secure-sid`; transport.js
 * `cookieNames`) must be one the browser will take: written exactly so (a `__host-` in
 * other case is refused by browsers too), a name after the prefix, Secure cookies (not
 * `cookie.secure: false`), and for `__Host-` Path / without Domain.
 */
function prefixedName (name, cookie, perRequest) {
  const prefix = [NAME_PREFIX.HOST, NAME_PREFIX.SECURE].find((p) => name.toLowerCase().startsWith(p.toLowerCase()))
  if (prefix === undefined) return
  if (!name.startsWith(prefix) || name.length === prefix.length) throw fail('name', `must be written ${prefix}<name> (a prefix browsers check, case and all)`)
  if (cookie.secure === false) throw fail('name', `${prefix} cookies must be Secure: leave cookie.secure 'auto' or set it true`)
  if (prefix === NAME_PREFIX.HOST && !perRequest && (cookie.path !== '/' || cookie.domain !== undefined)) {
    throw fail('name', "__Host- cookies have Path / and no Domain: use __Secure- with cookie.path or cookie.domain")
  }
}

/**
 * The `legacy` option (the zero-logout switch, legacy.js): the express-session store the
 * sessions are in, its cookie name and secrets (default: `connect.sid` and the `secret`
 * option's strings), `keep` (leave the legacy session in place) and `user(sess)` (the user
 * a legacy session names; default passport's `passport.user`).
 */
function legacyOptions (value, secret) {
  if (value === undefined || value === null || value === false) return null
  if (typeof value !== 'object') throw fail('legacy', 'must be an object { store, name, secret }')
  if (!isExpressSessionStore(value.store)) {
    throw fail('legacy.store', 'must be the express-session store the sessions are in (with get, set and destroy)')
  }
  const name = value.name ?? 'connect.sid'
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) throw fail('legacy.name', 'must be a cookie name')
  const given = value.secret ?? secret
  const secrets = Array.isArray(given) ? given : [given]
  if (secrets.length === 0 || !secrets.every((x) => typeof x === 'string' && x.length > 0)) {
    throw fail('legacy.secret', 'must be the express-session secret (a string, or an array of strings)')
  }
  if (value.user !== undefined && typeof value.user !== 'function') throw fail('legacy.user', 'must be a function (sess) => user id or null')
  return { store: value.store, name, secrets, keep: bool(value.keep, 'legacy.keep', false), user: value.user ?? passportUser }
}

function csrfOptions (value) {
  if (value === undefined || value === true) return { trustedOrigins: [], origins: null, requireToken: false }
  if (value === false) return null
  if (value === null || typeof value !== 'object') throw fail('csrf', 'must be true, false or an object')
  const trusted = origins(value.trustedOrigins ?? [], 'csrf.trustedOrigins')
  const own = value.origins === undefined ? null : origins(value.origins, 'csrf.origins')
  if (own !== null && own.length === 0) throw fail('csrf.origins', 'must name at least one origin (or be left out: derived from Host)')
  return { trustedOrigins: trusted, origins: own, requireToken: bool(value.requireToken, 'csrf.requireToken', false) }
}

/**
 * A list of origins (`scheme://host[:port]`), each normalised as browsers send `Origin`
 * (origin.js: lower case, punycode, no default port); a TypeError naming `name` otherwise.
 */
function origins (list, name) {
  const must = 'must be an array of origins like "https://app.example.com" (scheme://host[:port]: no path, not even "/")'
  if (!Array.isArray(list)) throw fail(name, must)
  return list.map((o, i) => {
    const origin = normalizeOrigin(o)
    if (origin === null) throw fail(name, must + `; entry ${i} is not one`)
    return origin
  })
}

/**
 * Check and complete the options.
 * @param {object} options what the app passed to `session()`
 * @returns {object} the normalized settings
 */
function normalize (options) {
  if (options === undefined) options = {}
  if (options === null || typeof options !== 'object') throw new TypeError('session options must be an object')
  for (const k of Object.keys(options)) {
    if (!KNOWN.has(k)) throw fail(k, 'is not an option of tandem-session')
  }
  if (options.genid !== undefined && typeof options.genid !== 'function') {
    throw fail('genid', 'must be a function (req) => string of 22 base64url characters (128 bits)')
  }
  if (options.resave !== undefined && typeof options.resave !== 'boolean') throw fail('resave', 'must be a boolean')
  if (options.key !== undefined && options.name !== undefined && options.key !== options.name) {
    throw fail('key', 'and name name the same cookie (key is express-session\'s older name): give one')
  }
  const name = options.name ?? options.key ?? 'connect.sid'
  if (typeof name !== 'string' || !COOKIE_NAME.test(name) || name.length > 64) {
    throw fail('name', 'must be a cookie name (letters, digits, "-", "_", ".")')
  }
  const given = options.store ?? new SqliteStore()
  const transfer = options.transfer ?? 'auto'
  if (!TRANSFERS.includes(transfer)) throw fail('transfer', "must be 'cookie', 'header' or 'auto'")
  const unset = options.unset ?? 'keep'
  if (!UNSETS.includes(unset)) throw fail('unset', "must be 'keep' or 'destroy'")
  if (options.proxy !== undefined && typeof options.proxy !== 'boolean') throw fail('proxy', 'must be a boolean')
  // `cookie` may be a function of the request, as in express-session: its answer is
  // checked at every request; the setup's own attributes are then the defaults.
  const cookieFn = typeof options.cookie === 'function' ? options.cookie : null
  const cookie = cookieOptions(cookieFn === null ? options.cookie : undefined)
  prefixedName(name, cookie, cookieFn !== null)
  // An express-session store: the engine runs on it through the bridge (compat/bridge.js).
  const store = openable(given, { cookieMaxAge: cookie.maxAge })
  if (store === null) {
    throw fail('store', 'must be a tandem-session store (SqliteStore, RedisStore, PostgresStore, NativeMemoryStore) ' +
      'or an express-session store such as MemoryStore (with get, set and destroy methods)')
  }
  const bridged = store !== given
  const engine = Object.fromEntries(PASSED_TO_ENGINE.map((k) => [k, options[k]]))
  bool(options.resetKeyRing, 'resetKeyRing', false)
  const fromRequest = options.secret === undefined
  if (fromRequest) {
    warnSecretFromRequest()
  } else {
    Object.assign(engine, secretOptions(options.secret))
  }
  // Without a secret yet, the other engine options are checked beside a stand-in one.
  const problem = Engine.optionsProblem(fromRequest ? { ...engine, secret: [STAND_IN_SECRET] } : engine)
  if (problem !== null) throw new TypeError(problem)
  const algorithm = options.algorithm ?? 'HS256'
  const jwksPath = options.jwksPath === null ? null : path(options.jwksPath, 'jwksPath', null)
  if (jwksPath && algorithm !== 'EdDSA') throw fail('jwksPath', "needs algorithm 'EdDSA' (an HS256 key is secret)")
  return {
    store,
    /** What the app gave (or the default store): `req.sessionStore`. */
    sessionStore: given,
    /** The store is the default one made here: `close()` closes it too. */
    ownsStore: options.store === undefined,
    name,
    cookie,
    cookieFn,
    proxy: options.proxy,
    rolling: bool(options.rolling, 'rolling', false),
    // A native store keeps every expiry in the record: nothing to call. An
    // express-session store gets express-session's call: 'resave', 'touch'.
    keepAlive: bridged ? keepAlive(options.resave) : null,
    /**
     * An express-session store: it is the truth, as in express-session (each request reads
     * it, no data cache; a session it lost means a new one), and every request reads it,
     * so a data write need not send the new data version in a new access token.
     */
    bridged,
    saveUninitialized: saveUninitialized(options.saveUninitialized),
    unset,
    genid: options.genid ?? null,
    refreshPath: path(options.refreshPath, 'refreshPath', '/session/refresh'),
    csrf: csrfOptions(options.csrf),
    transfer,
    algorithm,
    jwksPath,
    /** What goes to `Engine.start` besides the store and the cookie names (undefined: its default). */
    engine,
    /** No secret option: the secret is `req.secret` (cookie-parser's) at the first request. */
    secretFromRequest: fromRequest,
    // An express-session store brings its sessions along: the cookies express-session set
    // over it (signed with this secret) move over, so changing the require line logs nobody out.
    legacy: legacyOptions(options.legacy ?? (bridged && options.secret !== undefined && [].concat(options.secret).every((x) => typeof x === 'string') ? { store: given } : undefined), options.secret)
  }
}

/**
 * The cookie attributes for `req`: the `cookie` option's, or when it is a function, what
 * it answers for `req`, checked as the option is (a bad answer is a TypeError naming it).
 */
function requestCookie (settings, req) {
  return settings.cookieFn === null ? settings.cookie : cookieOptions(settings.cookieFn(req))
}

module.exports = { normalize, secretOptions, requestCookie }
