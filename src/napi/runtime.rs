//! The tokio runtime the async methods run on: one worker thread, plus tokio's blocking
//! pool (SQLite).
//!
//! Why one: Node calls us from a single thread, and store I/O is a round trip that waits
//! on the network, not on CPU, so more workers add no throughput; they do add cost. With
//! napi's default (one worker per core) an idle worker that is woken searches the other
//! workers' queues before it parks again, and on a machine where Node and the workers
//! share a core, that time is taken from Node's thread (measured: the write benchmark on
//! the Redis store, server pinned to one core).
//! Not here: which runtime a store's own client library uses (they all run on this one).

use tokio::runtime::Builder;

#[napi_derive::module_init]
fn init() {
  // An error building it leaves napi's default runtime in place.
  if let Ok(rt) = Builder::new_multi_thread()
    .worker_threads(1)
    .thread_name("tandem-session-io")
    .enable_all()
    .build()
  {
    napi::bindgen_prelude::create_custom_tokio_runtime(rt);
  }
}
