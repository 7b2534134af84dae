//! Fixtures shared by the fuzz targets: the same known keys, secrets and fixed clock as
//! `tests/jwt_attacks.rs`, so a seed token signed here verifies in every target, and a
//! crash input replays the same way on any machine.
//!
//! Every fixture is built once per process (`OnceLock`): a target's per-input cost is the
//! code under test, not key setup.

use std::sync::{Arc, OnceLock};

use jsonwebtoken::EncodingKey;
use tandem_session::clock::{FixedClock, UnixMillis};
use tandem_session::jwt::jws;
use tandem_session::jwt::{Algorithm, Policy};
use tandem_session::keys::{Key, KeyRing, KeyState};
use tandem_session::secret::Secrets;
use tandem_session::{Config, ErrorKind, TokenService};
use zeroize::Zeroizing;

/// The HS256 key id (as in tests/jwt_attacks.rs).
pub const KID: &str = "AAAAAAAAAAAAAAAA";
/// The HS256 key.
pub const HS_KEY: [u8; 32] = [7; 32];
/// The Ed25519 key id.
pub const ED_KID: &str = "EEEEEEEEEEEEEEEE";
/// The Ed25519 seed.
pub const ED_SEED: [u8; 32] = [9; 32];
/// The fixed clock: 2025-06-15T15:06:40Z. Seed tokens are issued at [`T`].
pub const NOW: UnixMillis = UnixMillis(1_750_000_000_000);
/// [`NOW`] in seconds.
pub const T: i64 = 1_750_000_000;
/// The app secrets the refresh-token target verifies with: S1 signs, both verify.
pub const S1: &str = "fuzz-refresh-secret-number-one-000000001";
/// The older secret (verifies only).
pub const S2: &str = "fuzz-refresh-secret-number-two-000000002";

fn ring(alg: Algorithm, kid: &str, material: [u8; 32]) -> KeyRing {
  let k = Key::from_parts(
    kid.into(),
    alg,
    Zeroizing::new(material.to_vec()),
    KeyState::Current,
    UnixMillis(0),
  )
  .expect("fixture key");
  KeyRing::from_parts(1, alg, vec![k]).expect("fixture ring")
}

/// The HS256 ring of tests/jwt_attacks.rs (`hs_ring()`).
pub fn hs_ring() -> &'static KeyRing {
  static R: OnceLock<KeyRing> = OnceLock::new();
  R.get_or_init(|| ring(Algorithm::Hs256, KID, HS_KEY))
}

/// The Ed25519 ring of tests/jwt_attacks.rs (`ed_ring()`).
pub fn ed_ring() -> &'static KeyRing {
  static R: OnceLock<KeyRing> = OnceLock::new();
  R.get_or_init(|| ring(Algorithm::EdDsa, ED_KID, ED_SEED))
}

/// The default access-token policy.
pub fn policy() -> &'static Policy {
  static P: OnceLock<Policy> = OnceLock::new();
  P.get_or_init(Policy::default)
}

/// The signing key of `alg`'s fixture ring.
pub fn encoding_key(alg: Algorithm) -> &'static EncodingKey {
  static HS: OnceLock<EncodingKey> = OnceLock::new();
  static ED: OnceLock<EncodingKey> = OnceLock::new();
  match alg {
    Algorithm::Hs256 => HS.get_or_init(|| EncodingKey::from_secret(&HS_KEY)),
    Algorithm::EdDsa => ED.get_or_init(|| {
      use ed25519_dalek::pkcs8::EncodePrivateKey;
      let der = ed25519_dalek::SigningKey::from_bytes(&ED_SEED)
        .to_pkcs8_der()
        .expect("pkcs8");
      EncodingKey::from_ed_der(der.as_bytes())
    }),
  }
}

/// The fixture ring of `alg`.
pub fn ring_of(alg: Algorithm) -> &'static KeyRing {
  match alg {
    Algorithm::Hs256 => hs_ring(),
    Algorithm::EdDsa => ed_ring(),
  }
}

/// Sign exact header and payload bytes with `alg`'s fixture key.
pub fn sign(alg: Algorithm, header: &[u8], payload: &[u8]) -> String {
  jws::sign(header, payload, encoding_key(alg), alg).expect("fixture signing")
}

/// The app secrets `[S1, S2]`.
pub fn secrets() -> &'static Secrets {
  static S: OnceLock<Secrets> = OnceLock::new();
  S.get_or_init(|| Secrets::new(&[S1, S2]).expect("fixture secrets"))
}

/// `[S1]` alone.
pub fn secrets_1() -> &'static Secrets {
  static S: OnceLock<Secrets> = OnceLock::new();
  S.get_or_init(|| Secrets::new(&[S1]).expect("fixture secrets"))
}

/// `[S2]` alone.
pub fn secrets_2() -> &'static Secrets {
  static S: OnceLock<Secrets> = OnceLock::new();
  S.get_or_init(|| Secrets::new(&[S2]).expect("fixture secrets"))
}

/// A token service over the HS256 ring, the default policy and the fixed clock.
pub fn service() -> &'static TokenService {
  static S: OnceLock<TokenService> = OnceLock::new();
  S.get_or_init(|| {
    TokenService::new(
      secrets().clone(),
      Config::default(),
      Some(hs_ring().clone()),
      Arc::new(FixedClock::at(NOW)),
    )
    .expect("fixture service")
  })
}

/// The error kinds a JWT verification may return (src/jwt/access.rs). Anything else
/// (`INTERNAL` above all) is a bug.
pub fn is_verify_error(k: ErrorKind) -> bool {
  matches!(
    k,
    ErrorKind::TokenMalformed
      | ErrorKind::TokenInvalid
      | ErrorKind::KeyUnknown
      | ErrorKind::TokenExpired
      | ErrorKind::TokenNotYetValid
  )
}

/// Hex of `b`, for assertion messages.
pub fn hex(b: &[u8]) -> String {
  b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Is FUZZ_VERBOSE=1 set? Targets then print each input's verdict to stderr: for replaying
/// one input, or checking that the seeds reach the paths they are meant to.
pub fn verbose() -> bool {
  static V: OnceLock<bool> = OnceLock::new();
  *V.get_or_init(|| std::env::var_os("FUZZ_VERBOSE").is_some_and(|v| v == "1"))
}
