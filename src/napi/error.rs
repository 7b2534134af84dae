//! Core errors → JS errors: the one place the mapping happens, for sync and async calls.
//!
//! Guarantees: every binding call that fails gives JS an `Error` whose `code` is set here,
//! natively, to the core's stable code (`TOKEN_EXPIRED`, `CONFIG_INVALID`, …), and whose
//! message is the core's fixed, secret-free text (`"CODE: detail"`, or for a bad option a
//! sentence naming the option). JS never parses a message to find the code.
//! - Sync calls return `napi::Result<T, Code>`: napi-rs throws with `code` = [`Code`].
//! - Async calls go through [`promise`]: napi-rs's own `async fn` can only reject with its
//!   `Status` as the code (`GenericFailure`), so the work runs on the runtime and its
//!   error is turned into the JS error on the JS thread, where the code can be set.
//!
//! Not here: the hot path's verify results, which are data (a packed `-CODE,detail`
//! string, see `packed.rs`), because a bad token is an answer, not a failure.

use std::future::Future;

use napi::bindgen_prelude::{PromiseRaw, ToNapiValue};
use napi::{Env, JsError};

use crate::error::Error;

/// A stable error code, as napi's error status: napi-rs writes it into `err.code`.
#[derive(Debug, Clone, Copy)]
pub struct Code(pub &'static str);

impl AsRef<str> for Code {
  fn as_ref(&self) -> &str {
    self.0
  }
}

/// The binding's result: a failure is a JS error with `code`.
pub type Result<T> = napi::Result<T, Code>;

/// A core error as a JS error: `code` its stable code, the message its fixed text.
impl From<Error> for napi::Error<Code> {
  fn from(e: Error) -> Self {
    napi::Error::new(Code(e.code()), e.to_string())
  }
}

/// Map a core error to a JS error with `code` (for `map_err`).
pub fn to_js(e: Error) -> napi::Error<Code> {
  e.into()
}

/// A `CONFIG_INVALID` error for a bad option; `message` names the option.
pub fn bad_option(message: &str) -> napi::Error<Code> {
  napi::Error::new(Code("CONFIG_INVALID"), message.to_owned())
}

/// A promise for `work`, run on the binding's tokio runtime: it resolves to the value, or
/// rejects with a JS `Error` whose `code` is set as a sync call's would be.
///
/// # Errors
/// Only when napi cannot create the promise.
pub fn promise<'env, V>(
  env: &'env Env,
  work: impl Future<Output = Result<V>> + Send + 'static,
) -> napi::Result<PromiseRaw<'env, V>>
where
  V: ToNapiValue + Send + 'static,
{
  env.spawn_future_with_callback(async move { Ok(work.await) }, |env, out| {
    // On the JS thread: a JS error object made here is the rejection value itself.
    out.map_err(|e| napi::Error::from(JsError::from(e).into_unknown(*env)))
  })
}
