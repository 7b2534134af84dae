//! Opaque tokens: session [`handle`]s, [`refresh`] tokens and [`csrf`] tokens. None of
//! them is a JWT; each has one fixed length and one accepted spelling.

pub mod csrf;
pub mod handle;
pub mod legacy;
pub mod refresh;

pub use handle::Handle;
pub use refresh::RefreshToken;
