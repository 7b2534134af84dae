//! The attack catalogue of security.md §10.1 and §10.2, the `core:` rows (ATK-01..ATK-09,
//! ATK-11..ATK-14, ATK-16..ATK-37, ATK-40; plus the core half of the `http:` rows ATK-10 and
//! ATK-15), and the RFC-* rules of §8 they implement, against `jwt::access::verify`.
//!
//! Every hostile token carries a *valid* signature under the ring's real key (the ring is built
//! from known material), so only the rule under test can refuse it; every test also has a
//! control that the same fixture, without the attack, verifies. Time is fixed at [`NOW`].

use std::time::Instant;

use jsonwebtoken::{DecodingKey, EncodingKey};
use tandem_session::clock::UnixMillis;
use tandem_session::encoding;
use tandem_session::jwt::compact;
use tandem_session::jwt::jws::{self, RawKey};
use tandem_session::jwt::{access, AccessClaims, Algorithm, Policy, Subject};
use tandem_session::keys::jwks::jwks;
use tandem_session::keys::{Key, KeyRing, KeyState};
use tandem_session::secret::{Purpose, Secrets};
use tandem_session::{credentials, Error, ErrorKind, Result};
use zeroize::Zeroizing;

const KID: &str = "AAAAAAAAAAAAAAAA";
const HS_KEY: [u8; 32] = [7; 32];
const ED_KID: &str = "EEEEEEEEEEEEEEEE";
const ED_SEED: [u8; 32] = [9; 32];
/// The fixed clock: 2025-06-15T15:06:40Z.
const NOW: UnixMillis = UnixMillis(1_750_000_000_000);
/// [`NOW`] in seconds.
const T: i64 = 1_750_000_000;
const APP_SECRET: &str = "attack-suite-app-secret-of-at-least-32-bytes";

// ---------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------

fn fixture(detail: &'static str) -> Error {
  Error::new(ErrorKind::Internal, detail)
}

fn kind<T>(r: Result<T>) -> Option<ErrorKind> {
  r.err().map(|e| e.kind())
}

fn hs_ring() -> Result<KeyRing> {
  let k = Key::from_parts(
    KID.into(),
    Algorithm::Hs256,
    Zeroizing::new(HS_KEY.to_vec()),
    KeyState::Current,
    UnixMillis(0),
  )?;
  KeyRing::from_parts(1, Algorithm::Hs256, vec![k])
}

fn ed_ring() -> Result<KeyRing> {
  let k = Key::from_parts(
    ED_KID.into(),
    Algorithm::EdDsa,
    Zeroizing::new(ED_SEED.to_vec()),
    KeyState::Current,
    UnixMillis(0),
  )?;
  KeyRing::from_parts(1, Algorithm::EdDsa, vec![k])
}

fn ed_public() -> [u8; 32] {
  ed25519_dalek::SigningKey::from_bytes(&ED_SEED)
    .verifying_key()
    .to_bytes()
}

/// A JSON object written member by member from raw JSON texts. `edits` replace a member's
/// value (`Some`), remove it (`None`), or append a new member; names are written as given,
/// so `\u0073ub` stays an escape.
fn object(defaults: Vec<(&str, String)>, edits: &[(&str, Option<&str>)]) -> String {
  let mut members: Vec<(String, String)> = defaults
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v))
    .collect();
  for (name, value) in edits {
    match (members.iter().position(|(n, _)| n == name), value) {
      (Some(i), Some(v)) => members[i].1 = (*v).to_owned(),
      (Some(i), None) => {
        members.remove(i);
      }
      (None, Some(v)) => members.push(((*name).to_owned(), (*v).to_owned())),
      (None, None) => {}
    }
  }
  let body: Vec<String> = members
    .iter()
    .map(|(n, v)| format!("\"{n}\":{v}"))
    .collect();
  format!("{{{}}}", body.join(","))
}

fn header(edits: &[(&str, Option<&str>)]) -> String {
  object(
    vec![
      ("alg", "\"HS256\"".into()),
      ("typ", "\"at+jwt\"".into()),
      ("kid", format!("\"{KID}\"")),
    ],
    edits,
  )
}

fn ed_header(edits: &[(&str, Option<&str>)]) -> String {
  object(
    vec![
      ("alg", "\"EdDSA\"".into()),
      ("typ", "\"at+jwt\"".into()),
      ("kid", format!("\"{ED_KID}\"")),
    ],
    edits,
  )
}

/// A valid payload for user "alice", issued at [`NOW`], expiring 10 minutes later.
fn payload(edits: &[(&str, Option<&str>)]) -> String {
  object(
    vec![
      ("iss", "\"tandem-session\"".into()),
      ("sub", "\"alice\"".into()),
      ("aud", "\"tandem-session\"".into()),
      ("exp", (T + 600).to_string()),
      ("nbf", T.to_string()),
      ("iat", T.to_string()),
      ("jti", "\"jti-1\"".into()),
      ("sid", "\"sid-1\"".into()),
      ("dv", "0".into()),
    ],
    edits,
  )
}

/// Sign exact bytes with the HS256 ring's key.
fn sign_hs(h: impl AsRef<[u8]>, p: impl AsRef<[u8]>) -> Result<String> {
  jws::sign(
    h.as_ref(),
    p.as_ref(),
    &EncodingKey::from_secret(&HS_KEY),
    Algorithm::Hs256,
  )
}

/// Sign exact bytes with the EdDSA ring's key.
fn sign_ed(h: impl AsRef<[u8]>, p: impl AsRef<[u8]>) -> Result<String> {
  use ed25519_dalek::pkcs8::EncodePrivateKey;
  let der = ed25519_dalek::SigningKey::from_bytes(&ED_SEED)
    .to_pkcs8_der()
    .map_err(|_| fixture("pkcs8"))?;
  jws::sign(
    h.as_ref(),
    p.as_ref(),
    &EncodingKey::from_ed_der(der.as_bytes()),
    Algorithm::EdDsa,
  )
}

/// base64url HMAC-SHA-256 of an arbitrary signing input (even a non-canonical one).
fn mac(input: &[u8], key: &[u8]) -> Result<String> {
  jsonwebtoken::crypto::sign(
    input,
    &EncodingKey::from_secret(key),
    jsonwebtoken::Algorithm::HS256,
  )
  .map_err(|_| fixture("hmac"))
}

/// A token whose header and payload segments are the given texts, MACed with `key`.
fn mac_token(h_b64: &str, p_b64: &str, key: &[u8]) -> Result<String> {
  let input = format!("{h_b64}.{p_b64}");
  Ok(format!("{input}.{}", mac(input.as_bytes(), key)?))
}

fn b64(s: impl AsRef<[u8]>) -> String {
  encoding::encode(s.as_ref())
}

fn verify_at(
  ring: &KeyRing,
  policy: &Policy,
  now: UnixMillis,
  token: &str,
) -> Result<AccessClaims> {
  access::verify(ring, policy, now, token.as_bytes())
}

fn verify_hs(token: &str) -> Result<AccessClaims> {
  verify_at(&hs_ring()?, &Policy::default(), NOW, token)
}

fn verify_ed(token: &str) -> Result<AccessClaims> {
  verify_at(&ed_ring()?, &Policy::default(), NOW, token)
}

fn hs(h: &str, p: &str) -> Result<Option<ErrorKind>> {
  Ok(kind(verify_hs(&sign_hs(h, p)?)))
}

/// The three segments of a token.
fn segments(token: &str) -> Result<[String; 3]> {
  let v: Vec<&str> = token.split('.').collect();
  match v.as_slice() {
    [h, p, s] => Ok([(*h).into(), (*p).into(), (*s).into()]),
    _ => Err(fixture("three segments")),
  }
}

/// Base64url spellings of the same bytes that a lenient decoder accepts: the last character
/// changed in its unused bits only.
fn trailing_bit_twins(seg: &str) -> Vec<String> {
  let Some(last) = seg.chars().last() else {
    return vec![];
  };
  let index = |c: char| {
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
      .find(c)
      .unwrap_or(0)
  };
  let unused = match seg.len() % 4 {
    2 => 4,
    3 => 2,
    _ => 0,
  };
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    .chars()
    .filter(|&c| c != last && index(c) >> unused == index(last) >> unused)
    .map(|c| format!("{}{c}", &seg[..seg.len() - 1]))
    .collect()
}

// ---------------------------------------------------------------------------------------
// Controls
// ---------------------------------------------------------------------------------------

#[test]
fn the_fixture_tokens_verify_so_every_rejection_below_comes_from_its_rule() -> Result<()> {
  let c = verify_hs(&sign_hs(header(&[]), payload(&[]))?)?;
  assert_eq!(
    (
      c.sub.as_str(),
      c.sid.as_str(),
      c.jti.as_str(),
      c.kid.as_str()
    ),
    ("alice", "sid-1", "jti-1", KID)
  );
  let c = verify_ed(&sign_ed(ed_header(&[]), payload(&[]))?)?;
  assert_eq!((c.sub.as_str(), c.kid.as_str()), ("alice", ED_KID));
  // And tokens the ring itself signs.
  let extra = serde_json::Map::new();
  let subject = Subject {
    user_id: "alice",
    session: "sid-1",
    data_version: 3,
    claims: &extra,
  };
  for ring in [hs_ring()?, ed_ring()?] {
    let t = access::sign(&ring, &Policy::default(), NOW, &subject, None)?;
    assert_eq!(verify_at(&ring, &Policy::default(), NOW, &t.token)?.dv, 3);
  }
  Ok(())
}

#[test]
fn a_reissued_token_never_outlives_the_one_it_replaces() -> Result<()> {
  // A data write re-signs the access token with a new data version; it must not extend
  // the session's access past the presented token's expiry.
  let extra = serde_json::Map::new();
  let subject = Subject {
    user_id: "alice",
    session: "sid-1",
    data_version: 4,
    claims: &extra,
  };
  let ring = hs_ring()?;
  let p = Policy::default();
  let now = NOW.secs();
  let t = access::sign(&ring, &p, NOW, &subject, Some(now + 60))?;
  assert_eq!(t.exp, now + 60);
  let t = access::sign(&ring, &p, NOW, &subject, Some(now + p.ttl_secs + 999))?;
  assert_eq!(t.exp, now + p.ttl_secs, "never longer than a fresh token");
  assert_eq!(
    kind(access::sign(&ring, &p, NOW, &subject, Some(now))),
    Some(ErrorKind::TokenExpired)
  );
  Ok(())
}

// ---------------------------------------------------------------------------------------
// 10.1 Header and algorithm attacks
// ---------------------------------------------------------------------------------------

#[test]
fn alg_none_is_refused_with_an_empty_a_junk_or_a_real_signature() -> Result<()> {
  // ATK-01, ATK-03, RFC-09.
  let p = b64(payload(&[]));
  let none = header(&[("alg", Some("\"none\""))]);
  let h = b64(&none);
  // Empty signature: the shape rule refuses it first (as A.5 itself).
  assert_eq!(
    kind(verify_hs(&format!("eyJhbGciOiJub25lIn0.{p}."))),
    Some(ErrorKind::TokenMalformed)
  );
  assert_eq!(
    kind(verify_hs(&format!("{h}.{p}."))),
    Some(ErrorKind::TokenMalformed)
  );
  // With a signature, the algorithm rule: junk, and a real HS256 MAC of exactly H.P.
  assert_eq!(
    kind(verify_hs(&format!("{h}.{p}.{}", "A".repeat(43)))),
    Some(ErrorKind::TokenInvalid)
  );
  assert_eq!(hs(&none, &payload(&[]))?, Some(ErrorKind::TokenInvalid));
  assert_eq!(
    kind(verify_hs(&mac_token("eyJhbGciOiJub25lIn0", &p, &HS_KEY)?)),
    Some(ErrorKind::TokenInvalid)
  );
  assert_eq!(hs(&header(&[]), &payload(&[]))?, None, "control");
  Ok(())
}

#[test]
fn none_in_any_letter_case_is_refused() -> Result<()> {
  // ATK-02: the allow-list is exact and case-sensitive.
  for (alg, exact) in [
    ("none", "eyJhbGciOiJub25lIn0"),
    ("None", "eyJhbGciOiJOb25lIn0"),
    ("NONE", "eyJhbGciOiJOT05FIn0"),
    ("nOnE", "eyJhbGciOiJuT25FIn0"),
  ] {
    assert_eq!(b64(format!(r#"{{"alg":"{alg}"}}"#)), exact, "§1.4 vector");
    let h = header(&[("alg", Some(&format!("\"{alg}\"")))]);
    assert_eq!(
      hs(&h, &payload(&[]))?,
      Some(ErrorKind::TokenInvalid),
      "{alg}"
    );
    let t = mac_token(exact, &b64(payload(&[])), &HS_KEY)?;
    assert_eq!(kind(verify_hs(&t)), Some(ErrorKind::TokenInvalid), "{alg}");
  }
  Ok(())
}

#[test]
fn a_missing_or_mistyped_alg_is_refused() -> Result<()> {
  // ATK-04, RFC-07.
  let p = payload(&[]);
  assert_eq!(
    hs(&header(&[("alg", None)]), &p)?,
    Some(ErrorKind::TokenMalformed)
  );
  for (alg, want) in [
    ("null", ErrorKind::TokenMalformed),
    ("123", ErrorKind::TokenMalformed),
    ("true", ErrorKind::TokenMalformed),
    ("false", ErrorKind::TokenMalformed),
    ("0", ErrorKind::TokenMalformed),
    ("[\"HS256\"]", ErrorKind::TokenMalformed),
    ("{\"HS256\":1}", ErrorKind::TokenMalformed),
    ("\"\"", ErrorKind::TokenInvalid),
    ("\"HS256 \"", ErrorKind::TokenInvalid),
    ("\" HS256\"", ErrorKind::TokenInvalid),
    ("\"hs256\"", ErrorKind::TokenInvalid),
    ("\"HS256\\u0000\"", ErrorKind::TokenInvalid),
    ("\"HS2\\u0035\\u0036\"", ErrorKind::TokenInvalid),
  ] {
    // An escaped spelling of "HS256" is HS256: names and values compare after unescaping.
    let want = if alg == "\"HS2\\u0035\\u0036\"" {
      None
    } else {
      Some(want)
    };
    assert_eq!(hs(&header(&[("alg", Some(alg))]), &p)?, want, "{alg}");
  }
  Ok(())
}

#[test]
fn algorithms_off_the_allow_list_are_refused_whatever_the_signature() -> Result<()> {
  // ATK-05, RFC-08. Each with a real MAC of its own family where that exists.
  let p = payload(&[]);
  for (alg, jwt_alg) in [
    ("HS384", Some(jsonwebtoken::Algorithm::HS384)),
    ("HS512", Some(jsonwebtoken::Algorithm::HS512)),
    ("RS256", None),
    ("PS256", None),
    ("ES256", None),
    ("ES384", None),
    ("Ed25519", None),
    ("ed25519", None),
  ] {
    let h = b64(header(&[("alg", Some(&format!("\"{alg}\"")))]));
    let input = format!("{h}.{}", b64(&p));
    let sig = match jwt_alg {
      Some(a) => {
        jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(&HS_KEY), a)
          .map_err(|_| fixture("hmac"))?
      }
      None => mac(input.as_bytes(), &HS_KEY)?,
    };
    assert_eq!(
      kind(verify_hs(&format!("{input}.{sig}"))),
      Some(ErrorKind::TokenInvalid),
      "{alg}"
    );
  }
  Ok(())
}

/// Every textual or binary form of the EdDSA ring's public key that a confused verifier might
/// use as an HMAC secret (ATK-06).
fn public_key_forms() -> Result<Vec<(&'static str, Vec<u8>)>> {
  use base64::engine::general_purpose::STANDARD;
  use base64::Engine as _;
  let pk = ed_public();
  let mut der = vec![
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
  ];
  der.extend_from_slice(&pk);
  let pem = format!(
    "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
    STANDARD.encode(&der)
  );
  let mut ssh_blob = Vec::new();
  ssh_blob.extend_from_slice(&11u32.to_be_bytes());
  ssh_blob.extend_from_slice(b"ssh-ed25519");
  ssh_blob.extend_from_slice(&32u32.to_be_bytes());
  ssh_blob.extend_from_slice(&pk);
  let ssh = format!("ssh-ed25519 {}", STANDARD.encode(&ssh_blob));
  let set = jwks(&ed_ring()?, NOW);
  let jwk = set["keys"]
    .get(0)
    .cloned()
    .ok_or_else(|| fixture("one public key"))?;
  let thumbprint_jwk = format!(
    r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
    encoding::encode(&pk)
  );
  let hex: String = pk.iter().map(|b| format!("{b:02x}")).collect();
  Ok(vec![
    ("raw 32 bytes", pk.to_vec()),
    ("base64url (JWK x)", encoding::encode(&pk).into_bytes()),
    ("base64", STANDARD.encode(pk).into_bytes()),
    ("hex", hex.into_bytes()),
    ("DER SPKI", der.clone()),
    ("PEM", pem.clone().into_bytes()),
    (
      "PEM without final newline",
      pem.trim_end().as_bytes().to_vec(),
    ),
    ("PEM after a newline", format!("\n{pem}").into_bytes()),
    ("PEM after a space", format!(" {pem}").into_bytes()),
    ("PEM after a tab", format!("\t{pem}").into_bytes()),
    ("PEM with CR LF", pem.replace('\n', "\r\n").into_bytes()),
    (
      "JWK JSON as published",
      serde_json::to_vec(&jwk).map_err(|_| fixture("json"))?,
    ),
    ("JWK JSON (thumbprint form)", thumbprint_jwk.into_bytes()),
    (
      "JWKS JSON",
      serde_json::to_vec(&set).map_err(|_| fixture("json"))?,
    ),
    ("SSH", ssh.clone().into_bytes()),
    (
      "SSH with comment",
      format!("{ssh} attacker@host\n").into_bytes(),
    ),
  ])
}

#[test]
fn hs256_macs_keyed_with_our_eddsa_public_key_in_any_form_are_refused() -> Result<()> {
  // ATK-06 (CVE-2015-9235, CVE-2016-10555, CVE-2022-29217, CVE-2023-48223 …).
  let p = payload(&[]);
  assert!(verify_ed(&sign_ed(ed_header(&[]), &p)?).is_ok(), "control");
  let h = b64(ed_header(&[("alg", Some("\"HS256\""))]));
  for (form, secret) in public_key_forms()? {
    let t = mac_token(&h, &b64(&p), &secret)?;
    // The forgery is real: a verifier that used this form as an HMAC key would accept it.
    let naive = RawKey {
      alg: Algorithm::Hs256,
      key: DecodingKey::from_secret(&secret),
    };
    assert!(
      jws::verify(t.as_bytes(), 8192, |_| Ok(&naive)).is_ok(),
      "{form}: fixture"
    );
    let e = verify_ed(&t).err();
    assert_eq!(
      e.as_ref().map(Error::kind),
      Some(ErrorKind::TokenInvalid),
      "{form}"
    );
    assert_eq!(
      e.map(|e| e.detail()),
      Some("alg is not the key's algorithm"),
      "{form}"
    );
  }
  Ok(())
}

#[test]
fn an_eddsa_token_naming_our_hmac_key_is_refused_even_with_the_same_32_bytes_as_seed() -> Result<()>
{
  // ATK-06 the other way round: an HS256 ring, header alg EdDSA, signed by an Ed25519 key
  // whose seed is the HMAC key itself.
  use ed25519_dalek::pkcs8::EncodePrivateKey;
  let der = ed25519_dalek::SigningKey::from_bytes(&HS_KEY)
    .to_pkcs8_der()
    .map_err(|_| fixture("pkcs8"))?;
  let t = jws::sign(
    header(&[("alg", Some("\"EdDSA\""))]).as_bytes(),
    payload(&[]).as_bytes(),
    &EncodingKey::from_ed_der(der.as_bytes()),
    Algorithm::EdDsa,
  )?;
  assert_eq!(kind(verify_hs(&t)), Some(ErrorKind::TokenInvalid));
  Ok(())
}

#[test]
fn a_token_with_an_empty_signature_segment_is_refused() -> Result<()> {
  // ATK-07 (CVE-2020-28042).
  let [h, p, s] = segments(&sign_hs(header(&[]), payload(&[]))?)?;
  assert!(verify_hs(&format!("{h}.{p}.{s}")).is_ok(), "control");
  for bad in [format!("{h}.{p}."), format!("{h}.{p}")] {
    assert_eq!(kind(verify_hs(&bad)), Some(ErrorKind::TokenMalformed));
  }
  Ok(())
}

#[test]
fn a_mac_made_with_an_empty_key_is_refused_and_no_verifier_can_have_an_empty_key() -> Result<()> {
  // ATK-08 (CVE-2019-20933, CVE-2022-23540).
  let h = b64(header(&[]));
  let p = b64(payload(&[]));
  for blank in [&b""[..], &[0u8][..], &[0u8; 32][..]] {
    let t = mac_token(&h, &p, blank)?;
    assert_eq!(kind(verify_hs(&t)), Some(ErrorKind::TokenInvalid));
  }
  for material in [vec![], vec![0u8; 16], vec![0u8; 31]] {
    assert_eq!(
      kind(Key::from_parts(
        KID.into(),
        Algorithm::Hs256,
        Zeroizing::new(material),
        KeyState::Current,
        UnixMillis(0)
      )),
      Some(ErrorKind::KeyMaterialInvalid)
    );
  }
  assert_eq!(
    kind(KeyRing::from_parts(1, Algorithm::Hs256, vec![])),
    Some(ErrorKind::KeyMaterialInvalid)
  );
  assert_eq!(kind(Secrets::new(&[""])), Some(ErrorKind::ConfigInvalid));
  assert_eq!(
    kind(Secrets::new::<&str>(&[])),
    Some(ErrorKind::ConfigInvalid)
  );
  assert_eq!(
    kind(Secrets::new(&["secret"])),
    Some(ErrorKind::ConfigInvalid)
  );
  Ok(())
}

#[test]
fn macs_made_with_common_secrets_are_refused() -> Result<()> {
  // ATK-09: a small embedded list in the spirit of jwt_tool's jwt-common.txt.
  let h = b64(header(&[]));
  let p = b64(payload(&[]));
  for secret in [
    "secret",
    "your-256-bit-secret",
    "your-512-bit-secret",
    "12345",
    "123456",
    "password",
    "changeme",
    "jwt",
    "key",
    "admin",
    "tandem-session",
    "HS256",
    KID,
    APP_SECRET,
    "secretsecretsecretsecretsecretse",
  ] {
    let t = mac_token(&h, &p, secret.as_bytes())?;
    assert_eq!(
      kind(verify_hs(&t)),
      Some(ErrorKind::TokenInvalid),
      "{secret}"
    );
  }
  assert!(verify_hs(&mac_token(&h, &p, &HS_KEY)?).is_ok(), "control");
  Ok(())
}

#[test]
fn a_broken_signature_is_refused_and_leaves_the_real_token_valid() -> Result<()> {
  // ATK-10, core half: the verifier keeps no state, so failures change nothing.
  let t = sign_hs(header(&[]), payload(&[]))?;
  let [h, p, s] = segments(&t)?;
  let flipped = {
    let mut b = s.clone().into_bytes();
    b[10] = if b[10] == b'A' { b'B' } else { b'A' };
    String::from_utf8_lossy(&b).into_owned()
  };
  for (bad, want) in [
    (
      format!("{h}.{p}.{}", &s[..s.len() - 4]),
      ErrorKind::TokenInvalid,
    ),
    (format!("{h}.{p}.{flipped}"), ErrorKind::TokenInvalid),
    (format!("{h}.{p}.{s}AAAA"), ErrorKind::TokenInvalid),
  ] {
    for _ in 0..3 {
      assert_eq!(kind(verify_hs(&bad)), Some(want), "{bad}");
    }
  }
  assert!(verify_hs(&t).is_ok());
  Ok(())
}

#[test]
fn es256_tokens_and_psychic_signatures_are_refused() -> Result<()> {
  // ATK-11 and ATK-12: ES256 is not supported at all, so every ES256 token is refused,
  // the CVE-2022-21449 signatures of §1.4 included, whatever ring and kid.
  let p = b64(payload(&[]));
  for sig in [
    "A".repeat(86),
    "MAYCAQACAQA".to_owned(),
    "_____wAAAAD__________7zm-q2nF56E87nKwvxjJVH_____AAAAAP__________vOb6racXnoTzucrC_GMlUQ"
      .to_owned(),
  ] {
    let h = b64(header(&[("alg", Some("\"ES256\""))]));
    assert_eq!(
      kind(verify_hs(&format!("{h}.{p}.{sig}"))),
      Some(ErrorKind::TokenInvalid)
    );
    let h = b64(ed_header(&[("alg", Some("\"ES256\""))]));
    assert_eq!(
      kind(verify_ed(&format!("{h}.{p}.{sig}"))),
      Some(ErrorKind::TokenInvalid)
    );
  }
  Ok(())
}

/// `a + b` for 256-bit little-endian numbers (no overflow for the values used here).
fn add_le(a: &[u8], b: &[u8; 32]) -> [u8; 32] {
  let mut out = [0u8; 32];
  let mut carry = 0u16;
  for i in 0..32 {
    let s = u16::from(a[i]) + u16::from(b[i]) + carry;
    out[i] = (s & 0xff) as u8;
    carry = s >> 8;
  }
  out
}

#[test]
fn ed25519_signatures_with_s_plus_l_or_small_order_r_are_refused() -> Result<()> {
  // ATK-13 (RFC 8032 §5.1.7). L, the order of the base point, little-endian.
  const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
  ];
  let t = sign_ed(ed_header(&[]), payload(&[]))?;
  assert!(verify_ed(&t).is_ok(), "control");
  let [h, p, s] = segments(&t)?;
  let sig = encoding::decode_strict(s.as_bytes(), 64, ErrorKind::Internal)?;
  let mut twin = sig.clone();
  twin[32..].copy_from_slice(&add_le(&sig[32..], &L));
  assert_ne!(twin, sig);
  let t2 = format!("{h}.{p}.{}", encoding::encode(&twin));
  assert_eq!(kind(verify_ed(&t2)), Some(ErrorKind::TokenInvalid), "S + L");
  // R of small order (the identity; a point of order 2), with S = 0 or the real S.
  let identity = {
    let mut r = [0u8; 32];
    r[0] = 1;
    r
  };
  let order_two = {
    let mut r = [0xffu8; 32];
    r[0] = 0xec;
    r[31] = 0x7f;
    r
  };
  for r in [identity, order_two] {
    for s_half in [[0u8; 32].to_vec(), sig[32..].to_vec()] {
      let mut forged = r.to_vec();
      forged.extend_from_slice(&s_half);
      let t3 = format!("{h}.{p}.{}", encoding::encode(&forged));
      assert_eq!(kind(verify_ed(&t3)), Some(ErrorKind::TokenInvalid));
    }
  }
  // Our public keys come from seeds only, so they are never of small order.
  for seed in [[0u8; 32], ED_SEED, [0xff; 32]] {
    let vk = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
    assert!(!vk.is_weak());
  }
  Ok(())
}

#[test]
fn an_embedded_jwk_is_never_trusted() -> Result<()> {
  // ATK-14 (CVE-2018-0114), RFC-19: the attacker's key in `jwk`, token signed with it, with
  // the attacker's kid and with ours.
  use ed25519_dalek::pkcs8::EncodePrivateKey;
  let attacker = ed25519_dalek::SigningKey::from_bytes(&[0x42; 32]);
  let der = attacker.to_pkcs8_der().map_err(|_| fixture("pkcs8"))?;
  let jwk = format!(
    r#"{{"kty":"OKP","crv":"Ed25519","x":"{}"}}"#,
    encoding::encode(attacker.verifying_key().as_bytes())
  );
  for kid in ["\"BBBBBBBBBBBBBBBB\"", &format!("\"{ED_KID}\"")] {
    let h = ed_header(&[("kid", Some(kid)), ("jwk", Some(&jwk))]);
    let t = jws::sign(
      h.as_bytes(),
      payload(&[]).as_bytes(),
      &EncodingKey::from_ed_der(der.as_bytes()),
      Algorithm::EdDsa,
    )?;
    assert_eq!(kind(verify_ed(&t)), Some(ErrorKind::TokenInvalid), "{kid}");
  }
  // Even with our own key's signature, the member alone refuses the token.
  let h = ed_header(&[("jwk", Some(&jwk))]);
  assert_eq!(
    kind(verify_ed(&sign_ed(&h, payload(&[]))?)),
    Some(ErrorKind::TokenInvalid)
  );
  Ok(())
}

#[test]
fn remote_key_urls_are_refused_before_anything_is_fetched() -> Result<()> {
  // ATK-15, core half (RFC-18): `jku` and `x5u` are refused by the header parser; the
  // core has no network code at all. The "no outbound connection" half is an http: test.
  let p = payload(&[]);
  for member in ["jku", "x5u"] {
    for url in [
      "\"https://attacker.example/jwks.json\"",
      "\"http://127.0.0.1:1/\"",
      "\"http://169.254.169.254/latest/meta-data/\"",
    ] {
      let h = header(&[(member, Some(url))]);
      assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenInvalid), "{member} {url}");
    }
  }
  Ok(())
}

#[test]
fn an_x5c_chain_or_thumbprint_in_the_header_is_refused() -> Result<()> {
  // ATK-16, RFC-19.
  let p = payload(&[]);
  for (member, value) in [
    ("x5c", "[\"MIIBszCCAVmgAwIBAgIUQ\"]"),
    ("x5t", "\"dGh1bWJwcmludA\""),
    ("x5t#S256", "\"dGh1bWJwcmludA\""),
  ] {
    let h = header(&[(member, Some(value))]);
    assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenInvalid), "{member}");
  }
  Ok(())
}

#[test]
fn kid_injections_name_no_key_and_touch_nothing() -> Result<()> {
  // ATK-17 (path traversal, MAC with an empty / NUL key), ATK-18 (SQL, MAC with "1"),
  // ATK-19 (command injection, answered at once), RFC-17.
  let p = b64(payload(&[]));
  let started = Instant::now();
  for (kid, key) in [
    ("../../../../../../dev/null", &b""[..]),
    ("/dev/null", &b"\0"[..]),
    ("..\\\\..\\\\windows\\\\win.ini", &b""[..]),
    ("x' UNION SELECT '1';--", &b"1"[..]),
    ("|sleep 10", &HS_KEY[..]),
    ("| curl http://127.0.0.1:1/", &HS_KEY[..]),
    ("$(sleep 10)", &HS_KEY[..]),
    ("`sleep 10`", &HS_KEY[..]),
  ] {
    let h = b64(header(&[("kid", Some(&format!("\"{kid}\"")))]));
    let t = mac_token(&h, &p, key)?;
    assert_eq!(kind(verify_hs(&t)), Some(ErrorKind::KeyUnknown), "{kid}");
  }
  assert!(
    started.elapsed().as_secs() < 5,
    "nothing was executed: a `sleep 10` would take 10 s"
  );
  Ok(())
}

#[test]
fn odd_kid_shapes_are_refused() -> Result<()> {
  // ATK-20, RFC-17.
  let p = payload(&[]);
  let long64 = format!("\"{}\"", "k".repeat(64));
  let long65 = format!("\"{}\"", "k".repeat(65));
  let huge = format!("\"{}\"", "k".repeat(10 * 1024));
  let cyrillic_a = format!("\"{}\"", KID.replacen('A', "\u{0410}", 1));
  let fullwidth = format!("\"{}\"", KID.replacen('A', "\u{ff21}", 1));
  for (kid, want) in [
    ("\"\"", ErrorKind::KeyUnknown),
    (&long64, ErrorKind::KeyUnknown),
    (&cyrillic_a, ErrorKind::KeyUnknown),
    (&fullwidth, ErrorKind::KeyUnknown),
    ("\"aaaaaaaaaaaaaaaa\"", ErrorKind::KeyUnknown),
    ("\"AAAAAAAAAAAAAAAA \"", ErrorKind::KeyUnknown),
    ("\"AAAAAAAAAAAAAAA\"", ErrorKind::KeyUnknown),
    ("\"AAAAAAAAAAAAAAAA\\u0000\"", ErrorKind::KeyUnknown),
    (&long65, ErrorKind::TokenMalformed),
    (&huge, ErrorKind::TokenMalformed),
    ("1", ErrorKind::TokenMalformed),
    ("16", ErrorKind::TokenMalformed),
    ("{}", ErrorKind::TokenMalformed),
    ("[\"AAAAAAAAAAAAAAAA\"]", ErrorKind::TokenMalformed),
    ("null", ErrorKind::TokenMalformed),
    ("true", ErrorKind::TokenMalformed),
  ] {
    assert_eq!(
      hs(&header(&[("kid", Some(kid))]), &p)?,
      Some(want),
      "{kid:.40}"
    );
  }
  // A header without kid, and an escaped spelling of our kid (which *is* our kid).
  assert_eq!(
    hs(&header(&[("kid", None)]), &p)?,
    Some(ErrorKind::TokenInvalid)
  );
  let escaped = format!("\"\\u0041{}\"", &KID[1..]);
  assert_eq!(hs(&header(&[("kid", Some(&escaped))]), &p)?, None);
  Ok(())
}

#[test]
fn crit_in_any_form_is_refused() -> Result<()> {
  // ATK-21, RFC-15, RFC-36.
  let p = payload(&[]);
  for crit in [
    "[]",
    "[\"alg\"]",
    "\"x\"",
    "[\"exp\"]",
    "[\"http://example.com/UNDEFINED\"]",
    "[\"b64\"]",
    "null",
    "[\"kid\",\"kid\"]",
  ] {
    let h = header(&[("crit", Some(crit))]);
    assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenInvalid), "{crit}");
  }
  let h = header(&[("b64", Some("false")), ("crit", Some("[\"b64\"]"))]);
  assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenInvalid), "RFC 7797");
  let h = header(&[("b64", Some("false"))]);
  assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenInvalid), "b64 alone");
  let h = header(&[("\\u0063rit", Some("[\"exp\"]"))]);
  assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenInvalid), "escaped crit");
  Ok(())
}

#[test]
fn nested_jwe_and_json_serialised_tokens_are_refused() -> Result<()> {
  // ATK-22 (CVE-2022-39227), RFC-01, RFC-20, RFC-34.
  let p = payload(&[]);
  let inner = sign_hs(header(&[]), &p)?;
  assert!(verify_hs(&inner).is_ok(), "control");
  // Nested: `cty` JWT, and a token whose payload is another token.
  for cty in ["\"JWT\"", "\"jwt\"", "\"at+jwt\""] {
    let t = sign_hs(header(&[("cty", Some(cty))]), &inner)?;
    assert_eq!(
      kind(verify_hs(&t)),
      Some(ErrorKind::TokenInvalid),
      "cty {cty}"
    );
  }
  assert_eq!(
    kind(verify_hs(&sign_hs(header(&[]), &inner)?)),
    Some(ErrorKind::TokenMalformed),
    "a JWT as payload is not a claims set"
  );
  // JWE headers, validly MACed.
  for (m, v) in [("enc", "\"A128GCM\""), ("zip", "\"DEF\"")] {
    assert_eq!(
      hs(&header(&[(m, Some(v))]), &p)?,
      Some(ErrorKind::TokenInvalid),
      "{m}"
    );
  }
  // JWE compact (five segments), JSON serialisation, and polyglots.
  let [h, pl, s] = segments(&inner)?;
  let json = format!(r#"{{"payload":"{pl}","protected":"{h}","signature":"{s}"}}"#);
  for bad in [
    format!("{h}.AAAA.AAAA.{pl}.{s}"),
    json.clone(),
    format!(r#"{{"  {h}.{pl}.":"","protected":"{h}","payload":"{pl}","signature":"{s}"}}"#),
    format!("{inner}{json}"),
    format!("{inner} {json}"),
    format!(r#"{{"payload":"{pl}","signatures":[{{"protected":"{h}","signature":"{s}"}}]}}"#),
  ] {
    assert_eq!(
      kind(verify_hs(&bad)),
      Some(ErrorKind::TokenMalformed),
      "{bad:.60}"
    );
  }
  Ok(())
}

#[test]
fn only_the_access_token_type_is_accepted() -> Result<()> {
  // ATK-23, RFC-30.
  let p = payload(&[]);
  for (typ, ok) in [
    (Some("\"at+jwt\""), true),
    (Some("\"AT+JWT\""), true),
    (Some("\"application/at+jwt\""), true),
    (Some("\"Application/AT+jwt\""), true),
    (None, false),
    (Some("\"JWT\""), false),
    (Some("\"jwt\""), false),
    (Some("\"\""), false),
    (Some("\"dpop+jwt\""), false),
    (Some("\"logout+jwt\""), false),
    (Some("\"secevent+jwt\""), false),
    (Some("\"csrf\""), false),
    (Some("\"application/jwt\""), false),
    (Some("\"at+jwt \""), false),
    (Some("\"application/at+jwt; charset=utf-8\""), false),
    (Some("\"x/at+jwt\""), false),
  ] {
    let want = if ok {
      None
    } else {
      Some(ErrorKind::TokenInvalid)
    };
    assert_eq!(hs(&header(&[("typ", typ)]), &p)?, want, "{typ:?}");
  }
  Ok(())
}

// ---------------------------------------------------------------------------------------
// 10.2 Claims and parsing attacks
// ---------------------------------------------------------------------------------------

#[test]
fn exp_is_required_numeric_and_enforced_with_the_leeway() -> Result<()> {
  // ATK-24, RFC-21, RFC-24 (CVE-2026-25537). Default leeway 5 s; some rows with leeway 0.
  let h = header(&[]);
  let zero = Policy {
    leeway_secs: 0,
    ..Policy::default()
  };
  // Issued 300 s before now, so that an exp a little in the past is not also before iat.
  let issued = (T - 300).to_string();
  let check = |exp: Option<&str>, policy: &Policy, now: UnixMillis| -> Result<Option<ErrorKind>> {
    let at = Some(issued.as_str());
    let t = sign_hs(&h, payload(&[("exp", exp), ("iat", at), ("nbf", at)]))?;
    Ok(kind(verify_at(&hs_ring()?, policy, now, &t)))
  };
  let d = Policy::default();
  let past = |s: i64| (T - s).to_string();
  for (exp, policy, want) in [
    (None, &d, Some(ErrorKind::TokenMalformed)),
    (Some(past(6)), &d, Some(ErrorKind::TokenExpired)),
    (Some(past(5)), &d, Some(ErrorKind::TokenExpired)),
    (Some(past(4)), &d, None),
    (Some(T.to_string()), &zero, Some(ErrorKind::TokenExpired)),
    (Some((T + 1).to_string()), &zero, None),
    (
      Some("\"9999999999\"".into()),
      &d,
      Some(ErrorKind::TokenMalformed),
    ),
    (Some("null".into()), &d, Some(ErrorKind::TokenMalformed)),
    (Some("true".into()), &d, Some(ErrorKind::TokenMalformed)),
    (Some("{}".into()), &d, Some(ErrorKind::TokenMalformed)),
    (
      Some("[9999999999]".into()),
      &d,
      Some(ErrorKind::TokenMalformed),
    ),
    (Some("1e400".into()), &d, Some(ErrorKind::TokenMalformed)),
    (Some("-1e400".into()), &d, Some(ErrorKind::TokenMalformed)),
    (Some("NaN".into()), &d, Some(ErrorKind::TokenMalformed)),
    (Some("Infinity".into()), &d, Some(ErrorKind::TokenMalformed)),
    (Some("-1".into()), &d, Some(ErrorKind::TokenExpired)),
    (Some("0".into()), &d, Some(ErrorKind::TokenExpired)),
    // Numbers all the same, but no token of ours lives that long (see
    // a_token_living_longer_than_the_policy_allows_is_refused_as_expired).
    (Some("9999999999".into()), &d, Some(ErrorKind::TokenExpired)),
    (Some("1e10".into()), &d, Some(ErrorKind::TokenExpired)),
    (Some((T + 600).to_string()), &d, None),
  ] {
    assert_eq!(check(exp.as_deref(), policy, NOW)?, want, "exp {exp:?}");
  }
  // A fractional exp is a number and is compared as one.
  let half = format!("{T}.5");
  assert_eq!(check(Some(&half), &zero, NOW.plus_ms(499))?, None);
  assert_eq!(
    check(Some(&half), &zero, NOW.plus_ms(500))?,
    Some(ErrorKind::TokenExpired)
  );
  Ok(())
}

#[test]
fn nbf_and_iat_in_the_future_are_refused_beyond_the_leeway() -> Result<()> {
  // ATK-25, RFC-22, RFC-25 (iat = now + 120 s). Leeway 5 s.
  let h = header(&[]);
  for (name, value, want) in [
    (
      "nbf",
      Some((T + 6).to_string()),
      Some(ErrorKind::TokenNotYetValid),
    ),
    ("nbf", Some((T + 5).to_string()), None),
    ("nbf", Some((T - 5).to_string()), None),
    ("nbf", None, None),
    (
      "nbf",
      Some(format!("\"{T}\"")),
      Some(ErrorKind::TokenMalformed),
    ),
    ("nbf", Some("null".into()), Some(ErrorKind::TokenMalformed)),
    ("nbf", Some("false".into()), Some(ErrorKind::TokenMalformed)),
    (
      "iat",
      Some((T + 120).to_string()),
      Some(ErrorKind::TokenNotYetValid),
    ),
    (
      "iat",
      Some((T + 6).to_string()),
      Some(ErrorKind::TokenNotYetValid),
    ),
    ("iat", Some((T + 5).to_string()), None),
    ("iat", None, Some(ErrorKind::TokenMalformed)),
    (
      "iat",
      Some(format!("\"{T}\"")),
      Some(ErrorKind::TokenMalformed),
    ),
  ] {
    let p = payload(&[(name, value.as_deref())]);
    assert_eq!(hs(&h, &p)?, want, "{name} {value:?}");
  }
  Ok(())
}

#[test]
fn a_token_living_longer_than_the_policy_allows_is_refused_as_expired() -> Result<()> {
  // An outside review (issue 17, point 7): exp - iat beyond accessTokenMaxAge + leeway
  // (900 + 5 s here), or an iat far in the past, is no token we issued under this policy.
  let h = header(&[]);
  for (iat, exp, want) in [
    (T, T + 905, None),
    (T, T + 906, Some(ErrorKind::TokenExpired)),
    (T, T + 10 * 365 * 86_400, Some(ErrorKind::TokenExpired)),
    (0, T + 600, Some(ErrorKind::TokenExpired)),
    (T - 100_000, T + 600, Some(ErrorKind::TokenExpired)),
  ] {
    let p = payload(&[
      ("iat", Some(iat.to_string().as_str())),
      ("nbf", Some(iat.to_string().as_str())),
      ("exp", Some(exp.to_string().as_str())),
    ]);
    assert_eq!(hs(&h, &p)?, want, "iat {iat} exp {exp}");
  }
  Ok(())
}

#[test]
fn a_token_issued_or_valid_only_after_its_exp_is_refused_as_invalid() -> Result<()> {
  // Issue 17, point 7: an absurd iat. `iat` or `nbf` after `exp` (here with `exp` still
  // inside the leeway, so nothing else refuses it) is no token of any policy: TOKEN_INVALID,
  // not a reason to refresh. Leeway 5 s, now = T.
  let h = header(&[]);
  for (iat, nbf, exp, want) in [
    (T, T, T + 2, None),
    (T + 2, T + 2, T + 2, None),
    (T + 3, T, T + 2, Some(ErrorKind::TokenInvalid)),
    (T + 4, T + 4, T - 4, Some(ErrorKind::TokenInvalid)),
    (T, T + 3, T + 2, Some(ErrorKind::TokenInvalid)),
    (T + 4_000_000_000, T, T + 600, Some(ErrorKind::TokenInvalid)),
  ] {
    let p = payload(&[
      ("iat", Some(iat.to_string().as_str())),
      ("nbf", Some(nbf.to_string().as_str())),
      ("exp", Some(exp.to_string().as_str())),
    ]);
    assert_eq!(hs(&h, &p)?, want, "iat {iat} nbf {nbf} exp {exp}");
  }
  Ok(())
}

#[test]
fn aud_must_contain_our_audience() -> Result<()> {
  // ATK-26 (CVE-2020-26160), RFC-28.
  let h = header(&[]);
  for (aud, want) in [
    (None, Some(ErrorKind::TokenMalformed)),
    (Some("\"other\""), Some(ErrorKind::TokenInvalid)),
    (Some("\"\""), Some(ErrorKind::TokenInvalid)),
    (Some("\"TANDEM-SESSION\""), Some(ErrorKind::TokenInvalid)),
    (Some("\"tandem-session/\""), Some(ErrorKind::TokenInvalid)),
    (Some("[\"other\"]"), Some(ErrorKind::TokenInvalid)),
    (Some("[\"\"]"), Some(ErrorKind::TokenInvalid)),
    (Some("[]"), Some(ErrorKind::TokenMalformed)),
    (Some("[123]"), Some(ErrorKind::TokenMalformed)),
    (
      Some("[\"tandem-session\",1]"),
      Some(ErrorKind::TokenMalformed),
    ),
    (Some("{\"a\":1}"), Some(ErrorKind::TokenMalformed)),
    (Some("null"), Some(ErrorKind::TokenMalformed)),
    (
      Some("[[\"tandem-session\"]]"),
      Some(ErrorKind::TokenMalformed),
    ),
    (Some("[\"other\",\"tandem-session\"]"), None),
    (Some("[\"tandem-session\"]"), None),
    (Some("\"tandem-session\""), None),
  ] {
    assert_eq!(hs(&h, &payload(&[("aud", aud)]))?, want, "aud {aud:?}");
  }
  Ok(())
}

#[test]
fn iss_must_be_exactly_ours() -> Result<()> {
  // ATK-27, RFC-26. A missing `iss` is TOKEN_MALFORMED like every missing required claim;
  // a present but different one is TOKEN_INVALID.
  let h = header(&[]);
  for (iss, want) in [
    (None, Some(ErrorKind::TokenMalformed)),
    (Some("\"evil\""), Some(ErrorKind::TokenInvalid)),
    (Some("\"tandem-session/\""), Some(ErrorKind::TokenInvalid)),
    (Some("\"Tandem-Session\""), Some(ErrorKind::TokenInvalid)),
    (Some("\"tandem-session \""), Some(ErrorKind::TokenInvalid)),
    (Some("\"\""), Some(ErrorKind::TokenInvalid)),
    (Some("null"), Some(ErrorKind::TokenMalformed)),
    (Some("1"), Some(ErrorKind::TokenMalformed)),
    (
      Some("[\"tandem-session\"]"),
      Some(ErrorKind::TokenMalformed),
    ),
    (Some("\"tandem-session\""), None),
    (Some("\"tandem-\\u0073ession\""), None),
  ] {
    assert_eq!(hs(&h, &payload(&[("iss", iss)]))?, want, "iss {iss:?}");
  }
  Ok(())
}

#[test]
fn sub_sid_and_jti_must_be_non_empty_strings() -> Result<()> {
  // RFC-27 (and the same rule for `sid`, `jti`, and `dv` as an unsigned integer).
  let h = header(&[]);
  for (name, value, want) in [
    ("sub", None, Some(ErrorKind::TokenMalformed)),
    ("sub", Some("\"\""), Some(ErrorKind::TokenInvalid)),
    ("sub", Some("42"), Some(ErrorKind::TokenMalformed)),
    ("sub", Some("null"), Some(ErrorKind::TokenMalformed)),
    ("sid", None, Some(ErrorKind::TokenMalformed)),
    ("sid", Some("\"\""), Some(ErrorKind::TokenInvalid)),
    ("jti", None, Some(ErrorKind::TokenMalformed)),
    ("jti", Some("\"\""), Some(ErrorKind::TokenInvalid)),
    ("dv", None, Some(ErrorKind::TokenMalformed)),
    ("dv", Some("-1"), Some(ErrorKind::TokenMalformed)),
    ("dv", Some("1.5"), Some(ErrorKind::TokenMalformed)),
    ("dv", Some("\"1\""), Some(ErrorKind::TokenMalformed)),
    ("dv", Some("18446744073709551615"), None),
  ] {
    assert_eq!(
      hs(&h, &payload(&[(name, value)]))?,
      want,
      "{name} {value:?}"
    );
  }
  Ok(())
}

#[test]
fn duplicate_members_are_refused_even_when_validly_signed() -> Result<()> {
  // ATK-28, RFC-05.
  let dup_alg = br#"{"alg":"HS256","alg":"none"}"#;
  assert_eq!(
    b64(dup_alg),
    "eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ",
    "§1.4 vector"
  );
  assert_eq!(
    kind(verify_hs(&sign_hs(dup_alg, payload(&[]))?)),
    Some(ErrorKind::TokenMalformed)
  );
  let p = payload(&[]);
  let body = |h: &str| h.trim_end_matches('}').to_owned();
  for h in [
    format!("{},\"alg\":\"none\"}}", body(&header(&[]))),
    format!("{},\"alg\":\"HS256\"}}", body(&header(&[]))),
    format!("{},\"\\u0061lg\":\"none\"}}", body(&header(&[]))),
    format!("{},\"kid\":\"BBBBBBBBBBBBBBBB\"}}", body(&header(&[]))),
    format!("{},\"typ\":\"JWT\"}}", body(&header(&[]))),
    format!("{},\"x\":{{\"a\":1,\"a\":2}}}}", body(&header(&[]))),
  ] {
    assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenMalformed), "{h}");
  }
  let h = header(&[]);
  let base = body(&payload(&[]));
  let late = (T + 600).to_string();
  for p in [
    format!("{base},\"sub\":\"admin\"}}"),
    format!("{base},\"\\u0073ub\":\"admin\"}}"),
    format!("{base},\"s\\u0075b\":\"alice\"}}"),
    format!("{base},\"exp\":{late}}}"),
    format!(
      "{},\"exp\":{late}}}",
      body(&payload(&[("exp", Some(&(T - 3600).to_string()))]))
    ),
    format!("{base},\"aud\":\"tandem-session\"}}"),
    format!("{base},\"role\":\"user\",\"role\":\"admin\"}}"),
    format!("{base},\"role\":{{\"a\":[{{\"b\":1,\"b\":2}}]}}}}"),
  ] {
    assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenMalformed), "{p}");
  }
  Ok(())
}

/// Hostile spellings of a JSON object (ATK-29), each next to the valid `good`.
fn json_edge_cases(good: &str) -> Vec<(&'static str, Vec<u8>)> {
  let open = good.trim_end_matches('}');
  let mut bom = vec![0xef, 0xbb, 0xbf];
  bom.extend_from_slice(good.as_bytes());
  let mut overlong = format!("{open},\"x\":\"").into_bytes();
  overlong.extend_from_slice(&[0xc0, 0xaf]);
  overlong.extend_from_slice(b"\"}");
  let mut raw_nul = format!("{open},\"x\":\"a").into_bytes();
  raw_nul.extend_from_slice(b"\0b\"}");
  let utf16le: Vec<u8> = good.encode_utf16().flat_map(u16::to_le_bytes).collect();
  let utf16be: Vec<u8> = good.encode_utf16().flat_map(u16::to_be_bytes).collect();
  vec![
    ("UTF-8 BOM", bom),
    ("trailing bytes", format!("{good}x").into_bytes()),
    ("a second object", format!("{good}{{}}").into_bytes()),
    ("a comment", format!("{{/*c*/{}", &good[1..]).into_bytes()),
    ("a line comment", format!("{good}//c").into_bytes()),
    ("a trailing comma", format!("{open},}}").into_bytes()),
    ("single quotes", good.replace('"', "'").into_bytes()),
    ("top-level array", format!("[{good}]").into_bytes()),
    (
      "top-level string",
      serde_json::to_vec(good).unwrap_or_default(),
    ),
    ("top-level number", b"1".to_vec()),
    ("top-level null", b"null".to_vec()),
    ("empty", Vec::new()),
    ("NaN", format!("{open},\"x\":NaN}}").into_bytes()),
    ("Infinity", format!("{open},\"x\":Infinity}}").into_bytes()),
    (
      "-Infinity",
      format!("{open},\"x\":-Infinity}}").into_bytes(),
    ),
    ("1e400", format!("{open},\"x\":1e400}}").into_bytes()),
    ("hex number", format!("{open},\"x\":0x10}}").into_bytes()),
    ("leading zero", format!("{open},\"x\":01}}").into_bytes()),
    ("overlong UTF-8", overlong),
    (
      "lone surrogate",
      format!("{open},\"x\":\"\\ud800\"}}").into_bytes(),
    ),
    ("raw NUL in a string", raw_nul),
    ("unquoted name", format!("{open},x:1}}").into_bytes()),
    ("UTF-16LE", utf16le),
    ("UTF-16BE", utf16be),
  ]
}

#[test]
fn json_edge_cases_in_header_or_payload_are_refused_even_when_validly_signed() -> Result<()> {
  // ATK-29, RFC-04, RFC-33.
  let (h, p) = (header(&[]), payload(&[]));
  assert_eq!(hs(&h, &p)?, None, "control");
  assert_eq!(
    hs(&format!(" {h}\n"), &format!("\r\n{p}\t"))?,
    None,
    "whitespace is legal"
  );
  for (case, bad) in json_edge_cases(&h) {
    let t = sign_hs(&bad, &p)?;
    assert_eq!(
      kind(verify_hs(&t)),
      Some(ErrorKind::TokenMalformed),
      "header: {case}"
    );
  }
  for (case, bad) in json_edge_cases(&p) {
    let t = sign_hs(&h, &bad)?;
    assert_eq!(
      kind(verify_hs(&t)),
      Some(ErrorKind::TokenMalformed),
      "payload: {case}"
    );
  }
  Ok(())
}

#[test]
fn non_canonical_base64url_in_any_segment_is_refused_even_when_validly_signed() -> Result<()> {
  // ATK-30, RFC-03. Header and payload lengths are chosen so their last character has
  // unused bits; the MAC is recomputed over each non-canonical signing input.
  let mut h = header(&[]);
  while h.len() % 3 == 0 {
    h.insert(h.len() - 1, ' ');
  }
  let mut p = payload(&[]);
  while p.len() % 3 == 0 {
    p.insert(p.len() - 1, ' ');
  }
  let (hb, pb) = (b64(&h), b64(&p));
  let good = mac_token(&hb, &pb, &HS_KEY)?;
  assert!(verify_hs(&good).is_ok(), "control");
  let [_, _, sig] = segments(&good)?;

  let variants = |seg: &str| -> Vec<(String, String)> {
    let mut v = vec![];
    for pad in ["=", "=="] {
      v.push((format!("padding {pad}"), format!("{seg}{pad}")));
    }
    for c in ["+", "/", " ", "\t", "\r\n", "*", "%", "\u{0}", "é"] {
      v.push((
        format!("{c:?} inside"),
        format!("{}{c}{}", &seg[..3], &seg[3..]),
      ));
    }
    v.push((
      "'+' for '-'".into(),
      seg.replacen(|ch: char| ch.is_ascii_alphanumeric(), "+", 1),
    ));
    let extra = (5 - seg.len() % 4) % 4;
    v.push((
      "length 1 mod 4".into(),
      format!("{seg}{}", "A".repeat(extra)),
    ));
    for twin in trailing_bit_twins(seg) {
      v.push(("non-zero unused bits".into(), twin));
    }
    v
  };
  for (seg_name, seg) in [("header", &hb), ("payload", &pb)] {
    let twins = trailing_bit_twins(seg);
    assert!(!twins.is_empty(), "{seg_name} fixture has unused bits");
    for (case, bad) in variants(seg) {
      let t = if seg_name == "header" {
        mac_token(&bad, &pb, &HS_KEY)?
      } else {
        mac_token(&hb, &bad, &HS_KEY)?
      };
      assert_eq!(
        kind(verify_hs(&t)),
        Some(ErrorKind::TokenMalformed),
        "{seg_name}: {case}"
      );
    }
  }
  assert_eq!(
    trailing_bit_twins(&sig).len(),
    3,
    "a 32-byte MAC has 2 unused bits"
  );
  for (case, bad) in variants(&sig) {
    let want = if case == "length 1 mod 4" {
      ErrorKind::TokenInvalid // 44 characters: the signature length rule
    } else {
      ErrorKind::TokenMalformed
    };
    assert_eq!(
      kind(verify_hs(&format!("{hb}.{pb}.{bad}"))),
      Some(want),
      "signature: {case}"
    );
  }
  Ok(())
}

#[test]
fn wrong_segment_counts_and_empty_segments_are_refused() -> Result<()> {
  // ATK-31, RFC-01, RFC-02.
  let t = sign_hs(header(&[]), payload(&[]))?;
  let [h, p, s] = segments(&t)?;
  for bad in [
    String::new(),
    ".".into(),
    "..".into(),
    h.clone(),
    format!("{h}.{p}"),
    format!("{h}.{p}.{s}.{s}"),
    format!("{h}.{p}.{s}.{h}.{p}"),
    format!("{h}.{p}.{s}.{s}.{s}.{s}"),
    format!(".{p}.{s}"),
    format!("{h}..{s}"),
    format!("{h}.{p}."),
    format!(".{h}.{p}.{s}"),
    format!("{h}.{p}.{s}."),
    format!("{h}..{p}.{s}"),
    format!("{h}.{p}..{s}"),
    format!(" {t}"),
    format!("{t}\n"),
    format!("Bearer {t}"),
  ] {
    assert_eq!(
      kind(verify_hs(&bad)),
      Some(ErrorKind::TokenMalformed),
      "{bad:.50}"
    );
  }
  Ok(())
}

#[test]
fn an_oversized_token_is_refused_by_its_length_before_anything_is_decoded() -> Result<()> {
  // ATK-32. The detail text proves which rule fired: the length check runs first.
  let too_long = Some((ErrorKind::TokenMalformed, "token longer than the limit"));
  let detail = |r: Result<AccessClaims>| r.err().map(|e| (e.kind(), e.detail()));
  // A validly signed token just over the default 8 KiB limit.
  let pad = format!("\"{}\"", "x".repeat(6000));
  let big = sign_hs(header(&[]), payload(&[("pad", Some(&pad))]))?;
  assert!(big.len() > 8192);
  assert_eq!(detail(verify_hs(&big)), too_long);
  // A tighter policy refuses a token the default one accepts.
  let pad = format!("\"{}\"", "x".repeat(300));
  let t = sign_hs(header(&[]), payload(&[("pad", Some(&pad))]))?;
  assert!(t.len() > 512 && t.len() < 8192);
  assert!(verify_hs(&t).is_ok(), "control");
  let tight = Policy {
    max_token_len: 512,
    ..Policy::default()
  };
  assert_eq!(detail(verify_at(&hs_ring()?, &tight, NOW, &t)), too_long);
  // 1 MiB of anything, even bytes that are not base64url at all.
  for junk in [
    "A".repeat(1 << 20),
    "{".repeat(1 << 20),
    "\u{0}".repeat(1 << 20),
  ] {
    assert_eq!(detail(verify_hs(&junk)), too_long);
  }
  Ok(())
}

#[test]
fn a_hundred_thousand_dots_are_refused_without_splitting_them() -> Result<()> {
  // ATK-33 (CVE-2025-30204).
  let dots = ".".repeat(100_000);
  let e = verify_hs(&dots).err();
  assert_eq!(
    e.map(|e| (e.kind(), e.detail())),
    Some((ErrorKind::TokenMalformed, "token longer than the limit"))
  );
  // Even under a limit that lets them in, the scan stops at the third dot.
  for input in [
    dots.clone(),
    format!("a.b.c{dots}"),
    format!("{}{dots}", "a".repeat(50_000)),
  ] {
    let e = compact::split(input.as_bytes(), 200_000).err();
    assert_eq!(
      e.map(|e| (e.kind(), e.detail())),
      Some((
        ErrorKind::TokenMalformed,
        "a JWT has exactly three segments"
      ))
    );
  }
  // In the request headers.
  let bearer = format!("Bearer {dots}");
  let cookie = format!("__Host-at={dots}");
  assert_eq!(
    kind(credentials::access_token(
      None,
      Some(bearer.as_bytes()),
      "__Host-at",
      credentials::CookieShape::Jwt
    )),
    Some(ErrorKind::TokenMalformed)
  );
  assert_eq!(
    kind(credentials::access_token(
      Some(cookie.as_bytes()),
      None,
      "__Host-at",
      credentials::CookieShape::Jwt
    )),
    Some(ErrorKind::TokenMalformed)
  );
  Ok(())
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() -> Result<()> {
  // ATK-34: within the size limits, so the nesting rule (not the size rule) refuses it.
  let nest = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
  let deep = nest(2_000);
  let t = sign_hs(header(&[]), payload(&[("a", Some(&deep))]))?;
  assert!(t.len() < 8192);
  assert_eq!(kind(verify_hs(&t)), Some(ErrorKind::TokenMalformed));
  let deep_objects = format!("{}1{}", "{\"a\":".repeat(700), "}".repeat(700));
  assert_eq!(
    hs(&header(&[]), &payload(&[("a", Some(&deep_objects))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  assert_eq!(
    hs(&header(&[("x", Some(&nest(400)))]), &payload(&[]))?,
    Some(ErrorKind::TokenMalformed)
  );
  // 10 000 levels: over the size limit as well.
  assert_eq!(
    hs(&header(&[]), &payload(&[("a", Some(&nest(10_000)))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  // Control: moderate nesting is fine, in an app claim and in an ignored header member.
  let c = verify_hs(&sign_hs(
    header(&[("x", Some(&nest(100)))]),
    payload(&[("a", Some(&nest(100)))]),
  )?)?;
  assert!(c.claims.contains_key("a"));
  Ok(())
}

#[test]
fn huge_values_are_refused_by_a_size_limit() -> Result<()> {
  // ATK-35: the bounds, each with its accepted neighbour.
  let h = header(&[]);
  let list = |n: usize| {
    let mut v: Vec<String> = (1..n).map(|i| format!("\"a{i}\"")).collect();
    v.push("\"tandem-session\"".into());
    format!("[{}]", v.join(","))
  };
  assert_eq!(hs(&h, &payload(&[("aud", Some(&list(16)))]))?, None);
  assert_eq!(
    hs(&h, &payload(&[("aud", Some(&list(17)))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  assert_eq!(
    hs(&h, &payload(&[("aud", Some(&list(50_000)))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  let s = |n: usize| format!("\"{}\"", "u".repeat(n));
  assert_eq!(hs(&h, &payload(&[("sub", Some(&s(256)))]))?, None);
  assert_eq!(
    hs(&h, &payload(&[("sub", Some(&s(257)))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  assert_eq!(
    hs(&h, &payload(&[("sub", Some(&s(1 << 20)))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  // Members of one object and items of one array: at most 256.
  let members =
    |n: usize| -> Vec<(String, String)> { (0..n).map(|i| (format!("m{i}"), "0".into())).collect() };
  let with_members = |n: usize| {
    let extra: String = members(n)
      .iter()
      .map(|(k, v)| format!(",\"{k}\":{v}"))
      .collect();
    format!("{}{extra}}}", payload(&[]).trim_end_matches('}'))
  };
  assert_eq!(hs(&h, &with_members(256))?, None);
  assert_eq!(hs(&h, &with_members(257))?, Some(ErrorKind::TokenMalformed));
  let items = |n: usize| format!("[{}]", vec!["0"; n].join(","));
  assert_eq!(hs(&h, &payload(&[("a", Some(&items(256)))]))?, None);
  assert_eq!(
    hs(&h, &payload(&[("a", Some(&items(257)))]))?,
    Some(ErrorKind::TokenMalformed)
  );
  Ok(())
}

#[test]
fn claim_name_look_alikes_are_app_claims_not_registered_ones() -> Result<()> {
  // ATK-36, RFC-06: exact comparison after unescaping, no case folding, no normalisation.
  let h = header(&[]);
  let exp = (T + 600).to_string();
  for name in [
    "Exp",
    "EXP",
    "\u{ff45}\u{ff58}\u{ff50}",
    "exp\\u0000",
    " exp",
    "exp ",
  ] {
    // Instead of exp: then exp is missing.
    let p = payload(&[("exp", None), (name, Some(&exp))]);
    assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenMalformed), "{name}");
    // Beside a real exp, an expired look-alike changes nothing: it is an app claim.
    let p = payload(&[(name, Some(&(T - 3600).to_string()))]);
    let c = verify_hs(&sign_hs(&h, &p)?)?;
    assert_eq!(c.claims.len(), 1, "{name}");
  }
  // An escaped spelling of `exp` *is* `exp`.
  let p = payload(&[("exp", None), ("\\u0065xp", Some(&(T - 3600).to_string()))]);
  assert_eq!(hs(&h, &p)?, Some(ErrorKind::TokenExpired));
  let p = payload(&[("sub", None), ("\\u0073ub", Some("\"mallory\""))]);
  assert_eq!(verify_hs(&sign_hs(&h, &p)?)?.sub, "mallory");
  Ok(())
}

#[test]
fn a_token_maced_with_any_key_but_the_ring_key_is_refused() -> Result<()> {
  // ATK-37, RFC-31: another 32-byte key, each key derived from the app secret for another
  // purpose, the app secret itself, and a previous environment's key under the same kid.
  let secrets = Secrets::new(&[APP_SECRET])?;
  let derived = secrets.current();
  let h = b64(header(&[]));
  let p = b64(payload(&[]));
  assert!(verify_hs(&mac_token(&h, &p, &HS_KEY)?).is_ok(), "control");
  let others: Vec<(&str, Vec<u8>)> = vec![
    ("another 32-byte key", vec![8; 32]),
    ("CSRF key", derived.get(Purpose::Csrf).to_vec()),
    ("refresh MAC key", derived.get(Purpose::RefreshMac).to_vec()),
    (
      "refresh successor key",
      derived.get(Purpose::RefreshSuccessor).to_vec(),
    ),
    (
      "key-ring sealing key",
      derived.get(Purpose::KeyRingSeal).to_vec(),
    ),
    ("the app secret", APP_SECRET.as_bytes().to_vec()),
    ("the key, 31 bytes", HS_KEY[..31].to_vec()),
    ("the key with one bit flipped", {
      let mut k = HS_KEY.to_vec();
      k[31] ^= 1;
      k
    }),
  ];
  for (what, key) in others {
    assert_eq!(
      kind(verify_hs(&mac_token(&h, &p, &key)?)),
      Some(ErrorKind::TokenInvalid),
      "{what}"
    );
  }
  // A previous environment: same kid, other material.
  let other_env = KeyRing::from_parts(
    1,
    Algorithm::Hs256,
    vec![Key::from_parts(
      KID.into(),
      Algorithm::Hs256,
      Zeroizing::new(vec![8; 32]),
      KeyState::Current,
      UnixMillis(0),
    )?],
  )?;
  let extra = serde_json::Map::new();
  let subject = Subject {
    user_id: "alice",
    session: "sid-1",
    data_version: 0,
    claims: &extra,
  };
  let t = access::sign(&other_env, &Policy::default(), NOW, &subject, None)?;
  assert_eq!(kind(verify_hs(&t.token)), Some(ErrorKind::TokenInvalid));
  Ok(())
}

#[test]
fn a_re_encoded_copy_of_a_real_token_is_refused() -> Result<()> {
  // ATK-40: a token has one spelling, so a deny-list keyed by jti cannot be bypassed by
  // re-encoding (the attacker cannot re-MAC, so only twins of the real segments).
  let mut h = header(&[]);
  while h.len() % 3 == 0 {
    h.insert(h.len() - 1, ' ');
  }
  let mut p = payload(&[]);
  while p.len() % 3 == 0 {
    p.insert(p.len() - 1, ' ');
  }
  let t = sign_hs(&h, &p)?;
  assert!(verify_hs(&t).is_ok(), "control");
  let [hb, pb, sb] = segments(&t)?;
  let mut tried = 0;
  for twin in trailing_bit_twins(&hb) {
    let r = verify_hs(&format!("{twin}.{pb}.{sb}"));
    assert_eq!(kind(r), Some(ErrorKind::TokenMalformed));
    tried += 1;
  }
  for twin in trailing_bit_twins(&pb) {
    let r = verify_hs(&format!("{hb}.{twin}.{sb}"));
    assert_eq!(
      kind(r),
      Some(ErrorKind::TokenInvalid),
      "the MAC covers the text"
    );
    tried += 1;
  }
  for twin in trailing_bit_twins(&sb) {
    let r = verify_hs(&format!("{hb}.{pb}.{twin}"));
    assert_eq!(kind(r), Some(ErrorKind::TokenMalformed));
    tried += 1;
  }
  for twin in [format!("{t}="), t.replace('-', "+").replace('_', "/")] {
    if twin != t {
      assert_eq!(kind(verify_hs(&twin)), Some(ErrorKind::TokenMalformed));
      tried += 1;
    }
  }
  assert!(tried >= 10, "three twins per segment, and more");
  Ok(())
}

// ---------------------------------------------------------------------------------------
// Further §8 rules
// ---------------------------------------------------------------------------------------

#[test]
fn unknown_header_members_are_ignored_but_key_carrying_ones_are_not() -> Result<()> {
  // RFC-16.
  let p = payload(&[]);
  assert_eq!(hs(&header(&[("foo", Some("\"bar\""))]), &p)?, None);
  assert_eq!(hs(&header(&[("foo", Some("{\"jku\":1}"))]), &p)?, None);
  assert_eq!(
    hs(&header(&[("jku", Some("\"https://a.example/\""))]), &p)?,
    Some(ErrorKind::TokenInvalid)
  );
  Ok(())
}

#[test]
fn the_signature_is_verified_before_the_claims_are_read() -> Result<()> {
  // RFC-32: with a bad signature nothing about the payload is revealed.
  let h = b64(header(&[]));
  for (p, with_good_mac) in [
    (b64("not json"), ErrorKind::TokenMalformed),
    (b64(payload(&[("aud", None)])), ErrorKind::TokenMalformed),
    (
      b64(payload(&[("exp", Some(&(T - 3600).to_string()))])),
      ErrorKind::TokenExpired,
    ),
    (
      b64(payload(&[
        ("nbf", Some(&(T + 3600).to_string())),
        ("iat", Some(&(T + 3600).to_string())),
        ("exp", Some(&(T + 4200).to_string())),
      ])),
      ErrorKind::TokenNotYetValid,
    ),
  ] {
    let good = mac_token(&h, &p, &HS_KEY)?;
    assert_eq!(kind(verify_hs(&good)), Some(with_good_mac));
    let bad = mac_token(&h, &p, &[8; 32])?;
    assert_eq!(kind(verify_hs(&bad)), Some(ErrorKind::TokenInvalid));
  }
  // The payload's base64url is not even decoded before the signature verifies.
  let bad = mac_token(&h, "A", &[8; 32])?;
  assert_eq!(kind(verify_hs(&bad)), Some(ErrorKind::TokenInvalid));
  Ok(())
}

#[test]
fn a_leeway_over_300_seconds_is_refused_by_configuration() {
  // RFC-23.
  for (leeway, ok) in [(0, true), (5, true), (300, true), (301, false), (-1, false)] {
    let p = Policy {
      leeway_secs: leeway,
      ..Policy::default()
    };
    assert_eq!(p.validate().is_ok(), ok, "{leeway}");
    if !ok {
      assert_eq!(kind(p.validate()), Some(ErrorKind::ConfigInvalid));
    }
  }
}

#[test]
fn every_access_token_gets_its_own_jti() -> Result<()> {
  // RFC-29: 100 000 tokens, 100 000 distinct jti.
  let ring = hs_ring()?;
  let extra = serde_json::Map::new();
  let subject = Subject {
    user_id: "alice",
    session: "sid-1",
    data_version: 0,
    claims: &extra,
  };
  let mut seen = std::collections::HashSet::new();
  for _ in 0..100_000 {
    let t = access::sign(&ring, &Policy::default(), NOW, &subject, None)?;
    assert_eq!(t.jti.len(), 22, "128 random bits");
    assert!(seen.insert(t.jti));
  }
  Ok(())
}

#[test]
fn rejections_never_echo_the_token() -> Result<()> {
  // HR-05, NB-03: error texts are fixed, short, and carry no input bytes.
  let good = sign_hs(header(&[]), payload(&[]))?;
  let [h, p, s] = segments(&good)?;
  let hostile = [
    format!("{h}.{p}."),
    format!("{h}.{p}.{}", "A".repeat(43)),
    sign_hs(header(&[("alg", Some("\"none\""))]), payload(&[]))?,
    sign_hs(
      header(&[("kid", Some("\"secret-kid-value\""))]),
      payload(&[]),
    )?,
    sign_hs(header(&[]), payload(&[("exp", Some("1"))]))?,
    sign_hs(header(&[]), payload(&[("aud", Some("\"aud-value-xyz\""))]))?,
    sign_hs(header(&[]), "{\"sub\":\"secret-sub\"")?,
    format!("{good}.{s}"),
    ".".repeat(10_000),
  ];
  for t in &hostile {
    let e = verify_hs(t).err().ok_or_else(|| fixture("hostile token"))?;
    let text = e.to_string();
    assert!(text.len() < 80, "{text}");
    assert!(text.is_ascii());
    for needle in [h.as_str(), p.as_str(), s.as_str(), "secret", "xyz", "alice"] {
      assert!(!text.contains(needle), "{text} contains {needle:.20}");
    }
    for seg in t.split('.').filter(|x| x.len() >= 8) {
      assert!(!text.contains(seg));
    }
  }
  Ok(())
}

#[test]
fn a_proto_member_is_refused_at_any_depth_when_verifying_and_when_signing() -> Result<()> {
  // ATK-28's parser-differential class (ASVS5-1.5.3): JavaScript reads `__proto__` as the
  // prototype, not as data, so the core refuses it everywhere.
  let h = header(&[]);
  for (name, value) in [
    ("__proto__", "{\"isAdmin\":true}"),
    ("\\u005f_proto__", "{\"isAdmin\":true}"),
    ("a", "{\"__proto__\":{\"isAdmin\":true}}"),
    ("a", "[1,{\"b\":[{\"__proto__\":1}]}]"),
  ] {
    let p = payload(&[(name, Some(value))]);
    assert_eq!(
      hs(&h, &p)?,
      Some(ErrorKind::TokenMalformed),
      "{name}: {value}"
    );
  }
  assert_eq!(
    hs(&header(&[("__proto__", Some("{}"))]), &payload(&[]))?,
    Some(ErrorKind::TokenMalformed)
  );
  for (name, value) in [
    ("proto", "1"),
    ("constructor", "{\"prototype\":1}"),
    ("__proto", "1"),
  ] {
    assert_eq!(hs(&h, &payload(&[(name, Some(value))]))?, None, "{name}");
  }
  // Signing refuses such app claims too.
  let ring = hs_ring()?;
  for claims in [
    serde_json::json!({"__proto__": {"isAdmin": true}}),
    serde_json::json!({"a": [{"b": {"__proto__": 1}}]}),
  ] {
    let extra = claims.as_object().cloned().unwrap_or_default();
    let subject = Subject {
      user_id: "alice",
      session: "sid-1",
      data_version: 0,
      claims: &extra,
    };
    assert_eq!(
      kind(access::sign(&ring, &Policy::default(), NOW, &subject, None)),
      Some(ErrorKind::ClaimReserved)
    );
  }
  Ok(())
}
