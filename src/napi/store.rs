//! Stores as JS sees them: one class, `NativeStore`, made by an async opener per kind.
//! `js/stores.js` gives them their public names (`MemoryStore`, `SqliteStore`, …).

use std::sync::Arc;

use napi_derive::napi;

use crate::store::{MemoryStore, Store};

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
  pub async fn start_engine(
    &self,
    options: crate::napi::options::NapiTokenOptions,
    session: Option<crate::napi::options::NapiSessionOptions>,
  ) -> napi::Result<crate::napi::engine::NapiEngine> {
    crate::napi::engine::start(Arc::clone(&self.store), options, session).await
  }
}

/// A memory store holding at most `maxSessions` sessions (default 100000).
#[napi]
pub fn open_memory_store(max_sessions: Option<u32>) -> NapiStore {
  let max = max_sessions.map_or(crate::store::memory::DEFAULT_MAX_SESSIONS, |n| n as usize);
  NapiStore {
    store: Arc::new(MemoryStore::new(max)),
  }
}

/// Open (creating it if needed) the SQLite store in the file `path`.
#[napi]
pub async fn open_sqlite_store(path: String) -> napi::Result<NapiStore> {
  let store = tokio::task::spawn_blocking(move || crate::store::SqliteStore::open(path))
    .await
    .map_err(|_| {
      napi::Error::new(
        napi::Status::GenericFailure,
        "INTERNAL: the store opener panicked",
      )
    })?
    .map_err(crate::napi::error::core_to_js_async)?;
  Ok(NapiStore {
    store: Arc::new(store),
  })
}

/// Connect to PostgreSQL (`postgres://…`); creates or migrates the tables.
#[napi]
pub async fn open_postgres_store(connection_string: String) -> napi::Result<NapiStore> {
  let store = crate::store::PostgresStore::connect(&connection_string)
    .await
    .map_err(crate::napi::error::core_to_js_async)?;
  Ok(NapiStore {
    store: Arc::new(store),
  })
}

/// Connect to a Redis server (`redis://host:port/db`).
#[napi]
pub async fn open_redis_store(url: String) -> napi::Result<NapiStore> {
  let store = crate::store::RedisStore::connect(&url)
    .await
    .map_err(crate::napi::error::core_to_js_async)?;
  Ok(NapiStore {
    store: Arc::new(store),
  })
}

/// Connect to a Redis Cluster, given some of its nodes' URLs.
#[napi]
pub async fn open_redis_cluster_store(urls: Vec<String>) -> napi::Result<NapiStore> {
  let store = crate::store::RedisStore::connect_cluster(&urls)
    .await
    .map_err(crate::napi::error::core_to_js_async)?;
  Ok(NapiStore {
    store: Arc::new(store),
  })
}
