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

/// Most characters of a `User-Agent` kept with a session (the rest is cut).
pub const MAX_USER_AGENT_CHARS: usize = 512;

impl DeviceInfo {
  /// The device as a client described it, made safe to keep: an IP that is not an IPv4
  /// or IPv6 address (an `X-Forwarded-For` of the client's making, say) is dropped, a
  /// `User-Agent` is cut to [`MAX_USER_AGENT_CHARS`], so a session record's device is at
  /// most some 2 KB whatever the client sends.
  pub fn from_client(ip: Option<String>, user_agent: Option<String>) -> Self {
    Self {
      ip: ip.filter(|ip| ip.parse::<std::net::IpAddr>().is_ok()),
      user_agent: user_agent.map(|ua| match ua.char_indices().nth(MAX_USER_AGENT_CHARS) {
        Some((cut, _)) => ua[..cut].to_owned(),
        None => ua,
      }),
    }
  }
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

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_clients_device_is_kept_within_bounds() {
    let d = |ip: &str, ua: &str| DeviceInfo::from_client(Some(ip.into()), Some(ua.into()));
    for ip in ["203.0.113.7", "2001:db8::1", "::ffff:192.0.2.1"] {
      assert_eq!(d(ip, "x").ip.as_deref(), Some(ip));
    }
    for bad in [
      "",
      "evil",
      "1.2.3.4, 5.6.7.8",
      &"9".repeat(5000),
      "fe80::1%eth0",
      "[::1]",
    ] {
      assert_eq!(d(bad, "x").ip, None, "{bad:.40}");
    }
    let long = "é".repeat(2000);
    let kept = d("192.0.2.1", &long).user_agent.unwrap_or_default();
    assert_eq!(kept.chars().count(), MAX_USER_AGENT_CHARS);
    assert_eq!(
      d("192.0.2.1", "curl/8").user_agent.as_deref(),
      Some("curl/8")
    );
    assert_eq!(DeviceInfo::from_client(None, None), DeviceInfo::default());
  }
}
