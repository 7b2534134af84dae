//! Refresh tokens: an opaque credential that names its session, carries a 256-bit secret,
//! and proves we issued it.
//!
//! Format: base64url (no padding, 92 characters) of 69 bytes:
//! `version (1) = 1 ‖ handle (16) ‖ generation (4, big-endian) ‖ secret (32) ‖ tag (16)`,
//! where `tag = HMAC-SHA-256(k_refresh_mac, "tandem-rt/v1" ‖ version ‖ handle ‖ generation
//! ‖ secret)` truncated to 128 bits, `k_refresh_mac` derived from the app's secret.
//!
//! Guarantees:
//! - a store finds the record by the handle in O(1) and compares [`RefreshToken::digest`]
//!   (SHA-256 of the secret) in constant time; the token itself is never stored;
//! - a token that parses was issued by us (its tag verifies under one of the app's
//!   secrets), so an older generation that parses is a genuinely issued, already rotated
//!   token — reuse, i.e. theft — while a made-up token, even one naming a real handle,
//!   fails as `REFRESH_FORGED` and must revoke nothing;
//! - a grace successor is derived deterministically ([`RefreshToken::successor`]) from
//!   the predecessor's secret, a random per-rotation salt the record keeps, and a key
//!   derived from the app's secret; only its digest needs storing. Secrets are zeroized.
//!
//! Not guaranteed: anything about the record (generation, revocation): the engine decides.

use std::fmt;

use zeroize::Zeroizing;

use crate::digest;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::random;
use crate::secret::{DerivedKeys, Purpose, Secrets};
use crate::token::handle::{Handle, HANDLE_LEN};

const VERSION: u8 = 1;
const MAC_LABEL: &[u8] = b"tandem-rt/v1";
const NEXT_LABEL: &[u8] = b"tandem-rt-next/v1";
const RAW_LEN: usize = 1 + HANDLE_LEN + 4 + 32 + 16;
/// Characters in a refresh token.
pub const REFRESH_TEXT_LEN: usize = encoding::encoded_len(RAW_LEN);

/// A refresh token. Equality compares the secret in constant time.
#[derive(Clone)]
pub struct RefreshToken {
  handle: Handle,
  generation: u32,
  secret: Zeroizing<[u8; 32]>,
}

impl RefreshToken {
  /// The first token of a new session (generation 0) with a fresh random secret.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn issue(handle: Handle) -> Result<Self> {
    Ok(Self {
      handle,
      generation: 0,
      secret: Zeroizing::new(random::bytes()?),
    })
  }

  /// The token that replaces this one: generation + 1, with a secret derived from this
  /// secret, `salt` (random, kept in the record for the grace window) and the current
  /// app secret. Deterministic: the same inputs give the same successor.
  ///
  /// # Errors
  /// `TOKEN_INVALID` when the generation counter is exhausted (2³² rotations).
  pub fn successor(&self, secrets: &Secrets, salt: &[u8; 16]) -> Result<Self> {
    self.successor_with(secrets.current(), salt)
  }

  /// [`RefreshToken::successor`] under the keys of one particular secret: to recognise a
  /// successor issued before the app's secret rotated.
  ///
  /// # Errors
  /// As [`RefreshToken::successor`].
  pub fn successor_with(&self, keys: &DerivedKeys, salt: &[u8; 16]) -> Result<Self> {
    let generation = self
      .generation
      .checked_add(1)
      .ok_or_else(|| err(ErrorKind::TokenInvalid, "refresh generation exhausted"))?;
    let secret = digest::hmac_sha256(
      keys.get(Purpose::RefreshSuccessor),
      &[
        NEXT_LABEL,
        &self.handle.0,
        &generation.to_be_bytes(),
        self.secret.as_ref(),
        salt,
      ],
    );
    Ok(Self {
      handle: self.handle,
      generation,
      secret: Zeroizing::new(secret),
    })
  }

  /// The session handle.
  pub fn handle(&self) -> Handle {
    self.handle
  }

  /// The generation: 0 for the first token of a session, +1 per rotation.
  pub fn generation(&self) -> u32 {
    self.generation
  }

  /// SHA-256 of the secret: what a store keeps.
  pub fn digest(&self) -> [u8; 32] {
    digest::sha256(self.secret.as_ref())
  }

  /// Does `stored` equal this token's digest? Constant time.
  pub fn matches(&self, stored: &[u8]) -> bool {
    digest::ct_eq(&self.digest(), stored)
  }

  /// The text form, MACed with the current app secret.
  pub fn encode(&self, secrets: &Secrets) -> String {
    let mut raw = Zeroizing::new([0u8; RAW_LEN]);
    raw[0] = VERSION;
    raw[1..17].copy_from_slice(&self.handle.0);
    raw[17..21].copy_from_slice(&self.generation.to_be_bytes());
    raw[21..53].copy_from_slice(self.secret.as_ref());
    let tag = digest::hmac_sha256(
      secrets.current().get(Purpose::RefreshMac),
      &[MAC_LABEL, &raw[..53]],
    );
    raw[53..].copy_from_slice(&tag[..16]);
    encoding::encode(raw.as_ref())
  }

  /// Parse and authenticate a presented token.
  ///
  /// # Errors
  /// `REFRESH_MALFORMED` when it is not our format (length, alphabet, version);
  /// `REFRESH_FORGED` when its tag verifies under none of the app's secrets.
  pub fn parse(text: &[u8], secrets: &Secrets) -> Result<Self> {
    let raw = Zeroizing::new(encoding::decode_exact::<RAW_LEN>(
      text,
      ErrorKind::RefreshMalformed,
    )?);
    if raw[0] != VERSION {
      return Err(err(
        ErrorKind::RefreshMalformed,
        "unknown refresh token version",
      ));
    }
    let genuine = secrets.all().iter().any(|k| {
      digest::hmac_sha256_verify(
        k.get(Purpose::RefreshMac),
        &[MAC_LABEL, &raw[..53]],
        &raw[53..],
      )
    });
    if !genuine {
      return Err(err(
        ErrorKind::RefreshForged,
        "refresh token was not issued here",
      ));
    }
    let mut handle = [0u8; HANDLE_LEN];
    handle.copy_from_slice(&raw[1..17]);
    let mut gen = [0u8; 4];
    gen.copy_from_slice(&raw[17..21]);
    let mut secret = Zeroizing::new([0u8; 32]);
    secret.copy_from_slice(&raw[21..53]);
    Ok(Self {
      handle: Handle(handle),
      generation: u32::from_be_bytes(gen),
      secret,
    })
  }
}

impl PartialEq for RefreshToken {
  fn eq(&self, other: &Self) -> bool {
    self.handle == other.handle
      && self.generation == other.generation
      && digest::ct_eq(self.secret.as_ref(), other.secret.as_ref())
  }
}

impl Eq for RefreshToken {}

impl fmt::Debug for RefreshToken {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct("RefreshToken")
      .field("handle", &self.handle.to_text())
      .field("generation", &self.generation)
      .field("secret", &"[redacted]")
      .finish()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const S1: &str = "refresh-test-secret-number-one-0000001";
  const S2: &str = "refresh-test-secret-number-two-0000002";

  #[test]
  fn encode_parse_round_trip() -> Result<()> {
    let s = Secrets::new(&[S1])?;
    let t = RefreshToken::issue(Handle::generate()?)?;
    let text = t.encode(&s);
    assert_eq!(text.len(), REFRESH_TEXT_LEN);
    assert_eq!(RefreshToken::parse(text.as_bytes(), &s)?, t);
    Ok(())
  }

  #[test]
  fn successor_is_deterministic_and_distinct() -> Result<()> {
    let s = Secrets::new(&[S1])?;
    let t = RefreshToken::issue(Handle::generate()?)?;
    let salt = [9u8; 16];
    let a = t.successor(&s, &salt)?;
    assert_eq!(a, t.successor(&s, &salt)?);
    assert_ne!(a, t.successor(&s, &[8u8; 16])?);
    assert_eq!(a.generation(), 1);
    assert_eq!(a.handle(), t.handle());
    assert_ne!(a.digest(), t.digest());
    Ok(())
  }

  #[test]
  fn forgery_with_a_real_handle_is_forged_not_reuse() -> Result<()> {
    let s = Secrets::new(&[S1])?;
    let t = RefreshToken::issue(Handle::generate()?)?;
    let mut raw = encoding::decode_strict(t.encode(&s).as_bytes(), 100, ErrorKind::Internal)?;
    raw[30] ^= 0x40; // change one bit of the secret, keep handle and generation
    let e = RefreshToken::parse(encoding::encode(&raw).as_bytes(), &s)
      .err()
      .map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::RefreshForged));
    Ok(())
  }

  #[test]
  fn malformed_inputs_are_malformed() -> Result<()> {
    let s = Secrets::new(&[S1])?;
    let good = RefreshToken::issue(Handle::generate()?)?.encode(&s);
    for bad in [
      String::new(),
      "x".repeat(43),
      good[..91].to_string(),
      format!("{good}A"),
      good.replace('A', "+"),
    ] {
      if bad == good {
        continue;
      }
      let k = RefreshToken::parse(bad.as_bytes(), &s)
        .err()
        .map(|e| e.kind());
      assert_eq!(k, Some(ErrorKind::RefreshMalformed), "{bad}");
    }
    Ok(())
  }

  #[test]
  fn verifies_under_an_older_secret_after_secret_rotation() -> Result<()> {
    let old = Secrets::new(&[S1])?;
    let text = RefreshToken::issue(Handle::generate()?)?.encode(&old);
    assert!(RefreshToken::parse(text.as_bytes(), &Secrets::new(&[S2, S1])?).is_ok());
    assert!(RefreshToken::parse(text.as_bytes(), &Secrets::new(&[S2])?).is_err());
    Ok(())
  }

  #[test]
  fn debug_redacts_the_secret() -> Result<()> {
    let t = RefreshToken::issue(Handle::generate()?)?;
    assert!(format!("{t:?}").contains("[redacted]"));
    Ok(())
  }
}
