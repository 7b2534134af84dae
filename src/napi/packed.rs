//! The hot path's packed result: a verify answer as one string, because building a JS
//! object property by property through napi costs about 1 µs, more than the verify itself.
//! Its reader, the JS twin of this module, is `js/packed.js` (`requestResult`,
//! `tokenResult`); `packedVectors` below feeds `tests/node/packed.test.js`, which checks
//! that the reader gives back exactly what this writer was given, so the two cannot drift.
//!
//! Format:
//! - valid: `+` source (`c` cookie, `h` header) owner (`u` a user's, `a` an anonymous
//!   session's: `session::owner`) exp `,` iat `,` dv `,` sid `,` jti `,` kid
//!   `,` n `,` sub claims — where sid, jti and kid are base64url (no commas), n is the
//!   length of sub in UTF-16 code units, and claims is the app claims as JSON (serde_json's
//!   canonical output of the strictly parsed, duplicate-free claims) or nothing;
//! - not valid: `-` code `,` detail (`NO_TOKEN` when the request carries none). This is a
//!   result, not a thrown error: a bad token is an answer of the verify.
//!
//! Guarantees: numbers read back exactly with JS's `+text`; the string is ASCII (a one-byte
//! JS string) unless sub or the claims hold non-ASCII text. Not checked here: that sid, jti
//! and kid hold no comma (the verify only accepts base64url there).

use std::fmt::Write as _;

use napi::bindgen_prelude::{Either, Latin1String};
use napi_derive::napi;
use serde_json::{json, Map, Value};

use crate::credentials::Source;
use crate::error::{Error, ErrorKind};
use crate::jwt::access::ClaimsView;
use crate::session::owner::{is_anonymous, public_user_id};

/// The packed answer for a request that carries no access token.
pub const NO_TOKEN: &str = "-NO_TOKEN,";

/// A packed valid result.
pub fn pack(c: ClaimsView<'_>, source: Source) -> String {
  let mut out = String::with_capacity(96 + c.sub.len() + c.sid.len() + c.jti.len());
  out.push('+');
  out.push(match source {
    Source::Cookie => 'c',
    Source::Header => 'h',
  });
  out.push(if is_anonymous(c.sub) { 'a' } else { 'u' });
  push_number(&mut out, c.exp);
  out.push(',');
  push_number(&mut out, c.iat);
  out.push(',');
  push_u64(&mut out, c.dv);
  for field in [c.sid, c.jti, c.kid] {
    out.push(',');
    out.push_str(field);
  }
  out.push(',');
  push_u64(&mut out, c.sub.encode_utf16().count() as u64);
  out.push(',');
  out.push_str(c.sub);
  if !c.claims.is_empty() {
    if let Ok(json) = serde_json::to_string(c.claims) {
      out.push_str(&json);
    }
  }
  out
}

/// A packed refusal: code and fixed detail (never input bytes).
pub fn pack_error(e: &Error) -> String {
  format!("-{},{}", e.code(), e.detail())
}

/// The packed result as a JS string: a one-byte (latin1) JS string when it is ASCII, which
/// V8 creates with a copy, else a UTF-8 one.
pub fn finish(s: String) -> Either<Latin1String, String> {
  if s.is_ascii() {
    Either::A(Latin1String::from(s))
  } else {
    Either::B(s)
  }
}

/// A NumericDate as JS reads it back with `+text`: whole seconds as integers (the usual
/// case, and cheaper to format), anything else in Rust's shortest round-trip form.
fn push_number(out: &mut String, v: f64) {
  if v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
    if v < 0.0 {
      out.push('-');
    }
    push_u64(out, v.abs() as u64);
  } else {
    // Writing into a String cannot fail.
    let _ = write!(out, "{v}");
  }
}

fn push_u64(out: &mut String, mut n: u64) {
  let mut buf = [0u8; 20];
  let mut i = buf.len();
  loop {
    i -= 1;
    buf[i] = b'0' + (n % 10) as u8;
    n /= 10;
    if n == 0 {
      break;
    }
  }
  // Only ASCII digits were written, so this is always valid UTF-8.
  out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

/// Test vectors of the packed format, made by this writer: `[{packed, expected}]`, where
/// `expected` is what `js/packed.js` `requestResult(packed)` must return. Edge cases:
/// commas, quotes and astral characters in sub, fractional, negative and huge times, the
/// largest exact data version, nested and non-ASCII claims, and refusals.
#[napi]
pub fn packed_vectors() -> Value {
  let mut nested = Map::new();
  nested.insert("role".into(), json!("editor, \"chief\""));
  nested.insert("n".into(), json!([1, 2.5, -3, null, true, {"deep": "é"}]));
  nested.insert("emoji".into(), json!("🔑"));
  let none = Map::new();
  let long = "x".repeat(300);
  let valid: [(ClaimsView<'_>, Source); 6] = [
    (
      view("alice", 1_780_000_900.0, 1_780_000_000.0, 0, &none),
      Source::Cookie,
    ),
    (view("a,b,\"c\"", 1.5, -1.0, 7, &nested), Source::Header),
    (
      view(
        "🧑‍💻 ünïcödé",
        9_007_199_254_740_993.0,
        0.0,
        9_007_199_254_740_991,
        &none,
      ),
      Source::Cookie,
    ),
    (view("", 1e300, -0.25, 1, &nested), Source::Header),
    (
      view(&long, 2_000_000_000.0, 1_999_999_000.0, 42, &nested),
      Source::Cookie,
    ),
    (
      view(
        "~anon:YW5vbnltb3VzLXNlc3Npb24",
        1_780_000_900.0,
        1_780_000_000.0,
        3,
        &none,
      ),
      Source::Cookie,
    ),
  ];
  let mut out: Vec<Value> = valid
    .iter()
    .map(|(c, source)| {
      let mut claims = json!({
        "sub": c.sub, "sid": c.sid, "jti": c.jti, "iat": c.iat, "exp": c.exp, "dv": c.dv,
        "kid": c.kid, "userId": public_user_id(c.sub),
      });
      if !c.claims.is_empty() {
        claims["claims"] = Value::Object(c.claims.clone());
      }
      let name = match source {
        Source::Cookie => "cookie",
        Source::Header => "header",
      };
      json!({ "packed": pack(*c, *source), "expected": { "ok": true, "source": name, "claims": claims } })
    })
    .collect();
  for kind in [
    ErrorKind::TokenExpired,
    ErrorKind::SessionRevoked,
    ErrorKind::CredentialsAmbiguous,
  ] {
    let e = Error::new(kind, "a fixed detail, with a comma");
    out.push(json!({ "packed": pack_error(&e), "expected": { "ok": false, "code": e.code() } }));
  }
  out.push(json!({ "packed": NO_TOKEN, "expected": { "ok": false, "code": "NO_TOKEN" } }));
  Value::Array(out)
}

fn view<'a>(
  sub: &'a str,
  exp: f64,
  iat: f64,
  dv: u64,
  claims: &'a Map<String, Value>,
) -> ClaimsView<'a> {
  ClaimsView {
    sub,
    sid: "c2Vzc2lvbi1oYW5kbGUtMDE",
    jti: "anRpLTAx",
    iat,
    exp,
    dv,
    kid: "a2lkLTAx_-",
    claims,
  }
}
