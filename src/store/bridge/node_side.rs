//! What lets Node's side of the bridge (js/compat/bridge.js) make a request's store calls
//! itself, with no thread crossing, and still keep the bridge's guarantees within one
//! process: the session's lock, taken without waiting ([`Holds`]), and the sessions this
//! process destroyed lately ([`Gone`]).
//!
//! Node's side takes the lock of a session's key with [`Holds::try_hold`] (the same stripe
//! lock every operation of the bridge takes, so no rotation, revocation or patch of that
//! session runs meanwhile), makes its calls, and gives it back with [`Holds::release`].
//! When the lock is taken, it does not wait: it leaves the work to the bridge's own path,
//! which waits. A touch sends what the request read at its start; [`Gone`] tells it
//! whether the session was destroyed here since (a store whose `touch` writes the whole
//! value would otherwise bring it back).
//!
//! Guarantees: a hold is the lock itself (a rotation waits for its release); a session
//! destroyed by this process within [`GONE_MS`] is known to be gone, and when more sessions
//! went than [`GONE_MAX`] in that time, every session counts as possibly gone until the
//! oldest forgotten one is older than [`GONE_MS`]. Not here: what is read or written
//! (Node's side), other processes (`bridge/mod.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::clock::UnixMillis;
use crate::token::Handle;

/// How long a destroyed session is remembered: a request whose read is older than this
/// does not touch from Node's side (the bridge reads again first).
pub const GONE_MS: i64 = 30_000;
/// Destroyed sessions remembered at most.
pub const GONE_MAX: usize = 100_000;

/// The bridge as Node's side uses it ([`crate::store::Store::node_side`]).
pub trait NodeSide: Send + Sync {
  /// Take the lock of `key` now if it is free: the id to release it by, or `None` (then
  /// the caller leaves the work to the bridge's own path, which waits).
  fn try_hold(&self, key: &str) -> Option<u64>;
  /// Give back the lock held as `id`.
  fn release(&self, id: u64);
  /// May session `handle`, read at `read_at`, be touched with what was read (not
  /// destroyed here since, read recently)?
  fn still_there(&self, handle: &Handle, read_at: UnixMillis) -> bool;
}

/// Held locks by id.
#[derive(Default)]
pub struct Holds {
  next: AtomicU64,
  held: Mutex<HashMap<u64, OwnedMutexGuard<()>>>,
}

impl Holds {
  fn held(&self) -> MutexGuard<'_, HashMap<u64, OwnedMutexGuard<()>>> {
    self.held.lock().unwrap_or_else(PoisonError::into_inner)
  }

  /// Take `stripe` now if it is free: the id to release it by, or `None`.
  pub fn try_hold(&self, stripe: &Arc<AsyncMutex<()>>) -> Option<u64> {
    let guard = Arc::clone(stripe).try_lock_owned().ok()?;
    let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
    self.held().insert(id, guard);
    Some(id)
  }

  /// Give back the lock held as `id` (nothing if it is not held).
  pub fn release(&self, id: u64) {
    let guard = self.held().remove(&id);
    drop(guard);
  }

  /// How many locks are held now.
  #[cfg(test)]
  pub fn count(&self) -> usize {
    self.held().len()
  }
}

/// Sessions this process destroyed lately.
#[derive(Default)]
pub struct Gone {
  inner: Mutex<GoneInner>,
}

#[derive(Default)]
struct GoneInner {
  at: HashMap<Handle, i64>,
  /// Until then some destroyed session may have been forgotten.
  unsure_until: i64,
}

impl Gone {
  fn inner(&self) -> MutexGuard<'_, GoneInner> {
    self.inner.lock().unwrap_or_else(PoisonError::into_inner)
  }

  /// `handle` was destroyed at `now` (called under its lock).
  pub fn mark(&self, handle: Handle, now: UnixMillis) {
    let mut g = self.inner();
    if g.at.len() >= GONE_MAX {
      g.at.retain(|_, at| now.0 - *at < GONE_MS);
      if g.at.len() >= GONE_MAX {
        let newest = g.at.values().copied().max().unwrap_or(now.0);
        g.unsure_until = g.unsure_until.max(newest + GONE_MS);
        g.at.clear();
      }
    }
    g.at.insert(handle, now.0);
  }

  /// May a session read at `read_at` be touched with what was read, at `now`? Not when it
  /// went since, when the read is older than [`GONE_MS`], or while unsure.
  pub fn still_there(&self, handle: &Handle, read_at: UnixMillis, now: UnixMillis) -> bool {
    if now.0 - read_at.0 >= GONE_MS || now.0 < read_at.0 {
      return false;
    }
    let g = self.inner();
    now.0 >= g.unsure_until && g.at.get(handle).is_none_or(|at| *at < read_at.0)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn h(n: u8) -> Handle {
    Handle([n; 16])
  }

  #[tokio::test]
  async fn a_hold_is_the_lock_until_released() {
    let holds = Holds::default();
    let stripe = Arc::new(AsyncMutex::new(()));
    let Some(id) = holds.try_hold(&stripe) else {
      panic!("a free lock is taken");
    };
    assert!(stripe.try_lock().is_err(), "the bridge's own path waits");
    assert!(
      holds.try_hold(&stripe).is_none(),
      "a second hold does not wait either"
    );
    holds.release(id);
    assert!(stripe.try_lock().is_ok());
    assert_eq!(holds.count(), 0);
  }

  #[test]
  fn a_session_gone_since_the_read_is_not_touched() {
    let gone = Gone::default();
    let t = UnixMillis(1_000_000);
    assert!(gone.still_there(&h(1), t, t.plus_ms(10)));
    gone.mark(h(1), t.plus_ms(5));
    assert!(
      !gone.still_there(&h(1), t, t.plus_ms(10)),
      "destroyed after the read"
    );
    assert!(
      gone.still_there(&h(1), t.plus_ms(6), t.plus_ms(10)),
      "a read after the destroy saw it gone itself"
    );
    assert!(
      !gone.still_there(&h(2), t, t.plus_ms(GONE_MS)),
      "a read too old"
    );
  }

  #[test]
  fn forgetting_makes_every_session_unsure_for_a_while() {
    let gone = Gone::default();
    let t = UnixMillis(1_000_000);
    for i in 0..=GONE_MAX {
      let mut b = [0u8; 16];
      b[..8].copy_from_slice(&(i as u64).to_le_bytes());
      gone.mark(Handle(b), t);
    }
    assert!(
      !gone.still_there(&h(9), t, t.plus_ms(1)),
      "unsure after overflow"
    );
    assert!(
      gone.still_there(&h(9), t.plus_ms(GONE_MS), t.plus_ms(GONE_MS + 1)),
      "sure again later"
    );
  }
}
