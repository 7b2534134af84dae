//! Time, injected. Every expiry rule of the core reads a [`Clock`], so tests fix the
//! time and never sleep.
//!
//! Time is milliseconds since the Unix epoch, like JavaScript's `Date.now()`; JWT
//! NumericDates are whole seconds derived from it ([`UnixMillis::secs`]).
//! Not guaranteed: monotonicity. The system clock can step backwards; the core only
//! compares times against deadlines, so a step can at worst shorten or lengthen a lifetime.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixMillis(pub i64);

impl UnixMillis {
  /// Whole seconds (floor), the unit of JWT NumericDate claims (RFC 7519 §2).
  pub const fn secs(self) -> i64 {
    self.0.div_euclid(1000)
  }

  /// From whole seconds.
  pub const fn from_secs(secs: i64) -> Self {
    Self(secs.saturating_mul(1000))
  }

  /// `self + ms`, saturating.
  pub const fn plus_ms(self, ms: i64) -> Self {
    Self(self.0.saturating_add(ms))
  }
}

/// A source of the current time.
pub trait Clock: Send + Sync {
  /// Now.
  fn now(&self) -> UnixMillis;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
  fn now(&self) -> UnixMillis {
    let ms = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    UnixMillis(ms)
  }
}

/// A clock that says what it is told: for tests, and for JS tests that fix time.
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
  /// A clock stopped at `at`.
  pub fn at(at: UnixMillis) -> Self {
    Self(AtomicI64::new(at.0))
  }

  /// Move the clock to `at`.
  pub fn set(&self, at: UnixMillis) {
    self.0.store(at.0, Ordering::SeqCst);
  }

  /// Move the clock forward by `ms`.
  pub fn advance_ms(&self, ms: i64) {
    self.0.fetch_add(ms, Ordering::SeqCst);
  }
}

impl Clock for FixedClock {
  fn now(&self) -> UnixMillis {
    UnixMillis(self.0.load(Ordering::SeqCst))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn secs_floor_toward_negative_infinity() {
    assert_eq!(UnixMillis(1999).secs(), 1);
    assert_eq!(UnixMillis(-1).secs(), -1);
  }

  #[test]
  fn fixed_clock_moves_only_when_told() {
    let c = FixedClock::at(UnixMillis(5_000));
    assert_eq!(c.now(), UnixMillis(5_000));
    c.advance_ms(1_500);
    assert_eq!(c.now().secs(), 6);
  }
}
