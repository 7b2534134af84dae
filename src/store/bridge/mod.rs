//! The bridge store: the [`Store`] contract over any key-value store that offers only
//! `get`, `set` and `destroy` of JSON values by key — express-session's store contract
//! (connect-redis, connect-pg-simple, connect-mongo, memorystore, …), reached through a
//! [`KeyValue`] (the napi layer calls the app's store object; tests use a map).
//!
//! Keys: a session under its handle (a 22-character base64url text, never an
//! express-session id, which has 32); the bridge's own records under `~tandem:ring`,
//! `~tandem:feed` and `~tandem:user:<user id>` (the handles of one user who logged in; an
//! anonymous session's id is made of its handle, so it needs no index: saving one is one
//! `set`, as in express-session). Every value is a session object with a `cookie` whose
//! `expires` is the record's expiry, so the store expires it by itself. At the end of a
//! request that changed nothing, [`Store::keep_alive`] makes express-session's call: the
//! store's `touch` with the current record, or with `rewrite` (`resave`) a `set` of it.
//!
//! Guarantees, within one process: every method is atomic with respect to the others, as
//! the contract asks: each holds the locks of the keys it reads and writes (striped by key,
//! taken in one order) across its get → check → set, so a rotation is a compare-and-swap,
//! a save after a logout writes nothing, and concurrent patches all land.
//!
//! Not guaranteed across processes sharing the store: the key-value contract has no
//! compare-and-swap, so two processes can interleave one get → set. In that window (one
//! round trip of the store, per session) a refresh racing a refresh of the same session in
//! another process can make the loser's next refresh look like reuse (a false theft: the
//! session is revoked, the user signs in again), a save racing a logout in another process
//! can write the session back (it then lives until its access tokens and expiry allow), and
//! two processes saving different keys can lose one of them. The revocation feed and a
//! user's handle list are shared records with the same window: another process may miss a
//! revocation (it then learns when its copy of the session is read again) or a listed
//! session. The key ring is kept safe from it: a ring write reads the ring back after
//! [`RING_SETTLE`] and reports a loss when another process's write won, so two processes
//! starting together on an empty store end up on one ring. The native stores (SQLite,
//! Redis, PostgreSQL) close every window with atomic writes; use one of them when more
//! than one process serves a session.

mod node_side;
mod wire;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::{Mutex as AsyncMutex, MutexGuard};

use crate::clock::{Clock, SystemClock, UnixMillis};
use crate::digest::ct_eq;
use crate::error::Result;
use crate::session::{anonymous_handle, DeviceInfo, RefreshState, SessionRecord};
use crate::store::codec::apply_patch_within;
use crate::store::row::{corrupt, handle_exists};
use crate::store::{DataPatch, Revocation, Store, StoredRing};
use crate::token::Handle;

pub use node_side::NodeSide;
pub use wire::{decode_record, decode_session, encode_record};

/// A key-value store of JSON values: express-session's `get`/`set`/`destroy`.
#[async_trait]
pub trait KeyValue: Send + Sync + 'static {
  /// The value under `key`, or `None`. Errors are `STORE_UNAVAILABLE`.
  async fn get(&self, key: &str) -> Result<Option<Value>>;
  /// Store `value` under `key`, replacing what was there.
  async fn set(&self, key: &str, value: &Value) -> Result<()>;
  /// Remove `key` (nothing when absent).
  async fn destroy(&self, key: &str) -> Result<()>;
  /// `key` is still in use; `value` is what it holds (express-session's `touch`, which
  /// a store uses to push back its expiry). A store without `touch` does nothing: the
  /// default.
  async fn touch(&self, _key: &str, _value: &Value) -> Result<()> {
    Ok(())
  }
}

const RING_KEY: &str = "~tandem:ring";
const FEED_KEY: &str = "~tandem:feed";
const USER_PREFIX: &str = "~tandem:user:";
/// Lock stripes: keys that hash alike share a lock (bounded memory, no per-key cleanup).
const STRIPES: usize = 256;
/// How long a key-ring write waits before reading back which ring the store kept: longer
/// than a store round trip, so two processes saving at once both see the winner.
const RING_SETTLE: std::time::Duration = std::time::Duration::from_millis(200);
/// The feed keeps at most this many revocations (and none past its `until`).
const MAX_FEED: usize = 10_000;
/// Most sessions one process watches for expiry (`sweep`): past it, a new session is left
/// to the store's own expiry by its cookie (every record carries one), so a flood of
/// visitors cannot grow the set (16 bytes and a sweep read each) without bound.
pub const MAX_KNOWN: usize = 100_000;
/// The bridge's own records are kept this long past their last write (the key ring is
/// written at every scheduled rotation, well inside it).
const OWN_RECORD_MS: i64 = 400 * 24 * 60 * 60 * 1000;

#[derive(Serialize, Deserialize, Default)]
struct Feed {
  seq: u64,
  entries: Vec<(u64, String, i64)>,
}

#[derive(Serialize, Deserialize)]
struct Ring {
  version: u64,
  sealed: String,
}

/// The bridge store over `K`.
pub struct BridgeStore<K: KeyValue> {
  kv: K,
  stripes: Vec<Arc<AsyncMutex<()>>>,
  /// Stripe locks Node's side holds (node_side.rs).
  holds: node_side::Holds,
  /// Handles this process inserted and has not seen go (at most `max_known`): what
  /// `sweep` checks.
  known: Mutex<HashSet<Handle>>,
  max_known: usize,
  clock: SystemClock,
}

impl<K: KeyValue> BridgeStore<K> {
  /// A store over `kv`.
  pub fn new(kv: K) -> Self {
    Self {
      kv,
      stripes: (0..STRIPES)
        .map(|_| Arc::new(AsyncMutex::new(())))
        .collect(),
      holds: node_side::Holds::default(),
      known: Mutex::new(HashSet::new()),
      max_known: MAX_KNOWN,
      clock: SystemClock,
    }
  }

  /// The same store, watching at most `n` sessions for expiry (default [`MAX_KNOWN`]).
  #[must_use]
  pub fn watching_at_most(mut self, n: usize) -> Self {
    self.max_known = n;
    self
  }

  /// How many sessions this process watches for expiry (`sweep`).
  pub fn watched(&self) -> usize {
    self.known().len()
  }

  fn stripe(key: &str) -> usize {
    // FNV-1a: stable, cheap, good enough to spread keys over the stripes.
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
      h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    h as usize % STRIPES
  }

  /// The locks of `keys`, taken in stripe order (so two calls never wait on each other in a circle).
  async fn lock(&self, keys: &[&str]) -> Vec<MutexGuard<'_, ()>> {
    let mut idx: Vec<usize> = keys.iter().map(|k| Self::stripe(k)).collect();
    idx.sort_unstable();
    idx.dedup();
    let mut guards = Vec::with_capacity(idx.len());
    for i in idx {
      guards.push(self.stripes[i].lock().await);
    }
    guards
  }

  fn now(&self) -> UnixMillis {
    self.clock.now()
  }

  fn known(&self) -> std::sync::MutexGuard<'_, HashSet<Handle>> {
    self
      .known
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
  }

  async fn read(&self, handle: &str) -> Result<Option<SessionRecord>> {
    match self.kv.get(handle).await? {
      None => Ok(None),
      // Under a handle only a record of ours may be: anything else is the store's garbage.
      Some(v) => decode_record(&v)?.map(Some).ok_or_else(corrupt),
    }
  }

  async fn write(&self, r: &SessionRecord) -> Result<()> {
    self
      .kv
      .set(&r.handle.to_text(), &encode_record(r, self.now()))
      .await
  }

  async fn user_handles(&self, key: &str) -> Result<Vec<String>> {
    Ok(wire::decode_own::<Vec<String>>(self.kv.get(key).await?.as_ref())?.unwrap_or_default())
  }

  async fn set_user_handles(&self, key: &str, handles: &[String]) -> Result<()> {
    if handles.is_empty() {
      return self.kv.destroy(key).await;
    }
    let now = self.now();
    self
      .kv
      .set(
        key,
        &wire::encode_own(json!(handles), now.plus_ms(OWN_RECORD_MS), now),
      )
      .await
  }
}

/// Apply `patch` to a session's data, one data version on: the bridge's write, whether it
/// makes the store calls itself or Node's side makes them (`Engine::patch_bridged`).
///
/// # Errors
/// `DATA_TOO_LARGE` (see `codec::apply_patch_within`): `r` is left as it was.
pub fn patch_record(r: &mut SessionRecord, patch: &DataPatch, max_bytes: usize) -> Result<()> {
  apply_patch_within(&mut r.data, patch, max_bytes)?;
  r.data_version += 1;
  Ok(())
}

fn user_key(user_id: &str) -> String {
  format!("{USER_PREFIX}{user_id}")
}

impl<K: KeyValue> NodeSide for BridgeStore<K> {
  fn try_hold(&self, key: &str) -> Option<u64> {
    self.holds.try_hold(&self.stripes[Self::stripe(key)])
  }

  fn release(&self, id: u64) {
    self.holds.release(id);
  }
}

#[async_trait]
impl<K: KeyValue> Store for BridgeStore<K> {
  fn kind(&self) -> &'static str {
    "bridge"
  }

  fn node_side(&self) -> Option<&dyn NodeSide> {
    Some(self)
  }

  async fn insert(&self, record: &SessionRecord) -> Result<u64> {
    let handle = record.handle.to_text();
    let ukey = user_key(&record.user_id);
    let _g = self.lock(&[&handle, &ukey]).await;
    if self.kv.get(&handle).await?.is_some() {
      return Err(handle_exists());
    }
    self.write(record).await?;
    let mut held = 0;
    if anonymous_handle(&record.user_id).is_none() {
      let mut handles = self.user_handles(&ukey).await?;
      handles.push(handle);
      self.set_user_handles(&ukey, &handles).await?;
      held = handles.len();
    }
    let mut known = self.known();
    if known.len() < self.max_known {
      known.insert(record.handle);
    }
    Ok(u64::try_from(held).unwrap_or(u64::MAX))
  }

  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    self.read(&handle.to_text()).await
  }

  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool> {
    let key = handle.to_text();
    let _g = self.lock(&[&key]).await;
    let Some(mut r) = self.read(&key).await? else {
      return Ok(false);
    };
    if r.refresh.generation != from.generation
      || !ct_eq(&r.refresh.current_digest, &from.current_digest)
    {
      return Ok(false);
    }
    r.refresh = to.clone();
    r.last_refresh_at = now;
    r.last_device = device.clone();
    self.write(&r).await?;
    Ok(true)
  }

  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
    let key = handle.to_text();
    let Some(peek) = self.read(&key).await? else {
      return Ok(None);
    };
    let ukey = user_key(&peek.user_id);
    let _g = self.lock(&[&key, &ukey, FEED_KEY]).await;
    let Some(r) = self.read(&key).await? else {
      return Ok(None); // revoked meanwhile in this process: the feed has it once
    };
    self.kv.destroy(&key).await?;
    self.known().remove(handle);
    let now = self.now();
    let mut feed =
      wire::decode_own::<Feed>(self.kv.get(FEED_KEY).await?.as_ref())?.unwrap_or_default();
    feed.seq += 1;
    feed.entries.retain(|e| e.2 > now.0);
    feed.entries.push((feed.seq, key.clone(), until.0));
    if feed.entries.len() > MAX_FEED {
      let drop = feed.entries.len() - MAX_FEED;
      feed.entries.drain(..drop);
    }
    let keep_until =
      UnixMillis(feed.entries.iter().map(|e| e.2).max().unwrap_or(until.0)).plus_ms(OWN_RECORD_MS);
    self
      .kv
      .set(FEED_KEY, &wire::encode_own(json!(feed), keep_until, now))
      .await?;
    if anonymous_handle(&r.user_id).is_none() {
      let mut handles = self.user_handles(&ukey).await?;
      handles.retain(|h| *h != key);
      self.set_user_handles(&ukey, &handles).await?;
    }
    Ok(Some(r))
  }

  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
    if let Some(handle) = anonymous_handle(user_id) {
      // Its one session, under the handle its id is made of.
      return Ok(
        self
          .read(handle)
          .await?
          .filter(|r| r.user_id == user_id)
          .into_iter()
          .collect(),
      );
    }
    let ukey = user_key(user_id);
    let _g = self.lock(&[&ukey]).await;
    let handles = self.user_handles(&ukey).await?;
    let listed = handles.len();
    let mut out = Vec::with_capacity(listed);
    let mut live = Vec::with_capacity(handles.len());
    for h in handles {
      // A session the store expired by itself is dropped from the list here.
      if let Some(r) = self.read(&h).await? {
        if r.user_id == user_id {
          out.push(r);
          live.push(h);
        }
      }
    }
    if live.len() != listed {
      self.set_user_handles(&ukey, &live).await?;
    }
    Ok(out)
  }

  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>> {
    let key = handle.to_text();
    let _g = self.lock(&[&key]).await;
    let Some(mut r) = self.read(&key).await? else {
      return Ok(None);
    };
    patch_record(&mut r, patch, max_bytes)?;
    self.write(&r).await?;
    Ok(Some(r.data_version))
  }

  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
    let feed = wire::decode_own::<Feed>(self.kv.get(FEED_KEY).await?.as_ref())?.unwrap_or_default();
    let mut out = Vec::new();
    for (seq, handle, until) in feed.entries {
      if seq > after && out.len() < limit {
        out.push(Revocation {
          seq,
          handle: crate::store::row::handle_text(&handle)?,
          until: UnixMillis(until),
        });
      }
    }
    Ok(out)
  }

  async fn sweep(&self, now: UnixMillis) -> Result<u64> {
    // The store expires sessions by their cookie; here, the ones this process knows.
    let known: Vec<Handle> = self.known().iter().copied().collect();
    let mut removed = 0;
    for h in known {
      let key = h.to_text();
      let _g = self.lock(&[&key]).await;
      match self.read(&key).await? {
        None => {
          self.known().remove(&h);
        }
        Some(r) if now >= r.refresh.idle_expires_at || now >= r.refresh.absolute_expires_at => {
          self.kv.destroy(&key).await?;
          self.known().remove(&h);
          removed += 1;
        }
        Some(_) => {}
      }
    }
    Ok(removed)
  }

  async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
    let ring = wire::decode_own::<Ring>(self.kv.get(RING_KEY).await?.as_ref())?;
    Ok(ring.map(|r| StoredRing {
      version: r.version,
      sealed: r.sealed,
    }))
  }

  async fn keep_alive(&self, handle: &Handle, rewrite: bool) -> Result<bool> {
    let key = handle.to_text();
    let _g = self.lock(&[&key]).await;
    let Some(r) = self.read(&key).await? else {
      return Ok(false);
    };
    let value = encode_record(&r, self.now());
    if rewrite {
      self.kv.set(&key, &value).await?;
    } else {
      self.kv.touch(&key, &value).await?;
    }
    Ok(true)
  }

  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
    let _g = self.lock(&[RING_KEY]).await;
    let stored = wire::decode_own::<Ring>(self.kv.get(RING_KEY).await?.as_ref())?;
    if stored.map(|r| r.version) != expected {
      return Ok(false);
    }
    let now = self.now();
    let body = json!(Ring {
      version: ring.version,
      sealed: ring.sealed.clone(),
    });
    self
      .kv
      .set(
        RING_KEY,
        &wire::encode_own(body, now.plus_ms(OWN_RECORD_MS), now),
      )
      .await?;
    // Another process may have written its ring between our read and our write (two
    // processes starting together on an empty store): read it back after a while, and
    // report a loss when the store kept the other one, so this engine adopts that one.
    tokio::time::sleep(RING_SETTLE).await;
    let kept = wire::decode_own::<Ring>(self.kv.get(RING_KEY).await?.as_ref())?;
    Ok(kept.is_some_and(|k| k.version == ring.version && k.sealed == ring.sealed))
  }
}

/// One key-value store shared by several bridges (as processes share a store).
#[async_trait]
impl<K: KeyValue> KeyValue for std::sync::Arc<K> {
  async fn get(&self, key: &str) -> Result<Option<Value>> {
    (**self).get(key).await
  }

  async fn set(&self, key: &str, value: &Value) -> Result<()> {
    (**self).set(key, value).await
  }

  async fn destroy(&self, key: &str) -> Result<()> {
    (**self).destroy(key).await
  }

  async fn touch(&self, key: &str, value: &Value) -> Result<()> {
    (**self).touch(key, value).await
  }
}

/// A [`KeyValue`] in memory: for tests of the bridge without Node. It counts the calls
/// of each operation, so a test can check the calls an express-session store would see.
#[derive(Default)]
pub struct MapKeyValue(
  Mutex<std::collections::HashMap<String, String>>,
  Mutex<std::collections::HashMap<&'static str, usize>>,
);

impl MapKeyValue {
  /// The keys it holds, sorted.
  pub fn keys(&self) -> Vec<String> {
    let mut keys: Vec<String> = self
      .0
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .keys()
      .cloned()
      .collect();
    keys.sort();
    keys
  }

  /// How many times `op` (`"get"`, `"set"`, `"destroy"`, `"touch"`) was called.
  pub fn calls(&self, op: &str) -> usize {
    self
      .1
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .get(op)
      .copied()
      .unwrap_or(0)
  }

  fn count(&self, op: &'static str) {
    *self
      .1
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .entry(op)
      .or_insert(0) += 1;
  }
}

#[async_trait]
impl KeyValue for MapKeyValue {
  async fn get(&self, key: &str) -> Result<Option<Value>> {
    self.count("get");
    let text = self
      .0
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .get(key)
      .cloned();
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
  }

  async fn set(&self, key: &str, value: &Value) -> Result<()> {
    self.count("set");
    // Through text, as a real store keeps it (and with a yield, as a real store answers later).
    let text = value.to_string();
    tokio::task::yield_now().await;
    self
      .0
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .insert(key.to_owned(), text);
    Ok(())
  }

  async fn destroy(&self, key: &str) -> Result<()> {
    self.count("destroy");
    tokio::task::yield_now().await;
    self
      .0
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .remove(key);
    Ok(())
  }

  async fn touch(&self, _key: &str, _value: &Value) -> Result<()> {
    self.count("touch");
    tokio::task::yield_now().await;
    Ok(())
  }
}
