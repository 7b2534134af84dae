//! What a store keeps of one session.
//!
//! Guarantees: no refresh token is in here, only the SHA-256 digests of the current one
//! and of its immediate predecessor (DESIGN promise 1); the salt that derived the current
//! token from its predecessor is not secret (useless without the predecessor and the app's
//! secret). Times are milliseconds since the epoch.
//! Not guaranteed: anything about concurrency; stores apply changes by compare-and-swap on
//! [`RefreshState::generation`].

use serde_json::{Map, Value};

use crate::clock::UnixMillis;
use crate::token::Handle;

/// Where a session was used from: given at creation and at each refresh.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
  /// The client's IP address as the app sees it.
  pub ip: Option<String>,
  /// The `User-Agent` header.
  pub user_agent: Option<String>,
}

/// The refresh-token part of a record: all that the rotation decision reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshState {
  /// Generation of the current refresh token: 0 at login, +1 per rotation.
  pub generation: u32,
  /// SHA-256 of the current token's secret.
  pub current_digest: [u8; 32],
  /// SHA-256 of the immediate predecessor's secret (none at generation 0).
  pub previous_digest: Option<[u8; 32]>,
  /// When the current token was issued: the grace window runs from here.
  pub rotated_at: UnixMillis,
  /// The salt that derived the current token from its predecessor.
  pub salt: [u8; 16],
  /// Idle expiry: a refresh after this instant is refused. Each rotation moves it.
  pub idle_expires_at: UnixMillis,
  /// Absolute expiry: no refresh after this instant, ever.
  pub absolute_expires_at: UnixMillis,
}

/// One session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
  /// The session handle (`sid`).
  pub handle: Handle,
  /// The user id (`sub`).
  pub user_id: String,
  /// Refresh-token state.
  pub refresh: RefreshState,
  /// When the session was created.
  pub created_at: UnixMillis,
  /// When it was last refreshed (creation counts).
  pub last_refresh_at: UnixMillis,
  /// The device that created it.
  pub created_device: DeviceInfo,
  /// The device of the last refresh.
  pub last_device: DeviceInfo,
  /// App claims copied into every access token.
  pub claims: Map<String, Value>,
  /// Server-side session data.
  pub data: Map<String, Value>,
  /// Version of `data`: +1 per change, carried in access tokens (`dv`).
  pub data_version: u64,
}
