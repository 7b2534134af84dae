//! The claims of an access token (RFC 7519 §4, RFC 9068 §2.2), parsed strictly, and the
//! payload we sign.
//!
//! Registered and project claims: `iss`, `sub` (user id), `aud`, `exp`, `nbf`, `iat`,
//! `jti`, `sid` (session handle) and `dv` (session data version). App claims travel under
//! their own names beside them and can never replace one of ours: signing refuses a
//! reserved name (`CLAIM_RESERVED`), and parsing refuses a duplicate.
//!
//! This file depends on no other part of `jwt`: the fast path for our own payloads, and
//! [`Claims::parse`] which tries it first, are in `jwt::canonical`, built on this one.
//!
//! Guarantees: names are compared exactly after unescaping (`Exp`, `EXP`, `ｅｘｐ`,
//! `exp\u0000` are app claims, not `exp`); every registered claim has one JSON type, and a
//! mistyped one is `TOKEN_MALFORMED`, never "absent"; NumericDates are finite numbers.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{err, ErrorKind, Result};
use crate::json::{self, Name, NameSeed, NumericDate, SeenNames, StrictValue};

/// Largest decoded payload accepted, in bytes.
pub const MAX_PAYLOAD_LEN: usize = 6 * 1024;
/// Longest `sub`, `sid`, `jti`, `iss` or audience string.
pub const MAX_CLAIM_STRING: usize = 256;
/// Most audiences in an `aud` array.
pub const MAX_AUDIENCES: usize = 16;

/// Claim names the access token reserves; app claims may not use them.
pub const RESERVED: [&str; 9] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "sid", "dv"];

/// A claim string, borrowed from the payload bytes when it has no escapes.
pub type Str<'a> = Cow<'a, str>;

/// The claims of a parsed token. Registered claims are optional here; the access-token
/// policy decides which are required. Strings borrow from the decoded payload.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims<'a> {
  /// Issuer.
  pub iss: Option<Str<'a>>,
  /// Subject: the user id.
  pub sub: Option<Str<'a>>,
  /// Audiences (a single string is read as one audience).
  pub aud: Option<Vec<Str<'a>>>,
  /// Expiry, seconds since the epoch.
  pub exp: Option<f64>,
  /// Not before.
  pub nbf: Option<f64>,
  /// Issued at.
  pub iat: Option<f64>,
  /// Token id, unique per token.
  pub jti: Option<Str<'a>>,
  /// Session handle.
  pub sid: Option<Str<'a>>,
  /// Session data version.
  pub dv: Option<u64>,
  /// Every other claim, by name.
  pub extra: Map<String, Value>,
}

impl<'a> Claims<'a> {
  /// The general strict parser, for any JSON: [`Claims::parse`] (in `jwt::canonical`)
  /// without its fast path for our own canonical shape.
  ///
  /// # Errors
  /// `TOKEN_MALFORMED` for bad JSON, a duplicate name, a mistyped registered claim, or
  /// a payload over [`MAX_PAYLOAD_LEN`].
  pub fn parse_strict(bytes: &'a [u8]) -> Result<Self> {
    if bytes.len() > MAX_PAYLOAD_LEN {
      return Err(err(ErrorKind::TokenMalformed, "payload too long"));
    }
    json::from_slice(bytes).map_err(|_| {
      err(
        ErrorKind::TokenMalformed,
        "payload is not a valid claims set",
      )
    })
  }
}

impl<'de> Deserialize<'de> for Claims<'de> {
  fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
    d.deserialize_map(ClaimsVisitor)
  }
}

struct ClaimsVisitor;

impl<'de> Visitor<'de> for ClaimsVisitor {
  type Value = Claims<'de>;

  fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("a JWT claims set")
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Claims<'de>, A::Error> {
    let mut c = Claims::default();
    let mut seen = SeenNames::default();
    while let Some(name) = map.next_key_seed(NameSeed(&RESERVED))? {
      seen.insert::<A::Error, 9>(&name)?;
      match name {
        Name::Known(0) => c.iss = Some(map.next_value::<Bounded<'de>>()?.0),
        Name::Known(1) => c.sub = Some(map.next_value::<Bounded<'de>>()?.0),
        Name::Known(2) => c.aud = Some(map.next_value::<Audience<'de>>()?.0),
        Name::Known(3) => c.exp = Some(map.next_value::<NumericDate>()?.0),
        Name::Known(4) => c.nbf = Some(map.next_value::<NumericDate>()?.0),
        Name::Known(5) => c.iat = Some(map.next_value::<NumericDate>()?.0),
        Name::Known(6) => c.jti = Some(map.next_value::<Bounded<'de>>()?.0),
        Name::Known(7) => c.sid = Some(map.next_value::<Bounded<'de>>()?.0),
        Name::Known(_) => c.dv = Some(map.next_value()?),
        Name::Other(n) => {
          let StrictValue(v) = map.next_value()?;
          c.extra.insert(n, v);
        }
      }
    }
    Ok(c)
  }
}

/// A JSON string of at most [`MAX_CLAIM_STRING`] bytes, borrowed when it has no escapes.
struct Bounded<'a>(Str<'a>);

impl<'de> Deserialize<'de> for Bounded<'de> {
  fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
    d.deserialize_str(BoundedVisitor)
  }
}

struct BoundedVisitor;

impl<'de> Visitor<'de> for BoundedVisitor {
  type Value = Bounded<'de>;
  fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("a string")
  }
  fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Bounded<'de>, E> {
    check_len(v).map(|()| Bounded(Cow::Borrowed(v)))
  }
  fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Bounded<'de>, E> {
    check_len(v).map(|()| Bounded(Cow::Owned(v.to_owned())))
  }
}

fn check_len<E: de::Error>(s: &str) -> std::result::Result<(), E> {
  if s.len() > MAX_CLAIM_STRING {
    return Err(E::custom("claim string too long"));
  }
  Ok(())
}

/// `aud`: a string or a non-empty array of at most [`MAX_AUDIENCES`] strings
/// (RFC 7519 §4.1.3).
struct Audience<'a>(Vec<Str<'a>>);

impl<'de> Deserialize<'de> for Audience<'de> {
  fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
    d.deserialize_any(AudienceVisitor)
  }
}

struct AudienceVisitor;

impl<'de> Visitor<'de> for AudienceVisitor {
  type Value = Audience<'de>;
  fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("a string or an array of strings")
  }
  fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Audience<'de>, E> {
    BoundedVisitor
      .visit_borrowed_str(v)
      .map(|b| Audience(vec![b.0]))
  }
  fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Audience<'de>, E> {
    BoundedVisitor.visit_str(v).map(|b| Audience(vec![b.0]))
  }
  fn visit_seq<A: SeqAccess<'de>>(
    self,
    mut seq: A,
  ) -> std::result::Result<Audience<'de>, A::Error> {
    let mut list = Vec::new();
    while let Some(Bounded(a)) = seq.next_element()? {
      if list.len() == MAX_AUDIENCES {
        return Err(de::Error::custom("too many audiences"));
      }
      list.push(a);
    }
    if list.is_empty() {
      return Err(de::Error::custom("empty aud"));
    }
    Ok(Audience(list))
  }
}

/// What the engine puts into a new access token.
#[derive(Debug, Clone, Serialize)]
pub struct NewClaims<'a> {
  /// Issuer.
  pub iss: &'a str,
  /// User id.
  pub sub: &'a str,
  /// Audience.
  pub aud: &'a str,
  /// Expiry (seconds).
  pub exp: i64,
  /// Not before (seconds).
  pub nbf: i64,
  /// Issued at (seconds).
  pub iat: i64,
  /// Token id.
  pub jti: &'a str,
  /// Session handle.
  pub sid: &'a str,
  /// Session data version.
  pub dv: u64,
  /// App claims (none may use a reserved name).
  #[serde(flatten)]
  pub extra: &'a Map<String, Value>,
}

impl NewClaims<'_> {
  /// The payload JSON.
  ///
  /// # Errors
  /// `CLAIM_RESERVED` when an app claim uses a reserved name; `TOKEN_MALFORMED` when a
  /// string is too long or the payload would exceed [`MAX_PAYLOAD_LEN`].
  pub fn to_json(&self) -> Result<Vec<u8>> {
    if self.extra.keys().any(|k| RESERVED.contains(&k.as_str())) {
      return Err(err(
        ErrorKind::ClaimReserved,
        "an app claim uses a reserved claim name",
      ));
    }
    if self
      .extra
      .iter()
      .any(|(k, v)| k == json::PROTO || has_proto(v))
    {
      return Err(err(
        ErrorKind::ClaimReserved,
        "an app claim uses the name __proto__",
      ));
    }
    if self.sub.is_empty() || self.sid.is_empty() {
      return Err(err(
        ErrorKind::InvalidArgument,
        "user id and session must not be empty",
      ));
    }
    for s in [self.iss, self.sub, self.aud, self.jti, self.sid] {
      if s.len() > MAX_CLAIM_STRING {
        return Err(err(ErrorKind::TokenMalformed, "a claim string is too long"));
      }
    }
    let out = serde_json::to_vec(self)
      .map_err(|_| err(ErrorKind::Internal, "claims serialisation failed"))?;
    if out.len() > MAX_PAYLOAD_LEN {
      return Err(err(
        ErrorKind::TokenMalformed,
        "claims too large for a token",
      ));
    }
    Ok(out)
  }
}

/// Does `v` hold a member named `__proto__` at any depth?
fn has_proto(v: &Value) -> bool {
  match v {
    Value::Object(m) => m.iter().any(|(k, v)| k == json::PROTO || has_proto(v)),
    Value::Array(a) => a.iter().any(has_proto),
    _ => false,
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn kind(s: &str) -> Option<ErrorKind> {
    Claims::parse(s.as_bytes()).err().map(|e| e.kind())
  }

  #[test]
  fn parses_registered_and_app_claims() -> Result<()> {
    let c = Claims::parse(br#"{"sub":"alice","aud":["x","y"],"exp":1.5,"role":{"a":[1]}}"#)?;
    assert_eq!(c.sub.as_deref(), Some("alice"));
    assert_eq!(c.aud, Some(vec!["x".into(), "y".into()]));
    assert_eq!(c.exp, Some(1.5));
    assert!(c.extra.contains_key("role"));
    Ok(())
  }

  #[test]
  fn mistyped_registered_claims_are_errors_not_absent() {
    for bad in [
      r#"{"exp":"9999999999"}"#,
      r#"{"exp":null}"#,
      r#"{"exp":true}"#,
      r#"{"exp":1e400}"#,
      r#"{"nbf":"1"}"#,
      r#"{"iat":[]}"#,
      r#"{"sub":1}"#,
      r#"{"sub":null}"#,
      r#"{"dv":-1}"#,
      r#"{"aud":[]}"#,
      r#"{"aud":[123]}"#,
      r#"{"aud":{"a":1}}"#,
      r#"{"aud":""}"#,
    ] {
      // `"aud":""` is a valid single (empty) audience; the policy rejects it later.
      if bad == r#"{"aud":""}"# {
        assert_eq!(kind(bad), None);
      } else {
        assert_eq!(kind(bad), Some(ErrorKind::TokenMalformed), "{bad}");
      }
    }
  }

  #[test]
  fn duplicates_and_escaped_duplicates_are_refused() {
    assert!(kind(r#"{"sub":"alice","sub":"admin"}"#).is_some());
    assert!(kind(r#"{"sub":"alice","\u0073ub":"admin"}"#).is_some());
    assert!(kind(r#"{"exp":1,"exp":99999999999}"#).is_some());
    assert!(kind(r#"{"x":1,"x":2}"#).is_some());
  }

  #[test]
  fn look_alike_names_are_app_claims() -> Result<()> {
    let c = Claims::parse("{\"Exp\":1,\"EXP\":1,\"ｅｘｐ\":1,\"exp\\u0000\":1}".as_bytes())?;
    assert_eq!(c.exp, None);
    assert_eq!(c.extra.len(), 4);
    Ok(())
  }

  /// The error of signing claims for `sub` with the app claims `extra`, if any.
  fn signing_error(sub: &str, extra: &Map<String, Value>) -> Option<ErrorKind> {
    let n = NewClaims {
      iss: "i",
      sub,
      aud: "a",
      exp: 2,
      nbf: 1,
      iat: 1,
      jti: "j",
      sid: "s",
      dv: 0,
      extra,
    };
    n.to_json().err().map(|e| e.kind())
  }

  #[test]
  fn proto_is_refused_when_signing_and_when_parsing() {
    let mut extra = Map::new();
    extra.insert(
      "a".into(),
      serde_json::json!({"b": [{"__proto__": {"isAdmin": true}}]}),
    );
    assert_eq!(signing_error("u", &extra), Some(ErrorKind::ClaimReserved));
    assert_eq!(
      kind(r#"{"__proto__":{"isAdmin":true}}"#),
      Some(ErrorKind::TokenMalformed)
    );
  }

  #[test]
  fn empty_subject_or_session_is_refused_when_signing() {
    let extra = Map::new();
    assert_eq!(signing_error("", &extra), Some(ErrorKind::InvalidArgument));
  }

  #[test]
  fn app_claims_cannot_use_reserved_names() {
    let mut extra = Map::new();
    extra.insert("sub".into(), Value::from("admin"));
    assert_eq!(signing_error("u", &extra), Some(ErrorKind::ClaimReserved));
  }
}
