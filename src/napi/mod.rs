//! The napi binding: the only Rust code that knows about Node (feature `napi`).
//!
//! - [`error`]: core errors to JS errors with a stable `err.code`;
//! - [`options`]: the JS-facing options objects, converted into `engine::settings`;
//! - [`core`]: the `TokenCore` class that JS holds, one synchronous call per operation;
//! - [`hot`]: the per-request verify as plain functions with a packed result;
//! - [`packed`]: the packed result's writer (its reader is `js/packed.js`);
//! - [`registry`]: cores by number, for the hot path;
//! - [`store`], [`engine`]: the stores and the session engine, async; [`metrics`]: its
//!   counters;
//! - [`bridge`]: the bridge store over an app's express-session store object.
//!
//! Entry points that see untrusted input catch panics (`catch_unwind`), so a bug becomes
//! an `INTERNAL` error, never an aborted process or an "authenticated" result.

// Under `cfg(test)` napi-derive registers no exports, so every exported function would look
// unused to rustc (`cargo clippy --features napi --all-targets`); they are used by Node.
#![cfg_attr(test, allow(dead_code))]

mod bridge;
mod core;
mod engine;
mod error;
mod hot;
mod metrics;
mod options;
mod packed;
mod registry;
mod runtime;
mod store;
