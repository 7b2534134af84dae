//! Finding the access token in a request: the `Cookie` header (RFC 6265bis §5.6) or the
//! `Authorization: Bearer` header (RFC 6750 §2.1), strictly.
//!
//! Guarantees:
//! - the cookie name is matched exactly, byte for byte: `__host-at`, `__HOST-at`, a name
//!   behind a U+00A0 or U+2000, or an unprefixed twin are other cookies (ATK-47, ATK-49);
//! - the same name twice is `CREDENTIALS_AMBIGUOUS` and neither value is used (ATK-48); so
//!   is a cookie and a Bearer header that carry different tokens (ATK-46);
//! - values are never URL-decoded or unquoted: one token has one spelling (ATK-50);
//! - headers over [`MAX_HEADER_LEN`] are refused before they are scanned (ATK-51); the
//!   scan is one pass with no allocation.
//!
//! Not guaranteed: that Node handed us every `Cookie` line; Node joins repeated `Cookie`
//! headers with "; ", which this parser reads as one header (ATK-52).

use crate::error::{err, ErrorKind, Result};

/// Longest `Cookie` or `Authorization` header scanned, in bytes.
pub const MAX_HEADER_LEN: usize = 16 * 1024;

/// Where the access token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
  /// The access-token cookie.
  Cookie,
  /// `Authorization: Bearer`.
  Header,
}

/// Is `b` optional whitespace (SP or HTAB)?
const fn is_ows(b: u8) -> bool {
  b == b' ' || b == b'\t'
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
  while let [first, rest @ ..] = s {
    if !is_ows(*first) {
      break;
    }
    s = rest;
  }
  while let [rest @ .., last] = s {
    if !is_ows(*last) {
      break;
    }
    s = rest;
  }
  s
}

/// The value of the cookie `name` in a `Cookie` header, if present exactly once. The
/// header is bytes: Node hands header values over as latin1 text.
///
/// # Errors
/// `TOKEN_MALFORMED` when the header is too long; `CREDENTIALS_AMBIGUOUS` when the name
/// appears more than once.
pub fn cookie<'a>(header: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
  if header.len() > MAX_HEADER_LEN {
    return Err(err(ErrorKind::TokenMalformed, "Cookie header too long"));
  }
  let mut found = None;
  for pair in header.split(|&b| b == b';') {
    let pair = trim_ows(pair);
    let Some(eq) = pair.iter().position(|&b| b == b'=') else {
      continue;
    };
    if trim_ows(&pair[..eq]) != name.as_bytes() {
      continue;
    }
    if found.is_some() {
      return Err(err(
        ErrorKind::CredentialsAmbiguous,
        "the cookie appears more than once",
      ));
    }
    found = Some(trim_ows(&pair[eq + 1..]));
  }
  Ok(found)
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is matched
/// case-insensitively (RFC 9110 §11.1); other schemes are not ours and give `None`.
///
/// # Errors
/// `TOKEN_MALFORMED` when the header is too long, the scheme is not followed by exactly
/// one space, or the Bearer credentials are not one token68 (RFC 9110 §11.2): empty,
/// several words, or trailing junk.
pub fn bearer(header: &[u8]) -> Result<Option<&[u8]>> {
  if header.len() > MAX_HEADER_LEN {
    return Err(err(
      ErrorKind::TokenMalformed,
      "Authorization header too long",
    ));
  }
  let Some(scheme) = header.get(..6) else {
    return Ok(None);
  };
  if !scheme.eq_ignore_ascii_case(b"bearer") {
    return Ok(None);
  }
  let rest = &header[6..];
  // Exactly one space, as every client writes it (RFC 9110 allows more): then a token has
  // one spelling, and padding it with spaces makes no new header to remember (issue 18).
  let token = rest.strip_prefix(b" ").unwrap_or_default();
  if rest.first() != Some(&b' ') || token.is_empty() || token[0] == b' ' {
    return Err(err(
      ErrorKind::TokenMalformed,
      "Bearer credentials are malformed",
    ));
  }
  // token68 is at least one character, then optional `=` padding: `Bearer ===` is not one.
  let body_end = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
  if body_end == 0
    || !token[..body_end]
      .iter()
      .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
  {
    return Err(err(
      ErrorKind::TokenMalformed,
      "Bearer credentials are malformed",
    ));
  }
  Ok(Some(token))
}

/// The one access token of a request, from the cookie `cookie_name` or a Bearer header.
///
/// # Errors
/// As [`cookie`] and [`bearer`]; `CREDENTIALS_AMBIGUOUS` when both carry a token and the
/// tokens differ.
pub fn access_token<'a>(
  cookie_header: Option<&'a [u8]>,
  authorization: Option<&'a [u8]>,
  cookie_name: &str,
) -> Result<Option<(&'a [u8], Source)>> {
  let from_cookie = match cookie_header {
    Some(h) if !cookie_name.is_empty() => cookie(h, cookie_name)?,
    _ => None,
  };
  let from_header = match authorization {
    Some(h) => bearer(h)?,
    None => None,
  };
  match (from_cookie, from_header) {
    (Some(c), Some(h)) if c != h => Err(err(
      ErrorKind::CredentialsAmbiguous,
      "cookie and Bearer tokens differ",
    )),
    (_, Some(h)) => Ok(Some((h, Source::Header))),
    (Some(c), None) => Ok(Some((c, Source::Cookie))),
    (None, None) => Ok(None),
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  const N: &str = "__Host-at";

  #[test]
  fn finds_the_cookie_among_others() -> Result<()> {
    assert_eq!(cookie(b"a=1; __Host-at=tok; b=2", N)?, Some(&b"tok"[..]));
    assert_eq!(cookie(b"a=1;__Host-at=tok", N)?, Some(&b"tok"[..]));
    assert_eq!(cookie(b"a=1", N)?, None);
    assert_eq!(cookie(b"", N)?, None);
    Ok(())
  }

  #[test]
  fn look_alike_names_are_other_cookies() -> Result<()> {
    for h in [
      "__host-at=x",
      "__HOST-at=x",
      "\u{a0}__Host-at=x",
      "\u{2000}__Host-at=x",
      "__Host-at\u{3000}=x",
      "at=x",
      "__Secure-at=x",
    ] {
      assert_eq!(cookie(h.as_bytes(), N)?, None, "{h:?}");
    }
    Ok(())
  }

  #[test]
  fn a_repeated_cookie_is_ambiguous() {
    let e = cookie(b"__Host-at=A; x=1; __Host-at=B", N)
      .err()
      .map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::CredentialsAmbiguous));
    let e = cookie(b"__Host-at=A; __Host-at=A", N)
      .err()
      .map(|e| e.kind());
    assert_eq!(e, Some(ErrorKind::CredentialsAmbiguous));
  }

  #[test]
  fn values_are_taken_as_they_are() -> Result<()> {
    assert_eq!(cookie(b"__Host-at=%41%42", N)?, Some(&b"%41%42"[..]));
    assert_eq!(cookie(b"__Host-at=\"q\"", N)?, Some(&b"\"q\""[..]));
    Ok(())
  }

  #[test]
  fn oversized_headers_are_refused() {
    let big = "a=b; ".repeat(10_000);
    assert!(cookie(big.as_bytes(), N).is_err());
    assert!(bearer(format!("Bearer {}", "a".repeat(MAX_HEADER_LEN)).as_bytes()).is_err());
  }

  #[test]
  fn bearer_rules() -> Result<()> {
    assert_eq!(bearer(b"Bearer abc.def.ghi")?, Some(&b"abc.def.ghi"[..]));
    assert_eq!(
      bearer(b"Bearer abc==")?,
      Some(&b"abc=="[..]),
      "padding after a body"
    );
    assert_eq!(bearer(b"bearer abc")?, Some(&b"abc"[..]));
    assert_eq!(bearer(b"Basic dXNlcjpwYXNz")?, None);
    for bad in [
      "Bearer",
      "Bearer ",
      "Bearer a b",
      "Bearer  abc",
      "Bearer     abc.def.ghi",
      "Bearerabc",
      "Bearer a\tb",
      "Bearer a;b",
      "Bearer ===",
      "Bearer =",
    ] {
      assert!(bearer(bad.as_bytes()).is_err(), "{bad:?}");
    }
    Ok(())
  }

  #[test]
  fn cookie_and_header_must_agree() -> Result<()> {
    assert_eq!(
      access_token(Some(b"__Host-at=A"), Some(b"Bearer A"), N)?,
      Some((&b"A"[..], Source::Header))
    );
    assert_eq!(
      access_token(Some(b"__Host-at=A"), None, N)?,
      Some((&b"A"[..], Source::Cookie))
    );
    assert!(access_token(Some(b"__Host-at=A"), Some(b"Bearer B"), N).is_err());
    assert_eq!(access_token(None, None, N)?, None);
    Ok(())
  }
}
