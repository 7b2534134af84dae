//! An engine's counters as JS sees them (`engine.metrics()`): `engine::metrics::Snapshot`
//! with JS names and numbers.
//!
//! Guarantees: a conversion only; counts are exact up to 2^53 (a JS number), far past
//! anything an engine counts in its lifetime.

use napi_derive::napi;

use crate::engine::metrics::LATENCY_BOUNDS_MS;
use crate::engine::MetricsSnapshot;

/// The counters of one engine since it started (see `engine::metrics`).
#[napi(object)]
pub struct NapiMetrics {
  /// Sessions created for a user (logins).
  pub logins: f64,
  /// Anonymous sessions created.
  pub anonymous_sessions: f64,
  /// Refreshes that gave new tokens (grace hits included).
  pub refreshes: f64,
  /// Of those, the ones answered in the grace window.
  pub grace_hits: f64,
  /// Refreshes refused (thefts not included).
  pub refreshes_refused: f64,
  /// Thefts detected (reused refresh tokens).
  pub thefts: f64,
  /// Sessions revoked that existed.
  pub revocations: f64,
  /// Store calls made.
  pub store_calls: f64,
  /// Store calls that failed.
  pub store_errors: f64,
  /// Sum of the store calls' durations, ms.
  pub store_latency_sum_ms: f64,
  /// Upper bounds of the latency buckets, ms.
  pub store_latency_bounds_ms: Vec<f64>,
  /// Store calls that took at most each bound (cumulative).
  pub store_latency_buckets: Vec<f64>,
}

#[allow(clippy::cast_precision_loss)]
impl From<MetricsSnapshot> for NapiMetrics {
  fn from(s: MetricsSnapshot) -> Self {
    Self {
      logins: s.logins as f64,
      anonymous_sessions: s.anonymous_sessions as f64,
      refreshes: s.refreshes as f64,
      grace_hits: s.grace_hits as f64,
      refreshes_refused: s.refreshes_refused as f64,
      thefts: s.thefts as f64,
      revocations: s.revocations as f64,
      store_calls: s.store_calls as f64,
      store_errors: s.store_errors as f64,
      store_latency_sum_ms: s.store_latency_sum_ms,
      store_latency_bounds_ms: LATENCY_BOUNDS_MS.to_vec(),
      store_latency_buckets: s.store_latency_buckets.iter().map(|&n| n as f64).collect(),
    }
  }
}
