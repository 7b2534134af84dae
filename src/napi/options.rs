//! The options objects JS gives (`new TokenCore(options)`, `store.startEngine(options,
//! session)`), their conversion into core settings, and the clock they choose (the system
//! clock, or a fixed one for tests). Durations are milliseconds, like `express-session`'s
//! `maxAge`. The JS layer validates options first and throws `TypeError`s; this is the
//! second, final check.

use std::sync::Arc;

use napi_derive::napi;

use crate::clock::{Clock, FixedClock, SystemClock, UnixMillis};
use crate::jwt::{Algorithm, Policy};
use crate::keys::RotationPolicy;
use crate::napi::error::{bad_option, Code};
use crate::service::Config;
use crate::session::RefreshPolicy;

/// Options of `TokenCore`.
#[napi(object, object_to_js = false)]
pub struct NapiTokenOptions {
  /// The app's secrets: the first signs and seals, all verify. Each at least 32 bytes.
  pub secret: Vec<String>,
  /// `"HS256"` (default) or `"EdDSA"`.
  pub algorithm: Option<String>,
  /// `iss` of issued tokens, required on verify. Defaults to `"tandem-session"`.
  pub issuer: Option<String>,
  /// `aud` of issued tokens, required on verify. Defaults to `"tandem-session"`.
  pub audience: Option<String>,
  /// Access-token lifetime in ms. Defaults to 900000 (15 minutes).
  pub access_token_max_age: Option<f64>,
  /// Clock skew tolerated on `exp`/`nbf`/`iat`, ms. Defaults to 5000; at most 300000.
  pub leeway: Option<f64>,
  /// Time between signing-key rotations, ms. Defaults to 604800000 (7 days).
  pub key_rotation_interval: Option<f64>,
  /// How long a retired key still verifies, ms. Defaults to the larger of 1 hour and
  /// access-token lifetime + leeway.
  pub retired_key_ttl: Option<f64>,
  /// Longest accepted token, bytes. Defaults to 8192.
  pub max_token_length: Option<f64>,
  /// Name of the access-token cookie that `verifyRequest` reads. Defaults to `"__Host-at"`.
  pub access_cookie_name: Option<String>,
  /// Name of the access-token cookie on secure requests (`verifyRequestPacked(…, true)`):
  /// the middleware's `__Host-` name. Defaults to `accessCookieName`.
  pub secure_access_cookie_name: Option<String>,
  /// Test only: start a fixed clock at this time (ms since the epoch); `setNow` moves it.
  pub fixed_now: Option<f64>,
}

/// Session lifetimes, in milliseconds like `express-session`'s `maxAge`.
#[napi(object, object_to_js = false)]
pub struct NapiSessionOptions {
  /// Grace window for a refresh token's immediate predecessor. Defaults to 10000; at most 60000.
  pub refresh_grace: Option<f64>,
  /// Idle lifetime of a session (refresh token). Defaults to 30 days.
  pub refresh_token_max_age: Option<f64>,
  /// Absolute lifetime of a session. Defaults to 90 days.
  pub absolute_max_age: Option<f64>,
  /// How often revocations and the key ring are read from the store. Defaults to 500.
  pub sync_interval: Option<f64>,
}

/// Core settings, the cookie name and the clock.
pub struct Normalized {
  pub config: Config,
  pub cookie_name: String,
  pub secure_cookie_name: String,
  pub clock: TestClock,
}

/// The clock the options chose: the system clock, or (with `fixedNow`) a fixed clock that
/// `setNow` moves.
pub struct TestClock(Option<Arc<FixedClock>>);

impl TestClock {
  /// The clock to give the token service.
  pub fn clock(&self) -> Arc<dyn Clock> {
    match &self.0 {
      Some(f) => Arc::clone(f) as Arc<dyn Clock>,
      None => Arc::new(SystemClock),
    }
  }

  /// Whether this is the fixed test clock.
  pub fn is_fixed(&self) -> bool {
    self.0.is_some()
  }

  /// Move the fixed clock (`setNow`).
  pub fn set_now(&self, ms: f64) -> napi::Result<(), Code> {
    match &self.0 {
      Some(c) if ms.is_finite() => {
        c.set(UnixMillis(ms as i64));
        Ok(())
      }
      _ => Err(bad_option(
        "setNow needs the fixedNow option and a finite time",
      )),
    }
  }
}

/// A non-negative whole number (at most 9e15), or `default` when absent.
fn whole(v: Option<f64>, default: i64, message: &str) -> napi::Result<i64, Code> {
  match v {
    None => Ok(default),
    Some(x) if x.is_finite() && (0.0..=9.0e15).contains(&x) && x.fract() == 0.0 => Ok(x as i64),
    Some(_) => Err(bad_option(message)),
  }
}

fn ms(v: Option<f64>, default: i64, name: &str) -> napi::Result<i64, Code> {
  whole(
    v,
    default,
    &format!("{name} must be a whole number of milliseconds"),
  )
}

/// Validate and convert.
pub fn normalize(o: &NapiTokenOptions) -> napi::Result<Normalized, Code> {
  let algorithm = match o.algorithm.as_deref() {
    None => Algorithm::Hs256,
    Some(name) => Algorithm::from_name(name)
      .ok_or_else(|| bad_option("algorithm must be \"HS256\" or \"EdDSA\""))?,
  };
  let ttl_ms = ms(o.access_token_max_age, 900_000, "accessTokenMaxAge")?;
  let leeway_ms = ms(o.leeway, 5_000, "leeway")?;
  if ttl_ms % 1000 != 0 || leeway_ms % 1000 != 0 {
    return Err(bad_option(
      "accessTokenMaxAge and leeway must be whole seconds (JWT times are seconds)",
    ));
  }
  let defaults = Policy::default();
  let policy = Policy {
    issuer: o.issuer.clone().unwrap_or(defaults.issuer),
    audience: o.audience.clone().unwrap_or(defaults.audience),
    ttl_secs: ttl_ms / 1000,
    leeway_secs: leeway_ms / 1000,
    max_token_len: whole(
      o.max_token_length,
      defaults.max_token_len as i64,
      "maxTokenLength must be a whole number of bytes",
    )? as usize,
  };
  let rotation = RotationPolicy {
    interval_ms: ms(
      o.key_rotation_interval,
      RotationPolicy::default().interval_ms,
      "keyRotationInterval",
    )?,
    overlap_ms: ms(
      o.retired_key_ttl,
      RotationPolicy::default().overlap_ms.max(ttl_ms + leeway_ms),
      "retiredKeyTtl",
    )?,
  };
  let cookie_name = o
    .access_cookie_name
    .clone()
    .unwrap_or_else(|| "__Host-at".to_owned());
  let secure_cookie_name = o
    .secure_access_cookie_name
    .clone()
    .unwrap_or_else(|| cookie_name.clone());
  let fixed = match o.fixed_now {
    None => None,
    Some(_) => Some(Arc::new(FixedClock::at(UnixMillis(ms(
      o.fixed_now,
      0,
      "fixedNow",
    )?)))),
  };
  Ok(Normalized {
    config: Config {
      policy,
      rotation,
      algorithm,
    },
    cookie_name,
    secure_cookie_name,
    clock: TestClock(fixed),
  })
}

/// The session policy and the sync interval (ms, at least 10) of `startEngine`.
pub fn normalize_session(
  s: Option<NapiSessionOptions>,
) -> napi::Result<(RefreshPolicy, i64), Code> {
  let d = RefreshPolicy::default();
  let Some(s) = s else { return Ok((d, 500)) };
  let policy = RefreshPolicy {
    grace_ms: ms(s.refresh_grace, d.grace_ms, "refreshGrace")?,
    idle_ms: ms(s.refresh_token_max_age, d.idle_ms, "refreshTokenMaxAge")?,
    absolute_ms: ms(s.absolute_max_age, d.absolute_ms, "absoluteMaxAge")?,
  };
  Ok((policy, ms(s.sync_interval, 500, "syncInterval")?.max(10)))
}
