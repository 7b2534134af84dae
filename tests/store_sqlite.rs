//! The SQLite store: the conformance suite on a real file, two stores ("processes")
//! sharing one file, a restart, a writer process killed with SIGKILL mid-write, the
//! files it must refuse, and the engine on it: its scenarios, and the raw files after real
//! work holding no refresh token and no signing key in clear (DESIGN promise 1).

mod common;

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_nothing_usable, engine_with, feed_end, real_work, TestResult, ENGINE_SECRET};
use serde_json::json;
use tandem_session::jwt::Algorithm;
use tandem_session::session::DeviceInfo;
use tandem_session::store::conformance::{self, LIMIT};
use tandem_session::store::sqlite::{APPLICATION_ID, BUSY_TIMEOUT};
use tandem_session::store::{SqliteStore, Store, StoredRing};
use tandem_session::token::Handle;
use tandem_session::{encoding, random, ErrorKind};

use conformance::NOW;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
  fn new() -> TestResult<Self> {
    let name = format!(
      "tandem-sqlite-{}",
      encoding::encode(&random::bytes::<12>()?)
    );
    let dir = std::env::temp_dir().join(name);
    fs::create_dir(&dir)?;
    Ok(Self(dir))
  }

  fn db(&self) -> PathBuf {
    self.0.join("sessions.db")
  }
}

impl Drop for TempDir {
  fn drop(&mut self) {
    let _ = fs::remove_dir_all(&self.0);
  }
}

fn kind_of<T>(r: tandem_session::Result<T>) -> Option<ErrorKind> {
  r.err().map(|e| e.kind())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sqlite_store_keeps_the_store_contract() -> TestResult {
  let dir = TempDir::new()?;
  let store = SqliteStore::open(dir.db())?;
  assert_eq!(store.kind(), "sqlite");
  conformance::run_all(Arc::new(store)).await?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file_see_each_others_writes_and_revocations() -> TestResult {
  let dir = TempDir::new()?;
  let a: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
  let b: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
  let start = feed_end(&*b).await?;

  let user = conformance::user()?;
  let r = conformance::record(&user)?;
  a.insert(&r).await?;
  assert_eq!(
    b.get(&r.handle).await?,
    Some(r.clone()),
    "b sees a's insert"
  );
  assert_eq!(
    kind_of(b.insert(&r).await),
    Some(ErrorKind::StoreCorrupt),
    "b cannot overwrite a's session"
  );

  assert_eq!(
    b.patch_data(&r.handle, &[("cart".into(), Some(json!([1])))], LIMIT)
      .await?,
    Some(1)
  );
  let seen = a.get(&r.handle).await?.ok_or("a still sees the session")?;
  assert_eq!(seen.data.get("cart"), Some(&json!([1])), "a sees b's patch");

  // Both "processes" rotate from the same state: exactly one wins.
  let mut to = r.refresh.clone();
  to.generation += 1;
  to.previous_digest = Some(r.refresh.current_digest);
  to.current_digest = [7; 32];
  let dev = DeviceInfo::default();
  let won_a = a.rotate(&r.handle, &r.refresh, &to, NOW, &dev).await?;
  let won_b = b.rotate(&r.handle, &r.refresh, &to, NOW, &dev).await?;
  assert!(won_a && !won_b, "the second rotation from one state fails");

  // Concurrent patches of different keys through both stores all land.
  let tasks: Vec<_> = (0..40)
    .map(|i| {
      let s = Arc::clone(if i % 2 == 0 { &a } else { &b });
      let h = r.handle;
      tokio::spawn(async move {
        s.patch_data(&h, &[(format!("k{i}"), Some(json!(i)))], LIMIT)
          .await
      })
    })
    .collect();
  for t in tasks {
    assert!(t.await??.is_some());
  }
  let got = b.get(&r.handle).await?.ok_or("the session exists")?;
  assert!((0..40).all(|i| got.data.get(&format!("k{i}")) == Some(&json!(i))));
  assert_eq!(got.data_version, 41);

  // A revocation by one reaches the other's feed, and the other's writes change nothing.
  assert!(a.revoke(&r.handle, NOW.plus_ms(60_000)).await?.is_some());
  let feed = b.revocations_since(start, 1000).await?;
  assert!(
    feed
      .iter()
      .any(|f| f.handle == r.handle && f.until == NOW.plus_ms(60_000)),
    "b's feed has a's revocation"
  );
  assert_eq!(
    b.patch_data(&r.handle, &[("late".into(), Some(json!(true)))], LIMIT)
      .await?,
    None
  );
  assert!(!b.rotate(&r.handle, &to, &to, NOW, &dev).await?);
  assert!(a.get(&r.handle).await?.is_none() && b.list_user(&user).await?.is_empty());

  // The key ring is compare-and-swapped across both.
  let ring = StoredRing {
    version: 1,
    sealed: "s1".into(),
  };
  assert!(a.save_key_ring(None, &ring).await?);
  assert!(!b.save_key_ring(None, &ring).await?);
  assert_eq!(b.load_key_ring().await?, Some(ring));
  Ok(())
}

#[test]
fn several_processes_opening_a_new_file_at_once_all_succeed() -> TestResult {
  for _ in 0..5 {
    let dir = TempDir::new()?;
    let db = dir.db();
    let openers: Vec<_> = (0..8)
      .map(|_| {
        let db = db.clone();
        std::thread::spawn(move || SqliteStore::open(db).map(drop))
      })
      .collect();
    for o in openers {
      o.join().map_err(|_| "an opener panicked")??;
    }
    let mode: String =
      rusqlite::Connection::open(&db)?.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    assert_eq!(mode, "wal");
  }
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reopening_the_file_keeps_sessions_feed_and_ring() -> TestResult {
  let dir = TempDir::new()?;
  let user = conformance::user()?;
  let (kept, revoked) = (conformance::record(&user)?, conformance::record(&user)?);
  let ring = StoredRing {
    version: 3,
    sealed: "sealed".into(),
  };
  let seq = {
    let s = SqliteStore::open(dir.db())?;
    s.insert(&kept).await?;
    s.insert(&revoked).await?;
    s.patch_data(&kept.handle, &[("views".into(), Some(json!(2)))], LIMIT)
      .await?;
    s.revoke(&revoked.handle, NOW.plus_ms(1000)).await?;
    s.save_key_ring(None, &ring).await?;
    s.revocations_since(0, usize::MAX)
      .await?
      .last()
      .map(|r| r.seq)
      .ok_or("the feed has the revocation")?
  };
  let s = SqliteStore::open(dir.db())?;
  let mut want = kept.clone();
  want.data.insert("views".into(), json!(2));
  want.data_version = 1;
  assert_eq!(s.get(&kept.handle).await?, Some(want));
  assert!(s.get(&revoked.handle).await?.is_none());
  assert_eq!(s.list_user(&user).await?.len(), 1);
  let feed = s.revocations_since(seq - 1, 10).await?;
  assert_eq!(feed.first().map(|f| f.handle), Some(revoked.handle));
  assert_eq!(s.load_key_ring().await?, Some(ring));

  // Positions are never reused, even once a sweep emptied the feed.
  s.sweep(NOW.plus_ms(1000)).await?;
  assert!(s.revocations_since(seq - 1, 10).await?.is_empty());
  drop(s);
  let s = SqliteStore::open(dir.db())?;
  s.revoke(&kept.handle, NOW).await?;
  let next = s.revocations_since(0, 10).await?;
  assert!(next.len() == 1 && next[0].seq > seq, "{next:?}");
  Ok(())
}

const WRITER_ENV: &str = "TANDEM_SQLITE_TEST_WRITER_DIR";
const SIGKILL_TEST: &str =
  "a_sigkill_mid_write_leaves_a_file_that_opens_with_no_revoked_session_alive";

/// Parse the writer's log: handles it revoked (`R`) and handles it keeps (`K`), each
/// written only after the store call returned. A torn last line is ignored.
fn read_log(path: &Path) -> TestResult<(Vec<Handle>, Vec<Handle>)> {
  let text = fs::read_to_string(path).unwrap_or_default();
  let (mut revoked, mut kept) = (vec![], vec![]);
  for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
    let (tag, handle) = line.trim_end().split_at(1);
    let h = Handle::parse(handle.trim(), ErrorKind::InvalidArgument)?;
    match tag {
      "R" => revoked.push(h),
      "K" => kept.push(h),
      _ => return Err("a log line of an unknown kind".into()),
    }
  }
  Ok((revoked, kept))
}

/// The child process: writes until killed (or for 60 s, should the parent be gone).
fn writer(dir: &Path) -> TestResult {
  let rt = tokio::runtime::Builder::new_multi_thread()
    .worker_threads(2)
    .enable_all()
    .build()?;
  rt.block_on(async {
    let store = Arc::new(SqliteStore::open(dir.join("sessions.db"))?);
    let log = Arc::new(Mutex::new(
      OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("log"))?,
    ));
    let deadline = Instant::now() + Duration::from_secs(60);
    let tasks: Vec<_> = (0..4)
      .map(|_| {
        let (store, log) = (Arc::clone(&store), Arc::clone(&log));
        tokio::spawn(async move {
          let user = conformance::user()?;
          let mut i = 0u64;
          while Instant::now() < deadline {
            let r = conformance::record(&user)?;
            store.insert(&r).await?;
            store
              .patch_data(&r.handle, &[(format!("k{i}"), Some(json!(i)))], LIMIT)
              .await?;
            let tag = if i % 2 == 0 {
              store.revoke(&r.handle, NOW.plus_ms(60_000)).await?;
              "R"
            } else {
              "K"
            };
            let line = format!("{tag}{}\n", r.handle.to_text());
            log
              .lock()
              .map_err(|_| "log lock")?
              .write_all(line.as_bytes())?;
            i += 1;
          }
          TestResult::Ok(())
        })
      })
      .collect();
    for t in tasks {
      t.await??;
    }
    Ok(())
  })
}

#[test]
fn a_sigkill_mid_write_leaves_a_file_that_opens_with_no_revoked_session_alive() -> TestResult {
  if let Some(dir) = std::env::var_os(WRITER_ENV) {
    return writer(Path::new(&dir));
  }
  let dir = TempDir::new()?;
  let log = dir.0.join("log");
  let mut child = Command::new(std::env::current_exe()?)
    .args(["--exact", SIGKILL_TEST, "--nocapture", "--test-threads=1"])
    .env(WRITER_ENV, &dir.0)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .spawn()?;
  let rt = tokio::runtime::Builder::new_multi_thread()
    .worker_threads(2)
    .enable_all()
    .build()?;
  let outcome = rt.block_on(async {
    // Wait until the writer is under way (it creates the file)…
    let started = Instant::now();
    loop {
      let (revoked, kept) = read_log(&log)?;
      if revoked.len() >= 5 && kept.len() >= 5 {
        break;
      }
      if child.try_wait()?.is_some() {
        return Err("the writer exited early".into());
      }
      if started.elapsed() > Duration::from_secs(30) {
        return Err("the writer made no progress".into());
      }
      std::thread::sleep(Duration::from_millis(10));
    }
    // …then write alongside it for ~300 ms (a second process on the file), and kill it.
    let ours = SqliteStore::open(dir.db())?;
    let mut mine = vec![];
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
      let r = conformance::record(&conformance::user()?)?;
      ours.insert(&r).await?;
      mine.push(r.handle);
    }
    TestResult::Ok((ours, mine))
  });
  child.kill()?;
  child.wait()?;
  let (ours, mine) = outcome?;
  drop(ours);

  let raw = rusqlite::Connection::open(dir.db())?;
  let check: String = raw.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
  assert_eq!(check, "ok");
  drop(raw);

  let (revoked, kept) = read_log(&log)?;
  println!(
    "writer logged {} revoked and {} kept sessions; the parent wrote {}",
    revoked.len(),
    kept.len(),
    mine.len()
  );
  assert!(!revoked.is_empty() && !kept.is_empty() && !mine.is_empty());
  rt.block_on(async {
    let s = SqliteStore::open(dir.db())?;
    let feed = s.revocations_since(0, usize::MAX).await?;
    for h in &revoked {
      assert!(s.get(h).await?.is_none(), "a revoked session is alive");
      assert!(
        feed.iter().any(|f| f.handle == *h),
        "a revocation left the feed"
      );
    }
    for h in kept.iter().chain(&mine) {
      assert!(s.get(h).await?.is_some(), "a written session was lost");
    }
    // The file still takes writes.
    s.insert(&conformance::record(&conformance::user()?)?)
      .await?;
    TestResult::Ok(())
  })
}

#[test]
fn a_file_that_cannot_be_opened_is_store_unavailable() -> TestResult {
  let dir = TempDir::new()?;
  let nowhere = dir.0.join("missing").join("sessions.db");
  assert_eq!(
    kind_of(SqliteStore::open(&nowhere)),
    Some(ErrorKind::StoreUnavailable)
  );
  assert!(!nowhere.exists(), "open creates no directory");
  assert_eq!(
    kind_of(SqliteStore::open(&dir.0)),
    Some(ErrorKind::StoreUnavailable),
    "a directory"
  );
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_locked_by_another_writer_is_store_unavailable_after_waiting() -> TestResult {
  let dir = TempDir::new()?;
  let s = SqliteStore::open(dir.db())?;
  let r = conformance::record(&conformance::user()?)?;
  s.insert(&r).await?;

  // Another "process" holds the write lock past the busy timeout.
  let other = rusqlite::Connection::open(dir.db())?;
  other.execute_batch("BEGIN IMMEDIATE")?;
  assert!(s.get(&r.handle).await?.is_some(), "readers are not blocked");
  let late = conformance::record(&conformance::user()?)?;
  let t = Instant::now();
  // Two writers queued in this process: both give up within one busy timeout.
  let (inserted, revoked) = tokio::join!(s.insert(&late), s.revoke(&r.handle, NOW));
  let waited = t.elapsed();
  assert_eq!(kind_of(inserted), Some(ErrorKind::StoreUnavailable));
  assert_eq!(kind_of(revoked), Some(ErrorKind::StoreUnavailable));
  assert!(waited >= Duration::from_secs(1), "they waited first");
  assert!(
    waited < BUSY_TIMEOUT * 2 - Duration::from_secs(1),
    "not one after the other"
  );
  other.execute_batch("ROLLBACK")?;

  // Nothing was changed by the failed calls, and the store works again.
  assert!(s.get(&late.handle).await?.is_none());
  assert_eq!(s.get(&r.handle).await?, Some(r.clone()));
  assert!(s.revoke(&r.handle, NOW).await?.is_some());
  s.insert(&late).await?;
  Ok(())
}

#[test]
fn a_file_that_is_not_ours_is_refused() -> TestResult {
  let dir = TempDir::new()?;

  let garbage = dir.0.join("garbage.db");
  fs::write(&garbage, vec![0x5a; 8192])?;
  assert_eq!(
    kind_of(SqliteStore::open(&garbage)),
    Some(ErrorKind::StoreCorrupt)
  );

  let foreign = dir.0.join("foreign.db");
  rusqlite::Connection::open(&foreign)?
    .execute_batch("PRAGMA application_id = 42; CREATE TABLE t (x);")?;
  assert_eq!(
    kind_of(SqliteStore::open(&foreign)),
    Some(ErrorKind::StoreCorrupt)
  );

  let newer = dir.0.join("newer.db");
  drop(SqliteStore::open(&newer)?);
  rusqlite::Connection::open(&newer)?.execute_batch("PRAGMA user_version = 99")?;
  assert_eq!(
    kind_of(SqliteStore::open(&newer)),
    Some(ErrorKind::StoreUnavailable)
  );

  // Ours, created empty by someone else's sqlite3 with only the id set, is migrated.
  let fresh = dir.0.join("fresh.db");
  rusqlite::Connection::open(&fresh)?
    .execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID}"))?;
  SqliteStore::open(&fresh)?;
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anonymous_quota_evicts_the_oldest_visitors_only_on_sqlite() -> TestResult {
  let dir = TempDir::new()?;
  let store = SqliteStore::open(dir.db())?.with_max_anonymous(5);
  conformance::anonymous_quota_evicts_the_oldest_visitors_only(&store, 5, 7).await?;
  // The eviction reads the oldest through the partial index, not a scan of every session.
  let conn = rusqlite::Connection::open(dir.db())?;
  let plan: Vec<String> = conn
    .prepare(
      "EXPLAIN QUERY PLAN SELECT handle FROM sessions WHERE substr(user_id, 1, 6) = '~anon:' \
       ORDER BY created_at LIMIT 3",
    )?
    .query_map([], |r| r.get::<_, String>(3))?
    .collect::<Result<_, _>>()?;
  assert!(
    plan.iter().any(|p| p.contains("sessions_anonymous_by_age")),
    "{plan:?}"
  );
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_of_the_first_schema_counts_its_visitors_when_migrated() -> TestResult {
  let dir = TempDir::new()?;
  let mut visitors = Vec::new();
  {
    let store = SqliteStore::open(dir.db())?;
    for age in 0..3 {
      let mut v = conformance::record("")?;
      v.user_id = format!("~anon:{}", v.handle.to_text());
      v.created_at = NOW.plus_ms(age);
      store.insert(&v).await?;
      visitors.push(v.handle);
    }
    store.insert(&conformance::record("alice")?).await?;
  }
  // Back to schema 1, as a file written by the release before the quota is.
  rusqlite::Connection::open(dir.db())?.execute_batch(
    "DROP TRIGGER sessions_anonymous_in; DROP TRIGGER sessions_anonymous_out; \
     DROP INDEX sessions_anonymous_by_age; DROP TABLE anonymous_count; PRAGMA user_version = 1;",
  )?;
  let store = SqliteStore::open(dir.db())?.with_max_anonymous(3);
  let mut v = conformance::record("")?;
  v.user_id = format!("~anon:{}", v.handle.to_text());
  v.created_at = NOW.plus_ms(10);
  store.insert(&v).await?;
  assert!(
    store.get(&visitors[0]).await?.is_none(),
    "the migrated count holds the quota"
  );
  assert!(store.get(&visitors[1]).await?.is_some());
  assert!(store.get(&v.handle).await?.is_some());
  Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_engine_scenarios_hold_on_sqlite() -> TestResult {
  let dir = TempDir::new()?;
  let store = SqliteStore::open(dir.db())?;
  tandem_session::engine::conformance::run_all(Arc::new(store)).await?;
  Ok(())
}

// ---- Engine level: the raw files after real work hold nothing usable (DESIGN promise 1). ----

/// The raw bytes of the database file, its WAL and its shared-memory index (those that
/// exist): what someone who copies the files gets.
fn sqlite_files(db: &Path) -> TestResult<Vec<u8>> {
  let mut dump = fs::read(db)?;
  for suffix in ["-wal", "-shm"] {
    let mut path = db.as_os_str().to_owned();
    path.push(suffix);
    match fs::read(&path) {
      Ok(bytes) => dump.extend_from_slice(&bytes),
      Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
      Err(e) => return Err(e.into()),
    }
  }
  Ok(dump)
}

/// Promise 1 on SQLite: after real work through an engine (HS256, then EdDSA, each on a
/// file of its own), the database file and its WAL hold no refresh token, no secret of
/// one, no access token, and the key ring only sealed; checked while the store is open
/// (much of the work still in the WAL) and again after it closed (checkpointed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sqlite_files_hold_no_refresh_token_and_no_signing_key_in_clear() -> TestResult {
  for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
    let dir = TempDir::new()?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
    let (e, clock, out) = real_work(&store, alg).await?;
    let wal = dir.0.join("sessions.db-wal");
    assert!(wal.exists(), "the store writes through a WAL");
    let dump = sqlite_files(&dir.db())?;
    assert_nothing_usable(&format!("sqlite {alg:?}, open"), &dump, &e, &store, &out).await?;

    // Closed: the last connection checkpoints the WAL into the file.
    drop(e);
    drop(store);
    let dump = sqlite_files(&dir.db())?;
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.db())?);
    let e = engine_with(Arc::clone(&store), clock, alg, ENGINE_SECRET).await?;
    assert_nothing_usable(&format!("sqlite {alg:?}, closed"), &dump, &e, &store, &out).await?;
  }
  Ok(())
}
