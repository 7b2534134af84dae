//! The public JWK Set (RFC 7517 §5) of an Ed25519 ring, for services that verify access
//! tokens without our secret.
//!
//! Guarantees: only public members (`kty`, `crv`, `x`, `kid`, `alg`, `use`) are emitted,
//! never `d` or `k` (KR-05); the set lists every key that verifies at `now` (current,
//! next and retired-but-verifying), so a consumer that caches it never misses a kid.
//! An HMAC ring has no public keys: its set is empty.

use serde_json::{json, Value};

use crate::clock::UnixMillis;
use crate::encoding;
use crate::keys::ring::KeyRing;

/// The JWK Set of `ring` at `now`, as a JSON value `{"keys":[…]}`.
pub fn jwks(ring: &KeyRing, now: UnixMillis) -> Value {
  let keys: Vec<Value> = ring
    .keys()
    .iter()
    .filter(|k| k.verifies_at(now))
    .filter_map(|k| {
      k.public_key().map(|x| {
        json!({
          "kty": "OKP",
          "crv": "Ed25519",
          "x": encoding::encode(x),
          "kid": k.kid(),
          "alg": "EdDSA",
          "use": "sig",
        })
      })
    })
    .collect();
  json!({ "keys": keys })
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::error::Result;
  use crate::jwt::Algorithm;
  use crate::keys::ring::RotationPolicy;

  #[test]
  fn lists_public_members_only() -> Result<()> {
    let ring = KeyRing::generate(Algorithm::EdDsa, UnixMillis(0), &RotationPolicy::default())?;
    let set = jwks(&ring, UnixMillis(0));
    let keys = set["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 2);
    for k in keys {
      let mut names: Vec<_> = k
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
      names.sort();
      assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
    }
    Ok(())
  }

  #[test]
  fn hmac_ring_publishes_nothing() -> Result<()> {
    let ring = KeyRing::generate(Algorithm::Hs256, UnixMillis(0), &RotationPolicy::default())?;
    assert_eq!(jwks(&ring, UnixMillis(0)), json!({"keys": []}));
    Ok(())
  }
}
