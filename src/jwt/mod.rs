//! JSON Web Tokens, the way we use them: access tokens only, compact form only.
//!
//! - [`compact`]: splitting a token, with size and alphabet limits;
//! - [`header`] and [`claims`]: strict parsing of the two JSON parts, and [`canonical`],
//!   the fast path for the claims we write ourselves;
//! - [`jws`]: sign and verify with the `jsonwebtoken` crate's algorithms;
//! - [`policy`]: issuer, audience, lifetime, leeway;
//! - [`access`]: access tokens, signed with the key ring and verified against the policy.
//!
//! Layering: every file here but [`access`] is below `keys` (a ring key is built from
//! [`header::header_segment`] and implements [`jws::VerifyKey`]) and knows nothing of it;
//! [`access`] is above both, and [`canonical`] is above [`claims`]. No file imports one
//! that imports it back.

pub mod access;
pub mod algorithm;
pub mod canonical;
pub mod claims;
pub mod compact;
pub mod header;
pub mod jws;
pub mod policy;

pub use access::{AccessClaims, Issued, Subject};
pub use algorithm::Algorithm;
pub use policy::Policy;
