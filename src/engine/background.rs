//! An engine's periodic work: a [`Engine::sync`] (revocations, the key ring, key
//! rotation) every interval and whenever the store pushes a notice of a change, and a
//! [`Engine::sweep`] of expired sessions from the store every [`SWEEP_EVERY`] syncs'
//! worth of base intervals.
//!
//! Guarantees: with a store that pushes notices (`store::changes`) a change made by any
//! process is read here as soon as its notice arrives; while the subscription is up the
//! poll is only the safety net, every [`PUSHED_POLL_FACTOR`] intervals; while it is down
//! (and with stores that push nothing) the poll is every interval, so a lost notice costs
//! at most that. A notice of revocations alone reads the feed alone (one store call, not
//! two); a key-ring notice, a (re)subscription and a poll read both. A scheduled key rotation due by the engine's clock is still made (by
//! whichever process syncs first) within an interval: the ring's plan is checked at every
//! interval, with no I/O. A (re)subscription is itself a notice: what was sent while it was down is
//! read at once. A failed sync or sweep (the store is down) is tried again at the next tick
//! and clears nothing (DESIGN promise 10); the loop holds the engine only weakly, so it
//! ends by itself once the engine is dropped.
//! Not here: which runtime runs it (the caller spawns the future: the binding on its
//! tokio runtime) and how it is stopped sooner (the caller aborts the task).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use super::Engine;
use crate::store::changes::Change;

/// Base intervals between two sweeps: with the default 500 ms interval, one a minute.
pub const SWEEP_EVERY: u32 = 120;
/// With a live subscription, the safety-net poll comes every this many intervals.
pub const PUSHED_POLL_FACTOR: u32 = 10;
/// The least time between the starts of two syncs: a flood of notices (a mass logout)
/// makes each process read the feed at most this often, each read taking in every entry
/// since the last.
pub const MIN_SYNC_GAP: Duration = Duration::from_millis(5);

/// The next notice, or never when there is no subscription (or it ended for good).
async fn next_notice(rx: &mut Option<watch::Receiver<Change>>) {
  let Some(r) = rx.as_mut() else {
    return std::future::pending().await;
  };
  if r.changed().await.is_err() {
    *rx = None;
  }
}

impl Engine {
  /// The background loop, to spawn on a tokio runtime: a sync at once, then at every
  /// notice, every poll, and every interval at which a key-ring change is due (see the
  /// module), a sweep every [`SWEEP_EVERY`] intervals, until the engine is dropped.
  pub fn background(self: &Arc<Self>, interval: Duration) -> impl Future<Output = ()> + Send {
    let engine = Arc::downgrade(self);
    let mut notices = self.store.changes();
    async move {
      let sweep_every = interval.saturating_mul(SWEEP_EVERY);
      let mut next_sweep = Instant::now() + sweep_every;
      let mut next_tick = Instant::now();
      let mut next_poll = Instant::now();
      // The key-ring count of the notices at the last full sync, and when it started.
      let mut ring_read = None;
      let mut last_full = Instant::now();
      loop {
        let noticed = tokio::select! {
          () = tokio::time::sleep_until(next_tick) => false,
          () = next_notice(&mut notices) => true,
        };
        let Some(e) = engine.upgrade() else { break };
        let started = Instant::now();
        if started >= next_tick {
          next_tick = started + interval;
        }
        let now_seen = notices.as_ref().map(|r| *r.borrow());
        let ring_noticed = now_seen.map(|c| c.ring) != ring_read;
        let live = now_seen.is_some_and(|c| c.live);
        // Without a live subscription the poll is every interval, also when it was just lost.
        let poll_due = started >= next_poll || (!live && started >= last_full + interval);
        // Between polls, a tick costs no I/O unless the key ring has a change due, and a
        // notice of revocations alone reads the feed alone.
        if ring_noticed || poll_due || e.key_ring_change_due() {
          // A failure is retried at the next poll; nothing is cleared because of it.
          ring_read = now_seen.map(|c| c.ring);
          last_full = started;
          let _ = e.sync().await;
          let poll = if live {
            interval.saturating_mul(PUSHED_POLL_FACTOR)
          } else {
            interval
          };
          next_poll = Instant::now() + poll;
        } else if noticed {
          let _ = e.sync_revocations().await;
        } else {
          continue;
        }
        if Instant::now() >= next_sweep {
          let _ = e.sweep().await;
          next_sweep = Instant::now() + sweep_every;
        }
        drop(e);
        tokio::time::sleep_until(started + MIN_SYNC_GAP).await;
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
