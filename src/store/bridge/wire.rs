//! How the bridge keeps its records in an express-session store: each one is a "session"
//! object as express-session would store it, `{cookie, tandem}`, so that any store built for
//! express-session keeps it and expires it by itself.
//!
//! - `cookie` is what express-session stores put in their TTL: `expires` (ISO text) is the
//!   record's earliest expiry, `originalMaxAge` the time from now to it; `httpOnly` and
//!   `path` as express-session writes them.
//! - `tandem` is the record: a session ([`WireRecord`]), or one of the bridge's own records
//!   (the key ring, the revocation feed, a user's handles), each with its own shape.
//!
//! Guarantees: `decode_record(&encode_record(r, now)) == Ok(r)`; digests, salts and handles
//! travel as base64url; anything that does not decode is `STORE_CORRUPT` with a fixed
//! message (no stored content in errors). Not here: keys, locking, the store contract
//! (`bridge/mod.rs`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::clock::UnixMillis;
use crate::encoding;
use crate::error::{ErrorKind, Result};
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::codec::WireDevice;
use crate::store::row::{corrupt, handle_text};

/// A session record inside `tandem`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WireRecord {
  handle: String,
  user_id: String,
  generation: u32,
  current_digest: String,
  previous_digest: Option<String>,
  rotated_at: i64,
  salt: String,
  idle_expires_at: i64,
  absolute_expires_at: i64,
  created_at: i64,
  last_refresh_at: i64,
  created_device: WireDevice,
  last_device: WireDevice,
  claims: Map<String, Value>,
  data: Map<String, Value>,
  data_version: u64,
}

/// express-session's `cookie` for a record that lives until `expires` (seen at `now`).
pub fn cookie(expires: UnixMillis, now: UnixMillis) -> Value {
  let iso = iso_8601(expires.0);
  json!({
    "originalMaxAge": (expires.0 - now.0).max(0),
    "expires": iso,
    "httpOnly": true,
    "path": "/",
  })
}

/// The session object for `r`, its TTL at its earliest expiry.
pub fn encode_record(r: &SessionRecord, now: UnixMillis) -> Value {
  let f = &r.refresh;
  let w = WireRecord {
    handle: r.handle.to_text(),
    user_id: r.user_id.clone(),
    generation: f.generation,
    current_digest: encoding::encode(&f.current_digest),
    previous_digest: f.previous_digest.map(|d| encoding::encode(&d)),
    rotated_at: f.rotated_at.0,
    salt: encoding::encode(&f.salt),
    idle_expires_at: f.idle_expires_at.0,
    absolute_expires_at: f.absolute_expires_at.0,
    created_at: r.created_at.0,
    last_refresh_at: r.last_refresh_at.0,
    created_device: WireDevice::from(&r.created_device),
    last_device: WireDevice::from(&r.last_device),
    claims: r.claims.clone(),
    data: r.data.clone(),
    data_version: r.data_version,
  };
  let expires = UnixMillis(f.idle_expires_at.0.min(f.absolute_expires_at.0));
  json!({ "cookie": cookie(expires, now), "tandem": w })
}

/// The session record `v` holds under the key `handle`; `STORE_CORRUPT` when it holds
/// none of ours, or the record of another handle.
pub fn decode_session(handle: &crate::token::Handle, v: &Value) -> Result<SessionRecord> {
  decode_record(v)?
    .filter(|r| r.handle == *handle)
    .ok_or_else(corrupt)
}

/// The record a session object holds; `None` when it holds no record of ours (a session
/// that express-session itself wrote under the same key, say).
pub fn decode_record(v: &Value) -> Result<Option<SessionRecord>> {
  let Some(t) = v.get("tandem") else {
    return Ok(None);
  };
  if !t.get("handle").is_some_and(Value::is_string) {
    return Ok(None); // one of the bridge's own records, not a session
  }
  let w: WireRecord = serde_json::from_value(t.clone()).map_err(|_| corrupt())?;
  let digest = |s: &str| encoding::decode_exact::<32>(s.as_bytes(), ErrorKind::StoreCorrupt);
  Ok(Some(SessionRecord {
    handle: handle_text(&w.handle)?,
    user_id: w.user_id,
    refresh: RefreshState {
      generation: w.generation,
      current_digest: digest(&w.current_digest).map_err(|_| corrupt())?,
      previous_digest: match w.previous_digest {
        Some(p) => Some(digest(&p).map_err(|_| corrupt())?),
        None => None,
      },
      rotated_at: UnixMillis(w.rotated_at),
      salt: encoding::decode_exact::<16>(w.salt.as_bytes(), ErrorKind::StoreCorrupt)
        .map_err(|_| corrupt())?,
      idle_expires_at: UnixMillis(w.idle_expires_at),
      absolute_expires_at: UnixMillis(w.absolute_expires_at),
    },
    created_at: UnixMillis(w.created_at),
    last_refresh_at: UnixMillis(w.last_refresh_at),
    created_device: DeviceInfo::from(w.created_device),
    last_device: DeviceInfo::from(w.last_device),
    claims: w.claims,
    data: w.data,
    data_version: w.data_version,
  }))
}

/// One of the bridge's own records: `{cookie, tandem: body}`, kept until `expires`.
pub fn encode_own(body: Value, expires: UnixMillis, now: UnixMillis) -> Value {
  json!({ "cookie": cookie(expires, now), "tandem": body })
}

/// The body of one of the bridge's own records, parsed as `T`; `None` when absent.
pub fn decode_own<T: serde::de::DeserializeOwned>(v: Option<&Value>) -> Result<Option<T>> {
  match v.and_then(|v| v.get("tandem")) {
    None => Ok(None),
    Some(t) => serde_json::from_value(t.clone())
      .map(Some)
      .map_err(|_| corrupt()),
  }
}

/// `ms` since the epoch as ISO 8601 UTC text (`2026-12-06T01:02:03.004Z`), as
/// `Date#toJSON` writes it and every express-session store parses it.
fn iso_8601(ms: i64) -> String {
  let days = ms.div_euclid(86_400_000);
  let rem = ms.rem_euclid(86_400_000);
  // Civil from days (Howard Hinnant's algorithm), proleptic Gregorian.
  let z = days + 719_468;
  let era = z.div_euclid(146_097);
  let doe = z - era * 146_097;
  let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
  let y = yoe + era * 400;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let d = doy - (153 * mp + 2) / 5 + 1;
  let m = if mp < 10 { mp + 3 } else { mp - 9 };
  let y = if m <= 2 { y + 1 } else { y };
  format!(
    "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
    rem / 3_600_000,
    rem / 60_000 % 60,
    rem / 1000 % 60,
    rem % 1000
  )
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::store::conformance::{record, user, NOW};

  #[test]
  fn a_record_round_trips_through_its_session_object() -> Result<()> {
    let r = record(&user()?)?;
    let v = encode_record(&r, NOW);
    assert_eq!(decode_record(&v)?, Some(r.clone()));
    let back: Value = serde_json::from_str(&v.to_string()).map_err(|_| corrupt())?;
    assert_eq!(decode_record(&back)?, Some(r));
    Ok(())
  }

  #[test]
  fn the_cookie_expires_at_the_earliest_expiry_in_date_to_json_form() -> Result<()> {
    assert_eq!(iso_8601(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso_8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(iso_8601(1_796_518_923_456), "2026-12-06T01:02:03.456Z");
    let r = record(&user()?)?;
    let v = encode_record(&r, NOW);
    assert_eq!(v["cookie"]["originalMaxAge"], json!(3_600_000));
    assert_eq!(v["cookie"]["expires"], json!(iso_8601(NOW.0 + 3_600_000)));
    Ok(())
  }

  #[test]
  fn what_is_not_ours_is_no_record_and_what_is_broken_is_corrupt() -> Result<()> {
    let es = json!({"cookie": {"expires": null}, "user": 1});
    assert_eq!(decode_record(&es)?, None);
    let broken = json!({"cookie": {}, "tandem": {"handle": "x"}});
    assert!(matches!(decode_record(&broken), Err(e) if e.kind() == ErrorKind::StoreCorrupt));
    Ok(())
  }
}
