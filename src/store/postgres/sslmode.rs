//! The connection string's TLS parameters, read as libpq reads them: `sslmode`
//! (`disable`, `prefer` — the default —, `require`, `verify-ca`, `verify-full`; `allow` is
//! taken as `prefer`) and `sslrootcert` (a PEM file, or `system` for the system's roots,
//! which asks for `verify-ca` or `verify-full` as libpq 16 does). Both are taken out of the
//! string before tokio-postgres parses the rest (it knows only three modes).
//!
//! Guarantees: a URL's query and a `key=value` string are both read; an unknown mode, a
//! repeated parameter or `sslrootcert=system` with a weaker mode is `CONFIG_INVALID`, never
//! a weaker connection than asked for; messages never hold the string (it may hold a
//! password).
//! Not guaranteed: `sslcert`/`sslkey` (client certificates), `sslcrl`, `sslnegotiation`:
//! they are passed on, and tokio-postgres refuses what it does not know.

use crate::error::{err, ErrorKind, Result};
use crate::store::tls::Check;

/// What the connection string asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SslChoice {
  /// The mode.
  pub mode: Mode,
  /// `sslrootcert`: a file of PEM certificates, or `None` (`system`, or not given).
  pub root_cert: Option<String>,
}

/// libpq's `sslmode`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
  /// Plain only.
  Disable,
  /// TLS when the server offers it, else plain.
  Prefer,
  /// TLS only.
  Require,
  /// TLS with the chain checked.
  VerifyCa,
  /// TLS with the chain and the server's name checked.
  VerifyFull,
}

impl SslChoice {
  /// How much of the certificate is checked, given whether a CA was given (by
  /// `sslrootcert` or the store's option).
  pub fn check(&self, has_ca: bool) -> Check {
    match self.mode {
      Mode::VerifyFull => Check::Full,
      Mode::VerifyCa => Check::Chain,
      Mode::Require | Mode::Prefer | Mode::Disable if has_ca => Check::Chain,
      _ => Check::Nothing,
    }
  }
}

fn bad(detail: &'static str) -> crate::error::Error {
  err(ErrorKind::ConfigInvalid, detail)
}

/// Take `sslmode` and `sslrootcert` out of `connection_string`: the rest, and the choice.
///
/// # Errors
/// `CONFIG_INVALID` as the module says.
pub fn split(connection_string: &str) -> Result<(String, SslChoice)> {
  let url =
    connection_string.starts_with("postgres://") || connection_string.starts_with("postgresql://");
  let mut mode = None;
  let mut root = None;
  let mut take = |key: &str, value: &str| -> Result<bool> {
    let slot = match key {
      "sslmode" => &mut mode,
      "sslrootcert" => &mut root,
      _ => return Ok(false),
    };
    if slot.replace(value.to_owned()).is_some() {
      return Err(bad(
        "a TLS parameter of the PostgreSQL connection string is given twice",
      ));
    }
    Ok(true)
  };
  let rest = if url {
    match connection_string.split_once('?') {
      None => connection_string.to_owned(),
      Some((base, query)) => {
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
          let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
          let v = percent_decoded(v)?;
          if !take(k, &v)? {
            kept.push(pair);
          }
        }
        if kept.is_empty() {
          base.to_owned()
        } else {
          format!("{base}?{}", kept.join("&"))
        }
      }
    }
  } else {
    let mut kept = Vec::new();
    for token in connection_string.split_whitespace() {
      let (k, v) = token.split_once('=').unwrap_or((token, ""));
      if !take(k.trim(), v.trim_matches('\''))? {
        kept.push(token);
      }
    }
    kept.join(" ")
  };
  let mode = match mode.as_deref() {
    None | Some("prefer" | "allow") => Mode::Prefer,
    Some("disable") => Mode::Disable,
    Some("require") => Mode::Require,
    Some("verify-ca") => Mode::VerifyCa,
    Some("verify-full") => Mode::VerifyFull,
    Some(_) => return Err(bad("the PostgreSQL sslmode is not one of disable, allow, prefer, require, verify-ca, verify-full")),
  };
  let root_cert = match root.as_deref() {
    Some("system") => {
      if !matches!(mode, Mode::VerifyCa | Mode::VerifyFull) {
        return Err(bad(
          "sslrootcert=system needs sslmode=verify-ca or verify-full",
        ));
      }
      None
    }
    Some("") => return Err(bad("the PostgreSQL sslrootcert is empty")),
    other => other.map(str::to_owned),
  };
  Ok((rest, SslChoice { mode, root_cert }))
}

/// A query value with `%XX` escapes decoded (a path may hold `%2F`); `+` stays `+`.
fn percent_decoded(v: &str) -> Result<String> {
  let bytes = crate::percent::decode(v.as_bytes())
    .ok_or_else(|| bad("the PostgreSQL connection string has a bad % escape"))?;
  String::from_utf8(bytes).map_err(|_| bad("the PostgreSQL connection string is not UTF-8"))
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn the_tls_parameters_are_taken_out_and_the_rest_kept() -> Result<()> {
    let (rest, c) = split("postgres://u:p@db:5432/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fetc%2Fca.pem")?;
    assert_eq!(rest, "postgres://u:p@db:5432/app?application_name=x");
    assert_eq!(
      c,
      SslChoice {
        mode: Mode::VerifyFull,
        root_cert: Some("/etc/ca.pem".into())
      }
    );
    let (rest, c) = split("host=db user=u sslmode=require dbname=app")?;
    assert_eq!(rest, "host=db user=u dbname=app");
    assert_eq!(c.mode, Mode::Require);
    let (rest, c) = split("postgres://u@db/app")?;
    assert_eq!(
      (rest.as_str(), c.mode),
      ("postgres://u@db/app", Mode::Prefer)
    );
    let (rest, c) = split("postgres://u@db/app?sslmode=verify-ca&sslrootcert=system")?;
    assert_eq!((rest.as_str(), c.root_cert), ("postgres://u@db/app", None));
    Ok(())
  }

  #[test]
  fn what_could_weaken_the_connection_is_refused() {
    for bad in [
      "postgres://db/app?sslmode=verify_full",
      "postgres://db/app?sslmode=require&sslmode=disable",
      "postgres://db/app?sslmode=require&sslrootcert=system",
      "postgres://db/app?sslrootcert=",
      "postgres://db/app?sslrootcert=%zz",
    ] {
      let kind = split(bad).err().map(|e| e.kind());
      assert_eq!(kind, Some(ErrorKind::ConfigInvalid), "{bad}");
    }
  }

  #[test]
  fn a_ca_makes_the_weaker_modes_check_the_chain_as_libpq_does() -> Result<()> {
    let c = |s: &str| split(s).map(|(_, c)| c);
    assert_eq!(
      c("postgres://db/a?sslmode=require")?.check(false),
      Check::Nothing
    );
    assert_eq!(
      c("postgres://db/a?sslmode=require")?.check(true),
      Check::Chain
    );
    assert_eq!(
      c("postgres://db/a?sslmode=verify-ca")?.check(false),
      Check::Chain
    );
    assert_eq!(
      c("postgres://db/a?sslmode=verify-full")?.check(true),
      Check::Full
    );
    Ok(())
  }
}
