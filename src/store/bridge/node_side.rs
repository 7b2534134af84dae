//! What lets Node's side of the bridge (js/compat/bridge.js) make a request's store calls
//! itself, with no thread crossing, and still keep the bridge's guarantees within one
//! process: the session's lock, taken without waiting ([`Holds`]).
//!
//! Node's side takes the lock of a session's key with [`NodeSide::try_hold`] (the same
//! stripe lock every operation of the bridge takes, so no rotation, revocation or patch of
//! that session runs meanwhile), reads the session again, makes its call, and gives the
//! lock back with [`NodeSide::release`]. When the lock is taken, it does not wait: it
//! leaves the work to the bridge's own path, which waits.
//!
//! Guarantees: a hold is the lock itself (a rotation waits for its release); an id is
//! released once (a second release does nothing). Not here: what is read or written
//! (Node's side), other processes (`bridge/mod.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The bridge as Node's side uses it ([`crate::store::Store::node_side`]).
pub trait NodeSide: Send + Sync {
  /// Take the lock of `key` now if it is free: the id to release it by, or `None` (then
  /// the caller leaves the work to the bridge's own path, which waits).
  fn try_hold(&self, key: &str) -> Option<u64>;
  /// Give back the lock held as `id`.
  fn release(&self, id: u64);
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

#[cfg(test)]
mod tests {
  use super::*;

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
}
