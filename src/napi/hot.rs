//! The hot path: verifying a request's access token, one plain function call, no I/O.
//!
//! Guarantees: the verify is the core's own (`Verify::verify_request_with` of the `Engine`,
//! or of the token service for a `TokenCore`), the one the Rust tests check; this file only converts
//! strings in and packs the answer out (format and its JS twin: `packed.rs`).
//!
//! Inputs are taken as UTF-16 (`Utf16String`, a copy, cheaper than UTF-8 conversion) and
//! narrowed to bytes: ASCII stays, every other code unit becomes 0xFF. Tokens, cookie names
//! and separators are ASCII, so no non-ASCII character can ever turn into one of them (the
//! lossy "latin1" conversion could: U+0141 would read as `A`).

use napi::bindgen_prelude::{Either, Latin1String, Utf16String};
use napi_derive::napi;

use crate::credentials::Source;
use crate::error::{Error, ErrorKind};
use crate::napi::error::Result;
use crate::napi::packed::{finish, pack, pack_error, NO_TOKEN};
use crate::napi::registry;
use crate::service::Verify;

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
    let name = if secure == Some(true) {
      &r.secure_cookie_name
    } else {
      &r.cookie_name
    };
    match r.verifier.verify_request_with(
      cookie.as_deref(),
      auth.as_deref(),
      name,
      r.cookie_shape,
      pack,
    ) {
      Ok(Some(packed)) => packed,
      Ok(None) => NO_TOKEN.to_owned(),
      Err(e) => pack_error(&e),
    }
  })
  .map_or_else(no_such_core, finish)
}

/// The core's verdict epoch (`Engine::verdict_epoch`; the key rings installed, for a core
/// with no engine): a verify result is still the answer while this has not changed and
/// the token has not expired. -1 for an unknown core.
#[napi]
pub fn verdict_epoch(core: u32) -> f64 {
  registry::with(core, |r| r.verifier.verdict_epoch()).map_or(-1.0, |v| (v % (1 << 52)) as f64)
}

/// Verify one access token, packed (`source` is `h`).
#[napi(catch_unwind)]
pub fn verify_access_token_packed(core: u32, token: Utf16String) -> Either<Latin1String, String> {
  let token = narrow(&token);
  registry::with(core, |r| {
    r.verifier
      .verify_access_with(&token, |c| pack(c, Source::Header))
      .unwrap_or_else(|e| pack_error(&e))
  })
  .map_or_else(no_such_core, finish)
}

fn no_such_core() -> Either<Latin1String, String> {
  finish(pack_error(&Error::new(ErrorKind::Internal, "no such core")))
}

fn narrow(units: &[u16]) -> Vec<u8> {
  units
    .iter()
    .map(|&c| if c < 0x80 { c as u8 } else { 0xFF })
    .collect()
}

/// The value of cookie `name` in a `Cookie` header, read strictly (see `credentials`):
/// `null` when absent; throws `CREDENTIALS_AMBIGUOUS` when the name appears twice and
/// `TOKEN_MALFORMED` when the header is too long or the value is not ASCII. The value is
/// returned as sent (never URL-decoded); `Engine#readCookie` in `js/engine.js` wraps it.
#[napi(catch_unwind)]
pub fn read_cookie(cookie_header: Utf16String, name: String) -> Result<Option<String>> {
  let header = narrow(&cookie_header);
  match crate::credentials::cookie(&header, &name)? {
    // Only ASCII survives `narrow`; a value with 0xFF bytes held a non-ASCII character.
    Some(v) if v.is_ascii() => Ok(Some(String::from_utf8_lossy(v).into_owned())),
    Some(_) => Err(Error::new(ErrorKind::TokenMalformed, "cookie value is not ASCII").into()),
    None => Ok(None),
  }
}

/// The session id of the express-session cookie `name` in a `Cookie` header, when it is
/// signed with one of `secrets` (see `token::legacy`); `null` for anything else (absent,
/// twice, too long, forged), never an error: a legacy cookie is only ever a chance to move
/// a user over.
#[napi(catch_unwind)]
pub fn legacy_session_id(
  cookie_header: Utf16String,
  name: String,
  secrets: Vec<String>,
) -> Option<String> {
  let header = narrow(&cookie_header);
  let value = crate::credentials::cookie(&header, &name).ok()??;
  let keys: Vec<&[u8]> = secrets.iter().map(String::as_bytes).collect();
  crate::token::legacy::unsign(value, &keys)
}
