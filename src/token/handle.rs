//! Session handles: the public, non-secret name of a session (`sid` in the access token,
//! the lookup part of a refresh token, the key of a store record).
//!
//! Guarantees: 128 bits from the OS CSPRNG (ASVS 5.0 §7.2.3), written as 22 base64url
//! characters; a handle is never chosen by a client (fixation, FX-03). Knowing a handle
//! grants nothing: every credential that names one also carries a secret or a signature.

use crate::encoding;
use crate::error::{ErrorKind, Result};
use crate::random;

/// Bytes in a handle.
pub const HANDLE_LEN: usize = 16;
/// Characters in a handle's text form.
pub const HANDLE_TEXT_LEN: usize = 22;

/// A session handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub [u8; HANDLE_LEN]);

impl Handle {
  /// A fresh random handle.
  ///
  /// # Errors
  /// `RANDOM_UNAVAILABLE`.
  pub fn generate() -> Result<Self> {
    random::bytes().map(Self)
  }

  /// Parse the 22-character text form.
  ///
  /// # Errors
  /// `kind` when it is not exactly the canonical base64url of 16 bytes.
  pub fn parse(text: &str, kind: ErrorKind) -> Result<Self> {
    encoding::decode_exact::<HANDLE_LEN>(text.as_bytes(), kind).map(Self)
  }

  /// The text form.
  pub fn to_text(&self) -> String {
    encoding::encode(&self.0)
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn text_round_trip_and_strictness() -> Result<()> {
    let h = Handle::generate()?;
    let t = h.to_text();
    assert_eq!(t.len(), HANDLE_TEXT_LEN);
    assert_eq!(Handle::parse(&t, ErrorKind::TokenMalformed)?, h);
    assert!(Handle::parse(&format!("{t}A"), ErrorKind::TokenMalformed).is_err());
    assert!(Handle::parse("../../etc/passwd", ErrorKind::TokenMalformed).is_err());
    Ok(())
  }
}
