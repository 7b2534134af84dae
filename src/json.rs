//! Strict JSON for token headers and claims (RFC 8259, RFC 7515 §4, RFC 7519 §4).
//!
//! Guarantees:
//! - a duplicate member name is an error at *every* depth, compared after unescaping,
//!   so `{"sub":"a","\u0073ub":"b"}` is rejected (JavaScript's `JSON.parse` would keep
//!   the last one; we refuse, so Rust and JS can never disagree about a claim);
//! - numbers outside f64 (`1e400`), `NaN`, comments, trailing commas, single quotes, a
//!   BOM, invalid UTF-8 and lone surrogates are errors (serde_json's strict grammar);
//! - a member named `__proto__` is an error at every depth: JavaScript would read it as the
//!   object's prototype, not as data, so Rust and JS would disagree about the claims;
//! - numbers keep their exact value (serde_json's `float_roundtrip`);
//! - nesting deeper than serde_json's recursion limit (128) is an error, not a stack
//!   overflow; objects and arrays hold at most [`MAX_MEMBERS`] entries each.
//!
//! Not guaranteed: anything about sizes; callers bound the input length first.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Number, Value};

/// The one member name refused everywhere (see the module documentation).
pub const PROTO: &str = "__proto__";

/// Most members of one object, or items of one array, that a token may carry.
pub const MAX_MEMBERS: usize = 256;

/// A JSON value parsed with duplicate names rejected at every depth.
#[derive(Debug, Clone, PartialEq)]
pub struct StrictValue(pub Value);

impl<'de> Deserialize<'de> for StrictValue {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    d.deserialize_any(StrictVisitor).map(StrictValue)
  }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
  type Value = Value;

  fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("a JSON value")
  }
  fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
    Ok(Value::Bool(v))
  }
  fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
    Ok(Value::Number(v.into()))
  }
  fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
    Ok(Value::Number(v.into()))
  }
  fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
    Number::from_f64(v)
      .map(Value::Number)
      .ok_or_else(|| E::custom("non-finite number"))
  }
  fn visit_str<E>(self, v: &str) -> Result<Value, E> {
    Ok(Value::String(v.to_owned()))
  }
  fn visit_string<E>(self, v: String) -> Result<Value, E> {
    Ok(Value::String(v))
  }
  fn visit_unit<E>(self) -> Result<Value, E> {
    Ok(Value::Null)
  }
  fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
    let mut out = Vec::new();
    while let Some(StrictValue(v)) = seq.next_element()? {
      if out.len() == MAX_MEMBERS {
        return Err(de::Error::custom("too many array items"));
      }
      out.push(v);
    }
    Ok(Value::Array(out))
  }
  fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
    let mut out = Map::new();
    while let Some(key) = map.next_key::<String>()? {
      if out.len() == MAX_MEMBERS {
        return Err(de::Error::custom("too many object members"));
      }
      if out.contains_key(&key) {
        return Err(de::Error::custom("duplicate member name"));
      }
      if key == PROTO {
        return Err(de::Error::custom("__proto__ member"));
      }
      let StrictValue(v) = map.next_value()?;
      out.insert(key, v);
    }
    Ok(Value::Object(out))
  }
}

/// A member name, matched against a fixed list without allocating; names that are not on
/// the list are kept (owned) so duplicates among them can be detected too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name<const N: usize> {
  /// The name at this index of the list.
  Known(usize),
  /// Any other name.
  Other(String),
}

/// Deserialize seed that reads a member name and classifies it against `list`.
pub struct NameSeed<const N: usize>(pub &'static [&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for NameSeed<N> {
  type Value = Name<N>;
  fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Name<N>, D::Error> {
    d.deserialize_str(self)
  }
}

impl<'de, const N: usize> Visitor<'de> for NameSeed<N> {
  type Value = Name<N>;
  fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.write_str("a member name")
  }
  fn visit_str<E>(self, v: &str) -> Result<Name<N>, E> {
    Ok(match self.0.iter().position(|k| *k == v) {
      Some(i) => Name::Known(i),
      None => Name::Other(v.to_owned()),
    })
  }
}

/// Tracks the names seen in one object and rejects a repeat.
#[derive(Default)]
pub struct SeenNames {
  known: u64,
  other: Vec<String>,
}

impl SeenNames {
  /// Record `name`; an error when it was seen before or the object has too many members.
  pub fn insert<E: de::Error, const N: usize>(&mut self, name: &Name<N>) -> Result<(), E> {
    match name {
      Name::Known(i) => {
        let bit = 1u64 << i;
        if self.known & bit != 0 {
          return Err(E::custom("duplicate member name"));
        }
        self.known |= bit;
      }
      Name::Other(s) => {
        if s == PROTO {
          return Err(E::custom("__proto__ member"));
        }
        if self.other.len() >= MAX_MEMBERS {
          return Err(E::custom("too many object members"));
        }
        if self.other.iter().any(|o| o == s) {
          return Err(E::custom("duplicate member name"));
        }
        self.other.push(s.clone());
      }
    }
    Ok(())
  }
}

/// A JWT NumericDate (RFC 7519 §2): a JSON number, integer or fraction, finite. A string,
/// boolean, null or object is an error, never "absent" (the CVE-2026-25537 class).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct NumericDate(pub f64);

impl<'de> Deserialize<'de> for NumericDate {
  fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
    struct V;
    impl Visitor<'_> for V {
      type Value = NumericDate;
      fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a NumericDate")
      }
      fn visit_i64<E>(self, v: i64) -> Result<NumericDate, E> {
        Ok(NumericDate(v as f64))
      }
      fn visit_u64<E>(self, v: u64) -> Result<NumericDate, E> {
        Ok(NumericDate(v as f64))
      }
      fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
        if v.is_finite() {
          Ok(NumericDate(v))
        } else {
          Err(E::custom("non-finite NumericDate"))
        }
      }
    }
    d.deserialize_any(V)
  }
}

/// Parse `bytes` as exactly one value of `T`, nothing after it but whitespace.
///
/// # Errors
/// The serde_json error; callers map it to a fixed code (its text is never shown).
pub fn from_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
  let mut de = serde_json::Deserializer::from_slice(bytes);
  let v = T::deserialize(&mut de)?;
  de.end()?;
  Ok(v)
}

#[cfg(test)]
mod tests {
  use super::*;

  fn strict(s: &str) -> bool {
    from_slice::<StrictValue>(s.as_bytes()).is_ok()
  }

  #[test]
  fn rejects_duplicates_at_any_depth_and_after_unescaping() {
    assert!(strict(r#"{"a":1,"b":{"c":[{"d":1,"e":2}]}}"#));
    assert!(!strict(r#"{"a":1,"a":2}"#));
    assert!(!strict(r#"{"sub":"a","\u0073ub":"b"}"#));
    assert!(!strict(r#"{"x":{"y":[{"d":1,"d":2}]}}"#));
  }

  #[test]
  fn rejects_what_rfc_8259_rejects() {
    for bad in [
      "\u{feff}{}",
      "{} x",
      "{/*c*/}",
      "{\"a\":1,}",
      "{'a':1}",
      "{\"a\":NaN}",
      "{\"a\":Infinity}",
      "{\"a\":1e400}",
      "{\"a\":\"\\ud800\"}",
    ] {
      assert!(!strict(bad), "{bad:?}");
    }
    assert!(from_slice::<StrictValue>(b"{\"a\":\"\xc0\xaf\"}").is_err());
  }

  #[test]
  fn proto_members_are_refused_at_any_depth() {
    assert!(!strict(r#"{"__proto__":{"isAdmin":true}}"#));
    assert!(!strict(r#"{"a":[{"__proto__":1}]}"#));
    assert!(!strict(r#"{"\u005f_proto__":1}"#));
    assert!(strict(r#"{"proto":1,"constructor":2}"#));
  }

  #[test]
  fn large_integers_and_floats_keep_their_exact_value() -> serde_json::Result<()> {
    let v: StrictValue = from_slice(b"[3780219819394602.0,0.22056839559196462,9007199254740991]")?;
    assert_eq!(v.0[0].as_f64(), Some(3780219819394602.0));
    assert_eq!(v.0[1].as_f64(), Some(0.22056839559196462));
    assert_eq!(v.0[2].as_u64(), Some(9007199254740991));
    Ok(())
  }

  #[test]
  fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(!strict(&deep));
  }

  #[test]
  fn numeric_date_accepts_numbers_only() {
    assert_eq!(
      from_slice::<NumericDate>(b"1300819380").ok(),
      Some(NumericDate(1300819380.0))
    );
    assert_eq!(
      from_slice::<NumericDate>(b"1.5").ok(),
      Some(NumericDate(1.5))
    );
    for bad in ["\"9999999999\"", "null", "true", "{}", "[]", "1e400"] {
      assert!(from_slice::<NumericDate>(bad.as_bytes()).is_err(), "{bad}");
    }
  }
}
