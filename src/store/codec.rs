//! Shared pieces of the stores' record forms: the text form of a refresh state and of a
//! device (JSON with digests and salt in base64url, used by the Redis store's hash fields),
//! and [`apply_patch`], the one meaning of a data patch (memory and SQLite apply it in
//! Rust; PostgreSQL and Redis apply the same rule in SQL and Lua).
//!
//! Guarantees: `WireRefresh::from(r).decode() == Ok(r)` and
//! `decode_device(&encode_device(d)) == Ok(d)`; anything else that does not decode is
//! `STORE_CORRUPT` (with a fixed message: a record's content never appears in an error).
//! The forms hold digests only, never a refresh token.
//!
//! Not provided: a text form of a whole record. Each store keeps a record in its own
//! columns or fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::session::{DeviceInfo, RefreshState};
use crate::store::DataPatch;

/// The refresh state in text form.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WireRefresh {
  /// Generation.
  pub generation: u32,
  /// base64url SHA-256 of the current token's secret.
  pub current: String,
  /// base64url SHA-256 of the predecessor's secret.
  pub previous: Option<String>,
  /// ms.
  pub rotated_at: i64,
  /// base64url salt.
  pub salt: String,
  /// ms.
  pub idle_expires_at: i64,
  /// ms.
  pub absolute_expires_at: i64,
}

/// A device in text form.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, Default)]
#[serde(deny_unknown_fields)]
pub struct WireDevice {
  /// IP.
  pub ip: Option<String>,
  /// User agent.
  pub user_agent: Option<String>,
}

fn corrupt() -> crate::Error {
  err(
    ErrorKind::StoreCorrupt,
    "a stored session record is not valid",
  )
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

impl From<&RefreshState> for WireRefresh {
  fn from(r: &RefreshState) -> Self {
    Self {
      generation: r.generation,
      current: encoding::encode(&r.current_digest),
      previous: r.previous_digest.map(|d| encoding::encode(&d)),
      rotated_at: r.rotated_at.0,
      salt: encoding::encode(&r.salt),
      idle_expires_at: r.idle_expires_at.0,
      absolute_expires_at: r.absolute_expires_at.0,
    }
  }
}

impl WireRefresh {
  /// Back to a refresh state.
  ///
  /// # Errors
  /// `STORE_CORRUPT`.
  pub fn decode(&self) -> Result<RefreshState> {
    let d32 = |s: &str| {
      encoding::decode_exact::<32>(s.as_bytes(), ErrorKind::StoreCorrupt).map_err(|_| corrupt())
    };
    Ok(RefreshState {
      generation: self.generation,
      current_digest: d32(&self.current)?,
      previous_digest: self.previous.as_deref().map(d32).transpose()?,
      rotated_at: UnixMillis(self.rotated_at),
      salt: encoding::decode_exact::<16>(self.salt.as_bytes(), ErrorKind::StoreCorrupt)
        .map_err(|_| corrupt())?,
      idle_expires_at: UnixMillis(self.idle_expires_at),
      absolute_expires_at: UnixMillis(self.absolute_expires_at),
    })
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
  use crate::store::conformance::record as sample;

  #[test]
  fn a_refresh_state_and_a_device_round_trip_through_their_text() -> Result<()> {
    let mut r = sample("alice")?;
    r.refresh.previous_digest = Some([9; 32]);
    assert_eq!(WireRefresh::from(&r.refresh).decode()?, r.refresh);
    let d = DeviceInfo {
      ip: Some("203.0.113.7".into()),
      user_agent: None,
    };
    assert_eq!(decode_device(&encode_device(&d))?, d);
    Ok(())
  }

  #[test]
  fn garbage_is_store_corrupt() -> Result<()> {
    for t in ["", "null", "[]", r#"{"ip":1}"#, r#"{"os":"x"}"#] {
      assert_eq!(
        decode_device(t).err().map(|e| e.kind()),
        Some(ErrorKind::StoreCorrupt),
        "{t}"
      );
    }
    let mut w = WireRefresh::from(&sample("alice")?.refresh);
    w.salt = "short".into();
    assert_eq!(
      w.decode().err().map(|e| e.kind()),
      Some(ErrorKind::StoreCorrupt)
    );
    Ok(())
  }
}
