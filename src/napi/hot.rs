//! The hot path: verifying a request's access token, one plain function call, no I/O.
//!
//! Inputs are taken as UTF-16 (`Utf16String`, a copy, cheaper than UTF-8 conversion) and
//! narrowed to bytes: ASCII stays, every other code unit becomes 0xFF. Tokens, cookie names
//! and separators are ASCII, so no non-ASCII character can ever turn into one of them (the
//! lossy "latin1" conversion could: U+0141 would read as `A`).
//!
//! The result is one string, packed, because building a JS object property by property
//! through napi costs about 1 µs, more than the verify itself. `js/token-core.js` unpacks
//! it. Format (keep in sync with `js/token-core.js`):
//!
//! - valid: `+` source (`c` cookie, `h` header) exp `,` iat `,` dv `,` sid `,` jti `,` kid
//!   `,` n `,` sub claims — where sid, jti and kid are base64url (no commas), n is the
//!   length of sub in UTF-16 code units, and claims is the app claims as JSON (serde_json's
//!   canonical output of the strictly parsed, duplicate-free claims) or nothing;
//! - not valid: `-` code `,` detail (`NO_TOKEN` when the request carries none).

use std::fmt::Write as _;

use napi::bindgen_prelude::{Either, Latin1String, Utf16String};
use napi_derive::napi;

use crate::credentials::Source;
use crate::error::Error;
use crate::jwt::access::ClaimsView;
use crate::napi::error::{to_js, Code};
use crate::napi::registry;

/// Verify the access token of a request (its Cookie and Authorization headers), packed.
/// `secure`: the request came over TLS, so the cookie is read under the core's secure
/// name (`__Host-…` for the middleware).
#[napi(catch_unwind)]
pub fn verify_request_packed(
  core: u32,
  cookie_header: Option<Utf16String>,
  authorization: Option<Utf16String>,
  secure: Option<bool>,
) -> Either<Latin1String, String> {
  let cookie = cookie_header.as_deref().map(narrow);
  let auth = authorization.as_deref().map(narrow);
  registry::with(core, |r| {
    match r.service.verify_request_with(
      cookie.as_deref(),
      auth.as_deref(),
      if secure == Some(true) {
        &r.secure_cookie_name
      } else {
        &r.cookie_name
      },
      |v, source| checked(r, v).map(|v| pack(v, source)),
    ) {
      Ok(Some(Ok(packed))) => packed,
      Ok(None) => "-NO_TOKEN,".to_owned(),
      Ok(Some(Err(e))) | Err(e) => pack_error(&e),
    }
  })
  .map_or_else(|| finish("-INTERNAL,no such core".to_owned()), finish)
}

/// The core's verdict epoch (`Engine::verdict_epoch`; the key rings installed, for a core
/// with no engine): a verify result is still the answer while this has not changed and
/// the token has not expired. -1 for an unknown core.
#[napi]
pub fn verdict_epoch(core: u32) -> f64 {
  registry::with(core, |r| match &r.engine {
    Some(e) => e.verdict_epoch(),
    None => r.service.ring_generation(),
  })
  .map_or(-1.0, |v| (v % (1 << 52)) as f64)
}

/// Verify one access token, packed (`source` is `h`).
#[napi(catch_unwind)]
pub fn verify_access_token_packed(core: u32, token: Utf16String) -> Either<Latin1String, String> {
  let token = narrow(&token);
  registry::with(core, |r| {
    match r
      .service
      .verify_access_with(&token, |v| checked(r, v).map(|v| pack(v, Source::Header)))
    {
      Ok(Ok(packed)) => packed,
      Ok(Err(e)) | Err(e) => pack_error(&e),
    }
  })
  .map_or_else(|| finish("-INTERNAL,no such core".to_owned()), finish)
}

/// The packed result: a one-byte (latin1) JS string when it is ASCII, which V8 creates
/// with a copy, else a UTF-8 one.
fn finish(s: String) -> Either<Latin1String, String> {
  if s.is_ascii() {
    Either::A(Latin1String::from(s))
  } else {
    Either::B(s)
  }
}

/// Refuse a verified token whose session the core's engine knows to be revoked.
fn checked<'a>(r: &registry::Registered, v: ClaimsView<'a>) -> Result<ClaimsView<'a>, Error> {
  match &r.engine {
    Some(e) => e.refuse_revoked(v.sid).map(|()| v),
    None => Ok(v),
  }
}

fn narrow(units: &[u16]) -> Vec<u8> {
  units
    .iter()
    .map(|&c| if c < 0x80 { c as u8 } else { 0xFF })
    .collect()
}

fn pack(c: ClaimsView<'_>, source: Source) -> String {
  let mut out = String::with_capacity(96 + c.sub.len() + c.sid.len() + c.jti.len());
  out.push('+');
  out.push(match source {
    Source::Cookie => 'c',
    Source::Header => 'h',
  });
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

fn pack_error(e: &Error) -> String {
  format!("-{},{}", e.code(), e.detail())
}

/// The value of cookie `name` in a `Cookie` header, read strictly (see `credentials`):
/// `null` when absent; throws `CREDENTIALS_AMBIGUOUS` when the name appears twice and
/// `TOKEN_MALFORMED` when the header is too long. The value is returned as sent (never
/// URL-decoded); the middleware reads its refresh cookie through this.
#[napi(catch_unwind)]
pub fn read_cookie(cookie_header: Utf16String, name: String) -> napi::Result<Option<String>, Code> {
  let header = narrow(&cookie_header);
  match crate::credentials::cookie(&header, &name) {
    // Only ASCII survives `narrow`; a value with 0xFF bytes held a non-ASCII character.
    Ok(Some(v)) if v.is_ascii() => Ok(Some(String::from_utf8_lossy(v).into_owned())),
    Ok(Some(_)) => Err(to_js(Error::new(
      crate::error::ErrorKind::TokenMalformed,
      "cookie value is not ASCII",
    ))),
    Ok(None) => Ok(None),
    Err(e) => Err(to_js(e)),
  }
}
