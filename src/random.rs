//! Randomness from the operating system's CSPRNG (`getrandom`), and nothing else.
//!
//! Guarantees: every byte comes straight from the OS generator; a failure is an error
//! (`RANDOM_UNAVAILABLE`), never a fallback to a weaker source.
//! Sizes used by the project: refresh-token secrets 256 bits, session handles, JWT ids
//! and CSRF nonces 128 bits (ASVS 5.0 §7.2.3 asks ≥ 128).

use crate::error::{err, ErrorKind, Result};

/// `N` random bytes.
///
/// # Errors
/// `RANDOM_UNAVAILABLE` when the OS generator fails.
pub fn bytes<const N: usize>() -> Result<[u8; N]> {
  let mut out = [0u8; N];
  getrandom::getrandom(&mut out).map_err(|_| {
    err(
      ErrorKind::RandomUnavailable,
      "the OS random generator failed",
    )
  })?;
  Ok(out)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn two_draws_differ() -> Result<()> {
    assert_ne!(bytes::<16>()?, bytes::<16>()?);
    Ok(())
  }
}
