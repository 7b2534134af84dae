//! The store conformance suite: the [`Store`] contract, checked against a live store.
//! Every store runs it against its real engine (`tests/store_*.rs`); a third-party store
//! can run it too. It returns an error naming the first broken rule.
//!
//! Each check uses fresh random handles and user ids, so stores may be shared with other
//! data (a real server); it never assumes an empty store.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::clock::UnixMillis;
use crate::error::{err, ErrorKind, Result};
use crate::random;
use crate::session::{DeviceInfo, RefreshState, SessionRecord};
use crate::store::codec::data_size;
use crate::store::{Store, StoredRing};
use crate::token::Handle;

/// The data limit the checks write under (the engine's default).
pub const LIMIT: usize = crate::engine::DEFAULT_MAX_DATA_BYTES;

/// A fixed "now" far in the future of any real clock skew, so records are live.
pub const NOW: UnixMillis = UnixMillis(4_000_000_000_000);

/// The error a broken rule gives: `INTERNAL` with the rule as detail.
pub fn broken(rule: &'static str) -> crate::Error {
  err(ErrorKind::Internal, rule)
}

/// `Ok` when `ok`, else the broken `rule`.
///
/// # Errors
/// [`broken`]`(rule)` when `ok` is false.
pub fn ensure(ok: bool, rule: &'static str) -> Result<()> {
  if ok {
    Ok(())
  } else {
    Err(broken(rule))
  }
}

/// A fresh random user id.
pub fn user() -> Result<String> {
  Ok(format!(
    "user-{}",
    crate::encoding::encode(&random::bytes::<9>()?)
  ))
}

/// A live record for `user`, with a random handle and digests.
pub fn record(user: &str) -> Result<SessionRecord> {
  let mut data = Map::new();
  data.insert("views".into(), json!(1));
  data.insert("nested".into(), json!({"a": [1, 2.5, "x"], "b": null}));
  Ok(SessionRecord {
    handle: Handle::generate()?,
    user_id: user.to_owned(),
    refresh: RefreshState {
      generation: 0,
      current_digest: random::bytes()?,
      previous_digest: None,
      rotated_at: NOW,
      salt: random::bytes()?,
      idle_expires_at: NOW.plus_ms(3_600_000),
      absolute_expires_at: NOW.plus_ms(7_200_000),
    },
    created_at: NOW,
    last_refresh_at: NOW,
    created_device: DeviceInfo {
      ip: Some("203.0.113.7".into()),
      user_agent: Some("Mozilla/5.0 (conformance)".into()),
    },
    last_device: DeviceInfo {
      ip: Some("203.0.113.7".into()),
      user_agent: Some("Mozilla/5.0 (conformance)".into()),
    },
    claims: {
      let mut c = Map::new();
      c.insert("role".into(), json!("editor"));
      c
    },
    data,
    data_version: 0,
  })
}

/// Run every check against `store`.
///
/// # Errors
/// The first broken rule (`INTERNAL` with the rule as detail), or a store error.
pub async fn run_all(store: Arc<dyn Store>) -> Result<()> {
  insert_then_get_round_trips(&*store).await?;
  insert_never_overwrites(&*store).await?;
  rotate_is_compare_and_swap(&*store).await?;
  writes_after_revoke_change_nothing(&*store).await?;
  revoke_feeds_every_reader_in_order(&*store).await?;
  list_user_finds_all_and_only_that_users_sessions(&*store).await?;
  patch_data_changes_only_the_given_keys(&*store).await?;
  patch_data_keeps_the_data_within_its_limit(&*store).await?;
  key_ring_is_saved_by_compare_and_swap(&*store).await?;
  sweep_removes_expired_sessions_only(&*store).await?;
  concurrent_patches_to_different_keys_all_land(Arc::clone(&store)).await?;
  concurrent_rotations_from_one_state_let_exactly_one_win(Arc::clone(&store)).await?;
  revoke_racing_patches_never_resurrects(Arc::clone(&store)).await?;
  Ok(())
}

/// What is inserted is what `get` returns, field for field.
pub async fn insert_then_get_round_trips(store: &dyn Store) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  ensure(
    store.get(&r.handle).await?.as_ref() == Some(&r),
    "get returns the inserted record exactly",
  )?;
  ensure(
    store.get(&Handle::generate()?).await?.is_none(),
    "get of an unknown handle is None",
  )
}

/// A second insert with the same handle fails and changes nothing.
pub async fn insert_never_overwrites(store: &dyn Store) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  let mut other = record(&user()?)?;
  other.handle = r.handle;
  ensure(
    store.insert(&other).await.is_err(),
    "insert of an existing handle fails",
  )?;
  ensure(
    store.get(&r.handle).await?.as_ref() == Some(&r),
    "insert of an existing handle changes nothing",
  )
}

fn rotated(from: &RefreshState, n: u8) -> RefreshState {
  RefreshState {
    generation: from.generation + 1,
    current_digest: [n; 32],
    previous_digest: Some(from.current_digest),
    rotated_at: NOW.plus_ms(i64::from(n)),
    salt: [n; 16],
    idle_expires_at: from.idle_expires_at.plus_ms(1000),
    absolute_expires_at: from.absolute_expires_at,
  }
}

/// `rotate` applies only from the stored generation and digest, and records the device.
pub async fn rotate_is_compare_and_swap(store: &dyn Store) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  let dev = DeviceInfo {
    ip: Some("198.51.100.1".into()),
    user_agent: Some("other".into()),
  };
  let to = rotated(&r.refresh, 9);
  ensure(
    store
      .rotate(&r.handle, &r.refresh, &to, NOW.plus_ms(5), &dev)
      .await?,
    "rotate from the stored state applies",
  )?;
  let got = store
    .get(&r.handle)
    .await?
    .ok_or_else(|| broken("a rotated session still exists"))?;
  ensure(got.refresh == to, "rotate stores the new refresh state")?;
  ensure(
    got.last_refresh_at == NOW.plus_ms(5) && got.last_device == dev,
    "rotate records time and device",
  )?;
  ensure(
    got.data == r.data && got.data_version == r.data_version,
    "rotate leaves the data alone",
  )?;
  ensure(
    !store
      .rotate(&r.handle, &r.refresh, &rotated(&r.refresh, 10), NOW, &dev)
      .await?,
    "rotate from a stale generation fails",
  )?;
  let mut wrong_digest = to.clone();
  wrong_digest.current_digest = [77; 32];
  ensure(
    !store
      .rotate(&r.handle, &wrong_digest, &rotated(&to, 11), NOW, &dev)
      .await?,
    "rotate with the right generation but another digest fails",
  )?;
  ensure(
    store.get(&r.handle).await?.map(|g| g.refresh) == Some(to),
    "failed rotations change nothing",
  )?;
  ensure(
    !store
      .rotate(
        &Handle::generate()?,
        &r.refresh,
        &rotated(&r.refresh, 12),
        NOW,
        &dev,
      )
      .await?,
    "rotate of an unknown session fails",
  )
}

/// After `revoke`, no write brings the session back (DESIGN promise 5).
pub async fn writes_after_revoke_change_nothing(store: &dyn Store) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  let gone = store.revoke(&r.handle, NOW.plus_ms(60_000)).await?;
  ensure(
    gone.as_ref().map(|g| g.handle) == Some(r.handle),
    "revoke returns the deleted record",
  )?;
  ensure(
    store.get(&r.handle).await?.is_none(),
    "a revoked session is gone",
  )?;
  ensure(
    !store
      .rotate(
        &r.handle,
        &r.refresh,
        &rotated(&r.refresh, 1),
        NOW,
        &DeviceInfo::default(),
      )
      .await?,
    "rotate after revoke fails",
  )?;
  ensure(
    store
      .patch_data(&r.handle, &[("views".into(), Some(json!(2)))], LIMIT)
      .await?
      .is_none(),
    "patch after revoke writes nothing",
  )?;
  ensure(
    store.get(&r.handle).await?.is_none(),
    "nothing resurrects a revoked session",
  )?;
  ensure(
    store.revoke(&r.handle, NOW).await?.is_none(),
    "revoking twice finds nothing the second time",
  )
}

/// Revocations appear in the feed, in order, with strictly increasing positions.
pub async fn revoke_feeds_every_reader_in_order(store: &dyn Store) -> Result<()> {
  let start = store
    .revocations_since(0, usize::MAX)
    .await?
    .last()
    .map_or(0, |r| r.seq);
  let mut handles = vec![];
  for _ in 0..3 {
    let r = record(&user()?)?;
    store.insert(&r).await?;
    store.revoke(&r.handle, NOW.plus_ms(60_000)).await?;
    handles.push(r.handle);
  }
  let feed = store.revocations_since(start, 1000).await?;
  let ours: Vec<_> = feed
    .iter()
    .filter(|f| handles.contains(&f.handle))
    .collect();
  ensure(ours.len() == 3, "each revocation appears once in the feed")?;
  ensure(
    ours.windows(2).all(|w| w[0].seq < w[1].seq),
    "feed positions increase",
  )?;
  ensure(
    ours.iter().map(|f| f.handle).collect::<Vec<_>>() == handles,
    "the feed keeps the order of revocations",
  )?;
  ensure(
    ours.iter().all(|f| f.until == NOW.plus_ms(60_000)),
    "the feed keeps until",
  )?;
  let after_first = ours[0].seq;
  let rest = store.revocations_since(after_first, 1000).await?;
  ensure(
    !rest.iter().any(|f| f.handle == handles[0]),
    "revocations_since excludes the given position",
  )?;
  ensure(
    store.revocations_since(start, 1).await?.len() <= 1,
    "revocations_since honours the limit",
  )
}

/// `list_user` returns exactly the user's sessions.
pub async fn list_user_finds_all_and_only_that_users_sessions(store: &dyn Store) -> Result<()> {
  let (u, v) = (user()?, user()?);
  let mut mine = vec![];
  for n in 1..=3 {
    let r = record(&u)?;
    ensure(
      store.insert(&r).await? == n,
      "insert counts the user's sessions, the new one included",
    )?;
    mine.push(r.handle);
  }
  ensure(
    store.insert(&record(&v)?).await? == 1,
    "insert counts only that user's sessions",
  )?;
  store.revoke(&mine[1], NOW).await?;
  let again = record(&u)?;
  ensure(
    store.insert(&again).await? == 3,
    "a revoked session is no longer counted",
  )?;
  store.revoke(&again.handle, NOW).await?;
  let mut got: Vec<_> = store
    .list_user(&u)
    .await?
    .into_iter()
    .map(|r| r.handle)
    .collect();
  got.sort();
  let mut want = vec![mine[0], mine[2]];
  want.sort();
  ensure(
    got == want,
    "list_user returns the user's live sessions only",
  )?;
  ensure(
    store.list_user(&user()?).await?.is_empty(),
    "list_user of a stranger is empty",
  )
}

/// `patch_data` sets and deletes only the given keys and bumps the version by one.
pub async fn patch_data_changes_only_the_given_keys(store: &dyn Store) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  let v = store
    .patch_data(
      &r.handle,
      &[
        ("views".into(), Some(json!(2))),
        ("cart".into(), Some(json!(["a", {"b": 1}]))),
        ("nested".into(), None),
      ],
      LIMIT,
    )
    .await?;
  ensure(
    v == Some(r.data_version + 1),
    "patch returns the new version",
  )?;
  let got = store
    .get(&r.handle)
    .await?
    .ok_or_else(|| broken("patched session exists"))?;
  let mut want = Map::new();
  want.insert("views".into(), json!(2));
  want.insert("cart".into(), json!(["a", {"b": 1}]));
  ensure(
    got.data == want,
    "patch sets and deletes exactly the given keys",
  )?;
  ensure(
    got.refresh == r.refresh && got.claims == r.claims,
    "patch leaves the rest alone",
  )?;
  ensure(
    store.patch_data(&r.handle, &[], LIMIT).await? == Some(r.data_version + 2),
    "an empty patch still bumps the version",
  )
}

/// A patch that would grow the data past the limit writes nothing (not even the version)
/// and fails with `DATA_TOO_LARGE`; the size counts the patch as applied in order (a key
/// set twice counts once, a deleted key no more); a patch that shrinks oversized data
/// always applies; a patch of a missing session is `None`, whatever its size.
pub async fn patch_data_keeps_the_data_within_its_limit(store: &dyn Store) -> Result<()> {
  let too_large =
    |r: Result<Option<u64>>| matches!(r, Err(e) if e.kind() == ErrorKind::DataTooLarge);
  let r = record(&user()?)?;
  store.insert(&r).await?;
  // Flat values only from here, so that every store counts the same bytes.
  let base = [
    ("nested".into(), None),
    ("note".into(), Some(json!("hello"))),
  ];
  let v1 = store.patch_data(&r.handle, &base, LIMIT).await?;
  ensure(v1 == Some(1), "the flat base patch applies")?;
  let mut now = Map::new();
  now.insert("views".into(), json!(1));
  now.insert("note".into(), json!("hello"));
  // views 6 + blob 4 + 62 + more 4 + 42: the size after `fits` below.
  let limit = 118;
  let grow = [("blob".into(), Some(json!("x".repeat(200))))];
  ensure(data_size(&now) < limit, "the base fits")?;
  ensure(
    too_large(store.patch_data(&r.handle, &grow, limit).await),
    "a patch past the limit is DATA_TOO_LARGE",
  )?;
  let got = store.get(&r.handle).await?;
  ensure(
    got
      .as_ref()
      .is_some_and(|g| g.data == now && g.data_version == 1),
    "a refused patch writes neither data nor version",
  )?;
  // Set twice: only the last value counts; a delete gives its bytes back in the same patch.
  let fits = [
    ("blob".into(), Some(json!("x".repeat(200)))),
    ("blob".into(), Some(json!("x".repeat(60)))),
    ("note".into(), None),
    ("more".into(), Some(json!("y".repeat(40)))),
  ];
  ensure(
    store.patch_data(&r.handle, &fits, limit).await? == Some(2),
    "a patch that ends at the limit applies",
  )?;
  let one_more = [("z".into(), Some(json!(0)))];
  ensure(
    too_large(store.patch_data(&r.handle, &one_more, limit).await),
    "one byte past the limit is refused",
  )?;
  let shrink = [("blob".into(), Some(json!("x")))];
  ensure(
    store.patch_data(&r.handle, &shrink, 10).await? == Some(3),
    "a patch that shrinks data over the limit applies",
  )?;
  let got = store
    .get(&r.handle)
    .await?
    .ok_or_else(|| broken("the session exists"))?;
  ensure(
    got.data.get("blob") == Some(&json!("x")) && got.data.get("note").is_none(),
    "the applied patches are in the data",
  )?;
  ensure(
    store
      .patch_data(&Handle::generate()?, &grow, 10)
      .await?
      .is_none(),
    "a patch of a missing session is None, not DATA_TOO_LARGE",
  )
}

/// The key ring is stored only by compare-and-swap on its version.
pub async fn key_ring_is_saved_by_compare_and_swap(store: &dyn Store) -> Result<()> {
  let current = store.load_key_ring().await?;
  let base = current.as_ref().map_or(0, |r| r.version);
  let next = StoredRing {
    version: base + 1,
    sealed: format!("sealed-{}", base + 1),
  };
  ensure(
    !store.save_key_ring(Some(base + 100), &next).await?,
    "save with a wrong expected version fails",
  )?;
  ensure(
    store
      .save_key_ring(current.as_ref().map(|r| r.version), &next)
      .await?,
    "save with the stored version applies",
  )?;
  ensure(
    store.load_key_ring().await? == Some(next.clone()),
    "load returns what was saved",
  )?;
  let again = StoredRing {
    version: base + 2,
    sealed: "other".into(),
  };
  ensure(
    !store
      .save_key_ring(current.map(|r| r.version), &again)
      .await?,
    "a second save from the same version fails",
  )?;
  ensure(
    store.load_key_ring().await? == Some(next),
    "a failed save changes nothing",
  )
}

/// `sweep` removes sessions past either expiry, and nothing else.
pub async fn sweep_removes_expired_sessions_only(store: &dyn Store) -> Result<()> {
  let u = user()?;
  let live = record(&u)?;
  let mut idle = record(&u)?;
  idle.refresh.idle_expires_at = NOW.plus_ms(-1);
  let mut absolute = record(&u)?;
  absolute.refresh.absolute_expires_at = NOW.plus_ms(-1);
  for r in [&live, &idle, &absolute] {
    store.insert(r).await?;
  }
  let removed = store.sweep(NOW).await?;
  ensure(removed >= 2, "sweep reports what it removed")?;
  ensure(
    store.get(&live.handle).await?.is_some(),
    "sweep keeps live sessions",
  )?;
  ensure(
    store.get(&idle.handle).await?.is_none(),
    "sweep removes idle-expired sessions",
  )?;
  ensure(
    store.get(&absolute.handle).await?.is_none(),
    "sweep removes absolutely expired sessions",
  )
}

/// 50 concurrent patches of 50 different keys: none is lost (DESIGN promise 9).
pub async fn concurrent_patches_to_different_keys_all_land(store: Arc<dyn Store>) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  let tasks: Vec<_> = (0..50)
    .map(|i| {
      let s = Arc::clone(&store);
      let h = r.handle;
      tokio::spawn(async move {
        s.patch_data(&h, &[(format!("k{i}"), Some(Value::from(i)))], LIMIT)
          .await
      })
    })
    .collect();
  for t in tasks {
    ensure(
      t.await
        .map_err(|_| broken("a patch task panicked"))??
        .is_some(),
      "every concurrent patch applies",
    )?;
  }
  let got = store
    .get(&r.handle)
    .await?
    .ok_or_else(|| broken("patched session exists"))?;
  ensure(
    (0..50).all(|i| got.data.get(&format!("k{i}")) == Some(&Value::from(i))),
    "no concurrent patch is lost",
  )?;
  ensure(
    got.data_version == r.data_version + 50,
    "each patch bumps the version once",
  )
}

/// 20 concurrent rotations from the same state: exactly one applies.
pub async fn concurrent_rotations_from_one_state_let_exactly_one_win(
  store: Arc<dyn Store>,
) -> Result<()> {
  let r = record(&user()?)?;
  store.insert(&r).await?;
  let tasks: Vec<_> = (0..20u8)
    .map(|i| {
      let s = Arc::clone(&store);
      let (h, from) = (r.handle, r.refresh.clone());
      tokio::spawn(async move {
        s.rotate(
          &h,
          &from,
          &rotated(&from, 100 + i),
          NOW,
          &DeviceInfo::default(),
        )
        .await
      })
    })
    .collect();
  let mut wins = 0;
  for t in tasks {
    if t.await.map_err(|_| broken("a rotate task panicked"))?? {
      wins += 1;
    }
  }
  ensure(
    wins == 1,
    "exactly one of concurrent rotations from one state applies",
  )
}

/// 1,000 races of a logout against a data save: no session comes back.
pub async fn revoke_racing_patches_never_resurrects(store: Arc<dyn Store>) -> Result<()> {
  let u = user()?;
  let mut handles = Vec::with_capacity(1000);
  for _ in 0..1000 {
    let r = record(&u)?;
    store.insert(&r).await?;
    handles.push(r.handle);
  }
  let mut tasks = Vec::with_capacity(2000);
  for h in &handles {
    let (s1, s2, h1, h2) = (Arc::clone(&store), Arc::clone(&store), *h, *h);
    tasks.push(tokio::spawn(async move {
      s1.patch_data(&h1, &[("late".into(), Some(json!(true)))], LIMIT)
        .await
        .map(|_| ())
    }));
    tasks.push(tokio::spawn(async move {
      s2.revoke(&h2, NOW).await.map(|_| ())
    }));
  }
  for t in tasks {
    t.await.map_err(|_| broken("a race task panicked"))??;
  }
  for h in &handles {
    ensure(
      store.get(h).await?.is_none(),
      "a save racing a logout never resurrects the session",
    )?;
  }
  ensure(
    store.list_user(&u).await?.is_empty(),
    "a save racing a logout leaves no session of the user",
  )
}

/// The anonymous sessions' quota (`store::anonymous`), on a store of its own (it counts
/// every anonymous session the store holds, or on Redis every one whose handle starts with
/// the byte `tag`) whose quota for handles starting with `tag` is `quota` (at least 2):
/// that is the store's quota, except on Redis, which splits it over its 256 hash tags.
/// Visitors beyond the quota evict the oldest visitors, never a login; a visitor that was
/// revoked, swept or evicted frees its place (the count follows every delete).
///
/// # Errors
/// The first broken rule, or a store error.
pub async fn anonymous_quota_evicts_the_oldest_visitors_only(
  store: &dyn Store,
  quota: usize,
  tag: u8,
) -> Result<()> {
  ensure(quota >= 2, "the check needs a quota of at least 2")?;
  let tagged = |user: &str, age: i64| -> Result<SessionRecord> {
    let mut r = record(user)?;
    r.handle.0[0] = tag;
    if user.is_empty() {
      r.user_id = format!("~anon:{}", r.handle.to_text());
    }
    r.created_at = NOW.plus_ms(age);
    Ok(r)
  };
  let present = |h: Handle| async move { Ok::<_, crate::Error>(store.get(&h).await?.is_some()) };
  // Logins older than every visitor: the oldest sessions are not the ones evicted.
  let logins = [tagged(&user()?, -1000)?, tagged(&user()?, -999)?];
  for l in &logins {
    store.insert(l).await?;
  }
  let mut visitors = Vec::new();
  for i in 0..quota + 2 {
    let mut v = tagged("", i64::try_from(i).unwrap_or(0))?;
    if i == 3 {
      v.refresh.idle_expires_at = NOW.plus_ms(50); // for the sweep below
    }
    store.insert(&v).await?;
    visitors.push(v.handle);
  }
  ensure(
    !present(visitors[0]).await? && !present(visitors[1]).await?,
    "visitors beyond the quota evict the oldest visitors",
  )?;
  ensure(
    present(visitors[2]).await? && present(visitors[quota + 1]).await?,
    "eviction takes only what the quota needs",
  )?;
  for l in &logins {
    ensure(
      present(l.handle).await?,
      "a login is never evicted for a visitor",
    )?;
  }
  // A revoked visitor frees its place: the next one evicts nobody.
  store.revoke(&visitors[quota + 1], NOW).await?;
  store.insert(&tagged("", 100)?).await?;
  ensure(
    present(visitors[2]).await?,
    "a revoked visitor frees its place in the quota",
  )?;
  // Past the quota again: the oldest left goes.
  let late = tagged("", 101)?;
  store.insert(&late).await?;
  ensure(
    !present(visitors[2]).await? && present(late.handle).await?,
    "the oldest visitor goes, never the new one",
  )?;
  // A swept visitor frees its place too.
  ensure(
    store.sweep(NOW.plus_ms(60)).await? >= 1,
    "the sweep removed the expired visitor",
  )?;
  store.insert(&tagged("", 102)?).await?;
  ensure(
    present(visitors[4]).await?,
    "a swept visitor frees its place in the quota",
  )?;
  // A login into a store at its quota evicts nobody.
  store.insert(&tagged(&user()?, 103)?).await?;
  ensure(
    present(visitors[4]).await?,
    "a login takes no visitor's place",
  )?;
  Ok(())
}
