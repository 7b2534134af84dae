//! Shared pieces of the stores' record forms: the text form of a device (JSON, one field
//! of a Redis session hash), [`apply_patch`], the one meaning of a data patch (memory
//! and SQLite apply it in Rust; PostgreSQL and Redis apply the same rule in SQL and Lua),
//! and [`data_size`], the one measure of session data that `maxDataBytes` limits.
//!
//! Guarantees: `decode_device(&encode_device(d)) == Ok(d)`; anything else that does not
//! decode is `STORE_CORRUPT` (with a fixed message: a device's content never appears in
//! an error). [`apply_patch_within`] leaves the data as it was when it refuses.
//!
//! Not provided: a text form of a whole record. Each store keeps a record in its own
//! columns or fields, read back through `store::row`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{err, ErrorKind, Result};
use crate::session::DeviceInfo;
use crate::store::row::corrupt;
use crate::store::DataPatch;

/// A device in text form.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct WireDevice {
  /// IP.
  pub ip: Option<String>,
  /// User agent.
  pub user_agent: Option<String>,
}

impl From<&DeviceInfo> for WireDevice {
  fn from(d: &DeviceInfo) -> Self {
    Self {
      ip: d.ip.clone(),
      user_agent: d.user_agent.clone(),
    }
  }
}

impl From<WireDevice> for DeviceInfo {
  fn from(d: WireDevice) -> Self {
    Self {
      ip: d.ip,
      user_agent: d.user_agent,
    }
  }
}

/// A device as JSON text.
pub fn encode_device(d: &DeviceInfo) -> String {
  serde_json::to_string(&WireDevice::from(d)).unwrap_or_default()
}

/// A device from JSON text.
///
/// # Errors
/// `STORE_CORRUPT`.
pub fn decode_device(text: &str) -> Result<DeviceInfo> {
  serde_json::from_str::<WireDevice>(text)
    .map(DeviceInfo::from)
    .map_err(|_| corrupt())
}

/// Apply a data patch to `data` in place.
pub fn apply_patch(data: &mut Map<String, Value>, patch: &DataPatch) {
  for (k, v) in patch {
    match v {
      Some(v) => {
        data.insert(k.clone(), v.clone());
      }
      None => {
        data.remove(k);
      }
    }
  }
}

/// The size of session data as `maxDataBytes` counts it: the UTF-8 bytes of every key
/// plus the bytes of its value as compact JSON (what Redis keeps, a field per key; the
/// JSON object text adds 4 bytes per key and 1). PostgreSQL counts a value by the text
/// of its `jsonb`, which has a space after each `:` and `,` inside nested values.
pub fn data_size(data: &Map<String, Value>) -> usize {
  data.iter().map(|(k, v)| k.len() + json_len(v)).sum()
}

/// The length of `v` as compact JSON, counted without building the text.
fn json_len(v: &Value) -> usize {
  struct Count(usize);
  impl std::io::Write for Count {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
      self.0 += b.len();
      Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
      Ok(())
    }
  }
  let mut c = Count(0);
  // Serialising a `Value` into a writer that never fails cannot fail.
  let _ = serde_json::to_writer(&mut c, v);
  c.0
}

/// The error of a write refused by `maxDataBytes`.
pub const fn too_large() -> crate::error::Error {
  err(
    ErrorKind::DataTooLarge,
    "the session data would exceed maxDataBytes; nothing was written",
  )
}

/// Apply `patch` to `data` unless it makes the data larger than `max_bytes` (by
/// [`data_size`]) and larger than it was: then `data` is left as it was.
///
/// # Errors
/// `DATA_TOO_LARGE`.
pub fn apply_patch_within(
  data: &mut Map<String, Value>,
  patch: &DataPatch,
  max_bytes: usize,
) -> Result<()> {
  let mut undo = Vec::with_capacity(patch.len());
  for (k, v) in patch {
    let old = match v {
      Some(v) => data.insert(k.clone(), v.clone()),
      None => data.remove(k),
    };
    undo.push((k, old));
  }
  let new = data_size(data);
  if new <= max_bytes {
    return Ok(());
  }
  for (k, old) in undo.into_iter().rev() {
    match old {
      Some(v) => data.insert(k.clone(), v),
      None => data.remove(k),
    };
  }
  if new <= data_size(data) {
    // A write that shrinks (or keeps) oversized data is allowed: it is applied again.
    apply_patch(data, patch);
    return Ok(());
  }
  Err(too_large())
}

#[cfg(test)]
mod tests {
  use super::*;
  use serde_json::json;

  #[test]
  fn a_device_round_trips_through_its_text() -> Result<()> {
    for d in [
      DeviceInfo::default(),
      DeviceInfo {
        ip: Some("203.0.113.7".into()),
        user_agent: Some("curl/8 \"quoted\"".into()),
      },
    ] {
      assert_eq!(decode_device(&encode_device(&d))?, d);
    }
    Ok(())
  }

  #[test]
  fn garbage_is_store_corrupt() {
    for t in ["", "null", "[]", r#"{"ip":1}"#, r#"{"os":"x"}"#] {
      assert_eq!(
        decode_device(t).err().map(|e| e.kind()),
        Some(ErrorKind::StoreCorrupt),
        "{t}"
      );
    }
  }

  fn data(v: Value) -> Map<String, Value> {
    match v {
      Value::Object(m) => m,
      _ => Map::new(),
    }
  }

  #[test]
  fn the_size_is_the_keys_and_the_values_as_json() {
    assert_eq!(data_size(&Map::new()), 0);
    // "a" + 1, "bé" (3 bytes) + "\"x\"" (3), "c" + [1,{"d":null}] (14)
    let d = data(json!({"a": 1, "bé": "x", "c": [1, {"d": null}]}));
    assert_eq!(data_size(&d), 1 + 1 + 3 + 3 + 1 + 14);
  }

  #[test]
  fn a_patch_past_the_limit_changes_nothing_and_one_that_shrinks_always_applies() {
    let mut d = data(json!({"keep": "v", "big": "0123456789"}));
    let before = d.clone();
    let grow: Vec<(String, Option<Value>)> = vec![
      ("big".into(), None),
      ("keep".into(), Some(json!("x".repeat(40)))),
      ("new".into(), Some(json!(1))),
    ];
    let e = apply_patch_within(&mut d, &grow, 30)
      .err()
      .map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::DataTooLarge));
    assert_eq!(d, before, "a refused patch is undone, deletes included");
    // 4 + 3 + 3 + 12 = 22 bytes: over a limit of 10, but smaller than before.
    let shrink: Vec<(String, Option<Value>)> = vec![("big".into(), Some(json!("0")))];
    assert_eq!(apply_patch_within(&mut d, &shrink, 10), Ok(()));
    assert_eq!(d, data(json!({"keep": "v", "big": "0"})));
    let fits: Vec<(String, Option<Value>)> = vec![("k".into(), Some(json!("x".repeat(5))))];
    assert_eq!(apply_patch_within(&mut d, &fits, 100), Ok(()));
    assert_eq!(data_size(&d), 7 + 6 + 8);
  }
}
