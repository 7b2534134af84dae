//! An engine's periodic work: every interval a [`Engine::sync`] (revocations, the key
//! ring, key rotation), and every [`SYNCS_PER_SWEEP`] syncs a [`Engine::sweep`] of expired
//! sessions from the store.
//!
//! Guarantees: a failed sync or sweep (the store is down) is tried again at the next tick
//! and clears nothing (DESIGN promise 10); the loop holds the engine only weakly, so it
//! ends by itself once the engine is dropped. Not here: which runtime runs it (the caller
//! spawns the future: the binding on its tokio runtime) and how it is stopped sooner (the
//! caller aborts the task).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use super::Engine;

/// Syncs between two sweeps: with the default 500 ms interval, one sweep a minute.
pub const SYNCS_PER_SWEEP: u64 = 120;

impl Engine {
  /// The background loop, to spawn on a tokio runtime: a sync every `interval` (the
  /// first at once), a sweep every [`SYNCS_PER_SWEEP`] syncs, until the engine is dropped.
  pub fn background(self: &Arc<Self>, interval: Duration) -> impl Future<Output = ()> + Send {
    let engine = Arc::downgrade(self);
    async move {
      let mut tick = tokio::time::interval(interval);
      let mut syncs: u64 = 0;
      loop {
        tick.tick().await;
        let Some(e) = engine.upgrade() else { break };
        // A failure is retried at the next tick; nothing is cleared because of it.
        let _ = e.sync().await;
        syncs += 1;
        if syncs % SYNCS_PER_SWEEP == 0 {
          let _ = e.sweep().await;
        }
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::clock::FixedClock;
  use crate::engine::conformance::{engine, T0};
  use crate::engine::NewSession;
  use crate::error::Result;
  use crate::store::{MemoryStore, Store};

  // Paused tokio time: the sleeps below advance the runtime's clock at once, nothing waits.
  #[tokio::test(start_paused = true)]
  async fn another_engine_sees_a_revocation_within_one_interval_and_the_loop_ends_with_it(
  ) -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(100));
    let clock = Arc::new(FixedClock::at(T0));
    let a = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
    let b = engine(store, clock).await?;
    let t = a
      .create(NewSession {
        owner: crate::session::Owner::User("ann".into()),
        ..NewSession::default()
      })
      .await?;
    let task = tokio::spawn(b.background(Duration::from_millis(500)));
    a.revoke(&t.handle).await?;
    assert!(!b.is_revoked(&t.handle.to_text()));
    tokio::time::sleep(Duration::from_millis(501)).await;
    assert!(b.is_revoked(&t.handle.to_text()));
    drop(b);
    tokio::time::sleep(Duration::from_millis(501)).await;
    assert!(task.is_finished());
    Ok(())
  }
}
