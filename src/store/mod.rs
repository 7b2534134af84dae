//! Session stores: the one trait every store implements ([`Store`]), and the stores.
//!
//! The contract, in short (each point is checked by `store::conformance`, run against every
//! store on a real server):
//! - **never an upsert**: only [`Store::insert`] creates a record; every other write
//!   changes a record only if it exists, so a slow request that writes after a logout
//!   writes nothing (DESIGN promise 5);
//! - **compare-and-swap rotation**: [`Store::rotate`] applies a rotation decision only if
//!   the stored generation and digest are still the ones the decision was made on;
//! - **patches, not overwrites**: [`Store::patch_data`] changes only the given keys of the
//!   session data, atomically, and bumps the data version (DESIGN promise 9); in the same
//!   step it refuses a write that would grow the data past its size limit;
//! - **a revocation feed**: [`Store::revoke`] appends to a log that every process reads
//!   with [`Store::revocations_since`], so revocation reaches them all; a server store
//!   also pushes a notice of each change ([`Store::changes`]) so they read it at once;
//! - **the key ring** is stored sealed, and saved by compare-and-swap on its version, so
//!   exactly one process performs each scheduled rotation;
//! - failures are `STORE_UNAVAILABLE` (the store could not be reached: nothing changed) or
//!   `STORE_CORRUPT`, by one rule for every store (see `store::row`); messages never
//!   contain data.

pub mod anonymous;
pub mod bridge;
pub mod changes;
pub mod codec;
pub mod conformance;
pub mod memory;
pub mod metered;
pub mod postgres;
pub mod redis;
pub(crate) mod row;
pub mod sqlite;
pub mod tls;

use async_trait::async_trait;
use serde_json::Value;

use crate::clock::UnixMillis;
use crate::error::Result;
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::token::Handle;

pub use self::redis::RedisStore;
pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// One entry of the revocation feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
  /// Position in the feed: strictly increasing in the order revocations were written.
  pub seq: u64,
  /// The revoked session.
  pub handle: Handle,
  /// Until when its access tokens may still be presented: engines keep it in memory
  /// until then; the store may forget it after.
  pub until: UnixMillis,
}

/// The sealed key ring as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRing {
  /// The ring's version (see `keys::ring`).
  pub version: u64,
  /// The sealed ring (see `keys::sealed`): no key material in clear.
  pub sealed: String,
}

/// A change to one key of the session data: a new value, or `None` to delete the key.
pub type DataPatch = [(String, Option<Value>)];

/// A session store. All methods are atomic with respect to each other, also across
/// processes sharing the store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
  /// A short name for logs and errors (`"memory"`, `"sqlite"`, …).
  fn kind(&self) -> &'static str;

  /// Insert a new session. The handle is new (random, 128 bits); if it exists anyway,
  /// nothing is overwritten and the call fails with `STORE_CORRUPT`. Returns how many
  /// sessions the user holds now, this one included, as the store's index counts them
  /// (it may still count expired ones not yet swept): the engine's cue to enforce
  /// `maxSessionsPerUser` without a read per login. 0 for an anonymous session.
  async fn insert(&self, record: &SessionRecord) -> Result<u64>;

  /// The session, if it exists. An expired one may still be returned until swept: the
  /// engine checks the times.
  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>>;

  /// Replace the refresh state `from` by `to`, and set `last_refresh_at = now` and
  /// `last_device = device`, only if the session exists and its refresh state still has
  /// `from.generation` and `from.current_digest`. Returns whether it did.
  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool>;

  /// Delete the session and append it to the revocation feed with `until`. Returns the
  /// deleted record, or `None` when there was none (then the feed is not written).
  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>>;

  /// Every session of `user_id` (expired ones may be included until swept).
  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>>;

  /// Apply `patch` to the session data and add 1 to its data version, only if the session
  /// exists and the patched data is at most `max_bytes` by `codec::data_size` (or no
  /// larger than before: a shrinking write always applies). Returns the new version, or
  /// `None` when the session does not exist; `DATA_TOO_LARGE` when it writes nothing for
  /// the size.
  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>>;

  /// Revocations with `seq > after`, oldest first, at most `limit`.
  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>>;

  /// Remove sessions past their idle or absolute expiry and feed entries past `until`.
  /// Returns how many sessions were removed.
  async fn sweep(&self, now: UnixMillis) -> Result<u64>;

  /// The stored key ring, if any.
  async fn load_key_ring(&self) -> Result<Option<StoredRing>>;

  /// Store `ring` only if the stored ring's version is `expected` (`None`: no ring stored
  /// yet). Returns whether it was stored.
  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool>;

  /// Pushed notices that the feed or the key ring changed (see `changes`), for the
  /// engine to read them at once; `None` (the default): the engine polls. The first call
  /// starts the store's listener.
  fn changes(&self) -> Option<tokio::sync::watch::Receiver<changes::Change>> {
    None
  }

  /// Close the store: its push listener stops and, for a pool, its connections close;
  /// calls after it fail with `STORE_UNAVAILABLE`, or (Redis) still work on the one
  /// multiplexed connection, which ends when the store is dropped. Nothing by default.
  fn close(&self) {}

  /// The bridge's hooks for Node's side (`bridge::NodeSide`): `None` for the native
  /// stores, which Node's side never calls.
  fn node_side(&self) -> Option<&dyn bridge::NodeSide> {
    None
  }

  /// The app used the session and changed nothing (express-session's end-of-request
  /// `touch`, or with `rewrite` its `resave`: the whole record written again). Returns
  /// whether the session exists. The native stores keep every expiry in the record and
  /// need no such call: their answer is `true` without I/O (the engine's token checks
  /// decide); the bridge makes the call its store expects.
  async fn keep_alive(&self, _handle: &Handle, _rewrite: bool) -> Result<bool> {
    Ok(true)
  }
}
