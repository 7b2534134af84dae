//! The session engine as JS sees it: `NativeEngine`, started from a store
//! (`store.startEngine(options)`), with async methods (the store I/O runs on napi's tokio
//! runtime). Its per-request verify is the hot path of `hot.rs`, by `id`.
//!
//! Guarantees: a conversion only. The engine's behaviour is `engine::Engine`'s, its
//! background loop `Engine::background` (spawned here on napi's runtime, aborted when the
//! JS object is collected, or at `close()`); failures reject with `err.code` set (`error.rs`).

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Either, Null, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use serde_json::{Map, Value};

use crate::engine::{Engine, NewSession, RefreshOutcome, SessionInfo, Theft, Tokens};
use crate::error::ErrorKind;
use crate::napi::error::{promise, to_js, Code, Result};
use crate::napi::options::{
  normalize, normalize_session, secrets, NapiSessionOptions, NapiTokenOptions, TestClock,
};
use crate::napi::registry;
use crate::service::TokenService;
use crate::session::owner::MAX_USER_ID_UNITS;
use crate::session::{public_user_id, DeviceInfo, Owner};
use crate::token::Handle;

/// Where a session was used from.
#[napi(object)]
#[derive(Default)]
pub struct NapiDevice {
  /// IP address.
  pub ip: Option<String>,
  /// `User-Agent`.
  pub user_agent: Option<String>,
}

/// A login.
#[napi(object, object_to_js = false)]
pub struct NapiNewSession {
  /// The user id; null or absent for an anonymous session (data kept before login).
  pub user_id: Option<String>,
  /// Initial session data.
  pub data: Option<Map<String, Value>>,
  /// App claims for the access tokens.
  pub claims: Option<Map<String, Value>>,
  /// The device logging in.
  pub device: Option<NapiDevice>,
  /// The handle of the session this browser had, to revoke.
  pub replaces: Option<String>,
  /// The new session's handle (22 base64url characters, 128 bits); random when absent.
  pub handle: Option<String>,
}

/// Tokens for the client.
#[napi(object)]
pub struct NapiTokens {
  /// Session handle.
  pub handle: String,
  /// The user id; null for an anonymous session.
  #[napi(ts_type = "string | null")]
  pub user_id: UserId,
  /// The access token's `sub`, opaque: what `reissue` takes back.
  pub subject: String,
  /// Access token.
  pub access_token: String,
  /// Its expiry, seconds since the epoch.
  pub access_expires: f64,
  /// Refresh token.
  pub refresh_token: String,
}

/// A re-signed access token.
#[napi(object)]
pub struct NapiIssued {
  /// The access token.
  pub access_token: String,
  /// Its expiry, seconds since the epoch.
  pub access_expires: f64,
}

/// A detected theft.
#[napi(object)]
pub struct NapiTheft {
  /// The revoked session.
  pub handle: String,
  /// Its user; null for an anonymous session.
  #[napi(ts_type = "string | null")]
  pub user_id: UserId,
  /// Device of the session's last refresh.
  pub last_device: NapiDevice,
  /// Device that presented the reused token.
  pub presenter: NapiDevice,
}

/// What a refresh came to: `outcome` is `"refreshed"`, `"theft"` or `"refused"`.
#[napi(object)]
pub struct NapiRefreshOutcome {
  /// `"refreshed"`, `"theft"` or `"refused"`.
  pub outcome: String,
  /// New tokens, when refreshed.
  pub tokens: Option<NapiTokens>,
  /// The theft, when detected.
  pub theft: Option<NapiTheft>,
  /// Why, when refused.
  pub code: Option<String>,
}

/// One session of a user, for "your devices".
#[napi(object)]
pub struct NapiSessionInfo {
  /// Handle.
  pub handle: String,
  /// User; null for an anonymous session.
  #[napi(ts_type = "string | null")]
  pub user_id: UserId,
  /// Created, ms since the epoch.
  pub created_at: f64,
  /// Last refreshed, ms.
  pub last_refresh_at: f64,
  /// Device at creation.
  pub created_device: NapiDevice,
  /// Device at the last refresh.
  pub last_device: NapiDevice,
  /// When it ends unless refreshed, ms.
  pub expires_at: f64,
}

/// A session's data.
#[napi(object)]
pub struct NapiSessionData {
  /// User; null for an anonymous session.
  #[napi(ts_type = "string | null")]
  pub user_id: UserId,
  /// The data.
  pub data: Value,
  /// Its version.
  pub data_version: f64,
  /// App claims.
  pub claims: Value,
}

/// What Node's side writes after a patch (`Engine#patchBridged`).
#[napi(object)]
pub struct NapiBridgedPatch {
  /// The session object to `set`, as JSON text.
  pub json: String,
  /// The new data version.
  pub data_version: f64,
}

/// A session record's data as JS sees it.
fn session_data(r: crate::session::SessionRecord) -> NapiSessionData {
  NapiSessionData {
    user_id: public(&r.user_id),
    data: Value::Object(r.data),
    data_version: r.data_version as f64,
    claims: Value::Object(r.claims),
  }
}

/// JS's `changes` (`null` deletes a key) as a data patch.
fn data_patch(changes: Map<String, Value>) -> Vec<(String, Option<Value>)> {
  changes
    .into_iter()
    .map(|(k, v)| (k, if v.is_null() { None } else { Some(v) }))
    .collect()
}

/// The JSON text a bridged store's session object became on Node's side; `STORE_CORRUPT`
/// if it does not parse.
fn stored_value(json: &str) -> napi::Result<Value, Code> {
  serde_json::from_str(json).map_err(|_| to_js(crate::store::row::corrupt()))
}

fn device(d: Option<NapiDevice>) -> DeviceInfo {
  let d = d.unwrap_or_default();
  DeviceInfo::from_client(d.ip, d.user_agent)
}

fn napi_device(d: DeviceInfo) -> NapiDevice {
  NapiDevice {
    ip: d.ip,
    user_agent: d.user_agent,
  }
}

/// Longest user id a login may use, in characters as JS counts them (`length`).
#[napi]
pub const MAX_USER_ID_LENGTH: u32 = MAX_USER_ID_UNITS as u32;

/// The app's user id as JS gets it: a string, or null for an anonymous session.
pub type UserId = Either<String, Null>;

/// The app's user id for a stored one: null for an anonymous session.
fn public(stored: &str) -> UserId {
  public_user_id(stored).map_or(Either::B(Null), |u| Either::A(u.to_owned()))
}

fn tokens_js(t: Tokens) -> NapiTokens {
  NapiTokens {
    handle: t.handle.to_text(),
    user_id: public(&t.user_id),
    subject: t.user_id,
    access_token: t.access.token,
    access_expires: t.access.exp as f64,
    refresh_token: t.refresh,
  }
}

fn theft_js(t: Theft) -> NapiTheft {
  NapiTheft {
    handle: t.handle.to_text(),
    user_id: public(&t.user_id),
    last_device: napi_device(t.last_device),
    presenter: napi_device(t.presenter),
  }
}

fn info_js(i: SessionInfo) -> NapiSessionInfo {
  NapiSessionInfo {
    handle: i.handle.to_text(),
    user_id: public(&i.user_id),
    created_at: i.created_at.0 as f64,
    last_refresh_at: i.last_refresh_at.0 as f64,
    created_device: napi_device(i.created_device),
    last_device: napi_device(i.last_device),
    expires_at: i.expires_at.0 as f64,
  }
}

fn refresh_outcome_js(out: RefreshOutcome) -> NapiRefreshOutcome {
  let none = NapiRefreshOutcome {
    outcome: String::new(),
    tokens: None,
    theft: None,
    code: None,
  };
  match out {
    RefreshOutcome::Refreshed(t) => NapiRefreshOutcome {
      outcome: "refreshed".into(),
      tokens: Some(tokens_js(t)),
      ..none
    },
    RefreshOutcome::Theft(t) => NapiRefreshOutcome {
      outcome: "theft".into(),
      theft: Some(theft_js(t)),
      ..none
    },
    RefreshOutcome::Refused(k) => NapiRefreshOutcome {
      outcome: "refused".into(),
      code: Some(k.code().into()),
      ..none
    },
  }
}

fn handle(text: &str) -> Result<Handle> {
  Ok(Handle::parse(text, ErrorKind::InvalidArgument)?)
}

/// Start a session engine over `store` (adopts or publishes the key ring); the body of
/// `NativeStore#startEngine` (declared in `store.rs`, beside its class, so that napi-rs
/// names the class before it sees its methods).
pub async fn start(
  store: Arc<dyn crate::store::Store>,
  options: NapiTokenOptions,
  session: Option<NapiSessionOptions>,
) -> Result<NapiEngine> {
  let n = normalize(&options)?;
  let secrets = secrets(&options)?;
  let settings = normalize_session(session)?;
  let setup = n.setup;
  let tokens = Arc::new(TokenService::new(
    secrets,
    setup.config,
    None,
    n.clock.clock(),
  )?);
  let started = if settings.reset_key_ring {
    Engine::start_resetting(tokens, store, settings.refresh).await?
  } else {
    Engine::start(tokens, store, settings.refresh).await?
  };
  let engine = Arc::new(
    started
      .with_max_data_bytes(settings.max_data_bytes)
      .with_max_sessions_per_user(settings.max_sessions_per_user),
  );
  let id = registry::register(registry::Registered {
    verifier: registry::Verifier::Engine(Arc::clone(&engine)),
    cookie_name: setup.cookie_name,
    secure_cookie_name: setup.secure_cookie_name,
    cookie_shape: setup.cookie_shape,
  });
  let interval = Duration::from_millis(settings.sync_interval_ms.unsigned_abs());
  let task = napi::bindgen_prelude::spawn(engine.background(interval));
  Ok(NapiEngine {
    engine,
    id,
    clock: n.clock,
    task: Some(task),
    closed: false,
  })
}

/// A session engine; see the module documentation.
#[napi(js_name = "NativeEngine")]
pub struct NapiEngine {
  engine: Arc<Engine>,
  id: u32,
  clock: TestClock,
  task: Option<tokio::task::JoinHandle<()>>,
  closed: bool,
}

impl Drop for NapiEngine {
  fn drop(&mut self) {
    self.close();
  }
}

#[napi]
impl NapiEngine {
  /// Stop the background task (syncs, sweeps) and forget the hot-path number, whose
  /// verify then answers `INTERNAL`; a second call does nothing. The JS wrapper refuses
  /// every call after it; the store's own connections and listener end when the last
  /// reference to the store goes (the store object in JS holds one).
  #[napi]
  pub fn close(&mut self) {
    if let Some(t) = self.task.take() {
      t.abort();
    }
    if !self.closed {
      self.closed = true;
      registry::unregister(self.id);
    }
  }

  /// The counters since this engine started (`engine::metrics`).
  #[napi]
  pub fn metrics(&self) -> crate::napi::metrics::NapiMetrics {
    self.engine.metrics().into()
  }

  /// Whether this engine's start replaced a stored key ring that no secret opened
  /// (`resetKeyRing`), logging everyone out.
  #[napi(getter)]
  pub fn key_ring_reset(&self) -> bool {
    self.engine.key_ring_reset()
  }

  /// The number the hot-path functions take (`verifyRequestPacked(id, …)`).
  #[napi(getter)]
  pub fn id(&self) -> u32 {
    self.id
  }

  /// Log in: a new session (new handle, new tokens).
  #[napi]
  pub fn create<'env>(
    &self,
    env: &'env Env,
    session: NapiNewSession,
  ) -> napi::Result<PromiseRaw<'env, NapiTokens>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let new = NewSession {
        owner: session.user_id.map_or(Owner::Anonymous, Owner::User),
        data: session.data.unwrap_or_default(),
        claims: session.claims.unwrap_or_default(),
        device: device(session.device),
        replaces: session.replaces.as_deref().map(handle).transpose()?,
        handle: session.handle.as_deref().map(handle).transpose()?,
      };
      Ok(tokens_js(engine.create(new).await?))
    })
  }

  /// Refresh with a presented refresh token. A refused token is an outcome, not an error;
  /// the promise rejects only when the refresh could not be decided (`STORE_UNAVAILABLE`).
  #[napi]
  pub fn refresh<'env>(
    &self,
    env: &'env Env,
    token: String,
    device_info: Option<NapiDevice>,
  ) -> napi::Result<PromiseRaw<'env, NapiRefreshOutcome>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let out = engine
        .refresh(token.as_bytes(), device(device_info))
        .await?;
      Ok(refresh_outcome_js(out))
    })
  }

  /// Revoke a session; resolves to whether it existed.
  #[napi]
  pub fn revoke<'env>(
    &self,
    env: &'env Env,
    session: String,
  ) -> napi::Result<PromiseRaw<'env, bool>> {
    let engine = Arc::clone(&self.engine);
    promise(
      env,
      async move { Ok(engine.revoke(&handle(&session)?).await?) },
    )
  }

  /// Revoke every session of a user, except `except`; resolves to the revoked handles.
  #[napi]
  pub fn revoke_user<'env>(
    &self,
    env: &'env Env,
    user_id: String,
    except: Option<String>,
  ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let except = except.as_deref().map(handle).transpose()?;
      let out = engine.revoke_user(&user_id, except).await?;
      Ok(out.iter().map(Handle::to_text).collect())
    })
  }

  /// The live sessions of a user, most recently refreshed first.
  #[napi]
  pub fn list_user<'env>(
    &self,
    env: &'env Env,
    user_id: String,
  ) -> napi::Result<PromiseRaw<'env, Vec<NapiSessionInfo>>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let list = engine.list_user(&user_id).await?;
      Ok(list.into_iter().map(info_js).collect())
    })
  }

  /// A live session's data, or null.
  #[napi(ts_return_type = "Promise<NapiSessionData | null>")]
  pub fn get<'env>(
    &self,
    env: &'env Env,
    session: String,
  ) -> napi::Result<PromiseRaw<'env, Option<NapiSessionData>>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let r = engine.get(&handle(&session)?).await?;
      Ok(r.map(session_data))
    })
  }

  /// The session in `json`, what an express-session store's `get` of key `session` gave
  /// (read on Node's side), decoded and checked in Rust; null when it is expired or known
  /// to be revoked. No I/O. Throws `STORE_CORRUPT` for anything that is no session of ours.
  #[napi]
  pub fn decode_bridged(
    &self,
    session: String,
    json: String,
  ) -> napi::Result<Option<NapiSessionData>, Code> {
    let r = self
      .engine
      .decode_bridged(&handle(&session)?, &stored_value(&json)?)
      .map_err(to_js)?;
    Ok(r.map(session_data))
  }

  /// Node's side's touch over an express-session store, under the session's lock
  /// (`NativeStore#tryHold`): `json` is what the store holds under `session` now; the
  /// answer is the JSON text to `touch` it with, or null when the session is known to be
  /// revoked (touch nothing). No I/O. Throws `STORE_CORRUPT`.
  #[napi]
  pub fn touch_bridged(&self, session: String, json: String) -> napi::Result<Option<String>, Code> {
    let out = self
      .engine
      .touch_bridged(&handle(&session)?, &stored_value(&json)?)
      .map_err(to_js)?;
    Ok(out.map(|v| v.to_string()))
  }

  /// Node's side's patch over an express-session store, under the session's lock
  /// (`NativeStore#tryHold`): `json` is what the store holds under `session` now; the
  /// answer is the JSON text to `set` and the new data version, or null when the session
  /// is known to be revoked (write nothing). No I/O. Throws `STORE_CORRUPT`.
  #[napi]
  pub fn patch_bridged(
    &self,
    session: String,
    json: String,
    changes: Map<String, Value>,
  ) -> napi::Result<Option<NapiBridgedPatch>, Code> {
    let out = self
      .engine
      .patch_bridged(
        &handle(&session)?,
        &stored_value(&json)?,
        &data_patch(changes),
      )
      .map_err(to_js)?;
    Ok(out.map(|(value, version)| NapiBridgedPatch {
      json: value.to_string(),
      data_version: version as f64,
    }))
  }

  /// Change some keys of a session's data (`null` deletes a key); resolves to the new
  /// data version, or null when the session is gone (nothing is written).
  #[napi(ts_return_type = "Promise<number | null>")]
  pub fn patch_data<'env>(
    &self,
    env: &'env Env,
    session: String,
    changes: Map<String, Value>,
  ) -> napi::Result<PromiseRaw<'env, Option<f64>>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let h = handle(&session)?;
      let v = engine.patch_data(&h, &data_patch(changes)).await?;
      Ok(v.map(|v| v as f64))
    })
  }

  /// The app used the session and changed nothing: the store's end-of-request call
  /// (express-session's `touch`, or with `rewrite` its `resave`). Resolves to whether the
  /// session still exists. The native stores need no call and resolve `true` at once.
  #[napi(ts_return_type = "Promise<boolean>")]
  pub fn keep_alive<'env>(
    &self,
    env: &'env Env,
    session: String,
    rewrite: bool,
  ) -> napi::Result<PromiseRaw<'env, bool>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move {
      let h = handle(&session)?;
      Ok(engine.keep_alive(&h, rewrite).await?)
    })
  }

  /// Read revocations and the key ring from the store now (the background task does this
  /// every `syncInterval`).
  #[napi(ts_return_type = "Promise<void>")]
  pub fn sync<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move { Ok(engine.sync().await?) })
  }

  /// Emergency: revoke signing key `kid` for every process sharing the store.
  #[napi(ts_return_type = "Promise<void>")]
  pub fn revoke_key<'env>(
    &self,
    env: &'env Env,
    kid: String,
  ) -> napi::Result<PromiseRaw<'env, ()>> {
    let engine = Arc::clone(&self.engine);
    promise(env, async move { Ok(engine.revoke_key(&kid).await?) })
  }

  /// The current signing key's id.
  #[napi]
  pub fn current_kid(&self) -> String {
    self.engine.tokens().ring().current().kid().to_owned()
  }

  /// A CSRF token bound to a session.
  #[napi]
  pub fn csrf_token(&self, session: String) -> napi::Result<String, Code> {
    let h = handle(&session)?;
    self.engine.tokens().csrf_token(&h).map_err(to_js)
  }

  /// Whether a CSRF token belongs to a session.
  #[napi]
  pub fn verify_csrf_token(&self, token: String, session: String) -> bool {
    Handle::parse(&session, ErrorKind::CsrfInvalid).is_ok_and(|h| {
      self
        .engine
        .tokens()
        .verify_csrf(token.as_bytes(), &h)
        .is_ok()
    })
  }

  /// The public JWK Set.
  #[napi]
  pub fn jwks(&self) -> Value {
    self.engine.tokens().jwks()
  }

  /// A new access token after a data write: the verified token's user, session and
  /// claims with the new data version, expiring no later than `notAfter` (seconds, the
  /// replaced token's `exp`). No I/O; refuses sessions known to be revoked.
  #[napi]
  pub fn reissue(
    &self,
    user_id: String,
    session: String,
    data_version: f64,
    claims: Option<Map<String, Value>>,
    not_after: f64,
  ) -> napi::Result<NapiIssued, Code> {
    if !(data_version >= 0.0 && data_version.fract() == 0.0 && data_version < 9.0e15) {
      return Err(to_js(crate::error::err(
        ErrorKind::InvalidArgument,
        "dataVersion must be a non-negative integer",
      )));
    }
    let claims = claims.unwrap_or_default();
    let issued = self
      .engine
      .reissue(
        &crate::jwt::Subject {
          user_id: &user_id,
          session: &session,
          data_version: data_version as u64,
          claims: &claims,
        },
        not_after as i64,
      )
      .map_err(to_js)?;
    Ok(NapiIssued {
      access_token: issued.token,
      access_expires: issued.exp as f64,
    })
  }

  /// Test only: move the fixed clock (needs the `fixedNow` option).
  #[napi]
  pub fn set_now(&self, ms: f64) -> napi::Result<(), Code> {
    self.clock.set_now(ms)
  }
}
