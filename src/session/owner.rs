//! Who a session belongs to: a user who logged in, or nobody yet (an anonymous session:
//! data kept before login, as express-session keeps it for every visitor). Stores key every
//! session by a user-id string, so an anonymous session is stored under a reserved id that
//! no login can take: [`ANONYMOUS_PREFIX`] and the session's handle (128 random bits), so
//! the id alone names the one session it owns (a store needs no index to list it).
//!
//! Guarantees: the reserved id is made only by [`Owner::stored_id`]; [`check_user_id`] is
//! the one rule for the user ids a login may use (1 to [`MAX_USER_ID_UNITS`] UTF-16 code
//! units, JS's `length`, and never the reserved prefix); [`public_user_id`] is the one
//! place a stored id becomes the app's (`None` for an anonymous session), for the binding's
//! results and the hot path's packed claims alike.
//! Not here: what a session holds (`record`), or who may log in (the app decides).

use crate::error::{err, ErrorKind, Result};
use crate::token::Handle;

/// Stored user ids of anonymous sessions start with this; no login may use it.
pub const ANONYMOUS_PREFIX: &str = "~anon:";
/// Longest user id a login may use, in UTF-16 code units (JS's `length`).
pub const MAX_USER_ID_UNITS: usize = 256;

/// Who a new session belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Owner {
  /// Nobody yet: data kept before login.
  #[default]
  Anonymous,
  /// A user who logged in, by the app's user id.
  User(String),
}

impl Owner {
  /// The user id to store session `handle` under: the user's (checked by
  /// [`check_user_id`]), or for an anonymous session the reserved one made of its handle.
  ///
  /// # Errors
  /// `INVALID_ARGUMENT` for a user id a login may not use.
  pub fn stored_id(self, handle: &Handle) -> Result<String> {
    match self {
      Owner::User(id) => {
        check_user_id(&id)?;
        Ok(id)
      }
      Owner::Anonymous => Ok(format!("{ANONYMOUS_PREFIX}{}", handle.to_text())),
    }
  }
}

/// Check a user id a login may use.
///
/// # Errors
/// `INVALID_ARGUMENT` when it is empty, longer than [`MAX_USER_ID_UNITS`], or starts with
/// [`ANONYMOUS_PREFIX`].
pub fn check_user_id(id: &str) -> Result<()> {
  if id.is_empty()
    || id.encode_utf16().count() > MAX_USER_ID_UNITS
    || id.starts_with(ANONYMOUS_PREFIX)
  {
    return Err(err(
      ErrorKind::InvalidArgument,
      "userId must be a non-empty string of at most 256 characters, not starting with \"~anon:\"",
    ));
  }
  Ok(())
}

/// Whether a stored user id is an anonymous session's.
pub fn is_anonymous(stored: &str) -> bool {
  stored.starts_with(ANONYMOUS_PREFIX)
}

/// The handle text an anonymous session's stored id is made of (`None` for a user's id).
/// Only a prefix cut: whether a session with that handle exists is the store's to say.
pub fn anonymous_handle(stored: &str) -> Option<&str> {
  stored.strip_prefix(ANONYMOUS_PREFIX)
}

/// The app's user id for a stored one: `None` for an anonymous session.
pub fn public_user_id(stored: &str) -> Option<&str> {
  (!is_anonymous(stored)).then_some(stored)
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn anonymous_sessions_get_fresh_reserved_ids_that_map_to_no_user() {
    let (ha, hb) = (
      Handle::generate().unwrap_or_else(|e| panic!("{e}")),
      Handle::generate().unwrap_or_else(|e| panic!("{e}")),
    );
    let a = Owner::Anonymous
      .stored_id(&ha)
      .unwrap_or_else(|e| panic!("{e}"));
    let b = Owner::Anonymous
      .stored_id(&hb)
      .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a, b);
    assert_eq!(anonymous_handle(&a), Some(ha.to_text().as_str()));
    assert_eq!(anonymous_handle("alice"), None);
    assert!(a.starts_with(ANONYMOUS_PREFIX) && a.len() == ANONYMOUS_PREFIX.len() + 22);
    assert_eq!(public_user_id(&a), None);
    assert_eq!(public_user_id("alice"), Some("alice"));
  }

  #[test]
  fn a_login_cannot_take_a_reserved_empty_or_overlong_id() {
    let h = Handle::generate().unwrap_or_else(|e| panic!("{e}"));
    let refused = |id: &str| {
      Owner::User(id.to_owned())
        .stored_id(&h)
        .map_err(|e| e.kind())
    };
    assert_eq!(refused("~anon:x"), Err(ErrorKind::InvalidArgument));
    assert_eq!(refused(""), Err(ErrorKind::InvalidArgument));
    assert_eq!(refused(&"u".repeat(257)), Err(ErrorKind::InvalidArgument));
    // 128 astral characters are 256 UTF-16 code units: JS's length, so allowed.
    assert_eq!(refused(&"😀".repeat(128)), Ok("😀".repeat(128)));
    assert_eq!(
      refused(&"😀".repeat(129)).map(|_| ()),
      Err(ErrorKind::InvalidArgument)
    );
    assert_eq!(refused("a~anon:"), Ok("a~anon:".to_owned()));
  }
}
