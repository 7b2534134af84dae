//! The signing-key ring at the core level (security.md §9, KR-01..KR-06, and RFC-10/RFC-11 of
//! §8): rotation over a simulated year with a fixed clock (tokens signed before a rotation
//! verify during the overlap and get `KEY_UNKNOWN` after; the plan is pure; exactly one
//! current key at all times), `kid` required and matched exactly, emergency revocation,
//! the sealed ring (round-trip, no key material in the sealed text, tampering), the JWKS
//! (public members only), and one algorithm per key.

use std::collections::HashSet;

use jsonwebtoken::EncodingKey;
use serde_json::Map;
use tandem_session::clock::UnixMillis;
use tandem_session::encoding;
use tandem_session::jwt::jws;
use tandem_session::jwt::{access, AccessClaims, Algorithm, Issued, Policy, Subject};
use tandem_session::keys::jwks::jwks;
use tandem_session::keys::sealed;
use tandem_session::keys::{Key, KeyRing, KeyState, RotationPlan, RotationPolicy};
use tandem_session::secret::{Purpose, Secrets};
use tandem_session::{Error, ErrorKind, Result};
use zeroize::Zeroizing;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// 2026-01-01T00:00:00Z.
const START: UnixMillis = UnixMillis(1_767_225_600_000);
const SECRET_A: &str = "keyring-tests-app-secret-number-one-000001";
const SECRET_B: &str = "keyring-tests-app-secret-number-two-000002";

fn fixture(detail: &'static str) -> Error {
  Error::new(ErrorKind::Internal, detail)
}

fn kind<T>(r: Result<T>) -> Option<ErrorKind> {
  r.err().map(|e| e.kind())
}

/// Deterministic key factory: kid `k000…n`, material `[n; 32]`, so a whole history can be
/// replayed and compared.
struct Factory(u8);

impl Factory {
  fn key(&mut self, alg: Algorithm, state: KeyState, at: UnixMillis) -> Result<Key> {
    self.0 += 1;
    Key::from_parts(
      format!("k{:015}", self.0),
      alg,
      Zeroizing::new(vec![self.0; 32]),
      state,
      at,
    )
  }
}

fn new_ring(
  f: &mut Factory,
  alg: Algorithm,
  now: UnixMillis,
  p: &RotationPolicy,
) -> Result<KeyRing> {
  let cur = f.key(alg, KeyState::Current, now)?;
  let next = f.key(alg, KeyState::Next, now.plus_ms(p.interval_ms))?;
  KeyRing::from_parts(1, alg, vec![cur, next])
}

fn sign(ring: &KeyRing, policy: &Policy, now: UnixMillis) -> Result<Issued> {
  let claims = Map::new();
  let subject = Subject {
    user_id: "alice",
    session: "sid-1",
    data_version: 0,
    claims: &claims,
  };
  access::sign(ring, policy, now, &subject, None)
}

fn verify(ring: &KeyRing, policy: &Policy, now: UnixMillis, t: &Issued) -> Result<AccessClaims> {
  access::verify(ring, policy, now, t.token.as_bytes())
}

/// What a ring is, for comparison: (kid, state, activation) of each key, and the version.
fn snapshot(ring: &KeyRing) -> (u64, Vec<(String, KeyState, UnixMillis)>) {
  let mut keys: Vec<_> = ring
    .keys()
    .iter()
    .map(|k| (k.kid().to_owned(), k.state(), k.activates_at()))
    .collect();
  keys.sort_by(|a, b| a.0.cmp(&b.0));
  (ring.version(), keys)
}

fn count(ring: &KeyRing, pred: impl Fn(KeyState) -> bool) -> usize {
  ring.keys().iter().filter(|k| pred(k.state())).count()
}

/// One year of hourly ticks with the default policies. Returns the history of
/// (version, current kid) and the number of rotations; asserts the invariants at every tick.
fn simulate_a_year() -> Result<(Vec<(u64, String)>, usize)> {
  let policy = Policy::default();
  let rot = RotationPolicy::default();
  rot.validate(policy.ttl_secs * 1000, policy.leeway_secs * 1000)?;
  let mut f = Factory(0);
  let mut ring = new_ring(&mut f, Algorithm::Hs256, START, &rot)?;
  let mut history = Vec::new();
  let mut rotations = 0;
  // Tokens signed just before a rotation, with the instant their key stops verifying.
  let mut waiting: Vec<(Issued, String, UnixMillis)> = Vec::new();
  for hour in 0..=365 * 24 {
    let now = START.plus_ms(hour * HOUR);
    // The plan is pure: the same answer twice, and the ring is untouched by it.
    let before = snapshot(&ring);
    let plan = ring.plan(now, &rot);
    assert_eq!(plan, ring.plan(now, &rot));
    assert_eq!(snapshot(&ring), before);
    // A token signed a millisecond before this tick, by the ring as it was.
    let old_kid = ring.current().kid().to_owned();
    let pre = sign(&ring, &policy, now.plus_ms(-1))?;
    if !plan.is_empty() {
      let next = ring.apply(&plan, now, &rot, |a, s, at| f.key(a, s, at))?;
      assert_eq!(snapshot(&ring), before, "apply returns a new ring");
      assert_eq!(next.version(), ring.version() + 1);
      ring = next;
    }
    // Exactly one current key, at most one next, and nothing piles up.
    assert_eq!(count(&ring, |s| s == KeyState::Current), 1, "hour {hour}");
    assert!(count(&ring, |s| s == KeyState::Next) <= 1);
    assert!(ring.keys().len() <= 3, "hour {hour}: {}", ring.keys().len());
    assert!(ring.keys().iter().all(|k| k.alg() == Algorithm::Hs256));
    // New tokens carry the current kid and verify.
    let t = sign(&ring, &policy, now)?;
    assert_eq!(verify(&ring, &policy, now, &t)?.kid, ring.current().kid());
    if ring.current().kid() != old_kid {
      rotations += 1;
      assert!(plan.promote && plan.announce);
      // Signed before the rotation: still verifies during the overlap…
      assert_eq!(verify(&ring, &policy, now, &pre)?.kid, old_kid);
      assert_eq!(
        verify(&ring, &policy, now.plus_ms(10 * 60_000), &pre)?.kid,
        old_kid
      );
      // …its key is still found at the last instant of the overlap (the token itself has
      // expired by then: the key lookup comes first, so this is not KEY_UNKNOWN)…
      let last = now.plus_ms(rot.overlap_ms - 1);
      assert_eq!(
        kind(verify(&ring, &policy, last, &pre)),
        Some(ErrorKind::TokenExpired)
      );
      // …and the key is gone at the end of the overlap.
      let end = now.plus_ms(rot.overlap_ms);
      assert_eq!(
        kind(verify(&ring, &policy, end, &pre)),
        Some(ErrorKind::KeyUnknown)
      );
      waiting.push((pre, old_kid, end));
    }
    // Once pruned, earlier keys stay unknown.
    waiting.retain(|(t, kid, end)| {
      if now < *end {
        return true;
      }
      assert!(ring.keys().iter().all(|k| k.kid() != kid), "{kid} pruned");
      assert_eq!(
        kind(verify(&ring, &policy, now, t)),
        Some(ErrorKind::KeyUnknown)
      );
      false
    });
    history.push((ring.version(), ring.current().kid().to_owned()));
  }
  assert!(waiting.is_empty());
  Ok((history, rotations))
}

#[test]
fn a_year_of_rotation_keeps_one_current_key_and_never_drops_a_key_early() -> Result<()> {
  // KR-01, KR-07 (rotation at any time).
  let (history, rotations) = simulate_a_year()?;
  assert_eq!(rotations, 52, "one rotation every 7 days over 365 days");
  let kids: HashSet<&str> = history.iter().map(|(_, k)| k.as_str()).collect();
  assert_eq!(kids.len(), 53);
  // Versions only grow.
  assert!(history.windows(2).all(|w| w[0].0 <= w[1].0));
  Ok(())
}

#[test]
fn the_rotation_schedule_is_a_pure_function_of_ring_time_and_policy() -> Result<()> {
  // KR-01: replaying the same year with the same key factory gives the same history.
  let (a, _) = simulate_a_year()?;
  let (b, _) = simulate_a_year()?;
  assert_eq!(a, b);
  // And nothing is due before the announced activation.
  let rot = RotationPolicy::default();
  let ring = new_ring(&mut Factory(0), Algorithm::EdDsa, START, &rot)?;
  assert_eq!(
    ring.plan(START.plus_ms(7 * DAY - 1), &rot),
    RotationPlan::default()
  );
  assert!(ring.plan(START.plus_ms(7 * DAY), &rot).promote);
  Ok(())
}

#[test]
fn with_overlap_equal_to_lifetime_plus_leeway_a_token_expires_before_its_key_goes() -> Result<()> {
  // KR-01 at the tightest allowed overlap: every token signed before a rotation verifies
  // until it expires, and is never answered KEY_UNKNOWN while still alive.
  let policy = Policy::default();
  let rot = RotationPolicy {
    interval_ms: DAY,
    overlap_ms: (policy.ttl_secs + policy.leeway_secs) * 1000,
  };
  rot.validate(policy.ttl_secs * 1000, policy.leeway_secs * 1000)?;
  assert!(RotationPolicy {
    overlap_ms: rot.overlap_ms - 1,
    ..rot
  }
  .validate(policy.ttl_secs * 1000, policy.leeway_secs * 1000)
  .is_err());
  let mut f = Factory(0);
  let ring = new_ring(&mut f, Algorithm::Hs256, START, &rot)?;
  let r = START.plus_ms(DAY);
  for signed_at in [
    r.plus_ms(-1),
    r.plus_ms(-999),
    r.plus_ms(-1000),
    r.plus_ms(-60_000),
  ] {
    let t = sign(&ring, &policy, signed_at)?;
    let rotated = ring.apply(&ring.plan(r, &rot), r, &rot, |a, s, at| f.key(a, s, at))?;
    let mut alive = 0;
    for ms in (0..=rot.overlap_ms).step_by(250) {
      let now = r.plus_ms(ms);
      match verify(&rotated, &policy, now, &t) {
        Ok(_) => alive += 1,
        Err(e) if ms < rot.overlap_ms => assert_eq!(e.kind(), ErrorKind::TokenExpired, "{ms}"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::KeyUnknown),
      }
    }
    assert!(alive > 0);
    let last = r.plus_ms(rot.overlap_ms - 1);
    assert_eq!(
      kind(verify(&rotated, &policy, last, &t)),
      Some(ErrorKind::TokenExpired)
    );
  }
  Ok(())
}

#[test]
fn a_missing_kid_is_refused_and_an_unknown_kid_is_not_tried_against_other_keys() -> Result<()> {
  // KR-02, RFC-17. Two keys whose material we know; tokens carry A's valid MAC.
  let a = Key::from_parts(
    "AAAAAAAAAAAAAAAA".into(),
    Algorithm::Hs256,
    Zeroizing::new(vec![1; 32]),
    KeyState::Current,
    START,
  )?;
  let b = Key::from_parts(
    "BBBBBBBBBBBBBBBB".into(),
    Algorithm::Hs256,
    Zeroizing::new(vec![2; 32]),
    KeyState::Next,
    START.plus_ms(DAY),
  )?;
  let ring = KeyRing::from_parts(1, Algorithm::Hs256, vec![a, b])?;
  let policy = Policy::default();
  let payload = format!(
    r#"{{"iss":"tandem-session","sub":"alice","aud":"tandem-session","exp":{},"iat":{},"jti":"j","sid":"s","dv":0}}"#,
    START.secs() + 600,
    START.secs()
  );
  let with_kid = |kid: Option<&str>| -> Result<Option<ErrorKind>> {
    let h = match kid {
      Some(k) => format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{k}"}}"#),
      None => r#"{"alg":"HS256","typ":"at+jwt"}"#.to_owned(),
    };
    let t = jws::sign(
      h.as_bytes(),
      payload.as_bytes(),
      &EncodingKey::from_secret(&[1; 32]),
      Algorithm::Hs256,
    )?;
    Ok(kind(access::verify(&ring, &policy, START, t.as_bytes())))
  };
  assert_eq!(with_kid(Some("AAAAAAAAAAAAAAAA"))?, None, "control");
  assert_eq!(with_kid(None)?, Some(ErrorKind::TokenInvalid));
  assert_eq!(
    with_kid(Some("CCCCCCCCCCCCCCCC"))?,
    Some(ErrorKind::KeyUnknown)
  );
  assert_eq!(
    with_kid(Some("aaaaaaaaaaaaaaaa"))?,
    Some(ErrorKind::KeyUnknown)
  );
  // Naming B with A's MAC: only B is tried, so the MAC fails.
  assert_eq!(
    with_kid(Some("BBBBBBBBBBBBBBBB"))?,
    Some(ErrorKind::TokenInvalid)
  );
  Ok(())
}

#[test]
fn a_header_alg_other_than_the_keys_is_refused() -> Result<()> {
  // RFC-10, KR-03: each key has one algorithm, whatever the signature.
  let mut f = Factory(0);
  let rot = RotationPolicy::default();
  let hs = new_ring(&mut f, Algorithm::Hs256, START, &rot)?;
  let hs_kid = hs.current().kid().to_owned();
  let material = vec![1u8; 32]; // the factory's first key
  let payload = format!(
    r#"{{"iss":"tandem-session","sub":"alice","aud":"tandem-session","exp":{},"iat":{},"jti":"j","sid":"s","dv":0}}"#,
    START.secs() + 600,
    START.secs()
  );
  let policy = Policy::default();
  let check = |ring: &KeyRing, t: &str| kind(access::verify(ring, &policy, START, t.as_bytes()));
  // Control: the right algorithm verifies.
  let h = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{hs_kid}"}}"#);
  let t = jws::sign(
    h.as_bytes(),
    payload.as_bytes(),
    &EncodingKey::from_secret(&material),
    Algorithm::Hs256,
  )?;
  assert_eq!(check(&hs, &t), None);
  // HS512 with a real HS512 MAC under the same key, and HS384.
  for (name, alg) in [
    ("HS512", jsonwebtoken::Algorithm::HS512),
    ("HS384", jsonwebtoken::Algorithm::HS384),
  ] {
    let h =
      encoding::encode(format!(r#"{{"alg":"{name}","typ":"at+jwt","kid":"{hs_kid}"}}"#).as_bytes());
    let input = format!("{h}.{}", encoding::encode(payload.as_bytes()));
    let sig =
      jsonwebtoken::crypto::sign(input.as_bytes(), &EncodingKey::from_secret(&material), alg)
        .map_err(|_| fixture("hmac"))?;
    assert_eq!(
      check(&hs, &format!("{input}.{sig}")),
      Some(ErrorKind::TokenInvalid),
      "{name}"
    );
  }
  // EdDSA naming the HMAC key, signed by an Ed25519 key with the same 32 bytes as seed.
  {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let der = ed25519_dalek::SigningKey::from_bytes(&[1; 32])
      .to_pkcs8_der()
      .map_err(|_| fixture("pkcs8"))?;
    let h = format!(r#"{{"alg":"EdDSA","typ":"at+jwt","kid":"{hs_kid}"}}"#);
    let t = jws::sign(
      h.as_bytes(),
      payload.as_bytes(),
      &EncodingKey::from_ed_der(der.as_bytes()),
      Algorithm::EdDsa,
    )?;
    let e = access::verify(&hs, &policy, START, t.as_bytes()).err();
    assert_eq!(
      e.map(|e| (e.kind(), e.detail())),
      Some((ErrorKind::TokenInvalid, "alg is not the key's algorithm"))
    );
  }
  // HS256 naming an EdDSA key, MACed with its seed.
  let ed = new_ring(&mut Factory(0), Algorithm::EdDsa, START, &rot)?;
  let ed_kid = ed.current().kid().to_owned();
  let h = format!(r#"{{"alg":"HS256","typ":"at+jwt","kid":"{ed_kid}"}}"#);
  let t = jws::sign(
    h.as_bytes(),
    payload.as_bytes(),
    &EncodingKey::from_secret(&material),
    Algorithm::Hs256,
  )?;
  assert_eq!(check(&ed, &t), Some(ErrorKind::TokenInvalid));
  // A ring never mixes algorithms.
  let mixed = vec![
    Factory(0).key(Algorithm::Hs256, KeyState::Current, START)?,
    Factory(1).key(Algorithm::EdDsa, KeyState::Next, START)?,
  ];
  assert_eq!(
    kind(KeyRing::from_parts(1, Algorithm::Hs256, mixed)),
    Some(ErrorKind::KeyMaterialInvalid)
  );
  Ok(())
}

#[test]
fn emergency_revocation_takes_effect_at_once_and_new_tokens_verify() -> Result<()> {
  // KR-04, RV-07 (core half).
  let policy = Policy::default();
  let rot = RotationPolicy::default();
  let now = START.plus_ms(HOUR);
  for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
    let ring = KeyRing::generate(alg, START, &rot)?;
    let cur = ring.current().kid().to_owned();
    let next = ring
      .keys()
      .iter()
      .find(|k| k.state() == KeyState::Next)
      .map(|k| k.kid().to_owned())
      .ok_or_else(|| fixture("a next key"))?;
    let old = sign(&ring, &policy, now)?;
    assert!(verify(&ring, &policy, now, &old).is_ok(), "control");
    let revoked = ring.revoke(&cur, now, &rot)?;
    // The old token is refused at once, long before its exp or any overlap.
    assert_eq!(
      kind(verify(&revoked, &policy, now, &old)),
      Some(ErrorKind::KeyUnknown)
    );
    // A fresh key signs now, not the announced next one (stored beside the revoked key,
    // so it may have leaked with it); a fresh next key is announced; one current key.
    assert_ne!(revoked.current().kid(), next);
    assert!(revoked.keys().iter().all(|k| k.kid() != next));
    assert_eq!(revoked.version(), ring.version() + 1);
    assert_eq!(count(&revoked, |s| s == KeyState::Current), 1);
    assert_eq!(count(&revoked, |s| s == KeyState::Next), 1);
    assert!(revoked.keys().iter().all(|k| k.kid() != cur));
    let fresh = sign(&revoked, &policy, now)?;
    assert_eq!(
      verify(&revoked, &policy, now, &fresh)?.kid,
      revoked.current().kid()
    );
    // Unknown kids cannot be revoked, and revoking twice is refused.
    assert_eq!(
      kind(revoked.revoke(&cur, now, &rot)),
      Some(ErrorKind::KeyUnknown)
    );
    assert_eq!(
      kind(revoked.revoke("CCCCCCCCCCCCCCCC", now, &rot)),
      Some(ErrorKind::KeyUnknown)
    );
  }
  Ok(())
}

#[test]
fn revoking_a_retired_or_next_key_cuts_its_tokens_off_at_once() -> Result<()> {
  // KR-04 for keys that are not current: during the overlap, and an announced key that
  // another process already signs with.
  let policy = Policy::default();
  let rot = RotationPolicy::default();
  let mut f = Factory(0);
  let ring = new_ring(&mut f, Algorithm::Hs256, START, &rot)?;
  let r = START.plus_ms(rot.interval_ms);
  let before = sign(&ring, &policy, r.plus_ms(-1))?;
  let rotated = ring.apply(&ring.plan(r, &rot), r, &rot, |a, s, at| f.key(a, s, at))?;
  assert!(verify(&rotated, &policy, r, &before).is_ok(), "overlap");
  let retired_kid = ring.current().kid().to_owned();
  let cut = rotated.revoke(&retired_kid, r.plus_ms(1), &rot)?;
  assert_eq!(
    kind(verify(&cut, &policy, r.plus_ms(1), &before)),
    Some(ErrorKind::KeyUnknown)
  );
  assert_eq!(
    cut.current().kid(),
    rotated.current().kid(),
    "current unchanged"
  );
  // A process that already promoted the next key signs with it; our ring still verifies
  // it (Next keys verify) until that key is revoked.
  let early = ring.apply(&ring.plan(r, &rot), r, &rot, |a, s, at| {
    Factory(100).key(a, s, at)
  })?;
  let by_next = sign(&early, &policy, r.plus_ms(-HOUR))?;
  assert!(verify(&ring, &policy, r.plus_ms(-HOUR), &by_next).is_ok());
  let next_kid = early.current().kid().to_owned();
  let cut = ring.revoke(&next_kid, r.plus_ms(-HOUR), &rot)?;
  assert_eq!(
    kind(verify(&cut, &policy, r.plus_ms(-HOUR), &by_next)),
    Some(ErrorKind::KeyUnknown)
  );
  assert_eq!(
    count(&cut, |s| s == KeyState::Next),
    1,
    "another next key is announced"
  );
  Ok(())
}

#[test]
fn a_sealed_ring_opens_to_the_same_keys_and_verifies_the_same_tokens() -> Result<()> {
  // KR-05 (stored sealed): both algorithms, with a retired key in the ring.
  let secrets = Secrets::new(&[SECRET_A])?;
  let policy = Policy::default();
  let rot = RotationPolicy::default();
  for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
    let ring = KeyRing::generate(alg, START, &rot)?;
    let r = START.plus_ms(rot.interval_ms);
    let ring = ring
      .rotate_if_due(r, &rot)?
      .ok_or_else(|| fixture("rotation due"))?;
    assert_eq!(ring.keys().len(), 3);
    let back = sealed::open(&sealed::seal(&ring, &secrets)?, &secrets)?;
    assert_eq!(snapshot(&back), snapshot(&ring));
    assert_eq!(back.alg(), alg);
    for (a, b) in ring.keys().iter().zip(back.keys()) {
      assert_eq!(a.public_key(), b.public_key());
    }
    // The same material: each ring verifies what the other signs.
    let t = sign(&ring, &policy, r)?;
    assert!(verify(&back, &policy, r, &t).is_ok());
    let t = sign(&back, &policy, r)?;
    assert!(verify(&ring, &policy, r, &t).is_ok());
  }
  Ok(())
}

#[test]
fn the_sealed_text_holds_no_key_material() -> Result<()> {
  // KR-05, DESIGN promise 1: neither the 32 bytes nor any usual encoding of them.
  use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
  use base64::Engine as _;
  let secrets = Secrets::new(&[SECRET_A])?;
  let rot = RotationPolicy::default();
  for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
    let mut f = Factory(40);
    let ring = new_ring(&mut f, alg, START, &rot)?;
    let ring = ring.apply(
      &ring.plan(START.plus_ms(rot.interval_ms), &rot),
      START.plus_ms(rot.interval_ms),
      &rot,
      |a, s, at| f.key(a, s, at),
    )?;
    let text = sealed::seal(&ring, &secrets)?;
    let raw =
      encoding::decode_strict(text.as_bytes(), sealed::MAX_SEALED_LEN, ErrorKind::Internal)?;
    for n in 41u8..=43 {
      let material = [n; 32];
      let hex: String = material.iter().map(|b| format!("{b:02x}")).collect();
      for enc in [
        encoding::encode(&material),
        STANDARD.encode(material),
        STANDARD_NO_PAD.encode(material),
        hex,
      ] {
        assert!(!text.contains(&enc));
        assert!(!raw.windows(enc.len()).any(|w| w == enc.as_bytes()));
      }
      assert!(!raw.windows(32).any(|w| w == material));
      assert!(
        !format!("{ring:?}").contains(&format!("{n}, {n}, {n}")),
        "Debug is redacted"
      );
    }
    // Two seals of one ring differ (random nonce) and both open.
    let again = sealed::seal(&ring, &secrets)?;
    assert_ne!(text, again);
    assert_eq!(snapshot(&sealed::open(&again, &secrets)?), snapshot(&ring));
  }
  Ok(())
}

#[test]
fn a_sealed_ring_opens_only_with_its_secret_and_untouched() -> Result<()> {
  // KR-05: tampering anywhere, or a wrong secret, is KEYRING_UNREADABLE; the app secret can
  // rotate ([new, old] opens what old sealed).
  let a = Secrets::new(&[SECRET_A])?;
  let ring = KeyRing::generate(Algorithm::Hs256, START, &RotationPolicy::default())?;
  let text = sealed::seal(&ring, &a)?;
  assert_eq!(
    kind(sealed::open(&text, &Secrets::new(&[SECRET_B])?)),
    Some(ErrorKind::KeyRingUnreadable)
  );
  assert!(sealed::open(&text, &Secrets::new(&[SECRET_B, SECRET_A])?).is_ok());
  let raw = encoding::decode_strict(text.as_bytes(), sealed::MAX_SEALED_LEN, ErrorKind::Internal)?;
  for i in 0..raw.len() {
    for bit in [0x01u8, 0x80] {
      let mut t = raw.clone();
      t[i] ^= bit;
      assert_eq!(
        kind(sealed::open(&encoding::encode(&t), &a)),
        Some(ErrorKind::KeyRingUnreadable),
        "byte {i}"
      );
    }
  }
  for bad in [
    String::new(),
    "tks1".into(),
    text[..text.len() - 1].to_owned(),
    format!("{text}="),
    "A".repeat(sealed::MAX_SEALED_LEN + 4),
  ] {
    assert_eq!(
      kind(sealed::open(&bad, &a)),
      Some(ErrorKind::KeyRingUnreadable)
    );
  }
  // The sealing key is one purpose's key: the others do not open it.
  assert_ne!(
    a.current().get(Purpose::KeyRingSeal),
    a.current().get(Purpose::Csrf)
  );
  Ok(())
}

#[test]
fn the_jwks_holds_public_members_only() -> Result<()> {
  // KR-05: no `d`, no `k`, and never the seed in any form.
  let rot = RotationPolicy::default();
  let mut f = Factory(60);
  let ring = new_ring(&mut f, Algorithm::EdDsa, START, &rot)?;
  let set = jwks(&ring, START);
  let keys = set["keys"]
    .as_array()
    .ok_or_else(|| fixture("keys array"))?;
  assert_eq!(keys.len(), 2, "current and next");
  let text = serde_json::to_string(&set).map_err(|_| fixture("json"))?;
  for (k, key) in keys.iter().zip(ring.keys()) {
    let obj = k.as_object().ok_or_else(|| fixture("object"))?;
    let mut names: Vec<&str> = obj.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
    assert_eq!(
      (
        k["kty"].as_str(),
        k["crv"].as_str(),
        k["alg"].as_str(),
        k["use"].as_str()
      ),
      (Some("OKP"), Some("Ed25519"), Some("EdDSA"), Some("sig"))
    );
    let x = encoding::decode_strict(
      k["x"].as_str().unwrap_or_default().as_bytes(),
      32,
      ErrorKind::Internal,
    )?;
    assert_eq!(Some(x.as_slice()), key.public_key());
    assert_eq!(k["kid"].as_str(), Some(key.kid()));
  }
  for n in 61u8..=62 {
    let seed = [n; 32];
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!text.contains(&encoding::encode(&seed)));
    assert!(!text.contains(&hex));
    assert!(!text.contains("\"d\"") && !text.contains("\"k\""));
  }
  // A retired key is listed while it verifies, then dropped.
  let r = START.plus_ms(rot.interval_ms);
  let rotated = ring.apply(&ring.plan(r, &rot), r, &rot, |a, s, at| f.key(a, s, at))?;
  let listed = |now: UnixMillis| jwks(&rotated, now)["keys"].as_array().map_or(0, Vec::len);
  assert_eq!(listed(r), 3);
  assert_eq!(listed(r.plus_ms(rot.overlap_ms)), 2);
  // An HMAC ring publishes nothing.
  let hs = new_ring(&mut Factory(0), Algorithm::Hs256, START, &rot)?;
  assert_eq!(jwks(&hs, START), serde_json::json!({ "keys": [] }));
  Ok(())
}

#[test]
fn key_material_must_be_exactly_32_bytes_and_kids_16_base64url_characters() -> Result<()> {
  // KR-05, RFC-11: minimum lengths enforced; kids are never paths.
  for len in [0usize, 1, 16, 31, 33, 48, 64] {
    for alg in [Algorithm::Hs256, Algorithm::EdDsa] {
      assert_eq!(
        kind(Key::from_parts(
          "AAAAAAAAAAAAAAAA".into(),
          alg,
          Zeroizing::new(vec![1; len]),
          KeyState::Current,
          START
        )),
        Some(ErrorKind::KeyMaterialInvalid),
        "{len} bytes"
      );
    }
  }
  for kid in [
    "",
    "short",
    "../../etc/passwd",
    "AAAAAAAAAAAAAAA=",
    "AAAAAAAAAAAAAAAAA",
    "AAAAAAAA AAAAAAA",
    "ААААААААААААААА",
  ] {
    assert_eq!(
      kind(Key::from_parts(
        kid.into(),
        Algorithm::Hs256,
        Zeroizing::new(vec![1; 32]),
        KeyState::Current,
        START
      )),
      Some(ErrorKind::KeyMaterialInvalid),
      "{kid}"
    );
  }
  // Generated keys: 16-character kids, distinct material (their tokens do not cross-verify).
  let policy = Policy::default();
  let a = KeyRing::generate(Algorithm::Hs256, START, &RotationPolicy::default())?;
  let b = KeyRing::generate(Algorithm::Hs256, START, &RotationPolicy::default())?;
  assert!(a.keys().iter().all(|k| k.kid().len() == 16));
  let t = sign(&a, &policy, START)?;
  assert_eq!(
    kind(verify(&b, &policy, START, &t)),
    Some(ErrorKind::KeyUnknown)
  );
  assert!(format!("{:?}", a.current()).contains("[redacted]"));
  Ok(())
}

#[test]
fn each_purpose_gets_its_own_key_and_equal_secrets_are_refused() -> Result<()> {
  // KR-06: AT signing keys are random (not derived); the app secret's purpose keys differ.
  assert_eq!(
    kind(Secrets::new(&[SECRET_A, SECRET_A])),
    Some(ErrorKind::ConfigInvalid)
  );
  let s = Secrets::new(&[SECRET_A, SECRET_B])?;
  let purposes = [
    Purpose::KeyRingSeal,
    Purpose::RefreshMac,
    Purpose::RefreshSuccessor,
    Purpose::Csrf,
  ];
  let mut seen = HashSet::new();
  for keys in s.all() {
    for p in purposes {
      let k = keys.get(p);
      assert!(seen.insert(*k), "{p:?}");
      assert_ne!(&k[..], &SECRET_A.as_bytes()[..32]);
    }
  }
  assert_eq!(seen.len(), 8);
  Ok(())
}
