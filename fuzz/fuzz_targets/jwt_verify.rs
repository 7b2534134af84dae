//! Fuzz target: the JWT splitter, strict header and claims parsers, and access-token
//! verification (`jwt::access::verify`, `TokenService::verify_access`).
//!
//! Input: one mode byte, then the body. Bit 0 of the mode picks the algorithm (HS256 or
//! EdDSA fixture ring); `(mode >> 1) % 3` picks what the body is:
//! - 0, raw: the body is a compact token, verified as it is. Seeds are real tokens, so
//!   mutations probe every step (shape, base64url, header, signature, claims, policy).
//! - 1, signed JSON: the body is `header 0xFF payload` (no 0xFF: our own header, then the
//!   payload). Both are signed *as given* with the fixture key, so the signature is always
//!   valid and the fuzzer explores the header and claims rules behind it.
//! - 2, fast vs strict: the body is a payload, signed twice, under our exact header (the
//!   ring's no-parse fast path) and under the same header spelled with a space (the strict
//!   parser). Both verifications must agree.
//!
//! Invariants (each a crash when broken):
//! - verification never panics and fails only with TOKEN_MALFORMED, TOKEN_INVALID,
//!   KEY_UNKNOWN, TOKEN_EXPIRED or TOKEN_NOT_YET_VALID;
//! - an accepted token is byte for byte the token the key signs for its decoded header and
//!   payload (one spelling: no malleable base64url, signature or segment);
//! - an accepted token's header parses strictly with our `alg`, `kid` and `typ`, and its
//!   claims are exactly what the strict parser reads, and satisfy the policy (issuer,
//!   audience, lifetime with leeway, `exp - iat` at most the policy's lifetime plus the
//!   leeway, `iat` and `nbf` not after `exp`, non-empty `sub`, opaque `sid` and `jti`);
//! - a token accepted under one algorithm's ring is refused by the other's (no confusion);
//! - `TokenService::verify_access` agrees with `access::verify` on the same ring;
//! - the canonical fast claims parser and the strict parser agree on every payload;
//! - `compact::split` returns three non-empty base64url segments that rebuild the token.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_session::encoding;
use tandem_session::error::Result;
use tandem_session::jwt::claims::{Claims, MAX_PAYLOAD_LEN};
use tandem_session::jwt::compact;
use tandem_session::jwt::header::Header;
use tandem_session::jwt::{access, AccessClaims, Algorithm};
use tandem_session_fuzz::{
  hex, is_verify_error, policy, ring_of, service, sign, verbose, ED_KID, KID, NOW,
};

fuzz_target!(|data: &[u8]| {
  let Some((&mode, body)) = data.split_first() else {
    return;
  };
  let alg = if mode & 1 == 0 {
    Algorithm::Hs256
  } else {
    Algorithm::EdDsa
  };
  match (mode >> 1) % 3 {
    0 => {
      check_split(body);
      let _ = verify_everywhere(body);
    }
    1 => {
      let ours = exact_header(alg);
      let (h, p) = match body.iter().position(|&b| b == 0xff) {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (ours.as_bytes(), body),
      };
      check_claims_parsers(p);
      let token = sign(alg, h, p);
      let _ = verify_everywhere(token.as_bytes());
    }
    _ => {
      check_claims_parsers(body);
      let fast = sign(alg, exact_header(alg).as_bytes(), body);
      let strict = sign(alg, spaced_header(alg).as_bytes(), body);
      let a = verify_everywhere(fast.as_bytes());
      let b = verify_everywhere(strict.as_bytes());
      match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "fast and strict header paths disagree"),
        (Err(x), Err(y)) => assert_eq!(
          x.kind(),
          y.kind(),
          "fast and strict header paths fail differently, payload {}",
          hex(body)
        ),
        _ => panic!(
          "fast header path {:?} but strict header path {:?}, payload {}",
          a.as_ref().map(|_| ()).map_err(|e| e.kind()),
          b.as_ref().map(|_| ()).map_err(|e| e.kind()),
          hex(body)
        ),
      }
    }
  }
});

fn kid_of(alg: Algorithm) -> &'static str {
  match alg {
    Algorithm::Hs256 => KID,
    Algorithm::EdDsa => ED_KID,
  }
}

/// The header our keys write (the ring's fast path).
fn exact_header(alg: Algorithm) -> String {
  format!(
    r#"{{"alg":"{}","typ":"at+jwt","kid":"{}"}}"#,
    alg.name(),
    kid_of(alg)
  )
}

/// The same header with one space: equal as JSON, different bytes, so the strict parser
/// reads it.
fn spaced_header(alg: Algorithm) -> String {
  format!(
    r#"{{"alg":"{}", "typ":"at+jwt","kid":"{}"}}"#,
    alg.name(),
    kid_of(alg)
  )
}

/// Verify `token` under both fixture rings and through the service; check every
/// invariant; return the HS256 ring's verdict when `token` says HS256, else EdDSA's.
fn verify_everywhere(token: &[u8]) -> Result<AccessClaims> {
  let hs = access::verify(ring_of(Algorithm::Hs256), policy(), NOW, token);
  let ed = access::verify(ring_of(Algorithm::EdDsa), policy(), NOW, token);
  for (alg, r) in [(Algorithm::Hs256, &hs), (Algorithm::EdDsa, &ed)] {
    match r {
      Ok(c) => check_accepted(alg, token, c),
      Err(e) => assert!(
        is_verify_error(e.kind()),
        "verify ({}) failed with {:?}, token {}",
        alg.name(),
        e.kind(),
        hex(token)
      ),
    }
  }
  assert!(
    !(hs.is_ok() && ed.is_ok()),
    "one token accepted by both rings: {}",
    hex(token)
  );
  // The service wraps the HS256 ring with the same policy and clock.
  let svc = service().verify_access(token);
  match (&hs, &svc) {
    (Ok(a), Ok(b)) => assert_eq!(a, b, "service and access::verify disagree"),
    (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "service and access::verify disagree"),
    _ => panic!(
      "service and access::verify disagree on {}: {:?} vs {:?}",
      hex(token),
      hs.as_ref().map(|_| ()).map_err(|e| e.kind()),
      svc.as_ref().map(|_| ()).map_err(|e| e.kind())
    ),
  }
  if verbose() {
    eprintln!(
      "jwt_verify: HS256 {:?}, EdDSA {:?}",
      hs.as_ref().map(|c| &c.sub).map_err(|e| e.kind()),
      ed.as_ref().map(|c| &c.sub).map_err(|e| e.kind())
    );
  }
  if ed.is_ok() {
    ed
  } else {
    hs
  }
}

/// Everything an accepted token must be.
fn check_accepted(alg: Algorithm, token: &[u8], c: &AccessClaims) {
  let ctx = || format!("accepted by {}: {}", alg.name(), hex(token));
  let parts = compact::split(token, policy().max_token_len).unwrap_or_else(|_| panic!("{}", ctx()));
  let header = encoding::decode_strict(parts.header, 1 << 16, tandem_session::ErrorKind::Internal)
    .unwrap_or_else(|_| panic!("header not canonical base64url, {}", ctx()));
  let payload =
    encoding::decode_strict(parts.payload, 1 << 16, tandem_session::ErrorKind::Internal)
      .unwrap_or_else(|_| panic!("payload not canonical base64url, {}", ctx()));
  // One spelling: re-signing the decoded parts gives exactly the input.
  assert_eq!(
    sign(alg, &header, &payload).as_bytes(),
    token,
    "an accepted token is not the one its key signs, {}",
    ctx()
  );
  let h = Header::parse(&header).unwrap_or_else(|_| panic!("header fails strict parse, {}", ctx()));
  assert_eq!(h.alg, alg, "{}", ctx());
  assert_eq!(h.kid.as_deref(), Some(kid_of(alg)), "{}", ctx());
  assert!(h.is_access_token(), "typ is not at+jwt, {}", ctx());
  assert_eq!(c.kid, kid_of(alg), "{}", ctx());
  let s = Claims::parse_strict(&payload)
    .unwrap_or_else(|_| panic!("claims fail the strict parser, {}", ctx()));
  let p = policy();
  assert_eq!(s.iss.as_deref(), Some(p.issuer.as_str()), "{}", ctx());
  assert!(
    s.aud.as_ref().is_some_and(|a| a.iter().any(|x| *x == *p.audience)),
    "audience, {}",
    ctx()
  );
  assert_eq!(s.sub.as_deref(), Some(c.sub.as_str()), "{}", ctx());
  assert_eq!(s.sid.as_deref(), Some(c.sid.as_str()), "{}", ctx());
  assert_eq!(s.jti.as_deref(), Some(c.jti.as_str()), "{}", ctx());
  assert_eq!(s.exp, Some(c.exp), "{}", ctx());
  assert_eq!(s.iat, Some(c.iat), "{}", ctx());
  assert_eq!(s.dv, Some(c.dv), "{}", ctx());
  assert_eq!(s.extra, c.claims, "{}", ctx());
  let now = NOW.0 as f64 / 1000.0;
  let leeway = p.leeway_secs as f64;
  assert!(now < c.exp + leeway, "expired token accepted, {}", ctx());
  assert!(c.iat - leeway <= now, "future iat accepted, {}", ctx());
  assert!(c.iat <= c.exp, "a token issued after its exp accepted, {}", ctx());
  assert!(
    c.exp - c.iat <= p.ttl_secs as f64 + leeway,
    "a token living longer than the policy accepted, {}",
    ctx()
  );
  if let Some(nbf) = s.nbf {
    assert!(nbf - leeway <= now, "future nbf accepted, {}", ctx());
    assert!(nbf <= c.exp, "a token valid only after its exp accepted, {}", ctx());
  }
  assert!(!c.sub.is_empty(), "empty sub accepted, {}", ctx());
  for id in [&c.sid, &c.jti] {
    assert!(
      (1..=64).contains(&id.len()) && encoding::all_b64url(id.as_bytes()),
      "sid/jti not an opaque id, {}",
      ctx()
    );
  }
}

/// The canonical fast path and the strict parser must agree (src/jwt/canonical.rs).
fn check_claims_parsers(p: &[u8]) {
  if p.len() > MAX_PAYLOAD_LEN {
    return;
  }
  match (Claims::parse(p), Claims::parse_strict(p)) {
    (Ok(a), Ok(b)) => assert_eq!(a, b, "fast and strict claims differ on {}", hex(p)),
    (Err(a), Err(b)) => assert_eq!(a.kind(), b.kind(), "claims errors differ on {}", hex(p)),
    (a, b) => panic!(
      "claims parsers disagree on {}: fast {:?}, strict {:?}",
      hex(p),
      a.map(|_| ()).map_err(|e| e.kind()),
      b.map(|_| ()).map_err(|e| e.kind())
    ),
  }
}

/// `compact::split`'s guarantees.
fn check_split(token: &[u8]) {
  let max = policy().max_token_len;
  let Ok(c) = compact::split(token, max) else {
    return;
  };
  assert!(token.len() <= max);
  for seg in [c.header, c.payload, c.signature] {
    assert!(!seg.is_empty() && encoding::all_b64url(seg), "bad segment in {}", hex(token));
  }
  let mut joined = Vec::with_capacity(token.len());
  joined.extend_from_slice(c.header);
  joined.push(b'.');
  joined.extend_from_slice(c.payload);
  assert_eq!(joined.as_slice(), c.signing_input);
  joined.push(b'.');
  joined.extend_from_slice(c.signature);
  assert_eq!(joined.as_slice(), token, "split does not rebuild the token");
}
