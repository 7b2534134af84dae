//! Where the PostgreSQL store keeps its tables: a schema (by default the first of the
//! connection's `search_path`) and a prefix of every name it creates (`tandem_` by
//! default), as connect-pg-simple's `schemaName` and `tableName`.
//!
//! Guarantees:
//! - every table, index, function and trigger name in the store's SQL is rewritten here
//!   from `tandem_…` to `<prefix>…`, and with a schema every connection of the pool has
//!   `search_path` set to it (tables are created there; `pg_catalog` stays searched), so
//!   two stores with different schemas or prefixes on one database never share a row;
//! - the default namespace rewrites nothing: the names (and advisory locks) of earlier
//!   releases, so existing sessions stay;
//! - the advisory locks that serialise migrations and feed appends, and the channel that
//!   change notices go on, are the namespace's own, so one app's revocations never wait
//!   for another's nor wake its engines;
//! - names are validated (and a schema quoted): a schema is 1 to 63 and a prefix 1 to 32 bytes of
//!   `a-z 0-9 _` starting with a letter or `_` (so every name stays within PostgreSQL's
//!   63 bytes, and means the same quoted or not).
//!
//! Not guaranteed: that the schema exists with the right owner: the store runs
//! `CREATE SCHEMA IF NOT EXISTS`, which needs the `CREATE` privilege on the database when
//! the schema is missing.

use std::borrow::Cow;

use crate::error::{err, ErrorKind, Result};

/// The prefix of every name the store creates, unless the app names another.
pub const DEFAULT_TABLE_PREFIX: &str = "tandem_";
/// The longest table prefix accepted, in bytes (the longest name it starts is 25 more).
pub const MAX_TABLE_PREFIX_LEN: usize = 32;
/// The longest schema name PostgreSQL keeps, in bytes.
pub const MAX_SCHEMA_LEN: usize = 63;

/// A schema (or the connection's default) and a name prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
  schema: Option<String>,
  prefix: String,
}

impl Default for Namespace {
  fn default() -> Self {
    Self {
      schema: None,
      prefix: DEFAULT_TABLE_PREFIX.to_owned(),
    }
  }
}

fn is_name(s: &str, max: usize) -> bool {
  let mut bytes = s.bytes();
  matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
    && s.len() <= max
    && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

impl Namespace {
  /// The namespace `schema` (`None`: the connection's first `search_path` schema) and
  /// `prefix` (`None`: [`DEFAULT_TABLE_PREFIX`]).
  ///
  /// # Errors
  /// `CONFIG_INVALID` for a schema or prefix that is not a plain lower-case name.
  pub fn new(schema: Option<&str>, prefix: Option<&str>) -> Result<Self> {
    if schema.is_some_and(|s| !is_name(s, MAX_SCHEMA_LEN)) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "the PostgreSQL schema must be 1 to 63 characters of a-z 0-9 _, not starting with a digit",
      ));
    }
    if prefix.is_some_and(|p| !is_name(p, MAX_TABLE_PREFIX_LEN)) {
      return Err(err(
        ErrorKind::ConfigInvalid,
        "the PostgreSQL table prefix must be 1 to 32 characters of a-z 0-9 _, not starting with a digit",
      ));
    }
    Ok(Self {
      schema: schema.map(str::to_owned),
      prefix: prefix.unwrap_or(DEFAULT_TABLE_PREFIX).to_owned(),
    })
  }

  /// The schema, when one was named.
  pub fn schema(&self) -> Option<&str> {
    self.schema.as_deref()
  }

  /// `sql` (written with `tandem_` names) with this namespace's names.
  pub fn sql(&self, sql: &'static str) -> Cow<'static, str> {
    if self.prefix == DEFAULT_TABLE_PREFIX {
      Cow::Borrowed(sql)
    } else {
      Cow::Owned(sql.replace(DEFAULT_TABLE_PREFIX, &self.prefix))
    }
  }

  /// What each new connection runs after the store's own settings: its `search_path`.
  pub fn connection_settings(&self) -> Option<String> {
    self
      .schema
      .as_ref()
      .map(|s| format!("SET search_path TO \"{s}\""))
  }

  /// The statement that makes the schema, when one was named.
  pub fn create_schema(&self) -> Option<String> {
    self
      .schema
      .as_ref()
      .map(|s| format!("CREATE SCHEMA IF NOT EXISTS \"{s}\""))
  }

  /// The channel the store notifies its changes on: `tandem_events` by default, else
  /// followed by the namespace's hash (channels are database-wide, not per schema, and
  /// a name of schema and prefix could pass PostgreSQL's 63 bytes).
  pub fn channel(&self) -> String {
    if *self == Self::default() {
      "tandem_events".to_owned()
    } else {
      format!("tandem_events_{:016x}", self.lock(0))
    }
  }

  /// The namespace's own advisory-lock key for `base` (`base` itself by default).
  pub fn lock(&self, base: i64) -> i64 {
    if *self == Self::default() {
      return base;
    }
    // FNV-1a over schema NUL prefix: a fixed, portable mix (collisions only serialise).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let schema = self.schema.as_deref().unwrap_or("");
    for b in schema.bytes().chain([0]).chain(self.prefix.bytes()) {
      h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    base ^ i64::from_ne_bytes(h.to_ne_bytes())
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_default_namespace_rewrites_nothing() {
    let n = Namespace::default();
    let sql = "SELECT n FROM tandem_anonymous_count";
    assert!(matches!(n.sql(sql), Cow::Borrowed(s) if s == sql));
    assert_eq!(n.connection_settings(), None);
    assert_eq!(n.create_schema(), None);
    assert_eq!(n.lock(42), 42);
    assert_eq!(Namespace::new(None, None).ok(), Some(n));
  }

  #[test]
  fn a_prefix_renames_every_name_and_a_schema_sets_the_search_path() -> Result<()> {
    let n = Namespace::new(Some("shop"), Some("staging_"))?;
    assert_eq!(
      n.sql("CREATE INDEX tandem_sessions_user_id ON tandem_sessions (user_id)"),
      "CREATE INDEX staging_sessions_user_id ON staging_sessions (user_id)"
    );
    assert_eq!(
      n.connection_settings().as_deref(),
      Some("SET search_path TO \"shop\"")
    );
    assert_eq!(
      n.create_schema().as_deref(),
      Some("CREATE SCHEMA IF NOT EXISTS \"shop\"")
    );
    assert_ne!(n.lock(42), 42);
    assert_ne!(n.lock(42), Namespace::new(Some("shop"), None)?.lock(42));
    assert_eq!(Namespace::default().channel(), "tandem_events");
    assert_ne!(n.channel(), Namespace::new(Some("shop"), None)?.channel());
    assert!(n.channel().len() < 64);
    Ok(())
  }

  #[test]
  fn names_that_would_need_quoting_or_overflow_are_refused() {
    let long_schema = "s".repeat(MAX_SCHEMA_LEN + 1);
    let long_prefix = "p".repeat(MAX_TABLE_PREFIX_LEN + 1);
    for bad in [
      "",
      "Shop",
      "1x",
      "a-b",
      "a b",
      "a;drop",
      "a\"b",
      long_schema.as_str(),
    ] {
      let kind = Namespace::new(Some(bad), None).err().map(|e| e.kind());
      assert_eq!(kind, Some(ErrorKind::ConfigInvalid), "schema {bad:?}");
    }
    for bad in ["", "App_", "9_", "x.y_", long_prefix.as_str()] {
      let kind = Namespace::new(None, Some(bad)).err().map(|e| e.kind());
      assert_eq!(kind, Some(ErrorKind::ConfigInvalid), "prefix {bad:?}");
    }
    assert!(Namespace::new(
      Some(&"s".repeat(MAX_SCHEMA_LEN)),
      Some(&"p".repeat(MAX_TABLE_PREFIX_LEN))
    )
    .is_ok());
  }
}
