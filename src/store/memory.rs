//! The memory store: for tests and single-process apps.
//!
//! Guarantees: the full [`Store`] contract within one process (one mutex makes every call
//! atomic); bounded: at most `max_sessions` live sessions (default 100 000), of which at
//! most `max_anonymous` anonymous ones (default half of `max_sessions`, see
//! [`crate::store::anonymous`]). A new anonymous session past its quota evicts the oldest
//! anonymous one; an insert into a full store first sweeps expired sessions, then evicts
//! the oldest anonymous session, and fails with `STORE_UNAVAILABLE` only when every session
//! left is a logged-in user's (a login never finds the store full of visitors' sessions);
//! the revocation feed is bounded by its `until` times (swept) and by 100 000 entries.
//! Not guaranteed: anything across processes or restarts (use SQLite, Redis or PostgreSQL).

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::clock::UnixMillis;
use crate::error::{err, ErrorKind, Result};
use crate::session::owner::{anonymous_handle, is_anonymous};
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::codec::apply_patch_within;
use crate::store::{DataPatch, Revocation, Store, StoredRing};
use crate::token::Handle;

/// Default bound on live sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 100_000;
const MAX_FEED: usize = 100_000;

#[derive(Default)]
struct Inner {
  sessions: HashMap<Handle, SessionRecord>,
  by_user: HashMap<String, HashSet<Handle>>,
  /// The anonymous sessions, oldest first (by creation time, then handle).
  anonymous: BTreeSet<(UnixMillis, Handle)>,
  feed: VecDeque<Revocation>,
  seq: u64,
  ring: Option<StoredRing>,
  now_hint: UnixMillis,
}

/// The memory store.
pub struct MemoryStore {
  inner: Mutex<Inner>,
  max_sessions: usize,
  max_anonymous: usize,
}

impl Default for MemoryStore {
  fn default() -> Self {
    Self::new(DEFAULT_MAX_SESSIONS)
  }
}

impl MemoryStore {
  /// A store holding at most `max_sessions` live sessions, of which at most half (and at
  /// most [`crate::store::anonymous::DEFAULT_MAX_ANONYMOUS`]) anonymous ones.
  pub fn new(max_sessions: usize) -> Self {
    let max_sessions = max_sessions.max(1);
    Self {
      inner: Mutex::new(Inner::default()),
      max_sessions,
      max_anonymous: max_sessions
        .div_ceil(2)
        .min(crate::store::anonymous::DEFAULT_MAX_ANONYMOUS as usize),
    }
  }

  /// The same store with at most `max_anonymous` anonymous sessions (at least 1, at most
  /// `max_sessions`).
  #[must_use]
  pub fn with_max_anonymous(mut self, max_anonymous: usize) -> Self {
    self.max_anonymous = max_anonymous.clamp(1, self.max_sessions);
    self
  }

  fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
    self
      .inner
      .lock()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
  }

  /// How many sessions it holds (expired ones included until swept).
  pub fn len(&self) -> usize {
    self.lock().sessions.len()
  }

  /// Whether it holds no session.
  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }
}

impl Inner {
  fn remove(&mut self, handle: &Handle) -> Option<SessionRecord> {
    let r = self.sessions.remove(handle)?;
    if is_anonymous(&r.user_id) {
      self.anonymous.remove(&(r.created_at, r.handle));
      return Some(r);
    }
    if let Some(set) = self.by_user.get_mut(&r.user_id) {
      set.remove(handle);
      if set.is_empty() {
        self.by_user.remove(&r.user_id);
      }
    }
    Some(r)
  }

  fn sweep(&mut self, now: UnixMillis) -> u64 {
    let dead: Vec<Handle> = self
      .sessions
      .values()
      .filter(|r| now >= r.refresh.idle_expires_at || now >= r.refresh.absolute_expires_at)
      .map(|r| r.handle)
      .collect();
    for h in &dead {
      self.remove(h);
    }
    self.feed.retain(|r| r.until > now);
    dead.len() as u64
  }

  /// Remove the oldest anonymous session; whether there was one.
  fn evict_oldest_anonymous(&mut self) -> bool {
    let Some(&(_, handle)) = self.anonymous.first() else {
      return false;
    };
    self.remove(&handle).is_some()
  }
}

#[async_trait]
impl Store for MemoryStore {
  fn kind(&self) -> &'static str {
    "memory"
  }

  async fn insert(&self, record: &SessionRecord) -> Result<u64> {
    let mut g = self.lock();
    if g.sessions.contains_key(&record.handle) {
      return Err(err(
        ErrorKind::StoreCorrupt,
        "a session with this handle exists",
      ));
    }
    let anonymous = is_anonymous(&record.user_id);
    if anonymous {
      while g.anonymous.len() >= self.max_anonymous && g.evict_oldest_anonymous() {}
    }
    if g.sessions.len() >= self.max_sessions {
      let now = g.now_hint.max(record.created_at);
      g.sweep(now);
      if g.sessions.len() >= self.max_sessions && !g.evict_oldest_anonymous() {
        return Err(err(ErrorKind::StoreUnavailable, "the memory store is full"));
      }
    }
    g.now_hint = g.now_hint.max(record.created_at);
    let held = if anonymous {
      // No per-user entry: the reserved id names its one session (`list_user`).
      g.anonymous.insert((record.created_at, record.handle));
      0
    } else {
      let set = g.by_user.entry(record.user_id.clone()).or_default();
      set.insert(record.handle);
      set.len()
    };
    g.sessions.insert(record.handle, record.clone());
    Ok(u64::try_from(held).unwrap_or(u64::MAX))
  }

  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    Ok(self.lock().sessions.get(handle).cloned())
  }

  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool> {
    let mut g = self.lock();
    g.now_hint = g.now_hint.max(now);
    let Some(r) = g.sessions.get_mut(handle) else {
      return Ok(false);
    };
    if r.refresh.generation != from.generation
      || !crate::digest::ct_eq(&r.refresh.current_digest, &from.current_digest)
    {
      return Ok(false);
    }
    r.refresh = to.clone();
    r.last_refresh_at = now;
    r.last_device = device.clone();
    Ok(true)
  }

  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
    let mut g = self.lock();
    let Some(r) = g.remove(handle) else {
      return Ok(None);
    };
    g.seq += 1;
    let seq = g.seq;
    g.feed.push_back(Revocation {
      seq,
      handle: *handle,
      until,
    });
    if g.feed.len() > MAX_FEED {
      g.feed.pop_front();
    }
    Ok(Some(r))
  }

  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
    let g = self.lock();
    if let Some(text) = anonymous_handle(user_id) {
      let found = Handle::parse(text, ErrorKind::InvalidArgument)
        .ok()
        .and_then(|h| g.sessions.get(&h));
      return Ok(
        found
          .filter(|r| r.user_id == user_id)
          .cloned()
          .into_iter()
          .collect(),
      );
    }
    let Some(set) = g.by_user.get(user_id) else {
      return Ok(vec![]);
    };
    Ok(
      set
        .iter()
        .filter_map(|h| g.sessions.get(h).cloned())
        .collect(),
    )
  }

  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>> {
    let mut g = self.lock();
    let Some(r) = g.sessions.get_mut(handle) else {
      return Ok(None);
    };
    apply_patch_within(&mut r.data, patch, max_bytes)?;
    r.data_version += 1;
    Ok(Some(r.data_version))
  }

  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
    let g = self.lock();
    Ok(
      g.feed
        .iter()
        .filter(|r| r.seq > after)
        .take(limit)
        .cloned()
        .collect(),
    )
  }

  async fn sweep(&self, now: UnixMillis) -> Result<u64> {
    let mut g = self.lock();
    g.now_hint = g.now_hint.max(now);
    Ok(g.sweep(now))
  }

  async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
    Ok(self.lock().ring.clone())
  }

  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
    let mut g = self.lock();
    if g.ring.as_ref().map(|r| r.version) != expected {
      return Ok(false);
    }
    g.ring = Some(ring.clone());
    Ok(true)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::store::conformance::{record as sample, NOW};

  #[tokio::test]
  async fn a_full_store_sweeps_then_refuses_rather_than_evicting() -> Result<()> {
    {
      let s = MemoryStore::new(2);
      let a = sample("a")?;
      s.insert(&a).await?;
      s.insert(&sample("b")?).await?;
      let e = s.insert(&sample("c")?).await.err().map(|e| e.kind());
      assert_eq!(e, Some(ErrorKind::StoreUnavailable));
      assert!(s.get(&a.handle).await?.is_some(), "nobody was evicted");
      // Once the others expire, a sweep makes room.
      let mut late = sample("d")?;
      late.created_at = a.refresh.absolute_expires_at;
      s.insert(&late).await?;
      assert_eq!(s.len(), 1);
      Ok(())
    }
  }

  #[tokio::test]
  async fn visitors_never_fill_the_store_for_a_login() -> Result<()> {
    {
      // The review's case: 70 cookie-less writers against a limit of 60, then a login.
      let s = MemoryStore::new(60);
      let mut visitors = Vec::new();
      for i in 0..70 {
        let mut v = sample("")?;
        v.user_id = format!("~anon:{}", v.handle.to_text());
        v.created_at = v.created_at.plus_ms(i);
        s.insert(&v).await?;
        visitors.push(v.handle);
      }
      assert_eq!(
        s.len(),
        30,
        "anonymous sessions are held to their quota (half)"
      );
      assert!(
        s.get(&visitors[39]).await?.is_none(),
        "the oldest went first"
      );
      assert!(s.get(&visitors[40]).await?.is_some(), "the newest stay");
      for i in 0..30 {
        s.insert(&sample(&format!("user-{i}"))?).await?;
      }
      assert_eq!(s.len(), 60, "logins fill the store up to its bound");
      // The store is full; a login takes the oldest visitor's place, never refused.
      let login = sample("alice")?;
      s.insert(&login).await?;
      assert!(s.get(&login.handle).await?.is_some());
      assert!(s.get(&visitors[40]).await?.is_none());
      assert_eq!(s.lock().anonymous.len(), 29);
      // A removed visitor leaves the index too (revoke, sweep): nothing is kept twice.
      s.revoke(&visitors[41], NOW).await?;
      assert_eq!(s.lock().anonymous.len(), 28);
      Ok(())
    }
  }

  #[tokio::test]
  async fn the_anonymous_quota_holds_on_the_memory_store() -> Result<()> {
    let s = MemoryStore::new(1000).with_max_anonymous(5);
    crate::store::conformance::anonymous_quota_evicts_the_oldest_visitors_only(&s, 5, 7).await
  }
}
