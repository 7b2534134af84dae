//! Helpers shared by the store test files (`store_sqlite`, `store_postgres`,
//! `store_redis`; each declares `mod common;` and so compiles its own copy): their result
//! type, where a store's revocation feed ends, and at engine level an engine over a store
//! doing real work and the check that a dump of the store holds nothing usable (DESIGN
//! promise 1); in [`outage`], an engine checked while its store is down and once it is back
//! (promise 10).

use std::sync::Arc;

use serde_json::json;
use tandem_session::clock::{FixedClock, UnixMillis};
use tandem_session::engine::{Engine, NewSession, RefreshOutcome, Tokens};
use tandem_session::jwt::Algorithm;
use tandem_session::keys::{sealed, KeyRing};
use tandem_session::secret::Secrets;
use tandem_session::session::{DeviceInfo, Owner, RefreshPolicy};
use tandem_session::store::{conformance, Store};
use tandem_session::token::Handle;
use tandem_session::{encoding, Config, ErrorKind, TokenService, Verify};

/// The result of the tests and of their helpers.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Where `store`'s revocation feed ends now (0 when it is empty): a reader starting here
/// sees only the revocations that come after.
pub async fn feed_end(store: &dyn Store) -> tandem_session::Result<u64> {
  Ok(
    store
      .revocations_since(0, usize::MAX)
      .await?
      .last()
      .map_or(0, |r| r.seq),
  )
}

// ---- Engine level: an engine over a store doing real work, and a dump of the store
// checked for anything usable (DESIGN promise 1). ----

/// The secret of the engines of these tests.
pub const ENGINE_SECRET: &str = "engine-level-test-secret-long-enough-0001";
const STRANGER_SECRET: &str = "a-stranger-secret-also-long-enough-0000002";
/// Start of the engine tests' fixed clock.
const ENGINE_T0: UnixMillis = UnixMillis(4_100_000_000_000);
/// A refresh token's bytes: version (1) ‖ handle (16) ‖ generation (4) ‖ secret (32) ‖ tag (16).
const RT_LEN: usize = 69;
const RT_SECRET: std::ops::Range<usize> = 21..53;
const AT_COOKIE: &str = "__Host-at";

/// An engine over `store` with `secret` and signing algorithm `alg`, on `clock`.
pub async fn engine_with(
  store: Arc<dyn Store>,
  clock: Arc<FixedClock>,
  alg: Algorithm,
  secret: &str,
) -> tandem_session::Result<Arc<Engine>> {
  let config = Config {
    algorithm: alg,
    ..Config::default()
  };
  let tokens = Arc::new(TokenService::new(
    Secrets::new(&[secret])?,
    config,
    None,
    clock,
  )?);
  Ok(Arc::new(
    Engine::start(tokens, store, RefreshPolicy::default()).await?,
  ))
}

fn device_named(name: &str) -> DeviceInfo {
  DeviceInfo {
    ip: Some("203.0.113.7".into()),
    user_agent: Some(name.into()),
  }
}

fn at_cookie(access_token: &str) -> String {
  format!("{AT_COOKIE}={access_token}")
}

/// The raw bytes of a refresh token's text.
fn rt_bytes(text: &str) -> TestResult<Vec<u8>> {
  let raw = encoding::decode_strict(text.as_bytes(), RT_LEN, ErrorKind::RefreshMalformed)?;
  if raw.len() != RT_LEN || raw[0] != 1 {
    return Err("not a version-1 refresh token".into());
  }
  Ok(raw)
}

/// What a store keeps of a refresh token: the SHA-256 of its secret.
fn rt_digest(text: &str) -> TestResult<[u8; 32]> {
  Ok(tandem_session::digest::sha256(&rt_bytes(text)?[RT_SECRET]))
}

fn new_tokens(o: RefreshOutcome) -> TestResult<Tokens> {
  match o {
    RefreshOutcome::Refreshed(t) => Ok(t),
    other => Err(format!("expected new tokens, got {other:?}").into()),
  }
}

/// Everything an engine handed out, and what its store must show.
#[derive(Default)]
pub struct HandedOut {
  /// Every refresh-token text.
  refresh: Vec<String>,
  /// Every access-token text.
  access: Vec<String>,
  /// The live sessions, with their latest refresh token.
  live: Vec<(Handle, String)>,
  /// Sessions that were revoked (logout, "everywhere else", theft).
  gone: Vec<Handle>,
  /// Values written into a session's data (not credentials: the store holds them while
  /// the session lives).
  markers: Vec<(Handle, String)>,
  /// The signing key revoked in an emergency.
  revoked_kid: String,
}

impl HandedOut {
  fn keep(&mut self, t: &Tokens) {
    self.refresh.push(t.refresh.clone());
    self.access.push(t.access.token.clone());
  }

  async fn login(&mut self, e: &Engine, user: &str, marker: &str) -> TestResult<Tokens> {
    let data = json!({ "cart": [marker], "theme": "dark" });
    let claims = json!({ "role": "editor", "tenant": "acme" });
    let t = e
      .create(NewSession {
        owner: Owner::User(user.to_owned()),
        data: data.as_object().cloned().ok_or("an object")?,
        claims: claims.as_object().cloned().ok_or("an object")?,
        device: device_named("login"),
        replaces: None,
        handle: None,
      })
      .await?;
    self.keep(&t);
    self.markers.push((t.handle, marker.to_owned()));
    Ok(t)
  }

  async fn refresh(&mut self, e: &Engine, rt: &str) -> TestResult<Tokens> {
    let t = new_tokens(e.refresh(rt.as_bytes(), device_named("refresh")).await?)?;
    self.keep(&t);
    Ok(t)
  }
}

/// The stored ring's version.
async fn stored_ring_version(store: &dyn Store) -> TestResult<u64> {
  Ok(
    store
      .load_key_ring()
      .await?
      .ok_or("the store holds the key ring")?
      .version,
  )
}

/// Real work through an engine over `store`: logins with data and claims, refreshes (a
/// replay within the grace window among them), a theft, a logout and a "log out everywhere
/// else", data patches, a scheduled key rotation (the clock moved past the interval, then
/// `sync`) and an emergency key revocation. Returns the engine, its clock, and everything
/// it handed out.
pub async fn real_work(
  store: &Arc<dyn Store>,
  alg: Algorithm,
) -> TestResult<(Arc<Engine>, Arc<FixedClock>, HandedOut)> {
  let clock = Arc::new(FixedClock::at(ENGINE_T0));
  let e = engine_with(Arc::clone(store), Arc::clone(&clock), alg, ENGINE_SECRET).await?;
  let mut out = HandedOut::default();
  let (alice, bob) = (conformance::user()?, conformance::user()?);

  // A: rotated, replayed within the grace window (same successor), rotated again; live.
  let a0 = out.login(&e, &alice, "marker-cart-a").await?;
  clock.advance_ms(1_000);
  let a1 = out.refresh(&e, &a0.refresh).await?;
  let replay = out.refresh(&e, &a0.refresh).await?;
  assert_eq!(
    replay.refresh, a1.refresh,
    "a replay within the grace window gets the same successor"
  );
  clock.advance_ms(30_000);
  let a2 = out.refresh(&e, &a1.refresh).await?;

  // B: its first token comes back after two rotations: theft, the session is revoked.
  let b0 = out.login(&e, &alice, "marker-cart-b").await?;
  let b1 = out.refresh(&e, &b0.refresh).await?;
  clock.advance_ms(30_000);
  out.refresh(&e, &b1.refresh).await?;
  match e
    .refresh(b0.refresh.as_bytes(), device_named("thief"))
    .await?
  {
    RefreshOutcome::Theft(t) => assert_eq!(t.handle, b0.handle, "the theft names B"),
    other => return Err(format!("a replayed rotated token is theft, got {other:?}").into()),
  }

  // C logs out; Bob logs out everywhere but D.
  let c = out.login(&e, &alice, "marker-cart-c").await?;
  assert!(e.revoke(&c.handle).await?);
  let d = out.login(&e, &bob, "marker-cart-d").await?;
  let d2 = out.login(&e, &bob, "marker-cart-d2").await?;
  assert_eq!(e.revoke_user(&bob, Some(d.handle)).await?, vec![d2.handle]);
  let patch = [("seen".to_owned(), Some(json!("marker-patch-a")))];
  assert!(e.patch_data(&a2.handle, &patch).await?.is_some());
  out.markers.push((a2.handle, "marker-patch-a".into()));

  // The scheduled rotation: past the interval, one sync rotates the stored ring.
  let v0 = stored_ring_version(&**store).await?;
  let kid0 = e.tokens().ring().current().kid().to_owned();
  clock.advance_ms(e.tokens().config().rotation.interval_ms + 60_000);
  e.sync().await?;
  assert_eq!(
    stored_ring_version(&**store).await?,
    v0 + 1,
    "the due rotation was stored"
  );
  assert_ne!(e.tokens().ring().current().kid(), kid0, "a new key signs");
  let a3 = out.refresh(&e, &a2.refresh).await?;
  let f = out.login(&e, &bob, "marker-cart-f").await?;

  // The emergency: the current key is revoked for every process.
  let victim = e.tokens().ring().current().kid().to_owned();
  e.revoke_key(&victim).await?;
  assert_eq!(stored_ring_version(&**store).await?, v0 + 2);
  assert!(e.tokens().ring().keys().iter().all(|k| k.kid() != victim));
  assert!(
    e.verify_request(Some(at_cookie(&f.access.token).as_bytes()), None, AT_COOKIE)
      .is_err(),
    "a token of the revoked key no longer verifies"
  );
  let a4 = out.refresh(&e, &a3.refresh).await?;
  let f1 = out.refresh(&e, &f.refresh).await?;
  let g = out.login(&e, &alice, "marker-cart-g").await?;
  let d1 = out.refresh(&e, &d.refresh).await?;
  e.sync().await?;
  let (claims, _) = e
    .verify_request(
      Some(at_cookie(&d1.access.token).as_bytes()),
      None,
      AT_COOKIE,
    )?
    .ok_or("the latest access token verifies")?;
  assert_eq!(claims.sid, d.handle.to_text());

  out.live = vec![
    (a4.handle, a4.refresh),
    (d1.handle, d1.refresh),
    (f1.handle, f1.refresh),
    (g.handle, g.refresh),
  ];
  out.gone = vec![b0.handle, c.handle, d2.handle];
  out.revoked_kid = victim;
  Ok((e, clock, out))
}

/// The spellings in which bytes could sit in a dump, by name: raw, base64url and base64
/// (standard alphabet), with and without padding, and hex in either case.
fn spellings(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
  use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
  use base64::Engine as _;
  let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
  vec![
    ("raw", bytes.to_vec()),
    ("base64url", URL_SAFE_NO_PAD.encode(bytes).into_bytes()),
    ("base64url padded", URL_SAFE.encode(bytes).into_bytes()),
    ("base64", STANDARD.encode(bytes).into_bytes()),
    (
      "base64 unpadded",
      STANDARD_NO_PAD.encode(bytes).into_bytes(),
    ),
    ("hex", hex.clone().into_bytes()),
    ("HEX", hex.to_uppercase().into_bytes()),
  ]
}

fn contains(dump: &[u8], needle: &[u8]) -> bool {
  memchr::memmem::find(dump, needle).is_some()
}

/// The first spelling of `bytes` found in `dump`.
fn spelled_in(dump: &[u8], bytes: &[u8]) -> Option<&'static str> {
  spellings(bytes)
    .into_iter()
    .find(|(_, s)| contains(dump, s))
    .map(|(name, _)| name)
}

/// Does `dump` hold a JSON member `name` (`"name":`, also escaped inside a JSON string,
/// with any white space before the colon)?
fn has_json_member(dump: &[u8], name: &str) -> bool {
  [format!("\"{name}\""), format!("\\\"{name}\\\"")]
    .iter()
    .any(|quoted| {
      memchr::memmem::find_iter(dump, quoted.as_bytes()).any(|at| {
        dump[at + quoted.len()..]
          .iter()
          .find(|b| !b.is_ascii_whitespace())
          == Some(&b':')
      })
    })
}

/// The dump of a store after [`real_work`] holds no working credential (promise 1): no
/// refresh token nor its secret in any spelling, no access token, and the key ring only
/// sealed under the app's secret. `what` names the dump in messages; `e` is an engine on
/// the store at the clock of the work.
pub async fn assert_nothing_usable(
  what: &str,
  dump: &[u8],
  e: &Engine,
  store: &Arc<dyn Store>,
  out: &HandedOut,
) -> TestResult {
  // First what the dump must show, so that the searches below look at the real thing.
  assert!(
    out.refresh.len() >= 15 && out.access.len() == out.refresh.len(),
    "{what}: the work handed out tokens"
  );
  for (h, m) in &out.markers {
    if out.live.iter().any(|(l, _)| l == h) {
      assert!(contains(dump, m.as_bytes()), "{what}: session data {m}");
    }
  }
  for (h, rt) in &out.live {
    let record = store.get(h).await?.ok_or("a live session is stored")?;
    let digest = rt_digest(rt)?;
    assert_eq!(
      record.refresh.current_digest, digest,
      "{what}: the store keeps the digest"
    );
    assert!(
      spelled_in(dump, &h.0).is_some(),
      "{what}: a live session's handle is in the dump"
    );
    assert!(
      spelled_in(dump, &digest).is_some(),
      "{what}: a live refresh token's digest is in the dump, in a spelling searched for"
    );
  }
  for h in &out.gone {
    assert!(
      store.get(h).await?.is_none(),
      "{what}: a revoked session is gone"
    );
  }

  // (a) No refresh token, nor its raw bytes, nor the secret inside it, in any spelling;
  // no access token, nor its signature.
  for rt in &out.refresh {
    assert!(
      !contains(dump, rt.as_bytes()),
      "{what}: a refresh token's text"
    );
    let raw = rt_bytes(rt)?;
    if let Some(how) = spelled_in(dump, &raw) {
      panic!("{what}: a refresh token's bytes are in the dump ({how})");
    }
    if let Some(how) = spelled_in(dump, &raw[RT_SECRET]) {
      panic!("{what}: a refresh token's secret is in the dump ({how})");
    }
  }
  for at in &out.access {
    assert!(!contains(dump, at.as_bytes()), "{what}: an access token");
    let signature = at.rsplit('.').next().ok_or("a compact JWT")?;
    assert!(
      !contains(dump, signature.as_bytes()),
      "{what}: an access token's signature"
    );
  }

  // (b) The key ring only sealed: the dump holds the sealed ring; another secret cannot
  // open it (nor start an engine on the store); the app's secret opens the very ring the
  // engine signs with; and no JWK-like `"k":` member is in clear anywhere.
  let stored = store
    .load_key_ring()
    .await?
    .ok_or("the store holds the key ring")?;
  assert!(
    contains(dump, stored.sealed.as_bytes()),
    "{what}: the dump holds the sealed ring"
  );
  assert_eq!(
    sealed::open(&stored.sealed, &Secrets::new(&[STRANGER_SECRET])?)
      .err()
      .map(|x| x.kind()),
    Some(ErrorKind::KeyRingUnreadable),
    "{what}: another secret cannot open the sealed ring"
  );
  let clock = Arc::new(FixedClock::at(e.tokens().now()));
  let alg = e.tokens().ring().alg();
  let stranger = engine_with(Arc::clone(store), clock, alg, STRANGER_SECRET).await;
  assert_eq!(
    stranger.err().map(|x| x.kind()),
    Some(ErrorKind::KeyRingUnreadable),
    "{what}: an engine with another secret cannot adopt the stored ring"
  );
  let opened = sealed::open(&stored.sealed, &Secrets::new(&[ENGINE_SECRET])?)?;
  let live = e.tokens().ring();
  let shape = |r: &KeyRing| {
    r.keys()
      .iter()
      .map(|k| {
        (
          k.kid().to_owned(),
          k.state(),
          k.public_key().map(<[u8]>::to_vec),
        )
      })
      .collect::<Vec<_>>()
  };
  assert_eq!(opened.version(), stored.version, "{what}");
  assert_eq!(opened.version(), live.version(), "{what}");
  assert_eq!(
    shape(&opened),
    shape(&live),
    "{what}: the sealed ring is the engine's ring"
  );
  if alg == Algorithm::EdDsa {
    assert!(opened.keys().iter().all(|k| k.public_key().is_some()));
  }
  assert!(opened.keys().iter().all(|k| k.kid() != out.revoked_kid));
  // The real key material is inside the sealed form: the opened ring verifies the
  // engine's latest access token.
  let last = out.access.last().ok_or("an access token")?;
  let claims = tandem_session::jwt::access::verify(
    &opened,
    &e.tokens().config().policy,
    e.tokens().now(),
    last.as_bytes(),
  )?;
  assert!(out.live.iter().any(|(h, _)| h.to_text() == claims.sid));
  assert!(
    !has_json_member(dump, "k"),
    "{what}: a JWK-like \"k\" member is in clear"
  );
  Ok(())
}

/// An outage under a live engine (DESIGN promise 10): what the engine does while its store
/// is down, and once it is back. The SQLite file has no outage, so only the PostgreSQL and
/// Redis files use this.
#[allow(dead_code)]
pub mod outage {
  use std::sync::Arc;
  use std::time::{Duration, Instant};

  use serde_json::json;
  use tandem_session::clock::FixedClock;
  use tandem_session::engine::{Engine, NewSession, Tokens};
  use tandem_session::jwt::Algorithm;
  use tandem_session::session::Owner;
  use tandem_session::store::{conformance, Store};
  use tandem_session::ErrorKind;
  use tandem_session::Verify;

  use super::{at_cookie, device_named, engine_with, new_tokens, rt_bytes, rt_digest};
  use super::{HandedOut, TestResult, AT_COOKIE, ENGINE_SECRET, ENGINE_T0};

  /// Where a refresh token's generation sits in its bytes.
  const RT_GENERATION: std::ops::Range<usize> = 17..21;

  fn rt_generation(text: &str) -> TestResult<u32> {
    let raw = rt_bytes(text)?;
    let mut g = [0u8; 4];
    g.copy_from_slice(&raw[RT_GENERATION]);
    Ok(u32::from_be_bytes(g))
  }

  fn assert_unavailable<T: std::fmt::Debug>(
    what: &str,
    got: tandem_session::Result<T>,
    took: Duration,
  ) {
    eprintln!("engine outage: {what} answered in {took:?}");
    match got {
      Err(x) => assert_eq!(
        x.kind(),
        ErrorKind::StoreUnavailable,
        "{what} during the outage"
      ),
      Ok(v) => panic!("{what} during the outage succeeded: {v:?}"),
    }
    assert!(
      took < Duration::from_secs(10),
      "{what} took {took:?} during the outage"
    );
  }

  /// An HS256 engine over `store` at [`ENGINE_T0`], and the session it logged in: what the
  /// outage tests keep through the outage.
  pub async fn engine_and_session(store: Arc<dyn Store>) -> TestResult<(Arc<Engine>, Tokens)> {
    let clock = Arc::new(FixedClock::at(ENGINE_T0));
    let e = engine_with(store, clock, Algorithm::Hs256, ENGINE_SECRET).await?;
    let t = outage_login(&e).await?;
    Ok((e, t))
  }

  /// Logs in on `e`: the session the outage tests keep.
  async fn outage_login(e: &Engine) -> TestResult<Tokens> {
    let mut out = HandedOut::default();
    out.login(e, &conformance::user()?, "marker-outage").await
  }

  /// With the store down: refresh, login, reading a session and sync fail promptly with
  /// STORE_UNAVAILABLE, while the access token of `t` still verifies (no I/O), before and
  /// after those failures; nothing is cleared.
  pub async fn engine_during_outage(e: &Engine, t: &Tokens) -> TestResult {
    let version = e.tokens().ring().version();
    let verified = |when: &str| -> TestResult {
      let (claims, _) = e
        .verify_request(Some(at_cookie(&t.access.token).as_bytes()), None, AT_COOKIE)
        .map_err(|x| format!("verify {when}: {x}"))?
        .ok_or("the cookie holds the token")?;
      assert_eq!(
        (claims.sid.as_str(), claims.sub.as_str()),
        (t.handle.to_text().as_str(), t.user_id.as_str()),
        "verify {when}"
      );
      assert_eq!(claims.claims.get("role"), Some(&json!("editor")), "{when}");
      Ok(())
    };
    verified("as the outage begins")?;
    for attempt in 0..2 {
      let start = Instant::now();
      let got = e
        .refresh(t.refresh.as_bytes(), device_named("during"))
        .await;
      assert_unavailable(&format!("refresh #{attempt}"), got, start.elapsed());
    }
    let start = Instant::now();
    let got = e
      .create(NewSession {
        owner: Owner::User(conformance::user()?),
        device: device_named("during"),
        ..NewSession::default()
      })
      .await
      .map(|t| t.handle);
    assert_unavailable("create", got, start.elapsed());
    let start = Instant::now();
    let got = e.get(&t.handle).await.map(|r| r.map(|r| r.handle));
    assert_unavailable("get (not \"no such session\")", got, start.elapsed());
    let start = Instant::now();
    assert_unavailable("sync", e.sync().await, start.elapsed());
    verified("after the failed calls")?;
    assert!(!e.is_revoked(&t.handle.to_text()), "nothing was revoked");
    assert_eq!(e.tokens().ring().version(), version, "the ring was kept");
    Ok(())
  }

  /// Once the store is back: the session is as it was (its refresh token was not rotated
  /// while down), the same refresh token refreshes, logins work, and every token verifies.
  pub async fn engine_after_outage(e: &Engine, t: &Tokens) -> TestResult {
    let record = e
      .get(&t.handle)
      .await?
      .ok_or("the session survived the outage")?;
    assert_eq!(
      (record.refresh.generation, record.refresh.current_digest),
      (0, rt_digest(&t.refresh)?),
      "the refresh token was not rotated while the store was down"
    );
    let next = new_tokens(
      e.refresh(t.refresh.as_bytes(), device_named("after"))
        .await?,
    )?;
    assert_eq!(next.handle, t.handle);
    assert_eq!(rt_generation(&next.refresh)?, 1, "one rotation, now");
    let record = e.get(&t.handle).await?.ok_or("the session lives")?;
    assert_eq!(
      (record.refresh.generation, record.refresh.current_digest),
      (1, rt_digest(&next.refresh)?)
    );
    assert_eq!(record.last_device, device_named("after"));
    assert_eq!(
      record.data.get("cart"),
      Some(&json!(["marker-outage"])),
      "the session data was kept"
    );
    e.sync().await?;
    let fresh = outage_login(e).await?;
    let again = new_tokens(
      e.refresh(fresh.refresh.as_bytes(), device_named("after"))
        .await?,
    )?;
    for token in [&t.access.token, &next.access.token, &again.access.token] {
      assert!(
        e.verify_request(Some(at_cookie(token).as_bytes()), None, AT_COOKIE)?
          .is_some(),
        "every access token verifies after the outage"
      );
    }
    Ok(())
  }
}

// ---- Two apps on one server: stores under different namespaces (a Redis prefix, a
// PostgreSQL schema or table prefix) keep apart. ----

/// Two apps with different secrets over `a` and `b`, two namespaces of one database: both
/// start (neither meets the other's key ring, which would be `KEYRING_UNREADABLE`), and
/// neither sees, refreshes, lists or revokes the other's sessions, nor reads its feed.
#[allow(dead_code)] // used by the Redis and PostgreSQL tests; an SQLite app has its own file
pub async fn two_apps_keep_apart(a: Arc<dyn Store>, b: Arc<dyn Store>) -> TestResult {
  let clock = Arc::new(FixedClock::at(ENGINE_T0));
  let ea = engine_with(
    Arc::clone(&a),
    Arc::clone(&clock),
    Algorithm::Hs256,
    ENGINE_SECRET,
  )
  .await?;
  let eb = engine_with(
    Arc::clone(&b),
    Arc::clone(&clock),
    Algorithm::Hs256,
    STRANGER_SECRET,
  )
  .await?;
  let user = conformance::user()?;
  let (mut on_a, mut on_b) = (HandedOut::default(), HandedOut::default());
  let ta = on_a.login(&ea, &user, "marker-app-a").await?;
  let tb = on_b.login(&eb, &user, "marker-app-b").await?;
  let handles = |l: Vec<tandem_session::engine::SessionInfo>| {
    l.into_iter().map(|s| s.handle).collect::<Vec<_>>()
  };
  assert_eq!(
    handles(ea.list_user(&user).await?),
    vec![ta.handle],
    "app A lists its own only"
  );
  assert_eq!(
    handles(eb.list_user(&user).await?),
    vec![tb.handle],
    "app B lists its own only"
  );
  assert_eq!(
    b.get(&ta.handle).await?,
    None,
    "B's store does not hold A's session"
  );
  assert!(
    !matches!(
      eb.refresh(ta.refresh.as_bytes(), device_named("b")).await?,
      RefreshOutcome::Refreshed(_)
    ),
    "B does not refresh A's session"
  );
  assert!(
    eb.verify_request(
      Some(at_cookie(&ta.access.token).as_bytes()),
      None,
      AT_COOKIE
    )
    .is_err(),
    "B does not accept A's access token"
  );
  // A's user-wide logout and its feed stay A's.
  let b_feed = feed_end(&*b).await?;
  assert_eq!(ea.revoke_user(&user, None).await?, vec![ta.handle]);
  assert_eq!(
    feed_end(&*b).await?,
    b_feed,
    "A's revocation is not in B's feed"
  );
  assert!(
    b.get(&tb.handle).await?.is_some(),
    "B's session outlives A's logout"
  );
  on_b.refresh(&eb, &tb.refresh).await?;
  assert_ne!(
    a.load_key_ring().await?.ok_or("A's ring")?.sealed,
    b.load_key_ring().await?.ok_or("B's ring")?.sealed,
    "each app keeps its own key ring"
  );
  Ok(())
}

// ---- Pushed revocation: an engine whose poll is a minute away still hears at once. ----

/// How long a pushed revocation may take to reach the other engine in these tests: far
/// below the poll (a minute, and ten of them while the subscription is live), far above
/// a loopback round trip.
pub const PUSH_BOUND: std::time::Duration = std::time::Duration::from_secs(1);

/// Wait until `e` refuses session `h`, at most `within`; how long it took.
pub async fn until_revoked(
  e: &Engine,
  h: &Handle,
  within: std::time::Duration,
) -> TestResult<std::time::Duration> {
  let start = std::time::Instant::now();
  while !e.is_revoked(&h.to_text()) {
    if start.elapsed() > within {
      return Err(format!("not refused after {within:?}").into());
    }
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
  }
  Ok(start.elapsed())
}

/// Engines over `a` and `b` (two connections to one server); `b`'s polls a minute apart.
/// `rounds` logouts, a user-wide logout, a theft and a signing-key revocation on `a` are
/// taken by `b` within
/// [`PUSH_BOUND`] each, and so is one made right after `drop_subscriptions` (which must
/// end `b`'s subscription and return how many subscribers are left: 0, so the revocation
/// is made while nobody listens, and `b` must catch up when it subscribes again). Returns
/// the latencies seen.
#[allow(dead_code)] // used by the Redis and PostgreSQL tests
pub async fn pushed_revocations_reach_another_engine<F, Fut>(
  a: Arc<dyn Store>,
  b: Arc<dyn Store>,
  rounds: usize,
  drop_subscriptions: F,
) -> TestResult<Vec<std::time::Duration>>
where
  F: Fn() -> Fut,
  Fut: std::future::Future<Output = TestResult<u64>>,
{
  let clock = Arc::new(FixedClock::at(ENGINE_T0));
  let ea = engine_with(a, Arc::clone(&clock), Algorithm::Hs256, ENGINE_SECRET).await?;
  let eb = engine_with(b, Arc::clone(&clock), Algorithm::Hs256, ENGINE_SECRET).await?;
  let task = tokio::spawn(eb.background(std::time::Duration::from_secs(60)));
  let mut out = HandedOut::default();
  let user = conformance::user()?;
  // The first session waits for the subscription to come up (its resync reads it too).
  let mut seen = Vec::with_capacity(rounds + 3);
  for i in 0..rounds {
    let t = out.login(&ea, &user, "marker-push").await?;
    assert!(ea.revoke(&t.handle).await?);
    let within = if i == 0 { PUSH_BOUND * 5 } else { PUSH_BOUND };
    seen.push(until_revoked(&eb, &t.handle, within).await?);
  }
  let t = out.login(&ea, &user, "marker-push-all").await?;
  assert_eq!(ea.revoke_user(&user, None).await?, vec![t.handle]);
  seen.push(until_revoked(&eb, &t.handle, PUSH_BOUND).await?);
  // A theft on A: the replayed first token after two rotations.
  let t0 = out.login(&ea, &user, "marker-push-theft").await?;
  let t1 = out.refresh(&ea, &t0.refresh).await?;
  clock.advance_ms(30_000);
  out.refresh(&ea, &t1.refresh).await?;
  match ea
    .refresh(t0.refresh.as_bytes(), device_named("thief"))
    .await?
  {
    RefreshOutcome::Theft(_) => {}
    other => return Err(format!("expected a theft, got {other:?}").into()),
  }
  seen.push(until_revoked(&eb, &t0.handle, PUSH_BOUND).await?);
  // An emergency key revocation on A: a key-ring notice, B drops the key as soon.
  let victim = ea.tokens().ring().current().kid().to_owned();
  ea.revoke_key(&victim).await?;
  let start = std::time::Instant::now();
  while eb.tokens().ring().keys().iter().any(|k| k.kid() == victim) {
    if start.elapsed() > PUSH_BOUND {
      return Err("the other engine still holds the revoked key".into());
    }
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
  }
  seen.push(start.elapsed());
  // Nobody listening when it is made: B reads it when it subscribes again.
  let t = out.login(&ea, &user, "marker-push-gap").await?;
  let left = drop_subscriptions().await?;
  assert_eq!(left, 0, "no subscriber is left when the revocation is made");
  assert!(ea.revoke(&t.handle).await?);
  seen.push(until_revoked(&eb, &t.handle, PUSH_BOUND * 5).await?);
  task.abort();
  Ok(seen)
}

/// How many PostgreSQL backends named `application_name` are connected, seen through `admin`.
#[allow(dead_code)] // used by the PostgreSQL tests
pub async fn backends(admin: &tokio_postgres::Client, application_name: &str) -> TestResult<u64> {
  let n: i64 = admin
    .query_one(
      "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
      &[&application_name],
    )
    .await?
    .get(0);
  Ok(u64::try_from(n)?)
}

/// End the PostgreSQL backends named `application_name` (a store's listener, see
/// `store::postgres`) through `admin`, and wait until they are gone: how many are left
/// (0 unless one came back first; the listener waits 50 ms before it reconnects).
#[allow(dead_code)] // used by the PostgreSQL tests
pub async fn end_backends(
  admin: &tokio_postgres::Client,
  application_name: &str,
) -> TestResult<u64> {
  admin
    .execute(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
      &[&application_name],
    )
    .await?;
  let mut left = 0;
  for _ in 0..200 {
    left = backends(admin, application_name).await?;
    if left == 0 {
      break;
    }
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
  }
  Ok(left)
}

/// How many connections of the Redis server `client` reaches are subscribed to `channel`,
/// after killing every pub/sub connection when `kill`.
#[allow(dead_code)] // used by the Redis tests
pub async fn subscribers(client: &redis::Client, channel: &str, kill: bool) -> TestResult<u64> {
  let mut c = client.get_multiplexed_async_connection().await?;
  if kill {
    let _: i64 = redis::cmd("CLIENT")
      .arg("KILL")
      .arg("TYPE")
      .arg("pubsub")
      .query_async(&mut c)
      .await?;
  }
  let (_, n): (String, u64) = redis::cmd("PUBSUB")
    .arg("NUMSUB")
    .arg(channel)
    .query_async(&mut c)
    .await?;
  Ok(n)
}
