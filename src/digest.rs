//! Digests and MACs: SHA-256 and HMAC-SHA-256, and constant-time comparison.
//!
//! Guarantees: MAC checks go through `hmac`'s `verify_slice` or [`ct_eq`] (from `subtle`),
//! which run in time independent of the compared contents; only the *length* is treated
//! as public, as `subtle` documents. Domain separation: every MAC input starts with a
//! purpose label, so a MAC made for one purpose never verifies for another.
//! Not guaranteed: resistance to microarchitectural side channels beyond what `subtle`
//! and the RustCrypto crates give.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
  Sha256::digest(data).into()
}

/// HMAC-SHA-256 (RFC 2104) of the concatenation of `parts` under `key`.
pub fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
  let mut mac = new_mac(key);
  for p in parts {
    mac.update(p);
  }
  mac.finalize().into_bytes().into()
}

/// Does `tag` (any prefix length ≥ 16 of the full MAC) match the HMAC-SHA-256 of `parts`?
/// Constant time in the contents.
pub fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
  if tag.len() < 16 || tag.len() > 32 {
    return false;
  }
  let mut mac = new_mac(key);
  for p in parts {
    mac.update(p);
  }
  mac.verify_truncated_left(tag).is_ok()
}

/// Constant-time equality of two byte strings (length is public).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
  a.ct_eq(b).into()
}

fn new_mac(key: &[u8]) -> HmacSha256 {
  // HMAC accepts keys of any length (RFC 2104 §2), so this cannot fail.
  match HmacSha256::new_from_slice(key) {
    Ok(m) => m,
    Err(_) => unreachable_hmac(),
  }
}

#[cold]
fn unreachable_hmac() -> ! {
  // `new_from_slice` only fails for fixed-size-key MACs; HMAC is not one.
  panic!("HMAC rejected a key; RFC 2104 allows any length")
}

#[cfg(test)]
mod tests {
  use super::*;

  // RFC 4231 test case 2.
  #[test]
  fn rfc4231_case_2() {
    let tag = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
      hex,
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
  }

  #[test]
  fn truncated_verify_accepts_prefix_and_rejects_change() {
    let tag = hmac_sha256(b"k", &[b"m"]);
    assert!(hmac_sha256_verify(b"k", &[b"m"], &tag[..16]));
    let mut bad = tag;
    bad[3] ^= 1;
    assert!(!hmac_sha256_verify(b"k", &[b"m"], &bad));
    assert!(!hmac_sha256_verify(b"k", &[b"m"], &tag[..8]));
  }

  #[test]
  fn ct_eq_compares_content_and_length() {
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"ab"));
  }
}
