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
