//! Property tests (proptest) on the token formats, at a fixed time:
//! - access tokens: `jwt::access::sign` then `verify` round-trips arbitrary user ids, session
//!   strings, data versions and app claims (string, number, bool under non-reserved names),
//!   for HS256 and EdDSA rings; whatever `sign` issues, `verify` accepts (KAT-07, RFC-27);
//! - any single-byte change of a valid token, at every position, fails to verify (KAT-07);
//!   any printable non-base64url character inserted anywhere is refused by the format check
//!   (RFC-02);
//! - refresh tokens: encode/parse round-trip, and any single-byte change gives
//!   `REFRESH_MALFORMED` or `REFRESH_FORGED`; CSRF tokens: any change gives `CSRF_INVALID`;
//! - base64url: round-trip, one spelling per byte string, and strict decoding refuses any
//!   non-alphabet byte inserted anywhere (RFC-03).

use proptest::prelude::*;
use serde_json::{Map, Value};
use tandem_session::clock::UnixMillis;
use tandem_session::encoding;
use tandem_session::jwt::claims::RESERVED;
use tandem_session::jwt::{access, Algorithm, Policy, Subject};
use tandem_session::keys::{Key, KeyRing, KeyState};
use tandem_session::secret::Secrets;
use tandem_session::token::{csrf, Handle, RefreshToken};
use tandem_session::{Error, ErrorKind, Result};
use zeroize::Zeroizing;

const NOW: UnixMillis = UnixMillis(1_750_000_000_000);
const SECRET: &str = "property-tests-app-secret-0123456789abcdef";

fn ring(alg: Algorithm, seed: u8) -> Result<KeyRing> {
  let kid = if alg == Algorithm::Hs256 {
    "HHHHHHHHHHHHHHHH"
  } else {
    "EEEEEEEEEEEEEEEE"
  };
  let key = Key::from_parts(
    kid.into(),
    alg,
    Zeroizing::new(vec![seed; 32]),
    KeyState::Current,
    UnixMillis(0),
  )?;
  KeyRing::from_parts(1, alg, vec![key])
}

fn fail(e: Error) -> TestCaseError {
  TestCaseError::fail(e.to_string())
}

/// App claim names that are not reserved: ASCII identifiers and arbitrary Unicode.
fn claim_name() -> impl Strategy<Value = String> {
  prop_oneof![
    "[a-zA-Z_$][a-zA-Z0-9_$:/.-]{0,20}",
    "\\PC{1,12}",
    Just("Exp".to_owned()),
    Just("SUB".to_owned()),
    Just("exp\u{0}".to_owned()),
  ]
  .prop_filter("not reserved", |n| {
    !RESERVED.contains(&n.as_str()) && n != "__proto__"
  })
}

/// App claim values: strings, integers, bools and any finite float (the core parses numbers
/// exactly, serde_json's `float_roundtrip`).
fn claim_value() -> impl Strategy<Value = Value> {
  prop_oneof![
    any::<String>().prop_map(Value::String),
    any::<i64>().prop_map(Value::from),
    any::<u64>().prop_map(Value::from),
    any::<bool>().prop_map(Value::Bool),
    any::<f64>()
      .prop_filter("finite", |f| f.is_finite())
      .prop_map(Value::from),
  ]
}

fn app_claims() -> impl Strategy<Value = Map<String, Value>> {
  proptest::collection::btree_map(claim_name(), claim_value(), 0..8)
    .prop_map(|m| m.into_iter().collect())
}

/// A printable ASCII byte outside base64url and `.`.
fn printable_non_alphabet() -> impl Strategy<Value = u8> {
  (0x20u8..0x7f).prop_filter("not base64url or a dot", |&b| {
    !encoding::is_b64url_byte(b) && b != b'.'
  })
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(128))]

  #[test]
  fn sign_then_verify_round_trips_any_subject_and_app_claims(
    user_id in "\\PC{1,64}",
    session in "[A-Za-z0-9_-]{1,64}",
    data_version in any::<u64>(),
    claims in app_claims(),
  ) {
    for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
      let ring = ring(alg, 3).map_err(fail)?;
      let policy = Policy::default();
      let subject = Subject { user_id: &user_id, session: &session, data_version, claims: &claims };
      let issued = access::sign(&ring, &policy, NOW, &subject, None).map_err(fail)?;
      let got = access::verify(&ring, &policy, NOW, issued.token.as_bytes()).map_err(fail)?;
      prop_assert_eq!(&got.sub, &user_id);
      prop_assert_eq!(&got.sid, &session);
      prop_assert_eq!(got.dv, data_version);
      prop_assert_eq!(&got.claims, &claims);
      prop_assert_eq!(&got.jti, &issued.jti);
      prop_assert_eq!(got.exp, issued.exp as f64);
      prop_assert_eq!(got.iat, NOW.secs() as f64);
      prop_assert_eq!(got.kid.as_str(), ring.current().kid());
    }
  }

  #[test]
  fn whatever_sign_issues_verify_accepts(
    user_id in "\\PC{0,300}",
    session in "\\PC{0,300}",
    pad in 0usize..7000,
    max_token_len in prop_oneof![Just(8192usize), 512usize..=65_536],
  ) {
    // Sign may refuse (too large, empty or too long a string), but never issue a token
    // that its own verifier then refuses.
    let ring = ring(Algorithm::Hs256, 3).map_err(fail)?;
    let policy = Policy { max_token_len, ..Policy::default() };
    let mut claims = Map::new();
    claims.insert("pad".into(), Value::String("x".repeat(pad)));
    let subject = Subject { user_id: &user_id, session: &session, data_version: 0, claims: &claims };
    match access::sign(&ring, &policy, NOW, &subject, None) {
      Ok(issued) => {
        let r = access::verify(&ring, &policy, NOW, issued.token.as_bytes());
        prop_assert!(r.is_ok(), "issued a token of {} bytes that verify refuses: {:?}", issued.token.len(), r.err());
      }
      Err(e) => prop_assert!(
        matches!(e.kind(), ErrorKind::TokenMalformed | ErrorKind::InvalidArgument),
        "{:?}", e
      ),
    }
  }
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(16))]

  #[test]
  fn any_single_byte_change_of_an_access_token_fails_to_verify(
    user_id in "\\PC{1,24}",
    claims in app_claims(),
    delta in 1u8..=255,
    eddsa in any::<bool>(),
  ) {
    let alg = if eddsa { Algorithm::EdDsa } else { Algorithm::Hs256 };
    let ring = ring(alg, 5).map_err(fail)?;
    let policy = Policy::default();
    let subject = Subject { user_id: &user_id, session: "s", data_version: 1, claims: &claims };
    let token = access::sign(&ring, &policy, NOW, &subject, None).map_err(fail)?.token.into_bytes();
    prop_assert!(access::verify(&ring, &policy, NOW, &token).is_ok());
    for i in 0..token.len() {
      let mut t = token.clone();
      t[i] = t[i].wrapping_add(delta);
      let r = access::verify(&ring, &policy, NOW, &t);
      prop_assert!(r.is_err(), "position {} + {} still verifies", i, delta);
    }
  }
}

proptest! {
  #[test]
  fn a_printable_non_alphabet_character_anywhere_is_refused_by_the_format_check(
    user_id in "[a-z]{1,16}",
    at in any::<prop::sample::Index>(),
    byte in printable_non_alphabet(),
  ) {
    let ring = ring(Algorithm::Hs256, 5).map_err(fail)?;
    let policy = Policy::default();
    let claims = Map::new();
    let subject = Subject { user_id: &user_id, session: "s", data_version: 1, claims: &claims };
    let mut t = access::sign(&ring, &policy, NOW, &subject, None).map_err(fail)?.token.into_bytes();
    t.insert(at.index(t.len() + 1), byte);
    let e = access::verify(&ring, &policy, NOW, &t).err();
    prop_assert_eq!(
      e.map(|e| (e.kind(), e.detail())),
      Some((ErrorKind::TokenMalformed, "a JWT holds only base64url and dots"))
    );
  }

  #[test]
  fn a_refresh_token_round_trips_through_its_text(
    handle in any::<[u8; 16]>(),
    salts in proptest::collection::vec(any::<[u8; 16]>(), 0..4),
  ) {
    let secrets = Secrets::new(&[SECRET]).map_err(fail)?;
    let mut t = RefreshToken::issue(Handle(handle)).map_err(fail)?;
    for salt in &salts {
      t = t.successor(&secrets, salt).map_err(fail)?;
    }
    let text = t.encode(&secrets);
    prop_assert_eq!(text.len(), 92);
    let back = RefreshToken::parse(text.as_bytes(), &secrets).map_err(fail)?;
    prop_assert_eq!(back.handle(), Handle(handle));
    prop_assert_eq!(back.generation() as usize, salts.len());
    prop_assert_eq!(back.digest(), t.digest());
    prop_assert_eq!(&back, &t);
    prop_assert_eq!(back.encode(&secrets), text);
  }

  #[test]
  fn any_single_byte_change_of_a_refresh_token_is_malformed_or_forged(
    handle in any::<[u8; 16]>(),
    delta in 1u8..=255,
  ) {
    let secrets = Secrets::new(&[SECRET]).map_err(fail)?;
    let text = RefreshToken::issue(Handle(handle)).map_err(fail)?.encode(&secrets).into_bytes();
    for i in 0..text.len() {
      let mut t = text.clone();
      t[i] = t[i].wrapping_add(delta);
      let k = RefreshToken::parse(&t, &secrets).err().map(|e| e.kind());
      prop_assert!(
        matches!(k, Some(ErrorKind::RefreshMalformed | ErrorKind::RefreshForged)),
        "position {} + {}: {:?}", i, delta, k
      );
    }
  }

  #[test]
  fn any_single_byte_change_of_a_csrf_token_is_refused(
    handle in any::<[u8; 16]>(),
    delta in 1u8..=255,
  ) {
    let secrets = Secrets::new(&[SECRET]).map_err(fail)?;
    let h = Handle(handle);
    let text = csrf::issue(&h, &secrets).map_err(fail)?.into_bytes();
    prop_assert!(csrf::verify(&text, &h, &secrets).is_ok());
    for i in 0..text.len() {
      let mut t = text.clone();
      t[i] = t[i].wrapping_add(delta);
      let k = csrf::verify(&t, &h, &secrets).err().map(|e| e.kind());
      prop_assert_eq!(k, Some(ErrorKind::CsrfInvalid), "position {} + {}", i, delta);
    }
  }

  #[test]
  fn base64url_round_trips_in_the_alphabet_only(data in proptest::collection::vec(any::<u8>(), 0..200)) {
    let text = encoding::encode(&data);
    prop_assert_eq!(text.len(), encoding::encoded_len(data.len()));
    prop_assert!(text.bytes().all(encoding::is_b64url_byte));
    let back = encoding::decode_strict(text.as_bytes(), data.len(), ErrorKind::TokenMalformed)
      .map_err(fail)?;
    prop_assert_eq!(back, data);
  }

  #[test]
  fn strict_decoding_refuses_any_non_alphabet_byte_inserted_anywhere(
    data in proptest::collection::vec(any::<u8>(), 0..100),
    at in any::<prop::sample::Index>(),
    byte in any::<u8>().prop_filter("not base64url", |&b| !encoding::is_b64url_byte(b)),
  ) {
    let mut text = encoding::encode(&data).into_bytes();
    text.insert(at.index(text.len() + 1), byte);
    let e = encoding::decode_strict(&text, 1000, ErrorKind::RefreshMalformed).err();
    prop_assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::RefreshMalformed));
  }

  #[test]
  fn a_byte_string_has_exactly_one_accepted_spelling(text in "[A-Za-z0-9_-]{0,64}") {
    // Whatever decodes, re-encodes to the very same text: no twins.
    if let Ok(bytes) = encoding::decode_strict(text.as_bytes(), 64, ErrorKind::TokenMalformed) {
      prop_assert_eq!(encoding::encode(&bytes), text);
    } else {
      // What is refused is refused for a reason: length 1 mod 4 or non-zero unused bits.
      let n = text.len();
      let last = text.bytes().last().map(|b| {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
          .iter()
          .position(|&c| c == b)
          .unwrap_or(0)
      });
      let unused_bits_set = match (n % 4, last) {
        (2, Some(v)) => v & 0b1111 != 0,
        (3, Some(v)) => v & 0b11 != 0,
        _ => false,
      };
      prop_assert!(n % 4 == 1 || unused_bits_set, "{:?} refused", text);
    }
  }
}

#[test]
fn every_token_sign_issues_verifies_right_up_to_the_size_limit() -> Result<()> {
  // The deterministic companion of `whatever_sign_issues_verify_accepts`: walk the app-claim
  // size across the limit, one byte at a time.
  let ring = ring(Algorithm::Hs256, 3)?;
  let policy = Policy::default();
  let mut issued = 0;
  let mut refused = 0;
  for pad in 5_700..6_100 {
    let mut claims = Map::new();
    claims.insert("pad".into(), Value::String("x".repeat(pad)));
    let subject = Subject {
      user_id: "alice",
      session: "sid-1",
      data_version: 0,
      claims: &claims,
    };
    match access::sign(&ring, &policy, NOW, &subject, None) {
      Ok(t) => {
        assert!(t.token.len() <= policy.max_token_len, "pad {pad}");
        access::verify(&ring, &policy, NOW, t.token.as_bytes())?;
        issued += 1;
      }
      Err(e) => {
        assert_eq!(e.kind(), ErrorKind::TokenMalformed, "pad {pad}");
        refused += 1;
      }
    }
  }
  assert!(issued > 0 && refused > 0, "the walk crosses the limit");
  Ok(())
}

#[test]
fn sign_refuses_subjects_that_verify_would_refuse() -> Result<()> {
  // RFC-27: an empty user id (INVALID_ARGUMENT) or one over 256 bytes (TOKEN_MALFORMED),
  // and a session that is not 1 to 64 base64url characters (INVALID_ARGUMENT), are refused
  // at signing; a 256-byte user id and a 64-character session are fine.
  let ring = ring(Algorithm::Hs256, 3)?;
  let policy = Policy::default();
  let claims = Map::new();
  let long = "u".repeat(256);
  let too_long = "u".repeat(257);
  let sid64 = "s".repeat(64);
  let sid65 = "s".repeat(65);
  for (user_id, session, refused) in [
    ("alice", "sid-1", None),
    (long.as_str(), sid64.as_str(), None),
    ("", "sid-1", Some(ErrorKind::InvalidArgument)),
    ("alice", "", Some(ErrorKind::InvalidArgument)),
    ("", "", Some(ErrorKind::InvalidArgument)),
    (too_long.as_str(), "sid-1", Some(ErrorKind::TokenMalformed)),
    ("alice", sid65.as_str(), Some(ErrorKind::InvalidArgument)),
    ("alice", "sid 1", Some(ErrorKind::InvalidArgument)),
    ("alice", "sid\u{0}1", Some(ErrorKind::InvalidArgument)),
  ] {
    let subject = Subject {
      user_id,
      session,
      data_version: 0,
      claims: &claims,
    };
    let r = access::sign(&ring, &policy, NOW, &subject, None);
    match refused {
      None => {
        let t = r?;
        assert_eq!(
          access::verify(&ring, &policy, NOW, t.token.as_bytes())?.sub,
          user_id
        );
      }
      Some(k) => assert_eq!(
        r.err().map(|e| e.kind()),
        Some(k),
        "{user_id:.8}/{session:.8}"
      ),
    }
  }
  Ok(())
}

proptest! {
  #![proptest_config(ProptestConfig::with_cases(256))]

  #[test]
  fn the_canonical_fast_path_and_the_strict_parser_agree_on_whatever_we_sign(
    user_id in "\\PC{1,60}",
    iss in "[a-z\"\\\\ -]{1,20}",
    exp in -1_000_000i64..=4_000_000_000,
    dv in any::<u64>(),
    claims in app_claims(),
  ) {
    // Whatever `NewClaims` writes (escapes, negative times, huge dv, app claims), the fast
    // path either declines or yields exactly what the general strict parser yields.
    let bytes = tandem_session::jwt::claims::NewClaims {
      iss: &iss, sub: &user_id, aud: "aud", exp, nbf: exp - 1, iat: exp - 1,
      jti: "j", sid: "s", dv, extra: &claims,
    }.to_json().map_err(fail)?;
    let strict = tandem_session::jwt::claims::Claims::parse_strict(&bytes).map_err(fail)?;
    if let Some(fast) = tandem_session::jwt::canonical::parse(&bytes).map_err(fail)? {
      prop_assert_eq!(&fast, &strict);
    }
    prop_assert_eq!(tandem_session::jwt::claims::Claims::parse(&bytes).map_err(fail)?, strict);
  }
}
