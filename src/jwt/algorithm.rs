//! The JWS algorithms we allow (RFC 7518 §3.2 HS256, RFC 8037 §3.1 EdDSA with Ed25519).
//!
//! Guarantees: the allow-list is exactly these two names, compared case-sensitively and
//! byte for byte *before* any cryptography (RFC 8725 §3.1); `none` and every other name
//! are refused. A key ring holds keys of one algorithm, and a token's `alg` must equal
//! the algorithm of the key its `kid` names (RFC 8725 §3.1: one key, one algorithm).

use std::fmt;

/// An allowed JWS algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
  /// HMAC with SHA-256 (RFC 7518 §3.2). The default: one service issues and verifies.
  #[default]
  Hs256,
  /// Ed25519 signatures (RFC 8037), for deployments whose other services verify with a
  /// published JWKS and must not hold a secret.
  EdDsa,
}

impl Algorithm {
  /// The `alg` header value.
  pub const fn name(self) -> &'static str {
    match self {
      Self::Hs256 => "HS256",
      Self::EdDsa => "EdDSA",
    }
  }

  /// The algorithm whose `alg` value is exactly `name`; `None` for anything else,
  /// including `none`, `hs256`, `HS256 ` and `HS512`.
  pub fn from_name(name: &str) -> Option<Self> {
    match name {
      "HS256" => Some(Self::Hs256),
      "EdDSA" => Some(Self::EdDsa),
      _ => None,
    }
  }

  pub(crate) const fn to_jwt(self) -> jsonwebtoken::Algorithm {
    match self {
      Self::Hs256 => jsonwebtoken::Algorithm::HS256,
      Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
    }
  }
}

impl fmt::Display for Algorithm {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str(self.name())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn allow_list_is_exact() {
    assert_eq!(Algorithm::from_name("HS256"), Some(Algorithm::Hs256));
    assert_eq!(Algorithm::from_name("EdDSA"), Some(Algorithm::EdDsa));
    for bad in [
      "none", "None", "NONE", "nOnE", "hs256", "HS256 ", "HS256\0", "HS512", "RS256", "",
    ] {
      assert_eq!(Algorithm::from_name(bad), None, "{bad:?}");
    }
  }
}
