//! A fast path for the claims we write ourselves, and [`Claims::parse`], which takes it
//! when it can and the strict parser of `jwt::claims` otherwise.
//!
//! `NewClaims::to_json` always writes the same shape: `{"iss":S,"sub":S,"aud":S,"exp":I,
//! "nbf":I,"iat":I,"jti":S,"sid":S,"dv":U` followed by the app claims, then `}`, with no
//! whitespace. [`parse`] reads exactly that shape by hand, much faster than the general
//! strict parser, and gives up (`None`) at the first byte that deviates, leaving the
//! payload to the strict parser.
//!
//! Guarantees: whatever this accepts, the strict parser accepts with the same result (a
//! test checks it). It accepts only strings without escapes, control characters or more
//! than `MAX_CLAIM_STRING` bytes, and only integers without sign games, fractions,
//! exponents or overflow. App claims after `dv` are parsed by the strict parser, and a
//! registered name among them is a duplicate: an error, not a fallback.

use std::borrow::Cow;

use serde_json::Map;

use crate::error::{err, ErrorKind, Result};
use crate::jwt::claims::{Claims, MAX_CLAIM_STRING, MAX_PAYLOAD_LEN};

impl<'a> Claims<'a> {
  /// Parse decoded payload bytes: our own canonical shape by [`parse`], anything else by
  /// the strict parser ([`Claims::parse_strict`]), with the same result either way.
  ///
  /// # Errors
  /// `TOKEN_MALFORMED` for bad JSON, a duplicate name, a mistyped registered claim, or
  /// a payload over [`MAX_PAYLOAD_LEN`].
  pub fn parse(bytes: &'a [u8]) -> Result<Self> {
    if bytes.len() > MAX_PAYLOAD_LEN {
      return Err(err(ErrorKind::TokenMalformed, "payload too long"));
    }
    match parse(bytes)? {
      Some(c) => Ok(c),
      None => Self::parse_strict(bytes),
    }
  }
}

/// Parse the canonical shape; `Ok(None)` when `bytes` deviates from it anywhere.
///
/// # Errors
/// `TOKEN_MALFORMED` when the canonical prefix is followed by app claims that are not a
/// valid, strict continuation of the object (or that repeat a registered name).
pub fn parse(bytes: &[u8]) -> Result<Option<Claims<'_>>> {
  let mut r = Reader { b: bytes, i: 0 };
  let Some(prefix) = r.prefix() else {
    return Ok(None);
  };
  let extra = match r.b.get(r.i) {
    Some(b'}') if r.i + 1 == bytes.len() => Map::new(),
    // A member must follow the comma (`,}` is not JSON; `{}` would hide that).
    Some(b',') if bytes.get(r.i + 1) == Some(&b'"') => tail(&bytes[r.i + 1..])?,
    _ => return Ok(None),
  };
  Ok(Some(Claims { extra, ..prefix }))
}

/// The app claims after `dv`: `"k":v,…}`, parsed strictly as the object `{"k":v,…}`.
fn tail(rest: &[u8]) -> Result<Map<String, serde_json::Value>> {
  let mut obj = Vec::with_capacity(rest.len() + 1);
  obj.push(b'{');
  obj.extend_from_slice(rest);
  let c = Claims::parse_strict(&obj)?;
  let registered = c.iss.is_some()
    || c.sub.is_some()
    || c.aud.is_some()
    || c.exp.is_some()
    || c.nbf.is_some()
    || c.iat.is_some()
    || c.jti.is_some()
    || c.sid.is_some()
    || c.dv.is_some();
  if registered {
    return Err(err(
      ErrorKind::TokenMalformed,
      "payload is not a valid claims set",
    ));
  }
  Ok(c.extra)
}

struct Reader<'a> {
  b: &'a [u8],
  i: usize,
}

impl<'a> Reader<'a> {
  fn prefix(&mut self) -> Option<Claims<'a>> {
    self.lit(br#"{"iss":"#)?;
    let iss = self.string()?;
    self.lit(br#","sub":"#)?;
    let sub = self.string()?;
    self.lit(br#","aud":"#)?;
    let aud = self.string()?;
    self.lit(br#","exp":"#)?;
    let exp = self.int()?;
    self.lit(br#","nbf":"#)?;
    let nbf = self.int()?;
    self.lit(br#","iat":"#)?;
    let iat = self.int()?;
    self.lit(br#","jti":"#)?;
    let jti = self.string()?;
    self.lit(br#","sid":"#)?;
    let sid = self.string()?;
    self.lit(br#","dv":"#)?;
    let dv = self.uint()?;
    #[allow(clippy::cast_precision_loss)]
    Some(Claims {
      iss: Some(Cow::Borrowed(iss)),
      sub: Some(Cow::Borrowed(sub)),
      aud: Some(vec![Cow::Borrowed(aud)]),
      exp: Some(exp as f64),
      nbf: Some(nbf as f64),
      iat: Some(iat as f64),
      jti: Some(Cow::Borrowed(jti)),
      sid: Some(Cow::Borrowed(sid)),
      dv: Some(dv),
      extra: Map::new(),
    })
  }

  fn lit(&mut self, s: &[u8]) -> Option<()> {
    let end = self.i.checked_add(s.len())?;
    (self.b.get(self.i..end)? == s).then(|| self.i = end)
  }

  /// `"…"` with no escape, no control character, valid UTF-8, at most MAX_CLAIM_STRING.
  fn string(&mut self) -> Option<&'a str> {
    self.lit(b"\"")?;
    let rest = self.b.get(self.i..)?;
    let len = rest
      .iter()
      .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    if rest[len] != b'"' || len > MAX_CLAIM_STRING {
      return None;
    }
    let s = std::str::from_utf8(&rest[..len]).ok()?;
    self.i += len + 1;
    Some(s)
  }

  /// A JSON integer: `-?(0|[1-9][0-9]*)`, no fraction or exponent, within i64, and exact
  /// as an f64 (|n| < 2^53).
  fn int(&mut self) -> Option<i64> {
    let neg = self.b.get(self.i) == Some(&b'-');
    if neg {
      self.i += 1;
    }
    let n = i64::try_from(self.uint()?).ok()?;
    if n >= 1 << 53 {
      return None;
    }
    Some(if neg { -n } else { n })
  }

  /// `0|[1-9][0-9]*` within u64, not followed by `.`, `e` or `E`.
  fn uint(&mut self) -> Option<u64> {
    let rest = self.b.get(self.i..)?;
    let len = rest
      .iter()
      .position(|c| !c.is_ascii_digit())
      .unwrap_or(rest.len());
    if len == 0 || (len > 1 && rest[0] == b'0') || matches!(rest.get(len), Some(b'.' | b'e' | b'E'))
    {
      return None;
    }
    let mut n: u64 = 0;
    for &d in &rest[..len] {
      n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    self.i += len;
    Some(n)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::jwt::claims::NewClaims;

  fn canonical(extra: &Map<String, serde_json::Value>) -> Result<Vec<u8>> {
    NewClaims {
      iss: "tandem-session",
      sub: "alice ünïcode",
      aud: "tandem-session",
      exp: 1_795_312_868,
      nbf: 1_795_311_968,
      iat: 1_795_311_968,
      jti: "d7n5-9UjCsSX-3lAnXwrvQ",
      sid: "dDal7E0ERdm0xyinLH2v3w",
      dv: 42,
      extra,
    }
    .to_json()
  }

  #[test]
  fn what_we_write_takes_the_fast_path_and_agrees_with_the_strict_parser() -> Result<()> {
    let mut extra = Map::new();
    for e in [Map::new(), {
      extra.insert(
        "role".into(),
        serde_json::json!({"a": [1, 2.5, "x\"y"], "b": null}),
      );
      extra.clone()
    }] {
      let bytes = canonical(&e)?;
      let fast = parse(&bytes)?;
      assert!(fast.is_some(), "{}", String::from_utf8_lossy(&bytes));
      assert_eq!(fast, Some(Claims::parse_strict(&bytes)?));
    }
    Ok(())
  }

  #[test]
  fn any_deviation_falls_back() -> Result<()> {
    for text in [
      r#"{"iss":"a","sub":"b\u0041","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a","sub":"b","aud":"c","exp":1.5,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a","sub":"b","aud":"c","exp":1e3,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a","sub":"b","aud":"c","exp":01,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a","sub":"b","aud":"c","exp":99999999999999999999,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a","sub":"b","aud":["c"],"exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a", "sub":"b","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
      r#"{"iss":"a","sub":"b","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":-1}"#,
      r#"{"iss":"a","sub":"b","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0} "#,
      "{\"iss\":\"a\tb\",\"sub\":\"b\",\"aud\":\"c\",\"exp\":1,\"nbf\":1,\"iat\":1,\"jti\":\"j\",\"sid\":\"s\",\"dv\":0}",
      r#"{"sub":"b","iss":"a","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}"#,
    ] {
      assert!(parse(text.as_bytes())?.is_none(), "{text}");
    }
    let long = format!(
      r#"{{"iss":"a","sub":"{}","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0}}"#,
      "u".repeat(MAX_CLAIM_STRING + 1)
    );
    assert!(parse(long.as_bytes())?.is_none());
    assert!(parse(&[0xff, 0xfe])?.is_none());
    Ok(())
  }

  #[test]
  fn a_registered_name_or_proto_among_the_app_claims_is_an_error() {
    for tail in [
      r#","sub":"admin"}"#,
      r#","\u0073ub":"admin"}"#,
      r#","x":1,"x":2}"#,
      r#","__proto__":{}}"#,
      r#","x":1"#,
    ] {
      let text = format!(
        r#"{{"iss":"a","sub":"b","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0{tail}"#
      );
      assert!(parse(text.as_bytes()).is_err(), "{text}");
    }
  }

  #[test]
  fn a_comma_with_no_member_after_it_is_left_to_the_strict_parser() -> Result<()> {
    for (tail, valid) in [(",}", false), (",", false), (", \"x\":1}", true)] {
      let text = format!(
        r#"{{"iss":"a","sub":"b","aud":"c","exp":1,"nbf":1,"iat":1,"jti":"j","sid":"s","dv":0{tail}"#
      );
      assert!(parse(text.as_bytes())?.is_none(), "{text}");
      assert_eq!(Claims::parse(text.as_bytes()).is_ok(), valid, "{text}");
    }
    Ok(())
  }

  #[test]
  fn negative_and_zero_integers_are_read_exactly() -> Result<()> {
    let text = br#"{"iss":"a","sub":"b","aud":"c","exp":-5,"nbf":0,"iat":9007199254740991,"jti":"j","sid":"s","dv":18446744073709551615}"#;
    let c = parse(text)?.ok_or_else(|| err(ErrorKind::Internal, "fast path refused"))?;
    assert_eq!(
      (c.exp, c.nbf, c.iat, c.dv),
      (
        Some(-5.0),
        Some(0.0),
        Some(9007199254740991.0),
        Some(u64::MAX)
      )
    );
    assert_eq!(Some(c), Some(Claims::parse_strict(text)?));
    Ok(())
  }
}
