//! What the stores that keep records outside the process (SQLite, PostgreSQL, Redis)
//! share: one way from stored columns to a [`SessionRecord`] ([`decode_record`] over a
//! store's [`Columns`]), the value conversions to and from what they store, and one
//! conversion from each client library's error to ours.
//!
//! The error rule, the same in every store:
//! - `STORE_UNAVAILABLE`: the store could not do the call. It cannot be reached, opened,
//!   locked, read or written; a connection closed or timed out; no pooled connection came
//!   in time; it refused the login or a statement; a table is missing; its schema is newer
//!   than this release; and any failure not named below. Nothing was changed, except when
//!   a commit went unacknowledged (see each store).
//! - `STORE_CORRUPT`: what the store holds is not a valid record of ours. A value read
//!   back does not decode (type, length, range, JSON, layout); the store reports its own
//!   data damaged; the file or database belongs to another application; the schema
//!   refuses a row we write; a handle exists already at insert.
//! - `INVALID_ARGUMENT`: a value we were asked to write that the store cannot hold (a
//!   number past `i64::MAX`, a NUL character in PostgreSQL text).
//! - `INTERNAL`: a bug of ours (a store task panicked, JSON that does not serialise).
//!
//! Messages are fixed texts: never data, never a URL or a password.
//!
//! Not here: what is specific to one store (SQL text, Lua scripts, key layout, how each
//! makes its writes atomic), and the memory store, which keeps records as they are.

use deadpool_postgres::{HookError, PoolError};
use rusqlite::ErrorCode;
use serde_json::{Map, Value};
use tokio_postgres::error::SqlState;

use crate::clock::UnixMillis;
use crate::error::{err, Error, ErrorKind, Result};
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::token::Handle;

/// `STORE_CORRUPT`: a stored value is not a valid record of ours.
pub(crate) fn corrupt() -> Error {
  err(
    ErrorKind::StoreCorrupt,
    "a stored session record is not valid",
  )
}

/// `STORE_UNAVAILABLE` with a fixed `detail`.
pub(crate) const fn unavailable(detail: &'static str) -> Error {
  err(ErrorKind::StoreUnavailable, detail)
}

/// `STORE_CORRUPT`: insert found the handle taken (nothing is overwritten).
pub(crate) fn handle_exists() -> Error {
  err(ErrorKind::StoreCorrupt, "a session with this handle exists")
}

/// A `u64` of ours as a stored integer (`INVALID_ARGUMENT` past `i64::MAX`).
pub(crate) fn to_i64(v: u64) -> Result<i64> {
  i64::try_from(v).map_err(|_| {
    err(
      ErrorKind::InvalidArgument,
      "a number is too large for the store",
    )
  })
}

/// A stored integer as a `u64` of ours (`STORE_CORRUPT` when negative).
pub(crate) fn to_u64(v: i64) -> Result<u64> {
  u64::try_from(v).map_err(|_| corrupt())
}

/// Stored bytes as a digest, salt or handle of exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(bytes: Vec<u8>) -> Result<[u8; N]> {
  <[u8; N]>::try_from(bytes).map_err(|_| corrupt())
}

/// A stored handle in text form.
pub(crate) fn handle_text(text: &str) -> Result<Handle> {
  Handle::parse(text, ErrorKind::StoreCorrupt).map_err(|_| corrupt())
}

/// The JSON text of a value we store (claims, data, one data value).
pub(crate) fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
  // A `Value` or a map of them always serialises; failing would be a bug.
  serde_json::to_string(v).map_err(|_| err(ErrorKind::Internal, "JSON does not serialise"))
}

/// Stored JSON text as a value of ours (`STORE_CORRUPT` when it does not parse as `T`).
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
  serde_json::from_str(text).map_err(|_| corrupt())
}

/// The columns of a session row, in the order the SQL stores list them (so
/// `column as usize` is the index in their `SELECT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
  Handle,
  UserId,
  Generation,
  CurrentDigest,
  PreviousDigest,
  RotatedAt,
  Salt,
  IdleExpiresAt,
  AbsoluteExpiresAt,
  CreatedAt,
  LastRefreshAt,
  CreatedIp,
  CreatedUserAgent,
  LastIp,
  LastUserAgent,
  Claims,
  Data,
  DataVersion,
}

/// Which of a session's two devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Device {
  /// The device that logged in.
  Created,
  /// The device of the last refresh.
  Last,
}

/// A session's stored columns as one store reads them back (a SQL row, a Redis hash).
/// Every method fails with `STORE_CORRUPT` for a value of the wrong type; an absent or
/// NULL value is `None`.
pub(crate) trait Columns {
  /// The session's handle.
  fn handle(&self) -> Result<Handle>;
  /// An integer column.
  fn int(&self, c: Column) -> Result<i64>;
  /// A text column.
  fn text(&self, c: Column) -> Result<Option<String>>;
  /// A bytes column (digests, salt).
  fn bytes(&self, c: Column) -> Result<Option<Vec<u8>>>;

  /// An unsigned integer column. Default: [`Columns::int`], not negative.
  fn uint(&self, c: Column) -> Result<u64> {
    to_u64(self.int(c)?)
  }

  /// A device. Default: its IP and user-agent text columns.
  fn device(&self, which: Device) -> Result<DeviceInfo> {
    let (ip, user_agent) = match which {
      Device::Created => (Column::CreatedIp, Column::CreatedUserAgent),
      Device::Last => (Column::LastIp, Column::LastUserAgent),
    };
    Ok(DeviceInfo {
      ip: self.text(ip)?,
      user_agent: self.text(user_agent)?,
    })
  }

  /// The session data. Default: the JSON object in [`Column::Data`].
  fn data(&self) -> Result<Map<String, Value>> {
    from_json(&required(self.text(Column::Data)?)?)
  }
}

fn required<T>(v: Option<T>) -> Result<T> {
  v.ok_or_else(corrupt)
}

/// A bytes column of exactly `N` bytes.
fn fixed_column<const N: usize>(c: &impl Columns, col: Column) -> Result<Option<[u8; N]>> {
  c.bytes(col)?.map(fixed).transpose()
}

/// The one builder of a stored record: reads every column of `c` and checks each value
/// (lengths, ranges, JSON objects).
///
/// # Errors
/// `STORE_CORRUPT` for any column that is absent or does not decode.
pub(crate) fn decode_record(c: &impl Columns) -> Result<SessionRecord> {
  use Column as C;
  let time = |col| c.int(col).map(UnixMillis);
  Ok(SessionRecord {
    handle: c.handle()?,
    user_id: required(c.text(C::UserId)?)?,
    refresh: RefreshState {
      generation: u32::try_from(c.uint(C::Generation)?).map_err(|_| corrupt())?,
      current_digest: required(fixed_column(c, C::CurrentDigest)?)?,
      previous_digest: fixed_column(c, C::PreviousDigest)?,
      rotated_at: time(C::RotatedAt)?,
      salt: required(fixed_column(c, C::Salt)?)?,
      idle_expires_at: time(C::IdleExpiresAt)?,
      absolute_expires_at: time(C::AbsoluteExpiresAt)?,
    },
    created_at: time(C::CreatedAt)?,
    last_refresh_at: time(C::LastRefreshAt)?,
    created_device: c.device(Device::Created)?,
    last_device: c.device(Device::Last)?,
    claims: from_json(&required(c.text(C::Claims)?)?)?,
    data: c.data()?,
    data_version: c.uint(C::DataVersion)?,
  })
}

// ---------------------------------------------------------------------------------------
// The client libraries' errors, by the rule above.

/// The detail of a busy or locked SQLite file (the SQLite store retries its set-up on it).
pub(crate) const SQLITE_LOCKED: &str = "the sqlite file is locked";

impl From<rusqlite::Error> for Error {
  fn from(e: rusqlite::Error) -> Self {
    use rusqlite::Error as E;
    let E::SqliteFailure(f, _) = e else {
      return match e {
        E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::InvalidColumnType(..)
        | E::Utf8Error(..) => corrupt(),
        _ => unavailable("the sqlite store failed"),
      };
    };
    match f.code {
      ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => unavailable(SQLITE_LOCKED),
      ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly => {
        unavailable("the sqlite file cannot be opened for writing")
      }
      ErrorCode::SystemIoFailure
      | ErrorCode::DiskFull
      | ErrorCode::FileLockingProtocolFailed
      | ErrorCode::NoLargeFileSupport => unavailable("the sqlite file cannot be read or written"),
      ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => err(
        ErrorKind::StoreCorrupt,
        "the sqlite file is damaged or not a database",
      ),
      ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch => schema_refuses(),
      _ => unavailable("the sqlite store failed"),
    }
  }
}

fn schema_refuses() -> Error {
  err(
    ErrorKind::StoreCorrupt,
    "a record does not fit the store's schema",
  )
}

/// Server errors go by SQLSTATE class; anything else (I/O, a closed connection, a connect
/// timeout) is the server being unreachable.
impl From<tokio_postgres::Error> for Error {
  fn from(e: tokio_postgres::Error) -> Self {
    let Some(code) = e.code() else {
      return if e.is_closed() {
        unavailable("the PostgreSQL connection closed")
      } else {
        unavailable("PostgreSQL cannot be reached")
      };
    };
    if *code == SqlState::QUERY_CANCELED {
      return unavailable("PostgreSQL did not answer in time");
    }
    match code.code().get(..2).unwrap_or_default() {
      // Data exceptions: a value PostgreSQL cannot hold (a NUL character, …).
      "22" => err(
        ErrorKind::InvalidArgument,
        "PostgreSQL cannot store this value (for example a NUL character)",
      ),
      // Integrity constraints (the duplicate handle of an insert is told apart before).
      "23" => schema_refuses(),
      "28" => unavailable("PostgreSQL refused the login"),
      "3D" => unavailable("the PostgreSQL database does not exist"),
      "42" => unavailable("PostgreSQL refused a statement: is the tandem schema intact?"),
      // Internal errors: XX001 data corrupted, XX002 index corrupted (XX000 is generic).
      "XX" if code.code() != "XX000" => corrupt(),
      _ => unavailable("PostgreSQL failed the statement"),
    }
  }
}

impl From<PoolError> for Error {
  fn from(e: PoolError) -> Self {
    match e {
      PoolError::Backend(e) | PoolError::PostCreateHook(HookError::Backend(e)) => e.into(),
      PoolError::Timeout(_) | PoolError::PostCreateHook(HookError::Message(_)) => {
        unavailable("no PostgreSQL connection could be had in time")
      }
      _ => unavailable("the PostgreSQL connection pool is closed"),
    }
  }
}

impl From<::redis::RedisError> for Error {
  fn from(e: ::redis::RedisError) -> Self {
    use ::redis::ErrorKind as K;
    match e.kind() {
      K::Parse | K::UnexpectedReturnType => corrupt(),
      _ if e.code() == Some("WRONGTYPE") => corrupt(),
      _ => unavailable("the Redis store could not be reached or failed"),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn numbers_past_i64_are_invalid_going_in_and_negatives_corrupt_coming_out() {
    assert_eq!(
      to_i64(u64::MAX).err().map(|e| e.kind()),
      Some(ErrorKind::InvalidArgument)
    );
    assert_eq!(to_i64(7), Ok(7));
    assert_eq!(
      to_u64(-1).err().map(|e| e.kind()),
      Some(ErrorKind::StoreCorrupt)
    );
    assert_eq!(
      fixed::<2>(vec![1]).err().map(|e| e.kind()),
      Some(ErrorKind::StoreCorrupt)
    );
  }

  #[test]
  fn the_same_failure_is_the_same_kind_in_every_client() {
    let busy =
      rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY), None);
    assert_eq!(Error::from(busy).detail(), SQLITE_LOCKED);
    let damaged = rusqlite::Error::SqliteFailure(
      rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
      None,
    );
    assert_eq!(Error::from(damaged).kind(), ErrorKind::StoreCorrupt);
    let io = ::redis::RedisError::from(std::io::Error::other("gone"));
    assert_eq!(Error::from(io).kind(), ErrorKind::StoreUnavailable);
    let parse = ::redis::RedisError::from((::redis::ErrorKind::Parse, "x"));
    assert_eq!(Error::from(parse).kind(), ErrorKind::StoreCorrupt);
  }
}
