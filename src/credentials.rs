//! Finding the access token in a request: the `Cookie` header (RFC 6265bis §5.6) or the
//! `Authorization: Bearer` header (RFC 6750 §2.1), strictly.
//!
//! Guarantees:
//! - the cookie name is matched exactly, byte for byte: `__host-at`, `__HOST-at`, a name
//!   behind a U+00A0 or U+2000, or an unprefixed twin are other cookies (ATK-47, ATK-49);
//! - the same name twice is `CREDENTIALS_AMBIGUOUS` and neither value is used (ATK-48); so
//!   is a cookie and a Bearer header that carry different tokens (ATK-46);
//! - values are never URL-decoded or unquoted: one token has one spelling (ATK-50); an
//!   access cookie in express-session's shape ([`CookieShape::WithSid`], `s:<sid>.<jwt>`)
//!   has exactly that spelling, and its sid must be the token's (checked by the verify,
//!   `service::Verify::verify_request_with`);
//! - headers over [`MAX_HEADER_LEN`] are refused before they are scanned (ATK-51); the
//!   scan is one pass with no allocation.
//!
//! Not guaranteed: that Node handed us every `Cookie` line; Node joins repeated `Cookie`
//! headers with "; ", which this parser reads as one header (ATK-52).

use crate::error::{err, ErrorKind, Result};
use crate::token::handle::HANDLE_TEXT_LEN;

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

/// How the access cookie's value is spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieShape {
  /// The JWT itself.
  Jwt,
  /// `s:<sid>.<jwt>`, express-session's shape (`s:<id>.<signature>`), so that code written
  /// for it finds the session id where it looks: `<sid>` is the token's `sid` claim (22
  /// base64url characters), the JWT is what signs it.
  WithSid,
}

/// The sid and the JWT of an access cookie value spelled `s:<sid>.<jwt>`.
///
/// # Errors
/// `TOKEN_MALFORMED` for any other spelling.
pub fn split_with_sid(value: &[u8]) -> Result<(&[u8], &[u8])> {
  let malformed = || err(ErrorKind::TokenMalformed, "access cookie is malformed");
  let rest = value.strip_prefix(b"s:").ok_or_else(malformed)?;
  let (sid, jwt) = (
    rest.get(..HANDLE_TEXT_LEN).ok_or_else(malformed)?,
    &rest[HANDLE_TEXT_LEN..],
  );
  let jwt = jwt.strip_prefix(b".").ok_or_else(malformed)?;
  if !sid
    .iter()
    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    || jwt.is_empty()
  {
    return Err(malformed());
  }
  Ok((sid, jwt))
}

/// A request's access token and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
  /// The JWT.
  pub token: &'a [u8],
  /// Where it came from.
  pub source: Source,
  /// The sid the cookie names beside it ([`CookieShape::WithSid`]), which must be the
  /// token's; `None` for a Bearer token or a cookie holding the JWT alone.
  pub sid: Option<&'a [u8]>,
}

/// The one access token of a request, from the cookie `cookie_name` (spelled as `shape`
/// says) or a Bearer header (the JWT alone).
///
/// # Errors
/// As [`cookie`], [`bearer`] and [`split_with_sid`]; `CREDENTIALS_AMBIGUOUS` when both
/// carry a token and the tokens differ.
pub fn access_token<'a>(
  cookie_header: Option<&'a [u8]>,
  authorization: Option<&'a [u8]>,
  cookie_name: &str,
  shape: CookieShape,
) -> Result<Option<Found<'a>>> {
  let from_cookie = match cookie_header {
    Some(h) if !cookie_name.is_empty() => match (cookie(h, cookie_name)?, shape) {
      (Some(v), CookieShape::WithSid) => {
        Some(split_with_sid(v).map(|(sid, jwt)| (jwt, Some(sid)))?)
      }
      (Some(v), CookieShape::Jwt) => Some((v, None)),
      (None, _) => None,
    },
    _ => None,
  };
  let from_header = match authorization {
    Some(h) => bearer(h)?,
    None => None,
  };
  match (from_cookie, from_header) {
    (Some((c, _)), Some(h)) if c != h => Err(err(
      ErrorKind::CredentialsAmbiguous,
      "cookie and Bearer tokens differ",
    )),
    (Some((_, sid)), Some(h)) => Ok(Some(Found {
      token: h,
      source: Source::Header,
      sid,
    })),
    (None, Some(h)) => Ok(Some(Found {
      token: h,
      source: Source::Header,
      sid: None,
    })),
    (Some((c, sid)), None) => Ok(Some(Found {
      token: c,
      source: Source::Cookie,
      sid,
    })),
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

  fn found(
    token: &'static [u8],
    source: Source,
    sid: Option<&'static [u8]>,
  ) -> Option<Found<'static>> {
    Some(Found { token, source, sid })
  }

  #[test]
  fn cookie_and_header_must_agree() -> Result<()> {
    let jwt = CookieShape::Jwt;
    assert_eq!(
      access_token(Some(b"__Host-at=A"), Some(b"Bearer A"), N, jwt)?,
      found(b"A", Source::Header, None)
    );
    assert_eq!(
      access_token(Some(b"__Host-at=A"), None, N, jwt)?,
      found(b"A", Source::Cookie, None)
    );
    assert!(access_token(Some(b"__Host-at=A"), Some(b"Bearer B"), N, jwt).is_err());
    assert_eq!(access_token(None, None, N, jwt)?, None);
    Ok(())
  }

  const SID: &[u8] = b"AbCdEfGhIjKlMnOpQr-_09";

  #[test]
  fn a_cookie_with_its_sid_has_one_spelling() -> Result<()> {
    let w = CookieShape::WithSid;
    assert_eq!(
      access_token(
        Some(b"a=1; __Host-at=s:AbCdEfGhIjKlMnOpQr-_09.h.p.s"),
        None,
        N,
        w
      )?,
      found(b"h.p.s", Source::Cookie, Some(SID))
    );
    assert_eq!(
      access_token(
        Some(b"__Host-at=s:AbCdEfGhIjKlMnOpQr-_09.h.p.s"),
        Some(b"Bearer h.p.s"),
        N,
        w
      )?,
      found(b"h.p.s", Source::Header, Some(SID)),
      "a Bearer token that agrees keeps the cookie's sid to check"
    );
    assert_eq!(
      access_token(None, Some(b"Bearer h.p.s"), N, w)?,
      found(b"h.p.s", Source::Header, None)
    );
    for bad in [
      "__Host-at=h.p.s",                            // the JWT alone
      "__Host-at=s%3AAbCdEfGhIjKlMnOpQr-_09.h.p.s", // URL-encoded
      "__Host-at=S:AbCdEfGhIjKlMnOpQr-_09.h.p.s",   // another prefix
      "__Host-at=s:AbCdEfGhIjKlMnOpQr-_0.h.p.s",    // a short sid
      "__Host-at=s:AbCdEfGhIjKlMnOpQr-_09x.h.p.s",  // a long one
      "__Host-at=s:AbCdEfGhIjKlMnOpQr+/09.h.p.s",   // not base64url
      "__Host-at=s:AbCdEfGhIjKlMnOpQr-_09.",        // no JWT
      "__Host-at=s:AbCdEfGhIjKlMnOpQr-_09",         // no dot
      "__Host-at=s:",
    ] {
      let e = access_token(Some(bad.as_bytes()), None, N, w)
        .err()
        .map(|e| e.kind());
      assert_eq!(e, Some(ErrorKind::TokenMalformed), "{bad:?}");
    }
    assert!(
      access_token(
        Some(b"__Host-at=s:AbCdEfGhIjKlMnOpQr-_09.h.p.s"),
        Some(b"Bearer x.y.z"),
        N,
        w
      )
      .is_err(),
      "cookie and Bearer must still agree"
    );
    Ok(())
  }
}
