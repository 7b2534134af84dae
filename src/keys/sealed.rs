//! Sealing the key ring for storage: XChaCha20-Poly1305 under a key derived from the app's
//! `secret` (see `secret::Purpose::KeyRingSeal`).
//!
//! Format (base64url, no padding): `"tks1"` ‖ 24-byte random nonce ‖ AEAD ciphertext of the
//! ring's JSON, with the associated data `"tandem-session keyring v1"`.
//!
//! Guarantees: a dump of the store shows no key material (DESIGN promise 1); any change
//! of a sealed ring, or a wrong secret, is `KEYRING_UNREADABLE`; sealing uses the first
//! secret and opening tries each, so the app's secret can rotate. Plaintext buffers are
//! zeroized.
//! Not guaranteed: secrecy if the app's `secret` leaks together with the store.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::Algorithm;
use crate::keys::key::{Key, KeyState};
use crate::keys::ring::KeyRing;
use crate::random;
use crate::secret::{Purpose, Secrets};

const MAGIC: &[u8; 4] = b"tks1";
const AAD: &[u8] = b"tandem-session keyring v1";
/// Largest sealed ring accepted, in characters.
pub const MAX_SEALED_LEN: usize = 16 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredRing {
  version: u64,
  alg: String,
  keys: Vec<StoredKey>,
  /// When the ring was last reset (ms), absent when never: older rings have no such field.
  #[serde(default, skip_serializing_if = "Option::is_none")]
  sessions_after: Option<i64>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredKey {
  kid: String,
  /// base64url of the 32 bytes of material; zeroized on drop, on every path.
  k: Zeroizing<String>,
  /// "current", "next" or "retired".
  state: String,
  activates_at: i64,
  verify_until: Option<i64>,
}

/// Seal `ring` with the first secret.
///
/// # Errors
/// `RANDOM_UNAVAILABLE`; `INTERNAL` if serialisation fails.
pub fn seal(ring: &KeyRing, secrets: &Secrets) -> Result<String> {
  let stored = StoredRing {
    version: ring.version,
    alg: ring.alg.name().to_owned(),
    keys: ring
      .keys
      .iter()
      .map(|k| {
        let (state, verify_until) = match k.state {
          KeyState::Current => ("current", None),
          KeyState::Next => ("next", None),
          KeyState::Retired { verify_until } => ("retired", Some(verify_until.0)),
        };
        StoredKey {
          kid: k.kid.clone(),
          k: Zeroizing::new(encoding::encode(&k.material)),
          state: state.to_owned(),
          activates_at: k.activates_at.0,
          verify_until,
        }
      })
      .collect(),
    sessions_after: ring.sessions_after.map(|t| t.0),
  };
  // Serialise into a buffer large enough from the start, so that no reallocation leaves
  // an unzeroized copy of the key material behind.
  let mut plain = Zeroizing::new(Vec::with_capacity(256 + 256 * stored.keys.len()));
  serde_json::to_writer(&mut *plain, &stored)
    .map_err(|_| err(ErrorKind::Internal, "key ring serialisation failed"))?;
  drop(stored);
  let cipher = XChaCha20Poly1305::new(secrets.current().get(Purpose::KeyRingSeal).into());
  let nonce = random::bytes::<24>()?;
  let ct = cipher
    .encrypt(
      XNonce::from_slice(&nonce),
      Payload {
        msg: &plain,
        aad: AAD,
      },
    )
    .map_err(|_| err(ErrorKind::Internal, "key ring sealing failed"))?;
  let mut out = Vec::with_capacity(4 + 24 + ct.len());
  out.extend_from_slice(MAGIC);
  out.extend_from_slice(&nonce);
  out.extend_from_slice(&ct);
  Ok(encoding::encode(&out))
}

/// Open a sealed ring with any of the secrets.
///
/// # Errors
/// `KEYRING_UNREADABLE` when it is malformed, tampered with, or sealed under a secret
/// that is not among `secrets`; `KEY_MATERIAL_INVALID` when its content is inconsistent.
pub fn open(sealed: &str, secrets: &Secrets) -> Result<KeyRing> {
  let unreadable = || {
    err(
      ErrorKind::KeyRingUnreadable,
      "the sealed key ring cannot be opened",
    )
  };
  if sealed.len() > MAX_SEALED_LEN {
    return Err(unreadable());
  }
  let raw = encoding::decode_strict(
    sealed.as_bytes(),
    MAX_SEALED_LEN,
    ErrorKind::KeyRingUnreadable,
  )?;
  if raw.len() < 4 + 24 + 16 || &raw[..4] != MAGIC {
    return Err(unreadable());
  }
  let (nonce, ct) = raw[4..].split_at(24);
  let plain = secrets
    .all()
    .iter()
    .find_map(|keys| {
      XChaCha20Poly1305::new(keys.get(Purpose::KeyRingSeal).into())
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
        .ok()
    })
    .map(Zeroizing::new)
    .ok_or_else(unreadable)?;
  let stored: StoredRing = serde_json::from_slice(&plain).map_err(|_| unreadable())?;
  let alg = Algorithm::from_name(&stored.alg).ok_or_else(unreadable)?;
  let mut keys = Vec::with_capacity(stored.keys.len());
  for sk in stored.keys {
    let state = match (sk.state.as_str(), sk.verify_until) {
      ("current", None) => KeyState::Current,
      ("next", None) => KeyState::Next,
      ("retired", Some(t)) => KeyState::Retired {
        verify_until: UnixMillis(t),
      },
      _ => return Err(unreadable()),
    };
    let material = Zeroizing::new(encoding::decode_strict(
      sk.k.as_bytes(),
      32,
      ErrorKind::KeyRingUnreadable,
    )?);
    keys.push(Key::from_parts(
      sk.kid,
      alg,
      material,
      state,
      UnixMillis(sk.activates_at),
    )?);
  }
  Ok(
    KeyRing::from_parts(stored.version, alg, keys)?
      .with_sessions_after(stored.sessions_after.map(UnixMillis)),
  )
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::keys::ring::RotationPolicy;

  fn secrets(list: &[&str]) -> Result<Secrets> {
    Secrets::new(list)
  }
  const A: &str = "first-secret-of-at-least-32-bytes-long";
  const B: &str = "second-secret-of-at-least-32-bytes-long";

  #[test]
  fn seal_then_open_gives_the_same_ring() -> Result<()> {
    let s = secrets(&[A])?;
    let ring = KeyRing::generate(Algorithm::EdDsa, UnixMillis(42), &RotationPolicy::default())?;
    let back = open(&seal(&ring, &s)?, &s)?;
    assert_eq!(back.version(), ring.version());
    assert_eq!(back.current().kid(), ring.current().kid());
    assert_eq!(back.current().public_key(), ring.current().public_key());
    Ok(())
  }

  #[test]
  fn sealed_text_contains_no_key_material() -> Result<()> {
    let s = secrets(&[A])?;
    let ring = KeyRing::generate(Algorithm::Hs256, UnixMillis(0), &RotationPolicy::default())?;
    let sealed = seal(&ring, &s)?;
    for k in ring.keys() {
      assert!(!sealed.contains(&encoding::encode(&k.material)));
    }
    Ok(())
  }

  #[test]
  fn opens_with_an_older_secret_and_refuses_tampering_or_a_stranger() -> Result<()> {
    let ring = KeyRing::generate(Algorithm::Hs256, UnixMillis(0), &RotationPolicy::default())?;
    let sealed = seal(&ring, &secrets(&[A])?)?;
    assert!(open(&sealed, &secrets(&[B, A])?).is_ok());
    let e = open(&sealed, &secrets(&[B])?).err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::KeyRingUnreadable));
    let mut raw = encoding::decode_strict(sealed.as_bytes(), MAX_SEALED_LEN, ErrorKind::Internal)?;
    let last = raw.len() - 1;
    raw[last] ^= 1;
    assert!(open(&encoding::encode(&raw), &secrets(&[A])?).is_err());
    assert!(open("not a ring", &secrets(&[A])?).is_err());
    Ok(())
  }

  #[test]
  fn a_reset_instant_is_sealed_and_carried_by_later_rotations() -> Result<()> {
    let s = secrets(&[A])?;
    let policy = RotationPolicy::default();
    let ring = KeyRing::generate(Algorithm::EdDsa, UnixMillis(0), &policy)?;
    assert_eq!(open(&seal(&ring, &s)?, &s)?.sessions_after(), None);
    let reset = ring.reset_over(7, UnixMillis(42));
    assert_eq!(reset.version(), 8);
    let back = open(&seal(&reset, &s)?, &s)?;
    assert_eq!(back.sessions_after(), Some(UnixMillis(42)));
    let later = back
      .rotate_if_due(UnixMillis(policy.interval_ms + 1), &policy)?
      .ok_or_else(|| err(ErrorKind::Internal, "a rotation was due"))?;
    assert_eq!(later.sessions_after(), Some(UnixMillis(42)));
    assert_eq!(
      later
        .revoke(later.current().kid(), UnixMillis(50), &policy)?
        .sessions_after(),
      Some(UnixMillis(42))
    );
    Ok(())
  }
}
