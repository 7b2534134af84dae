//! Strict base64url (RFC 4648 §5) without padding, as JWS requires (RFC 7515 §2, App. C).
//!
//! Guarantees: one byte string has exactly one accepted spelling. Rejected: `=` padding,
//! the standard alphabet's `+` and `/`, whitespace and any other byte, a length of 1 mod 4,
//! and non-zero unused trailing bits (so `…EjXk` and `…EjXl` are not the same signature).
//! Decoding checks the length bound *before* allocating.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::error::{err, ErrorKind, Result};

/// Is `b` in the base64url alphabet (`A–Z a–z 0–9 - _`)?
#[inline]
pub const fn is_b64url_byte(b: u8) -> bool {
  B64URL[b as usize]
}

/// Are all bytes of `s` in the base64url alphabet? Branch-free per byte, so the compiler
/// vectorises it; it does not stop at the first bad byte (only the length is public).
pub fn all_b64url(s: &[u8]) -> bool {
  s.iter().fold(true, |ok, &b| {
    let upper = b & !0x20; // folds a–z onto A–Z; no other byte lands in A–Z
    ok & ((upper.wrapping_sub(b'A') < 26) | (b.wrapping_sub(b'0') < 10) | (b == b'-') | (b == b'_'))
  })
}

/// `B64URL[b]`: is byte `b` in the base64url alphabet? A table, for one branch per byte.
pub static B64URL: [bool; 256] = {
  let mut t = [false; 256];
  let mut i = 0;
  while i < 256 {
    let b = i as u8;
    t[i] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    i += 1;
  }
  t
};

/// Encode without padding.
pub fn encode(bytes: &[u8]) -> String {
  URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode `text`, refusing anything but the one canonical spelling, and anything that
/// would decode to more than `max_len` bytes.
///
/// # Errors
/// `kind` (the caller's choice: `TOKEN_MALFORMED`, `REFRESH_MALFORMED`, …) on any
/// non-canonical input or when the output would exceed `max_len`.
pub fn decode_strict(text: &[u8], max_len: usize, kind: ErrorKind) -> Result<Vec<u8>> {
  if decoded_len(text.len()) > max_len {
    return Err(err(kind, "base64url segment too long"));
  }
  // URL_SAFE_NO_PAD rejects every byte outside the URL-safe alphabet (so `+`, `/`,
  // whitespace and junk), requires no padding, refuses a length of 1 mod 4, and rejects
  // non-zero trailing bits (`decode_allow_trailing_bits` is false in base64 0.22's
  // general-purpose engine). The tests below pin each of these.
  URL_SAFE_NO_PAD
    .decode(text)
    .map_err(|_| err(kind, "not canonical base64url"))
}

/// Decode into `out` (which must be large enough), returning the decoded length. Same
/// strictness as [`decode_strict`], without allocating.
///
/// # Errors
/// `kind` on any non-canonical input, or when `out` is too small.
pub fn decode_into(text: &[u8], out: &mut [u8], kind: ErrorKind) -> Result<usize> {
  if decoded_len(text.len()) > out.len() {
    return Err(err(kind, "base64url segment too long"));
  }
  URL_SAFE_NO_PAD
    .decode_slice(text, out)
    .map_err(|_| err(kind, "not canonical base64url"))
}

/// Decode into exactly `N` bytes.
///
/// # Errors
/// `kind` when the text is not the canonical spelling of exactly `N` bytes.
pub fn decode_exact<const N: usize>(text: &[u8], kind: ErrorKind) -> Result<[u8; N]> {
  if text.len() != encoded_len(N) {
    return Err(err(kind, "wrong length"));
  }
  let v = decode_strict(text, N, kind)?;
  <[u8; N]>::try_from(v.as_slice()).map_err(|_| err(kind, "wrong length"))
}

/// Length of the unpadded encoding of `n` bytes.
pub const fn encoded_len(n: usize) -> usize {
  (n * 4).div_ceil(3)
}

/// Upper bound of the decoded length of `n` base64 characters.
const fn decoded_len(n: usize) -> usize {
  n / 4 * 3 + (n % 4) * 3 / 4
}

#[cfg(test)]
mod tests {
  use super::*;

  const K: ErrorKind = ErrorKind::TokenMalformed;

  #[test]
  fn all_b64url_agrees_with_the_table_for_every_byte() {
    for b in 0..=255u8 {
      assert_eq!(all_b64url(&[b]), is_b64url_byte(b), "{b:#x}");
      assert_eq!(all_b64url(&[b'A', b, b'z']), is_b64url_byte(b), "{b:#x}");
    }
    assert!(all_b64url(b""));
  }

  #[test]
  fn round_trips() -> Result<()> {
    for n in 0..70 {
      let data: Vec<u8> = (0..n).map(|i| (i * 37 % 256) as u8).collect();
      let text = encode(&data);
      assert_eq!(text.len(), encoded_len(n));
      assert_eq!(decode_strict(text.as_bytes(), n, K)?, data);
    }
    Ok(())
  }

  #[test]
  fn rejects_every_non_canonical_twin() {
    let sig = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    assert!(decode_strict(sig.as_bytes(), 32, K).is_ok());
    for twin in [
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXm",
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXn",
      "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk",
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk=",
      "dBjf tJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
      "dBjf*tJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    ] {
      assert!(decode_strict(twin.as_bytes(), 64, K).is_err(), "{twin}");
    }
  }

  #[test]
  fn refuses_oversized_input_before_decoding() {
    let long = "A".repeat(4000);
    let e = decode_strict(long.as_bytes(), 100, K).err();
    assert_eq!(e.map(|e| e.detail()), Some("base64url segment too long"));
  }

  #[test]
  fn decode_exact_checks_length() {
    let t = encode(&[7u8; 16]);
    assert_eq!(decode_exact::<16>(t.as_bytes(), K).ok(), Some([7u8; 16]));
    assert!(decode_exact::<32>(t.as_bytes(), K).is_err());
  }
}
