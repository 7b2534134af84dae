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

/** Where SqliteStore keeps its file when given no path: under the working directory. */
const DEFAULT_SQLITE_PATH = path.join('.tandem-session', 'sessions.sqlite3')

class NativeMemoryStore {
  #native

  /**
   * @param {{maxSessions?: number}} [options] maxSessions: bound on live sessions
   *   (default 100000); a full store refuses new logins rather than evicting anyone.
   */
  constructor (options = {}) {
    const max = options.maxSessions
    if (max !== undefined && (!Number.isInteger(max) || max < 1 || max > 2 ** 32 - 1)) {
      throw new TypeError('maxSessions option must be a positive integer')
    }
    this.#native = native.openMemoryStore(max)
  }

  /** @private */
  async _open () {
    return this.#native
  }
}

class SqliteStore {
  #path
  #opening

  /**
   * @param {{path?: string}} [options] path: the database file, created if missing (and
   *   its directory). Default: `.tandem-session/sessions.sqlite3` under the working
   *   directory. Several processes of one machine may share the file (WAL mode).
   */
  constructor (options = {}) {
    const p = options.path ?? DEFAULT_SQLITE_PATH
    if (typeof p !== 'string' || p.length === 0) throw new TypeError('path option must be a non-empty string')
    this.#path = path.resolve(p)
  }

  /** The absolute path of the database file. */
  get path () {
    return this.#path
  }

  /** @private */
  _open () {
    if (!this.#opening) {
      fs.mkdirSync(path.dirname(this.#path), { recursive: true })
      this.#opening = native.openSqliteStore(this.#path)
    }
    return this.#opening
  }
}

class PostgresStore {
  #connectionString
  #opening

  /**
   * @param {{connectionString: string}} options a `postgres://user@host:port/db` URL. The
   *   store creates and migrates its tables (`tandem_*`) and keeps a connection pool.
   */
  constructor (options = {}) {
    const cs = options.connectionString
    if (typeof cs !== 'string' || !/^postgres(ql)?:\/\//.test(cs)) {
      throw new TypeError('connectionString option must be a postgres:// URL')
    }
    this.#connectionString = cs
  }

  /** @private */
  _open () {
    if (!this.#opening) this.#opening = native.openPostgresStore(this.#connectionString)
    return this.#opening
  }
}

class RedisStore {
  #url
  #cluster
  #opening

  /**
   * @param {{url?: string, cluster?: string[]}} options `url`: a `redis://host:port/db`
   *   server; or `cluster`: URLs of some nodes of a Redis Cluster (a session's keys share
   *   one hash slot; user-wide operations go key by key).
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
    this.#url = url
    this.#cluster = cluster
  }

  /** @private */
  _open () {
    if (!this.#opening) {
      this.#opening = this.#url !== undefined ? native.openRedisStore(this.#url) : native.openRedisClusterStore(this.#cluster)
    }
    return this.#opening
  }
}

module.exports = { NativeMemoryStore, SqliteStore, PostgresStore, RedisStore, DEFAULT_SQLITE_PATH }
