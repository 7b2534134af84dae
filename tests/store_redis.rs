//! The Redis store against real servers: the conformance suite on one server and on a
//! Redis Cluster, what only a cluster shows (sessions spread over its nodes, user-wide calls
//! across them), a feed read while revocations race, values that do not decode, and an
//! outage.
//!
//! The servers are the ones at `TANDEM_REDIS_URL` and `TANDEM_REDIS_CLUSTER` (comma-separated
//! node URLs); `bash scripts/ci/redis.sh` starts both and prints them. Without them the
//! tests say so and pass, except under CI (`CI` set), where a missing server fails. The
//! outage test starts its own throwaway `redis-server` on a free loopback port, shuts it
//! down, freezes it (SIGSTOP), and brings it back under the same store object.
//!
//! At engine level: the engine scenarios (database 1); every key of a database of its own
//! (3 and 4) after real work holds no refresh token and no signing key in clear (DESIGN
//! promise 1); and with a throwaway server stopped under a live engine, refresh and login
//! are `STORE_UNAVAILABLE` while access tokens still verify, and all works again once it is
//! back (promise 10).

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tandem_session::clock::{FixedClock, UnixMillis};
use tandem_session::engine::{Engine, NewSession, RefreshOutcome, Tokens};
use tandem_session::jwt::Algorithm;
use tandem_session::keys::{sealed, KeyRing};
use tandem_session::secret::Secrets;
use tandem_session::session::{DeviceInfo, RefreshPolicy};
use tandem_session::store::conformance::{self, NOW};
use tandem_session::store::redis::session_key;
use tandem_session::store::{RedisStore, Store, StoredRing};
use tandem_session::token::Handle;
use tandem_session::{encoding, Config, ErrorKind, TokenService};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn under_ci() -> bool {
  std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// The variable's value, or `None` (and a note) when the test is to be skipped.
fn server_env(test: &str, var: &str) -> Option<String> {
  match std::env::var(var) {
    Ok(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
    _ => {
      assert!(
        !under_ci(),
        "{test}: {var} is not set, and under CI the Redis tests may not be skipped \
         (bash scripts/ci/redis.sh starts the servers and prints their URLs)"
      );
      eprintln!("{test}: skipped: set {var} (bash scripts/ci/redis.sh)");
      None
    }
  }
}

fn cluster_urls(test: &str) -> Option<Vec<String>> {
  server_env(test, "TANDEM_REDIS_CLUSTER").map(|v| {
    v.split(',')
      .map(|s| s.trim().to_owned())
      .filter(|s| !s.is_empty())
      .collect()
  })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_redis_store_keeps_the_store_contract() -> TestResult {
  let Some(url) = server_env("standalone", "TANDEM_REDIS_URL") else {
    return Ok(());
  };
  let store = RedisStore::connect(&url).await?;
  assert_eq!(store.kind(), "redis");
  conformance::run_all(Arc::new(store)).await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_redis_cluster_store_keeps_the_store_contract() -> TestResult {
  let Some(urls) = cluster_urls("cluster") else {
    return Ok(());
  };
  let store = RedisStore::connect_cluster(&urls).await?;
  conformance::run_all(Arc::new(store)).await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_node_is_refused_as_a_single_server_and_bad_urls_are_config_errors() -> TestResult
{
  for bad in ["", "not a url", "http://127.0.0.1:1"] {
    let e = RedisStore::connect(bad).await.err().map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::ConfigInvalid), "{bad:?}");
  }
  let e = RedisStore::connect_cluster(&[])
    .await
    .err()
    .map(|e| e.kind());
  assert_eq!(e, Some(ErrorKind::ConfigInvalid));
  let Some(urls) = cluster_urls("cluster node") else {
    return Ok(());
  };
  let e = RedisStore::connect(&urls[0]).await.err().map(|e| e.kind());
  assert_eq!(
    e,
    Some(ErrorKind::ConfigInvalid),
    "a cluster node is no single server"
  );
  Ok(())
}

/// Which node of `urls` holds `key` (the one that answers EXISTS without MOVED).
async fn owner(
  nodes: &mut [redis::aio::MultiplexedConnection],
  key: &str,
) -> Result<usize, Box<dyn std::error::Error>> {
  let mut found = None;
  for (i, n) in nodes.iter_mut().enumerate() {
    let r: redis::RedisResult<i64> = redis::cmd("EXISTS").arg(key).query_async(n).await;
    match r {
      Ok(1) => found = Some(i),
      Ok(_) => return Err(format!("{key} exists nowhere (node {i} owns its slot)").into()),
      Err(e) if e.code() == Some("MOVED") => {}
      Err(e) => return Err(e.into()),
    }
  }
  found.ok_or_else(|| format!("no node owns {key}").into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cluster_spreads_sessions_over_its_nodes_and_user_wide_calls_span_them() -> TestResult {
  let Some(urls) = cluster_urls("spread") else {
    return Ok(());
  };
  let store = RedisStore::connect_cluster(&urls).await?;
  let mut nodes = Vec::new();
  for u in &urls {
    nodes.push(
      redis::Client::open(u.as_str())?
        .get_multiplexed_async_connection()
        .await?,
    );
  }

  let user = conformance::user()?;
  let mut handles = Vec::new();
  for _ in 0..60 {
    let r = conformance::record(&user)?;
    store.insert(&r).await?;
    handles.push(r.handle);
  }
  let mut owners = HashSet::new();
  let mut slots = HashSet::new();
  for h in &handles {
    let key = session_key(h);
    owners.insert(owner(&mut nodes, &key).await?);
    let slot: i64 = redis::cmd("CLUSTER")
      .arg("KEYSLOT")
      .arg(&key)
      .query_async(&mut nodes[0])
      .await?;
    slots.insert(slot);
  }
  assert!(slots.len() > 10, "sessions land in many hash slots");
  assert_eq!(
    owners.len(),
    nodes.len().min(3),
    "sessions of one user land on every node"
  );

  // User-wide: list, patch, revoke all, and the feed, across the nodes.
  let listed: HashSet<Handle> = store
    .list_user(&user)
    .await?
    .into_iter()
    .map(|r| r.handle)
    .collect();
  assert_eq!(listed, handles.iter().copied().collect());
  for h in &handles[..10] {
    assert_eq!(
      store.patch_data(h, &[("k".into(), Some(json!(1)))]).await?,
      Some(1)
    );
  }
  let start = store
    .revocations_since(0, usize::MAX)
    .await?
    .last()
    .map_or(0, |r| r.seq);
  for r in store.list_user(&user).await? {
    let until = NOW.plus_ms(3_600_000);
    assert!(store.revoke(&r.handle, until).await?.is_some());
  }
  assert!(store.list_user(&user).await?.is_empty());
  let fed: HashSet<Handle> = store
    .revocations_since(start, 10_000)
    .await?
    .into_iter()
    .map(|f| f.handle)
    .collect();
  assert!(
    handles.iter().all(|h| fed.contains(h)),
    "every revocation is fed"
  );

  // Sweep across the nodes, at a time before anything of the conformance suite expires.
  let then = NOW.plus_ms(-10 * 86_400_000);
  let mut expired = Vec::new();
  for _ in 0..30 {
    let mut r = conformance::record(&user)?;
    r.refresh.idle_expires_at = then.plus_ms(-1);
    store.insert(&r).await?;
    expired.push(r.handle);
  }
  let live = conformance::record(&user)?;
  store.insert(&live).await?;
  store.sweep(then).await?;
  for h in &expired {
    assert!(
      store.get(h).await?.is_none(),
      "sweep removes expired sessions"
    );
  }
  let left: Vec<Handle> = store
    .list_user(&user)
    .await?
    .into_iter()
    .map(|r| r.handle)
    .collect();
  assert_eq!(left, vec![live.handle]);
  store.revoke(&live.handle, NOW).await?;
  Ok(())
}

async fn feed_reader_misses_nothing(store: Arc<dyn Store>) -> TestResult {
  let start = store
    .revocations_since(0, usize::MAX)
    .await?
    .last()
    .map_or(0, |r| r.seq);
  let user = conformance::user()?;
  let mut handles = HashSet::new();
  let mut records = Vec::new();
  for _ in 0..200 {
    let r = conformance::record(&user)?;
    store.insert(&r).await?;
    handles.insert(r.handle);
    records.push(r);
  }
  let mut tasks = Vec::new();
  for r in records {
    let s = Arc::clone(&store);
    tasks.push(tokio::spawn(async move {
      s.revoke(&r.handle, NOW.plus_ms(3_600_000)).await
    }));
  }
  // Read in small pages while the revocations race, remembering only the last position.
  let mut after = start;
  let mut seen = HashSet::new();
  let deadline = Instant::now() + Duration::from_secs(30);
  while seen.len() < handles.len() && Instant::now() < deadline {
    let page = store.revocations_since(after, 7).await?;
    for f in &page {
      assert!(f.seq > after, "positions increase");
      after = f.seq;
      if handles.contains(&f.handle) {
        assert!(seen.insert(f.handle), "a revocation appears once");
      }
    }
    if page.is_empty() {
      tokio::task::yield_now().await;
    }
  }
  for t in tasks {
    assert!(t.await??.is_some());
  }
  assert_eq!(seen.len(), handles.len(), "the reader saw every revocation");
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_of_the_feed_misses_no_revocation_while_they_race() -> TestResult {
  if let Some(url) = server_env("feed", "TANDEM_REDIS_URL") {
    feed_reader_misses_nothing(Arc::new(RedisStore::connect(&url).await?)).await?;
  }
  if let Some(urls) = cluster_urls("feed (cluster)") {
    feed_reader_misses_nothing(Arc::new(RedisStore::connect_cluster(&urls).await?)).await?;
  }
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn values_that_do_not_decode_are_store_corrupt() -> TestResult {
  let Some(url) = server_env("corrupt", "TANDEM_REDIS_URL") else {
    return Ok(());
  };
  let store = RedisStore::connect(&url).await?;
  let mut raw = redis::Client::open(url.as_str())?
    .get_multiplexed_async_connection()
    .await?;
  let damage: [(&str, &str); 4] = [
    ("gen", "minus one"),
    ("cur", "not base64url!"),
    ("claims", "[1,2"),
    ("v", "99"),
  ];
  for (field, value) in damage {
    let r = conformance::record(&conformance::user()?)?;
    store.insert(&r).await?;
    let _: i64 = redis::cmd("HSET")
      .arg(session_key(&r.handle))
      .arg(field)
      .arg(value)
      .query_async(&mut raw)
      .await?;
    let e = store.get(&r.handle).await.err();
    assert_eq!(
      e.as_ref().map(|e| e.kind()),
      Some(ErrorKind::StoreCorrupt),
      "{field}"
    );
    let text = e.map(|e| e.to_string()).unwrap_or_default();
    assert!(!text.contains(value), "no data in the message: {text}");
    store.revoke(&r.handle, NOW).await.ok();
  }
  // A session key of the wrong type.
  let h = Handle::generate()?;
  let _: () = redis::cmd("SET")
    .arg(session_key(&h))
    .arg("x")
    .query_async(&mut raw)
    .await?;
  let e = store.get(&h).await.err().map(|e| e.kind());
  assert_eq!(e, Some(ErrorKind::StoreCorrupt));
  let _: i64 = redis::cmd("DEL")
    .arg(session_key(&h))
    .query_async(&mut raw)
    .await?;
  Ok(())
}

// ---- The outage: a server of our own, shut down and frozen under a live store. ----

fn free_port() -> std::io::Result<u16> {
  Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Server {
  child: Child,
  port: u16,
  dir: std::path::PathBuf,
}

impl Server {
  fn start(port: u16, dir: &std::path::Path) -> Result<Self, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let child = Command::new("redis-server")
      .args(["--port", &port.to_string()])
      .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
      .arg("--dir")
      .arg(dir)
      .stdout(Stdio::null())
      .stderr(Stdio::null())
      .spawn()?;
    let server = Self {
      child,
      port,
      dir: dir.to_owned(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.answers() {
      if Instant::now() > deadline {
        return Err("the throwaway redis-server did not start".into());
      }
      std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
  }

  fn url(&self) -> String {
    format!("redis://127.0.0.1:{}", self.port)
  }

  fn answers(&self) -> bool {
    redis::Client::open(self.url().as_str())
      .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(300)))
      .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
      .is_ok()
  }

  fn shutdown(mut self) -> Result<(), Box<dyn std::error::Error>> {
    let mut c = redis::Client::open(self.url().as_str())?.get_connection()?;
    // The server closes the connection instead of answering.
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    self.child.wait()?;
    Ok(())
  }

  fn signal(&self, sig: &str) -> Result<(), Box<dyn std::error::Error>> {
    let ok = Command::new("kill")
      .args([sig, &self.child.id().to_string()])
      .stderr(Stdio::null())
      .status()?
      .success();
    if ok {
      Ok(())
    } else {
      Err("kill failed".into())
    }
  }
}

impl Drop for Server {
  fn drop(&mut self) {
    let _ = self.signal("-CONT");
    let _ = self.child.kill();
    let _ = self.child.wait();
    let _ = std::fs::remove_dir_all(&self.dir);
  }
}

/// Every call of the store, each expected to fail with STORE_UNAVAILABLE within `within`.
async fn every_call_is_unavailable(
  store: &RedisStore,
  known: &Handle,
  within: Duration,
) -> TestResult {
  let r = conformance::record(&conformance::user()?)?;
  let dev = DeviceInfo::default();
  let ring = StoredRing {
    version: 1,
    sealed: "x".into(),
  };
  macro_rules! check {
    ($name:literal, $call:expr) => {{
      let t = Instant::now();
      let got = $call.await.err().map(|e| e.kind());
      let took = t.elapsed();
      assert_eq!(got, Some(ErrorKind::StoreUnavailable), "{}", $name);
      assert!(took < within, "{} took {:?}", $name, took);
    }};
  }
  check!("get", store.get(known));
  check!("insert", store.insert(&r));
  check!(
    "rotate",
    store.rotate(known, &r.refresh, &r.refresh, NOW, &dev)
  );
  check!("patch_data", store.patch_data(known, &[("a".into(), None)]));
  check!("revoke", store.revoke(known, NOW));
  check!("list_user", store.list_user(&r.user_id));
  check!("revocations_since", store.revocations_since(0, 10));
  check!("sweep", store.sweep(NOW));
  check!("load_key_ring", store.load_key_ring());
  check!("save_key_ring", store.save_key_ring(None, &ring));
  Ok(())
}

/// Wait until the store answers again, then check it works.
async fn works_again(store: &RedisStore, within: Duration) -> TestResult {
  let deadline = Instant::now() + within;
  loop {
    match store.get(&Handle::generate()?).await {
      Ok(None) => break,
      Ok(Some(_)) => return Err("an unknown handle was found".into()),
      Err(e) if Instant::now() < deadline => {
        assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
        tokio::time::sleep(Duration::from_millis(100)).await;
      }
      Err(e) => return Err(format!("the store did not come back: {e}").into()),
    }
  }
  Ok(())
}

fn redis_server_present(test: &str) -> bool {
  let found = Command::new("redis-server")
    .arg("--version")
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()
    .is_ok_and(|s| s.success());
  if !found {
    assert!(
      !under_ci(),
      "{test}: redis-server is not installed, and under CI the Redis tests may not be \
       skipped (bash scripts/ci/redis.sh installs it)"
    );
    eprintln!("{test}: skipped: redis-server not found (bash scripts/ci/redis.sh installs it)");
  }
  found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_the_server_down_or_frozen_calls_fail_fast_and_the_store_comes_back() -> TestResult {
  if !redis_server_present("outage") {
    return Ok(());
  }
  let port = free_port()?;
  let dir = std::env::temp_dir().join(format!("tandem-redis-outage-{}-{port}", std::process::id()));
  let server = Server::start(port, &dir)?;
  let store = RedisStore::connect(&server.url()).await?;
  let r = conformance::record(&conformance::user()?)?;
  store.insert(&r).await?;
  assert!(store.get(&r.handle).await?.is_some());

  // Down: every call fails promptly with STORE_UNAVAILABLE.
  server.shutdown()?;
  every_call_is_unavailable(&store, &r.handle, Duration::from_secs(4)).await?;
  // Connecting anew fails the same way.
  let t = Instant::now();
  let e = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
    .await
    .err()
    .map(|e| e.kind());
  assert_eq!(e, Some(ErrorKind::StoreUnavailable));
  assert!(t.elapsed() < Duration::from_secs(4));

  // Back (empty: nothing was saved), on the same port: the same store object works again,
  // scripts included (the new server has none loaded).
  let server = Server::start(port, &dir)?;
  works_again(&store, Duration::from_secs(10)).await?;
  conformance::run_all(Arc::new(store.clone())).await?;

  // Frozen: the connection stays open but nothing answers.
  let r = conformance::record(&conformance::user()?)?;
  store.insert(&r).await?;
  server.signal("-STOP")?;
  // A request that timed out may still run when the server wakes (documented): the calls
  // go to another session, so what they would change is nothing.
  every_call_is_unavailable(&store, &Handle::generate()?, Duration::from_secs(5)).await?;
  server.signal("-CONT")?;
  works_again(&store, Duration::from_secs(10)).await?;
  assert_eq!(
    store.get(&r.handle).await?.map(|g| g.handle),
    Some(r.handle),
    "nothing was lost while frozen"
  );
  assert_eq!(store.get(&r.handle).await?.as_ref(), Some(&r));
  assert_eq!(
    store
      .patch_data(&r.handle, &[("after".into(), Some(json!(true)))])
      .await?,
    Some(1)
  );
  drop(server);
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_is_unavailable_within_seconds() -> TestResult {
  // A listener that accepts and then says nothing.
  let listener = TcpListener::bind("127.0.0.1:0")?;
  let port = listener.local_addr()?.port();
  let keep = std::thread::spawn(move || {
    let mut held = Vec::new();
    for s in listener.incoming().take(16) {
      match s {
        Ok(s) => held.push(s),
        Err(_) => break,
      }
    }
    std::thread::sleep(Duration::from_secs(30));
  });
  let t = Instant::now();
  let e = RedisStore::connect(&format!("redis://127.0.0.1:{port}"))
    .await
    .err()
    .map(|e| e.kind());
  assert_eq!(e, Some(ErrorKind::StoreUnavailable));
  assert!(
    t.elapsed() < Duration::from_secs(5),
    "took {:?}",
    t.elapsed()
  );
  drop(keep);
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_scenarios_hold_on_redis() -> tandem_session::Result<()> {
  let Ok(url) = std::env::var("TANDEM_REDIS_URL") else {
    assert!(
      std::env::var_os("CI").is_none(),
      "TANDEM_REDIS_URL must be set under CI"
    );
    eprintln!("the_engine_scenarios_hold_on_redis: skipped: set TANDEM_REDIS_URL (source scripts/ci/redis.sh)");
    return Ok(());
  };
  // Database 1: the store suite writes fake key rings into database 0.
  let host_end = url.find("://").map_or(0, |i| i + 3);
  let base = match url[host_end..].find('/') {
    Some(i) => &url[..host_end + i],
    None => url.as_str(),
  };
  let url = format!("{base}/1");
  // Start from an empty database: the scenarios expect a key ring that has not rotated.
  let client = redis::Client::open(url.as_str())
    .map_err(|_| tandem_session::Error::new(tandem_session::ErrorKind::Internal, "redis client"))?;
  let mut conn = client
    .get_multiplexed_async_connection()
    .await
    .map_err(|_| {
      tandem_session::Error::new(tandem_session::ErrorKind::StoreUnavailable, "redis connect")
    })?;
  redis::cmd("FLUSHDB")
    .query_async::<()>(&mut conn)
    .await
    .map_err(|_| {
      tandem_session::Error::new(tandem_session::ErrorKind::StoreUnavailable, "FLUSHDB")
    })?;
  let store = tandem_session::store::RedisStore::connect(&url).await?;
  tandem_session::engine::conformance::run_all(std::sync::Arc::new(store)).await
}

/// The error type of the engine-level helpers below.
type EngineResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

// ---- Engine level, shared by the store test files (each test file is its own crate): an
// engine over the store doing real work, a dump of the store checked for anything usable
// (DESIGN promise 1), and an outage under a live engine (promise 10). ----

const ENGINE_SECRET: &str = "engine-level-test-secret-long-enough-0001";
const STRANGER_SECRET: &str = "a-stranger-secret-also-long-enough-0000002";
/// Start of the engine tests' fixed clock.
const ENGINE_T0: UnixMillis = UnixMillis(4_100_000_000_000);
/// A refresh token's bytes: version (1) ‖ handle (16) ‖ generation (4) ‖ secret (32) ‖ tag (16).
const RT_LEN: usize = 69;
const RT_SECRET: std::ops::Range<usize> = 21..53;
const AT_COOKIE: &str = "__Host-at";

/// An engine over `store` with `secret` and signing algorithm `alg`, on `clock`.
async fn engine_with(
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
fn rt_bytes(text: &str) -> EngineResult<Vec<u8>> {
  let raw = encoding::decode_strict(text.as_bytes(), RT_LEN, ErrorKind::RefreshMalformed)?;
  if raw.len() != RT_LEN || raw[0] != 1 {
    return Err("not a version-1 refresh token".into());
  }
  Ok(raw)
}

/// What a store keeps of a refresh token: the SHA-256 of its secret.
fn rt_digest(text: &str) -> EngineResult<[u8; 32]> {
  Ok(tandem_session::digest::sha256(&rt_bytes(text)?[RT_SECRET]))
}

fn new_tokens(o: RefreshOutcome) -> EngineResult<Tokens> {
  match o {
    RefreshOutcome::Refreshed(t) => Ok(t),
    other => Err(format!("expected new tokens, got {other:?}").into()),
  }
}

/// Everything an engine handed out, and what its store must show.
#[derive(Default)]
struct HandedOut {
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

  async fn login(&mut self, e: &Engine, user: &str, marker: &str) -> EngineResult<Tokens> {
    let data = json!({ "cart": [marker], "theme": "dark" });
    let claims = json!({ "role": "editor", "tenant": "acme" });
    let t = e
      .create(NewSession {
        user_id: user.to_owned(),
        data: data.as_object().cloned().ok_or("an object")?,
        claims: claims.as_object().cloned().ok_or("an object")?,
        device: device_named("login"),
        replaces: None,
      })
      .await?;
    self.keep(&t);
    self.markers.push((t.handle, marker.to_owned()));
    Ok(t)
  }

  async fn refresh(&mut self, e: &Engine, rt: &str) -> EngineResult<Tokens> {
    let t = new_tokens(e.refresh(rt.as_bytes(), device_named("refresh")).await?)?;
    self.keep(&t);
    Ok(t)
  }
}

/// The stored ring's version.
async fn stored_ring_version(store: &dyn Store) -> EngineResult<u64> {
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
async fn real_work(
  store: &Arc<dyn Store>,
  alg: Algorithm,
) -> EngineResult<(Arc<Engine>, Arc<FixedClock>, HandedOut)> {
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
async fn assert_nothing_usable(
  what: &str,
  dump: &[u8],
  e: &Engine,
  store: &Arc<dyn Store>,
  out: &HandedOut,
) -> EngineResult {
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

/// `url` with database number `db`.
fn with_database(url: &str, db: u8) -> String {
  let host_end = url.find("://").map_or(0, |i| i + 3);
  let base = match url[host_end..].find('/') {
    Some(i) => &url[..host_end + i],
    None => url,
  };
  format!("{base}/{db}")
}

/// Every key of the connection's database (SCAN) with its content by type (HGETALL,
/// ZRANGE … WITHSCORES, GET, LRANGE, SMEMBERS): what a dump of the database shows.
async fn redis_dump(c: &mut redis::aio::MultiplexedConnection) -> EngineResult<Vec<u8>> {
  let mut keys: Vec<Vec<u8>> = Vec::new();
  let mut cursor: u64 = 0;
  loop {
    let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
      .arg(cursor)
      .arg("COUNT")
      .arg(1000)
      .query_async(c)
      .await?;
    keys.extend(batch);
    cursor = next;
    if cursor == 0 {
      break;
    }
  }
  keys.sort();
  keys.dedup();
  let mut dump = Vec::new();
  for key in &keys {
    let kind: String = redis::cmd("TYPE").arg(key).query_async(c).await?;
    dump.extend_from_slice(key);
    dump.extend_from_slice(format!("\t{kind}").as_bytes());
    let mut items: Vec<Vec<u8>> = Vec::new();
    match kind.as_str() {
      "hash" => {
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(key).query_async(c).await?;
        for (field, value) in pairs {
          items.extend([field, value]);
        }
      }
      "zset" => {
        let pairs: Vec<(Vec<u8>, f64)> = redis::cmd("ZRANGE")
          .arg(key)
          .arg(0)
          .arg(-1)
          .arg("WITHSCORES")
          .query_async(c)
          .await?;
        for (member, score) in pairs {
          items.extend([member, score.to_string().into_bytes()]);
        }
      }
      "string" => items.push(redis::cmd("GET").arg(key).query_async(c).await?),
      "list" => {
        items = redis::cmd("LRANGE")
          .arg(key)
          .arg(0)
          .arg(-1)
          .query_async(c)
          .await?;
      }
      "set" => items = redis::cmd("SMEMBERS").arg(key).query_async(c).await?,
      other => return Err(format!("a key of type {other} is not dumped").into()),
    }
    for item in items {
      dump.push(b'\t');
      dump.extend_from_slice(&item);
    }
    dump.push(b'\n');
  }
  Ok(dump)
}

/// Promise 1 on Redis: after real work through an engine (HS256 in database 3, EdDSA in
/// database 4, each emptied first so that the dump is of this work only), every key holds
/// no refresh token, no secret of one, no access token, and the key ring only sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_redis_keys_hold_no_refresh_token_and_no_signing_key_in_clear() -> TestResult {
  let Some(url) = server_env("dump", "TANDEM_REDIS_URL") else {
    return Ok(());
  };
  // Databases 0 to 2 belong to the store suite, the engine scenarios and the JS tests.
  for (alg, db) in [(Algorithm::Hs256, 3), (Algorithm::EdDsa, 4)] {
    let url = with_database(&url, db);
    let mut raw = redis::Client::open(url.as_str())?
      .get_multiplexed_async_connection()
      .await?;
    let _: () = redis::cmd("FLUSHDB").query_async(&mut raw).await?;
    let store: Arc<dyn Store> = Arc::new(RedisStore::connect(&url).await?);
    let (e, _clock, out) = real_work(&store, alg).await?;
    let dump = redis_dump(&mut raw).await?;
    assert_nothing_usable(&format!("redis {alg:?}"), &dump, &e, &store, &out).await?;
    let _: () = redis::cmd("FLUSHDB").query_async(&mut raw).await?;
  }
  Ok(())
}

// ---- Engine level: an outage under a live engine (DESIGN promise 10). ----

/// Where a refresh token's generation sits in its bytes.
const RT_GENERATION: std::ops::Range<usize> = 17..21;

fn rt_generation(text: &str) -> EngineResult<u32> {
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

/// Logs in on `e`: the session the outage tests keep.
async fn outage_login(e: &Engine) -> EngineResult<Tokens> {
  let mut out = HandedOut::default();
  out.login(e, &conformance::user()?, "marker-outage").await
}

/// With the store down: refresh, login, reading a session and sync fail promptly with
/// STORE_UNAVAILABLE, while the access token of `t` still verifies (no I/O), before and
/// after those failures; nothing is cleared.
async fn engine_during_outage(e: &Engine, t: &Tokens) -> EngineResult {
  let version = e.tokens().ring().version();
  let verified = |when: &str| -> EngineResult {
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
      user_id: conformance::user()?,
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
async fn engine_after_outage(e: &Engine, t: &Tokens) -> EngineResult {
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

/// Shuts `server` down saving its data first (`SHUTDOWN SAVE`), as a server with
/// persistence stops; a server started next on its directory loads the data back.
fn shutdown_saving(server: &mut Server) -> EngineResult {
  let mut c = redis::Client::open(server.url().as_str())?.get_connection()?;
  // The server closes the connection instead of answering.
  let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
  server.child.wait()?;
  assert!(
    server.dir.join("dump.rdb").exists(),
    "the server saved its data"
  );
  Ok(())
}

/// Promise 10 on Redis: with a throwaway server stopped under a live engine, refresh,
/// login, reads and sync are STORE_UNAVAILABLE within seconds while the session's access
/// token still verifies; once the server is back with its data the same engine refreshes
/// with the same refresh token (not rotated while down) and logs in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_redis_down_the_engine_refuses_refresh_keeps_verifying_and_recovers() -> TestResult {
  if !redis_server_present("engine outage") {
    return Ok(());
  }
  let port = free_port()?;
  let dir = std::env::temp_dir().join(format!(
    "tandem-redis-engine-outage-{}-{port}",
    std::process::id()
  ));
  let mut first = Server::start(port, &dir)?;
  let store = RedisStore::connect(&first.url()).await?;
  let clock = Arc::new(FixedClock::at(ENGINE_T0));
  let e = engine_with(
    Arc::new(store.clone()),
    clock,
    Algorithm::Hs256,
    ENGINE_SECRET,
  )
  .await?;
  let t = outage_login(&e).await?;

  shutdown_saving(&mut first)?;
  engine_during_outage(&e, &t).await?;

  // Back on the same port, with the data it saved.
  let second = Server::start(port, &dir)?;
  works_again(&store, Duration::from_secs(10)).await?;
  engine_after_outage(&e, &t).await?;
  drop(second);
  drop(first);
  Ok(())
}
