//! The options object `new TokenCore(options)` takes, and its conversion into core
//! settings. Durations are milliseconds, like `express-session`'s `maxAge`. The JS layer
//! validates options first and throws `TypeError`s; this is the second, final check.

use napi_derive::napi;

use crate::jwt::{Algorithm, Policy};
use crate::keys::RotationPolicy;
use crate::napi::error::{bad_option, Code};
use crate::service::Config;

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
  /// Test only: start a fixed clock at this time (ms since the epoch); `setNow` moves it.
  pub fixed_now: Option<f64>,
}

/// Core settings, the cookie name and the optional fixed start time.
pub struct Normalized {
  pub config: Config,
  pub cookie_name: String,
  pub fixed_now: Option<i64>,
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
  let fixed_now = match o.fixed_now {
    None => None,
    Some(_) => Some(ms(o.fixed_now, 0, "fixedNow")?),
  };
  Ok(Normalized {
    config: Config {
      policy,
      rotation,
      algorithm,
    },
    cookie_name,
    fixed_now,
  })
}
