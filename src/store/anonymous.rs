//! The quota of anonymous sessions, which every native store keeps: anyone without a
//! cookie can make one (a visitor whose request writes session data), so they are bounded
//! apart from logged-in sessions. A new anonymous session beyond the quota evicts the
//! oldest anonymous ones (by creation time) in the same atomic step as the insert; a login
//! is never refused or evicted because of them.
//!
//! Guarantees: [`DEFAULT_MAX_ANONYMOUS`] is the default quota of every store (the memory
//! store's default is also at most half its `max_sessions`); [`SQL_IS_ANONYMOUS`] is the
//! one predicate SQLite and PostgreSQL use for their counters and partial indexes (a
//! byte-wise prefix test, whatever the database's collation).
//! Not here: how long an anonymous session lives (`session::RefreshPolicy`); a bridged
//! express-session store, whose own TTL governs.

/// The default bound on anonymous sessions of one store.
pub const DEFAULT_MAX_ANONYMOUS: u64 = 100_000;

/// The SQL test that the `user_id` column holds an anonymous session's reserved id
/// (`session::owner::ANONYMOUS_PREFIX`, 6 characters).
pub const SQL_IS_ANONYMOUS: &str = "substr(user_id, 1, 6) = '~anon:'";

#[cfg(test)]
mod tests {
  use super::*;
  use crate::session::owner::ANONYMOUS_PREFIX;

  #[test]
  fn the_sql_predicate_names_the_reserved_prefix() {
    assert_eq!(ANONYMOUS_PREFIX.len(), 6);
    assert!(SQL_IS_ANONYMOUS.contains(&format!("'{ANONYMOUS_PREFIX}'")));
  }
}
