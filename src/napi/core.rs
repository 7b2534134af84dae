//! `TokenCore`: the class JavaScript holds. Every method is synchronous (µs work; an async
//! hop would cost more than the work) and maps 1:1 onto `service::TokenService`.
//!
//! The per-request verify is not a method here but a plain function (`hot.rs`) that names
//! the core by its `id`; `js/token-core.js` puts both behind one JS class. The methods
//! throw errors whose `code` is the core's code.

use std::sync::Arc;

use napi_derive::napi;
use serde_json::{Map, Value};

use crate::encoding;
use crate::error::ErrorKind;
use crate::jwt::Subject;
use crate::keys::KeyState;
use crate::napi::error::{bad_option, to_js, Code};
use crate::napi::options::{normalize, secrets, NapiTokenOptions, TestClock};
use crate::napi::registry;
use crate::service::TokenService;
use crate::token::{Handle, RefreshToken};
use napi::Result;

/// Who a new access token is for.
#[napi(object, object_to_js = false)]
pub struct NapiSubject {
  /// User id (`sub`).
  pub user_id: String,
  /// Session handle (`sid`).
  pub session: String,
  /// Session data version (`dv`). Defaults to 0.
  pub data_version: Option<f64>,
  /// App claims; names of registered claims are refused with `CLAIM_RESERVED`.
  pub claims: Option<Map<String, Value>>,
}

/// A signed access token.
#[napi(object)]
pub struct NapiIssuedAccess {
  /// The compact JWT.
  pub token: String,
  /// Its `jti`.
  pub jti: String,
  /// Its `exp`, seconds since the epoch.
  pub exp: f64,
}

/// A refresh token and what a store keeps of it.
#[napi(object)]
pub struct NapiRefreshToken {
  /// The token text (give it to the client; never store it).
  pub token: String,
  /// Session handle.
  pub handle: String,
  /// Generation: 0 at login, +1 per rotation.
  pub generation: u32,
  /// base64url SHA-256 of its secret: the only thing a store keeps.
  pub digest: String,
}

/// A presented refresh token, authenticated.
#[napi(object)]
pub struct NapiParsedRefresh {
  /// Session handle.
  pub handle: String,
  /// Generation.
  pub generation: u32,
  /// base64url SHA-256 of its secret, to compare with the stored digest.
  pub digest: String,
}

/// One key of the ring, without its material.
#[napi(object)]
pub struct NapiKeyInfo {
  /// Key id.
  pub kid: String,
  /// `"current"`, `"next"` or `"retired"`.
  pub state: String,
  /// When it became (or becomes) current, ms since the epoch.
  pub activates_at: f64,
  /// For a retired key: when it stops verifying, ms since the epoch.
  pub verify_until: Option<f64>,
}

/// The ring's public description.
#[napi(object)]
pub struct NapiKeyRingInfo {
  /// Version; every change increments it.
  pub version: f64,
  /// `"HS256"` or `"EdDSA"`.
  pub algorithm: String,
  /// Its keys.
  pub keys: Vec<NapiKeyInfo>,
}

/// Secrets, key ring and access-token policy; see the module documentation.
#[napi(js_name = "TokenCore")]
pub struct NapiTokenCore {
  service: Arc<TokenService>,
  id: u32,
  clock: TestClock,
}

impl Drop for NapiTokenCore {
  fn drop(&mut self) {
    registry::unregister(self.id);
  }
}

#[napi]
impl NapiTokenCore {
  /// Create a core with a new random key ring.
  #[napi(constructor)]
  pub fn new(options: NapiTokenOptions) -> Result<Self, Code> {
    let n = normalize(&options)?;
    let secrets = secrets(&options)?;
    let setup = n.setup;
    let service = Arc::new(TokenService::new(
      secrets,
      setup.config,
      None,
      n.clock.clock(),
    )?);
    let id = registry::register(registry::Registered {
      verifier: registry::Verifier::Tokens(Arc::clone(&service)),
      cookie_name: setup.cookie_name,
      secure_cookie_name: setup.secure_cookie_name,
      cookie_shape: setup.cookie_shape,
    });
    Ok(Self {
      service,
      id,
      clock: n.clock,
    })
  }

  /// This core's number, for the hot-path functions (`verifyRequestPacked`, …).
  #[napi(getter)]
  pub fn id(&self) -> u32 {
    self.id
  }

  /// Sign an access token with the current key.
  #[napi(catch_unwind)]
  pub fn sign_access_token(&self, subject: NapiSubject) -> Result<NapiIssuedAccess, Code> {
    let dv = match subject.data_version {
      None => 0,
      Some(v) if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9.0e15 => v as u64,
      Some(_) => return Err(bad_option("dataVersion must be a non-negative integer")),
    };
    let claims = subject
      .claims
      .map(whole_numbers_as_integers)
      .unwrap_or_default();
    let claims = &claims;
    let s = Subject {
      user_id: &subject.user_id,
      session: &subject.session,
      data_version: dv,
      claims,
    };
    let issued = self.service.sign_access(&s).map_err(to_js)?;
    Ok(NapiIssuedAccess {
      token: issued.token,
      jti: issued.jti,
      exp: issued.exp as f64,
    })
  }

  /// A new random session handle (128 bits).
  #[napi]
  pub fn new_session_handle(&self) -> Result<String, Code> {
    Handle::generate().map(|h| h.to_text()).map_err(to_js)
  }

  /// The first refresh token of the session `handle`.
  #[napi(catch_unwind)]
  pub fn issue_refresh_token(&self, handle: String) -> Result<NapiRefreshToken, Code> {
    let h = Handle::parse(&handle, ErrorKind::InvalidArgument).map_err(to_js)?;
    let t = self.service.issue_refresh(h).map_err(to_js)?;
    Ok(self.refresh_to_js(&t))
  }

  /// Parse and authenticate a presented refresh token (`REFRESH_MALFORMED`,
  /// `REFRESH_FORGED`).
  #[napi(catch_unwind)]
  pub fn parse_refresh_token(&self, token: String) -> Result<NapiParsedRefresh, Code> {
    let t = self
      .service
      .parse_refresh(token.as_bytes())
      .map_err(to_js)?;
    Ok(NapiParsedRefresh {
      handle: t.handle().to_text(),
      generation: t.generation(),
      digest: encoding::encode(&t.digest()),
    })
  }

  /// The deterministic successor of a presented refresh token, with a 16-byte salt given
  /// as 22 base64url characters.
  #[napi(catch_unwind)]
  pub fn refresh_successor(&self, token: String, salt: String) -> Result<NapiRefreshToken, Code> {
    let t = self
      .service
      .parse_refresh(token.as_bytes())
      .map_err(to_js)?;
    let salt =
      encoding::decode_exact::<16>(salt.as_bytes(), ErrorKind::InvalidArgument).map_err(to_js)?;
    let next = t.successor(self.service.secrets(), &salt).map_err(to_js)?;
    Ok(self.refresh_to_js(&next))
  }

  /// Whether a presented refresh token is genuine and its secret's digest is `digest`
  /// (base64url, as `issueRefreshToken` returned it). Constant time; any failure is `false`.
  #[napi(catch_unwind)]
  pub fn refresh_matches(&self, token: String, digest: String) -> bool {
    let Ok(stored) = encoding::decode_exact::<32>(digest.as_bytes(), ErrorKind::InvalidArgument)
    else {
      return false;
    };
    self
      .service
      .parse_refresh(token.as_bytes())
      .is_ok_and(|t| t.matches(&stored))
  }

  /// A CSRF token bound to the session `handle`.
  #[napi(catch_unwind)]
  pub fn csrf_token(&self, handle: String) -> Result<String, Code> {
    let h = Handle::parse(&handle, ErrorKind::InvalidArgument).map_err(to_js)?;
    self.service.csrf_token(&h).map_err(to_js)
  }

  /// Whether `token` is a CSRF token of the session `handle`. A mismatch is `false`.
  #[napi(catch_unwind)]
  pub fn verify_csrf_token(&self, token: String, handle: String) -> bool {
    match Handle::parse(&handle, ErrorKind::CsrfInvalid) {
      Ok(h) => self.service.verify_csrf(token.as_bytes(), &h).is_ok(),
      Err(_) => false,
    }
  }

  /// The key ring sealed for storage (encrypted with the app's secret).
  #[napi]
  pub fn seal_key_ring(&self) -> Result<String, Code> {
    self.service.seal_ring().map_err(to_js)
  }

  /// Open a sealed ring (from the store) and use it: if it is newer than the current
  /// ring, or always when `replace` is true (a process adopting the shared ring at start).
  /// Returns whether it was installed.
  #[napi(catch_unwind)]
  pub fn open_key_ring(&self, sealed: String, replace: Option<bool>) -> Result<bool, Code> {
    self
      .service
      .open_ring(&sealed, replace.unwrap_or(false))
      .map_err(to_js)
  }

  /// Rotate the signing keys if due; returns whether the ring changed.
  #[napi]
  pub fn rotate_keys_if_due(&self) -> Result<bool, Code> {
    self
      .service
      .rotate_if_due()
      .map(|r| r.is_some())
      .map_err(to_js)
  }

  /// Emergency: stop using and accepting key `kid` now.
  #[napi(catch_unwind)]
  pub fn revoke_key(&self, kid: String) -> Result<(), Code> {
    self.service.revoke_key(&kid).map(|_| ()).map_err(to_js)
  }

  /// The ring's public description (no key material).
  #[napi]
  pub fn key_ring_info(&self) -> NapiKeyRingInfo {
    let ring = self.service.ring();
    NapiKeyRingInfo {
      version: ring.version() as f64,
      algorithm: ring.alg().name().to_owned(),
      keys: ring
        .keys()
        .iter()
        .map(|k| {
          let (state, until) = match k.state() {
            KeyState::Current => ("current", None),
            KeyState::Next => ("next", None),
            KeyState::Retired { verify_until } => ("retired", Some(verify_until.0 as f64)),
          };
          NapiKeyInfo {
            kid: k.kid().to_owned(),
            state: state.to_owned(),
            activates_at: k.activates_at().0 as f64,
            verify_until: until,
          }
        })
        .collect(),
    }
  }

  /// The public JWK Set (`{keys: []}` for HS256).
  #[napi]
  pub fn jwks(&self) -> Value {
    self.service.jwks()
  }

  /// Test only: move the fixed clock (requires the `fixedNow` option).
  #[napi]
  pub fn set_now(&self, ms: f64) -> Result<(), Code> {
    self.clock.set_now(ms)
  }

  /// Test only: sign exact header and payload JSON text with the current key, so tests can
  /// build hostile tokens (duplicate members, odd types) that carry a valid signature.
  /// Refused unless the core runs on the test clock (`fixedNow`): it could mint tokens of
  /// any lifetime.
  #[napi(catch_unwind)]
  pub fn dangerous_sign_raw(
    &self,
    header_json: String,
    payload_json: String,
  ) -> Result<String, Code> {
    if !self.clock.is_fixed() {
      return Err(bad_option(
        "dangerousSignRaw is for tests only: it needs the fixedNow option",
      ));
    }
    let ring = self.service.ring();
    let key = ring.current();
    crate::jwt::jws::sign(
      header_json.as_bytes(),
      payload_json.as_bytes(),
      key.encoding_key(),
      key.alg(),
    )
    .map_err(to_js)
  }

  /// The current signing key's id.
  #[napi]
  pub fn current_kid(&self) -> String {
    self.service.ring().current().kid().to_owned()
  }

  /// Now, by the core's clock (ms since the epoch).
  #[napi]
  pub fn now(&self) -> f64 {
    self.service.now().0 as f64
  }
}

impl NapiTokenCore {
  fn refresh_to_js(&self, t: &RefreshToken) -> NapiRefreshToken {
    NapiRefreshToken {
      token: t.encode(self.service.secrets()),
      handle: t.handle().to_text(),
      generation: t.generation(),
      digest: encoding::encode(&t.digest()),
    }
  }
}

/// JS has one number type; napi hands numbers outside the 32-bit range to Rust as floats,
/// which would be written `3780219819394602.0`. Write whole numbers that are exact in an
/// f64 (|n| ≤ 2^53) as JSON integers, so a claim reads back exactly as it was given.
fn whole_numbers_as_integers(m: Map<String, Value>) -> Map<String, Value> {
  fn fix(v: Value) -> Value {
    match v {
      Value::Number(n) => match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
          Value::from(f as i64)
        }
        _ => Value::Number(n),
      },
      Value::Array(a) => Value::Array(a.into_iter().map(fix).collect()),
      Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, fix(v))).collect()),
      other => other,
    }
  }
  m.into_iter().map(|(k, v)| (k, fix(v))).collect()
}
