//! Known-answer vectors (security.md §1, KAT-01..KAT-11): the RFC 7515 Appendix A.1, A.5 and E
//! tokens, byte for byte, through the low-level JWS layer (`jwt::jws`), the strict header
//! parser (`jwt::header`) and the production access-token verifier (`jwt::access`), always at
//! a fixed time. The low-level layer checks no claims, so the A.1 expiry is checked here by
//! the rule `access` documents (valid iff `now < exp + leeway`), and then again through the
//! production verifier on a token carrying A.1's `exp`.

use std::cell::Cell;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Map, Value};
use tandem_session::clock::UnixMillis;
use tandem_session::encoding;
use tandem_session::jwt::claims::Claims;
use tandem_session::jwt::header::Header;
use tandem_session::jwt::jws::{self, RawKey, Verified};
use tandem_session::jwt::{access, Algorithm, Policy};
use tandem_session::keys::{Key, KeyRing, KeyState, RotationPolicy};
use tandem_session::{Error, ErrorKind, Result};
use zeroize::Zeroizing;

// ---- RFC 7515 Appendix A.1 (security.md §1.1), exact octets: CR LF then one space. ----
const A1_HEADER: &[u8] = b"{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
const A1_HEADER_OCTETS: [u8; 30] = [
  123, 34, 116, 121, 112, 34, 58, 34, 74, 87, 84, 34, 44, 13, 10, 32, 34, 97, 108, 103, 34, 58, 34,
  72, 83, 50, 53, 54, 34, 125,
];
const A1_PAYLOAD: &[u8] =
  b"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
const A1_KEY_K: &str =
  "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
const A1_HEADER_B64: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const A1_PAYLOAD_B64: &str =
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const A1_SIG: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A1_TOKEN: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const A1_EXP: i64 = 1_300_819_380;

// ---- RFC 7515 Appendix A.5 (§1.2) and Appendix E (§1.3). ----
const A5_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";
const APP_E_TOKEN: &str = "eyJhbGciOiJub25lIiwNCiAiY3JpdCI6WyJodHRwOi8vZXhhbXBsZS5jb20vVU5ERUZJTkVEIl0sDQogImh0dHA6Ly9leGFtcGxlLmNvbS9VTkRFRklORUQiOnRydWUNCn0.RkFJTA.";
const APP_E_HEADER: &[u8] = b"{\"alg\":\"none\",\r\n \"crit\":[\"http://example.com/UNDEFINED\"],\r\n \"http://example.com/UNDEFINED\":true\r\n}";

/// Largest token the low-level calls below accept (the default policy's limit).
const MAX: usize = 8 * 1024;
/// Our own ring for the production verifier: a fixed HS256 key.
const KID: &str = "AAAAAAAAAAAAAAAA";
const RING_KEY: [u8; 32] = [7; 32];

fn fixture(detail: &'static str) -> Error {
  Error::new(ErrorKind::Internal, detail)
}

fn kind<T>(r: Result<T>) -> Option<ErrorKind> {
  r.err().map(|e| e.kind())
}

fn a1_key() -> Result<Vec<u8>> {
  encoding::decode_strict(A1_KEY_K.as_bytes(), 64, ErrorKind::Internal)
}

fn hs_key(secret: &[u8]) -> RawKey {
  RawKey {
    alg: Algorithm::Hs256,
    key: DecodingKey::from_secret(secret),
  }
}

fn verify_with(token: &str, key: &RawKey) -> Result<Verified> {
  jws::verify(token.as_bytes(), MAX, |_| Ok(key))
}

/// The production ring: one current HS256 key whose material we know.
fn ring() -> Result<KeyRing> {
  let key = Key::from_parts(
    KID.into(),
    Algorithm::Hs256,
    Zeroizing::new(RING_KEY.to_vec()),
    KeyState::Current,
    UnixMillis(0),
  )?;
  KeyRing::from_parts(1, Algorithm::Hs256, vec![key])
}

fn our_header() -> String {
  format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{KID}"}}"#)
}

fn sign_with_ring_key(header: &[u8], payload: &[u8]) -> Result<String> {
  jws::sign(
    header,
    payload,
    &EncodingKey::from_secret(&RING_KEY),
    Algorithm::Hs256,
  )
}

/// A decoder as lenient as Node's `Buffer.from(x, 'base64url')` on the twins of §1.4:
/// either alphabet, padding optional, non-zero trailing bits allowed.
fn lenient_decode(text: &str) -> Option<Vec<u8>> {
  let cleaned: String = text
    .chars()
    .filter(|c| c.is_ascii_alphanumeric() || "-_+/".contains(*c))
    .map(|c| match c {
      '+' => '-',
      '/' => '_',
      c => c,
    })
    .collect();
  let engine = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
      .with_decode_allow_trailing_bits(true)
      .with_decode_padding_mode(DecodePaddingMode::Indifferent),
  );
  engine.decode(cleaned).ok()
}

/// The expiry rule `access` documents: valid iff `now < exp + leeway` (seconds).
fn exp_accepts(exp: f64, now: UnixMillis, leeway_secs: i64) -> bool {
  (now.0 as f64) / 1000.0 < exp + leeway_secs as f64
}

#[test]
fn signing_the_a1_octets_with_the_a1_key_gives_exactly_the_a1_token() -> Result<()> {
  // KAT-01. The fixtures are the RFC's octets, not a re-serialisation.
  assert_eq!(A1_HEADER, &A1_HEADER_OCTETS[..]);
  assert_eq!(encoding::encode(A1_HEADER), A1_HEADER_B64);
  assert_eq!(encoding::encode(A1_PAYLOAD), A1_PAYLOAD_B64);
  let key = a1_key()?;
  assert_eq!(key.len(), 64);
  let token = jws::sign(
    A1_HEADER,
    A1_PAYLOAD,
    &EncodingKey::from_secret(&key),
    Algorithm::Hs256,
  )?;
  assert_eq!(token, A1_TOKEN);
  assert_eq!(
    token.rsplit('.').next(),
    Some(A1_SIG),
    "the signature segment"
  );
  Ok(())
}

#[test]
fn the_a1_token_verifies_one_second_before_exp_and_carries_the_rfc_claims() -> Result<()> {
  // KAT-02: allow-list {HS256} (the key's algorithm), only `exp` checked, at T = 1300819379.
  let key = a1_key()?;
  let v = verify_with(A1_TOKEN, &hs_key(&key))?;
  assert_eq!(v.header.alg, Algorithm::Hs256);
  assert_eq!(v.header.typ.as_deref(), Some("JWT"));
  assert_eq!(v.header.kid, None);
  assert_eq!(
    v.payload, A1_PAYLOAD,
    "the payload is returned byte for byte"
  );
  let c = Claims::parse(&v.payload)?;
  assert_eq!(c.iss.as_deref(), Some("joe"));
  assert_eq!(c.exp, Some(1_300_819_380.0));
  let mut extra = Map::new();
  extra.insert("http://example.com/is_root".into(), Value::Bool(true));
  assert_eq!(c.extra, extra, "is_root is the boolean true, not a string");
  assert_eq!(
    (c.sub, c.aud, c.nbf, c.iat, c.jti, c.sid, c.dv),
    (None, None, None, None, None, None, None)
  );
  let exp = c.exp.ok_or_else(|| fixture("A.1 has an exp"))?;
  assert!(exp_accepts(exp, UnixMillis::from_secs(A1_EXP - 1), 0));
  Ok(())
}

#[test]
fn the_a1_expiry_boundary_holds_for_every_leeway() -> Result<()> {
  // KAT-03 at the low-level layer: verify, parse, then apply the documented rule over T.
  let key = a1_key()?;
  let exp = Claims::parse(&verify_with(A1_TOKEN, &hs_key(&key))?.payload)?
    .exp
    .ok_or_else(|| fixture("A.1 has an exp"))?;
  let at = |secs: i64, ms: i64| UnixMillis::from_secs(secs).plus_ms(ms);
  let mut table = vec![
    (at(A1_EXP - 1, 0), 0, true),
    (at(A1_EXP - 1, 999), 0, true),
    (at(A1_EXP, 0), 0, false),
    (at(A1_EXP + 1, 0), 0, false),
  ];
  for l in [1, 5, 30, 300] {
    table.push((at(A1_EXP + l - 1, 0), l, true));
    table.push((at(A1_EXP + l - 1, 999), l, true));
    table.push((at(A1_EXP + l, 0), l, false));
  }
  for (now, leeway, ok) in table {
    assert_eq!(exp_accepts(exp, now, leeway), ok, "T={now:?} L={leeway}");
  }
  Ok(())
}

#[test]
fn the_production_verifier_enforces_the_a1_expiry_boundary() -> Result<()> {
  // KAT-03 with teeth: the same `exp` in a token of ours, through `access::verify`.
  let payload = format!(
    r#"{{"iss":"tandem-session","sub":"joe","aud":"tandem-session","exp":{A1_EXP},"iat":{},"jti":"j","sid":"s","dv":0}}"#,
    A1_EXP - 600
  );
  let token = sign_with_ring_key(our_header().as_bytes(), payload.as_bytes())?;
  let ring = ring()?;
  let check = |leeway: i64, now: UnixMillis| {
    let policy = Policy {
      leeway_secs: leeway,
      ..Policy::default()
    };
    kind(access::verify(&ring, &policy, now, token.as_bytes()))
  };
  let at = |secs: i64, ms: i64| UnixMillis::from_secs(secs).plus_ms(ms);
  assert_eq!(check(0, at(A1_EXP - 1, 0)), None);
  assert_eq!(check(0, at(A1_EXP - 1, 999)), None);
  assert_eq!(check(0, at(A1_EXP, 0)), Some(ErrorKind::TokenExpired));
  for l in [1, 5, 30, 300] {
    assert_eq!(check(l, at(A1_EXP + l - 1, 999)), None, "L={l}");
    assert_eq!(
      check(l, at(A1_EXP + l, 0)),
      Some(ErrorKind::TokenExpired),
      "L={l}"
    );
  }
  Ok(())
}

#[test]
fn the_a1_token_fails_when_only_eddsa_is_allowed_though_its_mac_is_right() -> Result<()> {
  // KAT-04 / RFC-08: the key decides the one acceptable algorithm.
  let key = a1_key()?;
  assert!(verify_with(A1_TOKEN, &hs_key(&key)).is_ok(), "control");
  let eddsa_with_the_right_bytes = RawKey {
    alg: Algorithm::EdDsa,
    key: DecodingKey::from_secret(&key),
  };
  assert_eq!(
    kind(verify_with(A1_TOKEN, &eddsa_with_the_right_bytes)),
    Some(ErrorKind::TokenInvalid)
  );
  let public = ed25519_dalek::SigningKey::from_bytes(&[9; 32])
    .verifying_key()
    .to_bytes();
  let eddsa = RawKey {
    alg: Algorithm::EdDsa,
    key: DecodingKey::from_ed_der(&public),
  };
  assert_eq!(
    kind(verify_with(A1_TOKEN, &eddsa)),
    Some(ErrorKind::TokenInvalid)
  );
  Ok(())
}

#[test]
fn every_signature_twin_of_a1_is_rejected() -> Result<()> {
  // KAT-05: each twin decodes, leniently, to the very same 32 bytes; we refuse them all.
  let key = hs_key(&a1_key()?);
  let sig = lenient_decode(A1_SIG).ok_or_else(|| fixture("A.1 signature decodes"))?;
  assert_eq!(sig.len(), 32);
  let prefix = format!("{A1_HEADER_B64}.{A1_PAYLOAD_B64}.");
  for twin in [
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXm",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXn",
    "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk",
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk=",
    "dBjf tJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "dBjf*tJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
  ] {
    assert_eq!(lenient_decode(twin).as_deref(), Some(&sig[..]), "{twin}");
    assert_eq!(
      kind(verify_with(&format!("{prefix}{twin}"), &key)),
      Some(ErrorKind::TokenMalformed),
      "{twin}"
    );
  }
  assert!(verify_with(&format!("{prefix}{A1_SIG}"), &key).is_ok());
  Ok(())
}

#[test]
fn a1_without_its_signature_or_its_last_segment_is_rejected() -> Result<()> {
  // KAT-06 (CVE-2020-28042).
  let key = hs_key(&a1_key()?);
  for bad in [
    format!("{A1_HEADER_B64}.{A1_PAYLOAD_B64}."),
    format!("{A1_HEADER_B64}.{A1_PAYLOAD_B64}"),
    format!("{A1_HEADER_B64}.{A1_PAYLOAD_B64}.."),
    format!("{A1_HEADER_B64}.{A1_PAYLOAD_B64}.{A1_SIG}."),
  ] {
    assert_eq!(
      kind(verify_with(&bad, &key)),
      Some(ErrorKind::TokenMalformed),
      "{bad}"
    );
  }
  Ok(())
}

#[test]
fn changing_any_character_of_a1_or_any_bit_of_its_key_makes_it_fail() -> Result<()> {
  // KAT-07: every position of the token, every other base64url character.
  let key_bytes = a1_key()?;
  let key = hs_key(&key_bytes);
  let alphabet: Vec<u8> = (0..=255u8)
    .filter(|&b| encoding::is_b64url_byte(b))
    .collect();
  assert_eq!(alphabet.len(), 64);
  let mut tried = 0;
  for i in 0..A1_TOKEN.len() {
    for &c in &alphabet {
      let mut t = A1_TOKEN.as_bytes().to_vec();
      if t[i] == c {
        continue;
      }
      t[i] = c;
      let r = jws::verify(&t, MAX, |_| Ok(&key));
      let k = kind(r);
      assert!(
        matches!(k, Some(ErrorKind::TokenInvalid | ErrorKind::TokenMalformed)),
        "position {i} -> {}: {k:?}",
        c as char
      );
      tried += 1;
    }
  }
  assert!(tried > 60 * A1_TOKEN.len());
  for bit in 0..key_bytes.len() * 8 {
    let mut k = key_bytes.clone();
    k[bit / 8] ^= 1 << (bit % 8);
    assert_eq!(
      kind(verify_with(A1_TOKEN, &hs_key(&k))),
      Some(ErrorKind::TokenInvalid),
      "key bit {bit}"
    );
  }
  Ok(())
}

#[test]
fn the_unsecured_a5_token_is_rejected_in_every_configuration() -> Result<()> {
  // KAT-08 / RFC-09. A.5's signature segment is empty, so the shape rule refuses it first.
  let a1 = a1_key()?;
  let public = ed25519_dalek::SigningKey::from_bytes(&[9; 32])
    .verifying_key()
    .to_bytes();
  let configurations = [
    hs_key(&[]),
    hs_key(&a1),
    hs_key(&RING_KEY),
    RawKey {
      alg: Algorithm::EdDsa,
      key: DecodingKey::from_ed_der(&public),
    },
  ];
  for key in &configurations {
    assert_eq!(
      kind(verify_with(A5_TOKEN, key)),
      Some(ErrorKind::TokenMalformed)
    );
  }
  let hs_ring = ring()?;
  let ed_ring = KeyRing::generate(Algorithm::EdDsa, UnixMillis(0), &RotationPolicy::default())?;
  for r in [&hs_ring, &ed_ring] {
    let at = UnixMillis::from_secs(A1_EXP - 1);
    assert_eq!(
      kind(access::verify(
        r,
        &Policy::default(),
        at,
        A5_TOKEN.as_bytes()
      )),
      Some(ErrorKind::TokenMalformed)
    );
  }
  // The alg rule alone refuses it too: on the header by itself, and with a signature
  // appended, before any key is even looked up.
  let header = encoding::decode_strict(b"eyJhbGciOiJub25lIn0", 64, ErrorKind::Internal)?;
  assert_eq!(header, br#"{"alg":"none"}"#);
  assert_eq!(kind(Header::parse(&header)), Some(ErrorKind::TokenInvalid));
  let with_sig = format!("{A5_TOKEN}{A1_SIG}");
  let looked_up = Cell::new(false);
  let key = hs_key(&a1);
  let r = jws::verify(with_sig.as_bytes(), MAX, |_| {
    looked_up.set(true);
    Ok(&key)
  });
  assert_eq!(kind(r), Some(ErrorKind::TokenInvalid));
  assert!(!looked_up.get(), "no key is consulted for alg none");
  Ok(())
}

#[test]
fn appendix_e_is_rejected_by_the_crit_rule_alone_and_by_the_full_verifier() -> Result<()> {
  // KAT-09 / RFC-15.
  let mut parts = APP_E_TOKEN.split('.');
  let (h, p) = (
    parts.next().unwrap_or_default(),
    parts.next().unwrap_or_default(),
  );
  let header = encoding::decode_strict(h.as_bytes(), 1024, ErrorKind::Internal)?;
  assert_eq!(header, APP_E_HEADER, "the header octets of the RFC");
  assert_eq!(
    encoding::decode_strict(p.as_bytes(), 64, ErrorKind::Internal)?,
    b"FAIL"
  );
  // The header parser alone: the refusal names the member rule, not the algorithm.
  let e = Header::parse(&header).err();
  assert_eq!(e.as_ref().map(Error::kind), Some(ErrorKind::TokenInvalid));
  assert_eq!(e.map(|e| e.detail()), Some("header member not allowed"));
  // With an allowed algorithm, `crit` still fails on its own.
  let hs = String::from_utf8_lossy(&header).replace("\"none\"", "\"HS256\"");
  let e = Header::parse(hs.as_bytes()).err();
  assert_eq!(e.as_ref().map(Error::kind), Some(ErrorKind::TokenInvalid));
  assert_eq!(e.map(|e| e.detail()), Some("header member not allowed"));
  // Control: the same header without `crit` parses.
  let no_crit = hs.replace("\"crit\":[\"http://example.com/UNDEFINED\"],\r\n ", "");
  assert_eq!(Header::parse(no_crit.as_bytes())?.alg, Algorithm::Hs256);
  // The full verifiers.
  let key = hs_key(&a1_key()?);
  assert_eq!(
    kind(verify_with(APP_E_TOKEN, &key)),
    Some(ErrorKind::TokenMalformed),
    "empty signature segment"
  );
  assert_eq!(
    kind(verify_with(&format!("{APP_E_TOKEN}{A1_SIG}"), &key)),
    Some(ErrorKind::TokenInvalid)
  );
  assert_eq!(
    kind(access::verify(
      &ring()?,
      &Policy::default(),
      UnixMillis::from_secs(A1_EXP - 1),
      APP_E_TOKEN.as_bytes()
    )),
    Some(ErrorKind::TokenMalformed)
  );
  Ok(())
}

#[test]
fn the_production_verifier_rejects_a1_with_any_ring() -> Result<()> {
  // KAT-10. A ring cannot hold the A.1 key: ring keys are exactly 32 bytes and A.1's is 64.
  // So we show that `access::verify` rejects A.1 whatever the ring (A.1 has `typ` "JWT" and
  // no `kid`), while the low-level layer accepts it with the right key.
  let a1 = a1_key()?;
  assert_eq!(
    kind(Key::from_parts(
      KID.into(),
      Algorithm::Hs256,
      Zeroizing::new(a1.clone()),
      KeyState::Current,
      UnixMillis(0),
    )),
    Some(ErrorKind::KeyMaterialInvalid)
  );
  assert!(verify_with(A1_TOKEN, &hs_key(&a1)).is_ok(), "control");
  let now = UnixMillis::from_secs(A1_EXP - 1);
  let rings = [
    ring()?,
    KeyRing::generate(Algorithm::Hs256, now, &RotationPolicy::default())?,
    KeyRing::generate(Algorithm::EdDsa, now, &RotationPolicy::default())?,
  ];
  for r in &rings {
    assert_eq!(
      kind(access::verify(
        r,
        &Policy::default(),
        now,
        A1_TOKEN.as_bytes()
      )),
      Some(ErrorKind::TokenInvalid)
    );
  }
  Ok(())
}

#[test]
fn a1_claims_under_our_header_and_key_are_refused_until_every_mandatory_claim_is_there(
) -> Result<()> {
  // KAT-10, claim by claim: A.1's payload signed by our ring key with our header, then the
  // mandatory claims added one at a time; each step is refused for the next missing one.
  let ring = ring()?;
  let now = UnixMillis::from_secs(A1_EXP - 1);
  let policy = Policy::default();
  let verify = |policy: &Policy, payload: &[u8]| -> Result<Option<ErrorKind>> {
    let t = sign_with_ring_key(our_header().as_bytes(), payload)?;
    Ok(kind(access::verify(&ring, policy, now, t.as_bytes())))
  };
  assert_eq!(
    verify(&policy, A1_PAYLOAD)?,
    Some(ErrorKind::TokenInvalid),
    "iss is joe"
  );
  let joe = Policy {
    issuer: "joe".into(),
    ..Policy::default()
  };
  let mut payload = String::from_utf8_lossy(A1_PAYLOAD).into_owned();
  assert_eq!(
    verify(&joe, payload.as_bytes())?,
    Some(ErrorKind::TokenMalformed),
    "no aud"
  );
  let iat = A1_EXP - 60;
  for (member, next_missing) in [
    (r#""aud":"tandem-session""#.to_owned(), Some("iat")),
    (format!(r#""iat":{iat}"#), Some("sub")),
    (r#""sub":"joe""#.to_owned(), Some("sid")),
    (r#""sid":"s1""#.to_owned(), Some("jti")),
    (r#""jti":"j1""#.to_owned(), Some("dv")),
    (r#""dv":0"#.to_owned(), None),
  ] {
    payload.pop();
    payload.push_str(&format!(",{member}}}"));
    let t = sign_with_ring_key(our_header().as_bytes(), payload.as_bytes())?;
    let got = access::verify(&ring, &joe, now, t.as_bytes())
      .err()
      .map(|e| (e.kind(), e.detail()));
    match next_missing {
      Some(name) => assert_eq!(
        got,
        Some((ErrorKind::TokenMalformed, "a required claim is missing")),
        "{name} missing"
      ),
      None => assert_eq!(got, None, "all mandatory claims present"),
    }
  }
  Ok(())
}

#[test]
fn json_whitespace_inside_header_and_payload_is_legal() -> Result<()> {
  // KAT-11: strictness is for base64url, not for JSON whitespace. A.1 (CR LF, spaces) is
  // covered above; here tabs, at the low-level layer and through the production verifier.
  let key = a1_key()?;
  let header = b"{\"typ\":\"JWT\",\t\"alg\":\t\"HS256\"\t}";
  let payload =
    b"\t{\"iss\" :\t\"joe\",\r\n\t\"exp\":1300819380,\t\"http://example.com/is_root\": true}\n";
  let t = jws::sign(
    header,
    payload,
    &EncodingKey::from_secret(&key),
    Algorithm::Hs256,
  )?;
  let v = verify_with(&t, &hs_key(&key))?;
  let a1 = verify_with(A1_TOKEN, &hs_key(&key))?;
  let a1_claims = Claims::parse(&a1.payload)?;
  assert_eq!(Claims::parse(&v.payload)?, a1_claims);

  let header = format!("{{\t\"alg\" :\t\"HS256\",\r\n\t\"typ\":\"at+jwt\" , \"kid\":\"{KID}\"\t}}");
  let now = UnixMillis::from_secs(A1_EXP - 1);
  let payload = format!(
    "{{\n\t\"iss\":\t\"tandem-session\",\n\t\"sub\" : \"joe\",\t\"aud\":[ \"tandem-session\" ],\r\n\t\"exp\":{A1_EXP},\t\"iat\":{},\t\"jti\":\"j\",\t\"sid\":\"s\",\t\"dv\":\t7\n}}",
    A1_EXP - 60
  );
  let t = sign_with_ring_key(header.as_bytes(), payload.as_bytes())?;
  let c = access::verify(&ring()?, &Policy::default(), now, t.as_bytes())?;
  assert_eq!((c.sub.as_str(), c.dv, c.kid.as_str()), ("joe", 7, KID));
  Ok(())
}
