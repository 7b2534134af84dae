//! The options objects JS gives (`new TokenCore(options)`, `store.startEngine(options,
//! session)`) and their conversion into the core's settings (`engine::settings`), which
//! hold the defaults and the checks. This file only converts: JS numbers into whole
//! milliseconds, the algorithm's name into the core's enum, `fixedNow` into the test clock.
//!
//! Guarantees: an option of the wrong shape (a fraction of a millisecond, a negative
//! number, an unknown algorithm) is `CONFIG_INVALID` with a message naming the option;
//! [`option_names`] lists the fields of both structs as serde's derive sees them, so JS's
//! list of option names (`ENGINE_OPTIONS`) is these structs, written once.
//! [`engine_options_problem`] runs the same conversion and checks (secrets included) without
//! starting anything, so `session()` refuses a bad engine option at setup.
//! Not guaranteed: that JS passes nothing else (extra properties are ignored here; the
//! middleware refuses unknown options).

use std::sync::Arc;

use napi_derive::napi;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::clock::{Clock, FixedClock, SystemClock, UnixMillis};
use crate::engine::settings::{EngineSettings, TokenSettings, TokenSetup};
use crate::error::Error;
use crate::jwt::Algorithm;
use crate::napi::error::{bad_option, Result};
use crate::secret::{Secrets, MIN_SECRET_LEN};
use crate::session::RefreshPolicy;

/// Options of `TokenCore` and of the token service under an engine.
#[napi(object, object_to_js = false)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NapiTokenOptions {
  /// The app's secrets: the first signs and seals, all verify. Each at least 32 bytes.
  pub secret: Vec<String>,
  /// Development only: accept secrets shorter than 32 bytes. `session()` sets it outside
  /// production, and warns. Defaults to false.
  pub allow_short_secret: Option<bool>,
  /// `"HS256"` or `"EdDSA"`. Defaults to `"HS256"`.
  pub algorithm: Option<String>,
  /// `iss` of issued tokens, required on verify. Defaults to `"tandem-session"`.
  pub issuer: Option<String>,
  /// `aud` of issued tokens, required on verify. Defaults to `"tandem-session"`.
  pub audience: Option<String>,
  /// Access-token lifetime in ms, whole seconds. Defaults to 900000 (15 minutes).
  pub access_token_max_age: Option<f64>,
  /// Clock skew tolerated on `exp`/`nbf`/`iat`, ms, whole seconds. Defaults to 5000; at
  /// most 300000.
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
  /// The access cookie is spelled `s:<sid>.<jwt>` (express-session's shape; the
  /// middleware's) rather than the JWT alone. Defaults to false.
  pub access_cookie_with_sid: Option<bool>,
  /// Test only: start a fixed clock at this time (ms since the epoch); `setNow` moves it.
  /// Defaults to the system clock.
  pub fixed_now: Option<f64>,
}

/// Session options of `startEngine`, in milliseconds like `express-session`'s `maxAge`.
#[napi(object, object_to_js = false)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NapiSessionOptions {
  /// Grace window for a refresh token's immediate predecessor. Defaults to 10000; at most
  /// 60000.
  pub refresh_grace: Option<f64>,
  /// Idle lifetime of a session (refresh token). Defaults to 30 days.
  pub refresh_token_max_age: Option<f64>,
  /// Absolute lifetime of a session. Defaults to 90 days.
  pub absolute_max_age: Option<f64>,
  /// Idle lifetime of an anonymous session (data written before login). Defaults to 1 day;
  /// a longer value than `refreshTokenMaxAge` counts as `refreshTokenMaxAge`.
  pub anonymous_max_age: Option<f64>,
  /// How often revocations and the key ring are read from the store. Defaults to 500;
  /// values under 10 count as 10.
  pub sync_interval: Option<f64>,
  /// The largest one session's data may grow, bytes (its keys and values as JSON).
  /// Defaults to 65536; from 256 to 16777216.
  pub max_data_bytes: Option<f64>,
  /// The most live sessions one user may hold: a login past it logs out the user's least
  /// recently refreshed session. Defaults to 100; from 1 to 1000000.
  pub max_sessions_per_user: Option<f64>,
  /// When no configured secret opens the store's key ring, replace it by a new one sealed
  /// with the current secret, logging everyone out (see `engine::key_ring`). Defaults to
  /// false: the start fails with `KEYRING_UNREADABLE` and nothing is written.
  pub reset_key_ring: Option<bool>,
}

/// The names of the options, by the object they belong to.
#[napi(object)]
pub struct NapiOptionNames {
  /// The fields of `NapiTokenOptions` (`new TokenCore(options)`).
  pub token: Vec<String>,
  /// The fields of `NapiSessionOptions` (the engine's session options).
  pub session: Vec<String>,
}

/// The JS names of the options `TokenCore` and `startEngine` read, from their structs.
#[napi]
pub fn option_names() -> NapiOptionNames {
  let names = |fields: &[&str]| fields.iter().map(|&f| f.to_owned()).collect();
  NapiOptionNames {
    token: names(field_names::<NapiTokenOptions>()),
    session: names(field_names::<NapiSessionOptions>()),
  }
}

/// Validated token settings and the clock.
pub struct Normalized {
  /// The core's config and cookie names.
  pub setup: TokenSetup,
  /// The clock the options chose.
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
  pub fn set_now(&self, ms: f64) -> Result<()> {
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

/// A JS number as a non-negative whole number (at most 9e15), `message` when it is not.
fn whole(v: Option<f64>, message: &str) -> Result<Option<i64>> {
  match v {
    None => Ok(None),
    Some(x) if x.is_finite() && (0.0..=9.0e15).contains(&x) && x.fract() == 0.0 => {
      Ok(Some(x as i64))
    }
    Some(_) => Err(bad_option(message)),
  }
}

/// A JS number as a count (bytes, sessions), `message` when it is not a whole number.
fn count(v: Option<f64>, message: &str) -> Result<Option<usize>> {
  Ok(whole(v, message)?.map(|n| usize::try_from(n).unwrap_or(usize::MAX)))
}

/// A JS number as whole milliseconds, naming the option when it is not.
fn ms(v: Option<f64>, name: &str) -> Result<Option<i64>> {
  whole(v, &format!("{name} must be a whole number of milliseconds"))
}

/// Convert the token options over `TokenSettings::default()`, and validate them.
pub fn normalize(o: &NapiTokenOptions) -> Result<Normalized> {
  let d = TokenSettings::default();
  let algorithm = match o.algorithm.as_deref() {
    None => d.algorithm,
    Some(name) => Algorithm::from_name(name)
      .ok_or_else(|| bad_option("algorithm must be \"HS256\" or \"EdDSA\""))?,
  };
  let settings = TokenSettings {
    algorithm,
    issuer: o.issuer.clone().unwrap_or(d.issuer),
    audience: o.audience.clone().unwrap_or(d.audience),
    access_token_max_age_ms: ms(o.access_token_max_age, "accessTokenMaxAge")?
      .unwrap_or(d.access_token_max_age_ms),
    leeway_ms: ms(o.leeway, "leeway")?.unwrap_or(d.leeway_ms),
    key_rotation_interval_ms: ms(o.key_rotation_interval, "keyRotationInterval")?
      .unwrap_or(d.key_rotation_interval_ms),
    retired_key_ttl_ms: ms(o.retired_key_ttl, "retiredKeyTtl")?.or(d.retired_key_ttl_ms),
    max_token_length: count(
      o.max_token_length,
      "maxTokenLength must be a whole number of bytes",
    )?
    .unwrap_or(d.max_token_length),
    access_cookie_name: o.access_cookie_name.clone().unwrap_or(d.access_cookie_name),
    secure_access_cookie_name: o
      .secure_access_cookie_name
      .clone()
      .or(d.secure_access_cookie_name),
    access_cookie_with_sid: o.access_cookie_with_sid.unwrap_or(d.access_cookie_with_sid),
  };
  let fixed = ms(o.fixed_now, "fixedNow")?.map(|t| Arc::new(FixedClock::at(UnixMillis(t))));
  Ok(Normalized {
    setup: settings.validate().map_err(invalid)?,
    clock: TestClock(fixed),
  })
}

/// Shortest secret used without `allowShortSecret`, in bytes (UTF-8 bytes of a string).
#[napi]
pub const MIN_SECRET_LENGTH: u32 = MIN_SECRET_LEN as u32;

/// The secrets the options give, checked (a short one only with `allowShortSecret`).
pub fn secrets(o: &NapiTokenOptions) -> Result<Secrets> {
  let checked = if o.allow_short_secret.unwrap_or(false) {
    Secrets::allowing_short(&o.secret)
  } else {
    Secrets::new(&o.secret)
  };
  checked.map_err(invalid)
}

/// Convert the session options over `EngineSettings::default()`, and validate them.
pub fn normalize_session(s: Option<NapiSessionOptions>) -> Result<EngineSettings> {
  let d = EngineSettings::default();
  let settings = match s {
    None => d,
    Some(s) => EngineSettings {
      refresh: RefreshPolicy {
        grace_ms: ms(s.refresh_grace, "refreshGrace")?.unwrap_or(d.refresh.grace_ms),
        idle_ms: ms(s.refresh_token_max_age, "refreshTokenMaxAge")?.unwrap_or(d.refresh.idle_ms),
        absolute_ms: ms(s.absolute_max_age, "absoluteMaxAge")?.unwrap_or(d.refresh.absolute_ms),
        anonymous_idle_ms: ms(s.anonymous_max_age, "anonymousMaxAge")?
          .unwrap_or(d.refresh.anonymous_idle_ms),
      },
      sync_interval_ms: ms(s.sync_interval, "syncInterval")?.unwrap_or(d.sync_interval_ms),
      max_data_bytes: count(
        s.max_data_bytes,
        "maxDataBytes must be a whole number of bytes from 256 to 16777216",
      )?
      .unwrap_or(d.max_data_bytes),
      max_sessions_per_user: count(
        s.max_sessions_per_user,
        "maxSessionsPerUser must be a whole number from 1 to 1000000",
      )?
      .unwrap_or(d.max_sessions_per_user),
      reset_key_ring: s.reset_key_ring.unwrap_or(d.reset_key_ring),
    },
  };
  settings.validate().map_err(invalid)
}

/// A core settings error as the binding's option error: its text names the option.
fn invalid(e: Error) -> napi::Error<crate::napi::error::Code> {
  bad_option(e.detail())
}

/// The first problem with an engine's options (token and session options in one object,
/// as `session()` takes them), as a sentence naming the option; `None` when an engine would
/// start with them. A check only: nothing is started or derived beyond the secrets' keys.
#[napi]
pub fn engine_options_problem(options: serde_json::Value) -> Option<String> {
  check_engine_options(&options).err()
}

fn check_engine_options(options: &serde_json::Value) -> std::result::Result<(), String> {
  let token: NapiTokenOptions = shaped(options)?;
  let session: NapiSessionOptions = shaped(options)?;
  normalize(&token).map_err(|e| e.reason)?;
  secrets(&token).map_err(|e| e.reason)?;
  normalize_session(Some(session)).map_err(|e| e.reason)?;
  Ok(())
}

/// `options` read as `T`, or a sentence naming the option whose value has the wrong type.
fn shaped<T: serde::de::DeserializeOwned>(
  options: &serde_json::Value,
) -> std::result::Result<T, String> {
  serde_path_to_error::deserialize(options).map_err(|e| {
    let path = e.path().to_string();
    let path = if path == "." {
      "session".to_owned()
    } else {
      path
    };
    format!("{path} option has the wrong type: {}", e.into_inner())
  })
}

/// The serialized names of a struct's fields, as serde's derive lists them: it hands them
/// to `deserialize_struct`, where this deserializer keeps them and stops.
fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
  struct Probe<'a>(&'a mut &'static [&'static str]);

  impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Self::Error> {
      Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
      self,
      _name: &'static str,
      fields: &'static [&'static str],
      _: V,
    ) -> std::result::Result<V::Value, Self::Error> {
      *self.0 = fields;
      Err(de::Error::custom("only the names were wanted"))
    }

    serde::forward_to_deserialize_any! {
      bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
      option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
      ignored_any
    }
  }

  let mut names: &'static [&'static str] = &[];
  // Always an error: the probe stops once it has the names.
  let _ = T::deserialize(Probe(&mut names));
  names
}
