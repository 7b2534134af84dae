//! The JOSE header of our tokens (RFC 7515 §4), parsed strictly.
//!
//! Guarantees, all before any cryptography:
//! - `alg` is present, a string, and on the allow-list (exact, case-sensitive), else
//!   `TOKEN_INVALID` (`TOKEN_MALFORMED` when missing or not a string);
//! - `crit` in any form is refused: we implement no extension (RFC 7515 §4.1.11, App. E);
//! - key-carrying and structure-changing members are refused outright: `jwk`, `jku`,
//!   `x5u`, `x5c`, `x5t`, `x5t#S256` (we never fetch or trust a key from a token,
//!   RFC 8725 §3.10), `cty` (no nested JWTs), `b64` (RFC 7797), `enc` and `zip` (JWE);
//! - `kid` and `typ`, when present, are strings of at most 64 bytes;
//! - other members are ignored, but still parsed strictly (no duplicates at any depth).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::json::{self, Name, NameSeed, SeenNames, StrictValue};
use crate::jwt::Algorithm;

/// Largest decoded header accepted, in bytes.
pub const MAX_HEADER_LEN: usize = 1024;

/// Longest `kid` (or `typ`) we accept in a token header (RFC 8725 §3.10: validate before
/// use). The ring's own kids are 16 characters.
pub const MAX_KID_LEN: usize = 64;

/// The `typ` of our access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The encoded header segment of the access tokens `kid` signs:
/// `b64({"alg":…,"typ":"at+jwt","kid":…})`. Computed once per key (see `keys::Key`), so
/// that signing copies it and verifying recognises it byte for byte.
pub fn header_segment(alg: Algorithm, kid: &str) -> String {
  encoding::encode(
    format!(
      r#"{{"alg":"{}","typ":"{ACCESS_TOKEN_TYP}","kid":"{kid}"}}"#,
      alg.name()
    )
    .as_bytes(),
  )
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
  /// The algorithm, already on the allow-list.
  pub alg: Algorithm,
  /// The key id, if any.
  pub kid: Option<String>,
  /// The type, if any.
  pub typ: Option<String>,
}

impl Header {
  /// Is `typ` the access-token type? Media types compare case-insensitively and a value
  /// without `/` means `application/…` (RFC 7515 §4.1.9), so `at+jwt`, `AT+JWT` and
  /// `application/at+jwt` match, and `JWT` does not (RFC 8725 §3.11).
  pub fn is_access_token(&self) -> bool {
    let Some(t) = self.typ.as_deref() else {
      return false;
    };
    let t = match t.get(..12) {
      Some(p) if p.eq_ignore_ascii_case("application/") => &t[12..],
      _ => t,
    };
    t.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
  }

  /// Parse decoded header bytes.
  ///
  /// # Errors
  /// `TOKEN_MALFORMED` for bad JSON, duplicates, a missing or mistyped member;
  /// `TOKEN_INVALID` for an algorithm off the allow-list or a refused member.
  pub fn parse(bytes: &[u8]) -> Result<Self> {
    if bytes.len() > MAX_HEADER_LEN {
      return Err(err(ErrorKind::TokenMalformed, "header too long"));
    }
    let raw: RawHeader = json::from_slice(bytes).map_err(|_| {
      err(
        ErrorKind::TokenMalformed,
        "header is not a valid JOSE header",
      )
    })?;
    if raw.refused {
      return Err(err(ErrorKind::TokenInvalid, "header member not allowed"));
    }
    let alg = raw
      .alg
      .ok_or_else(|| err(ErrorKind::TokenMalformed, "header has no alg"))?;
    let alg = Algorithm::from_name(&alg)
      .ok_or_else(|| err(ErrorKind::TokenInvalid, "algorithm not allowed"))?;
    Ok(Self {
      alg,
      kid: raw.kid,
      typ: raw.typ,
    })
  }
}

const NAMES: [&str; 12] = [
  "alg", "kid", "typ", "crit", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "cty", "b64",
];
const MORE_REFUSED: [&str; 2] = ["enc", "zip"];

struct RawHeader {
  alg: Option<String>,
  kid: Option<String>,
  typ: Option<String>,
  /// A refused member (`crit`, `jwk`, …) was present.
  refused: bool,
}

impl<'de> Deserialize<'de> for RawHeader {
  fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
    d.deserialize_map(HeaderVisitor)
  }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
  type Value = RawHeader;

  fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("a JOSE header object")
  }

  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawHeader, A::Error> {
    let mut h = RawHeader {
      alg: None,
      kid: None,
      typ: None,
      refused: false,
    };
    let mut seen = SeenNames::default();
    while let Some(name) = map.next_key_seed(NameSeed(&NAMES))? {
      seen.insert::<A::Error, 12>(&name)?;
      match name {
        Name::Known(0) => h.alg = Some(short_string(&mut map)?),
        Name::Known(1) => h.kid = Some(short_string(&mut map)?),
        Name::Known(2) => h.typ = Some(short_string(&mut map)?),
        Name::Known(_) => {
          map.next_value::<StrictValue>()?;
          h.refused = true;
        }
        Name::Other(n) => {
          map.next_value::<StrictValue>()?;
          h.refused |= MORE_REFUSED.contains(&n.as_str());
        }
      }
    }
    Ok(h)
  }
}

fn short_string<'de, A: MapAccess<'de>>(map: &mut A) -> std::result::Result<String, A::Error> {
  let s: String = map.next_value()?;
  if s.len() > MAX_KID_LEN {
    return Err(de::Error::custom("header string too long"));
  }
  Ok(s)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn kind(json: &str) -> Option<ErrorKind> {
    Header::parse(json.as_bytes()).err().map(|e| e.kind())
  }

  #[test]
  fn parses_our_header() -> Result<()> {
    let h = Header::parse(br#"{"alg":"HS256","typ":"at+jwt","kid":"abc","x":{"y":1}}"#)?;
    assert_eq!(h.alg, Algorithm::Hs256);
    assert!(h.is_access_token());
    Ok(())
  }

  #[test]
  fn typ_matching_follows_media_type_rules() -> Result<()> {
    for (typ, ok) in [
      ("at+jwt", true),
      ("AT+JWT", true),
      ("application/at+jwt", true),
      ("JWT", false),
      ("dpop+jwt", false),
      ("application/jwt", false),
    ] {
      let h = Header::parse(format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#).as_bytes())?;
      assert_eq!(h.is_access_token(), ok, "{typ}");
    }
    Ok(())
  }

  #[test]
  fn refuses_algorithms_off_the_list() {
    for alg in [
      "\"none\"",
      "\"None\"",
      "\"NONE\"",
      "\"nOnE\"",
      "\"hs256\"",
      "\"HS256 \"",
      "\"HS512\"",
      "\"RS256\"",
      "\"\"",
    ] {
      assert_eq!(
        kind(&format!(r#"{{"alg":{alg}}}"#)),
        Some(ErrorKind::TokenInvalid),
        "{alg}"
      );
    }
    for alg in ["null", "123", "[\"HS256\"]", "true"] {
      assert_eq!(
        kind(&format!(r#"{{"alg":{alg}}}"#)),
        Some(ErrorKind::TokenMalformed),
        "{alg}"
      );
    }
    assert_eq!(kind(r#"{"typ":"at+jwt"}"#), Some(ErrorKind::TokenMalformed));
  }

  #[test]
  fn refuses_duplicates_including_escaped_ones() {
    assert_eq!(
      kind(r#"{"alg":"HS256","alg":"none"}"#),
      Some(ErrorKind::TokenMalformed)
    );
    assert_eq!(
      kind(r#"{"alg":"HS256","\u0061lg":"HS256"}"#),
      Some(ErrorKind::TokenMalformed)
    );
    assert_eq!(
      kind(r#"{"alg":"HS256","foo":1,"foo":2}"#),
      Some(ErrorKind::TokenMalformed)
    );
  }

  #[test]
  fn refuses_crit_in_every_form() {
    for crit in [
      r#"[]"#,
      r#"["alg"]"#,
      r#""x""#,
      r#"["exp"]"#,
      r#"["http://example.com/UNDEFINED"]"#,
      r#"["b64"]"#,
    ] {
      assert_eq!(
        kind(&format!(r#"{{"alg":"HS256","crit":{crit}}}"#)),
        Some(ErrorKind::TokenInvalid),
        "{crit}"
      );
    }
  }

  #[test]
  fn refuses_key_carrying_and_structure_members() {
    for m in [
      "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "cty", "b64", "enc", "zip",
    ] {
      assert_eq!(
        kind(&format!(r#"{{"alg":"HS256","{m}":"x"}}"#)),
        Some(ErrorKind::TokenInvalid),
        "{m}"
      );
    }
  }

  #[test]
  fn refuses_odd_kids() {
    let long = "k".repeat(65);
    assert_eq!(
      kind(&format!(r#"{{"alg":"HS256","kid":"{long}"}}"#)),
      Some(ErrorKind::TokenMalformed)
    );
    for kid in ["1", "{}", "[]", "null"] {
      assert_eq!(
        kind(&format!(r#"{{"alg":"HS256","kid":{kid}}}"#)),
        Some(ErrorKind::TokenMalformed),
        "{kid}"
      );
    }
  }
}
