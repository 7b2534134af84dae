//! Core errors → JS errors: `err.code` is the core's stable code (`TOKEN_EXPIRED`, …) and
//! the message its fixed, secret-free text. This is the one place the mapping happens.

use crate::error::Error;

/// A stable error code, as napi's error status.
#[derive(Debug, Clone, Copy)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
  fn as_ref(&self) -> &str {
    self.0
  }
}

/// Map a core error to a JS error with `code`.
pub fn to_js(e: Error) -> napi::Error<Code> {
  napi::Error::new(Code(e.code()), e.to_string())
}

/// A `CONFIG_INVALID` error for a bad option, naming it.
pub fn bad_option(message: &str) -> napi::Error<Code> {
  napi::Error::new(Code("CONFIG_INVALID"), message.to_owned())
}

/// For async functions, whose errors napi-rs creates with its own status: the message
/// starts with the stable code (`"TOKEN_EXPIRED: …"`), and `js/native.js` copies it into
/// `err.code`, so JS sees the same errors from sync and async calls.
pub fn to_js_async(e: napi::Error<Code>) -> napi::Error {
  let code = e.status.0;
  let reason = if e.reason.starts_with(code) {
    e.reason.clone()
  } else {
    format!("{code}: {}", e.reason)
  };
  napi::Error::new(napi::Status::GenericFailure, reason)
}

/// A core error, for async functions (see [`to_js_async`]).
pub fn core_to_js_async(e: Error) -> napi::Error {
  to_js_async(to_js(e))
}
