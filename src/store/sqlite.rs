//! The SQLite store: the embedded default that survives restarts.
//!
//! One database file in WAL mode, shared by every process of one machine that opens it.
//! SQLite is compiled from the crate's bundled source, so nothing else is installed.
//!
//! Guarantees:
//! - the full [`Store`] contract, also across processes sharing the file: every write is
//!   one `BEGIN IMMEDIATE` transaction, so it happens entirely or not at all, and SQLite's
//!   single writer lock orders the writes of all processes;
//! - never an upsert: only [`Store::insert`] creates a session row (a plain `INSERT`, which
//!   fails with `STORE_CORRUPT` on an existing handle); rotation is one
//!   `UPDATE … WHERE handle = ? AND generation = ? AND current_digest = ?`; a data patch
//!   reads, changes and writes the data of an existing row inside one transaction, so
//!   concurrent patches to different keys never lose each other and a patch racing a
//!   revocation writes nothing;
//! - the revocation feed is an `AUTOINCREMENT` table written in the same transaction as the
//!   delete: positions are never reused (not even after a sweep emptied the feed) and,
//!   since writers are serialised, a position becomes visible only after every smaller one,
//!   so a reader that remembers the last position it saw never misses an entry;
//! - durability: `synchronous = FULL`, so a write that returned is on disk. A process
//!   killed at any point (SIGKILL included) leaves a file that opens, with each
//!   transaction either whole or absent: a revocation that returned stays;
//! - the schema is created and migrated when the file is opened (`PRAGMA user_version`,
//!   one transaction); a file of another application (`PRAGMA application_id`) or a
//!   damaged file is refused with `STORE_CORRUPT`, a file of a newer schema with
//!   `STORE_UNAVAILABLE`;
//! - concurrent writers wait for each other rather than fail: a write waits up to
//!   [`BUSY_TIMEOUT`] (5 s) in all for the write lock (a fair queue within the process,
//!   SQLite's busy timeout across processes). A file that cannot be opened, locked, read or
//!   written is `STORE_UNAVAILABLE` (and the call changed nothing), a row that does not
//!   decode is `STORE_CORRUPT`; error messages are fixed texts, never data.
//!
//! Not guaranteed:
//! - anything across machines: SQLite's locks do not work over network file systems
//!   (use Redis or PostgreSQL);
//! - that a call whose future is dropped did nothing: the blocking work runs to its end;
//! - expiry by itself: expired rows stay (and are returned by `get`) until
//!   [`Store::sweep`] is called; the feed is bounded only by its `until` times;
//! - surviving the file's deletion or replacement while open: connections already open
//!   keep using the old file, new ones fail with `STORE_UNAVAILABLE` (they never create
//!   an empty store).
//!
//! The calls block on SQLite, so each runs on tokio's blocking pool (a tokio runtime must
//! be running), with at most [`MAX_CONNECTIONS`] connections of this store at once.
//! [`SqliteStore::open`] itself blocks (it creates or migrates the schema).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rusqlite::{ffi, params, Connection, OpenFlags, Row, Transaction, TransactionBehavior};
use serde_json::{Map, Value};
use tokio::sync::{Mutex as AsyncMutex, Semaphore};

use crate::clock::UnixMillis;
use crate::error::{err, Error, ErrorKind, Result};
use crate::session::owner::is_anonymous;
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::anonymous::DEFAULT_MAX_ANONYMOUS;
use crate::store::codec::apply_patch_within;
use crate::store::row::{self, Column, Columns, SQLITE_LOCKED};
use crate::store::{DataPatch, Revocation, Store, StoredRing};
use crate::token::Handle;

/// How long a write waits for the write lock (held by this process's other writers or by
/// another process) before it fails with `STORE_UNAVAILABLE`.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many connections (and blocking threads) per store.
pub const MAX_CONNECTIONS: usize = 8;

/// `PRAGMA application_id` of our files ("TndS"): a file with another one is refused.
pub const APPLICATION_ID: i32 = 0x546e_6453;

/// The migrations: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
  // 1: the first schema.
  "CREATE TABLE sessions (
     handle              BLOB    NOT NULL PRIMARY KEY CHECK (length(handle) = 16),
     user_id             TEXT    NOT NULL,
     generation          INTEGER NOT NULL CHECK (generation >= 0),
     current_digest      BLOB    NOT NULL CHECK (length(current_digest) = 32),
     previous_digest     BLOB             CHECK (previous_digest IS NULL OR length(previous_digest) = 32),
     rotated_at          INTEGER NOT NULL,
     salt                BLOB    NOT NULL CHECK (length(salt) = 16),
     idle_expires_at     INTEGER NOT NULL,
     absolute_expires_at INTEGER NOT NULL,
     created_at          INTEGER NOT NULL,
     last_refresh_at     INTEGER NOT NULL,
     created_ip          TEXT,
     created_user_agent  TEXT,
     last_ip             TEXT,
     last_user_agent     TEXT,
     claims              TEXT    NOT NULL,
     data                TEXT    NOT NULL,
     data_version        INTEGER NOT NULL CHECK (data_version >= 0)
   ) STRICT;
   CREATE INDEX sessions_by_user ON sessions (user_id);
   CREATE INDEX sessions_by_expiry ON sessions (min(idle_expires_at, absolute_expires_at));
   CREATE TABLE revocations (
     seq    INTEGER PRIMARY KEY AUTOINCREMENT,
     handle BLOB    NOT NULL CHECK (length(handle) = 16),
     until  INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX revocations_by_until ON revocations (until);
   CREATE TABLE key_ring (
     id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
     version INTEGER NOT NULL CHECK (version >= 0),
     sealed  TEXT    NOT NULL
   ) STRICT;",
  // 2: the anonymous sessions' quota (see `store::anonymous`): a count kept by triggers on
  // every insert and delete, and an index of them by age for evicting the oldest.
  "CREATE TABLE anonymous_count (
     id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
     n  INTEGER NOT NULL CHECK (n >= 0)
   ) STRICT;
   INSERT INTO anonymous_count (id, n)
     SELECT 1, count(*) FROM sessions WHERE substr(user_id, 1, 6) = '~anon:';
   CREATE INDEX sessions_anonymous_by_age ON sessions (created_at)
     WHERE substr(user_id, 1, 6) = '~anon:';
   CREATE TRIGGER sessions_anonymous_in AFTER INSERT ON sessions
     WHEN substr(NEW.user_id, 1, 6) = '~anon:'
     BEGIN UPDATE anonymous_count SET n = n + 1 WHERE id = 1; END;
   CREATE TRIGGER sessions_anonymous_out AFTER DELETE ON sessions
     WHEN substr(OLD.user_id, 1, 6) = '~anon:'
     BEGIN UPDATE anonymous_count SET n = n - 1 WHERE id = 1; END;",
];

/// Deletes the oldest anonymous sessions so that `?1` more fit under the quota `?2`.
const SQL_EVICT_ANONYMOUS: &str = "DELETE FROM sessions WHERE handle IN ( \
  SELECT handle FROM sessions WHERE substr(user_id, 1, 6) = '~anon:' ORDER BY created_at \
  LIMIT max(0, (SELECT n FROM anonymous_count WHERE id = 1) + ?1 - ?2))";

/// The schema version this code reads and writes.
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The columns of a session row, in the order of [`Column`].
const COLUMNS: &str = "handle, user_id, generation, current_digest, previous_digest, rotated_at, \
  salt, idle_expires_at, absolute_expires_at, created_at, last_refresh_at, created_ip, \
  created_user_agent, last_ip, last_user_agent, claims, data, data_version";

/// A session row from [`COLUMNS`], read by [`row::decode_record`].
struct SqliteRow<'a, 'r>(&'a Row<'r>);

impl Columns for SqliteRow<'_, '_> {
  fn handle(&self) -> Result<Handle> {
    Ok(Handle(row::fixed(self.0.get(Column::Handle as usize)?)?))
  }
  fn int(&self, c: Column) -> Result<i64> {
    Ok(self.0.get(c as usize)?)
  }
  fn text(&self, c: Column) -> Result<Option<String>> {
    Ok(self.0.get(c as usize)?)
  }
  fn bytes(&self, c: Column) -> Result<Option<Vec<u8>>> {
    Ok(self.0.get(c as usize)?)
  }
}

fn is_primary_key_violation(e: &rusqlite::Error) -> bool {
  matches!(e, rusqlite::Error::SqliteFailure(f, _)
    if f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// Settings of every connection (not kept in the file). `busy_timeout` is set again by
/// each call: [`BUSY_TIMEOUT`] for a read, what is left of its deadline for a write.
fn configure(conn: &Connection) -> Result<()> {
  conn.busy_timeout(BUSY_TIMEOUT)?;
  conn
    .execute_batch("PRAGMA synchronous = FULL; PRAGMA trusted_schema = OFF;")
    .map_err(Error::from)
}

/// Settings, WAL mode and the schema of a freshly opened connection.
fn prepare(conn: &mut Connection) -> Result<()> {
  configure(conn)?;
  let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
  if !mode.eq_ignore_ascii_case("wal") {
    return Err(err(
      ErrorKind::StoreUnavailable,
      "the sqlite file cannot be put in WAL mode",
    ));
  }
  migrate(conn)
}

/// Is `e` the "file is locked" error (see `store::row`)?
fn is_locked(e: &Error) -> bool {
  e.kind() == ErrorKind::StoreUnavailable && e.detail() == SQLITE_LOCKED
}

/// Create or migrate the schema, in one transaction.
fn migrate(conn: &mut Connection) -> Result<()> {
  let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
  let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
  let app: i32 = tx.pragma_query_value(None, "application_id", |r| r.get(0))?;
  let foreign = if version == 0 {
    app != 0 && app != APPLICATION_ID
  } else {
    app != APPLICATION_ID
  };
  if foreign || version < 0 {
    return Err(err(
      ErrorKind::StoreCorrupt,
      "the sqlite file is not a tandem-session store",
    ));
  }
  if version > SCHEMA_VERSION {
    return Err(err(
      ErrorKind::StoreUnavailable,
      "the sqlite file has a newer schema than this version reads",
    ));
  }
  if version == SCHEMA_VERSION {
    return Ok(());
  }
  for step in MIGRATIONS
    .iter()
    .skip(usize::try_from(version).unwrap_or(0))
  {
    tx.execute_batch(step)?;
  }
  tx.pragma_update(None, "application_id", APPLICATION_ID)?;
  tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
  tx.commit().map_err(Error::from)
}

struct Shared {
  path: PathBuf,
  idle: Mutex<Vec<Connection>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
  m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
  fn connection(&self) -> Result<Connection> {
    if let Some(c) = lock(&self.idle).pop() {
      return Ok(c);
    }
    // No CREATE: if the file vanished, fail rather than start an empty store.
    let conn = Connection::open_with_flags(
      &self.path,
      OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    configure(&conn)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version != SCHEMA_VERSION {
      return Err(err(
        ErrorKind::StoreUnavailable,
        "the sqlite file has another schema version",
      ));
    }
    Ok(conn)
  }

  fn give_back(&self, conn: Connection) {
    // A connection left inside a transaction (a failed commit or rollback) is dropped.
    if conn.is_autocommit() {
      let mut idle = lock(&self.idle);
      if idle.len() < MAX_CONNECTIONS {
        idle.push(conn);
      }
    }
  }
}

/// The SQLite store.
pub struct SqliteStore {
  shared: Arc<Shared>,
  /// Bounds the connections (and blocking threads) in use.
  permits: Arc<Semaphore>,
  /// Queues this process's writers (fairly, without holding a connection or a thread) so
  /// they do not poll SQLite's lock against each other; other processes are waited for by
  /// SQLite's busy timeout.
  writer: Arc<AsyncMutex<()>>,
  /// The anonymous sessions' quota.
  max_anonymous: u64,
}

impl SqliteStore {
  /// The same store with at most `max_anonymous` anonymous sessions (at least 1; default
  /// [`DEFAULT_MAX_ANONYMOUS`]): a new one beyond it evicts the oldest.
  #[must_use]
  pub fn with_max_anonymous(mut self, max_anonymous: u64) -> Self {
    self.max_anonymous = max_anonymous.max(1);
    self
  }

  /// Open the store in the file at `path`, creating the file (not its directory) if
  /// needed, switching it to WAL mode and creating or migrating the schema. Blocks.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE` when the file cannot be opened, locked or written, or has a newer
  /// schema; `STORE_CORRUPT` when it is damaged, not a database, or another
  /// application's database.
  pub fn open(path: impl AsRef<Path>) -> Result<Self> {
    let path = path.as_ref().to_path_buf();
    let mut conn = Connection::open_with_flags(
      &path,
      OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Several processes opening a new file at once can meet SQLITE_BUSY where SQLite does
    // not call the busy handler (switching to WAL, a write transaction racing the WAL's
    // creation): retry the whole setup, with a growing pause, within BUSY_TIMEOUT.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let mut pause = std::time::Duration::from_millis(5);
    loop {
      match prepare(&mut conn) {
        Err(e) if is_locked(&e) && std::time::Instant::now() + pause < deadline => {
          std::thread::sleep(pause);
          pause = (pause * 2).min(std::time::Duration::from_millis(200));
        }
        other => break other?,
      }
    }
    let shared = Shared {
      path,
      idle: Mutex::new(vec![conn]),
    };
    Ok(Self {
      shared: Arc::new(shared),
      permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
      writer: Arc::new(AsyncMutex::new(())),
      max_anonymous: DEFAULT_MAX_ANONYMOUS,
    })
  }

  /// Run `f` with a connection on the blocking pool.
  async fn run<T, F>(&self, f: F) -> Result<T>
  where
    T: Send + 'static,
    F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
  {
    let permit = Arc::clone(&self.permits)
      .acquire_owned()
      .await
      .map_err(|_| row::unavailable("the sqlite store is closed"))?;
    let shared = Arc::clone(&self.shared);
    tokio::task::spawn_blocking(move || {
      let _permit = permit;
      let mut conn = shared.connection()?;
      let out = conn
        .busy_timeout(BUSY_TIMEOUT)
        .map_err(Error::from)
        .and_then(|()| f(&mut conn));
      shared.give_back(conn);
      out
    })
    .await
    .map_err(|e| {
      if e.is_panic() {
        err(ErrorKind::Internal, "a sqlite store task panicked")
      } else {
        err(
          ErrorKind::StoreUnavailable,
          "the sqlite store task was cancelled",
        )
      }
    })?
  }

  /// Run `f` inside one `BEGIN IMMEDIATE` transaction, committed when `f` returns `Ok`
  /// and rolled back otherwise, waiting at most [`BUSY_TIMEOUT`] in all for the lock.
  ///
  /// The in-process queue is first in, first out and every writer ahead of us gives up by
  /// its own (earlier) deadline, so the queue never makes the wait longer than that.
  async fn write<T, F>(&self, f: F) -> Result<T>
  where
    T: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<T> + Send + 'static,
  {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let turn = Arc::clone(&self.writer).lock_owned().await;
    self
      .run(move |conn| {
        let _turn = turn;
        // Past the deadline: no wait, but still one try.
        conn.busy_timeout(deadline.saturating_duration_since(Instant::now()))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
      })
      .await
  }
}

fn select_session(conn: &Connection, handle: &Handle) -> Result<Option<SessionRecord>> {
  let mut stmt =
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM sessions WHERE handle = ?1"))?;
  let mut rows = stmt.query(params![&handle.0[..]])?;
  match rows.next()? {
    Some(r) => row::decode_record(&SqliteRow(r)).map(Some),
    None => Ok(None),
  }
}

#[async_trait]
impl Store for SqliteStore {
  fn kind(&self) -> &'static str {
    "sqlite"
  }

  async fn insert(&self, record: &SessionRecord) -> Result<u64> {
    let r = record.clone();
    let claims = row::json_text(&r.claims)?;
    let data = row::json_text(&r.data)?;
    let data_version = row::to_i64(r.data_version)?;
    let max_anonymous = row::to_i64(self.max_anonymous)?;
    self
      .write(move |tx| {
        if is_anonymous(&r.user_id) {
          // Room for this one under the quota, by evicting the oldest (never this one).
          tx.prepare_cached(SQL_EVICT_ANONYMOUS)?
            .execute(params![1_i64, max_anonymous])?;
        }
        let sql = format!(
          "INSERT INTO sessions ({COLUMNS}) VALUES \
           (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let f = &r.refresh;
        stmt
          .execute(params![
            &r.handle.0[..],
            r.user_id,
            f.generation,
            &f.current_digest[..],
            f.previous_digest.as_ref().map(|d| &d[..]),
            f.rotated_at.0,
            &f.salt[..],
            f.idle_expires_at.0,
            f.absolute_expires_at.0,
            r.created_at.0,
            r.last_refresh_at.0,
            r.created_device.ip,
            r.created_device.user_agent,
            r.last_device.ip,
            r.last_device.user_agent,
            claims,
            data,
            data_version,
          ])
          .map_err(|e| {
            if is_primary_key_violation(&e) {
              row::handle_exists()
            } else {
              e.into()
            }
          })?;
        if is_anonymous(&r.user_id) {
          return Ok(0);
        }
        let held: i64 = tx
          .prepare_cached("SELECT count(*) FROM sessions WHERE user_id = ?1")?
          .query_row(params![r.user_id], |row| row.get(0))?;
        row::to_u64(held)
      })
      .await
  }

  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    let h = *handle;
    self.run(move |conn| select_session(conn, &h)).await
  }

  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool> {
    let (h, from, to, device) = (*handle, from.clone(), to.clone(), device.clone());
    self
      .write(move |tx| {
        let mut stmt = tx.prepare_cached(
          "UPDATE sessions SET generation = ?1, current_digest = ?2, previous_digest = ?3, \
             rotated_at = ?4, salt = ?5, idle_expires_at = ?6, absolute_expires_at = ?7, \
             last_refresh_at = ?8, last_ip = ?9, last_user_agent = ?10 \
             WHERE handle = ?11 AND generation = ?12 AND current_digest = ?13",
        )?;
        let changed = stmt.execute(params![
          to.generation,
          &to.current_digest[..],
          to.previous_digest.as_ref().map(|d| &d[..]),
          to.rotated_at.0,
          &to.salt[..],
          to.idle_expires_at.0,
          to.absolute_expires_at.0,
          now.0,
          device.ip,
          device.user_agent,
          &h.0[..],
          from.generation,
          &from.current_digest[..],
        ])?;
        Ok(changed == 1)
      })
      .await
  }

  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
    let h = *handle;
    self
      .write(move |tx| {
        let Some(record) = select_session(tx, &h)? else {
          return Ok(None);
        };
        tx.prepare_cached("DELETE FROM sessions WHERE handle = ?1")
          .and_then(|mut s| s.execute(params![&h.0[..]]))?;
        tx.prepare_cached("INSERT INTO revocations (handle, until) VALUES (?1, ?2)")
          .and_then(|mut s| s.execute(params![&h.0[..], until.0]))?;
        Ok(Some(record))
      })
      .await
  }

  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
    let user = user_id.to_owned();
    self
      .run(move |conn| {
        let mut stmt = conn.prepare_cached(&format!(
          "SELECT {COLUMNS} FROM sessions WHERE user_id = ?1"
        ))?;
        let mut rows = stmt.query(params![user])?;
        let mut out = vec![];
        while let Some(r) = rows.next()? {
          out.push(row::decode_record(&SqliteRow(r))?);
        }
        Ok(out)
      })
      .await
  }

  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>> {
    let (h, patch) = (*handle, patch.to_vec());
    self
      .write(move |tx| {
        let found = tx
          .prepare_cached("SELECT data, data_version FROM sessions WHERE handle = ?1")
          .and_then(|mut s| {
            let mut rows = s.query(params![&h.0[..]])?;
            match rows.next()? {
              Some(row) => Ok(Some((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))),
              None => Ok(None),
            }
          })?;
        let Some((text, version)) = found else {
          return Ok(None);
        };
        let mut data: Map<String, Value> = row::from_json(&text)?;
        apply_patch_within(&mut data, &patch, max_bytes)?;
        let next = row::to_u64(version)?
          .checked_add(1)
          .ok_or_else(row::corrupt)?;
        let next_sql = row::to_i64(next).map_err(|_| row::corrupt())?;
        let text = row::json_text(&data)?;
        tx.prepare_cached("UPDATE sessions SET data = ?1, data_version = ?2 WHERE handle = ?3")
          .and_then(|mut s| s.execute(params![text, next_sql, &h.0[..]]))?;
        Ok(Some(next))
      })
      .await
  }

  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
    // Positions are positive i64; one past i64::MAX has nothing after it.
    let Ok(after) = i64::try_from(after) else {
      return Ok(vec![]);
    };
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    self
      .run(move |conn| {
        let mut stmt = conn.prepare_cached(
          "SELECT seq, handle, until FROM revocations WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?;
        let mut rows = stmt.query(params![after, limit])?;
        let mut out = vec![];
        while let Some(found) = rows.next()? {
          out.push(Revocation {
            seq: row::to_u64(found.get(0)?)?,
            handle: Handle(row::fixed(found.get(1)?)?),
            until: UnixMillis(found.get(2)?),
          });
        }
        Ok(out)
      })
      .await
  }

  async fn sweep(&self, now: UnixMillis) -> Result<u64> {
    self
      .write(move |tx| {
        let removed = tx
          .prepare_cached(
            "DELETE FROM sessions WHERE min(idle_expires_at, absolute_expires_at) <= ?1",
          )
          .and_then(|mut s| s.execute(params![now.0]))?;
        tx.prepare_cached("DELETE FROM revocations WHERE until <= ?1")
          .and_then(|mut s| s.execute(params![now.0]))?;
        Ok(removed as u64)
      })
      .await
  }

  async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
    self
      .run(|conn| {
        let mut stmt = conn.prepare_cached("SELECT version, sealed FROM key_ring WHERE id = 1")?;
        let mut rows = stmt.query([])?;
        match rows.next()? {
          Some(found) => Ok(Some(StoredRing {
            version: row::to_u64(found.get(0)?)?,
            sealed: found.get(1)?,
          })),
          None => Ok(None),
        }
      })
      .await
  }

  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
    let version = row::to_i64(ring.version)?;
    let sealed = ring.sealed.clone();
    let expected = match expected.map(i64::try_from) {
      None => None,
      Some(Ok(v)) => Some(v),
      // No stored version can be that large: the compare fails.
      Some(Err(_)) => return Ok(false),
    };
    self
      .write(move |tx| {
        let changed = match expected {
          None => tx
            .prepare_cached(
              "INSERT INTO key_ring (id, version, sealed) SELECT 1, ?1, ?2 \
               WHERE NOT EXISTS (SELECT 1 FROM key_ring)",
            )
            .and_then(|mut s| s.execute(params![version, sealed])),
          Some(old) => tx
            .prepare_cached(
              "UPDATE key_ring SET version = ?1, sealed = ?2 WHERE id = 1 AND version = ?3",
            )
            .and_then(|mut s| s.execute(params![version, sealed, old])),
        }?;
        Ok(changed == 1)
      })
      .await
  }
}
