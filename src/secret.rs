//! The app's `secret`, turned into one key per purpose.
//!
//! The app gives one or more secrets (`express-session`'s `secret` option: the first signs,
//! all verify, so a secret can be rotated without logging anyone out). From each we derive,
//! with HKDF-SHA-256 (RFC 5869), independent 256-bit keys for each purpose: sealing the
//! signing-key ring, MACing refresh tokens, deriving grace successors, and MACing CSRF
//! tokens. One purpose's key is useless for another (RFC 8725 §3.12).
//!
//! Guarantees: secrets shorter than [`MIN_SECRET_LEN`] bytes are refused, except by
//! [`Secrets::allowing_short`], which the binding uses only when the app's environment is not
//! production (the middleware then warns, loudly, once); derived keys are
//! zeroized on drop and print as `[redacted]`. JWT signing keys are *not* derived from the
//! secret: they are random and live in the key ring (see `keys`).
//! Not guaranteed: that a long but guessable secret is safe; use 32+ random bytes.

use std::fmt;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::{err, ErrorKind, Result};

/// Shortest accepted secret, in bytes (UTF-8 bytes of a string secret).
pub const MIN_SECRET_LEN: usize = 32;
/// At most this many secrets (the first signs, the others only verify).
pub const MAX_SECRETS: usize = 8;

const SALT: &[u8] = b"tandem-session/v1";

/// What a derived key is for; its label is the HKDF `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
  /// AEAD key that seals the signing-key ring for storage.
  KeyRingSeal,
  /// MAC key of refresh tokens (tells issued tokens from forgeries).
  RefreshMac,
  /// Key that derives a refresh token's successor deterministically (grace window).
  RefreshSuccessor,
  /// MAC key of CSRF tokens.
  Csrf,
}

impl Purpose {
  const fn label(self) -> &'static [u8] {
    match self {
      Self::KeyRingSeal => b"keyring-seal",
      Self::RefreshMac => b"refresh-mac",
      Self::RefreshSuccessor => b"refresh-successor",
      Self::Csrf => b"csrf",
    }
  }
}

/// The keys derived from one secret.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DerivedKeys {
  keyring_seal: [u8; 32],
  refresh_mac: [u8; 32],
  refresh_successor: [u8; 32],
  csrf: [u8; 32],
}

impl DerivedKeys {
  fn derive(secret: &[u8]) -> Self {
    let hk = Hkdf::<Sha256>::new(Some(SALT), secret);
    let mut out = Self {
      keyring_seal: [0; 32],
      refresh_mac: [0; 32],
      refresh_successor: [0; 32],
      csrf: [0; 32],
    };
    for p in [
      Purpose::KeyRingSeal,
      Purpose::RefreshMac,
      Purpose::RefreshSuccessor,
      Purpose::Csrf,
    ] {
      let slot = match p {
        Purpose::KeyRingSeal => &mut out.keyring_seal,
        Purpose::RefreshMac => &mut out.refresh_mac,
        Purpose::RefreshSuccessor => &mut out.refresh_successor,
        Purpose::Csrf => &mut out.csrf,
      };
      // 32 bytes is far below HKDF-SHA-256's 255×32 output limit, so expand cannot fail.
      if hk.expand(p.label(), slot).is_err() {
        slot.zeroize();
      }
    }
    out
  }

  /// The key for `purpose`.
  pub fn get(&self, purpose: Purpose) -> &[u8; 32] {
    match purpose {
      Purpose::KeyRingSeal => &self.keyring_seal,
      Purpose::RefreshMac => &self.refresh_mac,
      Purpose::RefreshSuccessor => &self.refresh_successor,
      Purpose::Csrf => &self.csrf,
    }
  }
}

impl fmt::Debug for DerivedKeys {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("DerivedKeys([redacted])")
  }
}

/// The app's secrets: the first one signs, every one verifies.
#[derive(Clone)]
pub struct Secrets {
  keys: Vec<DerivedKeys>,
}

impl Secrets {
  /// Derive the purpose keys of each secret.
  ///
  /// # Errors
  /// `CONFIG_INVALID` when there is no secret, more than [`MAX_SECRETS`], a secret shorter
  /// than [`MIN_SECRET_LEN`] bytes, or two equal secrets.
  pub fn new<S: AsRef<[u8]>>(secrets: &[S]) -> Result<Self> {
    Self::checked(secrets, MIN_SECRET_LEN)
  }

  /// As [`Secrets::new`], but a secret of any non-zero length is accepted: for development,
  /// where a sample app's `'keyboard cat'` must boot. A short secret is guessable offline
  /// from any token it MACs, so production must never use this.
  ///
  /// # Errors
  /// As [`Secrets::new`], with an empty secret in place of a short one.
  pub fn allowing_short<S: AsRef<[u8]>>(secrets: &[S]) -> Result<Self> {
    Self::checked(secrets, 1)
  }

  fn checked<S: AsRef<[u8]>>(secrets: &[S], min_len: usize) -> Result<Self> {
    if secrets.is_empty() {
      return Err(err(ErrorKind::ConfigInvalid, "secret must not be empty"));
    }
    if secrets.len() > MAX_SECRETS {
      return Err(err(ErrorKind::ConfigInvalid, "secret: at most 8 secrets"));
    }
    for (i, s) in secrets.iter().enumerate() {
      if s.as_ref().len() < min_len {
        return Err(err(
          ErrorKind::ConfigInvalid,
          "secret must be at least 32 bytes long",
        ));
      }
      if secrets[..i]
        .iter()
        .any(|t| crate::digest::ct_eq(t.as_ref(), s.as_ref()))
      {
        return Err(err(
          ErrorKind::ConfigInvalid,
          "secret: the same secret is given twice",
        ));
      }
    }
    Ok(Self {
      keys: secrets
        .iter()
        .map(|s| DerivedKeys::derive(s.as_ref()))
        .collect(),
    })
  }

  /// Keys of the first secret: the ones that sign and seal.
  pub fn current(&self) -> &DerivedKeys {
    // `new` guarantees at least one secret.
    &self.keys[0]
  }

  /// Keys of every secret, current first: the ones that verify and open.
  pub fn all(&self) -> &[DerivedKeys] {
    &self.keys
  }
}

impl fmt::Debug for Secrets {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "Secrets({} × [redacted])", self.keys.len())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const S1: &str = "a-test-secret-that-is-long-enough-0001";
  const S2: &str = "a-test-secret-that-is-long-enough-0002";

  #[test]
  fn refuses_short_empty_and_repeated_secrets() {
    assert!(Secrets::new::<&str>(&[]).is_err());
    assert!(Secrets::new(&["keyboard cat"]).is_err());
    assert!(Secrets::new(&[S1, S1]).is_err());
    assert!(Secrets::new(&[S1, S2]).is_ok());
  }

  #[test]
  fn development_accepts_a_short_secret_but_still_no_empty_or_repeated_one() {
    assert!(Secrets::allowing_short(&["keyboard cat"]).is_ok());
    assert!(Secrets::allowing_short(&[""]).is_err());
    assert!(Secrets::allowing_short(&["cat", "cat"]).is_err());
    assert!(Secrets::allowing_short::<&str>(&[]).is_err());
  }

  #[test]
  fn purposes_get_distinct_keys_and_secrets_distinct_sets() -> Result<()> {
    let s = Secrets::new(&[S1, S2])?;
    let a = s.current();
    assert_ne!(a.get(Purpose::Csrf), a.get(Purpose::RefreshMac));
    assert_ne!(
      a.get(Purpose::KeyRingSeal),
      a.get(Purpose::RefreshSuccessor)
    );
    assert_ne!(s.all()[0].get(Purpose::Csrf), s.all()[1].get(Purpose::Csrf));
    Ok(())
  }

  #[test]
  fn debug_never_prints_key_bytes() -> Result<()> {
    let s = Secrets::new(&[S1])?;
    assert_eq!(format!("{s:?}"), "Secrets(1 × [redacted])");
    Ok(())
  }
}
