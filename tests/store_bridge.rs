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
