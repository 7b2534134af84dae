//! CSRF tokens: signed, bound to one session handle, verifiable with no I/O (the "signed
//! double-submit" pattern of the OWASP CSRF cheat sheet).
//!
//! Format: base64url (43 characters) of `nonce (16) ‖ tag (16)`, with
//! `tag = HMAC-SHA-256(k_csrf, "tandem-csrf/v1" ‖ handle ‖ nonce)` truncated to 128 bits.
//!
//! Guarantees: a token minted for one session never verifies for another; a truncated,
//! altered or attacker-planted token fails; comparison is constant time; the key is used
//! for nothing else (RFC 8725 §3.12).
//! Not guaranteed: freshness. A token lives as long as its session; login makes a new
//! session, hence new tokens.

use crate::digest;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::random;
use crate::secret::{Purpose, Secrets};
use crate::token::handle::Handle;

const LABEL: &[u8] = b"tandem-csrf/v1";
/// Characters in a CSRF token.
pub const CSRF_TEXT_LEN: usize = encoding::encoded_len(32);

/// A new CSRF token for the session `handle`.
///
/// # Errors
/// `RANDOM_UNAVAILABLE`.
pub fn issue(handle: &Handle, secrets: &Secrets) -> Result<String> {
  let nonce = random::bytes::<16>()?;
  let tag = digest::hmac_sha256(
    secrets.current().get(Purpose::Csrf),
    &[LABEL, &handle.0, &nonce],
  );
  let mut raw = [0u8; 32];
  raw[..16].copy_from_slice(&nonce);
  raw[16..].copy_from_slice(&tag[..16]);
  Ok(encoding::encode(&raw))
}

/// Check that `token` was issued for the session `handle`.
///
/// # Errors
/// `CSRF_INVALID` when it is malformed, altered, or bound to another session.
pub fn verify(token: &[u8], handle: &Handle, secrets: &Secrets) -> Result<()> {
  let raw = encoding::decode_exact::<32>(token, ErrorKind::CsrfInvalid)?;
  let ok = secrets.all().iter().any(|k| {
    digest::hmac_sha256_verify(
      k.get(Purpose::Csrf),
      &[LABEL, &handle.0, &raw[..16]],
      &raw[16..],
    )
  });
  if ok {
    Ok(())
  } else {
    Err(err(
      ErrorKind::CsrfInvalid,
      "CSRF token does not match the session",
    ))
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const S: &str = "csrf-test-secret-that-is-long-enough-00";

  #[test]
  fn verifies_for_its_session_only() -> Result<()> {
    let s = Secrets::new(&[S])?;
    let (a, b) = (Handle::generate()?, Handle::generate()?);
    let t = issue(&a, &s)?;
    assert_eq!(t.len(), CSRF_TEXT_LEN);
    assert!(verify(t.as_bytes(), &a, &s).is_ok());
    assert!(verify(t.as_bytes(), &b, &s).is_err());
    assert!(verify(&t.as_bytes()[..42], &a, &s).is_err());
    assert!(verify(b"", &a, &s).is_err());
    Ok(())
  }

  #[test]
  fn two_tokens_differ_and_both_verify() -> Result<()> {
    let s = Secrets::new(&[S])?;
    let h = Handle::generate()?;
    let (t1, t2) = (issue(&h, &s)?, issue(&h, &s)?);
    assert_ne!(t1, t2);
    assert!(verify(t1.as_bytes(), &h, &s).is_ok() && verify(t2.as_bytes(), &h, &s).is_ok());
    Ok(())
  }
}
