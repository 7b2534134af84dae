//! Token cores by number. The hot-path functions (`hot.rs`) are plain functions that take
//! a core's number, because calling a method of a napi-rs class costs about 200 ns more
//! than calling a plain function (measured with napi-rs 3.16 on Node 20); a verify is
//! about 1 µs, so that would be a fifth of it.
//!
//! Guarantees: a number names one core from `register` until `unregister` (called when
//! the JS object is garbage-collected); afterwards it names nothing, until reused.
//! Lookups take a read lock, held for the duration of the call.

use std::sync::{Arc, RwLock};

use crate::credentials::CookieShape;
use crate::engine::Engine;
use crate::error::Result;
use crate::jwt::access::ClaimsView;
use crate::service::{TokenService, Verify};

/// What the hot path needs of a core.
pub struct Registered {
  /// Who verifies.
  pub verifier: Verifier,
  /// Name of the access-token cookie.
  pub cookie_name: String,
  /// Name of the access-token cookie on secure requests.
  pub secure_cookie_name: String,
  /// How the access cookie is spelled.
  pub cookie_shape: CookieShape,
}

/// Who verifies a core's tokens: a `TokenCore`'s token service alone, or an engine, whose
/// verify also refuses sessions it knows to be revoked. Dispatch only: each arm calls the
/// core's own verify (`Verify` of `TokenService` or of `Engine`).
pub enum Verifier {
  /// A `TokenCore`: no sessions, so no revocations.
  Tokens(Arc<TokenService>),
  /// A session engine.
  Engine(Arc<Engine>),
}

/// Dispatch only; `Verify::verify_request_with` is written once, in the core.
impl Verify for Verifier {
  fn verify_access_with<R>(&self, token: &[u8], f: impl FnOnce(ClaimsView<'_>) -> R) -> Result<R> {
    match self {
      Self::Tokens(t) => t.verify_access_with(token, f),
      Self::Engine(e) => e.verify_access_with(token, f),
    }
  }
}

impl Verifier {
  /// See `Engine::verdict_epoch`; for a token service alone, the key rings it installed.
  pub fn verdict_epoch(&self) -> u64 {
    match self {
      Self::Tokens(t) => t.ring_generation(),
      Self::Engine(e) => e.verdict_epoch(),
    }
  }
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
