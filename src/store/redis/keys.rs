//! The Redis store's key names, under the store's prefix (`ts:` unless the app names
//! another, as connect-redis's `prefix`).
//!
//! Guarantees:
//! - every key the store reads or writes, and every channel it publishes on, is made here
//!   and starts with the prefix (the feed's and the ring's inside their hash tag), so two
//!   apps with different prefixes on one Redis database never see each other's sessions,
//!   feed or key ring;
//! - the prefix `ts:` gives the names of every earlier release, so existing sessions stay;
//! - a prefix is 1 to 64 bytes of `A-Z a-z 0-9 : _ . -`: no `{` or `}` (which would move a
//!   key to another cluster slot than its session's others), no space or control byte.
//!
//! Not guaranteed: that a prefix is not itself the start of another app's prefix (`app`
//! and `app2` are distinct here, but a `KEYS app*` by an operator sees both).

use crate::error::{err, ErrorKind, Result};
use crate::token::Handle;

/// The prefix of every key unless the app names another.
pub const DEFAULT_PREFIX: &str = "ts:";
/// The longest prefix accepted, in bytes.
pub const MAX_PREFIX_LEN: usize = 64;

/// The key names of one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
  prefix: Box<str>,
  /// The feed's counter (the feed's three keys share one hash tag).
  pub feed_seq: String,
  /// The feed's entries by position.
  pub feed_log: String,
  /// The feed's entries by `until`.
  pub feed_until: String,
  /// The sealed key ring and its version.
  pub ring: String,
  /// The channel a process publishes revocations and key-ring changes on.
  pub channel: String,
}

impl Default for Keys {
  fn default() -> Self {
    Self::named(DEFAULT_PREFIX)
  }
}

impl Keys {
  /// The key names under `prefix`.
  ///
  /// # Errors
  /// `CONFIG_INVALID` for a prefix that is empty, longer than [`MAX_PREFIX_LEN`], or has a
  /// byte outside `A-Z a-z 0-9 : _ . -`.
  pub fn new(prefix: &str) -> Result<Self> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'-');
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN || !prefix.bytes().all(allowed) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "the Redis prefix must be 1 to 64 characters of A-Z a-z 0-9 : _ . -",
      ));
    }
    Ok(Self::named(prefix))
  }

  fn named(p: &str) -> Self {
    Self {
      prefix: p.into(),
      feed_seq: format!("{{{p}feed}}:seq"),
      feed_log: format!("{{{p}feed}}:log"),
      feed_until: format!("{{{p}feed}}:until"),
      ring: format!("{{{p}ring}}"),
      channel: format!("{p}events"),
    }
  }

  /// The prefix these names start with.
  pub fn prefix(&self) -> &str {
    &self.prefix
  }

  /// A session's hash of fields: `<prefix>{HH}:s:<handle>`.
  pub fn session(&self, h: &Handle) -> String {
    format!("{}{{{}}}:s:{}", self.prefix, tag(h), h.to_text())
  }

  /// A session's hash of data keys: `<prefix>{HH}:d:<handle>`.
  pub fn data(&self, h: &Handle) -> String {
    format!("{}{{{}}}:d:{}", self.prefix, tag(h), h.to_text())
  }

  /// The tag's handles by earliest expiry.
  pub fn expiry(&self, t: &str) -> String {
    format!("{}{{{t}}}:exp", self.prefix)
  }

  /// The tag's anonymous sessions by creation time.
  pub fn anonymous(&self, t: &str) -> String {
    format!("{}{{{t}}}:anon", self.prefix)
  }

  /// The tag's revocations not yet copied to the feed (cluster only).
  pub fn outbox(&self, t: &str) -> String {
    format!("{}{{{t}}}:out", self.prefix)
  }

  /// The user's handles by absolute expiry, in the user's own slot.
  pub fn user(&self, user_id: &str) -> String {
    format!("{}u:{{{user_id}}}", self.prefix)
  }
}

/// A handle's hash tag: the first byte of the handle in hex (256 tags).
pub fn tag(h: &Handle) -> String {
  format!("{:02x}", h.0[0])
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_default_prefix_gives_the_names_of_earlier_releases() {
    let k = Keys::default();
    let h = Handle([0xab; 16]);
    assert_eq!(k.session(&h), format!("ts:{{ab}}:s:{}", h.to_text()));
    assert_eq!(k.data(&h), format!("ts:{{ab}}:d:{}", h.to_text()));
    assert_eq!(k.expiry("ab"), "ts:{ab}:exp");
    assert_eq!(k.anonymous("ab"), "ts:{ab}:anon");
    assert_eq!(k.outbox("ab"), "ts:{ab}:out");
    assert_eq!(k.user("a"), "ts:u:{a}");
    assert_eq!(
      [&k.feed_seq, &k.feed_log, &k.feed_until, &k.ring],
      [
        "{ts:feed}:seq",
        "{ts:feed}:log",
        "{ts:feed}:until",
        "{ts:ring}"
      ]
    );
  }

  #[test]
  fn every_name_starts_with_its_prefix_and_keeps_its_hash_tag() -> Result<()> {
    let k = Keys::new("app-2:")?;
    let h = Handle([7; 16]);
    for name in [
      k.session(&h),
      k.data(&h),
      k.expiry("07"),
      k.anonymous("07"),
      k.outbox("07"),
    ] {
      assert!(name.starts_with("app-2:{07}:"), "{name}");
    }
    assert_eq!(k.user("u"), "app-2:u:{u}");
    for name in [&k.feed_seq, &k.feed_log, &k.feed_until] {
      assert!(name.starts_with("{app-2:feed}:"), "{name}");
    }
    assert_eq!(k.ring, "{app-2:ring}");
    assert_eq!(k.channel, "app-2:events");
    Ok(())
  }

  #[test]
  fn prefixes_that_could_move_a_key_or_confuse_an_operator_are_refused() {
    let long = "a".repeat(MAX_PREFIX_LEN + 1);
    for bad in ["", "a{b", "a}b", "a b", "a\nb", "é", long.as_str()] {
      let kind = Keys::new(bad).err().map(|e| e.kind());
      assert_eq!(kind, Some(ErrorKind::ConfigInvalid), "{bad:?}");
    }
    assert!(Keys::new(&"a".repeat(MAX_PREFIX_LEN)).is_ok());
  }
}
