//! Access tokens: sign with the ring's current key, verify against the ring and the policy.
//!
//! A token is `{"alg":…,"typ":"at+jwt","kid":…}` . claims . signature, with claims
//! `iss sub aud exp nbf iat jti sid dv` plus the app's own (RFC 9068 §2).
//!
//! Verification order (each step refuses before the next runs): length; compact shape;
//! strict header (allow-list, no `crit`, no key-carrying members); `typ` is `at+jwt`;
//! `kid` names a key of the ring that verifies now (else `KEY_UNKNOWN`; nothing else is
//! consulted: no file, URL or store); the header's `alg` is that key's; the signature;
//! strict claims; `iss` exact; `aud` contains ours; `exp`, `nbf`, `iat` against the clock
//! with the leeway. Valid iff `now < exp + leeway`, `nbf - leeway <= now`, `iat - leeway <= now`,
//! `iat <= exp`, `nbf <= exp` and `exp - iat <= ttl + leeway` (no token of ours lives longer
//! than the policy says, nor is issued after it expires).
//!
//! Not checked here: whether the session was revoked. That is the engine's in-memory
//! revocation set, consulted by the caller.

use serde_json::{Map, Value};

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::claims::{Claims, NewClaims, MAX_PAYLOAD_LEN};
use crate::jwt::jws;
use crate::jwt::policy::Policy;
use crate::keys::{Key, KeyRing};
use crate::random;

/// Who a new access token is for.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
  /// The user id (`sub`).
  pub user_id: &'a str,
  /// The session handle (`sid`).
  pub session: &'a str,
  /// The session data version (`dv`).
  pub data_version: u64,
  /// App claims; none may use a reserved name.
  pub claims: &'a Map<String, Value>,
}

/// A freshly signed access token. `Debug` does not print the token.
#[derive(Clone)]
pub struct Issued {
  /// The compact JWT.
  pub token: String,
  /// Its `jti`.
  pub jti: String,
  /// Its `exp`, seconds.
  pub exp: i64,
}

impl std::fmt::Debug for Issued {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_struct("Issued")
      .field("token", &"[redacted]")
      .field("jti", &self.jti)
      .field("exp", &self.exp)
      .finish()
  }
}

/// What a verified access token says.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessClaims {
  /// User id.
  pub sub: String,
  /// Session handle.
  pub sid: String,
  /// Token id.
  pub jti: String,
  /// Issued at, seconds.
  pub iat: f64,
  /// Expiry, seconds.
  pub exp: f64,
  /// Session data version.
  pub dv: u64,
  /// The key that signed it.
  pub kid: String,
  /// App claims.
  pub claims: Map<String, Value>,
}

/// Is `s` an opaque id of ours (`sid`, `jti`): 1 to 64 base64url characters?
fn is_opaque_id(s: &str) -> bool {
  (1..=64).contains(&s.len()) && s.bytes().all(encoding::is_b64url_byte)
}

/// Sign an access token for `subject` with the ring's current key, valid from `now` for
/// `policy.ttl_secs`, or until `not_after` (seconds) when that is sooner.
///
/// # Errors
/// `CLAIM_RESERVED`; `INVALID_ARGUMENT` (empty user id, or a session that is not 1 to 64
/// base64url characters); `TOKEN_MALFORMED` (claims too large, or a token longer than
/// `policy.max_token_len`, which [`verify`] would refuse); `RANDOM_UNAVAILABLE`;
/// `TOKEN_EXPIRED` when `not_after` is not after `now`.
pub fn sign(
  ring: &KeyRing,
  policy: &Policy,
  now: UnixMillis,
  subject: &Subject<'_>,
  not_after: Option<i64>,
) -> Result<Issued> {
  if !is_opaque_id(subject.session) {
    return Err(err(
      ErrorKind::InvalidArgument,
      "session must be 1 to 64 base64url characters",
    ));
  }
  let key = ring.current();
  let jti = encoding::encode(&random::bytes::<16>()?);
  let iat = now.secs();
  let exp = not_after.map_or(iat + policy.ttl_secs, |n| n.min(iat + policy.ttl_secs));
  if exp <= iat {
    return Err(err(
      ErrorKind::TokenExpired,
      "the token to replace has expired",
    ));
  }
  let payload = NewClaims {
    iss: &policy.issuer,
    sub: subject.user_id,
    aud: &policy.audience,
    exp,
    nbf: iat,
    iat,
    jti: &jti,
    sid: subject.session,
    dv: subject.data_version,
    extra: subject.claims,
  }
  .to_json()?;
  let token = jws::sign_encoded_header(&key.access_header, &payload, &key.encoding, key.alg())?;
  if token.len() > policy.max_token_len {
    return Err(err(
      ErrorKind::TokenMalformed,
      "claims too large for a token",
    ));
  }
  Ok(Issued { token, jti, exp })
}

/// What a verified access token says, borrowed from the token (see [`verify_with`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClaimsView<'a> {
  /// User id.
  pub sub: &'a str,
  /// Session handle.
  pub sid: &'a str,
  /// Token id.
  pub jti: &'a str,
  /// Issued at, seconds.
  pub iat: f64,
  /// Expiry, seconds.
  pub exp: f64,
  /// Session data version.
  pub dv: u64,
  /// The key that signed it.
  pub kid: &'a str,
  /// App claims.
  pub claims: &'a Map<String, Value>,
}

impl ClaimsView<'_> {
  /// An owned copy.
  pub fn to_owned(&self) -> AccessClaims {
    AccessClaims {
      sub: self.sub.to_owned(),
      sid: self.sid.to_owned(),
      jti: self.jti.to_owned(),
      iat: self.iat,
      exp: self.exp,
      dv: self.dv,
      kid: self.kid.to_owned(),
      claims: self.claims.clone(),
    }
  }
}

/// Verify an access token.
///
/// # Errors
/// `TOKEN_MALFORMED`, `TOKEN_INVALID`, `KEY_UNKNOWN`, `TOKEN_EXPIRED`,
/// `TOKEN_NOT_YET_VALID`; see the module documentation for the order.
pub fn verify(
  ring: &KeyRing,
  policy: &Policy,
  now: UnixMillis,
  token: &[u8],
) -> Result<AccessClaims> {
  verify_with(ring, policy, now, token, |v| v.to_owned())
}

/// Verify an access token and hand what it says to `f`, borrowed (no copies: the hot
/// path of the napi layer writes its result straight from it).
///
/// The steps, each refusing before the next runs: the signing key the header names
/// ([`signing_key`]), the signature and payload ([`jws::verify_segments`]), the claims
/// ([`Claims::parse`]), then [`validate_claims`].
///
/// # Errors
/// As [`verify`].
pub fn verify_with<R>(
  ring: &KeyRing,
  policy: &Policy,
  now: UnixMillis,
  token: &[u8],
  f: impl FnOnce(ClaimsView<'_>) -> R,
) -> Result<R> {
  let mut buf = [0u8; MAX_PAYLOAD_LEN];
  let (payload, key) = jws::verify_segments(token, policy.max_token_len, &mut buf, |header| {
    signing_key(ring, header, now)
  })?;
  let claims = Claims::parse(payload)?;
  validate_claims(&claims, key.kid(), policy, now).map(f)
}

/// The key of `ring` that may have signed a token with this encoded `header` segment.
///
/// Fast path: the exact header one of our keys writes. Anything else is parsed strictly,
/// and must be an access token (`typ`) naming (`kid`) a key that verifies at `now`, with
/// that key's `alg`.
///
/// # Errors
/// `TOKEN_MALFORMED` or `TOKEN_INVALID` for the header; `KEY_UNKNOWN` when `kid` names no
/// usable key.
fn signing_key<'r>(ring: &'r KeyRing, header: &[u8], now: UnixMillis) -> Result<&'r Key> {
  if let Some(key) = ring.by_access_header(header, now) {
    return Ok(key);
  }
  let h = jws::parse_header_segment(header)?;
  if !h.is_access_token() {
    return Err(err(ErrorKind::TokenInvalid, "typ is not at+jwt"));
  }
  let kid = h
    .kid
    .as_deref()
    .ok_or_else(|| err(ErrorKind::TokenInvalid, "no kid"))?;
  let key = ring
    .verifier(kid, now)
    .ok_or_else(|| err(ErrorKind::KeyUnknown, "kid names no usable key"))?;
  if key.alg() != h.alg {
    return Err(err(
      ErrorKind::TokenInvalid,
      "alg is not the key's algorithm",
    ));
  }
  Ok(key)
}

/// Every claim check of an access token whose signature verified (by `kid`), against
/// `policy` at `now`; what it says, borrowed from `c`. Like `jsonwebtoken`'s `validate`.
///
/// Checks, in order: `iss` is the policy's; `aud` contains the policy's; `now < exp +
/// leeway`; `iat <= exp` and `nbf <= exp` (when present); `exp - iat <= ttl + leeway` (no
/// token of ours lives longer); `nbf - leeway <= now` (when present) and `iat - leeway <=
/// now`; `sub` is not empty; `sid` and `jti` are opaque ids of ours; `dv` is present.
///
/// # Errors
/// `TOKEN_MALFORMED` when a required claim is missing; `TOKEN_INVALID` (issuer, audience,
/// `iat` or `nbf` after `exp`, `sub`, `sid`, `jti`); `TOKEN_EXPIRED` (also for a lifetime
/// over `ttl + leeway`: a token from before the policy was shortened refreshes);
/// `TOKEN_NOT_YET_VALID` (`nbf` or `iat` beyond the leeway in the future).
pub(crate) fn validate_claims<'c>(
  c: &'c Claims<'_>,
  kid: &'c str,
  policy: &Policy,
  now: UnixMillis,
) -> Result<ClaimsView<'c>> {
  let missing = || err(ErrorKind::TokenMalformed, "a required claim is missing");
  let invalid = |d| err(ErrorKind::TokenInvalid, d);
  if *c.iss.as_ref().ok_or_else(missing)? != *policy.issuer {
    return Err(invalid("wrong issuer"));
  }
  let aud = c.aud.as_ref().ok_or_else(missing)?;
  if !aud.iter().any(|a| *a == *policy.audience) {
    return Err(invalid("wrong audience"));
  }
  let exp = c.exp.ok_or_else(missing)?;
  let iat = c.iat.ok_or_else(missing)?;
  #[allow(clippy::cast_precision_loss)]
  let now_s = now.0 as f64 / 1000.0;
  #[allow(clippy::cast_precision_loss)]
  let leeway = policy.leeway_secs as f64;
  if now_s >= exp + leeway {
    return Err(err(ErrorKind::TokenExpired, "exp has passed"));
  }
  // A token issued after it expires, or valid only from after it expires, is no token of
  // any policy: refused as not ours (a refresh would not explain it away).
  if iat > exp || c.nbf.is_some_and(|nbf| nbf > exp) {
    return Err(invalid("iat or nbf is after exp"));
  }
  // We never issue a token that lives longer than the policy's lifetime: a longer `exp`
  // (a token from before `accessTokenMaxAge` was lowered, one signed with a leaked key, an
  // `iat` far in the past) is refused as expired, so that a client refreshes.
  #[allow(clippy::cast_precision_loss)]
  let ttl = policy.ttl_secs as f64;
  if exp - iat > ttl + leeway {
    return Err(err(
      ErrorKind::TokenExpired,
      "the token lives longer than accessTokenMaxAge",
    ));
  }
  if c.nbf.is_some_and(|nbf| nbf - leeway > now_s) || iat - leeway > now_s {
    return Err(err(
      ErrorKind::TokenNotYetValid,
      "nbf or iat is in the future",
    ));
  }
  let sub = c.sub.as_deref().ok_or_else(missing)?;
  let sid = c.sid.as_deref().ok_or_else(missing)?;
  let jti = c.jti.as_deref().ok_or_else(missing)?;
  if sub.is_empty() {
    return Err(invalid("empty sub"));
  }
  if !is_opaque_id(sid) || !is_opaque_id(jti) {
    return Err(invalid("sid and jti must be 1 to 64 base64url characters"));
  }
  Ok(ClaimsView {
    sub,
    sid,
    jti,
    iat,
    exp,
    dv: c.dv.ok_or_else(missing)?,
    kid,
    claims: &c.extra,
  })
}

#[cfg(test)]
mod tests {
  use super::*;

  const NOW: i64 = 1_750_000_000;

  /// The claims of a token of ours issued at `iat`, expiring at `exp`, valid from `nbf`.
  fn claims(iat: i64, nbf: i64, exp: i64) -> Claims<'static> {
    #[allow(clippy::cast_precision_loss)]
    let secs = |s: i64| Some(s as f64);
    Claims {
      iss: Some("tandem-session".into()),
      sub: Some("alice".into()),
      aud: Some(vec!["tandem-session".into()]),
      exp: secs(exp),
      nbf: secs(nbf),
      iat: secs(iat),
      jti: Some("jti".into()),
      sid: Some("sid".into()),
      dv: Some(0),
      extra: Map::new(),
    }
  }

  fn refusal(iat: i64, nbf: i64, exp: i64) -> Option<ErrorKind> {
    let c = claims(iat, nbf, exp);
    validate_claims(&c, "k", &Policy::default(), UnixMillis(NOW * 1000))
      .err()
      .map(|e| e.kind())
  }

  #[test]
  fn a_lifetime_or_an_iat_that_no_token_of_ours_has_is_refused() {
    // Policy::default(): lifetime 900 s, leeway 5 s.
    let n = NOW;
    for (iat, nbf, exp, want) in [
      (n, n, n + 900, None),
      (n, n, n + 905, None),
      (n + 5, n + 5, n + 6, None),
      (n, n, n + 906, Some(ErrorKind::TokenExpired)),
      (n, n, n + 100 * 365 * 86_400, Some(ErrorKind::TokenExpired)),
      (
        n - 86_400,
        n - 86_400,
        n + 60,
        Some(ErrorKind::TokenExpired),
      ),
      (i64::MIN / 2, n, n + 60, Some(ErrorKind::TokenExpired)),
      (n + 6, n, n + 600, Some(ErrorKind::TokenNotYetValid)),
      (n + 4_000_000_000, n, n + 600, Some(ErrorKind::TokenInvalid)),
      (n + 3, n, n + 2, Some(ErrorKind::TokenInvalid)),
      (n, n + 3, n + 2, Some(ErrorKind::TokenInvalid)),
      (n + 2, n + 2, n - 4, Some(ErrorKind::TokenInvalid)),
      (n, n, n - 5, Some(ErrorKind::TokenExpired)),
    ] {
      assert_eq!(
        refusal(iat, nbf, exp),
        want,
        "iat {iat} nbf {nbf} exp {exp}"
      );
    }
  }
}
