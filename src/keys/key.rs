//! One signing key of the ring: its `kid`, its one algorithm, its material and its dates.
//!
//! Guarantees: HS256 keys are exactly 32 random bytes (RFC 7518 §3.2 asks ≥ the hash
//! size); Ed25519 keys are a 32-byte seed (RFC 8032). Material is zeroized on drop, never
//! printed (`Debug` shows `[redacted]`) and never leaves the core except sealed (see
//! `keys::sealed`); for Ed25519 only the public half is ever exported (JWKS).
//! A `kid` is 16 base64url characters: it is matched exactly, never used as a path or URL.

use std::fmt;

use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{DecodingKey, EncodingKey};
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::header::header_segment;
use crate::jwt::jws::VerifyKey;
use crate::jwt::Algorithm;
use crate::random;

/// Longest `kid` we accept in a token header: a JWS header rule, kept in `jwt::header`.
pub use crate::jwt::header::MAX_KID_LEN;

/// Where a key stands in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
  /// Announced: verifies (so processes that promoted it first are understood) but does
  /// not sign until it becomes current.
  Next,
  /// Signs new tokens, and verifies.
  Current,
  /// Verifies only, until `verify_until`.
  Retired {
    /// After this instant the key verifies nothing.
    verify_until: UnixMillis,
  },
}

/// A signing key.
#[derive(Clone)]
pub struct Key {
  pub(crate) kid: String,
  pub(crate) alg: Algorithm,
  pub(crate) material: Zeroizing<Vec<u8>>,
  pub(crate) state: KeyState,
  /// When it became (or becomes) current.
  pub(crate) activates_at: UnixMillis,
  pub(crate) encoding: EncodingKey,
  pub(crate) decoding: DecodingKey,
  /// The Ed25519 public key; empty for HS256.
  pub(crate) public: Vec<u8>,
  /// Process-unique id of this key's material (clones share it): the key of the
  /// per-thread verifier cache in `jwt::jws`.
  pub(crate) uid: u64,
  /// The encoded header segment of access tokens this key signs (see `jwt::access`).
  pub(crate) access_header: String,
}

/// Source of [`Key::uid`]s.
static NEXT_UID: AtomicU64 = AtomicU64::new(1);

impl Key {
  /// A fresh random key.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE` if the OS generator fails.
  pub fn generate(alg: Algorithm, state: KeyState, activates_at: UnixMillis) -> Result<Self> {
    let kid = encoding::encode(&random::bytes::<12>()?);
    let material = Zeroizing::new(random::bytes::<32>()?.to_vec());
    Self::from_parts(kid, alg, material, state, activates_at)
  }

  /// Rebuild a key from its stored parts.
  ///
  /// # Errors
  /// `KEY_MATERIAL_INVALID` when the material is not 32 bytes or the kid is not 16
  /// base64url characters.
  pub fn from_parts(
    kid: String,
    alg: Algorithm,
    material: Zeroizing<Vec<u8>>,
    state: KeyState,
    activates_at: UnixMillis,
  ) -> Result<Self> {
    if kid.len() != 16 || !kid.bytes().all(encoding::is_b64url_byte) {
      return Err(err(
        ErrorKind::KeyMaterialInvalid,
        "kid must be 16 base64url characters",
      ));
    }
    let seed: [u8; 32] = material.as_slice().try_into().map_err(|_| {
      err(
        ErrorKind::KeyMaterialInvalid,
        "key material must be 32 bytes",
      )
    })?;
    let (encoding, decoding, public) = match alg {
      Algorithm::Hs256 => (
        EncodingKey::from_secret(&seed),
        DecodingKey::from_secret(&seed),
        vec![],
      ),
      Algorithm::EdDsa => {
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = sk.to_pkcs8_der().map_err(|_| {
          err(
            ErrorKind::KeyMaterialInvalid,
            "Ed25519 key could not be encoded",
          )
        })?;
        let public = sk.verifying_key().to_bytes().to_vec();
        (
          EncodingKey::from_ed_der(der.as_bytes()),
          DecodingKey::from_ed_der(&public),
          public,
        )
      }
    };
    let access_header = header_segment(alg, &kid);
    let uid = NEXT_UID.fetch_add(1, Ordering::Relaxed);
    Ok(Self {
      kid,
      alg,
      material,
      state,
      activates_at,
      encoding,
      decoding,
      public,
      uid,
      access_header,
    })
  }

  /// The key id.
  pub fn kid(&self) -> &str {
    &self.kid
  }

  /// The one algorithm this key is used with.
  pub fn alg(&self) -> Algorithm {
    self.alg
  }

  /// Its state.
  pub fn state(&self) -> KeyState {
    self.state
  }

  /// When it became, or becomes, current.
  pub fn activates_at(&self) -> UnixMillis {
    self.activates_at
  }

  /// Does it verify tokens at `now`?
  pub fn verifies_at(&self, now: UnixMillis) -> bool {
    match self.state {
      KeyState::Next | KeyState::Current => true,
      KeyState::Retired { verify_until } => now < verify_until,
    }
  }

  /// The `jsonwebtoken` signing key (crate-internal users only: the napi test hook).
  #[cfg(feature = "napi")]
  pub(crate) fn encoding_key(&self) -> &EncodingKey {
    &self.encoding
  }

  /// The Ed25519 public key (32 bytes), or `None` for an HMAC key.
  pub fn public_key(&self) -> Option<&[u8]> {
    (self.alg == Algorithm::EdDsa).then_some(self.public.as_slice())
  }
}

/// A ring key verifies with its own algorithm only; its prepared verifier is kept per
/// thread under its process-unique `uid`.
impl VerifyKey for Key {
  fn alg(&self) -> Algorithm {
    self.alg
  }
  fn decoding(&self) -> &DecodingKey {
    &self.decoding
  }
  fn cache_id(&self) -> Option<u64> {
    Some(self.uid)
  }
}

impl fmt::Debug for Key {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct("Key")
      .field("kid", &self.kid)
      .field("alg", &self.alg)
      .field("state", &self.state)
      .field("material", &"[redacted]")
      .finish()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn debug_redacts_material() -> Result<()> {
    let k = Key::generate(Algorithm::Hs256, KeyState::Current, UnixMillis(0))?;
    let s = format!("{k:?}");
    assert!(s.contains("[redacted]"));
    assert!(!s.contains(&format!("{:?}", k.material.as_slice())));
    Ok(())
  }

  #[test]
  fn rejects_bad_parts() {
    let m = || Zeroizing::new(vec![1u8; 32]);
    assert!(Key::from_parts(
      "short".into(),
      Algorithm::Hs256,
      m(),
      KeyState::Current,
      UnixMillis(0)
    )
    .is_err());
    assert!(Key::from_parts(
      "../../etc/passwd".into(),
      Algorithm::Hs256,
      m(),
      KeyState::Current,
      UnixMillis(0)
    )
    .is_err());
    let short = Zeroizing::new(vec![1u8; 16]);
    assert!(Key::from_parts(
      "AAAAAAAAAAAAAAAA".into(),
      Algorithm::Hs256,
      short,
      KeyState::Current,
      UnixMillis(0)
    )
    .is_err());
  }

  #[test]
  fn ed25519_key_exposes_public_half_only() -> Result<()> {
    let k = Key::generate(Algorithm::EdDsa, KeyState::Current, UnixMillis(0))?;
    assert_eq!(k.public_key().map(<[u8]>::len), Some(32));
    let h = Key::generate(Algorithm::Hs256, KeyState::Current, UnixMillis(0))?;
    assert_eq!(h.public_key(), None);
    Ok(())
  }
}
