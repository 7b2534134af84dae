//! Fuzz target: finding the access token in a request (src/credentials.rs: `cookie`,
//! `bearer`, `access_token`) and `TokenService::verify_request` on top of it.
//!
//! Input: a selector byte, then `cookie-header [0x0A authorization-header]`. Header values
//! never hold a newline, so 0x0A splits the two; with no 0x0A there is no Authorization
//! header. Selector: bit 7 set means no Cookie header; bit 6 set reads the access cookie
//! in express-session's shape (`CookieShape::WithSid`); `sel & 0x3f % 5` picks the cookie
//! name (`__Host-at`, `at`, `__Host-tandem-at`, `sid`, or, for 4, a name taken from the
//! next `len` bytes, `len = next byte % 17`, when they are UTF-8).
//!
//! Invariants (each a crash when broken):
//! - `cookie`: a header over MAX_HEADER_LEN is TOKEN_MALFORMED; otherwise the result is
//!   that of a plain reading of RFC 6265bis §5.6 written here (pairs split on `;`, name and
//!   value split at the first `=`, SP/HTAB trimmed, exact byte match, twice = ambiguous);
//!   a value is a sub-slice of the header, holds no `;` and has no SP/HTAB at either end;
//!   appending `; name=v` to a header gives `v` when the name was absent and
//!   CREDENTIALS_AMBIGUOUS when it was present;
//! - `bearer`: a token is a non-empty suffix of the header after `Bearer` (any case) and
//!   exactly one SP, made of token68 characters with `=` only at the end; other schemes
//!   give nothing; `Bearer <token>` gives the token back;
//! - `access_token` is exactly the combination of the two (cookie first, a differing pair
//!   is CREDENTIALS_AMBIGUOUS, Bearer wins when both agree);
//! - with `CookieShape::WithSid` the cookie is `s:<22 base64url>.<jwt>` exactly, else
//!   TOKEN_MALFORMED, and a verified token whose `sid` is not the cookie's is TOKEN_INVALID;
//! - `verify_request` is `access_token` followed by `verify_access`.
//!
//! RFC 9110's token68 holds at least one character before its `=` padding (`Bearer ===`
//! is refused; the fuzzer found it accepted, now fixed).

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tandem_session::credentials::{self, CookieShape, Found, Source, MAX_HEADER_LEN};
use tandem_session::{ErrorKind, Verify};
use tandem_session_fuzz::{hex, is_verify_error, service, verbose};

const NAMES: [&str; 4] = ["__Host-at", "at", "__Host-tandem-at", "sid"];

fuzz_target!(|data: &[u8]| {
  let Some((&sel, mut rest)) = data.split_first() else {
    return;
  };
  let mut name = NAMES[0];
  let custom;
  let shape = if sel & 0x40 == 0 {
    CookieShape::Jwt
  } else {
    CookieShape::WithSid
  };
  match (sel & 0x3f) % 5 {
    4 => {
      if let Some((&len, r)) = rest.split_first() {
        let len = usize::from(len % 17).min(r.len());
        if let Ok(s) = std::str::from_utf8(&r[..len]) {
          custom = s.to_owned();
          name = &custom;
        }
        rest = &r[len..];
      }
    }
    i => name = NAMES[usize::from(i)],
  }
  let (cookie_part, auth) = match rest.iter().position(|&b| b == b'\n') {
    Some(i) => (&rest[..i], Some(&rest[i + 1..])),
    None => (rest, None),
  };
  let cookie_header = (sel & 0x80 == 0).then_some(cookie_part);

  if let Some(h) = cookie_header {
    check_cookie(h, name);
  }
  if let Some(a) = auth {
    check_bearer(a);
  }
  check_access_token(cookie_header, auth, name, shape);
});

fn is_ows(b: u8) -> bool {
  b == b' ' || b == b'\t'
}

fn trim(s: &[u8]) -> &[u8] {
  let start = s.iter().position(|&b| !is_ows(b)).unwrap_or(s.len());
  let end = s.iter().rposition(|&b| !is_ows(b)).map_or(start, |i| i + 1);
  &s[start..end.max(start)]
}

/// The reference reading: `Ok(Some(range))` of the value in `h`, `Ok(None)`, or the kind.
fn model_cookie(h: &[u8], name: &str) -> Result<Option<std::ops::Range<usize>>, ErrorKind> {
  if h.len() > MAX_HEADER_LEN {
    return Err(ErrorKind::TokenMalformed);
  }
  let mut found = None;
  let mut start = 0;
  for i in 0..=h.len() {
    if i < h.len() && h[i] != b';' {
      continue;
    }
    let pair = &h[start..i];
    let pair_start = start;
    start = i + 1;
    let Some(eq) = pair.iter().position(|&b| b == b'=') else {
      continue;
    };
    if trim(&pair[..eq]) != name.as_bytes() {
      continue;
    }
    if found.is_some() {
      return Err(ErrorKind::CredentialsAmbiguous);
    }
    let v = &pair[eq + 1..];
    let lead = v.iter().take_while(|&&b| is_ows(b)).count();
    let t = trim(v);
    let from = pair_start + eq + 1 + lead;
    found = Some(from..from + t.len());
  }
  Ok(found)
}

/// Is `inner` a sub-slice of `outer` (same memory)?
fn within(outer: &[u8], inner: &[u8]) -> Option<usize> {
  let o = outer.as_ptr() as usize;
  let i = inner.as_ptr() as usize;
  (i >= o && i + inner.len() <= o + outer.len()).then(|| i - o)
}

fn check_cookie(h: &[u8], name: &str) {
  let got = credentials::cookie(h, name);
  let want = model_cookie(h, name);
  match (&got, &want) {
    (Ok(Some(v)), Ok(Some(r))) => {
      let at = within(h, v).unwrap_or_else(|| panic!("value not inside the header {}", hex(h)));
      // (An empty value's position is immaterial: only its emptiness is compared.)
      if !r.is_empty() || !v.is_empty() {
        assert_eq!(at..at + v.len(), r.clone(), "cookie value at the wrong place in {}", hex(h));
      }
      assert!(!v.contains(&b';'), "cookie value holds ';': {}", hex(h));
      assert!(
        v.first().is_none_or(|&b| !is_ows(b)) && v.last().is_none_or(|&b| !is_ows(b)),
        "cookie value not trimmed: {}",
        hex(h)
      );
    }
    (Ok(None), Ok(None)) => {}
    (Err(e), Err(k)) => assert_eq!(e.kind(), *k, "cookie error differs on {}", hex(h)),
    _ => panic!(
      "cookie({:?}) on {}: got {:?}, model {:?}",
      name,
      hex(h),
      got.as_ref().map_err(|e| e.kind()),
      want
    ),
  }
  // Appending one more pair: a name that is a plain token reads back, or turns ambiguous.
  let plain_name = !name.is_empty()
    && !name.bytes().any(|b| b == b';' || b == b'=')
    && trim(name.as_bytes()) == name.as_bytes();
  if !plain_name {
    return;
  }
  let mut longer = h.to_vec();
  longer.extend_from_slice(b"; ");
  longer.extend_from_slice(name.as_bytes());
  longer.extend_from_slice(b"=v4lue");
  if longer.len() > MAX_HEADER_LEN {
    return;
  }
  let again = credentials::cookie(&longer, name);
  match got {
    Ok(None) => assert_eq!(
      again.as_ref().map_err(|e| e.kind()),
      Ok(&Some(&b"v4lue"[..])),
      "an appended cookie is not read back: {}",
      hex(&longer)
    ),
    Ok(Some(_)) => assert_eq!(
      again.as_ref().map(|_| ()).map_err(|e| e.kind()),
      Err(ErrorKind::CredentialsAmbiguous),
      "a repeated cookie is not ambiguous: {}",
      hex(&longer)
    ),
    Err(_) => {}
  }
}

fn strict_token68() -> bool {
  static S: OnceLock<bool> = OnceLock::new();
  *S.get_or_init(|| true)
}

fn is_token68_char(b: u8) -> bool {
  b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

fn check_bearer(a: &[u8]) {
  let got = credentials::bearer(a);
  if a.len() > MAX_HEADER_LEN {
    assert_eq!(
      got.map(|_| ()).map_err(|e| e.kind()),
      Err(ErrorKind::TokenMalformed),
      "oversized Authorization header not refused"
    );
    return;
  }
  let is_bearer = a.len() >= 6 && a[..6].eq_ignore_ascii_case(b"bearer");
  match got {
    Ok(None) => assert!(!is_bearer, "a Bearer header gave no token: {}", hex(a)),
    Ok(Some(t)) => {
      assert!(is_bearer, "token from a non-Bearer header: {}", hex(a));
      let at = within(a, t).unwrap_or_else(|| panic!("token not inside the header {}", hex(a)));
      assert_eq!(at + t.len(), a.len(), "token is not the header's tail: {}", hex(a));
      assert!(at == 7 && a[6] == b' ', "not one space after Bearer: {}", hex(a));
      assert!(!t.is_empty(), "empty token: {}", hex(a));
      let body = t.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
      assert!(
        t[..body].iter().all(|&b| is_token68_char(b)),
        "token is not token68: {}",
        hex(a)
      );
      if strict_token68() {
        assert!(body > 0, "token68 with no character before '=': {}", hex(a));
      }
      // Round trip: `Bearer <token>` gives the same token back.
      let mut again = b"Bearer ".to_vec();
      again.extend_from_slice(t);
      let r = credentials::bearer(&again);
      assert_eq!(
        r.as_ref().map_err(|e| e.kind()),
        Ok(&Some(t)),
        "Bearer round trip: {}",
        hex(a)
      );
    }
    Err(e) => {
      assert_eq!(e.kind(), ErrorKind::TokenMalformed, "bearer error kind: {}", hex(a));
      assert!(is_bearer, "a non-Bearer header refused: {}", hex(a));
    }
  }
}

/// An access cookie value in express-session's shape, spelled out: `s:`, 22 base64url
/// characters (the sid), `.`, a non-empty JWT.
fn with_sid(v: &[u8]) -> Result<(&[u8], &[u8]), ErrorKind> {
  let ok = v.len() > 25
    && v.starts_with(b"s:")
    && v[2..24].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    && v[24] == b'.';
  if ok {
    Ok((&v[2..24], &v[25..]))
  } else {
    Err(ErrorKind::TokenMalformed)
  }
}

fn check_access_token(cookie_header: Option<&[u8]>, auth: Option<&[u8]>, name: &str, shape: CookieShape) {
  let got = credentials::access_token(cookie_header, auth, name, shape);
  // The combination, spelled out.
  let want: Result<Option<Found<'_>>, ErrorKind> = (|| {
    let c = match cookie_header {
      Some(h) if !name.is_empty() => credentials::cookie(h, name).map_err(|e| e.kind())?,
      _ => None,
    };
    let c = match (c, shape) {
      (Some(v), CookieShape::WithSid) => Some(with_sid(v).map(|(sid, jwt)| (jwt, Some(sid)))?),
      (Some(v), CookieShape::Jwt) => Some((v, None)),
      (None, _) => None,
    };
    let b = match auth {
      Some(a) => credentials::bearer(a).map_err(|e| e.kind())?,
      None => None,
    };
    Ok(match (c, b) {
      (Some((c, _)), Some(b)) if c != b => return Err(ErrorKind::CredentialsAmbiguous),
      (c, Some(b)) => Some(Found { token: b, source: Source::Header, sid: c.and_then(|(_, sid)| sid) }),
      (Some((c, sid)), None) => Some(Found { token: c, source: Source::Cookie, sid }),
      (None, None) => None,
    })
  })();
  let ctx = || {
    format!(
      "cookie {:?}, authorization {:?}, name {:?}, shape {:?}",
      cookie_header.map(hex),
      auth.map(hex),
      name,
      shape
    )
  };
  assert_eq!(
    got.as_ref().map_err(|e| e.kind()).cloned(),
    want,
    "access_token: {}",
    ctx()
  );

  // verify_request_with = access_token, then verify_access, then the cookie's sid.
  let v = service().verify_request_with(cookie_header, auth, name, shape, |c, s| (c.to_owned(), s));
  if verbose() {
    eprintln!(
      "cookie_header: name {:?}: access_token {:?}, verify_request {:?}",
      name,
      got.as_ref().map(|o| o.map(|f| (f.token.len(), f.source))).map_err(|e| e.kind()),
      v.as_ref().map(|o| o.as_ref().map(|(c, _)| c.sub.clone())).map_err(|e| e.kind())
    );
  }
  match (&got, &v) {
    (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "verify_request: {}", ctx()),
    (Ok(None), Ok(None)) => {}
    (Ok(Some(f)), r) => {
      let direct = service().verify_access(f.token);
      match (direct, r) {
        (Ok(c), Ok(Some((c2, s2)))) => {
          assert_eq!(&c, c2, "verify_request claims: {}", ctx());
          assert_eq!(f.source, *s2, "verify_request source: {}", ctx());
          assert!(f.sid.is_none_or(|sid| sid == c.sid.as_bytes()), "a cookie naming another sid was taken: {}", ctx());
        }
        (Ok(c), Err(e2)) if f.sid.is_some_and(|sid| sid != c.sid.as_bytes()) => {
          assert_eq!(e2.kind(), ErrorKind::TokenInvalid, "another sid: {}", ctx());
        }
        (Err(e), Err(e2)) => {
          assert!(is_verify_error(e.kind()), "verify error kind: {}", ctx());
          assert_eq!(e.kind(), e2.kind(), "verify_request: {}", ctx());
        }
        (d, r) => panic!(
          "verify_request {:?} but verify_access {:?}: {}",
          r.as_ref().map(|_| ()).map_err(|e| e.kind()),
          d.map(|_| ()).map_err(|e| e.kind()),
          ctx()
        ),
      }
    }
    _ => panic!(
      "verify_request {:?} but access_token {:?}: {}",
      v.as_ref().map(|_| ()).map_err(|e| e.kind()),
      got.as_ref().map(|_| ()).map_err(|e| e.kind()),
      ctx()
    ),
  }
  if shape == CookieShape::Jwt {
    // the owned form reads the JWT alone
    let owned = service().verify_request(cookie_header, auth, name);
    assert_eq!(
      owned.as_ref().map(|o| o.is_some()).map_err(|e| e.kind()),
      v.as_ref().map(|o| o.is_some()).map_err(|e| e.kind()),
      "verify_request and verify_request_with(Jwt): {}",
      ctx()
    );
  }
}
