//! The napi binding: the only Rust code that knows about Node (feature `napi`).
//!
//! - [`error`]: core errors to JS errors with a stable `err.code`;
//! - [`options`]: the JS-facing options object and its conversion to core settings;
//! - [`core`]: the `TokenCore` class that JS holds, one synchronous call per operation;
//! - [`hot`]: the per-request verify as plain functions with a packed result;
//! - [`registry`]: cores by number, for the hot path.
//!
//! Entry points that see untrusted input catch panics (`catch_unwind`), so a bug becomes
//! an `INTERNAL` error, never an aborted process or an "authenticated" result.

mod core;
mod engine;
mod error;
mod hot;
mod options;
mod registry;
mod runtime;
mod store;
