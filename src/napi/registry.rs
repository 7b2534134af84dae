//! Token cores by number. The hot-path functions (`hot.rs`) are plain functions that take
//! a core's number, because calling a method of a napi-rs class costs about 200 ns more
//! than calling a plain function (measured with napi-rs 3.16 on Node 20); a verify is
//! about 1 µs, so that would be a fifth of it.
//!
//! Guarantees: a number names one core from `register` until `unregister` (called when
//! the JS object is garbage-collected); afterwards it names nothing, until reused.
//! Lookups take a read lock, held for the duration of the call.

use std::sync::{Arc, RwLock};

use crate::service::TokenService;

/// What the hot path needs of a core.
pub struct Registered {
  /// The token service.
  pub service: Arc<TokenService>,
  /// Name of the access-token cookie.
  pub cookie_name: String,
  /// Name of the access-token cookie on secure requests.
  pub secure_cookie_name: String,
  /// The session engine, when the core belongs to one: verify then also refuses sessions
  /// it knows to be revoked.
  pub engine: Option<Arc<crate::engine::Engine>>,
}

static CORES: RwLock<Vec<Option<Registered>>> = RwLock::new(Vec::new());

/// Register a core; returns its number.
pub fn register(core: Registered) -> u32 {
  let mut cores = CORES
    .write()
    .unwrap_or_else(std::sync::PoisonError::into_inner);
  let slot = match cores.iter().position(Option::is_none) {
    Some(i) => i,
    None => {
      cores.push(None);
      cores.len() - 1
    }
  };
  cores[slot] = Some(core);
  u32::try_from(slot).unwrap_or(u32::MAX)
}

/// Forget core `id`.
pub fn unregister(id: u32) {
  let mut cores = CORES
    .write()
    .unwrap_or_else(std::sync::PoisonError::into_inner);
  if let Some(slot) = cores.get_mut(id as usize) {
    *slot = None;
  }
}

/// Run `f` with core `id`, or return `None` when there is no such core.
pub fn with<R>(id: u32, f: impl FnOnce(&Registered) -> R) -> Option<R> {
  let cores = CORES
    .read()
    .unwrap_or_else(std::sync::PoisonError::into_inner);
  cores.get(id as usize).and_then(Option::as_ref).map(f)
}
