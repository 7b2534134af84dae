//! tandem-session's core: dual-token sessions (a short-lived JWT access token and a
//! rotating opaque refresh token), with no Node in it.
//!
//! Threat model, in short: tokens are parsed only here, strictly (see [`jwt`] and
//! [`credentials`]); every secret comparison is constant time (see [`digest`]); refresh
//! tokens are stored only as digests and authenticated by a MAC so forgeries revoke
//! nothing (see [`token::refresh`]); signing keys rotate and are stored sealed (see
//! [`keys`]); errors carry stable codes and never secrets (see [`error`]).
//!
//! Modules: [`clock`], [`random`], [`encoding`], [`digest`], [`secret`], [`json`], [`jwt`],
//! [`keys`], [`token`], [`credentials`], [`service`], [`session`] (records and the rotation
//! decision); and `napi` (feature `napi`), the only
//! module that knows about Node.

pub mod clock;
pub mod credentials;
pub mod digest;
pub mod encoding;
pub mod engine;
pub mod error;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod percent;
pub mod random;
pub mod secret;
pub mod service;
pub mod session;
pub mod store;
pub mod token;

#[cfg(feature = "napi")]
mod napi;

pub use error::{Error, ErrorKind, Result};
pub use service::{Config, TokenService, Verify};
