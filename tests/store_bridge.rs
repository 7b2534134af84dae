//! The store contract and the engine scenarios against the bridge store (the one that runs
//! on express-session stores), over an in-memory key-value map: the within-one-process
//! guarantees of `store::bridge` (the 20-way refresh race, 1,000 logout/save races,
//! concurrent patches). Over the app's store objects it is tested from Node
//! (`tests/node/bridge-*.test.js`).

use std::sync::Arc;

use tandem_session::store::bridge::{BridgeStore, MapKeyValue};
use tandem_session::store::conformance;
use tandem_session::Result;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bridge_store_keeps_the_store_contract() -> Result<()> {
  conformance::run_all(Arc::new(BridgeStore::new(MapKeyValue::default()))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_scenarios_hold_on_the_bridge_store() -> Result<()> {
  tandem_session::engine::conformance::run_all(Arc::new(BridgeStore::new(MapKeyValue::default())))
    .await
}

/// Two processes (two bridges, each with its own locks) starting together on one empty
/// store end up on one key ring: a token one signs, the other verifies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bridges_starting_together_on_an_empty_store_share_one_key_ring() -> Result<()> {
  use tandem_session::clock::FixedClock;
  use tandem_session::engine::conformance::{engine, T0};
  use tandem_session::engine::NewSession;
  use tandem_session::Verify;

  let shared = Arc::new(MapKeyValue::default());
  let clock = Arc::new(FixedClock::at(T0));
  let (a, b) = tokio::join!(
    engine(
      Arc::new(BridgeStore::new(Arc::clone(&shared))),
      Arc::clone(&clock)
    ),
    engine(
      Arc::new(BridgeStore::new(Arc::clone(&shared))),
      Arc::clone(&clock)
    ),
  );
  let (a, b) = (a?, b?);
  for (signer, verifier) in [(&a, &b), (&b, &a)] {
    let t = signer.create(NewSession::default()).await?;
    let cookie = format!("__Host-at={}", t.access.token);
    let verified = verifier.verify_request(Some(cookie.as_bytes()), None, "__Host-at")?;
    assert!(verified.is_some(), "a token of one verifies in the other");
  }
  Ok(())
}

/// The calls an express-session store sees, as under express-session: saving a new
/// anonymous session is one `set` (its id is made of its handle: no index record), a
/// login also writes the user's index; the end of a request that changed nothing is the
/// store's `touch` with the record, or with `resave` one `set` of it; a revoked session is
/// neither touched nor written back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_sees_express_sessions_calls() -> Result<()> {
  use tandem_session::clock::FixedClock;
  use tandem_session::engine::conformance::{engine, T0};
  use tandem_session::engine::NewSession;
  use tandem_session::session::Owner;

  let kv = Arc::new(MapKeyValue::default());
  let e = engine(
    Arc::new(BridgeStore::new(Arc::clone(&kv))),
    Arc::new(FixedClock::at(T0)),
  )
  .await?;
  let before = kv.calls("set");
  let anon = e.create(NewSession::default()).await?;
  assert_eq!(
    kv.calls("set") - before,
    1,
    "one set for a new anonymous session"
  );
  assert!(
    kv.keys().iter().all(|k| !k.starts_with("~tandem:user:")),
    "and no index record: {:?}",
    kv.keys()
  );
  assert_eq!(
    e.list_user(&anon.user_id).await?.len(),
    1,
    "it is listed under its id all the same"
  );

  let before = kv.calls("set");
  let alice = e
    .create(NewSession {
      owner: Owner::User("alice".to_owned()),
      ..NewSession::default()
    })
    .await?;
  assert_eq!(
    kv.calls("set") - before,
    2,
    "a login: the session and alice's index"
  );
  assert_eq!(e.list_user("alice").await?.len(), 1);

  let (sets, touches) = (kv.calls("set"), kv.calls("touch"));
  assert!(e.keep_alive(&alice.handle, false).await?, "alive");
  assert_eq!(
    (kv.calls("set") - sets, kv.calls("touch") - touches),
    (0, 1),
    "touch"
  );
  assert!(e.keep_alive(&alice.handle, true).await?, "alive");
  assert_eq!(
    (kv.calls("set") - sets, kv.calls("touch") - touches),
    (1, 1),
    "resave: one set"
  );

  assert!(e.revoke(&anon.handle).await?);
  let (sets, touches) = (kv.calls("set"), kv.calls("touch"));
  assert!(
    !e.keep_alive(&anon.handle, false).await?,
    "a revoked session is gone"
  );
  assert!(
    !e.keep_alive(&anon.handle, true).await?,
    "and is not written back"
  );
  assert_eq!((kv.calls("set"), kv.calls("touch")), (sets, touches));
  assert!(
    !kv.keys().contains(&anon.handle.to_text()),
    "nothing under its handle"
  );
  Ok(())
}

/// The value the key-value store holds under `h`.
async fn stored(
  kv: &MapKeyValue,
  h: &tandem_session::token::Handle,
) -> std::result::Result<serde_json::Value, Box<dyn std::error::Error>> {
  use tandem_session::store::bridge::KeyValue;
  Ok(
    kv.get(&h.to_text())
      .await?
      .ok_or("a value under the handle")?,
  )
}

/// What a request reads on Node's side (the store's `get` made in JS, js/compat/bridge.js)
/// is decoded and checked in Rust as `Engine::get` checks what it reads: the live session
/// under its own key; `None` once it expired or was revoked; anything else is
/// `STORE_CORRUPT` (another session's record under this key, one of the bridge's own
/// records, what express-session itself stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_read_on_nodes_side_is_checked_as_get_checks(
) -> std::result::Result<(), Box<dyn std::error::Error>> {
  use serde_json::json;
  use tandem_session::clock::FixedClock;
  use tandem_session::engine::conformance::{engine, T0};
  use tandem_session::engine::NewSession;
  use tandem_session::ErrorKind;

  let kv = Arc::new(MapKeyValue::default());
  let clock = Arc::new(FixedClock::at(T0));
  let e = engine(
    Arc::new(BridgeStore::new(Arc::clone(&kv))),
    Arc::clone(&clock),
  )
  .await?;
  let a = e.create(NewSession::default()).await?;
  let b = e.create(NewSession::default()).await?;
  let va = stored(&kv, &a.handle).await?;
  let read = e
    .decode_bridged(&a.handle, &va)?
    .ok_or("a live session decodes")?;
  let got = e.get(&a.handle).await?.ok_or("and is live")?;
  assert_eq!(
    (read.user_id, read.data_version),
    (got.user_id, got.data_version)
  );

  let corrupt = |r: Result<Option<tandem_session::session::SessionRecord>>| matches!(r, Err(ref err) if err.kind() == ErrorKind::StoreCorrupt);
  assert!(
    corrupt(e.decode_bridged(&b.handle, &va)),
    "a's record under b's key"
  );
  assert!(
    corrupt(e.decode_bridged(&a.handle, &json!({ "cookie": {}, "views": 3 }))),
    "express-session's own session"
  );
  assert!(
    corrupt(e.decode_bridged(
      &a.handle,
      &json!({ "cookie": {}, "tandem": { "version": 1 } })
    )),
    "an own record"
  );
  assert!(
    corrupt(e.decode_bridged(&a.handle, &json!({ "tandem": { "handle": "x" } }))),
    "a broken record"
  );

  let vb = stored(&kv, &b.handle).await?; // read before the logout, decoded after it
  assert!(e.revoke(&b.handle).await?);
  assert!(
    e.decode_bridged(&b.handle, &vb)?.is_none(),
    "a revoked session is never live again"
  );

  clock.advance_ms(400 * 24 * 60 * 60 * 1000);
  assert!(e.decode_bridged(&a.handle, &va)?.is_none(), "expired");
  Ok(())
}

/// The sessions a process watches for expiry are capped: past the cap a new session is left
/// to the store's own expiry, and a sweep removes exactly the watched ones that expired.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sessions_watched_for_expiry_are_capped() -> Result<()> {
  use tandem_session::clock::{FixedClock, UnixMillis};
  use tandem_session::engine::conformance::{engine, T0};
  use tandem_session::engine::NewSession;
  use tandem_session::store::Store;

  let bridge = Arc::new(BridgeStore::new(MapKeyValue::default()).watching_at_most(5));
  let e = engine(
    Arc::clone(&bridge) as Arc<dyn Store>,
    Arc::new(FixedClock::at(T0)),
  )
  .await?;
  for _ in 0..8 {
    e.create(NewSession::default()).await?;
  }
  assert_eq!(bridge.watched(), 5, "8 sessions made, 5 watched");
  let removed = bridge.sweep(UnixMillis(T0.0 + 400 * 86_400_000)).await?;
  assert_eq!(
    (removed, bridge.watched()),
    (5, 0),
    "the watched ones swept when expired"
  );
  Ok(())
}
