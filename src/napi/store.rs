//! Stores as JS sees them: one class, `NativeStore`, made by an async opener per kind.
//! `js/stores.js` gives them their public names (`MemoryStore`, `SqliteStore`, …).
//! Openers and `startEngine` are async; a failure rejects with `err.code` set (see
//! `error.rs`): `STORE_UNAVAILABLE`, `STORE_CORRUPT`, `CONFIG_INVALID`, ….

use std::sync::Arc;

use napi::bindgen_prelude::PromiseRaw;
use napi::Env;
use napi_derive::napi;

use crate::error::{Error, ErrorKind};
use crate::napi::engine::{self, NapiEngine};
use crate::napi::error::promise;
use crate::napi::options::{NapiSessionOptions, NapiTokenOptions};
use crate::store::anonymous::DEFAULT_MAX_ANONYMOUS;
use crate::store::postgres::{Namespace, PostgresOptions};
use crate::store::{MemoryStore, PostgresStore, RedisStore, SqliteStore, Store};

/// A session store (memory, SQLite, Redis, PostgreSQL).
#[napi(js_name = "NativeStore")]
pub struct NapiStore {
  pub(crate) store: Arc<dyn Store>,
}

#[napi]
impl NapiStore {
  /// The kind of store: `"memory"`, `"sqlite"`, `"redis"` or `"postgres"`.
  #[napi(getter)]
  pub fn kind(&self) -> String {
    self.store.kind().to_owned()
  }

  /// Start a session engine over this store (adopts or publishes the key ring).
  #[napi]
  pub fn start_engine<'env>(
    &self,
    env: &'env Env,
    options: NapiTokenOptions,
    session: Option<NapiSessionOptions>,
  ) -> napi::Result<PromiseRaw<'env, NapiEngine>> {
    promise(
      env,
      engine::start(Arc::clone(&self.store), options, session),
    )
  }

  /// Close the store: its push listener stops and its pooled connections close
  /// (`Store::close`). Engines over it fail their store calls from then on.
  #[napi]
  pub fn close(&self) {
    self.store.close();
  }

  /// A bridge store only (`openBridgeStore`): take the lock of session key `key` now if
  /// it is free, for Node's side to make the session's store calls itself; the id to
  /// `release` it by, or null (taken: leave the work to the engine, which waits).
  #[napi]
  pub fn try_hold(&self, key: String) -> Option<f64> {
    let side = self.store.node_side()?;
    side.try_hold(&key).map(|id| id as f64)
  }

  /// Give back a lock `tryHold` took.
  #[napi]
  pub fn release(&self, id: f64) {
    if let Some(side) = self.store.node_side() {
      side.release(id as u64);
    }
  }
}

/// The memory store's default bound on live sessions (`maxSessions`).
#[napi]
pub const DEFAULT_MAX_SESSIONS: u32 = crate::store::memory::DEFAULT_MAX_SESSIONS as u32;

/// A memory store holding at most `maxSessions` sessions (default 100000), of which at
/// most `maxAnonymous` anonymous ones (default half of `maxSessions`).
#[napi]
pub fn open_memory_store(max_sessions: Option<u32>, max_anonymous: Option<u32>) -> NapiStore {
  let max = max_sessions.map_or(crate::store::memory::DEFAULT_MAX_SESSIONS, |n| n as usize);
  let store = MemoryStore::new(max);
  opened(match max_anonymous {
    Some(n) => store.with_max_anonymous(n as usize),
    None => store,
  })
}

/// The anonymous quota a store opener was given, or the default.
fn anonymous_quota(max_anonymous: Option<u32>) -> u64 {
  max_anonymous.map_or(DEFAULT_MAX_ANONYMOUS, u64::from)
}

/// Open (creating it if needed) the SQLite store in the file `path`, with at most
/// `maxAnonymous` anonymous sessions (default 100000).
#[napi]
pub fn open_sqlite_store(
  env: &Env,
  path: String,
  max_anonymous: Option<u32>,
) -> napi::Result<PromiseRaw<'_, NapiStore>> {
  let quota = anonymous_quota(max_anonymous);
  promise(env, async move {
    let opening = tokio::task::spawn_blocking(move || {
      Ok::<_, Error>(SqliteStore::open(path)?.with_max_anonymous(quota))
    });
    match opening.await {
      Ok(store) => Ok(opened(store?)),
      Err(_) => Err(Error::new(ErrorKind::Internal, "the store opener panicked").into()),
    }
  })
}

/// Where and how big a PostgreSQL store is (`openPostgresStore`'s options).
#[napi(object)]
#[derive(Default)]
pub struct NapiPostgresOptions {
  /// At most this many anonymous sessions (default 100000).
  pub max_anonymous: Option<u32>,
  /// The schema of the tables, created if missing (default: the connection's first
  /// `search_path` schema).
  pub schema: Option<String>,
  /// The prefix of every table name (default `tandem_`).
  pub table_prefix: Option<String>,
  /// PEM certificates to trust for TLS instead of the system's roots.
  pub ca: Option<String>,
}

/// Connect to PostgreSQL (`postgres://…`); creates or migrates the tables.
#[napi]
pub fn open_postgres_store(
  env: &Env,
  connection_string: String,
  options: Option<NapiPostgresOptions>,
) -> napi::Result<PromiseRaw<'_, NapiStore>> {
  let o = options.unwrap_or_default();
  let namespace = Namespace::new(o.schema.as_deref(), o.table_prefix.as_deref());
  promise(env, async move {
    let options = PostgresOptions {
      max_anonymous: anonymous_quota(o.max_anonymous),
      namespace: namespace?,
      ca: o.ca.map(String::into_bytes),
      ..PostgresOptions::default()
    };
    Ok(opened(
      PostgresStore::connect_with(&connection_string, &options).await?,
    ))
  })
}

/// How a Redis store names its keys and how big it is (`openRedisStore`'s options).
#[napi(object)]
#[derive(Default)]
pub struct NapiRedisOptions {
  /// At most this many anonymous sessions (default 100000, split over 256 hash tags).
  pub max_anonymous: Option<u32>,
  /// The prefix of every key (default `ts:`).
  pub prefix: Option<String>,
  /// PEM certificates to trust for `rediss://` instead of the system's roots.
  pub ca: Option<String>,
}

/// A connected Redis store with the rest of its options: the anonymous quota, the prefix.
fn redis_opened(
  store: RedisStore,
  max_anonymous: Option<u32>,
  prefix: Option<String>,
) -> crate::error::Result<NapiStore> {
  let store = store.with_max_anonymous(anonymous_quota(max_anonymous));
  Ok(opened(match prefix {
    Some(p) => store.with_prefix(&p)?,
    None => store,
  }))
}

/// Connect to a Redis server (`redis://host:port/db`, `rediss://` for TLS).
#[napi]
pub fn open_redis_store(
  env: &Env,
  url: String,
  options: Option<NapiRedisOptions>,
) -> napi::Result<PromiseRaw<'_, NapiStore>> {
  let o = options.unwrap_or_default();
  promise(env, async move {
    let ca = o.ca.as_deref().map(str::as_bytes);
    let store = RedisStore::connect_with_ca(&url, ca).await?;
    Ok(redis_opened(store, o.max_anonymous, o.prefix)?)
  })
}

/// Connect to a Redis Cluster, given some of its nodes' URLs, with the options of
/// `openRedisStore`.
#[napi]
pub fn open_redis_cluster_store(
  env: &Env,
  urls: Vec<String>,
  options: Option<NapiRedisOptions>,
) -> napi::Result<PromiseRaw<'_, NapiStore>> {
  let o = options.unwrap_or_default();
  promise(env, async move {
    let ca = o.ca.as_deref().map(str::as_bytes);
    let store = RedisStore::connect_cluster_with_ca(&urls, ca).await?;
    Ok(redis_opened(store, o.max_anonymous, o.prefix)?)
  })
}

fn opened(store: impl Store + 'static) -> NapiStore {
  NapiStore {
    store: Arc::new(store),
  }
}
