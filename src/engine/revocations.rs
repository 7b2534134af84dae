//! The in-memory set of revoked sessions that verify consults, so a revoked session's
//! access tokens stop working at once in this process and within a poll of the store's
//! revocation feed in every other process (DESIGN promise 5), with no I/O on the hot path.
//!
//! Guarantees: an entry stays until its `until` (the last instant an access token of that
//! session can still be valid), then is dropped; checking an empty set takes no lock.
//! Not guaranteed: knowing revocations that happened in another process before the last
//! feed read (at most one poll interval old).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::clock::UnixMillis;
use crate::error::ErrorKind;
use crate::store::Revocation;

/// Why a session is in the set: plain revocation, or a theft seen by this process (the
/// feed from other processes carries no reason, so their thefts read as revocations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
  until: UnixMillis,
  theft: bool,
}

/// Revoked session handles (text form) and until when to remember them.
#[derive(Default)]
pub struct Revocations {
  set: RwLock<HashMap<String, Entry>>,
  len: AtomicUsize,
  cursor: AtomicU64,
  generation: AtomicU64,
}

impl Revocations {
  /// Remember `sid` as revoked until `until`.
  pub fn add(&self, sid: String, until: UnixMillis) {
    self.insert(sid, until, false);
  }

  /// Remember `sid` as revoked because of a theft, until `until`.
  pub fn add_theft(&self, sid: String, until: UnixMillis) {
    self.insert(sid, until, true);
  }

  fn insert(&self, sid: String, until: UnixMillis, theft: bool) {
    let mut g = self
      .set
      .write()
      .unwrap_or_else(std::sync::PoisonError::into_inner);
    let e = g.entry(sid).or_insert(Entry { until, theft });
    e.until = e.until.max(until);
    e.theft |= theft;
    self.len.store(g.len(), Ordering::Release);
    self.generation.fetch_add(1, Ordering::AcqRel);
  }

  /// How many additions the set has seen: it changes whenever a session becomes refused
  /// (a cache of verdicts is current only while this has not moved).
  pub fn generation(&self) -> u64 {
    self.generation.load(Ordering::Acquire)
  }

  /// Why `sid` is refused: `SESSION_REVOKED`, `TOKEN_THEFT_DETECTED` (a theft this
  /// process saw), or `None` when it is not known to be revoked.
  pub fn reason(&self, sid: &str) -> Option<ErrorKind> {
    if self.len.load(Ordering::Acquire) == 0 {
      return None;
    }
    self
      .set
      .read()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .get(sid)
      .map(|e| {
        if e.theft {
          ErrorKind::TokenTheftDetected
        } else {
          ErrorKind::SessionRevoked
        }
      })
  }

  /// Is `sid` revoked (as far as this process knows)?
  pub fn contains(&self, sid: &str) -> bool {
    if self.len.load(Ordering::Acquire) == 0 {
      return false;
    }
    self
      .set
      .read()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
      .contains_key(sid)
  }

  /// Take in entries of the store's feed; remembers the last position read.
  pub fn absorb(&self, feed: &[Revocation]) {
    for r in feed {
      self.add(r.handle.to_text(), r.until);
      self.cursor.fetch_max(r.seq, Ordering::AcqRel);
    }
  }

  /// The last feed position read.
  pub fn cursor(&self) -> u64 {
    self.cursor.load(Ordering::Acquire)
  }

  /// Forget entries whose `until` has passed.
  pub fn prune(&self, now: UnixMillis) {
    let mut g = self
      .set
      .write()
      .unwrap_or_else(std::sync::PoisonError::into_inner);
    g.retain(|_, e| e.until > now);
    self.len.store(g.len(), Ordering::Release);
  }

  /// How many sessions are remembered.
  pub fn len(&self) -> usize {
    self.len.load(Ordering::Acquire)
  }

  /// Whether none is.
  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::token::Handle;

  #[test]
  fn entries_live_until_their_until() -> crate::Result<()> {
    let r = Revocations::default();
    assert!(!r.contains("x"));
    r.add("x".into(), UnixMillis(10));
    assert!(r.contains("x"));
    r.prune(UnixMillis(9));
    assert!(r.contains("x"));
    r.prune(UnixMillis(10));
    assert!(!r.contains("x") && r.is_empty());
    let h = Handle::generate()?;
    r.absorb(&[Revocation {
      seq: 7,
      handle: h,
      until: UnixMillis(99),
    }]);
    assert!(r.contains(&h.to_text()));
    assert_eq!(r.cursor(), 7);
    Ok(())
  }

  #[test]
  fn a_theft_is_remembered_as_one_even_when_revoked_again() {
    let r = Revocations::default();
    assert_eq!(r.reason("t"), None);
    r.add("p".into(), UnixMillis(10));
    r.add_theft("t".into(), UnixMillis(10));
    r.add("t".into(), UnixMillis(20));
    assert_eq!(r.reason("p"), Some(ErrorKind::SessionRevoked));
    assert_eq!(r.reason("t"), Some(ErrorKind::TokenTheftDetected));
    r.prune(UnixMillis(15));
    assert_eq!(
      r.reason("t"),
      Some(ErrorKind::TokenTheftDetected),
      "until raised to 20"
    );
  }
}
