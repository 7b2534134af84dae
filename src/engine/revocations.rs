//! The in-memory set of revoked sessions that verify consults, so a revoked session's
//! access tokens stop working at once in this process and within a poll of the store's
//! revocation feed in every other process (DESIGN promise 5), with no I/O on the hot path.
//!
//! Guarantees: an entry stays until its `until` (the last instant an access token of that
//! session can still be valid), then is dropped; checking an empty set takes no lock. The
//! set holds at most [`MAX_REMEMBERED`] sessions (16-byte keys: some 17 MB when full), so a
//! flood of logouts (any visitor can make and end anonymous sessions) cannot grow it without
//! bound. When it is full, the tenth of the entries that expire soonest is dropped and the
//! set refuses, instead, every access token that expires no later than the last of them
//! ([`Revocations::expiry_floor`]): a revoked session's token is still refused (by its age
//! rather than its name), and a live one that old is refused as expired, so its client
//! refreshes early (one round trip; nobody is logged out, and the store still refuses the
//! revoked sessions' refresh tokens).
//! Not guaranteed: knowing revocations that happened in another process before the last
//! feed read (at most one poll interval old); a theft dropped by the overflow is refused as
//! an expired token here, not as a theft (the store refuses its refresh all the same).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::clock::UnixMillis;
use crate::error::ErrorKind;
use crate::store::Revocation;
use crate::token::Handle;

/// Most sessions remembered: 2^19 hash buckets hold this many at the table's load factor
/// (7/8), with 16-byte keys and 16-byte entries.
pub const MAX_REMEMBERED: usize = 458_752;

/// Why a session is in the set: plain revocation, or a theft seen by this process (the
/// feed from other processes carries no reason, so their thefts read as revocations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
  until: UnixMillis,
  theft: bool,
}

/// Revoked session handles and until when to remember them.
pub struct Revocations {
  set: RwLock<HashMap<Handle, Entry>>,
  max: usize,
  len: AtomicUsize,
  /// Access tokens expiring at or before this instant (ms) are refused; `i64::MIN`: none.
  floor: AtomicI64,
  cursor: AtomicU64,
  generation: AtomicU64,
}

impl Default for Revocations {
  fn default() -> Self {
    Self::with_capacity(MAX_REMEMBERED)
  }
}

impl Revocations {
  /// A set that remembers at most `max` sessions (at least 10).
  pub fn with_capacity(max: usize) -> Self {
    Self {
      set: RwLock::new(HashMap::new()),
      max: max.max(10),
      len: AtomicUsize::new(0),
      floor: AtomicI64::new(i64::MIN),
      cursor: AtomicU64::new(0),
      generation: AtomicU64::new(0),
    }
  }

  /// Remember `sid` as revoked until `until`.
  pub fn add(&self, sid: Handle, until: UnixMillis) {
    self.insert(sid, until, false);
  }

  /// Remember `sid` as revoked because of a theft, until `until`.
  pub fn add_theft(&self, sid: Handle, until: UnixMillis) {
    self.insert(sid, until, true);
  }

  fn insert(&self, sid: Handle, until: UnixMillis, theft: bool) {
    let mut g = self.write();
    self.insert_locked(&mut g, sid, until, theft);
    self.len.store(g.len(), Ordering::Release);
    self.generation.fetch_add(1, Ordering::AcqRel);
  }

  fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Handle, Entry>> {
    self
      .set
      .write()
      .unwrap_or_else(std::sync::PoisonError::into_inner)
  }

  fn insert_locked(
    &self,
    g: &mut HashMap<Handle, Entry>,
    sid: Handle,
    until: UnixMillis,
    theft: bool,
  ) {
    if g.len() >= self.max && !g.contains_key(&sid) {
      self.overflow(g);
    }
    let e = g.entry(sid).or_insert(Entry { until, theft });
    e.until = e.until.max(until);
    e.theft |= theft;
  }

  /// Full: drop the tenth of the entries that expire soonest, and refuse by age every
  /// access token that could belong to one of them (it expires no later than its entry).
  fn overflow(&self, g: &mut HashMap<Handle, Entry>) {
    let mut untils: Vec<i64> = g.values().map(|e| e.until.0).collect();
    let nth = untils.len() / 10;
    let (_, &mut cut, _) = untils.select_nth_unstable(nth);
    g.retain(|_, e| e.until.0 > cut);
    self.floor.fetch_max(cut, Ordering::AcqRel);
  }

  /// How many additions the set has seen: it changes whenever a session becomes refused
  /// (a cache of verdicts is current only while this has not moved).
  pub fn generation(&self) -> u64 {
    self.generation.load(Ordering::Acquire)
  }

  /// Why `sid` is refused: `SESSION_REVOKED`, `TOKEN_THEFT_DETECTED` (a theft this
  /// process saw), or `None` when it is not known to be revoked.
  pub fn reason(&self, sid: &Handle) -> Option<ErrorKind> {
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

  /// As [`Revocations::reason`], for a handle in its text form (an access token's `sid`);
  /// a text that is no handle names no remembered session.
  pub fn reason_text(&self, sid: &str) -> Option<ErrorKind> {
    if self.len.load(Ordering::Acquire) == 0 {
      return None;
    }
    Handle::parse(sid, ErrorKind::TokenInvalid)
      .ok()
      .and_then(|h| self.reason(&h))
  }

  /// Why an access token of session `sid` expiring at `exp_secs` is refused: as
  /// [`Revocations::reason_text`], or `TOKEN_EXPIRED` when it expires no later than the
  /// [`Revocations::expiry_floor`]; `None`: accepted.
  pub fn refuses(&self, sid: &str, exp_secs: f64) -> Option<ErrorKind> {
    let f = self.floor.load(Ordering::Acquire);
    #[allow(clippy::cast_precision_loss)]
    let too_old = f != i64::MIN && exp_secs * 1000.0 <= f as f64;
    self
      .reason_text(sid)
      .or(too_old.then_some(ErrorKind::TokenExpired))
  }

  /// Is `sid` revoked (as far as this process knows)?
  pub fn contains(&self, sid: &Handle) -> bool {
    self.reason(sid).is_some()
  }

  /// Access tokens that expire at or before this instant are refused (after an overflow);
  /// `None` before any.
  pub fn expiry_floor(&self) -> Option<UnixMillis> {
    let f = self.floor.load(Ordering::Acquire);
    (f != i64::MIN).then_some(UnixMillis(f))
  }

  /// Take in entries of the store's feed; remembers the last position read.
  pub fn absorb(&self, feed: &[Revocation]) {
    if feed.is_empty() {
      return;
    }
    let mut g = self.write();
    for r in feed {
      self.insert_locked(&mut g, r.handle, r.until, false);
      self.cursor.fetch_max(r.seq, Ordering::AcqRel);
    }
    self.len.store(g.len(), Ordering::Release);
    self.generation.fetch_add(1, Ordering::AcqRel);
  }

  /// The last feed position read.
  pub fn cursor(&self) -> u64 {
    self.cursor.load(Ordering::Acquire)
  }

  /// Forget entries whose `until` has passed.
  pub fn prune(&self, now: UnixMillis) {
    let mut g = self.write();
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

  fn h() -> Handle {
    Handle::generate().unwrap_or(Handle([7; 16]))
  }

  #[test]
  fn entries_live_until_their_until() {
    let r = Revocations::default();
    let x = h();
    assert!(!r.contains(&x));
    r.add(x, UnixMillis(10));
    assert!(r.contains(&x));
    assert_eq!(r.reason_text(&x.to_text()), Some(ErrorKind::SessionRevoked));
    assert_eq!(r.reason_text("not a handle"), None);
    r.prune(UnixMillis(9));
    assert!(r.contains(&x));
    r.prune(UnixMillis(10));
    assert!(!r.contains(&x) && r.is_empty());
    let y = h();
    r.absorb(&[Revocation {
      seq: 7,
      handle: y,
      until: UnixMillis(99),
    }]);
    assert!(r.contains(&y));
    assert_eq!(r.cursor(), 7);
    assert_eq!(r.expiry_floor(), None);
  }

  #[test]
  fn a_theft_is_remembered_as_one_even_when_revoked_again() {
    let r = Revocations::default();
    let (p, t) = (h(), h());
    assert_eq!(r.reason(&t), None);
    r.add(p, UnixMillis(10));
    r.add_theft(t, UnixMillis(10));
    r.add(t, UnixMillis(20));
    assert_eq!(r.reason(&p), Some(ErrorKind::SessionRevoked));
    assert_eq!(r.reason(&t), Some(ErrorKind::TokenTheftDetected));
    r.prune(UnixMillis(15));
    assert_eq!(
      r.reason(&t),
      Some(ErrorKind::TokenTheftDetected),
      "until raised to 20"
    );
  }

  #[test]
  fn a_full_set_drops_the_soonest_tenth_and_refuses_their_tokens_by_age() {
    let r = Revocations::with_capacity(100);
    let handles: Vec<Handle> = (0..100).map(|_| h()).collect();
    for (i, x) in handles.iter().enumerate() {
      r.add(*x, UnixMillis(1000 + i as i64));
    }
    assert_eq!((r.len(), r.expiry_floor()), (100, None), "full, not over");
    let g0 = r.generation();
    let late = h();
    r.add(late, UnixMillis(5000));
    assert!(r.len() <= 100, "never more than its capacity: {}", r.len());
    let floor = r.expiry_floor().map(|f| f.0);
    assert_eq!(floor, Some(1010), "the 11 soonest (until <= 1010) dropped");
    let stranger = h().to_text();
    assert_eq!(
      r.refuses(&stranger, 1.0),
      Some(ErrorKind::TokenExpired),
      "expires before the floor"
    );
    assert_eq!(r.refuses(&stranger, 2.0), None, "expires after it");
    for (i, x) in handles.iter().enumerate() {
      let kept = r.contains(x);
      assert_eq!(kept, 1000 + i as i64 > 1010, "entry {i}");
    }
    assert!(r.contains(&late) && r.generation() != g0);
    // Re-revoking a remembered session when full drops nothing.
    let before = r.len();
    for _ in 0..5 {
      r.add(late, UnixMillis(6000));
    }
    assert_eq!(r.len(), before);
  }

  #[test]
  fn the_floor_only_rises() {
    let r = Revocations::with_capacity(10);
    for i in 0..10 {
      r.add(h(), UnixMillis(500 + i));
    }
    r.add(h(), UnixMillis(9000));
    let first = r.expiry_floor();
    r.prune(UnixMillis(10_000));
    for i in 0..11 {
      r.add(h(), UnixMillis(100 + i));
    }
    assert_eq!(
      r.expiry_floor(),
      first,
      "a later overflow of older entries does not lower it"
    );
  }
}
