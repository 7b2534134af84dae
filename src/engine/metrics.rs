//! Counters an operator graphs: logins, refreshes, grace hits, thefts, revocations, and
//! the store's calls, errors and latency, for one engine since it started.
//!
//! Guarantees: each count is one relaxed atomic addition where it happens (no lock, no
//! allocation, nothing on the verify path, which counts nothing); a [`Snapshot`] reads
//! each counter once, so two counters of one snapshot may be a few events apart under
//! load, and every counter only grows. Store latency is kept as a cumulative histogram
//! over [`LATENCY_BOUNDS_MS`] (Prometheus's `le` buckets) with its sum and count.
//! Not here: where the store calls are timed (`store::metered`), and how the counts are
//! exported (the middleware's `metrics()` and its prom-client adapter).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the store latency buckets, ms (a last bucket, `+Inf`, counts all).
pub const LATENCY_BOUNDS_MS: [f64; 11] = [
  1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0,
];

/// An engine's counters; see the module.
#[derive(Debug, Default)]
pub struct Metrics {
  logins: AtomicU64,
  anonymous_sessions: AtomicU64,
  refreshes: AtomicU64,
  grace_hits: AtomicU64,
  refreshes_refused: AtomicU64,
  thefts: AtomicU64,
  revocations: AtomicU64,
  store_calls: AtomicU64,
  store_errors: AtomicU64,
  store_latency_us: AtomicU64,
  store_buckets: [AtomicU64; LATENCY_BOUNDS_MS.len()],
}

/// The counters at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
  /// Sessions created for a user (logins).
  pub logins: u64,
  /// Anonymous sessions created (data written before login).
  pub anonymous_sessions: u64,
  /// Refreshes that gave new tokens (grace hits included).
  pub refreshes: u64,
  /// Of those, the ones answered in the grace window (the predecessor came back: two tabs, a retry).
  pub grace_hits: u64,
  /// Refreshes refused (forged, expired, revoked refresh token), thefts not included.
  pub refreshes_refused: u64,
  /// Rotated refresh tokens presented again: sessions revoked as stolen.
  pub thefts: u64,
  /// Sessions this engine revoked that existed (logout, login over a session, admin,
  /// theft, the per-user cap, an expired refresh token, a key-ring reset).
  pub revocations: u64,
  /// Store calls made (background syncs included).
  pub store_calls: u64,
  /// Store calls that failed (`STORE_UNAVAILABLE`, `STORE_CORRUPT`).
  pub store_errors: u64,
  /// Sum of the store calls' durations, ms.
  pub store_latency_sum_ms: f64,
  /// Store calls that took at most each of [`LATENCY_BOUNDS_MS`] (cumulative).
  pub store_latency_buckets: Vec<u64>,
}

fn add(c: &AtomicU64) {
  c.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
  /// A session was created: a login, or an anonymous session.
  pub fn created(&self, anonymous: bool) {
    add(if anonymous {
      &self.anonymous_sessions
    } else {
      &self.logins
    });
  }

  /// A refresh gave new tokens; `grace` when it was the grace window's same successor.
  pub fn refreshed(&self, grace: bool) {
    add(&self.refreshes);
    if grace {
      add(&self.grace_hits);
    }
  }

  /// A refresh was refused (not a theft).
  pub fn refused(&self) {
    add(&self.refreshes_refused);
  }

  /// A theft was detected.
  pub fn theft(&self) {
    add(&self.thefts);
  }

  /// A session that existed was revoked.
  pub fn revoked(&self) {
    add(&self.revocations);
  }

  /// A store call took `took`; `failed` when it failed with a store error.
  pub fn store_call(&self, took: Duration, failed: bool) {
    add(&self.store_calls);
    if failed {
      add(&self.store_errors);
    }
    let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    self.store_latency_us.fetch_add(us, Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    let ms = us as f64 / 1000.0;
    if let Some(i) = LATENCY_BOUNDS_MS.iter().position(|b| ms <= *b) {
      add(&self.store_buckets[i]);
    }
  }

  /// The counters now.
  pub fn snapshot(&self) -> Snapshot {
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let mut running = 0;
    let store_latency_buckets = self
      .store_buckets
      .iter()
      .map(|b| {
        running += get(b);
        running
      })
      .collect();
    #[allow(clippy::cast_precision_loss)]
    let store_latency_sum_ms = get(&self.store_latency_us) as f64 / 1000.0;
    Snapshot {
      logins: get(&self.logins),
      anonymous_sessions: get(&self.anonymous_sessions),
      refreshes: get(&self.refreshes),
      grace_hits: get(&self.grace_hits),
      refreshes_refused: get(&self.refreshes_refused),
      thefts: get(&self.thefts),
      revocations: get(&self.revocations),
      store_calls: get(&self.store_calls),
      store_errors: get(&self.store_errors),
      store_latency_sum_ms,
      store_latency_buckets,
    }
  }
}

#[cfg(test)]
mod tests {
  use std::sync::Arc;

  use super::*;
  use crate::clock::FixedClock;
  use crate::engine::conformance::{engine, T0};
  use crate::engine::{NewSession, RefreshOutcome, Tokens};
  use crate::error::{err, ErrorKind, Result};
  use crate::session::{DeviceInfo, Owner};
  use crate::store::{MemoryStore, Store};

  fn tokens(o: RefreshOutcome) -> Result<Tokens> {
    match o {
      RefreshOutcome::Refreshed(t) => Ok(t),
      _ => Err(err(ErrorKind::Internal, "expected new tokens")),
    }
  }

  #[tokio::test]
  async fn the_counts_are_what_a_scripted_sequence_did() -> Result<()> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new(100));
    let e = engine(store, Arc::new(FixedClock::at(T0))).await?;
    let user = || NewSession {
      owner: Owner::User("ann".into()),
      ..NewSession::default()
    };
    let d = DeviceInfo::default;
    let t0 = e.create(user()).await?;
    e.create(NewSession::default()).await?; // anonymous
    let t1 = tokens(e.refresh(t0.refresh.as_bytes(), d()).await?)?;
    tokens(e.refresh(t0.refresh.as_bytes(), d()).await?)?; // a second tab: grace
    tokens(e.refresh(t1.refresh.as_bytes(), d()).await?)?;
    assert!(matches!(
      e.refresh(t0.refresh.as_bytes(), d()).await?,
      RefreshOutcome::Theft(_)
    ));
    let other = e.create(user()).await?;
    assert!(e.revoke(&other.handle).await?);
    assert!(
      !e.revoke(&other.handle).await?,
      "a second revoke of it revokes nothing"
    );
    assert!(matches!(
      e.refresh(b"garbage", d()).await?,
      RefreshOutcome::Refused(_)
    ));
    let s = e.metrics();
    assert_eq!((s.logins, s.anonymous_sessions), (2, 1));
    assert_eq!((s.refreshes, s.grace_hits, s.refreshes_refused), (3, 1, 1));
    assert_eq!((s.thefts, s.revocations), (1, 2));
    assert!(s.store_calls > 10 && s.store_errors == 0);
    assert_eq!(s.store_latency_buckets.len(), LATENCY_BOUNDS_MS.len());
    Ok(())
  }

  #[test]
  fn latency_buckets_are_cumulative_and_the_sum_is_in_ms() {
    let m = Metrics::default();
    m.store_call(Duration::from_micros(500), false);
    m.store_call(Duration::from_millis(3), true);
    m.store_call(Duration::from_secs(10), false);
    let s = m.snapshot();
    assert_eq!((s.store_calls, s.store_errors), (3, 1));
    assert_eq!(s.store_latency_buckets[0], 1, "≤ 1 ms");
    assert_eq!(s.store_latency_buckets[1], 1, "≤ 2 ms");
    assert_eq!(s.store_latency_buckets[2], 2, "≤ 5 ms");
    assert_eq!(
      s.store_latency_buckets.last(),
      Some(&2),
      "10 s is only in +Inf (the count)"
    );
    assert!((s.store_latency_sum_ms - 10_003.5).abs() < 1e-9);
  }
}
