//! One text form of a session record, for stores that keep records (or parts of them) as
//! strings: JSON with the handle, digests and salt in base64url.
//!
//! Guarantees: `decode(encode(r)) == r`; anything else that does not decode is
//! `STORE_CORRUPT` (with a fixed message: a record's content never appears in an error).
//! The form holds digests only, never a refresh token.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::DataPatch;
use crate::token::Handle;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
  v: u8,
  handle: String,
  user_id: String,
  refresh: WireRefresh,
  created_at: i64,
  last_refresh_at: i64,
  created_device: WireDevice,
  last_device: WireDevice,
  claims: Map<String, Value>,
  data: Map<String, Value>,
  data_version: u64,
}

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

/// The refresh state as JSON text.
pub fn encode_refresh(r: &RefreshState) -> String {
  serde_json::to_string(&WireRefresh::from(r)).unwrap_or_default()
}

/// A refresh state from JSON text.
///
/// # Errors
/// `STORE_CORRUPT`.
pub fn decode_refresh(text: &str) -> Result<RefreshState> {
  serde_json::from_str::<WireRefresh>(text)
    .map_err(|_| corrupt())?
    .decode()
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

/// A whole record as JSON text.
pub fn encode(r: &SessionRecord) -> String {
  let w = Wire {
    v: 1,
    handle: r.handle.to_text(),
    user_id: r.user_id.clone(),
    refresh: WireRefresh::from(&r.refresh),
    created_at: r.created_at.0,
    last_refresh_at: r.last_refresh_at.0,
    created_device: WireDevice::from(&r.created_device),
    last_device: WireDevice::from(&r.last_device),
    claims: r.claims.clone(),
    data: r.data.clone(),
    data_version: r.data_version,
  };
  // A record of strings, numbers and JSON values always serialises.
  serde_json::to_string(&w).unwrap_or_default()
}

/// A record from its JSON text.
///
/// # Errors
/// `STORE_CORRUPT`.
pub fn decode(text: &str) -> Result<SessionRecord> {
  let w: Wire = serde_json::from_str(text).map_err(|_| corrupt())?;
  if w.v != 1 {
    return Err(corrupt());
  }
  Ok(SessionRecord {
    handle: Handle::parse(&w.handle, ErrorKind::StoreCorrupt).map_err(|_| corrupt())?,
    user_id: w.user_id,
    refresh: w.refresh.decode()?,
    created_at: UnixMillis(w.created_at),
    last_refresh_at: UnixMillis(w.last_refresh_at),
    created_device: w.created_device.into(),
    last_device: w.last_device.into(),
    claims: w.claims,
    data: w.data,
    data_version: w.data_version,
  })
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
  fn a_record_round_trips_through_its_text() -> Result<()> {
    let r = sample("alice")?;
    assert_eq!(decode(&encode(&r))?, r);
    assert_eq!(decode_refresh(&encode_refresh(&r.refresh))?, r.refresh);
    Ok(())
  }

  #[test]
  fn garbage_is_store_corrupt() {
    for t in ["", "{}", "null", r#"{"v":2}"#] {
      assert_eq!(
        decode(t).err().map(|e| e.kind()),
        Some(ErrorKind::StoreCorrupt),
        "{t}"
      );
    }
  }
}
