//! The engine scenarios of the acceptance list, run over any store: what users
//! see of rotation, theft, forgery, revocation and concurrency. `tests/store_*.rs` run them
//! against every store on its real server, next to `store::conformance`.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::clock::{FixedClock, UnixMillis};
use crate::engine::{Engine, NewSession, RefreshOutcome, Tokens};
use crate::error::{ErrorKind, Result};
use crate::secret::Secrets;
use crate::service::{Config, TokenService, Verify};
use crate::session::{DeviceInfo, Owner, RefreshPolicy};
use crate::store::conformance::{broken, ensure};
use crate::store::Store;
use crate::token::Handle;

const SECRET: &str = "engine-conformance-secret-long-enough-0001";
/// Start of the scenarios' fixed clock.
pub const T0: UnixMillis = UnixMillis(4_100_000_000_000);

/// An engine over `store` with a fixed clock (shared with the caller).
///
/// # Errors
/// As [`Engine::start`].
pub async fn engine(store: Arc<dyn Store>, clock: Arc<FixedClock>) -> Result<Arc<Engine>> {
  Ok(Arc::new(
    Engine::start(token_service(clock)?, store, RefreshPolicy::default()).await?,
  ))
}

/// The scenarios' token service: their secret, the default config, `clock`.
fn token_service(clock: Arc<FixedClock>) -> Result<Arc<TokenService>> {
  Ok(Arc::new(TokenService::new(
    Secrets::new(&[SECRET])?,
    Config::default(),
    None,
    clock,
  )?))
}

fn device(name: &str) -> DeviceInfo {
  DeviceInfo {
    ip: Some("192.0.2.1".into()),
    user_agent: Some(name.into()),
  }
}

async fn login(e: &Engine) -> Result<Tokens> {
  let user = crate::store::conformance::user()?;
  e.create(NewSession {
    owner: Owner::User(user),
    device: device("browser"),
    ..NewSession::default()
  })
  .await
}

fn refreshed(o: RefreshOutcome) -> Result<Tokens> {
  match o {
    RefreshOutcome::Refreshed(t) => Ok(t),
    RefreshOutcome::Theft(_) => Err(broken("expected new tokens, got theft")),
    RefreshOutcome::Refused(_) => Err(broken("expected new tokens, got a refusal")),
  }
}

fn cookie(t: &Tokens) -> String {
  format!("__Host-at={}", t.access.token)
}

/// Run every scenario.
///
/// # Errors
/// The first broken rule, or a store error.
pub async fn run_all(store: Arc<dyn Store>) -> Result<()> {
  twenty_parallel_refreshes_share_one_successor(Arc::clone(&store)).await?;
  replay_after_the_successor_was_used_is_theft(Arc::clone(&store)).await?;
  a_forged_token_naming_a_real_session_revokes_nothing(Arc::clone(&store)).await?;
  logout_racing_data_saves_never_resurrects(Arc::clone(&store)).await?;
  concurrent_patches_are_all_kept(Arc::clone(&store)).await?;
  a_second_engine_sees_a_revocation_at_its_next_sync(Arc::clone(&store)).await?;
  key_rotation_happens_once_and_logs_nobody_out(Arc::clone(&store)).await?;
  a_chosen_handle_is_used_and_never_takes_over_a_session(Arc::clone(&store)).await?;
  the_verdict_epoch_moves_whenever_a_token_may_become_refused(Arc::clone(&store)).await?;
  anonymous_sessions_are_stored_under_ids_no_login_can_take(Arc::clone(&store)).await?;
  anonymous_sessions_get_their_own_short_idle_lifetime(Arc::clone(&store)).await?;
  a_logout_flood_past_the_revocation_memory_keeps_every_logout(Arc::clone(&store)).await?;
  data_past_the_limit_is_refused_and_nothing_is_lost(Arc::clone(&store)).await?;
  a_login_past_the_session_cap_logs_out_the_least_recently_refreshed(Arc::clone(&store)).await?;
  Ok(())
}

/// Under `maxSessionsPerUser` of 3: a fourth login succeeds and revokes the user's session
/// refreshed least recently (its access token is refused, its refresh too); the others,
/// the new one, another user's sessions and anonymous sessions are untouched; a login
/// that replaces one of the user's sessions frees its place and revokes nothing else.
pub async fn a_login_past_the_session_cap_logs_out_the_least_recently_refreshed(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = Engine::start(
    token_service(Arc::clone(&clock))?,
    store,
    RefreshPolicy::default(),
  )
  .await?
  .with_max_sessions_per_user(3);
  let user = crate::store::conformance::user()?;
  let as_user = |replaces: Option<Handle>| NewSession {
    owner: Owner::User(user.clone()),
    device: device("browser"),
    replaces,
    ..NewSession::default()
  };
  let other = login(&e).await?;
  let anon = e.create(NewSession::default()).await?;
  let mut held = vec![];
  for _ in 0..3 {
    clock.advance_ms(1000);
    held.push(e.create(as_user(None)).await?);
  }
  // The oldest login refreshes: now the second is the least recently refreshed.
  clock.advance_ms(1000);
  held[0] = refreshed(
    e.refresh(held[0].refresh.as_bytes(), device("browser"))
      .await?,
  )?;
  clock.advance_ms(1000);
  let fourth = e.create(as_user(None)).await?;
  let handles = |list: Vec<crate::engine::SessionInfo>| {
    let mut h: Vec<Handle> = list.into_iter().map(|s| s.handle).collect();
    h.sort_by_key(Handle::to_text);
    h
  };
  let mut want = vec![held[0].handle, held[2].handle, fourth.handle];
  want.sort_by_key(Handle::to_text);
  ensure(
    handles(e.list_user(&user).await?) == want,
    "the fourth login keeps three sessions: the new one and the two most recently refreshed",
  )?;
  ensure(
    matches!(
      e.verify_request(Some(cookie(&held[1]).as_bytes()), None, "__Host-at")
        .map_err(|e| e.kind()),
      Err(ErrorKind::SessionRevoked)
    ),
    "the evicted session's access token is refused",
  )?;
  ensure(
    matches!(
      e.refresh(held[1].refresh.as_bytes(), device("browser"))
        .await?,
      RefreshOutcome::Refused(_)
    ),
    "the evicted session does not refresh",
  )?;
  for t in [&held[0], &held[2], &fourth, &other, &anon] {
    ensure(
      e.verify_request(Some(cookie(t).as_bytes()), None, "__Host-at")
        .is_ok(),
      "the kept sessions, another user's and a visitor's keep working",
    )?;
  }
  clock.advance_ms(1000);
  e.create(as_user(Some(held[2].handle))).await?;
  ensure(
    e.list_user(&user).await?.len() == 3
      && e
        .verify_request(Some(cookie(&held[0]).as_bytes()), None, "__Host-at")
        .is_ok()
      && e
        .verify_request(Some(cookie(&fourth).as_bytes()), None, "__Host-at")
        .is_ok(),
    "a login that replaces one of the sessions revokes no other",
  )?;
  e.revoke_user(&user, None).await?;
  Ok(())
}

/// Under `maxDataBytes` of 300: a login whose data is larger fails with `DATA_TOO_LARGE`
/// before anything is stored (the session it replaces stays logged in); a write that
/// would grow a session's data past it fails the same way and leaves data and version
/// as they were; the session keeps working.
pub async fn data_past_the_limit_is_refused_and_nothing_is_lost(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = Engine::start(token_service(clock)?, store, RefreshPolicy::default())
    .await?
    .with_max_data_bytes(300);
  let before = login(&e).await?;
  let user = crate::store::conformance::user()?;
  let mut big = serde_json::Map::new();
  big.insert("blob".into(), json!("x".repeat(300)));
  let refused = e
    .create(NewSession {
      owner: Owner::User(user.clone()),
      data: big,
      replaces: Some(before.handle),
      ..NewSession::default()
    })
    .await;
  ensure(
    matches!(&refused, Err(e) if e.kind() == ErrorKind::DataTooLarge),
    "a login with data past the limit is DATA_TOO_LARGE",
  )?;
  ensure(
    e.list_user(&user).await?.is_empty(),
    "a refused login stores nothing",
  )?;
  ensure(
    e.get(&before.handle).await?.is_some(),
    "a refused login leaves the session it would replace logged in",
  )?;
  let h = before.handle;
  let v = e
    .patch_data(&h, &[("note".into(), Some(json!("x".repeat(100))))])
    .await?;
  ensure(v == Some(1), "a write within the limit applies")?;
  let grow = e
    .patch_data(&h, &[("more".into(), Some(json!("y".repeat(200))))])
    .await;
  ensure(
    matches!(&grow, Err(e) if e.kind() == ErrorKind::DataTooLarge),
    "a write past the limit is DATA_TOO_LARGE",
  )?;
  let r = e
    .get(&h)
    .await?
    .ok_or_else(|| broken("the session is still there"))?;
  ensure(
    r.data_version == 1 && r.data.get("more").is_none() && r.data.contains_key("note"),
    "a refused write leaves data and version as they were",
  )?;
  ensure(
    e.verify_request(Some(cookie(&before).as_bytes()), None, "__Host-at")
      .is_ok(),
    "the session keeps working",
  )
}

/// More logouts than the engine remembers (120 against a memory of 50, one a second):
/// every logged-out session's access token stays refused, a live login's token from before
/// the flood is refused as expired (never accepted for a revoked session's sake) and its
/// refresh gives a token that verifies; no logged-out session refreshes.
pub async fn a_logout_flood_past_the_revocation_memory_keeps_every_logout(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let tokens = token_service(Arc::clone(&clock))?;
  let e = Engine::start_remembering(tokens, store, RefreshPolicy::default(), 50).await?;
  let live = login(&e).await?;
  let mut gone = vec![];
  for _ in 0..120 {
    clock.advance_ms(1000);
    let t = e.create(NewSession::default()).await?;
    e.revoke(&t.handle).await?;
    gone.push(t);
  }
  for t in &gone {
    let refused = e.verify_request(Some(cookie(t).as_bytes()), None, "__Host-at");
    ensure(
      matches!(
        refused.as_ref().map_err(crate::Error::kind),
        Err(ErrorKind::SessionRevoked | ErrorKind::TokenExpired)
      ),
      "every logged-out session's access token is refused",
    )?;
    ensure(
      matches!(
        e.refresh(t.refresh.as_bytes(), device("browser")).await?,
        RefreshOutcome::Refused(_)
      ),
      "no logged-out session refreshes",
    )?;
  }
  let old = e.verify_request(Some(cookie(&live).as_bytes()), None, "__Host-at");
  ensure(
    matches!(
      old.as_ref().map_err(crate::Error::kind),
      Err(ErrorKind::TokenExpired)
    ),
    "the live login's token from before the flood is refused as expired",
  )?;
  let fresh = refreshed(
    e.refresh(live.refresh.as_bytes(), device("browser"))
      .await?,
  )?;
  ensure(
    e.verify_request(Some(cookie(&fresh).as_bytes()), None, "__Host-at")
      .is_ok(),
    "its refresh gives a token that verifies",
  )
}

/// An anonymous session lives `anonymous_idle_ms` (1 day) from its creation or last
/// refresh, a login `idle_ms` (30 days): in the stored record (which the stores expire
/// by) and in what a refresh accepts.
pub async fn anonymous_sessions_get_their_own_short_idle_lifetime(
  store: Arc<dyn Store>,
) -> Result<()> {
  const HOUR: i64 = 3_600_000;
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
  let p = RefreshPolicy::default();
  let anon = e.create(NewSession::default()).await?;
  let user = login(&e).await?;
  let idle = |t: &Tokens| {
    let (store, handle) = (Arc::clone(&store), t.handle);
    async move {
      let r = store.get(&handle).await?;
      Ok::<_, crate::Error>(r.map(|r| r.refresh.idle_expires_at))
    }
  };
  ensure(
    idle(&anon).await? == Some(T0.plus_ms(p.anonymous_idle_ms)),
    "an anonymous session is stored with the anonymous idle lifetime",
  )?;
  ensure(
    idle(&user).await? == Some(T0.plus_ms(p.idle_ms)),
    "a login is stored with the full idle lifetime",
  )?;
  clock.advance_ms(12 * HOUR);
  let anon = refreshed(
    e.refresh(anon.refresh.as_bytes(), device("browser"))
      .await?,
  )?;
  ensure(
    idle(&anon).await? == Some(T0.plus_ms(12 * HOUR + p.anonymous_idle_ms)),
    "a refresh extends an anonymous session by the anonymous idle lifetime only",
  )?;
  clock.advance_ms(p.anonymous_idle_ms);
  let late = e
    .refresh(anon.refresh.as_bytes(), device("browser"))
    .await?;
  ensure(
    matches!(late, RefreshOutcome::Refused(ErrorKind::TokenExpired)),
    "an anonymous session idle for longer than its lifetime ends",
  )?;
  refreshed(
    e.refresh(user.refresh.as_bytes(), device("browser"))
      .await?,
  )
  .map(|_| ())
}

/// An anonymous session is stored, verified and refreshed like any other, under a fresh
/// reserved id that names no user; a login may not use a reserved id.
pub async fn anonymous_sessions_are_stored_under_ids_no_login_can_take(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let anon = e.create(NewSession::default()).await?;
  let other = e.create(NewSession::default()).await?;
  ensure(
    crate::session::public_user_id(&anon.user_id).is_none() && anon.user_id != other.user_id,
    "each anonymous session gets its own reserved id, which names no user",
  )?;
  let verified = e.verify_request(Some(cookie(&anon).as_bytes()), None, "__Host-at")?;
  ensure(
    verified.is_some_and(|(c, _)| c.sub == anon.user_id),
    "its access token verifies",
  )?;
  let refreshed = refreshed(
    e.refresh(anon.refresh.as_bytes(), device("browser"))
      .await?,
  )?;
  ensure(refreshed.user_id == anon.user_id, "and refreshes as itself")?;
  let squat = e
    .create(NewSession {
      owner: Owner::User(anon.user_id.clone()),
      ..NewSession::default()
    })
    .await;
  ensure(
    squat.map_err(|x| x.kind()).err() == Some(ErrorKind::InvalidArgument),
    "a login cannot take a reserved id",
  )?;
  ensure(
    e.list_user(&anon.user_id).await?.len() == 1,
    "and the anonymous session stays alone under its id",
  )
}

/// An app-chosen handle (`genid`) names the new session; one that exists fails the login
/// and leaves the other session, its user index and its tokens as they were.
pub async fn a_chosen_handle_is_used_and_never_takes_over_a_session(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let victim = login(&e).await?;
  let chosen = Handle::generate()?;
  let mine = e
    .create(NewSession {
      owner: Owner::User(crate::store::conformance::user()?),
      handle: Some(chosen),
      ..NewSession::default()
    })
    .await?;
  ensure(mine.handle == chosen, "the chosen handle names the session")?;
  let thief = crate::store::conformance::user()?;
  let taken = e
    .create(NewSession {
      owner: Owner::User(thief.clone()),
      handle: Some(victim.handle),
      ..NewSession::default()
    })
    .await;
  ensure(taken.is_err(), "an existing handle fails the login")?;
  ensure(
    e.get(&victim.handle).await?.map(|r| r.user_id) == Some(victim.user_id.clone()),
    "the existing session is untouched",
  )?;
  ensure(
    e.list_user(&thief).await?.is_empty(),
    "and is not listed under the other user",
  )?;
  ensure(
    e.verify_request(Some(cookie(&victim).as_bytes()), None, "__Host-at")
      .is_ok(),
    "its tokens still work",
  )
}

/// 20 parallel refreshes with one token: one successor, no theft, no error.
pub async fn twenty_parallel_refreshes_share_one_successor(store: Arc<dyn Store>) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let t = login(&e).await?;
  let tasks: Vec<_> = (0..20)
    .map(|_| {
      let (e, rt) = (Arc::clone(&e), t.refresh.clone());
      tokio::spawn(async move { e.refresh(rt.as_bytes(), device("tab")).await })
    })
    .collect();
  let mut successors = vec![];
  for task in tasks {
    successors.push(
      refreshed(
        task
          .await
          .map_err(|_| broken("a refresh task panicked"))??,
      )?
      .refresh,
    );
  }
  successors.dedup();
  ensure(
    successors.len() == 1,
    "parallel refreshes with one token all get the same successor",
  )?;
  // The successor works, and the session is alive.
  let next = refreshed(e.refresh(successors[0].as_bytes(), device("tab")).await?)?;
  ensure(
    e.verify_request(Some(cookie(&next).as_bytes()), None, "__Host-at")?
      .is_some(),
    "the session survives",
  )
}

/// After the successor was used, the old token is theft: the session is revoked.
pub async fn replay_after_the_successor_was_used_is_theft(store: Arc<dyn Store>) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let t0 = login(&e).await?;
  clock.advance_ms(1_000);
  let t1 = refreshed(e.refresh(t0.refresh.as_bytes(), device("victim")).await?)?;
  let t2 = refreshed(e.refresh(t1.refresh.as_bytes(), device("victim")).await?)?;
  // The attacker replays the stolen first token, even within the grace window.
  match e.refresh(t0.refresh.as_bytes(), device("attacker")).await? {
    RefreshOutcome::Theft(th) => {
      ensure(
        th.handle == t0.handle && th.user_id == t0.user_id,
        "theft names the session and user",
      )?;
      ensure(
        th.presenter == device("attacker") && th.last_device == device("victim"),
        "theft names both devices",
      )?;
    }
    _ => return Err(broken("a rotated refresh token replayed is theft")),
  }
  ensure(
    e.get(&t0.handle).await?.is_none(),
    "theft revokes the session",
  )?;
  ensure(
    matches!(
      e.refresh(t2.refresh.as_bytes(), device("victim")).await?,
      RefreshOutcome::Refused(ErrorKind::TokenTheftDetected)
    ),
    "after theft the latest refresh token is refused too, as theft",
  )?;
  let at = e.verify_request(Some(cookie(&t2).as_bytes()), None, "__Host-at");
  ensure(
    at.err().map(|e| e.kind()) == Some(ErrorKind::TokenTheftDetected),
    "after theft the access token is refused, as theft, by the process that saw it",
  )
}

/// A made-up token naming a real session changes nothing.
pub async fn a_forged_token_naming_a_real_session_revokes_nothing(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let t = login(&e).await?;
  let mut forged = t.refresh.clone().into_bytes();
  let i = 40;
  forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
  ensure(
    matches!(
      e.refresh(&forged, device("attacker")).await?,
      RefreshOutcome::Refused(ErrorKind::RefreshForged)
    ),
    "a forged refresh token is refused as forged",
  )?;
  ensure(
    matches!(
      e.refresh(b"garbage", device("attacker")).await?,
      RefreshOutcome::Refused(_)
    ),
    "garbage is refused",
  )?;
  ensure(
    e.get(&t.handle).await?.is_some(),
    "a forged token revokes nothing",
  )?;
  refreshed(e.refresh(t.refresh.as_bytes(), device("browser")).await?).map(|_| ())
}

/// 1,000 races of a logout against a data save: zero resurrected sessions.
pub async fn logout_racing_data_saves_never_resurrects(store: Arc<dyn Store>) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let mut handles = vec![];
  for _ in 0..1000 {
    handles.push(login(&e).await?.handle);
  }
  let mut tasks = vec![];
  for h in &handles {
    let (e1, e2, h1, h2) = (Arc::clone(&e), Arc::clone(&e), *h, *h);
    tasks.push(tokio::spawn(async move {
      e1.patch_data(&h1, &[("cart".into(), Some(json!(["late"])))])
        .await
        .map(|_| ())
    }));
    tasks.push(tokio::spawn(
      async move { e2.revoke(&h2).await.map(|_| ()) },
    ));
  }
  for t in tasks {
    t.await.map_err(|_| broken("a race task panicked"))??;
  }
  for h in &handles {
    ensure(
      e.store().get(h).await?.is_none(),
      "no session comes back after a logout",
    )?;
  }
  Ok(())
}

/// 50 concurrent patches to different keys: none lost.
pub async fn concurrent_patches_are_all_kept(store: Arc<dyn Store>) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(store, Arc::clone(&clock)).await?;
  let t = login(&e).await?;
  let tasks: Vec<_> = (0..50)
    .map(|i| {
      let (e, h) = (Arc::clone(&e), t.handle);
      tokio::spawn(async move {
        e.patch_data(&h, &[(format!("k{i}"), Some(Value::from(i)))])
          .await
      })
    })
    .collect();
  for task in tasks {
    task.await.map_err(|_| broken("a patch task panicked"))??;
  }
  let r = e
    .get(&t.handle)
    .await?
    .ok_or_else(|| broken("the session exists"))?;
  ensure(
    (0..50).all(|i| r.data.get(&format!("k{i}")) == Some(&Value::from(i))),
    "no concurrent patch is lost",
  )?;
  ensure(r.data_version == 50, "the data version counts every patch")
}

/// A revocation by one engine is seen by another on the same store at its next sync
/// (the binding runs sync every 500 ms: within a second).
pub async fn a_second_engine_sees_a_revocation_at_its_next_sync(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let a = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
  let b = engine(store, Arc::clone(&clock)).await?;
  let t = login(&a).await?;
  let c = cookie(&t);
  ensure(
    b.verify_request(Some(c.as_bytes()), None, "__Host-at")?
      .is_some(),
    "the second engine shares the key ring",
  )?;
  a.revoke(&t.handle).await?;
  b.sync().await?;
  let r = b.verify_request(Some(c.as_bytes()), None, "__Host-at");
  ensure(
    r.err().map(|e| e.kind()) == Some(ErrorKind::SessionRevoked),
    "the other engine refuses it after one sync",
  )
}

/// The verdict epoch (what a cache of verify results checks) moves on a logout, a theft,
/// a revocation learnt from the store's feed and an emergency key revocation, and stays
/// put on logins, refreshes and verifies.
pub async fn the_verdict_epoch_moves_whenever_a_token_may_become_refused(
  store: Arc<dyn Store>,
) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let a = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
  let b = engine(store, Arc::clone(&clock)).await?;
  let e0 = a.verdict_epoch();
  let t = login(&a).await?;
  let c = cookie(&t);
  a.verify_request(Some(c.as_bytes()), None, "__Host-at")?;
  let t2 = refreshed(a.refresh(t.refresh.as_bytes(), device("browser")).await?)?;
  ensure(
    a.verdict_epoch() == e0,
    "login, verify and refresh leave the epoch alone",
  )?;
  a.revoke(&t2.handle).await?;
  let e1 = a.verdict_epoch();
  ensure(e1 != e0, "a logout moves it")?;
  let eb = b.verdict_epoch();
  b.sync().await?;
  ensure(
    b.verdict_epoch() != eb,
    "a revocation read from the feed moves the other engine's",
  )?;
  let v = login(&a).await?;
  let v2 = refreshed(a.refresh(v.refresh.as_bytes(), device("browser")).await?)?;
  let _ = refreshed(a.refresh(v2.refresh.as_bytes(), device("browser")).await?)?;
  let before_theft = a.verdict_epoch();
  match a.refresh(v.refresh.as_bytes(), device("thief")).await? {
    RefreshOutcome::Theft(_) => {}
    _ => return Err(broken("replaying a rotated-out refresh token is theft")),
  }
  ensure(a.verdict_epoch() != before_theft, "a theft moves it")?;
  let kid = a.tokens().ring().current().kid().to_owned();
  let before_key = a.verdict_epoch();
  a.revoke_key(&kid).await?;
  ensure(
    a.verdict_epoch() != before_key,
    "an emergency key revocation moves it",
  )
}

/// When rotation is due, engines syncing at once rotate the stored ring exactly once, all
/// adopt it, and tokens signed before the rotation still verify (promise 6).
pub async fn key_rotation_happens_once_and_logs_nobody_out(store: Arc<dyn Store>) -> Result<()> {
  let clock = Arc::new(FixedClock::at(T0));
  let a = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
  let b = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
  let c = engine(Arc::clone(&store), Arc::clone(&clock)).await?;
  let before = store
    .load_key_ring()
    .await?
    .ok_or_else(|| broken("the store holds the key ring"))?
    .version;
  let interval = a.tokens().config().rotation.interval_ms;
  clock.advance_ms(interval - 60_000);
  let old = login(&a).await?;
  clock.advance_ms(60_000);
  let (ra, rb, rc) = tokio::join!(a.sync(), b.sync(), c.sync());
  ra?;
  rb?;
  rc?;
  let after = store
    .load_key_ring()
    .await?
    .ok_or_else(|| broken("the store holds the key ring"))?
    .version;
  ensure(
    after == before + 1,
    "a due rotation is performed exactly once",
  )?;
  let kids: Vec<String> = [&a, &b, &c]
    .iter()
    .map(|e| e.tokens().ring().current().kid().to_owned())
    .collect();
  ensure(
    kids.iter().all(|k| *k == kids[0]),
    "every engine signs with the one rotated key",
  )?;
  let fresh = login(&b).await?;
  ensure(
    fresh.access.token != old.access.token,
    "a new login after rotation",
  )?;
  for e in [&a, &b, &c] {
    ensure(
      e.verify_request(Some(cookie(&old).as_bytes()), None, "__Host-at")?
        .is_some(),
      "tokens from before the rotation still verify",
    )?;
    ensure(
      e.verify_request(Some(cookie(&fresh).as_bytes()), None, "__Host-at")?
        .is_some(),
      "tokens after it verify everywhere",
    )?;
  }
  a.sync().await?;
  let again = store.load_key_ring().await?.map(|r| r.version);
  ensure(
    again == Some(after),
    "no second rotation until the next one is due",
  )
}
