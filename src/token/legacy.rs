//! express-session's signed session cookie, read once to move a user over (the `legacy`
//! option): `s:<id>.<signature>`, URI-encoded in the `Cookie` header, where the signature
//! is HMAC-SHA256 of the id under one of the app's secrets, in base64 without padding
//! (cookie-signature's format).
//!
//! Guarantees: [`unsign`] gives the id only when the signature checks out under one of the
//! secrets, compared in constant time; strict parsing with size limits (a value over
//! [`MAX_VALUE_LEN`] bytes, bad percent-encoding, an id that is empty, longer than
//! [`MAX_ID_LEN`] or not printable ASCII is no cookie); never an error for a bad value,
//! only `None`, and nothing of the value in any message. Not here: finding the cookie in
//! the header (`credentials::cookie`) and reading the session (the app's store).

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine as _;

use crate::digest::{ct_eq, hmac_sha256};

/// The longest cookie value read (as sent, URI-encoded).
pub const MAX_VALUE_LEN: usize = 1024;
/// The longest session id accepted (express-session's are 32 characters).
pub const MAX_ID_LEN: usize = 256;
/// A base64 HMAC-SHA256 without padding.
const SIGNATURE_LEN: usize = 43;

/// The session id of an express-session cookie `value` signed with one of `secrets`.
pub fn unsign(value: &[u8], secrets: &[&[u8]]) -> Option<String> {
  if value.len() > MAX_VALUE_LEN {
    return None;
  }
  let decoded = crate::percent::decode(value).filter(|d| d.is_ascii())?;
  let rest = decoded.strip_prefix(b"s:")?;
  let dot = rest.iter().rposition(|&b| b == b'.')?;
  let (id, signature) = (&rest[..dot], &rest[dot + 1..]);
  if id.is_empty() || id.len() > MAX_ID_LEN || !id.iter().all(|b| (0x21..=0x7e).contains(b)) {
    return None;
  }
  if signature.len() != SIGNATURE_LEN {
    return None;
  }
  let mut matched = false;
  for secret in secrets {
    let expected = STANDARD_NO_PAD.encode(hmac_sha256(secret, &[id]));
    // Every secret is tried, so the time does not tell which one matched.
    matched |= ct_eq(expected.as_bytes(), signature);
  }
  if !matched {
    return None;
  }
  String::from_utf8(id.to_vec()).ok()
}

#[cfg(test)]
mod tests {
  use super::*;

  /// What cookie-signature 1.0 makes of `s:` + sign(id, secret), URI-encoded as the
  /// `cookie` module writes it (a vector computed with Node: see the test below).
  fn signed(id: &str, secret: &str) -> String {
    let sig = STANDARD_NO_PAD.encode(hmac_sha256(secret.as_bytes(), &[id.as_bytes()]));
    format!("s%3A{id}.{}", sig.replace('+', "%2B").replace('/', "%2F"))
  }

  #[test]
  fn a_cookie_signed_with_one_of_the_secrets_gives_its_id() {
    let v = signed("Kz1mOQ0wXm3aFv9m6r1y8Ue2LwbN1xQk", "keyboard cat");
    assert_eq!(
      unsign(v.as_bytes(), &[b"new secret", b"keyboard cat"]).as_deref(),
      Some("Kz1mOQ0wXm3aFv9m6r1y8Ue2LwbN1xQk")
    );
    assert_eq!(unsign(v.as_bytes(), &[b"another"]), None);
  }

  #[test]
  fn the_signature_matches_cookie_signature() {
    // node -e "console.log(require('cookie-signature').sign('abc', 'keyboard cat'))"
    let from_node = "abc.BpxCrWRpvZMh/wk/djl34N+m+VQEU7K/5WenLwJCgFU";
    assert_eq!(
      unsign(format!("s:{from_node}").as_bytes(), &[b"keyboard cat"]).as_deref(),
      Some("abc")
    );
    let encoded = format!("s%3A{}", from_node.replace('/', "%2F").replace('+', "%2B"));
    assert_eq!(
      unsign(encoded.as_bytes(), &[b"keyboard cat"]).as_deref(),
      Some("abc")
    );
  }

  #[test]
  fn anything_else_is_no_cookie() {
    let good = signed("abc", "k");
    for bad in [
      "abc".to_owned(),
      good.replacen("s%3A", "", 1),
      good.replacen("s%3A", "t%3A", 1),
      format!("{good}x"),
      good[..good.len() - 1].to_owned(),
      "s%3A.AAAA".to_owned(),
      "s%3Aabc".to_owned(),
      "s%3Aab%ZZc.x".to_owned(),
      format!(
        "s%3A{}.{}",
        "a".repeat(MAX_ID_LEN + 1),
        "A".repeat(SIGNATURE_LEN)
      ),
      format!("s%3A%C3%A9.{}", "A".repeat(SIGNATURE_LEN)),
      "A".repeat(MAX_VALUE_LEN + 1),
    ] {
      assert_eq!(unsign(bad.as_bytes(), &[b"k"]), None, "{bad:.40}");
    }
  }
}
