//! The settings an app gives a token core and a session engine, with their defaults and
//! their checks: the one place the policy of the options lives (the binding only converts
//! JS values into these types, as oxc-resolver's binding does with `ResolveOptions`).
//!
//! Durations are milliseconds, like `express-session`'s `maxAge`; JWT times are whole
//! seconds, so the access-token lifetime and the leeway must be whole seconds.
//!
//! Guarantees: [`TokenSettings::validate`] and [`EngineSettings::validate`] refuse every
//! value the core cannot honour with `CONFIG_INVALID`, and the message names the option by
//! its JS name; they run the token policy's and key rotation's own checks
//! (`Policy::validate`, `RotationPolicy::validate`, which `TokenService::new` runs again),
//! so settings that validate here start an engine. Not here: the secrets (`Secrets::new`).

use crate::credentials::CookieShape;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::{Algorithm, Policy};
use crate::keys::RotationPolicy;
use crate::service::Config;
use crate::session::RefreshPolicy;

/// The default name of the access-token cookie.
pub const DEFAULT_ACCESS_COOKIE: &str = "__Host-at";
/// The default time between background syncs, ms.
pub const DEFAULT_SYNC_INTERVAL_MS: i64 = 500;
/// The shortest time between background syncs, ms; a shorter interval is raised to it.
pub const MIN_SYNC_INTERVAL_MS: i64 = 10;
/// The default limit of one session's data, bytes (`maxDataBytes`, by `codec::data_size`):
/// 64 KiB, sixteen times a browser's whole cookie jar for one site.
pub const DEFAULT_MAX_DATA_BYTES: usize = 64 * 1024;
/// The default number of live sessions one user may hold (`maxSessionsPerUser`): a
/// login past it logs out the user's least recently refreshed session.
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 100;
/// The range `maxSessionsPerUser` may take.
pub const MAX_SESSIONS_PER_USER_RANGE: std::ops::RangeInclusive<usize> = 1..=1_000_000;
/// The range `maxDataBytes` may take.
pub const MAX_DATA_BYTES_RANGE: std::ops::RangeInclusive<usize> = 256..=(16 << 20);

/// Settings of a token core (`TokenCore`, and the token service under an engine).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
  /// Algorithm of a newly generated key ring. Defaults to HS256.
  pub algorithm: Algorithm,
  /// `iss` of issued tokens, required on verify. Defaults to `"tandem-session"`.
  pub issuer: String,
  /// `aud` of issued tokens, required on verify. Defaults to `"tandem-session"`.
  pub audience: String,
  /// Access-token lifetime, ms, whole seconds (`accessTokenMaxAge`). Defaults to 900 000
  /// (15 minutes).
  pub access_token_max_age_ms: i64,
  /// Clock skew tolerated on `exp`/`nbf`/`iat`, ms, whole seconds (`leeway`). Defaults to
  /// 5 000; at most 300 000.
  pub leeway_ms: i64,
  /// Time between signing-key rotations, ms (`keyRotationInterval`). Defaults to 7 days.
  pub key_rotation_interval_ms: i64,
  /// How long a retired key still verifies, ms (`retiredKeyTtl`). Defaults (`None`) to the
  /// larger of 1 hour and access-token lifetime + leeway, so no valid token is orphaned.
  pub retired_key_ttl_ms: Option<i64>,
  /// Longest accepted token, bytes (`maxTokenLength`). Defaults to 8192.
  pub max_token_length: usize,
  /// Name of the access-token cookie the request verify reads (`accessCookieName`).
  /// Defaults to `"__Host-at"`.
  pub access_cookie_name: String,
  /// Name of the access-token cookie on secure requests (`secureAccessCookieName`).
  /// Defaults (`None`) to `access_cookie_name`.
  pub secure_access_cookie_name: Option<String>,
  /// The access cookie is spelled `s:<sid>.<jwt>` (`accessCookieWithSid`,
  /// `credentials::CookieShape::WithSid`). Defaults to false: the JWT alone.
  pub access_cookie_with_sid: bool,
}

impl Default for TokenSettings {
  fn default() -> Self {
    let policy = Policy::default();
    let rotation = RotationPolicy::default();
    Self {
      algorithm: Algorithm::Hs256,
      issuer: policy.issuer,
      audience: policy.audience,
      access_token_max_age_ms: policy.ttl_secs * 1000,
      leeway_ms: policy.leeway_secs * 1000,
      key_rotation_interval_ms: rotation.interval_ms,
      retired_key_ttl_ms: None,
      max_token_length: policy.max_token_len,
      access_cookie_name: DEFAULT_ACCESS_COOKIE.to_owned(),
      secure_access_cookie_name: None,
      access_cookie_with_sid: false,
    }
  }
}

/// Validated token settings: the token service's config and the cookie names.
#[derive(Debug, Clone)]
pub struct TokenSetup {
  /// The token service's config.
  pub config: Config,
  /// Name of the access-token cookie.
  pub cookie_name: String,
  /// Name of the access-token cookie on secure requests.
  pub secure_cookie_name: String,
  /// How the access cookie is spelled.
  pub cookie_shape: CookieShape,
}

impl TokenSettings {
  /// Check the settings and resolve the defaults that depend on others.
  ///
  /// # Errors
  /// `CONFIG_INVALID` naming the option: lifetime or leeway not whole seconds, or a value
  /// out of the token policy's or key rotation's range.
  pub fn validate(self) -> Result<TokenSetup> {
    if self.access_token_max_age_ms % 1000 != 0 || self.leeway_ms % 1000 != 0 {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "accessTokenMaxAge and leeway must be whole seconds (JWT times are seconds)",
      ));
    }
    let default_overlap = RotationPolicy::default()
      .overlap_ms
      .max(self.access_token_max_age_ms.saturating_add(self.leeway_ms));
    let secure_cookie_name = self
      .secure_access_cookie_name
      .unwrap_or_else(|| self.access_cookie_name.clone());
    let config = Config {
      policy: Policy {
        issuer: self.issuer,
        audience: self.audience,
        ttl_secs: self.access_token_max_age_ms / 1000,
        leeway_secs: self.leeway_ms / 1000,
        max_token_len: self.max_token_length,
      },
      rotation: RotationPolicy {
        interval_ms: self.key_rotation_interval_ms,
        overlap_ms: self.retired_key_ttl_ms.unwrap_or(default_overlap),
      },
      algorithm: self.algorithm,
    };
    config.policy.validate()?;
    config
      .rotation
      .validate(self.access_token_max_age_ms, self.leeway_ms)?;
    Ok(TokenSetup {
      config,
      cookie_name: self.access_cookie_name,
      secure_cookie_name,
      cookie_shape: if self.access_cookie_with_sid {
        CookieShape::WithSid
      } else {
        CookieShape::Jwt
      },
    })
  }
}

/// Settings of a session engine, beside its token settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineSettings {
  /// Refresh-token lifetimes and grace (`refreshGrace`, `refreshTokenMaxAge`,
  /// `absoluteMaxAge`). Defaults to `RefreshPolicy::default()`.
  pub refresh: RefreshPolicy,
  /// How often revocations and the key ring are read from the store, ms (`syncInterval`).
  /// Defaults to 500; values under 10 are raised to 10.
  pub sync_interval_ms: i64,
  /// The largest a session's data may grow, bytes (`maxDataBytes`). Defaults to
  /// [`DEFAULT_MAX_DATA_BYTES`]; from 256 to 16 MiB.
  pub max_data_bytes: usize,
  /// The most live sessions one user may hold (`maxSessionsPerUser`). Defaults to
  /// [`DEFAULT_MAX_SESSIONS_PER_USER`]; from 1 to 1 000 000.
  pub max_sessions_per_user: usize,
  /// Replace a stored key ring that no secret opens, logging everyone out
  /// (`resetKeyRing`; see `engine::key_ring`). Defaults to false.
  pub reset_key_ring: bool,
}

impl Default for EngineSettings {
  fn default() -> Self {
    Self {
      refresh: RefreshPolicy::default(),
      sync_interval_ms: DEFAULT_SYNC_INTERVAL_MS,
      max_data_bytes: DEFAULT_MAX_DATA_BYTES,
      max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
      reset_key_ring: false,
    }
  }
}

impl EngineSettings {
  /// Check the settings; the sync interval is raised to its floor.
  ///
  /// # Errors
  /// `CONFIG_INVALID` naming the option (see `RefreshPolicy::validate`).
  pub fn validate(self) -> Result<Self> {
    self.refresh.validate()?;
    if !MAX_DATA_BYTES_RANGE.contains(&self.max_data_bytes) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "maxDataBytes must be a whole number of bytes from 256 to 16777216",
      ));
    }
    if !MAX_SESSIONS_PER_USER_RANGE.contains(&self.max_sessions_per_user) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "maxSessionsPerUser must be a whole number from 1 to 1000000",
      ));
    }
    Ok(Self {
      sync_interval_ms: self.sync_interval_ms.max(MIN_SYNC_INTERVAL_MS),
      ..self
    })
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn defaults_are_the_documented_ones() {
    let s = TokenSettings::default()
      .validate()
      .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.config.policy.ttl_secs, 900);
    assert_eq!(s.config.policy.leeway_secs, 5);
    assert_eq!(s.config.rotation.overlap_ms, 3_600_000);
    assert_eq!(s.cookie_name, "__Host-at");
    assert_eq!(s.secure_cookie_name, "__Host-at");
    let e = EngineSettings::default()
      .validate()
      .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.sync_interval_ms, 500);
  }

  #[test]
  fn retired_keys_outlive_every_token_they_signed() {
    let s = TokenSettings {
      access_token_max_age_ms: 86_400_000,
      leeway_ms: 300_000,
      ..TokenSettings::default()
    };
    let setup = s.validate().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(setup.config.rotation.overlap_ms, 86_700_000);
  }

  #[test]
  fn times_must_be_whole_seconds_and_the_sync_interval_has_a_floor() {
    for s in [
      TokenSettings {
        access_token_max_age_ms: 1500,
        ..TokenSettings::default()
      },
      TokenSettings {
        leeway_ms: 1,
        ..TokenSettings::default()
      },
    ] {
      let Err(e) = s.validate() else {
        panic!("accepted a time that is not whole seconds")
      };
      assert_eq!(e.kind(), ErrorKind::ConfigInvalid);
      assert!(e.detail().contains("leeway"));
    }
    let fast = EngineSettings {
      sync_interval_ms: 1,
      ..EngineSettings::default()
    };
    assert_eq!(fast.validate().map(|s| s.sync_interval_ms), Ok(10));
  }

  #[test]
  fn the_data_and_session_limits_have_ranges_named_in_their_errors() {
    assert_eq!(EngineSettings::default().max_data_bytes, 65_536);
    for bad in [0, 255, (16 << 20) + 1] {
      let s = EngineSettings {
        max_data_bytes: bad,
        ..EngineSettings::default()
      };
      let detail = s.validate().err().map(|e| e.detail());
      assert!(detail.is_some_and(|d| d.contains("maxDataBytes")), "{bad}");
    }
    for bad in [0, 1_000_001] {
      let s = EngineSettings {
        max_sessions_per_user: bad,
        ..EngineSettings::default()
      };
      let detail = s.validate().err().map(|e| e.detail());
      assert!(
        detail.is_some_and(|d| d.contains("maxSessionsPerUser")),
        "{bad}"
      );
    }
    for good in [256, 16 << 20] {
      let s = EngineSettings {
        max_data_bytes: good,
        ..EngineSettings::default()
      };
      assert_eq!(s.validate().map(|s| s.max_data_bytes), Ok(good));
    }
  }

  #[test]
  fn out_of_range_values_fail_here_and_strict_leeway_is_allowed() {
    let named = |s: TokenSettings, option: &str| match s.validate() {
      Err(e) => {
        assert_eq!(e.kind(), ErrorKind::ConfigInvalid);
        assert!(e.detail().contains(option), "{option}: {}", e.detail());
      }
      Ok(_) => panic!("{option}: accepted"),
    };
    let d = TokenSettings::default;
    named(
      TokenSettings {
        access_token_max_age_ms: 0,
        ..d()
      },
      "accessTokenMaxAge",
    );
    named(
      TokenSettings {
        access_token_max_age_ms: 172_800_000,
        ..d()
      },
      "accessTokenMaxAge",
    );
    named(
      TokenSettings {
        leeway_ms: 301_000,
        ..d()
      },
      "leeway",
    );
    named(
      TokenSettings {
        key_rotation_interval_ms: 1_000,
        ..d()
      },
      "keyRotationInterval",
    );
    named(
      TokenSettings {
        issuer: String::new(),
        ..d()
      },
      "issuer",
    );
    named(
      TokenSettings {
        max_token_length: 100,
        ..d()
      },
      "maxTokenLength",
    );
    let strict = TokenSettings {
      leeway_ms: 0,
      ..d()
    }
    .validate();
    assert_eq!(strict.map(|s| s.config.policy.leeway_secs).ok(), Some(0));
  }
}
