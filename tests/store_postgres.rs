//! The PostgreSQL store against a real server: the conformance suite, and what only a real
//! server shows — two processes sharing a database, first-time connects racing the
//! migration, a feed read while revocations race, JSON and corrupt rows, and an outage.
//!
//! The server is the one at `TANDEM_PG_URL` (`bash scripts/ci/postgres.sh` starts one and
//! prints it). Without it the tests say so and pass, except under CI (`CI` set), where a
//! missing server fails. The outage test starts its own throwaway cluster on port 5441
//! with the same script, stops it (`pg_ctl stop -m immediate`), freezes it (SIGSTOP), and
//! brings it back; the engine's outage test does the same with a cluster on port 5442.
//!
//! At engine level: the engine scenarios; every row of every table after real work holds no
//! refresh token and no signing key in clear (DESIGN promise 1); and with the server
//! stopped under a live engine, refresh and login are `STORE_UNAVAILABLE` while access
//! tokens still verify, and all works again once it is back (promise 10).

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::outage::{engine_after_outage, engine_and_session, engine_during_outage};
use common::{
  assert_nothing_usable, backends, end_backends, feed_end, pushed_revocations_reach_another_engine,
  real_work, two_apps_keep_apart, TestResult,
};
use serde_json::{json, Map, Value};
use tandem_session::clock::UnixMillis;
use tandem_session::jwt::Algorithm;
use tandem_session::session::DeviceInfo;
use tandem_session::store::conformance::{self, LIMIT, NOW};
use tandem_session::store::postgres::{Namespace, PostgresOptions};
use tandem_session::store::{PostgresStore, Store, StoredRing};
use tandem_session::token::Handle;
use tandem_session::ErrorKind;

/// `TANDEM_PG_URL`, or `None` (and a note) when the tests are to be skipped.
fn pg_url(test: &str) -> Option<String> {
  match std::env::var("TANDEM_PG_URL") {
    Ok(url) if !url.trim().is_empty() => Some(url),
    _ => {
      let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
      assert!(
        !ci,
        "{test}: TANDEM_PG_URL is not set, and under CI the PostgreSQL tests may not be \
         skipped (bash scripts/ci/postgres.sh starts a server and prints its URL)"
      );
      eprintln!("{test}: skipped: set TANDEM_PG_URL (bash scripts/ci/postgres.sh)");
      None
    }
  }
}

/// A fresh schema of its own for one test, so tests running at once (and the shared key
/// ring row) never meet. Dropped by [`Schema::drop_now`].
struct Schema {
  admin: tokio_postgres::Client,
  name: String,
  /// The connection string with `search_path` set to the schema.
  url: String,
}

impl Schema {
  async fn new(url: &str) -> TestResult<Self> {
    let (admin, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
      let _ = conn.await;
    });
    let nanos = std::time::SystemTime::now()
      .duration_since(std::time::UNIX_EPOCH)?
      .as_nanos();
    let name = format!("tandem_test_{}_{nanos}", std::process::id());
    admin
      .batch_execute(&format!("CREATE SCHEMA {name}"))
      .await?;
    let url = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
      let sep = if url.contains('?') { '&' } else { '?' };
      format!("{url}{sep}options=-c%20search_path%3D{name}")
    } else {
      format!("{url} options='-c search_path={name}'")
    };
    Ok(Self { admin, name, url })
  }

  async fn drop_now(self) -> TestResult {
    self
      .admin
      .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.name))
      .await?;
    Ok(())
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anonymous_quota_evicts_the_oldest_visitors_only_on_postgres() -> TestResult {
  let Some(url) = pg_url("the_anonymous_quota_evicts_the_oldest_visitors_only_on_postgres") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let options = PostgresOptions {
    max_anonymous: 5,
    ..PostgresOptions::default()
  };
  let store = PostgresStore::connect_with(&schema.url, &options).await?;
  conformance::anonymous_quota_evicts_the_oldest_visitors_only(&store, 5, 7).await?;
  // 40 visitors at once, with revocations of some racing them: the count stays exact (no
  // deadlock, no lost update) and the quota holds.
  let store = Arc::new(store);
  let mut tasks = tokio::task::JoinSet::new();
  for i in 0..40_i64 {
    let store = Arc::clone(&store);
    tasks.spawn(async move {
      let mut v = conformance::record("")?;
      v.user_id = format!("~anon:{}", v.handle.to_text());
      v.created_at = NOW.plus_ms(1000 + i);
      store.insert(&v).await?;
      if i % 4 == 0 {
        store.revoke(&v.handle, NOW).await?;
      }
      Ok::<_, tandem_session::Error>(())
    });
  }
  while let Some(r) = tasks.join_next().await {
    r??;
  }
  let (admin, conn) = tokio_postgres::connect(&schema.url, tokio_postgres::NoTls).await?;
  tokio::spawn(async move {
    let _ = conn.await;
  });
  let counted: i64 = admin
    .query_one("SELECT n FROM tandem_anonymous_count", &[])
    .await?
    .get(0);
  let actual: i64 = admin
    .query_one(
      "SELECT count(*) FROM tandem_sessions WHERE user_id LIKE '~anon:%'",
      &[],
    )
    .await?
    .get(0);
  assert_eq!(counted, actual, "the trigger-kept count is the real one");
  assert!(actual <= 5, "{actual} visitors kept over a quota of 5");
  drop(admin);
  schema.drop_now().await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_store_keeps_the_store_contract() -> TestResult {
  let Some(url) = pg_url("the_postgres_store_keeps_the_store_contract") else {
    return Ok(());
  };
  let store = PostgresStore::connect(&url).await?;
  assert_eq!(store.kind(), "postgres");
  conformance::run_all(Arc::new(store)).await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_apps_with_their_own_schema_or_table_prefix_share_one_database() -> TestResult {
  let Some(url) = pg_url("namespaces") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let own = format!("{}_own", schema.name);
  let connect = |namespace| {
    let url = schema.url.clone();
    async move {
      let options = PostgresOptions {
        namespace,
        ..PostgresOptions::default()
      };
      PostgresStore::connect_with(&url, &options).await
    }
  };
  let a: Arc<dyn Store> = Arc::new(connect(Namespace::default()).await?);
  let b: Arc<dyn Store> = Arc::new(connect(Namespace::new(None, Some("staging_"))?).await?);
  let c: Arc<dyn Store> = Arc::new(connect(Namespace::new(Some(&own), None)?).await?);
  two_apps_keep_apart(Arc::clone(&a), Arc::clone(&b)).await?;
  two_apps_keep_apart(Arc::clone(&a), Arc::clone(&c)).await?;
  // Each namespace's tables are where it says, under its names.
  let tables = |s: String| {
    let admin = &schema.admin;
    async move {
      let rows = admin
        .query(
          "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1",
          &[&s],
        )
        .await?;
      Ok::<Vec<String>, tokio_postgres::Error>(rows.iter().map(|r| r.get(0)).collect())
    }
  };
  let names = [
    "anonymous_count",
    "key_ring",
    "revocations",
    "schema_version",
    "sessions",
  ];
  let under = |p: &str| names.iter().map(|n| format!("{p}{n}")).collect::<Vec<_>>();
  let mut both = under("staging_");
  both.extend(under("tandem_"));
  assert_eq!(tables(schema.name.clone()).await?, both);
  assert_eq!(tables(own.clone()).await?, under("tandem_"));
  // A namespaced store keeps the whole contract too.
  conformance::run_all(b).await?;
  drop((a, c));
  schema
    .admin
    .batch_execute(&format!("DROP SCHEMA {own} CASCADE"))
    .await?;
  schema.drop_now().await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocations_are_notified_to_other_engines_and_a_lost_listener_catches_up() -> TestResult {
  let Some(url) = pg_url("pushed revocation") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  // A name of its own, so that only this test's listeners are ended below.
  let name = format!("push{}", std::process::id());
  let url = format!("{}&application_name={name}", schema.url);
  let a = Arc::new(PostgresStore::connect(&url).await?);
  let b = Arc::new(PostgresStore::connect(&url).await?);
  let admin = &schema.admin;
  let listener = format!("{name} listener");
  let b_store = Arc::clone(&b);
  let seen =
    pushed_revocations_reach_another_engine(a, b, 20, || end_backends(admin, &listener)).await?;
  eprintln!("pushed revocation, PostgreSQL: {seen:?}");
  // Closed, the store's listener and pool end for good: no listener comes back, and a call
  // is STORE_UNAVAILABLE.
  b_store.close();
  tokio::time::sleep(Duration::from_millis(300)).await;
  let listeners = backends(admin, &listener).await?;
  assert_eq!(listeners, 0, "a closed store's listener stays gone");
  let after = b_store.load_key_ring().await.err().map(|e| e.kind());
  assert_eq!(after, Some(ErrorKind::StoreUnavailable));
  schema.drop_now().await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_database_see_each_others_writes_and_revocations() -> TestResult {
  let Some(url) = pg_url("two_processes") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let a = PostgresStore::connect(&schema.url).await?;
  let b = PostgresStore::connect(&schema.url).await?;

  let r = conformance::record(&conformance::user()?)?;
  a.insert(&r).await?;
  assert_eq!(
    b.get(&r.handle).await?.as_ref(),
    Some(&r),
    "b reads a's insert"
  );
  assert_eq!(
    b.insert(&r).await.err().map(|e| e.kind()),
    Some(ErrorKind::StoreCorrupt),
    "b cannot overwrite a's session"
  );

  let mut to = r.refresh.clone();
  to.generation += 1;
  to.previous_digest = Some(r.refresh.current_digest);
  to.current_digest = [42; 32];
  let dev = DeviceInfo {
    ip: Some("198.51.100.9".into()),
    user_agent: None,
  };
  assert!(
    b.rotate(&r.handle, &r.refresh, &to, NOW.plus_ms(1), &dev)
      .await?
  );
  assert!(
    !a.rotate(&r.handle, &r.refresh, &to, NOW.plus_ms(2), &dev)
      .await?,
    "a's rotation from the old state loses to b's"
  );
  let got = a.get(&r.handle).await?.ok_or("a sees the session")?;
  assert_eq!(
    (got.refresh, got.last_device),
    (to, dev),
    "a reads b's rotation"
  );

  assert_eq!(
    a.patch_data(&r.handle, &[("x".into(), Some(json!(1)))], LIMIT)
      .await?,
    Some(1)
  );
  assert_eq!(
    b.patch_data(&r.handle, &[("y".into(), Some(json!(2)))], LIMIT)
      .await?,
    Some(2)
  );
  let got = a.get(&r.handle).await?.ok_or("a sees the session")?;
  assert_eq!(
    (got.data.get("x"), got.data.get("y")),
    (Some(&json!(1)), Some(&json!(2)))
  );

  let start = feed_end(&b).await?;
  assert!(a.revoke(&r.handle, NOW.plus_ms(9)).await?.is_some());
  let feed = b.revocations_since(start, 100).await?;
  assert_eq!(
    feed.iter().map(|f| (f.handle, f.until)).collect::<Vec<_>>(),
    vec![(r.handle, NOW.plus_ms(9))],
    "b reads a's revocation from the feed"
  );
  assert!(b.get(&r.handle).await?.is_none(), "b sees the session gone");

  let one = StoredRing {
    version: 1,
    sealed: "one".into(),
  };
  assert!(a.save_key_ring(None, &one).await?);
  assert_eq!(b.load_key_ring().await?, Some(one.clone()));
  let two = StoredRing {
    version: 2,
    sealed: "two".into(),
  };
  assert!(
    !b.save_key_ring(None, &two).await?,
    "b's first save loses to a's"
  );
  assert!(b.save_key_ring(Some(1), &two).await?);
  assert!(
    !a.save_key_ring(Some(1), &one).await?,
    "a's stale swap fails"
  );
  assert_eq!(a.load_key_ring().await?, Some(two));
  schema.drop_now().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_connecting_for_the_first_time_at_once_all_succeed() -> TestResult {
  let Some(url) = pg_url("first_time_connects") else {
    return Ok(());
  };
  for _ in 0..3 {
    let schema = Schema::new(&url).await?;
    let u = schema.url.as_str();
    let (s1, s2, s3, s4) = tokio::join!(
      PostgresStore::connect(u),
      PostgresStore::connect(u),
      PostgresStore::connect(u),
      PostgresStore::connect(u),
    );
    for s in [s1, s2, s3, s4] {
      let s = s?;
      assert!(s.get(&Handle::generate()?).await?.is_none());
    }
    let rows = schema
      .admin
      .query(
        &format!(
          "SELECT version, count(*) FROM {}.tandem_schema_version GROUP BY version",
          schema.name
        ),
        &[],
      )
      .await?;
    assert!(!rows.is_empty());
    for row in rows {
      assert_eq!(row.try_get::<_, i64>(1)?, 1, "each migration ran once");
    }
    // Connecting again to a migrated schema changes nothing.
    PostgresStore::connect(u).await?;
    schema.drop_now().await?;
  }
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_of_the_feed_misses_no_revocation_while_they_race() -> TestResult {
  let Some(url) = pg_url("feed_under_races") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let a: Arc<dyn Store> = Arc::new(PostgresStore::connect(&schema.url).await?);
  let b: Arc<dyn Store> = Arc::new(PostgresStore::connect(&schema.url).await?);
  let user = conformance::user()?;
  let mut handles = Vec::new();
  for _ in 0..300 {
    let r = conformance::record(&user)?;
    a.insert(&r).await?;
    handles.push(r.handle);
  }
  let reader = {
    let b = Arc::clone(&b);
    let want = handles.len();
    tokio::spawn(async move {
      let (mut cursor, mut seen) = (0, Vec::new());
      let deadline = Instant::now() + Duration::from_secs(60);
      while seen.len() < want && Instant::now() < deadline {
        for f in b.revocations_since(cursor, 7).await? {
          assert!(f.seq > cursor, "the feed goes forward");
          cursor = f.seq;
          seen.push(f.handle);
        }
      }
      tandem_session::Result::Ok(seen)
    })
  };
  let writers: Vec<_> = handles
    .iter()
    .enumerate()
    .map(|(i, h)| {
      let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
      let h = *h;
      tokio::spawn(async move { s.revoke(&h, NOW).await })
    })
    .collect();
  for w in writers {
    assert!(w.await??.is_some());
  }
  let mut seen = reader.await??;
  // Everything the reader saw it saw once; and it saw everything.
  let n = seen.len();
  seen.sort();
  seen.dedup();
  assert_eq!(seen.len(), n, "no revocation is read twice");
  handles.sort();
  assert_eq!(
    seen, handles,
    "a reader following the feed misses no revocation"
  );
  schema.drop_now().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_values_round_trip_and_what_postgres_cannot_hold_is_refused() -> TestResult {
  let Some(url) = pg_url("json_round_trip") else {
    return Ok(());
  };
  let store = PostgresStore::connect(&url).await?;
  let mut r = conformance::record(&conformance::user()?)?;
  let values = json!({
    "half": 2.5, "tiny": 5e-324, "huge": 1e300, "third": 0.30000000000000004,
    "one_point_zero": 1.0, "neg": -17, "u64max": u64::MAX, "i64min": i64::MIN,
    "text": "é ☃ 𝄞 \"quoted\" \\ \n", "empty": {}, "list": [[], [null, true, false]],
    "deep": {"a": {"b": {"c": [1, {"d": "e"}]}}}, "": "empty key"
  });
  r.data = values.as_object().cloned().ok_or("an object")?;
  r.claims = r.data.clone();
  store.insert(&r).await?;
  assert_eq!(
    store.get(&r.handle).await?.as_ref(),
    Some(&r),
    "values come back equal"
  );

  let before = store.get(&r.handle).await?;
  let nul = store
    .patch_data(&r.handle, &[("bad".into(), Some(json!("a\u{0}b")))], LIMIT)
    .await;
  assert_eq!(
    nul.err().map(|e| e.kind()),
    Some(ErrorKind::InvalidArgument)
  );
  assert_eq!(
    store.get(&r.handle).await?,
    before,
    "a refused patch changes nothing"
  );

  let mut bad = conformance::record("user\u{0}nul")?;
  bad.data = Map::new();
  assert_eq!(
    store.insert(&bad).await.err().map(|e| e.kind()),
    Some(ErrorKind::InvalidArgument)
  );
  let removed = store
    .patch_data(&r.handle, &[("half".into(), None)], LIMIT)
    .await?;
  assert_eq!(removed, Some(r.data_version + 1));
  let got = store.get(&r.handle).await?.ok_or("exists")?;
  assert!(!got.data.contains_key("half") && got.data.get("tiny") == Some(&json!(5e-324)));
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_that_do_not_decode_are_store_corrupt() -> TestResult {
  let Some(url) = pg_url("corrupt_rows") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let store = PostgresStore::connect(&schema.url).await?;
  let user = conformance::user()?;
  let r = conformance::record(&user)?;
  let table = format!("{}.tandem_sessions", schema.name);
  for bad in [
    "current_digest = '\\x01'",
    "generation = -1",
    "data = '[1, 2]'",
    "handle = 'not a handle'",
  ] {
    let h = r.handle.to_text();
    schema
      .admin
      .execute(&format!("DELETE FROM {table}"), &[])
      .await?;
    store.insert(&r).await?;
    schema
      .admin
      .execute(
        &format!("UPDATE {table} SET {bad} WHERE handle = $1"),
        &[&h],
      )
      .await?;
    let kind = |res: Result<_, tandem_session::Error>| res.err().map(|e| e.kind());
    assert_eq!(
      kind(store.list_user(&user).await.map(|_| ())),
      Some(ErrorKind::StoreCorrupt),
      "{bad}"
    );
    if !bad.starts_with("handle") {
      assert_eq!(
        kind(store.get(&r.handle).await.map(|_| ())),
        Some(ErrorKind::StoreCorrupt),
        "{bad}"
      );
      // A logout still removes a session whose row is bad, and says so.
      assert_eq!(
        kind(store.revoke(&r.handle, NOW).await.map(|_| ())),
        Some(ErrorKind::StoreCorrupt),
        "{bad}"
      );
      assert!(
        store.get(&r.handle).await?.is_none(),
        "{bad}: revoked anyway"
      );
    }
  }
  schema.drop_now().await
}

/// Polls (bounded) until `cond` holds of the waits of the store's backends, named by
/// their application name; `done` ends the wait early.
async fn until_waiting(
  admin: &tokio_postgres::Client,
  app: &str,
  wait_event: &str,
  done: impl Fn() -> bool,
) -> TestResult {
  let deadline = Instant::now() + Duration::from_secs(10);
  loop {
    let n: i64 = admin
      .query_one(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = $1 AND wait_event_type = 'Lock' AND wait_event = $2",
        &[&app, &wait_event],
      )
      .await?
      .try_get(0)?;
    if n > 0 || done() {
      return Ok(());
    }
    if Instant::now() > deadline {
      return Err(format!("no backend came to wait on {wait_event}").into());
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
  }
}

/// The feed's order is its commit order: a revocation that has its `seq` but has not
/// committed holds back every later one, so a reader that advances its cursor past what it
/// saw never skips an entry. Made deterministic with a row that blocks one append on its
/// primary key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_revocation_holds_back_later_ones_so_no_reader_skips_it() -> TestResult {
  let Some(url) = pg_url("feed_commit_order") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let app = format!("tandem_feed_test_{}", std::process::id());
  let store_url = if schema.url.contains("://") {
    format!("{}&application_name={app}", schema.url)
  } else {
    format!("{} application_name={app}", schema.url)
  };
  let store = Arc::new(PostgresStore::connect(&store_url).await?);
  let user = conformance::user()?;
  let mut hs = Vec::new();
  for _ in 0..3 {
    let r = conformance::record(&user)?;
    store.insert(&r).await?;
    hs.push(r.handle);
  }
  let (a, b, c) = (hs[0], hs[1], hs[2]);
  // The sequence's next values are n + 1, n + 2, …: n + 2 is taken by an uncommitted row,
  // so the second revocation blocks between taking its seq and committing.
  let n: i64 = schema
    .admin
    .query_one(
      &format!(
        "SELECT nextval('{}.tandem_revocations_seq_seq')",
        schema.name
      ),
      &[],
    )
    .await?
    .try_get(0)?;
  let (mut blocker, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
  tokio::spawn(async move {
    let _ = conn.await;
  });
  let tx = blocker.transaction().await?;
  tx.execute(
    &format!(
      "INSERT INTO {}.tandem_revocations (seq, handle, until) VALUES ($1, 'blocker', 0)",
      schema.name
    ),
    &[&(n + 2)],
  )
  .await?;

  assert!(store.revoke(&a, NOW).await?.is_some());
  let slow = {
    let s = Arc::clone(&store);
    tokio::spawn(async move { s.revoke(&b, NOW).await })
  };
  until_waiting(&schema.admin, &app, "transactionid", || false).await?;
  let later = {
    let s = Arc::clone(&store);
    tokio::spawn(async move { s.revoke(&c, NOW).await })
  };
  until_waiting(&schema.admin, &app, "advisory", || later.is_finished()).await?;

  // A reader now: it may see a only (c must wait for b), and moves its cursor past it.
  let after = u64::try_from(n)?;
  let first = store.revocations_since(after, 100).await?;
  assert_eq!(
    first.iter().map(|f| f.handle).collect::<Vec<_>>(),
    vec![a],
    "a revocation not yet committed holds back the later ones"
  );
  let cursor = first.last().map_or(after, |f| f.seq);

  tx.rollback().await?;
  assert!(slow.await??.is_some());
  assert!(later.await??.is_some());
  let rest = store.revocations_since(cursor, 100).await?;
  assert_eq!(
    rest.iter().map(|f| f.handle).collect::<Vec<_>>(),
    vec![b, c],
    "the reader then sees the rest, in commit order"
  );
  schema.drop_now().await
}

/// A call stuck behind another transaction's lock gives up in time (the server cancels the
/// statement), changes nothing, and the store goes on working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_stuck_on_a_lock_gives_up_in_time_and_changes_nothing() -> TestResult {
  let Some(url) = pg_url("stuck_on_a_lock") else {
    return Ok(());
  };
  let schema = Schema::new(&url).await?;
  let store = PostgresStore::connect(&schema.url).await?;
  let r = conformance::record(&conformance::user()?)?;
  store.insert(&r).await?;
  let (mut holder, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
  tokio::spawn(async move {
    let _ = conn.await;
  });
  let tx = holder.transaction().await?;
  tx.query(
    &format!(
      "SELECT 1 FROM {}.tandem_sessions WHERE handle = $1 FOR UPDATE",
      schema.name
    ),
    &[&r.handle.to_text()],
  )
  .await?;
  let t = Instant::now();
  let stuck = store
    .patch_data(&r.handle, &[("k".into(), Some(json!(1)))], LIMIT)
    .await;
  let took = t.elapsed();
  eprintln!("stuck_on_a_lock: gave up after {took:?}");
  assert_eq!(
    stuck.err().map(|e| e.kind()),
    Some(ErrorKind::StoreUnavailable)
  );
  assert!(took < Duration::from_secs(3), "gave up after {took:?}");
  tx.rollback().await?;
  assert_eq!(
    store
      .get(&r.handle)
      .await?
      .map(|g| (g.data, g.data_version)),
    Some((r.data.clone(), r.data_version)),
    "the call that gave up changed nothing"
  );
  assert_eq!(
    store
      .patch_data(&r.handle, &[("k".into(), Some(json!(1)))], LIMIT)
      .await?,
    Some(r.data_version + 1)
  );
  schema.drop_now().await
}

// ---- The outage: a cluster of our own, stopped and frozen under a live store. ----

/// The port of the store outage test's own cluster (the engine's has 5442).
const OUTAGE_PORT: &str = "5441";

fn script(args: &[&str]) -> TestResult<String> {
  let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/ci/postgres.sh");
  let out = Command::new("bash")
    .arg(path)
    .args(args)
    .env("TANDEM_PG_NO_INSTALL", "1")
    .output()?;
  if !out.status.success() {
    return Err(
      format!(
        "postgres.sh {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
      )
      .into(),
    );
  }
  Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// The pids of the postmaster on `port` and its children (for SIGSTOP / SIGCONT), read
/// from `postmaster.pid` and `/proc` (no `ps` needed).
fn cluster_pids(port: &str) -> TestResult<Vec<String>> {
  let pidfile = std::fs::read_to_string(format!("/tmp/tandem-pg-{port}/postmaster.pid"))?;
  let main = pidfile
    .lines()
    .next()
    .ok_or("postmaster.pid is empty")?
    .trim()
    .to_owned();
  let mut pids = vec![main.clone()];
  for entry in std::fs::read_dir("/proc")? {
    let name = entry?.file_name().to_string_lossy().into_owned();
    if !name.bytes().all(|b| b.is_ascii_digit()) {
      continue;
    }
    // `pid (comm) state ppid …`: the comm may hold spaces, so split after its `)`.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{name}/stat")) else {
      continue;
    };
    let ppid = stat
      .rsplit_once(')')
      .and_then(|(_, rest)| rest.split_whitespace().nth(1));
    if ppid == Some(main.as_str()) {
      pids.push(name);
    }
  }
  Ok(pids)
}

/// Sends `sig` to `pids` (bash's builtin `kill`: no procps needed).
fn signal(sig: &str, pids: &[String]) -> TestResult {
  let status = Command::new("bash")
    .arg("-c")
    .arg(format!("kill {sig} {}", pids.join(" ")))
    .status()?;
  if !status.success() {
    return Err(format!("kill {sig} failed").into());
  }
  Ok(())
}

/// A throwaway PostgreSQL cluster of one test on its own port, started fresh; stopped,
/// frozen and brought back by the test; thawed and removed however the test ends.
struct Cluster {
  port: &'static str,
  frozen: Vec<String>,
}

impl Cluster {
  /// A fresh cluster on `port` (whatever an earlier run left there is removed first), and
  /// its connection string.
  fn start(port: &'static str) -> TestResult<(Self, String)> {
    let _ = script(&["destroy", port]);
    let url = script(&["start", port])?;
    Ok((
      Self {
        port,
        frozen: vec![],
      },
      url,
    ))
  }

  /// `pg_ctl stop -m immediate`: connections are refused.
  fn stop(&self) -> TestResult {
    script(&["stop", self.port, "immediate"]).map(|_| ())
  }

  /// Started again after [`Cluster::stop`].
  fn restart(&self) -> TestResult {
    script(&["start", self.port]).map(|_| ())
  }

  /// SIGSTOP to the postmaster and its children: connections hang.
  fn freeze(&mut self) -> TestResult {
    self.frozen = cluster_pids(self.port)?;
    signal("-STOP", &self.frozen)
  }

  /// SIGCONT after [`Cluster::freeze`].
  fn thaw(&mut self) -> TestResult {
    signal("-CONT", &self.frozen)?;
    self.frozen.clear();
    Ok(())
  }
}

impl Drop for Cluster {
  fn drop(&mut self) {
    if !self.frozen.is_empty() {
      let _ = signal("-CONT", &self.frozen);
    }
    let _ = script(&["destroy", self.port]);
  }
}

/// Opens `n` pooled connections of `store` at once, so that an outage meets idle ones too.
async fn warm_pool(store: &Arc<PostgresStore>, n: usize) -> TestResult {
  let calls: Vec<_> = (0..n)
    .map(|_| {
      let s = Arc::clone(store);
      tokio::spawn(async move { s.list_user("nobody").await })
    })
    .collect();
  for call in calls {
    call.await??;
  }
  Ok(())
}

/// Every call of the store, each checked to fail with STORE_UNAVAILABLE within `within`.
async fn every_call_is_unavailable(s: &PostgresStore, within: Duration) -> TestResult {
  let r = conformance::record(&conformance::user()?)?;
  let h = r.handle;
  let ring = StoredRing {
    version: 1,
    sealed: "x".into(),
  };
  let dev = DeviceInfo::default();
  macro_rules! check {
    ($name:literal, $call:expr) => {{
      let t = Instant::now();
      let res = $call.await;
      let took = t.elapsed();
      eprintln!("outage: {} failed in {took:?}", $name);
      assert_eq!(
        res.err().map(|e| e.kind()),
        Some(ErrorKind::StoreUnavailable),
        "{} during the outage",
        $name
      );
      assert!(took < within, "{} took {took:?} during the outage", $name);
    }};
  }
  check!("insert", s.insert(&r));
  check!("get", s.get(&h));
  check!("rotate", s.rotate(&h, &r.refresh, &r.refresh, NOW, &dev));
  check!("revoke", s.revoke(&h, NOW));
  check!("list_user", s.list_user(&r.user_id));
  check!(
    "patch_data",
    s.patch_data(&h, &[("k".into(), Some(Value::from(1)))], LIMIT)
  );
  check!("revocations_since", s.revocations_since(0, 10));
  check!("sweep", s.sweep(UnixMillis(0)));
  check!("load_key_ring", s.load_key_ring());
  check!("save_key_ring", s.save_key_ring(None, &ring));
  Ok(())
}

/// Waits (bounded) until the store answers again.
async fn until_back(s: &PostgresStore) -> TestResult {
  let deadline = Instant::now() + Duration::from_secs(20);
  loop {
    match s.get(&Handle::generate()?).await {
      Ok(_) => return Ok(()),
      Err(e) if Instant::now() < deadline && e.kind() == ErrorKind::StoreUnavailable => {
        tokio::time::sleep(Duration::from_millis(200)).await;
      }
      Err(e) => return Err(e.into()),
    }
  }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_store_unavailable_promptly_and_the_store_recovers() -> TestResult {
  if pg_url("outage").is_none() {
    return Ok(());
  }
  let (mut cluster, url) = Cluster::start(OUTAGE_PORT)?;
  let store = Arc::new(PostgresStore::connect(&url).await?);
  let r = conformance::record(&conformance::user()?)?;
  store.insert(&r).await?;
  warm_pool(&store, 6).await?;

  // 1. The server is stopped: connections are refused.
  cluster.stop()?;
  every_call_is_unavailable(&store, Duration::from_secs(4)).await?;
  cluster.restart()?;
  until_back(&store).await?;
  conformance::insert_then_get_round_trips(&*store).await?;

  // 2. The server is frozen (SIGSTOP): connections hang, and the timeouts answer.
  warm_pool(&store, 4).await?;
  cluster.freeze()?;
  every_call_is_unavailable(&store, Duration::from_secs(6)).await?;
  cluster.thaw()?;
  until_back(&store).await?;

  // 3. The same store object keeps the whole contract again.
  conformance::run_all(Arc::clone(&store) as Arc<dyn Store>).await?;
  drop(cluster);
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_scenarios_hold_on_postgres() -> TestResult {
  let Some(url) = pg_url("the_engine_scenarios_hold_on_postgres") else {
    return Ok(());
  };
  // A schema of its own: the engine reads the key ring, which other tests fake.
  let schema = Schema::new(&url).await?;
  let store = PostgresStore::connect(&schema.url).await?;
  tandem_session::engine::conformance::run_all(Arc::new(store)).await?;
  schema.drop_now().await
}

// ---- Engine level: every row after real work holds nothing usable (DESIGN promise 1). ----

/// Every row of every table of the schema, as JSON text (`row_to_json`): what a dump of
/// the database shows.
async fn pg_dump(schema: &Schema) -> TestResult<Vec<u8>> {
  let tables: Vec<String> = schema
    .admin
    .query(
      "SELECT table_name::text FROM information_schema.tables \
       WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1",
      &[&schema.name],
    )
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
  for want in ["tandem_sessions", "tandem_revocations", "tandem_key_ring"] {
    assert!(tables.iter().any(|t| t == want), "{want} in {tables:?}");
  }
  let mut dump = Vec::new();
  for table in &tables {
    let rows = schema
      .admin
      .query(
        &format!("SELECT row_to_json(t)::text FROM {}.{table} t", schema.name),
        &[],
      )
      .await?;
    for row in rows {
      let text: String = row.try_get(0)?;
      dump.extend_from_slice(format!("{table}\t{text}\n").as_bytes());
    }
  }
  Ok(dump)
}

/// Promise 1 on PostgreSQL: after real work through an engine (HS256, then EdDSA, each in
/// a schema of its own), every row of every table holds no refresh token, no secret of
/// one, no access token, and the key ring only sealed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_tables_hold_no_refresh_token_and_no_signing_key_in_clear() -> TestResult {
  let Some(url) = pg_url("the_postgres_tables_hold_no_refresh_token") else {
    return Ok(());
  };
  for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
    let schema = Schema::new(&url).await?;
    let store: Arc<dyn Store> = Arc::new(PostgresStore::connect(&schema.url).await?);
    let (e, _clock, out) = real_work(&store, alg).await?;
    let dump = pg_dump(&schema).await?;
    assert_nothing_usable(&format!("postgres {alg:?}"), &dump, &e, &store, &out).await?;
    drop(e);
    drop(store);
    schema.drop_now().await?;
  }
  Ok(())
}

// ---- Engine level: an outage under a live engine (DESIGN promise 10). ----

/// The port of the engine outage test's own cluster (the store's outage test has 5441).
const ENGINE_OUTAGE_PORT: &str = "5442";

/// Promise 10 on PostgreSQL: with the server stopped under a live engine, refresh, login,
/// reads and sync are STORE_UNAVAILABLE within seconds while the session's access token
/// still verifies; once the server is back the same engine refreshes with the same
/// refresh token (not rotated while down) and logs in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_down_the_engine_refuses_refresh_keeps_verifying_and_recovers() -> TestResult
{
  if pg_url("engine_outage").is_none() {
    return Ok(());
  }
  let (cluster, url) = Cluster::start(ENGINE_OUTAGE_PORT)?;
  let store = Arc::new(PostgresStore::connect(&url).await?);
  let (e, t) = engine_and_session(Arc::clone(&store) as Arc<dyn Store>).await?;
  warm_pool(&store, 4).await?;

  cluster.stop()?;
  engine_during_outage(&e, &t).await?;

  cluster.restart()?;
  until_back(&store).await?;
  engine_after_outage(&e, &t).await?;
  drop(cluster);
  Ok(())
}
