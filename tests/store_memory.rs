//! The store contract and the engine scenarios against the memory store.

use std::sync::Arc;

use tandem_session::store::{conformance, MemoryStore};
use tandem_session::Result;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_keeps_the_store_contract() -> Result<()> {
  conformance::run_all(Arc::new(MemoryStore::default())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_scenarios_hold_on_the_memory_store() -> Result<()> {
  tandem_session::engine::conformance::run_all(Arc::new(MemoryStore::default())).await
}
