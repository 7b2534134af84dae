//! A store that times its calls: [`Metered`] wraps the engine's store and reports each
//! call's duration, and whether it failed with a store error, to the engine's
//! `engine::metrics::Metrics`.
//!
//! Guarantees: every call goes to the wrapped store unchanged and its answer comes back
//! unchanged; the only work added is reading the monotonic clock twice and a few relaxed
//! atomic additions. A failure counts as a store error when its code is
//! `STORE_UNAVAILABLE` or `STORE_CORRUPT` (not `DATA_TOO_LARGE`, the caller's).
//! Not here: the calls Node's side makes to an express-session store (the bridge), which
//! no Rust code times.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::clock::UnixMillis;
use crate::engine::metrics::Metrics;
use crate::error::{ErrorKind, Result};
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::{bridge, changes, DataPatch, Revocation, Store, StoredRing};
use crate::token::Handle;

/// The engine's store, timed.
pub struct Metered {
  inner: Arc<dyn Store>,
  metrics: Arc<Metrics>,
}

impl Metered {
  /// `inner`, reporting to `metrics`.
  pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
    Self { inner, metrics }
  }

  async fn timed<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
    let started = Instant::now();
    let out = call.await;
    let failed = matches!(&out, Err(e) if matches!(e.kind(), ErrorKind::StoreUnavailable | ErrorKind::StoreCorrupt));
    self.metrics.store_call(started.elapsed(), failed);
    out
  }
}

#[async_trait]
impl Store for Metered {
  fn kind(&self) -> &'static str {
    self.inner.kind()
  }
  async fn insert(&self, record: &SessionRecord) -> Result<u64> {
    self.timed(self.inner.insert(record)).await
  }
  async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    self.timed(self.inner.get(handle)).await
  }
  async fn rotate(
    &self,
    handle: &Handle,
    from: &RefreshState,
    to: &RefreshState,
    now: UnixMillis,
    device: &DeviceInfo,
  ) -> Result<bool> {
    self
      .timed(self.inner.rotate(handle, from, to, now, device))
      .await
  }
  async fn revoke(&self, handle: &Handle, until: UnixMillis) -> Result<Option<SessionRecord>> {
    self.timed(self.inner.revoke(handle, until)).await
  }
  async fn list_user(&self, user_id: &str) -> Result<Vec<SessionRecord>> {
    self.timed(self.inner.list_user(user_id)).await
  }
  async fn patch_data(
    &self,
    handle: &Handle,
    patch: &DataPatch,
    max_bytes: usize,
  ) -> Result<Option<u64>> {
    self
      .timed(self.inner.patch_data(handle, patch, max_bytes))
      .await
  }
  async fn revocations_since(&self, after: u64, limit: usize) -> Result<Vec<Revocation>> {
    self.timed(self.inner.revocations_since(after, limit)).await
  }
  async fn sweep(&self, now: UnixMillis) -> Result<u64> {
    self.timed(self.inner.sweep(now)).await
  }
  async fn load_key_ring(&self) -> Result<Option<StoredRing>> {
    self.timed(self.inner.load_key_ring()).await
  }
  async fn save_key_ring(&self, expected: Option<u64>, ring: &StoredRing) -> Result<bool> {
    self.timed(self.inner.save_key_ring(expected, ring)).await
  }
  fn changes(&self) -> Option<tokio::sync::watch::Receiver<changes::Change>> {
    self.inner.changes()
  }
  fn close(&self) {
    self.inner.close();
  }
  fn node_side(&self) -> Option<&dyn bridge::NodeSide> {
    self.inner.node_side()
  }
  async fn keep_alive(&self, handle: &Handle, rewrite: bool) -> Result<bool> {
    self.timed(self.inner.keep_alive(handle, rewrite)).await
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::store::MemoryStore;

  #[tokio::test]
  async fn calls_are_counted_and_answers_pass_through() -> Result<()> {
    let metrics = Arc::new(Metrics::default());
    let store = Metered::new(Arc::new(MemoryStore::new(10)), Arc::clone(&metrics));
    assert_eq!(store.load_key_ring().await?, None);
    assert_eq!(store.revocations_since(0, 10).await?, vec![]);
    let s = metrics.snapshot();
    assert_eq!((s.store_calls, s.store_errors), (2, 0));
    assert_eq!(store.kind(), "memory");
    Ok(())
  }
}
