//! The bridge store as JS sees it: `openBridgeStore(call)` runs the bridge (`store::bridge`)
//! over a JS function `call([op, key, json])` → `Promise<json | null>`, where `op` is `'get'`,
//! `'set'` or `'destroy'` and values travel as JSON text. `js/compat/bridge.js` makes that
//! function from an express-session store object (callbacks, promises, synchronous stores).
//!
//! Guarantees: a rejected or thrown call is `STORE_UNAVAILABLE` with a fixed message (the
//! store's own error text never reaches ours); text that does not parse is `STORE_CORRUPT`.
//! The function does not keep Node's event loop alive (weak), as a socket of the app's own
//! store would not.

use std::sync::Arc;

use async_trait::async_trait;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;
use serde_json::Value;

use crate::error::Result;
use crate::napi::store::NapiStore;
use crate::store::bridge::{BridgeStore, KeyValue};
use crate::store::row::{corrupt, unavailable};

type Args = (String, String, Option<String>);
/// `call(op, key, json)`, not holding the event loop open.
type Call = ThreadsafeFunction<Args, Promise<Option<String>>, Args, Status, false, true>;

struct JsKeyValue {
  call: Call,
}

impl JsKeyValue {
  async fn ask(&self, op: &str, key: &str, value: Option<String>) -> Result<Option<String>> {
    let pending = self
      .call
      .call_async_catch((op.to_owned(), key.to_owned(), value))
      .await
      .map_err(|_| unavailable("the app's session store could not be called"))?;
    pending
      .await
      .map_err(|_| unavailable("the app's session store failed"))
  }
}

#[async_trait]
impl KeyValue for JsKeyValue {
  async fn get(&self, key: &str) -> Result<Option<Value>> {
    match self.ask("get", key, None).await? {
      None => Ok(None),
      Some(text) => serde_json::from_str(&text).map(Some).map_err(|_| corrupt()),
    }
  }

  async fn set(&self, key: &str, value: &Value) -> Result<()> {
    self
      .ask("set", key, Some(value.to_string()))
      .await
      .map(|_| ())
  }

  async fn destroy(&self, key: &str) -> Result<()> {
    self.ask("destroy", key, None).await.map(|_| ())
  }

  async fn touch(&self, key: &str, value: &Value) -> Result<()> {
    self
      .ask("touch", key, Some(value.to_string()))
      .await
      .map(|_| ())
  }
}

/// A store that keeps sessions in an app's express-session store, through `call`.
#[napi(
  ts_args_type = "call: (args: [op: 'get' | 'set' | 'destroy' | 'touch', key: string, json: string | null]) => Promise<string | null>",
  ts_return_type = "NativeStore"
)]
pub fn open_bridge_store(call: Call) -> NapiStore {
  NapiStore {
    store: Arc::new(BridgeStore::new(JsKeyValue { call })),
  }
}
