//! Signing keys: a key ([`key`]), the ring that rotates them ([`ring`]), the sealed form
//! that stores keep ([`sealed`]), and the public JWK Set of an Ed25519 ring ([`jwks`]).

pub mod jwks;
pub mod key;
pub mod ring;
pub mod sealed;

pub use key::{Key, KeyState};
pub use ring::{KeyRing, RotationPlan, RotationPolicy};
