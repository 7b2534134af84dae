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

use napi::bindgen_prelude::Utf16String;
use napi_derive::napi;

use crate::credentials::Source;
use crate::error::Error;
use crate::jwt::AccessClaims;
use crate::napi::registry;

/// Verify the access token of a request (its Cookie and Authorization headers), packed.
#[napi(catch_unwind)]
pub fn verify_request_packed(
  core: u32,
  cookie_header: Option<Utf16String>,
  authorization: Option<Utf16String>,
) -> String {
  let cookie = cookie_header.as_deref().map(narrow);
  let auth = authorization.as_deref().map(narrow);
  registry::with(core, |r| {
    match r
      .service
      .verify_request(cookie.as_deref(), auth.as_deref(), &r.cookie_name)
    {
      Ok(Some((claims, source))) => pack(&claims, source),
      Ok(None) => "-NO_TOKEN,".to_owned(),
      Err(e) => pack_error(&e),
    }
  })
  .unwrap_or_else(|| "-INTERNAL,no such core".to_owned())
}

/// Verify one access token, packed (`source` is `h`).
#[napi(catch_unwind)]
pub fn verify_access_token_packed(core: u32, token: Utf16String) -> String {
  let token = narrow(&token);
  registry::with(core, |r| match r.service.verify_access(&token) {
    Ok(claims) => pack(&claims, Source::Header),
    Err(e) => pack_error(&e),
  })
  .unwrap_or_else(|| "-INTERNAL,no such core".to_owned())
}

fn narrow(units: &[u16]) -> Vec<u8> {
  units
    .iter()
    .map(|&c| if c < 0x80 { c as u8 } else { 0xFF })
    .collect()
}

fn pack(c: &AccessClaims, source: Source) -> String {
  let mut out = String::with_capacity(96 + c.sub.len() + c.sid.len() + c.jti.len());
  out.push('+');
  out.push(match source {
    Source::Cookie => 'c',
    Source::Header => 'h',
  });
  let sub_units = c.sub.encode_utf16().count();
  // Writing into a String cannot fail.
  let _ = write!(
    out,
    "{},{},{},{},{},{},{},{}",
    c.exp, c.iat, c.dv, c.sid, c.jti, c.kid, sub_units, c.sub
  );
  if !c.claims.is_empty() {
    if let Ok(json) = serde_json::to_string(&c.claims) {
      out.push_str(&json);
    }
  }
  out
}

fn pack_error(e: &Error) -> String {
  format!("-{},{}", e.code(), e.detail())
}
