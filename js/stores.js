'use strict'

/**
 * Session stores, by their public names. A store object is a description plus a lazily
 * opened native store; the engine opens it when it starts. Guarantees: an opener that
 * fails rejects with an Error whose `code` the addon set (`STORE_UNAVAILABLE`,
 * `STORE_CORRUPT`, …); the option checks here throw TypeErrors at construction.
 *
 * NativeMemoryStore, SqliteStore (the embedded default), PostgresStore and RedisStore (a server
 * or a Redis Cluster).
 * @public
 */

const fs = require('node:fs')
const path = require('node:path')

const native = require('./native.js')

/**
 * The `maxAnonymousSessions` option of every native store: the bound on anonymous
 * sessions (data written before login), apart from logins; a new one beyond it evicts the
 * oldest. `undefined` keeps the store's default.
 */
function anonymousQuota (options) {
  const n = options.maxAnonymousSessions
  if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 2 ** 32 - 1)) {
    throw new TypeError('maxAnonymousSessions option must be a positive integer')
  }
  return n
}

/**
 * The `ca` option of PostgresStore and RedisStore: PEM certificates (a string or a Buffer)
 * to trust for TLS instead of the system's roots, as text for the addon. `undefined` keeps
 * the system's roots.
 */
function caOption (options) {
  const ca = options.ca
  if (ca === undefined) return undefined
  const text = Buffer.isBuffer(ca) ? ca.toString('latin1') : ca
  if (typeof text !== 'string' || !text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TypeError('ca option must be PEM certificates (a string or a Buffer), e.g. fs.readFileSync(caPath)')
  }
  return text
}

/** Where SqliteStore keeps its file when given no path: under the working directory. */
const DEFAULT_SQLITE_PATH = path.join('.tandem-session', 'sessions.sqlite3')

class NativeMemoryStore {
  #native

  /**
   * @param {{maxSessions?: number, maxAnonymousSessions?: number}} [options] maxSessions:
   *   bound on live sessions (default 100000); maxAnonymousSessions: of which anonymous
   *   ones (default half of maxSessions). A full store evicts the oldest anonymous session
   *   for a login, and refuses a login only when every session is a logged-in user's.
   */
  constructor (options = {}) {
    const max = options.maxSessions
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 2 ** 32 - 1)) {
      throw new TypeError('maxSessions option must be a positive integer')
    }
    const anonymous = anonymousQuota(options)
    if (anonymous !== undefined && anonymous > (max ?? native.DEFAULT_MAX_SESSIONS)) {
      throw new TypeError('maxAnonymousSessions option must not exceed maxSessions')
    }
    this.#native = native.openMemoryStore(max, anonymous)
  }

  /** @private */
  async _open () {
    return this.#native
  }

  /** Nothing to close (the sessions are in this process's memory). */
  async close () {}
}

class SqliteStore {
  #path
  #anonymous
  #opening

  /**
   * @param {{path?: string, maxAnonymousSessions?: number}} [options] path: the database
   *   file, created if missing (and its directory). Default: `.tandem-session/sessions.sqlite3`
   *   under the working directory. Several processes of one machine may share the file
   *   (WAL mode). maxAnonymousSessions: default 100000.
   */
  constructor (options = {}) {
    const p = options.path ?? DEFAULT_SQLITE_PATH
    if (typeof p !== 'string' || p.length === 0) throw new TypeError('path option must be a non-empty string')
    this.#path = path.resolve(p)
    this.#anonymous = anonymousQuota(options)
  }

  /** The absolute path of the database file. */
  get path () {
    return this.#path
  }

  /** @private */
  _open () {
    if (!this.#opening) {
      fs.mkdirSync(path.dirname(this.#path), { recursive: true })
      this.#opening = native.openSqliteStore(this.#path, this.#anonymous)
    }
    return this.#opening
  }

  /**
   * Close the store: its push listener stops and its pooled connections close; engines
   * over it fail their store calls from then on. Resolves once done; a store never opened
   * has nothing to close.
   * @returns {Promise<void>}
   */
  async close () {
    if (this.#opening) (await this.#opening.catch(() => null))?.close()
  }
}

/**
 * A name option of PostgresStore (`schema`, `tablePrefix`): a plain lower-case name that
 * needs no quoting, checked again in Rust. `undefined` keeps the store's default.
 */
function postgresName (options, name, max) {
  const v = options[name]
  if (v !== undefined && (typeof v !== 'string' || v.length > max || !/^[a-z_][a-z0-9_]*$/.test(v))) {
    throw new TypeError(`${name} option must be 1 to ${max} characters of a-z 0-9 _, not starting with a digit`)
  }
  return v
}

class PostgresStore {
  #connectionString
  #options
  #opening

  /**
   * @param {{connectionString: string, schema?: string, tablePrefix?: string,
   *   ca?: string|Buffer, maxAnonymousSessions?: number}} options a
   *   `postgres://user@host:port/db` URL; TLS as its `sslmode` says (libpq's modes,
   *   `prefer` by default; `verify-full` off loopback) against `ca` (PEM) or its
   *   `sslrootcert` file or the system's roots. The store creates and migrates its tables
   *   (`tandem_*`) and keeps a connection pool.
   *   schema: where the tables are, created if missing (default: the connection's first
   *   `search_path` schema); tablePrefix: the start of every table name (default
   *   `tandem_`): apps sharing one database each take their own. maxAnonymousSessions:
   *   default 100000.
   */
  constructor (options = {}) {
    const cs = options.connectionString
    if (typeof cs !== 'string' || !/^postgres(ql)?:\/\//.test(cs)) {
      throw new TypeError('connectionString option must be a postgres:// URL')
    }
    this.#connectionString = cs
    this.#options = {
      maxAnonymous: anonymousQuota(options),
      schema: postgresName(options, 'schema', 63),
      tablePrefix: postgresName(options, 'tablePrefix', 32),
      ca: caOption(options)
    }
  }

  /** @private */
  _open () {
    if (!this.#opening) this.#opening = native.openPostgresStore(this.#connectionString, this.#options)
    return this.#opening
  }

  /**
   * Close the store: its push listener stops and its pooled connections close; engines
   * over it fail their store calls from then on. Resolves once done; a store never opened
   * has nothing to close.
   * @returns {Promise<void>}
   */
  async close () {
    if (this.#opening) (await this.#opening.catch(() => null))?.close()
  }
}

class RedisStore {
  #url
  #cluster
  #options
  #opening

  /**
   * @param {{url?: string, cluster?: string[], prefix?: string, ca?: string|Buffer,
   *   maxAnonymousSessions?: number}} options
   *   `url`: a `redis://host:port/db` server (`rediss://` for TLS, checked against `ca`
   *   (PEM) or the system's roots; `redis://user:password@…` for an ACL user); or
   *   `cluster`: URLs of some nodes of a Redis
   *   Cluster (a session's keys share one hash slot; user-wide operations go key by key).
   *   prefix: the start of every key (default `ts:`), as connect-redis's: apps sharing one
   *   database each take their own. maxAnonymousSessions: default 100000, split evenly
   *   over 256 hash tags (so rounded up to a multiple of 256).
   */
  constructor (options = {}) {
    const { url, cluster } = options
    if ((url === undefined) === (cluster === undefined)) {
      throw new TypeError('RedisStore needs exactly one of the url and cluster options')
    }
    if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
      throw new TypeError('url option must be a redis:// URL')
    }
    if (cluster !== undefined && (!Array.isArray(cluster) || cluster.length === 0 ||
        !cluster.every((u) => typeof u === 'string' && /^rediss?:\/\//.test(u)))) {
      throw new TypeError('cluster option must be a non-empty array of redis:// URLs')
    }
    const prefix = options.prefix
    if (prefix !== undefined && (typeof prefix !== 'string' || !/^[A-Za-z0-9:_.-]{1,64}$/.test(prefix))) {
      throw new TypeError('prefix option must be 1 to 64 characters of A-Z a-z 0-9 : _ . -')
    }
    this.#url = url
    this.#cluster = cluster
    const ca = caOption(options)
    const urls = url !== undefined ? [url] : cluster
    if (ca !== undefined && !urls.every((u) => u.startsWith('rediss://'))) {
      throw new TypeError('ca option is for TLS: use rediss:// URLs with it')
    }
    this.#options = { maxAnonymous: anonymousQuota(options), prefix, ca }
  }

  /** @private */
  _open () {
    if (!this.#opening) {
      this.#opening = this.#url !== undefined
        ? native.openRedisStore(this.#url, this.#options)
        : native.openRedisClusterStore(this.#cluster, this.#options)
    }
    return this.#opening
  }

  /**
   * Close the store: its push listener stops and its pooled connections close; engines
   * over it fail their store calls from then on. Resolves once done; a store never opened
   * has nothing to close.
   * @returns {Promise<void>}
   */
  async close () {
    if (this.#opening) (await this.#opening.catch(() => null))?.close()
  }
}

module.exports = { NativeMemoryStore, SqliteStore, PostgresStore, RedisStore, DEFAULT_SQLITE_PATH }
