//! The token service: the app's secrets, the key ring, the access-token policy and a clock
//! in one object. It is what the napi layer wraps (one call per request on the hot path)
//! and what the session engine builds on.
//!
//! Guarantees: `verify_request` does no I/O and takes one read lock; the ring is swapped
//! atomically (readers see the old or the new ring, never a mix), and only for a ring of a
//! higher version, so a stale copy from a slow store read never replaces a newer one.
//! Not guaranteed: that the ring is fresh; whoever shares a store reloads it (issue of the
//! engine) and calls [`TokenService::install_ring`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde_json::Value;

use crate::clock::{Clock, UnixMillis};
use crate::credentials::{self, CookieShape, Source};
use crate::digest::ct_eq;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::access::ClaimsView;
use crate::jwt::{access, AccessClaims, Algorithm, Issued, Policy, Subject};
use crate::keys::{jwks, sealed, KeyRing, RotationPolicy};
use crate::secret::Secrets;
use crate::token::{csrf, Handle, RefreshToken};

/// Settings of a [`TokenService`].
#[derive(Debug, Clone, Default)]
pub struct Config {
  /// Access-token policy.
  pub policy: Policy,
  /// Key rotation policy.
  pub rotation: RotationPolicy,
  /// Algorithm of a newly generated ring. Defaults to HS256.
  pub algorithm: Algorithm,
}

/// Secrets, key ring, policy and clock.
pub struct TokenService {
  secrets: Secrets,
  config: Config,
  ring: RwLock<Arc<KeyRing>>,
  clock: Arc<dyn Clock>,
  /// Rings installed since creation (each may refuse tokens the previous accepted).
  ring_installs: AtomicU64,
}

impl TokenService {
  /// A service with a new random key ring (or `ring`, when given).
  ///
  /// # Errors
  /// `CONFIG_INVALID` (secrets, policy, rotation policy), `RANDOM_UNAVAILABLE`.
  pub fn new(
    secrets: Secrets,
    config: Config,
    ring: Option<KeyRing>,
    clock: Arc<dyn Clock>,
  ) -> Result<Self> {
    config.policy.validate()?;
    config.rotation.validate(
      config.policy.ttl_secs * 1000,
      config.policy.leeway_secs * 1000,
    )?;
    let ring = match ring {
      Some(r) => r,
      None => KeyRing::generate(config.algorithm, clock.now(), &config.rotation)?,
    };
    Ok(Self {
      secrets,
      config,
      ring: RwLock::new(Arc::new(ring)),
      ring_installs: AtomicU64::new(0),
      clock,
    })
  }

  /// Now, by the service's clock.
  pub fn now(&self) -> UnixMillis {
    self.clock.now()
  }

  /// The settings.
  pub fn config(&self) -> &Config {
    &self.config
  }

  /// The app's secrets.
  pub fn secrets(&self) -> &Secrets {
    &self.secrets
  }

  /// The current ring.
  pub fn ring(&self) -> Arc<KeyRing> {
    match self.ring.read() {
      Ok(g) => Arc::clone(&g),
      Err(p) => Arc::clone(&p.into_inner()),
    }
  }

  /// How many key rings were installed since creation: it changes whenever the keys that
  /// verify accepts may have changed.
  pub fn ring_generation(&self) -> u64 {
    self.ring_installs.load(Ordering::Acquire)
  }

  /// Install `ring` if its version is higher than the current one's, or, when `replace`
  /// is set, at least as high (a process adopting the stored ring in place of the one it
  /// generated). Never an older version: an old sealed ring must not bring a revoked key
  /// back. Returns whether it was installed.
  pub fn install_ring_with(&self, ring: KeyRing, replace: bool) -> bool {
    let mut g = match self.ring.write() {
      Ok(g) => g,
      Err(p) => p.into_inner(),
    };
    if ring.version() > g.version() || (replace && ring.version() == g.version()) {
      *g = Arc::new(ring);
      self.ring_installs.fetch_add(1, Ordering::AcqRel);
      true
    } else {
      false
    }
  }

  /// Install `ring` if its version is higher than the current one's. Returns whether it
  /// was installed.
  pub fn install_ring(&self, ring: KeyRing) -> bool {
    self.install_ring_with(ring, false)
  }

  /// Rotate the ring if due (see `keys::ring`); returns the new ring when it changed, for
  /// the caller to save (by compare-and-swap on the version).
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn rotate_if_due(&self) -> Result<Option<Arc<KeyRing>>> {
    let ring = self.ring();
    match ring.rotate_if_due(self.now(), &self.config.rotation)? {
      Some(next) => {
        self.install_ring(next);
        Ok(Some(self.ring()))
      }
      None => Ok(None),
    }
  }

  /// Emergency: remove key `kid` now (see [`KeyRing::revoke`]).
  ///
  /// # Errors
  /// `KEY_UNKNOWN`, `RANDOM_UNAVAILABLE`.
  pub fn revoke_key(&self, kid: &str) -> Result<Arc<KeyRing>> {
    let next = self.ring().revoke(kid, self.now(), &self.config.rotation)?;
    self.install_ring(next);
    Ok(self.ring())
  }

  /// The ring, sealed for storage.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn seal_ring(&self) -> Result<String> {
    sealed::seal(&self.ring(), &self.secrets)
  }

  /// Open a sealed ring and install it if newer, or also when of the same version with
  /// `replace` set (a process adopting the ring a store holds). Returns whether it was
  /// installed.
  ///
  /// # Errors
  /// `KEYRING_UNREADABLE`, `KEY_MATERIAL_INVALID`; `CONFIG_INVALID` when its algorithm is
  /// not the configured one.
  pub fn open_ring(&self, text: &str, replace: bool) -> Result<bool> {
    let ring = sealed::open(text, &self.secrets)?;
    if ring.alg() != self.config.algorithm {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "the stored key ring uses another algorithm",
      ));
    }
    Ok(self.install_ring_with(ring, replace))
  }

  /// The public JWK Set (empty for HS256).
  pub fn jwks(&self) -> Value {
    jwks::jwks(&self.ring(), self.now())
  }

  /// Sign an access token.
  ///
  /// # Errors
  /// As [`access::sign`].
  pub fn sign_access(&self, subject: &Subject<'_>) -> Result<Issued> {
    access::sign(&self.ring(), &self.config.policy, self.now(), subject, None)
  }

  /// Sign an access token for `subject` that expires no later than `not_after_secs`.
  ///
  /// # Errors
  /// As [`access::sign`], and `TOKEN_EXPIRED` when `not_after_secs` has passed.
  pub fn sign_access_until(&self, subject: &Subject<'_>, not_after_secs: i64) -> Result<Issued> {
    access::sign(
      &self.ring(),
      &self.config.policy,
      self.now(),
      subject,
      Some(not_after_secs),
    )
  }

  /// Verify an access token.
  ///
  /// # Errors
  /// As [`access::verify`].
  pub fn verify_access(&self, token: &[u8]) -> Result<AccessClaims> {
    self.verify_access_with(token, |v| v.to_owned())
  }

  /// The first refresh token of a new session.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn issue_refresh(&self, handle: Handle) -> Result<RefreshToken> {
    RefreshToken::issue(handle)
  }

  /// Parse and authenticate a presented refresh token.
  ///
  /// # Errors
  /// `REFRESH_MALFORMED`, `REFRESH_FORGED`.
  pub fn parse_refresh(&self, text: &[u8]) -> Result<RefreshToken> {
    RefreshToken::parse(text, &self.secrets)
  }

  /// A CSRF token for the session `handle`.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn csrf_token(&self, handle: &Handle) -> Result<String> {
    csrf::issue(handle, &self.secrets)
  }

  /// Check a CSRF token against the session `handle`.
  ///
  /// # Errors
  /// `CSRF_INVALID`.
  pub fn verify_csrf(&self, token: &[u8], handle: &Handle) -> Result<()> {
    csrf::verify(token, handle, &self.secrets)
  }
}

impl std::fmt::Debug for TokenService {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_struct("TokenService")
      .field("config", &self.config)
      .field("secrets", &self.secrets)
      .finish()
  }
}

/// What verifies access tokens: the token service alone, or an engine, which also refuses
/// sessions it knows to be revoked. An implementation gives the one-token verify; finding
/// the token in a request's headers is written here once, for every verifier.
pub trait Verify {
  /// Verify one access token and hand its claims, borrowed, to `f`. No I/O.
  ///
  /// # Errors
  /// As [`access::verify`] (and the implementation's own refusals).
  fn verify_access_with<R>(&self, token: &[u8], f: impl FnOnce(ClaimsView<'_>) -> R) -> Result<R>;

  /// Find the access token of a request (`None` when it carries none), the cookie spelled
  /// as `shape` says, verify it, and hand the claims, borrowed, with where the token came
  /// from, to `f`. No I/O: the hot path production runs (the binding packs what `f` gets
  /// for JS).
  ///
  /// # Errors
  /// As `credentials::access_token` and [`Verify::verify_access_with`]; `TOKEN_INVALID`
  /// when the cookie names another session than its token's `sid` (compared in constant
  /// time, though the sid is no secret: it is in the token).
  fn verify_request_with<R>(
    &self,
    cookie_header: Option<&[u8]>,
    authorization: Option<&[u8]>,
    cookie_name: &str,
    shape: CookieShape,
    f: impl FnOnce(ClaimsView<'_>, Source) -> R,
  ) -> Result<Option<R>> {
    let Some(found) = credentials::access_token(cookie_header, authorization, cookie_name, shape)?
    else {
      return Ok(None);
    };
    self
      .verify_access_with(found.token, |v| match found.sid {
        Some(sid) if !ct_eq(sid, v.sid.as_bytes()) => Err(err(
          ErrorKind::TokenInvalid,
          "the access cookie names another session than its token",
        )),
        _ => Ok(f(v, found.source)),
      })?
      .map(Some)
  }

  /// [`Verify::verify_request_with`], the claims owned.
  ///
  /// # Errors
  /// As [`Verify::verify_request_with`].
  fn verify_request(
    &self,
    cookie_header: Option<&[u8]>,
    authorization: Option<&[u8]>,
    cookie_name: &str,
  ) -> Result<Option<(AccessClaims, Source)>> {
    self.verify_request_with(
      cookie_header,
      authorization,
      cookie_name,
      CookieShape::Jwt,
      |v, source| (v.to_owned(), source),
    )
  }
}

impl Verify for TokenService {
  fn verify_access_with<R>(&self, token: &[u8], f: impl FnOnce(ClaimsView<'_>) -> R) -> Result<R> {
    access::verify_with(&self.ring(), &self.config.policy, self.now(), token, f)
  }
}
