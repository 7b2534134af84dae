//! Shared pieces of the stores' record forms: the text form of a device (JSON, one field
//! of a Redis session hash), and [`apply_patch`], the one meaning of a data patch (memory
//! and SQLite apply it in Rust; PostgreSQL and Redis apply the same rule in SQL and Lua).
//!
//! Guarantees: `decode_device(&encode_device(d)) == Ok(d)`; anything else that does not
//! decode is `STORE_CORRUPT` (with a fixed message: a device's content never appears in
//! an error).
//!
//! Not provided: a text form of a whole record. Each store keeps a record in its own
//! columns or fields, read back through `store::row`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::Result;
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

#[cfg(test)]
mod tests {
  use super::*;
  use crate::error::ErrorKind;

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
}
