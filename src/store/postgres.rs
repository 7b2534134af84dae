//! The PostgreSQL store: for many machines, and for teams that already run PostgreSQL.
//!
//! [`PostgresStore::connect`] opens a connection pool (deadpool-postgres over
//! tokio-postgres; TLS by rustls as the connection string's `sslmode` asks, see `sslmode`
//! and `store::tls`) and creates or migrates the schema before it returns. Tables
//! (in the first schema of the connection's `search_path`, or the schema the app names,
//! prefixed so that they never meet an app's own `sessions` table; the prefix is
//! `tandem_` unless the app names another: see `namespace`):
//! - `tandem_schema_version`: one row per applied migration;
//! - `tandem_sessions`: one row per session, keyed by its handle (base64url text), with
//!   the refresh state in columns, the claims and data as `jsonb`, and `data_version`;
//!   indexed by `user_id` and by `LEAST(idle_expires_at, absolute_expires_at)`;
//! - `tandem_revocations`: the revocation feed, `seq bigserial` first;
//! - `tandem_key_ring`: a single row, the sealed ring and its version;
//! - `tandem_anonymous_count`: a single row, the number of anonymous sessions, kept by
//!   triggers on every insert and delete of one (see `store::anonymous`).
//!
//! Guarantees:
//! - the whole [`Store`] contract across every process that shares the database: each
//!   write is one statement or one transaction — `rotate` is one `UPDATE … WHERE handle
//!   AND generation AND current_digest`, `patch_data` one `UPDATE` that merges the given
//!   keys into the row it re-reads under its row lock (so concurrent patches to other keys
//!   are never lost), `revoke` deletes and appends to the feed in one transaction, the
//!   key ring is saved by compare-and-swap on its version; nothing is ever upserted, and
//!   inserting an existing handle fails with `STORE_CORRUPT` without overwriting;
//! - change notices (`store::changes`): each revocation's transaction and each key-ring
//!   save notifies the namespace's channel (`pg_notify`, delivered exactly when it
//!   commits); [`Store::changes`] starts a listener on a connection of its own (named
//!   `<application_name> listener`), which reconnects by itself, and whose every
//!   (re)connection is a notice, so nothing sent while it was down is missed;
//! - the feed never skips an entry: appends are serialised by a transaction-scoped
//!   advisory lock held until commit, so `seq` order is commit order and a reader that has
//!   seen `seq = n` will never later see a new entry with a smaller `seq`;
//! - migrations run in order, each once, in one transaction under
//!   `pg_advisory_xact_lock`, so processes that start together do not race; a database
//!   migrated by a newer release is refused (`STORE_UNAVAILABLE`, as the SQLite store
//!   does) rather than guessed at;
//! - no call hangs: TCP connect 1 s, connection set-up 2 s, waiting for a free pooled
//!   connection 3 s, each call's statements 2 s on the client (a connection that timed out
//!   is discarded, never reused) and each statement 1.5 s on the server
//!   (`statement_timeout`); an abandoned transaction is ended by the server after 10 s.
//!   Connection, I/O, timeout and pool failures are `STORE_UNAVAILABLE`; when the server
//!   is back, the same store works again (the pool drops dead connections and opens new
//!   ones);
//! - JSON values round-trip by value (`jsonb` normalises key order and whitespace and keeps
//!   numbers as exact decimals, so `2.5`, `1e300` or `u64::MAX` come back equal);
//! - rows that do not decode are `STORE_CORRUPT`; errors follow the rule of every store
//!   (`store::row`), with fixed texts that never contain data.
//!
//! Not guaranteed:
//! - more of TLS than `store::tls` says: `sslmode=prefer` (the default, as libpq's) and
//!   `require` without a CA encrypt but do not authenticate the server; use `verify-full`
//!   off loopback;
//! - that `STORE_UNAVAILABLE` means "nothing changed" when the connection broke during a
//!   COMMIT: as with any database, the outcome of an unacknowledged commit is unknown;
//! - strings with a NUL character (`"\u0000"`) in the data, claims, user id or devices:
//!   PostgreSQL cannot store them, and the call fails with `INVALID_ARGUMENT`;
//! - duplicate keys in a JSON object (a `Map` has none), the order of keys, or the sign of
//!   `-0.0` (it comes back as `0.0`, which compares equal);
//! - a connection pooler in transaction mode (PgBouncer's `pool_mode = transaction`): the
//!   store prepares statements and sets session settings per connection;
//! - `sweep` removes sessions in batches and skips rows that a concurrent call holds
//!   locked: those go at the next sweep;
//! - revocation throughput: feed appends are serialised, so revocations are bounded by
//!   the commit latency (hundreds to thousands per second), unlike reads and rotations.

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
  ClientWrapper, Hook, HookError, Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime,
};
use futures_util::StreamExt;
use serde_json::{Map, Value};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, NoTls, Row, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::clock::UnixMillis;
use crate::error::{err, Error, ErrorKind, Result};
use crate::session::owner::is_anonymous;
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::anonymous::DEFAULT_MAX_ANONYMOUS;
use crate::store::changes::{self, Change, Changes, Kind, Notices};
use crate::store::codec;
use crate::store::row::{self, Column, Columns};
use crate::store::tls;
use crate::store::{DataPatch, Revocation, Store, StoredRing};
use crate::token::Handle;

mod namespace;
mod sslmode;
pub use namespace::{Namespace, DEFAULT_TABLE_PREFIX, MAX_SCHEMA_LEN, MAX_TABLE_PREFIX_LEN};
pub use sslmode::{Mode, SslChoice};

/// Default number of pooled connections.
pub const DEFAULT_MAX_CONNECTIONS: usize = 16;
/// TCP connect timeout.
const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Timeout for opening one connection (TCP, start-up, authentication).
const CREATE_TIMEOUT: Duration = Duration::from_secs(2);
/// Timeout for checking a pooled connection before reuse.
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a call waits for a free pooled connection.
const WAIT_TIMEOUT: Duration = Duration::from_secs(3);
/// Timeout for the statements of one call, on the client.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);
/// Set on each new connection: the server cancels a statement after 1.5 s (before the
/// client gives up on the call, so the connection stays usable), and ends a transaction
/// left idle for 10 s (one whose client vanished).
const SESSION_SETTINGS: &str =
  "SET statement_timeout = 1500; SET idle_in_transaction_session_timeout = 10000";
/// Timeout for the migration transaction at connect (it may wait for another process's).
const MIGRATION_TIMEOUT: Duration = Duration::from_secs(60);
/// Rows removed per statement by `sweep`.
const SWEEP_BATCH: i64 = 1000;

/// `pg_advisory_xact_lock` key of the migrations ("tandem" + 1).
const MIGRATION_LOCK: i64 = 0x7461_6e64_656d_0001;
/// `pg_advisory_xact_lock` key of the revocation feed's appends ("tandem" + 2).
const FEED_LOCK: i64 = 0x7461_6e64_656d_0002;

/// The migrations, in order. Each runs once, in the connect transaction; never edit one
/// that has shipped: add the next.
const MIGRATIONS: &[(i32, &str)] = &[
  (
    1,
    "CREATE TABLE tandem_sessions (
     handle text PRIMARY KEY,
     user_id text NOT NULL,
     generation bigint NOT NULL,
     current_digest bytea NOT NULL,
     previous_digest bytea,
     rotated_at bigint NOT NULL,
     salt bytea NOT NULL,
     idle_expires_at bigint NOT NULL,
     absolute_expires_at bigint NOT NULL,
     created_at bigint NOT NULL,
     last_refresh_at bigint NOT NULL,
     created_ip text,
     created_user_agent text,
     last_ip text,
     last_user_agent text,
     claims jsonb NOT NULL,
     data jsonb NOT NULL,
     data_version bigint NOT NULL
   );
   CREATE INDEX tandem_sessions_user_id ON tandem_sessions (user_id);
   CREATE INDEX tandem_sessions_expiry
     ON tandem_sessions (LEAST(idle_expires_at, absolute_expires_at));
   CREATE TABLE tandem_revocations (
     seq bigserial PRIMARY KEY,
     handle text NOT NULL,
     until bigint NOT NULL
   );
   CREATE INDEX tandem_revocations_until ON tandem_revocations (until);
   CREATE TABLE tandem_key_ring (
     id smallint PRIMARY KEY CHECK (id = 1),
     version bigint NOT NULL,
     sealed text NOT NULL
   );",
  ),
  (
    2,
    "CREATE TABLE tandem_anonymous_count (
       id smallint PRIMARY KEY CHECK (id = 1),
       n bigint NOT NULL CHECK (n >= 0)
     );
     INSERT INTO tandem_anonymous_count (id, n)
       SELECT 1, count(*) FROM tandem_sessions WHERE substr(user_id, 1, 6) = '~anon:';
     CREATE INDEX tandem_sessions_anonymous_by_age ON tandem_sessions (created_at)
       WHERE substr(user_id, 1, 6) = '~anon:';
     CREATE FUNCTION tandem_anonymous_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP = 'INSERT' THEN
         UPDATE tandem_anonymous_count SET n = n + 1 WHERE id = 1;
       ELSE
         UPDATE tandem_anonymous_count SET n = n - 1 WHERE id = 1;
       END IF;
       RETURN NULL;
     END $$;
     CREATE TRIGGER tandem_sessions_anonymous_in AFTER INSERT ON tandem_sessions
       FOR EACH ROW WHEN (substr(NEW.user_id, 1, 6) = '~anon:')
       EXECUTE FUNCTION tandem_anonymous_count_change();
     CREATE TRIGGER tandem_sessions_anonymous_out AFTER DELETE ON tandem_sessions
       FOR EACH ROW WHEN (substr(OLD.user_id, 1, 6) = '~anon:')
       EXECUTE FUNCTION tandem_anonymous_count_change();",
  ),
];

/// The columns of a session row, in the order [`decode_row`] reads them.
macro_rules! session_columns {
  () => {
    "handle, user_id, generation, current_digest, previous_digest, rotated_at, salt, \
     idle_expires_at, absolute_expires_at, created_at, last_refresh_at, created_ip, \
     created_user_agent, last_ip, last_user_agent, claims::text, data::text, data_version"
  };
}

macro_rules! insert_sql {
  () => {
    "INSERT INTO tandem_sessions (handle, user_id, generation, \
  current_digest, previous_digest, rotated_at, salt, idle_expires_at, absolute_expires_at, \
  created_at, last_refresh_at, created_ip, created_user_agent, last_ip, last_user_agent, \
  claims, data, data_version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
  $14, $15, $16::text::jsonb, $17::text::jsonb, $18)"
  };
}
const SQL_INSERT: &str = insert_sql!();
/// A login's insert and the user's session count after it, in one statement (the count
/// reads the snapshot from before the insert, so the new row is added to it).
const SQL_INSERT_COUNTING: &str = concat!(
  "WITH ins AS (",
  insert_sql!(),
  " RETURNING 1) SELECT (SELECT count(*) FROM tandem_sessions WHERE user_id = $2) \
   + (SELECT count(*) FROM ins)"
);
/// Takes the anonymous count's row lock for the transaction (anonymous inserts are
/// serialised, so the quota is exact) and reads it.
const SQL_ANONYMOUS_COUNT: &str = "SELECT n FROM tandem_anonymous_count WHERE id = 1 FOR UPDATE";
/// Deletes the `$1` oldest anonymous sessions, skipping rows another call holds (so it
/// never waits on a row while holding the count: no deadlock with a revocation).
const SQL_EVICT_ANONYMOUS: &str = "DELETE FROM tandem_sessions WHERE handle IN ( \
  SELECT handle FROM tandem_sessions WHERE substr(user_id, 1, 6) = '~anon:' \
  ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)";
const SQL_GET: &str = concat!(
  "SELECT ",
  session_columns!(),
  " FROM tandem_sessions WHERE handle = $1"
);
const SQL_LIST_USER: &str = concat!(
  "SELECT ",
  session_columns!(),
  " FROM tandem_sessions WHERE user_id = $1"
);
const SQL_ROTATE: &str = "UPDATE tandem_sessions SET generation = $4, current_digest = $5, \
  previous_digest = $6, rotated_at = $7, salt = $8, idle_expires_at = $9, \
  absolute_expires_at = $10, last_refresh_at = $11, last_ip = $12, last_user_agent = $13 \
  WHERE handle = $1 AND generation = $2 AND current_digest = $3";
const SQL_DELETE: &str = concat!(
  "DELETE FROM tandem_sessions WHERE handle = $1 RETURNING ",
  session_columns!()
);
const SQL_FEED_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";
const SQL_FEED_APPEND: &str = "INSERT INTO tandem_revocations (handle, until) VALUES ($1, $2)";
/// The patch, applied only if the patched data is at most `$4` bytes or no larger than
/// before (sizes as `codec::data_size` counts them, a value by its `jsonb` text). The
/// row's `WHERE` is evaluated again on the newest row version after a concurrent write.
/// The data with the patch applied (kept inside the `UPDATE`, so that the merge reads the
/// row version the update writes).
macro_rules! patched_data {
  () => {
    "((data || $2::text::jsonb) - $3::text[])"
  };
}
/// `codec::data_size` of a `jsonb` object in SQL.
macro_rules! data_size {
  ($data:expr) => {
    concat!(
      "(SELECT coalesce(sum(octet_length(key) + octet_length(value::text)), 0) FROM jsonb_each(",
      $data,
      "))"
    )
  };
}
const SQL_PATCH: &str = concat!(
  "UPDATE tandem_sessions SET data = ",
  patched_data!(),
  ", data_version = data_version + 1 WHERE handle = $1 AND (",
  data_size!(patched_data!()),
  " <= $4::bigint OR ",
  data_size!(patched_data!()),
  " <= ",
  data_size!("data"),
  ") RETURNING data_version"
);
/// Whether a session exists (after a patch that wrote nothing: gone, or too large).
const SQL_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM tandem_sessions WHERE handle = $1)";
const SQL_FEED_READ: &str = "SELECT seq, handle, until FROM tandem_revocations \
  WHERE seq > $1 ORDER BY seq LIMIT $2";
const SQL_SWEEP_SESSIONS: &str = "DELETE FROM tandem_sessions WHERE handle IN (\
  SELECT handle FROM tandem_sessions WHERE LEAST(idle_expires_at, absolute_expires_at) <= $1 \
  LIMIT $2 FOR UPDATE SKIP LOCKED)";
const SQL_SWEEP_FEED: &str = "DELETE FROM tandem_revocations WHERE seq IN (\
  SELECT seq FROM tandem_revocations WHERE until <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)";
const SQL_RING_LOAD: &str = "SELECT version, sealed FROM tandem_key_ring WHERE id = 1";
/// Ring saves and revocations notify the namespace's channel (`$3`; `$1` for the feed) in
/// their own statement or transaction: a notice is sent exactly when the change commits.
const SQL_RING_CREATE: &str = "WITH saved AS (INSERT INTO tandem_key_ring (id, version, sealed) \
  VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING RETURNING 1) \
  SELECT pg_notify($3, 'ring') FROM saved";
const SQL_RING_SWAP: &str = "WITH saved AS (UPDATE tandem_key_ring SET version = $1, sealed = $2 \
  WHERE id = 1 AND version = $4 RETURNING 1) SELECT pg_notify($3, 'ring') FROM saved";
const SQL_FEED_NOTIFY: &str = "SELECT pg_notify($1, 'feed')";

/// Options of [`PostgresStore::connect_with`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
  /// Most connections the pool opens. Default [`DEFAULT_MAX_CONNECTIONS`] (16).
  pub max_connections: usize,
  /// Most anonymous sessions kept (at least 1): a new one beyond it evicts the oldest.
  /// Default [`DEFAULT_MAX_ANONYMOUS`].
  pub max_anonymous: u64,
  /// The schema and name prefix of the store's tables (see `namespace`). Default: the
  /// connection's first `search_path` schema and `tandem_`.
  pub namespace: Namespace,
  /// PEM certificates to trust for TLS instead of the system's roots (as the connection
  /// string's `sslrootcert` file, which may not be given as well). Default: none.
  pub ca: Option<Vec<u8>>,
}

impl Default for PostgresOptions {
  fn default() -> Self {
    Self {
      max_connections: DEFAULT_MAX_CONNECTIONS,
      max_anonymous: DEFAULT_MAX_ANONYMOUS,
      namespace: Namespace::default(),
      ca: None,
    }
  }
}

/// The PostgreSQL store. Cheap to share behind an `Arc`; every call takes a pooled
/// connection for its duration.
pub struct PostgresStore {
  pool: Pool,
  max_anonymous: i64,
  /// Where the tables are, and their names.
  ns: Namespace,
  /// The channel changes are notified on (`Namespace::channel`).
  channel: String,
  /// How the listener connects (the pool's configuration, with its own name).
  listener_config: tokio_postgres::Config,
  /// Plain, or TLS as the connection string's `sslmode` asks.
  connector: Connector,
  /// Pushed notices of changes (see `store::changes`).
  changes: Changes,
}

impl std::fmt::Debug for PostgresStore {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    // The pool's configuration holds the password: never printed.
    f.debug_struct("PostgresStore").finish_non_exhaustive()
  }
}

/// A value of `row` (`STORE_CORRUPT` when it is not of type `T`).
fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T> {
  row.try_get(i).map_err(|_| row::corrupt())
}

/// A session row (columns as [`session_columns!`], in the order of [`Column`]), read by
/// [`row::decode_record`].
struct PgRow<'a>(&'a Row);

impl Columns for PgRow<'_> {
  fn handle(&self) -> Result<Handle> {
    row::handle_text(get(self.0, Column::Handle as usize)?)
  }
  fn int(&self, c: Column) -> Result<i64> {
    get(self.0, c as usize)
  }
  fn text(&self, c: Column) -> Result<Option<String>> {
    get(self.0, c as usize)
  }
  fn bytes(&self, c: Column) -> Result<Option<Vec<u8>>> {
    get(self.0, c as usize)
  }
}

fn decode_row(r: &Row) -> Result<SessionRecord> {
  row::decode_record(&PgRow(r))
}

/// A patch as what `SQL_PATCH` takes: the keys to set (last write of a key wins, as in
/// `codec::apply_patch`) and the keys to remove.
fn split_patch(patch: &DataPatch) -> (Map<String, Value>, Vec<String>) {
  let mut set = Map::new();
  let mut removed: Vec<String> = Vec::new();
  for (k, v) in patch {
    match v {
      Some(v) => {
        removed.retain(|r| r != k);
        set.insert(k.clone(), v.clone());
      }
      None => {
        set.remove(k);
        if !removed.contains(k) {
          removed.push(k.clone());
        }
      }
    }
  }
  (set, removed)
}

/// Runs `$body` (an expression using `$c: &mut ClientWrapper`, `?` allowed) on a pooled
/// connection under the call timeout. A connection whose call timed out is discarded:
/// its state is unknown.
macro_rules! with_client {
  ($self:ident, $timeout:expr, |$c:ident| $body:expr) => {{
    let mut obj: Object = $self.pool.get().await?;
    let outcome = {
      let $c: &mut ClientWrapper = &mut obj;
      tokio::time::timeout($timeout, async { $body }).await
    };
    match outcome {
      Ok(result) => result,
      Err(_) => {
        drop(Object::take(obj));
        Err(row::unavailable("PostgreSQL did not answer in time"))
      }
    }
  }};
}

impl PostgresStore {
  /// Connect to `connection_string` (a `postgres://` URL or `key=value` pairs, as
  /// tokio-postgres reads them) with the default options, and create or migrate the
  /// schema.
  ///
  /// # Errors
  /// `CONFIG_INVALID` for a connection string that does not parse or asks for TLS;
  /// `STORE_UNAVAILABLE` when the server cannot be reached or refuses us, or when the
  /// database was migrated by a newer release.
  pub async fn connect(connection_string: &str) -> Result<Self> {
    Self::connect_with(connection_string, &PostgresOptions::default()).await
  }

  /// [`PostgresStore::connect`] with options.
  ///
  /// # Errors
  /// As [`PostgresStore::connect`].
  pub async fn connect_with(connection_string: &str, options: &PostgresOptions) -> Result<Self> {
    let (rest, ssl) = sslmode::split(connection_string)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|_| {
      err(
        ErrorKind::ConfigInvalid,
        "the PostgreSQL connection string is not valid",
      )
    })?;
    let connector = Connector::new(&ssl, options.ca.as_deref())?;
    config.ssl_mode(match ssl.mode {
      Mode::Disable => SslMode::Disable,
      Mode::Prefer => SslMode::Prefer,
      Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
    });
    if config.get_connect_timeout().is_none() {
      config.connect_timeout(TCP_CONNECT_TIMEOUT);
    }
    if config.get_tcp_user_timeout().is_none() {
      config.tcp_user_timeout(Duration::from_secs(10));
    }
    if config.get_application_name().is_none() {
      config.application_name("tandem-session");
    }

    let settings: std::sync::Arc<str> = match options.namespace.connection_settings() {
      Some(path) => format!("{SESSION_SETTINGS}; {path}").into(),
      None => SESSION_SETTINGS.into(),
    };
    let mut listener_config = config.clone();
    let name = config.get_application_name().unwrap_or("tandem-session");
    listener_config.application_name(format!("{name} listener"));
    let manager_config = ManagerConfig {
      recycling_method: RecyclingMethod::Fast,
    };
    let manager = match &connector {
      Connector::Plain => Manager::from_config(config, NoTls, manager_config),
      Connector::Tls(tls) => Manager::from_config(config, tls.clone(), manager_config),
    };
    let pool = Pool::builder(manager)
      .max_size(options.max_connections.max(1))
      .runtime(Runtime::Tokio1)
      .wait_timeout(Some(WAIT_TIMEOUT))
      .create_timeout(Some(CREATE_TIMEOUT))
      .recycle_timeout(Some(RECYCLE_TIMEOUT))
      .post_create(Hook::async_fn(move |client: &mut ClientWrapper, _| {
        let settings = std::sync::Arc::clone(&settings);
        Box::pin(async move {
          match tokio::time::timeout(CREATE_TIMEOUT, client.batch_execute(&settings)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(HookError::Backend(e)),
            Err(_) => Err(HookError::message("timed out")),
          }
        })
      }))
      .build()
      .map_err(|_| {
        err(
          ErrorKind::Internal,
          "the PostgreSQL pool could not be built",
        )
      })?;
    let store = Self {
      pool,
      max_anonymous: row::to_i64(options.max_anonymous.max(1))?,
      ns: options.namespace.clone(),
      channel: options.namespace.channel(),
      listener_config,
      connector,
      changes: Changes::default(),
    };
    store.migrate().await?;
    Ok(store)
  }

  /// Create the schema, or bring it up to date, in one transaction under an advisory
  /// lock.
  async fn migrate(&self) -> Result<()> {
    with_client!(self, MIGRATION_TIMEOUT, |c| {
      let tx = c.transaction().await?;
      tx.batch_execute("SET LOCAL statement_timeout = '60s'")
        .await?;
      tx.execute(
        "SELECT pg_advisory_xact_lock($1)",
        &[&self.ns.lock(MIGRATION_LOCK)],
      )
      .await?;
      if let Some(create) = self.ns.create_schema() {
        tx.batch_execute(&create).await?;
      }
      tx.batch_execute(&self.ns.sql(
        "CREATE TABLE IF NOT EXISTS tandem_schema_version (
           version integer PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )",
      ))
      .await?;
      let row = tx
        .query_one(
          &*self
            .ns
            .sql("SELECT COALESCE(MAX(version), 0) FROM tandem_schema_version"),
          &[],
        )
        .await?;
      let current: i32 = get(&row, 0)?;
      let latest = MIGRATIONS.last().map_or(0, |m| m.0);
      if current > latest {
        return Err(err(
          ErrorKind::StoreUnavailable,
          "the PostgreSQL schema is newer than this release of tandem-session",
        ));
      }
      for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(&self.ns.sql(sql)).await?;
        tx.execute(
          &*self
            .ns
            .sql("INSERT INTO tandem_schema_version (version) VALUES ($1)"),
          &[version],
        )
        .await?;
      }
      tx.commit().await.map_err(Error::from)
    })
  }

  /// Delete and append to the feed, in one transaction. `Ok(None)`: no such session.
  async fn revoke_once(&self, handle: &str, until: i64) -> Result<Option<Row>> {
    with_client!(self, CALL_TIMEOUT, |c| {
      let tx = c.transaction().await?;
      let delete = tx.prepare_cached(&self.ns.sql(SQL_DELETE)).await?;
      let Some(row) = tx.query_opt(&delete, &[&handle]).await? else {
        // Nothing deleted: the transaction rolls back when dropped.
        return Ok(None);
      };
      // Held until COMMIT: no other append gets a later seq and commits before us.
      let lock = tx.prepare_cached(&self.ns.sql(SQL_FEED_LOCK)).await?;
      tx.execute(&lock, &[&self.ns.lock(FEED_LOCK)]).await?;
      let append = tx.prepare_cached(&self.ns.sql(SQL_FEED_APPEND)).await?;
      tx.execute(&append, &[&handle, &until]).await?;
      let notify = tx.prepare_cached(SQL_FEED_NOTIFY).await?;
      tx.query(&notify, &[&self.channel]).await?;
      tx.commit().await?;
      Ok(Some(row))
    })
  }

  /// One `DELETE … LIMIT` of a sweep; returns how many rows it removed.
  async fn sweep_batch(&self, sql: &'static str, now: i64) -> Result<u64> {
    with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(sql)).await?;
      c.execute(&st, &[&now, &SWEEP_BATCH])
        .await
        .map_err(Error::from)
    })
  }
}

/// How the pool and the listener connect.
#[derive(Clone)]
enum Connector {
  Plain,
  Tls(MakeRustlsConnect),
}

impl Connector {
  /// The connector the choice asks for, trusting `ca` (the store's option) or the
  /// `sslrootcert` file, else the system's roots.
  fn new(ssl: &SslChoice, ca: Option<&[u8]>) -> Result<Self> {
    if ssl.mode == Mode::Disable {
      return Ok(Self::Plain);
    }
    let file = match &ssl.root_cert {
      Some(_) if ca.is_some() => {
        return Err(err(
          ErrorKind::ConfigInvalid,
          "give the PostgreSQL CA once: as the ca option or as sslrootcert",
        ))
      }
      Some(path) => Some(std::fs::read(path).map_err(|_| {
        err(
          ErrorKind::ConfigInvalid,
          "the PostgreSQL sslrootcert file cannot be read",
        )
      })?),
      None => None,
    };
    let ca = ca.or(file.as_deref());
    let config = tls::client_config(ssl.check(ca.is_some()), ca)?;
    Ok(Self::Tls(MakeRustlsConnect::new(config)))
  }
}

/// A listener's connection: checked by an empty query; the task that delivers its
/// notifications ends with it.
struct Listening {
  client: tokio_postgres::Client,
  driver: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
  fn drop(&mut self) {
    self.driver.abort();
  }
}

impl changes::Alive for Listening {
  async fn alive(&mut self) -> bool {
    let answer = tokio::time::timeout(CALL_TIMEOUT, self.client.simple_query("")).await;
    matches!(answer, Ok(Ok(_)))
  }
}

/// The listener behind [`Store::changes`] (`changes::hold`): one connection of its own
/// (not pooled, named `<application_name> listener`) that runs `LISTEN` on the
/// namespace's channel.
async fn listen<T>(config: tokio_postgres::Config, tls: T, channel: String, n: Notices)
where
  T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
  T::Stream: Send + 'static,
  T::TlsConnect: Send,
  <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
  changes::hold(n, CREATE_TIMEOUT, |_| {
    let (config, tls, channel) = (config.clone(), tls.clone(), channel.clone());
    async move {
      let (client, mut connection) = config.connect(tls).await.ok()?;
      let (tx, mut heard) = tokio::sync::mpsc::unbounded_channel::<Kind>();
      // The connection delivers the notifications; it ends when the connection does.
      let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(Ok(m)) = messages.next().await {
          let AsyncMessage::Notification(n) = m else {
            continue;
          };
          let kind = if n.payload() == "ring" {
            Kind::Ring
          } else {
            Kind::Feed
          };
          if tx.send(kind).is_err() {
            break;
          }
        }
      });
      let listening = Listening { client, driver };
      listening
        .client
        .batch_execute(&format!("LISTEN \"{channel}\""))
        .await
        .ok()?;
      let notices = futures_util::stream::poll_fn(move |cx| heard.poll_recv(cx));
      Some((notices, listening))
    }
  })
  .await;
}

#[async_trait]
impl Store for PostgresStore {
  fn kind(&self) -> &'static str {
    "postgres"
  }

  fn close(&self) {
    self.changes.stop();
    self.pool.close();
  }

  fn changes(&self) -> Option<tokio::sync::watch::Receiver<Change>> {
    let config = self.listener_config.clone();
    let channel = self.channel.clone();
    match &self.connector {
      Connector::Plain => self
        .changes
        .subscribe(move |n| listen(config, NoTls, channel, n)),
      Connector::Tls(tls) => {
        let tls = tls.clone();
        self
          .changes
          .subscribe(move |n| listen(config, tls, channel, n))
      }
    }
  }

  async fn insert(&self, record: &SessionRecord) -> Result<u64> {
    let handle = record.handle.to_text();
    let r = &record.refresh;
    let generation = i64::from(r.generation);
    let current = &r.current_digest[..];
    let previous = r.previous_digest.as_ref().map(|d| &d[..]);
    let salt = &r.salt[..];
    let claims = row::json_text(&record.claims)?;
    let data = row::json_text(&record.data)?;
    let data_version = row::to_i64(record.data_version)?;
    let params: [&(dyn ToSql + Sync); 18] = [
      &handle,
      &record.user_id,
      &generation,
      &current,
      &previous,
      &r.rotated_at.0,
      &salt,
      &r.idle_expires_at.0,
      &r.absolute_expires_at.0,
      &record.created_at.0,
      &record.last_refresh_at.0,
      &record.created_device.ip,
      &record.created_device.user_agent,
      &record.last_device.ip,
      &record.last_device.user_agent,
      &claims,
      &data,
      &data_version,
    ];
    let exists = |e: tokio_postgres::Error| {
      if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        row::handle_exists()
      } else {
        Error::from(e)
      }
    };
    if !is_anonymous(&record.user_id) {
      let held: i64 = with_client!(self, CALL_TIMEOUT, |c| {
        let st = c.prepare_cached(&self.ns.sql(SQL_INSERT_COUNTING)).await?;
        let row = c.query_one(&st, &params).await.map_err(exists)?;
        get(&row, 0)
      })?;
      return row::to_u64(held);
    }
    // An anonymous session: room for it under the quota first, by evicting the oldest
    // (never this one), in the insert's transaction.
    with_client!(self, CALL_TIMEOUT, |c| {
      let tx = c.transaction().await?;
      let count = tx.prepare_cached(&self.ns.sql(SQL_ANONYMOUS_COUNT)).await?;
      let n: i64 = get(&tx.query_one(&count, &[]).await?, 0)?;
      let extra = n + 1 - self.max_anonymous;
      if extra > 0 {
        let evict = tx.prepare_cached(&self.ns.sql(SQL_EVICT_ANONYMOUS)).await?;
        tx.execute(&evict, &[&extra]).await?;
      }
      let st = tx.prepare_cached(&self.ns.sql(SQL_INSERT)).await?;
      tx.execute(&st, &params).await.map_err(exists)?;
      tx.commit().await.map_err(Error::from)
    })?;
    Ok(0)
  }

  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    let handle = handle.to_text();
    let row = with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(SQL_GET)).await?;
      c.query_opt(&st, &[&handle]).await.map_err(Error::from)
    })?;
    row.as_ref().map(decode_row).transpose()
  }

  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool> {
    let handle = handle.to_text();
    let from_generation = i64::from(from.generation);
    let from_current = &from.current_digest[..];
    let generation = i64::from(to.generation);
    let current = &to.current_digest[..];
    let previous = to.previous_digest.as_ref().map(|d| &d[..]);
    let salt = &to.salt[..];
    let n = with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(SQL_ROTATE)).await?;
      c.execute(
        &st,
        &[
          &handle,
          &from_generation,
          &from_current,
          &generation,
          &current,
          &previous,
          &to.rotated_at.0,
          &salt,
          &to.idle_expires_at.0,
          &to.absolute_expires_at.0,
          &now.0,
          &device.ip,
          &device.user_agent,
        ],
      )
      .await
      .map_err(Error::from)
    })?;
    Ok(n == 1)
  }

  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
    let row = self.revoke_once(&handle.to_text(), until.0).await?;
    // A row that does not decode was still deleted and revoked (a logout must not be
    // blocked by a bad row); the caller learns of it through STORE_CORRUPT.
    row.as_ref().map(decode_row).transpose()
  }

  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
    let rows = with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(SQL_LIST_USER)).await?;
      c.query(&st, &[&user_id]).await.map_err(Error::from)
    })?;
    rows.iter().map(decode_row).collect()
  }

  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>> {
    let handle = handle.to_text();
    let (set, removed) = split_patch(patch);
    let set = row::json_text(&set)?;
    let max = i64::try_from(max_bytes).unwrap_or(i64::MAX);
    let (row, exists) = with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(SQL_PATCH)).await?;
      let row = c.query_opt(&st, &[&handle, &set, &removed, &max]).await?;
      if row.is_some() {
        return Ok((row, true));
      }
      let st = c.prepare_cached(&self.ns.sql(SQL_EXISTS)).await?;
      let exists: bool = c.query_one(&st, &[&handle]).await?.try_get(0)?;
      Ok::<_, Error>((None, exists))
    })?;
    match (row, exists) {
      (Some(row), _) => {
        let v: i64 = get(&row, 0)?;
        row::to_u64(v).map(Some)
      }
      (None, true) => Err(codec::too_large()),
      (None, false) => Ok(None),
    }
  }

  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
    if limit == 0 {
      return Ok(vec![]);
    }
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(SQL_FEED_READ)).await?;
      c.query(&st, &[&after, &limit]).await.map_err(Error::from)
    })?;
    rows
      .iter()
      .map(|row| {
        let seq: i64 = get(row, 0)?;
        let handle: String = get(row, 1)?;
        Ok(Revocation {
          seq: row::to_u64(seq)?,
          handle: row::handle_text(&handle)?,
          until: UnixMillis(get(row, 2)?),
        })
      })
      .collect()
  }

  async fn sweep(&self, now: UnixMillis) -> Result<u64> {
    let batch = u64::try_from(SWEEP_BATCH).unwrap_or(u64::MAX);
    let mut removed = 0;
    loop {
      let n = self.sweep_batch(SQL_SWEEP_SESSIONS, now.0).await?;
      removed += n;
      if n < batch {
        break;
      }
    }
    while self.sweep_batch(SQL_SWEEP_FEED, now.0).await? >= batch {}
    Ok(removed)
  }

  async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
    let row = with_client!(self, CALL_TIMEOUT, |c| {
      let st = c.prepare_cached(&self.ns.sql(SQL_RING_LOAD)).await?;
      c.query_opt(&st, &[]).await.map_err(Error::from)
    })?;
    let Some(row) = row else {
      return Ok(None);
    };
    let version: i64 = get(&row, 0)?;
    Ok(Some(StoredRing {
      version: row::to_u64(version)?,
      sealed: get(&row, 1)?,
    }))
  }

  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
    let version = row::to_i64(ring.version)?;
    let expected = match expected {
      // No stored ring can have a version past i64::MAX: the swap cannot apply.
      Some(v) => match i64::try_from(v) {
        Ok(v) => Some(v),
        Err(_) => return Ok(false),
      },
      None => None,
    };
    let n = with_client!(self, CALL_TIMEOUT, |c| {
      match expected {
        None => {
          let st = c.prepare_cached(&self.ns.sql(SQL_RING_CREATE)).await?;
          c.query(&st, &[&version, &ring.sealed, &self.channel])
            .await
            .map_err(Error::from)
        }
        Some(expected) => {
          let st = c.prepare_cached(&self.ns.sql(SQL_RING_SWAP)).await?;
          c.query(&st, &[&version, &ring.sealed, &self.channel, &expected])
            .await
            .map_err(Error::from)
        }
      }
    })?;
    Ok(n.len() == 1)
  }
}

#[cfg(test)]
mod tests {
  use serde_json::json;

  use super::*;

  #[test]
  fn a_patch_splits_into_sets_and_removals_with_the_last_write_winning() {
    let patch: Vec<(String, Option<Value>)> = vec![
      ("a".into(), Some(json!(1))),
      ("a".into(), None),
      ("b".into(), None),
      ("b".into(), Some(json!(2))),
      ("c".into(), None),
      ("c".into(), None),
    ];
    let (set, removed) = split_patch(&patch);
    assert_eq!(Value::Object(set), json!({"b": 2}));
    assert_eq!(removed, vec!["a".to_owned(), "c".to_owned()]);
  }

  #[test]
  fn connection_strings_that_do_not_parse_or_name_an_unreadable_ca_are_config_invalid() -> Result<()>
  {
    let rt = tokio::runtime::Builder::new_current_thread()
      .enable_all()
      .build()
      .map_err(|_| err(ErrorKind::Internal, "rt"))?;
    rt.block_on(async {
      for url in [
        "postgres://u@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
        "postgres://u@127.0.0.1:1/db?sslmode=required",
        "postgres://u@127.0.0.1:notaport/db",
      ] {
        let kind = PostgresStore::connect(url).await.err().map(|e| e.kind());
        assert_eq!(kind, Some(ErrorKind::ConfigInvalid), "{url}");
      }
      Ok(())
    })
  }

  #[test]
  fn a_server_that_is_not_there_is_store_unavailable_promptly() -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
      .enable_all()
      .build()
      .map_err(|_| err(ErrorKind::Internal, "rt"))?;
    rt.block_on(async {
      let t = std::time::Instant::now();
      // Port 1 on loopback: nothing listens there, the connect is refused.
      let kind = PostgresStore::connect("postgres://u@127.0.0.1:1/db")
        .await
        .err()
        .map(|e| e.kind());
      assert_eq!(kind, Some(ErrorKind::StoreUnavailable));
      assert!(t.elapsed() < Duration::from_secs(5));
      Ok(())
    })
  }
}
