//! The JWS Compact Serialization, split strictly (RFC 7515 §7.1, RFC 7519 §7.2 step 1).
//!
//! Guarantees: the length limit is checked before anything else; the token is scanned
//! once, with no allocation, and every byte must be base64url or `.`; exactly three
//! non-empty segments (so JWE's five segments, JSON serialization, 100,000 dots, leading,
//! trailing or doubled dots are all `TOKEN_MALFORMED`, in time linear in the limit).

use crate::encoding::all_b64url;
use crate::error::{err, ErrorKind, Result};

/// Longest token accepted, in bytes, by default (ATK-32: a cookie holds about 4 KiB).
pub const DEFAULT_MAX_TOKEN_LEN: usize = 8 * 1024;

/// The three segments of a compact JWS, still encoded.
#[derive(Clone, Copy)]
pub struct Compact<'a> {
  /// base64url of the protected header.
  pub header: &'a [u8],
  /// base64url of the payload.
  pub payload: &'a [u8],
  /// base64url of the signature.
  pub signature: &'a [u8],
  /// `header "." payload`: the bytes the signature covers.
  pub signing_input: &'a [u8],
}

impl std::fmt::Debug for Compact<'_> {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    // The segments together are a live credential: print their lengths only.
    f.debug_struct("Compact")
      .field("header_len", &self.header.len())
      .field("payload_len", &self.payload.len())
      .field("signature_len", &self.signature.len())
      .finish()
  }
}

/// Split `token` into its three segments.
///
/// # Errors
/// `TOKEN_MALFORMED` when it is longer than `max_len`, holds a byte outside base64url and
/// `.`, or does not have exactly three non-empty segments.
pub fn split(token: &[u8], max_len: usize) -> Result<Compact<'_>> {
  let malformed = |d| Err(err(ErrorKind::TokenMalformed, d));
  if token.len() > max_len {
    return malformed("token longer than the limit");
  }
  // Find the two dots, then check that every other byte is base64url.
  let mut dots = memchr::memchr_iter(b'.', token);
  let (Some(h), Some(p)) = (dots.next(), dots.next()) else {
    return malformed("a JWT has exactly three segments");
  };
  if dots.next().is_some() {
    return malformed("a JWT has exactly three segments");
  }
  if !all_b64url(&token[..h]) || !all_b64url(&token[h + 1..p]) || !all_b64url(&token[p + 1..]) {
    return malformed("a JWT holds only base64url and dots");
  }
  if h == 0 || p == h + 1 || p + 1 == token.len() {
    return malformed("a JWT segment is empty");
  }
  Ok(Compact {
    header: &token[..h],
    payload: &token[h + 1..p],
    signature: &token[p + 1..],
    signing_input: &token[..p],
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn splits_three_segments() -> Result<()> {
    let c = split(b"aa.bb.cc", 100)?;
    assert_eq!(
      (c.header, c.payload, c.signature, c.signing_input),
      (&b"aa"[..], &b"bb"[..], &b"cc"[..], &b"aa.bb"[..])
    );
    Ok(())
  }

  #[test]
  fn debug_prints_lengths_not_the_credential() -> Result<()> {
    let c = split(b"aaaa.bbbb.secretsig", 100)?;
    let s = format!("{c:?}");
    assert!(!s.contains("secretsig") && !s.contains("bbbb"), "{s}");
    Ok(())
  }

  #[test]
  fn refuses_bad_shapes() {
    let dots = ".".repeat(100_000);
    for bad in [
      "",
      "a",
      "a.b",
      "a.b.c.d",
      "a.b.c.d.e",
      ".a.b",
      "a.b.",
      "a..b",
      "a.b.c ",
      "a.b.c=",
      "{\"a\":1}",
      &dots,
    ] {
      assert!(split(bad.as_bytes(), 200_000).is_err(), "{bad:?}");
    }
    assert!(split(b"aa.bb.cc", 7).is_err());
  }
}
