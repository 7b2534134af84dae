//! The store conformance suite against the memory store.

use std::sync::Arc;

use tandem_session::store::{conformance, MemoryStore};
use tandem_session::Result;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_store_keeps_the_store_contract() -> Result<()> {
  conformance::run_all(Arc::new(MemoryStore::default())).await
}
