//! The session engine: sessions over a store, with the token service for the tokens.
//!
//! - [`Engine::create`]: login. Always a new handle and new tokens (fixation-proof,
//!   DESIGN promise 4); optionally revokes the session this browser had before.
//! - [`Engine::refresh`]: rotation by the pure decision of `session::rotation`, applied by
//!   compare-and-swap; a lost race is decided again on the winner's state, so concurrent
//!   refreshes with one token all get the one successor (promise 3). Reuse is theft: the
//!   session is revoked and the outcome names both devices (promise 2). A forged token
//!   changes nothing.
//! - [`Engine::revoke`], [`Engine::revoke_user`]: revocation that sticks (promise 5): the
//!   store deletes (never upserts), this process forgets the session at once, others
//!   within one [`Engine::sync`] (run every sync interval by [`Engine::background`]).
//! - `Verify::verify_request_with` on an `Engine`: the hot path, no I/O: the token service plus the
//!   in-memory revocation set. The binding runs this one function, and so do the tests.
//! - key ring: adopted from the store at start (or, with `resetKeyRing`, replaced when no
//!   secret opens it: [`key_ring`]), rotations saved by compare-and-swap so exactly one
//!   process performs each (promise 6).
//!
//! - [`settings`]: the options of the engine and its token service, defaults and checks.
//!
//! Store failures are `STORE_UNAVAILABLE`; nothing is cleared because of one (promise 10).

pub mod background;
pub mod conformance;
pub mod key_ring;
pub mod metrics;
pub mod revocations;
pub mod settings;

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::UnixMillis;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::access::ClaimsView;
use crate::jwt::{Issued, Subject};
use crate::keys::sealed;
use crate::random;
use crate::service::{TokenService, Verify};
use crate::session::owner::is_anonymous;
use crate::session::{
  decide, Decision, DeviceInfo, Owner, RefreshPolicy, RefreshState, SessionRecord,
};
use crate::store::metered::Metered;
use crate::store::{codec, DataPatch, Store, StoredRing};
use crate::token::{Handle, RefreshToken};

pub use metrics::{Metrics, Snapshot as MetricsSnapshot};
pub use revocations::Revocations;
pub use settings::{DEFAULT_MAX_DATA_BYTES, DEFAULT_MAX_SESSIONS_PER_USER};

/// How many times a refresh re-decides after losing a compare-and-swap race.
const MAX_RACE_RETRIES: usize = 8;
/// Most feed entries read per store call.
const FEED_BATCH: usize = 1000;
/// Most feed pages one sync reads (so a flood of revocations elsewhere is caught up with at
/// up to this many thousand a poll, and one sync still ends).
const SYNC_PAGES: usize = 32;

/// A new login.
#[derive(Debug, Clone, Default)]
pub struct NewSession {
  /// Who it belongs to: a user, or nobody yet (an anonymous session).
  pub owner: Owner,
  /// Initial session data (for instance moved over from an anonymous session).
  pub data: Map<String, Value>,
  /// App claims for every access token of the session.
  pub claims: Map<String, Value>,
  /// The device logging in.
  pub device: DeviceInfo,
  /// The session this browser had before, revoked by the login (FX-02).
  pub replaces: Option<Handle>,
  /// The new session's handle, when the app makes them (express-session's `genid`);
  /// otherwise a random one. A handle names a session but opens nothing (the tokens are
  /// the credentials), and a store never overwrites a session, so a handle that exists
  /// fails the login (`STORE_CORRUPT`) rather than touching the other session.
  pub handle: Option<Handle>,
}

/// Tokens for a session: what login and refresh hand to the client.
#[derive(Debug, Clone)]
pub struct Tokens {
  /// The session handle.
  pub handle: Handle,
  /// The stored user id (an anonymous session's is reserved: `session::public_user_id`).
  pub user_id: String,
  /// The access token.
  pub access: Issued,
  /// The refresh token (text; the store keeps only its digest).
  pub refresh: String,
}

/// A theft: a rotated refresh token came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theft {
  /// The revoked session.
  pub handle: Handle,
  /// Its user.
  pub user_id: String,
  /// The device of the session's last refresh.
  pub last_device: DeviceInfo,
  /// The device that presented the reused token.
  pub presenter: DeviceInfo,
}

/// What a refresh came to.
#[derive(Debug, Clone)]
pub enum RefreshOutcome {
  /// New tokens (a rotation, or the same successor again within the grace window).
  Refreshed(Tokens),
  /// Reuse detected: the session is revoked.
  Theft(Theft),
  /// Refused; nothing changed. The code says why (`REFRESH_FORGED`, `SESSION_REVOKED`, …).
  Refused(ErrorKind),
}

/// What a list of a user's sessions shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionInfo {
  /// Handle.
  pub handle: Handle,
  /// User.
  pub user_id: String,
  /// Created.
  pub created_at: UnixMillis,
  /// Last refreshed.
  pub last_refresh_at: UnixMillis,
  /// Device at creation.
  pub created_device: DeviceInfo,
  /// Device at the last refresh.
  pub last_device: DeviceInfo,
  /// Idle expiry.
  pub expires_at: UnixMillis,
}

impl From<&SessionRecord> for SessionInfo {
  fn from(r: &SessionRecord) -> Self {
    Self {
      handle: r.handle,
      user_id: r.user_id.clone(),
      created_at: r.created_at,
      last_refresh_at: r.last_refresh_at,
      created_device: r.created_device.clone(),
      last_device: r.last_device.clone(),
      expires_at: r.refresh.idle_expires_at.min(r.refresh.absolute_expires_at),
    }
  }
}

/// The engine.
pub struct Engine {
  tokens: Arc<TokenService>,
  store: Arc<dyn Store>,
  policy: RefreshPolicy,
  revoked: Revocations,
  max_data_bytes: usize,
  max_sessions_per_user: usize,
  key_ring_reset: bool,
  metrics: Arc<Metrics>,
}

impl Engine {
  /// An engine over `store`: adopts the store's key ring, or stores this process's ring
  /// when the store has none yet.
  ///
  /// # Errors
  /// `CONFIG_INVALID` (policy), `STORE_UNAVAILABLE`, `KEYRING_UNREADABLE` (the store's
  /// ring was sealed under other secrets).
  pub async fn start(
    tokens: Arc<TokenService>,
    store: Arc<dyn Store>,
    policy: RefreshPolicy,
  ) -> Result<Self> {
    Self::start_remembering(tokens, store, policy, revocations::MAX_REMEMBERED).await
  }

  /// As [`Engine::start`], remembering at most `max_revoked` revoked sessions in memory
  /// (see `revocations`: past it, old access tokens are refused by age).
  ///
  /// # Errors
  /// As [`Engine::start`].
  pub async fn start_remembering(
    tokens: Arc<TokenService>,
    store: Arc<dyn Store>,
    policy: RefreshPolicy,
    max_revoked: usize,
  ) -> Result<Self> {
    Self::start_with(tokens, store, policy, max_revoked, false).await
  }

  /// As [`Engine::start`], but a stored key ring that no secret opens is replaced by a
  /// new one sealed with the current secret (`resetKeyRing`: see `key_ring`), which logs
  /// everyone out; [`Engine::key_ring_reset`] says whether this start did it.
  ///
  /// # Errors
  /// As [`Engine::start`]; `KEYRING_UNREADABLE` only when another process replaced the
  /// ring at the same time with one that no secret opens either.
  pub async fn start_resetting(
    tokens: Arc<TokenService>,
    store: Arc<dyn Store>,
    policy: RefreshPolicy,
  ) -> Result<Self> {
    Self::start_with(tokens, store, policy, revocations::MAX_REMEMBERED, true).await
  }

  async fn start_with(
    tokens: Arc<TokenService>,
    store: Arc<dyn Store>,
    policy: RefreshPolicy,
    max_revoked: usize,
    reset: bool,
  ) -> Result<Self> {
    policy.validate()?;
    let metrics = Arc::new(Metrics::default());
    let store: Arc<dyn Store> = Arc::new(Metered::new(store, Arc::clone(&metrics)));
    let mut engine = Self {
      tokens,
      store,
      policy,
      revoked: Revocations::with_capacity(max_revoked),
      max_data_bytes: DEFAULT_MAX_DATA_BYTES,
      max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
      key_ring_reset: false,
      metrics,
    };
    engine.key_ring_reset = engine.adopt_or_publish_ring(reset).await?;
    while engine.read_feed_page().await? {}
    engine.revoked.prune(engine.now());
    Ok(engine)
  }

  /// This engine, with session data limited to `max_bytes` (`maxDataBytes`, by
  /// `codec::data_size`): a login or a write past it fails with `DATA_TOO_LARGE` and
  /// writes nothing. Defaults to [`DEFAULT_MAX_DATA_BYTES`].
  #[must_use]
  pub const fn with_max_data_bytes(mut self, max_bytes: usize) -> Self {
    self.max_data_bytes = max_bytes;
    self
  }

  /// This engine, keeping at most `max` sessions per user (`maxSessionsPerUser`): a login
  /// past it logs out that user's least recently refreshed sessions (see
  /// [`Engine::create`]). Defaults to [`DEFAULT_MAX_SESSIONS_PER_USER`].
  #[must_use]
  pub const fn with_max_sessions_per_user(mut self, max: usize) -> Self {
    self.max_sessions_per_user = max;
    self
  }

  /// The counters since this engine started (see `metrics`).
  pub fn metrics(&self) -> MetricsSnapshot {
    self.metrics.snapshot()
  }

  /// The token service.
  pub fn tokens(&self) -> &Arc<TokenService> {
    &self.tokens
  }

  /// The store.
  pub fn store(&self) -> &Arc<dyn Store> {
    &self.store
  }

  /// The refresh policy.
  pub fn policy(&self) -> &RefreshPolicy {
    &self.policy
  }

  fn now(&self) -> UnixMillis {
    self.tokens.now()
  }

  /// Until when a session's access tokens may still be presented, from now.
  fn access_horizon(&self) -> UnixMillis {
    let p = &self.tokens.config().policy;
    self
      .now()
      .plus_ms((p.ttl_secs + p.leeway_secs) * 1000 + 1000)
  }

  /// An access token for a session's record, never valid past the session's absolute
  /// lifetime (the last one issued before it ends is cut short, not a full lifetime more).
  fn sign(&self, r: &SessionRecord) -> Result<Issued> {
    self.tokens.sign_access_until(
      &Subject {
        user_id: &r.user_id,
        session: &r.handle.to_text(),
        data_version: r.data_version,
        claims: &r.claims,
      },
      r.refresh.absolute_expires_at.secs(),
    )
  }

  /// Log in: a new session with new tokens. When the user then holds more than
  /// `maxSessionsPerUser` live sessions, the least recently refreshed of the others are
  /// revoked (never the new one; no login is refused for it).
  ///
  /// # Errors
  /// `INVALID_ARGUMENT` (a user id no login may use, see `session::owner`),
  /// `CLAIM_RESERVED`, `DATA_TOO_LARGE`, `STORE_UNAVAILABLE`, `RANDOM_UNAVAILABLE`.
  pub async fn create(&self, new: NewSession) -> Result<Tokens> {
    if codec::data_size(&new.data) > self.max_data_bytes {
      return Err(codec::too_large());
    }
    let handle = match new.handle {
      Some(h) => h,
      None => Handle::generate()?,
    };
    let user_id = new.owner.stored_id(&handle)?;
    if let Some(old) = new.replaces {
      self.revoke(&old).await?;
    }
    let now = self.now();
    let rt = RefreshToken::issue(handle)?;
    let policy = self.policy.for_stored_user(&user_id);
    let record = SessionRecord {
      handle,
      user_id,
      refresh: RefreshState {
        generation: 0,
        current_digest: rt.digest(),
        previous_digest: None,
        rotated_at: now,
        salt: random::bytes()?,
        idle_expires_at: now.plus_ms(policy.idle_ms.min(policy.absolute_ms)),
        absolute_expires_at: now.plus_ms(policy.absolute_ms),
      },
      created_at: now,
      last_refresh_at: now,
      created_device: new.device.clone(),
      last_device: new.device,
      claims: new.claims,
      data: new.data,
      data_version: 0,
    };
    // Sign first: a claim the token cannot carry fails before anything is stored.
    let access = self.sign(&record)?;
    let held = self.store.insert(&record).await?;
    self.metrics.created(is_anonymous(&record.user_id));
    let cap = u64::try_from(self.max_sessions_per_user).unwrap_or(u64::MAX);
    if held > cap && !is_anonymous(&record.user_id) {
      // The login is stored: a failed trim leaves the user over the cap until the next login.
      let _ = self.keep_sessions_per_user(&record.user_id, handle).await;
    }
    Ok(Tokens {
      handle,
      user_id: record.user_id,
      access,
      refresh: rt.encode(self.tokens.secrets()),
    })
  }

  /// Refresh with a presented refresh token.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE` (nothing changed: the client keeps its tokens and retries),
  /// `RANDOM_UNAVAILABLE`, `INTERNAL` when the race retries run out.
  pub async fn refresh(&self, presented: &[u8], device: DeviceInfo) -> Result<RefreshOutcome> {
    let out = self.refresh_counted(presented, device).await;
    if let Ok(RefreshOutcome::Refused(_)) = &out {
      self.metrics.refused();
    }
    out
  }

  async fn refresh_counted(&self, presented: &[u8], device: DeviceInfo) -> Result<RefreshOutcome> {
    let rt = match self.tokens.parse_refresh(presented) {
      Ok(rt) => rt,
      Err(e) => return Ok(RefreshOutcome::Refused(e.kind())),
    };
    let handle = rt.handle();
    if let Some(reason) = self.revoked.reason(&handle) {
      return Ok(RefreshOutcome::Refused(reason));
    }
    for _ in 0..MAX_RACE_RETRIES {
      let Some(record) = self.store.get(&handle).await? else {
        return Ok(RefreshOutcome::Refused(ErrorKind::SessionRevoked));
      };
      if self.ended_by_reset(&record) {
        self.revoke(&handle).await?;
        return Ok(RefreshOutcome::Refused(ErrorKind::SessionRevoked));
      }
      let now = self.now();
      match decide(
        &record.refresh,
        &rt,
        now,
        &self.policy.for_stored_user(&record.user_id),
        self.tokens.secrets(),
        random::bytes()?,
      )? {
        Decision::Rotate {
          successor,
          from,
          to,
        } => {
          if !self.store.rotate(&handle, &from, &to, now, &device).await? {
            continue; // lost a race: decide again on the winner's state
          }
          self.metrics.refreshed(false);
          let mut record = record;
          record.refresh = to;
          return Ok(RefreshOutcome::Refreshed(
            self.tokens_for(&record, &successor)?,
          ));
        }
        Decision::Grace { successor } => {
          self.metrics.refreshed(true);
          return Ok(RefreshOutcome::Refreshed(
            self.tokens_for(&record, &successor)?,
          ));
        }
        Decision::Theft => {
          self.revoked.add_theft(handle, self.access_horizon());
          self.revoke(&handle).await?;
          self.metrics.theft();
          return Ok(RefreshOutcome::Theft(Theft {
            handle,
            user_id: record.user_id,
            last_device: record.last_device,
            presenter: device,
          }));
        }
        Decision::Reject(crate::session::Reject::Expired) => {
          self.revoke(&handle).await?;
          return Ok(RefreshOutcome::Refused(ErrorKind::TokenExpired));
        }
        Decision::Reject(crate::session::Reject::Unknown) => {
          return Ok(RefreshOutcome::Refused(ErrorKind::RefreshForged));
        }
      }
    }
    Err(err(
      ErrorKind::Internal,
      "refresh kept losing compare-and-swap races",
    ))
  }

  fn tokens_for(&self, record: &SessionRecord, successor: &RefreshToken) -> Result<Tokens> {
    Ok(Tokens {
      handle: record.handle,
      user_id: record.user_id.clone(),
      access: self.sign(record)?,
      refresh: successor.encode(self.tokens.secrets()),
    })
  }

  /// Revoke one session. Returns whether it existed.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE`.
  pub async fn revoke(&self, handle: &Handle) -> Result<bool> {
    let until = self.access_horizon();
    // Remember it here first: even if the store call fails, this process refuses it.
    self.revoked.add(*handle, until);
    let existed = self.store.revoke(handle, until).await?.is_some();
    if existed {
      self.metrics.revoked();
    }
    Ok(existed)
  }

  /// Revoke the live sessions of `user_id` beyond `maxSessionsPerUser`, least recently
  /// refreshed first, counting `kept` (just created, never revoked here). Logins that race
  /// each trim after their own insert, so the user holds at most the cap plus the logins
  /// still in flight.
  async fn keep_sessions_per_user(&self, user_id: &str, kept: Handle) -> Result<()> {
    // Most recently refreshed first: the others past the cap's remaining places go.
    let others = self.list_user(user_id).await?;
    let others = others.iter().filter(|s| s.handle != kept);
    for s in others.skip(self.max_sessions_per_user.saturating_sub(1)) {
      self.revoke(&s.handle).await?;
    }
    Ok(())
  }

  /// Revoke every session of `user_id`, except `except`. Returns the revoked handles.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE`.
  pub async fn revoke_user(&self, user_id: &str, except: Option<Handle>) -> Result<Vec<Handle>> {
    let mut out = vec![];
    for r in self.store.list_user(user_id).await? {
      if Some(r.handle) != except && self.revoke(&r.handle).await? {
        out.push(r.handle);
      }
    }
    Ok(out)
  }

  /// The live sessions of `user_id`, most recently refreshed first.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE`, `STORE_CORRUPT`.
  pub async fn list_user(&self, user_id: &str) -> Result<Vec<SessionInfo>> {
    let now = self.now();
    let mut list: Vec<SessionInfo> = self
      .store
      .list_user(user_id)
      .await?
      .iter()
      .filter(|r| now < r.refresh.idle_expires_at && now < r.refresh.absolute_expires_at)
      .filter(|r| !self.revoked.contains(&r.handle) && !self.ended_by_reset(r))
      .map(SessionInfo::from)
      .collect();
    list.sort_by_key(|s| std::cmp::Reverse(s.last_refresh_at));
    Ok(list)
  }

  /// One live session's record.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE`, `STORE_CORRUPT`.
  pub async fn get(&self, handle: &Handle) -> Result<Option<SessionRecord>> {
    if self.revoked.contains(handle) {
      return Ok(None);
    }
    let now = self.now();
    Ok(
      self
        .store
        .get(handle)
        .await?
        .filter(|r| now < r.refresh.idle_expires_at && now < r.refresh.absolute_expires_at)
        .filter(|r| !self.ended_by_reset(r)),
    )
  }

  /// A session that a bridged store's `get`, made on Node's side, handed back as `value`
  /// (under the key `handle`): decoded as the bridge decodes what it reads, and kept only
  /// while it is live, as [`Engine::get`] keeps what it reads. It lets a request read its
  /// session over an express-session store with no thread crossing (js/compat/bridge.js).
  ///
  /// # Errors
  /// `STORE_CORRUPT`: no session record of ours, or the record of another handle.
  pub fn decode_bridged(&self, handle: &Handle, value: &Value) -> Result<Option<SessionRecord>> {
    let r = crate::store::bridge::decode_session(handle, value)?;
    if self.revoked.contains(handle) {
      return Ok(None);
    }
    let now = self.now();
    Ok(Some(r).filter(|r| {
      now < r.refresh.idle_expires_at
        && now < r.refresh.absolute_expires_at
        && !self.ended_by_reset(r)
    }))
  }

  /// Node's side's touch of a session over an express-session store, made under the
  /// session's lock (`NodeSide::try_hold`): `value` is what the store holds under `handle`
  /// now; the answer is the session object to `touch` it with (its cookie expiring with
  /// the record), or `None` when the session is known to be revoked (touch nothing). As
  /// [`Engine::keep_alive`] over the bridge, with the store calls left to the caller.
  ///
  /// # Errors
  /// `STORE_CORRUPT`: no session record of ours, or the record of another handle.
  pub fn touch_bridged(&self, handle: &Handle, value: &Value) -> Result<Option<Value>> {
    if self.revoked.contains(handle) {
      return Ok(None);
    }
    let r = crate::store::bridge::decode_session(handle, value)?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    Ok(Some(crate::store::bridge::encode_record(&r, now)))
  }

  /// Node's side's patch of a session over an express-session store, made under the
  /// session's lock (`NodeSide::try_hold`): `value` is what the store holds under `handle`
  /// now; the answer is the value to `set` and the new data version, or `None` when the
  /// session is known to be revoked (nothing is written). As [`Engine::patch_data`] over
  /// the bridge, with the store calls left to the caller.
  ///
  /// # Errors
  /// `STORE_CORRUPT`: no session record of ours, or the record of another handle;
  /// `DATA_TOO_LARGE`.
  pub fn patch_bridged(
    &self,
    handle: &Handle,
    value: &Value,
    patch: &DataPatch,
  ) -> Result<Option<(Value, u64)>> {
    if self.revoked.contains(handle) {
      return Ok(None);
    }
    let mut r = crate::store::bridge::decode_session(handle, value)?;
    crate::store::bridge::patch_record(&mut r, patch, self.max_data_bytes)?;
    let now = crate::clock::Clock::now(&crate::clock::SystemClock);
    Ok(Some((
      crate::store::bridge::encode_record(&r, now),
      r.data_version,
    )))
  }

  /// Change some keys of a session's data, only if the session still exists. Returns the
  /// new data version, or `None` when the session is gone (revoked: nothing is written).
  ///
  /// # Errors
  /// `DATA_TOO_LARGE` (the data would grow past `maxDataBytes`: nothing is written),
  /// `STORE_UNAVAILABLE`.
  pub async fn patch_data(&self, handle: &Handle, patch: &DataPatch) -> Result<Option<u64>> {
    if self.revoked.contains(handle) {
      return Ok(None);
    }
    self
      .store
      .patch_data(handle, patch, self.max_data_bytes)
      .await
  }

  /// The app used session `handle` and changed nothing: the store's end-of-request call
  /// ([`Store::keep_alive`]; `rewrite` is express-session's `resave`). Returns whether
  /// the session still exists (`false` once revoked, as far as this process knows).
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE`.
  pub async fn keep_alive(&self, handle: &Handle, rewrite: bool) -> Result<bool> {
    if self.revoked.contains(handle) {
      return Ok(false);
    }
    self.store.keep_alive(handle, rewrite).await
  }

  /// `SESSION_REVOKED` when the session `sid` is revoked, as far as this process knows
  /// (`TOKEN_THEFT_DETECTED` when this process revoked it for a theft), and
  /// `TOKEN_EXPIRED` for a token expiring (`exp_secs`) no later than the revocation set's
  /// floor (after it overflowed: see `revocations`): the check every verified access token
  /// goes through.
  ///
  /// # Errors
  /// `SESSION_REVOKED`, `TOKEN_THEFT_DETECTED`, `TOKEN_EXPIRED`.
  pub fn refuse_revoked(&self, sid: &str, exp_secs: f64) -> Result<()> {
    match self.revoked.refuses(sid, exp_secs) {
      None => Ok(()),
      Some(ErrorKind::TokenTheftDetected) => Err(err(
        ErrorKind::TokenTheftDetected,
        "the session was revoked: its refresh token was reused",
      )),
      Some(ErrorKind::TokenExpired) => Err(err(
        ErrorKind::TokenExpired,
        "the token is older than this process's memory of revocations: refresh it",
      )),
      Some(_) => Err(err(ErrorKind::SessionRevoked, "the session was revoked")),
    }
  }

  /// A new access token for a session whose data just changed (a new data version),
  /// expiring no later than `not_after` (the token it replaces: a data write never
  /// extends a session's access). No I/O.
  ///
  /// # Errors
  /// `SESSION_REVOKED`, `TOKEN_THEFT_DETECTED`, and as [`TokenService::sign_access`].
  pub fn reissue(&self, subject: &Subject<'_>, not_after_secs: i64) -> Result<Issued> {
    #[allow(clippy::cast_precision_loss)]
    self.refuse_revoked(subject.session, not_after_secs as f64)?;
    self.tokens.sign_access_until(subject, not_after_secs)
  }

  /// A number that changes whenever an access token this process accepted could become
  /// refused other than by time passing: a session revoked (here or from the store's
  /// feed, a theft included) or a new key ring (rotation, an emergency key revocation).
  /// A cache of verify results is current only while it has not moved.
  pub fn verdict_epoch(&self) -> u64 {
    self
      .revoked
      .generation()
      .wrapping_add(self.tokens.ring_generation())
  }

  /// Is the session `sid` revoked, as far as this process knows?
  pub fn is_revoked(&self, sid: &str) -> bool {
    self.revoked.reason_text(sid).is_some()
  }

  /// Is a scheduled change of the key ring due by this engine's clock (a next key to
  /// promote or announce, a retired key to drop)? No I/O: the background loop asks this
  /// at every interval, and syncs when it is, also between two polls.
  pub fn key_ring_change_due(&self) -> bool {
    !self
      .tokens
      .ring()
      .plan(self.now(), &self.tokens.config().rotation)
      .is_empty()
  }

  /// The periodic work: read new revocations, adopt a newer stored key ring, rotate the
  /// keys if due (by compare-and-swap, so one process does it), forget old revocations.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE` (the next sync tries again), `KEYRING_UNREADABLE`.
  pub async fn sync(&self) -> Result<()> {
    self.sync_revocations().await?;
    self.sync_key_ring().await
  }

  /// The revocations part of [`Engine::sync`] alone: read new revocations, forget old
  /// ones (what a pushed notice of a revocation asks for: the ring did not change).
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE` (the next sync tries again).
  pub async fn sync_revocations(&self) -> Result<()> {
    for _ in 0..SYNC_PAGES {
      if !self.read_feed_page().await? {
        break;
      }
    }
    self.revoked.prune(self.now());
    Ok(())
  }

  /// Take in the next page of the store's revocation feed; true when it was full (there
  /// may be more).
  async fn read_feed_page(&self) -> Result<bool> {
    let feed = self
      .store
      .revocations_since(self.revoked.cursor(), FEED_BATCH)
      .await?;
    self.revoked.absorb(&feed);
    Ok(feed.len() == FEED_BATCH)
  }

  async fn sync_key_ring(&self) -> Result<()> {
    let stored = self.store.load_key_ring().await?;
    if let Some(s) = &stored {
      if s.version > self.tokens.ring().version() {
        self.tokens.open_ring(&s.sealed, false)?;
      }
    }
    let ring = self.tokens.ring();
    let Some(next) = ring.rotate_if_due(self.now(), &self.tokens.config().rotation)? else {
      return Ok(());
    };
    self.save_ring(stored.map(|s| s.version), next).await
  }

  async fn save_ring(&self, expected: Option<u64>, next: crate::keys::KeyRing) -> Result<()> {
    let out = StoredRing {
      version: next.version(),
      sealed: sealed::seal(&next, self.tokens.secrets())?,
    };
    if self.store.save_key_ring(expected, &out).await? {
      self.tokens.install_ring(next);
    } else if let Some(s) = self.store.load_key_ring().await? {
      // Another process rotated first: use its ring.
      self.tokens.open_ring(&s.sealed, false)?;
    }
    Ok(())
  }

  /// Emergency: revoke signing key `kid` in the stored ring, for every process.
  ///
  /// # Errors
  /// `KEY_UNKNOWN`, `STORE_UNAVAILABLE`, or `INTERNAL` if the ring changed under it too
  /// often.
  pub async fn revoke_key(&self, kid: &str) -> Result<()> {
    for _ in 0..MAX_RACE_RETRIES {
      let stored = self.store.load_key_ring().await?;
      if let Some(s) = &stored {
        if s.version > self.tokens.ring().version() {
          self.tokens.open_ring(&s.sealed, false)?;
        }
      }
      let ring = self.tokens.ring();
      let next = ring.revoke(kid, self.now(), &self.tokens.config().rotation)?;
      let out = StoredRing {
        version: next.version(),
        sealed: sealed::seal(&next, self.tokens.secrets())?,
      };
      if self
        .store
        .save_key_ring(stored.map(|s| s.version), &out)
        .await?
      {
        self.tokens.install_ring(next);
        return Ok(());
      }
    }
    Err(err(
      ErrorKind::Internal,
      "the key ring kept changing during a key revocation",
    ))
  }

  /// Remove expired sessions from the store.
  ///
  /// # Errors
  /// `STORE_UNAVAILABLE`.
  pub async fn sweep(&self) -> Result<u64> {
    self.store.sweep(self.now()).await
  }
}

/// The per-request verify (no I/O; `Verify::verify_request_with` finds the token in the
/// headers): the token service's verify, then the session refused if it is revoked as far
/// as this process knows. The one composition production and the conformance suite run.
impl Verify for Engine {
  /// # Errors
  /// As `TokenService::verify_access`, and `SESSION_REVOKED`, `TOKEN_THEFT_DETECTED`.
  fn verify_access_with<R>(&self, token: &[u8], f: impl FnOnce(ClaimsView<'_>) -> R) -> Result<R> {
    self
      .tokens
      .verify_access_with(token, |c| self.refuse_revoked(c.sid, c.exp).map(|()| f(c)))?
  }
}
