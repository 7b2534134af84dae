//! The one error type of the core, with stable codes.
//!
//! Guarantees: every failure of the core maps to exactly one [`ErrorKind`], whose
//! [`ErrorKind::code`] is a stable SCREAMING_SNAKE string that the napi layer hands to
//! JavaScript as `err.code`. Messages are short, fixed texts: they never contain a token,
//! a key, a secret or any other input bytes, so an error can be logged as it is.
//!
//! Not guaranteed: that two different causes have two different codes. Several
//! rejections deliberately share `TOKEN_INVALID`, so the code is no oracle for forgers.

use std::fmt;

/// What went wrong. `#[non_exhaustive]`: new kinds may be added in minor versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
  /// The token is not a well-formed compact JWT of ours: wrong segment count, bad
  /// base64url, bad JSON, duplicate member, over a size limit, a missing or mistyped claim.
  TokenMalformed,
  /// The token is well formed but not acceptable: bad signature, algorithm not allowed or
  /// not the key's, wrong `typ`, `iss` or `aud`, unsupported `crit`, a key-carrying header,
  /// an `iat` or `nbf` after `exp`.
  TokenInvalid,
  /// `exp` (plus leeway) has passed, or the token lives longer than the policy's lifetime
  /// plus leeway. The holder should use its refresh token.
  TokenExpired,
  /// `nbf` (minus leeway) or `iat` (minus leeway) is in the future.
  TokenNotYetValid,
  /// The `kid` names no key of the ring (never seen, retired, or revoked in an emergency).
  KeyUnknown,
  /// A refresh token that is not of our format (length, alphabet, version).
  RefreshMalformed,
  /// A refresh token of our format whose MAC does not verify: made up, not issued by us.
  RefreshForged,
  /// A CSRF token that is malformed, forged, or bound to another session.
  CsrfInvalid,
  /// The same credential arrives twice in one request (a repeated cookie, or a cookie and
  /// an `Authorization` header that differ): ambiguous, so neither is used.
  CredentialsAmbiguous,
  /// An app claim uses a name that the access token reserves (`sub`, `exp`, …).
  ClaimReserved,
  /// A configuration value is out of range (the message names the option).
  ConfigInvalid,
  /// An argument of a call is not acceptable (an empty user id, a malformed handle).
  InvalidArgument,
  /// Key material of the wrong length or shape.
  KeyMaterialInvalid,
  /// A sealed key ring could not be opened with any of the secrets (or was tampered with).
  KeyRingUnreadable,
  /// The operating system's random number generator failed; nothing was issued.
  RandomUnavailable,
  /// The session was revoked (logout, revoke-all, theft): its tokens no longer work.
  SessionRevoked,
  /// The session was revoked because a rotated refresh token came back (reuse is theft):
  /// its tokens no longer work, in any hand.
  TokenTheftDetected,
  /// The session store cannot be reached or failed; nothing was changed by this call.
  /// Valid access tokens keep working; refresh answers 503.
  StoreUnavailable,
  /// The store returned something that is not a valid record of ours.
  StoreCorrupt,
  /// A write would make the session data larger than its limit (`maxDataBytes`); nothing
  /// was written. A write that makes the data smaller is never refused.
  DataTooLarge,
  /// A bug: an invariant of ours did not hold. Fails closed.
  Internal,
}

impl ErrorKind {
  /// The stable code JavaScript sees as `err.code`.
  pub const fn code(self) -> &'static str {
    match self {
      Self::TokenMalformed => "TOKEN_MALFORMED",
      Self::TokenInvalid => "TOKEN_INVALID",
      Self::TokenExpired => "TOKEN_EXPIRED",
      Self::TokenNotYetValid => "TOKEN_NOT_YET_VALID",
      Self::KeyUnknown => "KEY_UNKNOWN",
      Self::RefreshMalformed => "REFRESH_MALFORMED",
      Self::RefreshForged => "REFRESH_FORGED",
      Self::CsrfInvalid => "CSRF_INVALID",
      Self::CredentialsAmbiguous => "CREDENTIALS_AMBIGUOUS",
      Self::ClaimReserved => "CLAIM_RESERVED",
      Self::ConfigInvalid => "CONFIG_INVALID",
      Self::InvalidArgument => "INVALID_ARGUMENT",
      Self::KeyMaterialInvalid => "KEY_MATERIAL_INVALID",
      Self::KeyRingUnreadable => "KEYRING_UNREADABLE",
      Self::RandomUnavailable => "RANDOM_UNAVAILABLE",
      Self::SessionRevoked => "SESSION_REVOKED",
      Self::TokenTheftDetected => "TOKEN_THEFT_DETECTED",
      Self::StoreUnavailable => "STORE_UNAVAILABLE",
      Self::StoreCorrupt => "STORE_CORRUPT",
      Self::DataTooLarge => "DATA_TOO_LARGE",
      Self::Internal => "INTERNAL",
    }
  }
}

/// A core error: a kind plus a fixed, secret-free detail text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
  kind: ErrorKind,
  detail: &'static str,
}

impl Error {
  /// An error of `kind` with a fixed detail text (never built from input bytes).
  pub const fn new(kind: ErrorKind, detail: &'static str) -> Self {
    Self { kind, detail }
  }

  /// The kind, for matching.
  pub const fn kind(&self) -> ErrorKind {
    self.kind
  }

  /// The stable code (`TOKEN_EXPIRED`, …).
  pub const fn code(&self) -> &'static str {
    self.kind.code()
  }

  /// The fixed detail text.
  pub const fn detail(&self) -> &'static str {
    self.detail
  }
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.kind.code(), self.detail)
  }
}

impl std::error::Error for Error {}

/// The core's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand used across the core: `Err(err(Kind, "detail"))`.
pub(crate) const fn err(kind: ErrorKind, detail: &'static str) -> Error {
  Error::new(kind, detail)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn display_is_code_then_fixed_detail() {
    let e = err(ErrorKind::TokenExpired, "exp has passed");
    assert_eq!(e.to_string(), "TOKEN_EXPIRED: exp has passed");
    assert_eq!(e.code(), "TOKEN_EXPIRED");
  }
}
