//! What an access token must say to be accepted: issuer, audience, lifetime and leeway.
//!
//! Defaults: issuer `"tandem-session"`, audience `"tandem-session"`, lifetime 15 minutes,
//! leeway 5 seconds (RFC 7519 §4.1.4 asks for "no more than a few minutes"; we refuse more
//! than 300 s), token length limit 8 KiB.

use crate::error::{err, ErrorKind, Result};
use crate::jwt::compact::DEFAULT_MAX_TOKEN_LEN;

/// Largest allowed leeway, in seconds.
pub const MAX_LEEWAY_SECS: i64 = 300;

/// Access-token policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
  /// `iss` we issue and require, compared exactly. Defaults to `"tandem-session"`.
  pub issuer: String,
  /// `aud` we issue and require (a token's `aud` must contain it). Defaults to
  /// `"tandem-session"`.
  pub audience: String,
  /// Access-token lifetime, seconds. Defaults to 900 (15 minutes).
  pub ttl_secs: i64,
  /// Clock skew tolerated on `exp`, `nbf` and `iat`, seconds. Defaults to 5; at most 300.
  pub leeway_secs: i64,
  /// Longest token accepted, bytes. Defaults to 8192.
  pub max_token_len: usize,
}

impl Default for Policy {
  fn default() -> Self {
    Self {
      issuer: "tandem-session".into(),
      audience: "tandem-session".into(),
      ttl_secs: 900,
      leeway_secs: 5,
      max_token_len: DEFAULT_MAX_TOKEN_LEN,
    }
  }
}

impl Policy {
  /// Check ranges.
  ///
  /// # Errors
  /// `CONFIG_INVALID` naming the bad field.
  pub fn validate(&self) -> Result<()> {
    let bad = |d| Err(err(ErrorKind::ConfigInvalid, d));
    if self.issuer.is_empty() || self.issuer.len() > 256 {
      return bad("issuer must be 1 to 256 bytes");
    }
    if self.audience.is_empty() || self.audience.len() > 256 {
      return bad("audience must be 1 to 256 bytes");
    }
    if !(1..=86_400).contains(&self.ttl_secs) {
      return bad("accessTokenMaxAge must be between 1 second and 1 day");
    }
    if !(0..=MAX_LEEWAY_SECS).contains(&self.leeway_secs) {
      return bad("leeway must be between 0 and 300 seconds");
    }
    if !(512..=65_536).contains(&self.max_token_len) {
      return bad("maxTokenLength must be between 512 and 65536");
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn defaults_are_valid_and_ranges_enforced() {
    assert!(Policy::default().validate().is_ok());
    assert!(Policy {
      leeway_secs: 301,
      ..Policy::default()
    }
    .validate()
    .is_err());
    assert!(Policy {
      ttl_secs: 0,
      ..Policy::default()
    }
    .validate()
    .is_err());
    assert!(Policy {
      issuer: String::new(),
      ..Policy::default()
    }
    .validate()
    .is_err());
  }
}
