//! Refresh and CSRF tokens at the core level (security.md §9 HR-01..HR-05, and the core half of
//! §7/§10.3 RT-05, ATK-41, ATK-56): the refresh-token format (92 characters; version, handle,
//! generation, secret, tag), forgeries naming a real handle are `REFRESH_FORGED` (so they can
//! revoke nothing) while an older generation that parses is genuine (reuse), the successor is
//! deterministic, the generation cannot wrap; CSRF tokens are bound to their session; a stored
//! digest is useless as a token.

use tandem_session::digest;
use tandem_session::encoding;
use tandem_session::secret::{Purpose, Secrets};
use tandem_session::token::csrf::{self, CSRF_TEXT_LEN};
use tandem_session::token::handle::HANDLE_TEXT_LEN;
use tandem_session::token::refresh::REFRESH_TEXT_LEN;
use tandem_session::token::{Handle, RefreshToken};
use tandem_session::{Error, ErrorKind, Result};

const S1: &str = "refresh-csrf-tests-app-secret-number-one-01";
const S2: &str = "refresh-csrf-tests-app-secret-number-two-02";
const H: Handle = Handle([0x11; 16]);
const OTHER: Handle = Handle([0x22; 16]);

fn kind<T>(r: Result<T>) -> Option<ErrorKind> {
  r.err().map(|e| e.kind())
}

fn fixture(detail: &'static str) -> Error {
  Error::new(ErrorKind::Internal, detail)
}

fn parse(text: &[u8], s: &Secrets) -> Result<RefreshToken> {
  RefreshToken::parse(text, s)
}

fn raw_of(text: &str) -> Result<Vec<u8>> {
  encoding::decode_strict(text.as_bytes(), 69, ErrorKind::Internal)
}

/// A refresh token built from its documented parts, with the tag computed under `mac_key`
/// (`tandem-rt/v1` ‖ first 53 bytes, truncated to 16 bytes).
fn craft(
  version: u8,
  handle: &Handle,
  generation: u32,
  secret: &[u8; 32],
  mac_key: &[u8],
) -> String {
  let mut raw = vec![version];
  raw.extend_from_slice(&handle.0);
  raw.extend_from_slice(&generation.to_be_bytes());
  raw.extend_from_slice(secret);
  let tag = digest::hmac_sha256(mac_key, &[b"tandem-rt/v1", &raw]);
  raw.extend_from_slice(&tag[..16]);
  encoding::encode(&raw)
}

fn mac_key(s: &Secrets) -> Vec<u8> {
  s.current().get(Purpose::RefreshMac).to_vec()
}

// ---------------------------------------------------------------------------------------
// Refresh tokens
// ---------------------------------------------------------------------------------------

#[test]
fn a_refresh_token_is_92_base64url_characters_and_parses_back_to_itself() -> Result<()> {
  let s = Secrets::new(&[S1])?;
  assert_eq!(REFRESH_TEXT_LEN, 92);
  let t = RefreshToken::issue(H)?;
  let text = t.encode(&s);
  assert_eq!(text.len(), 92);
  assert!(text.bytes().all(encoding::is_b64url_byte));
  let back = parse(text.as_bytes(), &s)?;
  assert_eq!(back, t);
  assert_eq!((back.handle(), back.generation()), (H, 0));
  assert!(back.matches(&t.digest()));
  // Two issues for one handle differ: 256 fresh random bits each.
  let u = RefreshToken::issue(H)?;
  assert_ne!(u.encode(&s), text);
  assert_ne!(u.digest(), t.digest());
  Ok(())
}

#[test]
fn the_format_is_version_handle_generation_secret_and_a_truncated_tag() -> Result<()> {
  // Pins the documented layout: rebuilding a token from its parts gives the same text.
  let s = Secrets::new(&[S1])?;
  let t = RefreshToken::issue(H)?.successor(&s, &[5; 16])?;
  let text = t.encode(&s);
  let raw = raw_of(&text)?;
  assert_eq!(raw.len(), 69);
  assert_eq!(raw[0], 1, "version");
  assert_eq!(&raw[1..17], &H.0, "handle");
  assert_eq!(&raw[17..21], &1u32.to_be_bytes(), "generation");
  assert_eq!(
    digest::sha256(&raw[21..53]),
    t.digest(),
    "secret: the store keeps its SHA-256"
  );
  let mut secret = [0u8; 32];
  secret.copy_from_slice(&raw[21..53]);
  assert_eq!(craft(1, &H, 1, &secret, &mac_key(&s)), text, "tag");
  Ok(())
}

#[test]
fn a_made_up_token_naming_a_real_handle_is_forged_not_reuse() -> Result<()> {
  // RT-05, ATK-41: our format, a real handle and generation, but no valid tag. Such a
  // token must fail as REFRESH_FORGED (which revokes nothing), never parse.
  let s = Secrets::new(&[S1])?;
  let real = RefreshToken::issue(H)?.encode(&s);
  let raw = raw_of(&real)?;
  let mut secret = [0u8; 32];
  secret.copy_from_slice(&raw[21..53]);
  let other_secrets = Secrets::new(&[S2])?;
  let forged = [
    ("random secret and tag", {
      let mut r = raw.clone();
      r[21..]
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);
      encoding::encode(&r)
    }),
    ("real secret, zero tag", {
      let mut r = raw.clone();
      r[53..].fill(0);
      encoding::encode(&r)
    }),
    (
      "tagged under another app secret",
      craft(1, &H, 0, &secret, &mac_key(&other_secrets)),
    ),
    (
      "tagged with the CSRF key",
      craft(1, &H, 0, &secret, s.current().get(Purpose::Csrf)),
    ),
    (
      "tagged with the successor key",
      craft(
        1,
        &H,
        0,
        &secret,
        s.current().get(Purpose::RefreshSuccessor),
      ),
    ),
    (
      "tagged with the sealing key",
      craft(1, &H, 0, &secret, s.current().get(Purpose::KeyRingSeal)),
    ),
    (
      "tagged with the app secret",
      craft(1, &H, 0, &secret, S1.as_bytes()),
    ),
    (
      "a later generation",
      craft(1, &H, 1, &secret, &mac_key(&other_secrets)),
    ),
  ];
  for (what, text) in forged {
    assert_eq!(text.len(), 92, "{what}");
    assert_eq!(
      kind(parse(text.as_bytes(), &s)),
      Some(ErrorKind::RefreshForged),
      "{what}"
    );
  }
  // One bit changed anywhere after the version byte: still our format, now forged.
  for i in 1..raw.len() {
    for bit in [0x01u8, 0x80] {
      let mut r = raw.clone();
      r[i] ^= bit;
      assert_eq!(
        kind(parse(encoding::encode(&r).as_bytes(), &s)),
        Some(ErrorKind::RefreshForged),
        "byte {i}"
      );
    }
  }
  // Control: the crafting is right, the real key gives a genuine token.
  assert!(parse(craft(1, &H, 0, &secret, &mac_key(&s)).as_bytes(), &s).is_ok());
  Ok(())
}

#[test]
fn a_token_of_another_version_is_malformed_even_with_a_valid_tag() -> Result<()> {
  let s = Secrets::new(&[S1])?;
  for version in [0u8, 2, 0x80, 0xff] {
    let text = craft(version, &H, 0, &[3; 32], &mac_key(&s));
    assert_eq!(
      kind(parse(text.as_bytes(), &s)),
      Some(ErrorKind::RefreshMalformed),
      "{version}"
    );
  }
  assert!(parse(craft(1, &H, 0, &[3; 32], &mac_key(&s)).as_bytes(), &s).is_ok());
  Ok(())
}

#[test]
fn text_that_is_not_our_format_is_malformed() -> Result<()> {
  // ATK-41: wrong length, wrong alphabet, truncated, extended, other token kinds.
  let s = Secrets::new(&[S1])?;
  let good = RefreshToken::issue(H)?.encode(&s);
  let csrf_token = csrf::issue(&H, &s)?;
  let bad = [
    String::new(),
    "x".repeat(43),
    "A".repeat(91),
    "A".repeat(93),
    good[..91].to_owned(),
    good[..64].to_owned(),
    format!("{good}A"),
    format!("{good}="),
    format!(" {good}"),
    format!("{}+{}", &good[..10], &good[11..]),
    format!("{}/{}", &good[..10], &good[11..]),
    format!("{}%{}", &good[..10], &good[11..]),
    format!("{}.{}", &good[..10], &good[11..]),
    csrf_token,
    H.to_text(),
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
  ];
  for b in bad {
    assert_eq!(
      kind(parse(b.as_bytes(), &s)),
      Some(ErrorKind::RefreshMalformed),
      "{b:.30}"
    );
  }
  Ok(())
}

#[test]
fn an_older_generation_that_parses_is_genuine_so_its_reuse_means_theft() -> Result<()> {
  // The engine's reuse rule rests on this: parse succeeds only for tokens we issued, so a
  // parsed generation older than the record's is a replayed, already rotated token.
  let s = Secrets::new(&[S1])?;
  let t0 = RefreshToken::issue(H)?;
  let t1 = t0.successor(&s, &[1; 16])?;
  let t2 = t1.successor(&s, &[2; 16])?;
  for (t, generation) in [(&t0, 0), (&t1, 1), (&t2, 2)] {
    let back = parse(t.encode(&s).as_bytes(), &s)?;
    assert_eq!((back.handle(), back.generation()), (H, generation));
    assert!(back.matches(&t.digest()));
  }
  // Only the newest digest is stored; the replayed old one parses but does not match it.
  let replayed = parse(t0.encode(&s).as_bytes(), &s)?;
  assert!(!replayed.matches(&t2.digest()));
  assert!(replayed.generation() < t2.generation());
  // Also after the app secret rotated: [new, old] still recognises old tokens as ours.
  let rotated = Secrets::new(&[S2, S1])?;
  assert_eq!(parse(t0.encode(&s).as_bytes(), &rotated)?.generation(), 0);
  assert_eq!(
    kind(parse(t0.encode(&s).as_bytes(), &Secrets::new(&[S2])?)),
    Some(ErrorKind::RefreshForged)
  );
  Ok(())
}

#[test]
fn the_successor_is_deterministic_and_depends_on_every_input() -> Result<()> {
  // The grace window replays the same successor: same predecessor, salt and secret → same
  // token; change any of them → another token.
  let s = Secrets::new(&[S1])?;
  let t = RefreshToken::issue(H)?;
  let salt = [7u8; 16];
  let a = t.successor(&s, &salt)?;
  assert_eq!(a, t.successor(&s, &salt)?);
  assert_eq!(a.encode(&s), t.successor(&s, &salt)?.encode(&s));
  assert_eq!((a.handle(), a.generation()), (H, 1));
  assert_ne!(a.digest(), t.digest());
  let mut salt2 = salt;
  salt2[15] ^= 1;
  assert_ne!(a, t.successor(&s, &salt2)?);
  assert_ne!(a, t.successor(&Secrets::new(&[S2])?, &salt)?);
  assert_ne!(a, RefreshToken::issue(H)?.successor(&s, &salt)?);
  // The first secret derives: with [S1, S2] as with [S1], and not as with [S2, S1].
  assert_eq!(a, t.successor(&Secrets::new(&[S1, S2])?, &salt)?);
  assert_ne!(a, t.successor(&Secrets::new(&[S2, S1])?, &salt)?);
  // A successor parsed back from its text derives the same next successor.
  let back = parse(a.encode(&s).as_bytes(), &s)?;
  assert_eq!(back.successor(&s, &salt)?, a.successor(&s, &salt)?);
  Ok(())
}

#[test]
fn the_generation_counter_cannot_wrap_around() -> Result<()> {
  let s = Secrets::new(&[S1])?;
  let near = parse(
    craft(1, &H, u32::MAX - 1, &[4; 32], &mac_key(&s)).as_bytes(),
    &s,
  )?;
  let last = near.successor(&s, &[0; 16])?;
  assert_eq!(last.generation(), u32::MAX);
  let last = parse(last.encode(&s).as_bytes(), &s)?;
  assert_eq!(
    kind(last.successor(&s, &[0; 16])),
    Some(ErrorKind::TokenInvalid)
  );
  Ok(())
}

// ---------------------------------------------------------------------------------------
// Hashing at rest
// ---------------------------------------------------------------------------------------

#[test]
fn the_stored_digest_is_not_the_token_nor_any_encoding_of_it() -> Result<()> {
  // HR-01, HR-03: the store keeps SHA-256 of the secret, found by the handle.
  let s = Secrets::new(&[S1])?;
  let t = RefreshToken::issue(H)?;
  let text = t.encode(&s);
  let raw = raw_of(&text)?;
  let d = t.digest();
  assert_eq!(d, digest::sha256(&raw[21..53]));
  assert!(!raw.windows(32).any(|w| w == d));
  let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
  assert!(!text.contains(&encoding::encode(&d)) && !text.contains(&hex));
  assert_eq!(
    parse(text.as_bytes(), &s)?.handle().to_text().len(),
    HANDLE_TEXT_LEN
  );
  Ok(())
}

#[test]
fn matches_compares_the_whole_digest() -> Result<()> {
  // HR-03: every bit counts, and a truncated or empty digest never matches.
  let t = RefreshToken::issue(H)?;
  let d = t.digest();
  assert!(t.matches(&d));
  for bit in 0..256 {
    let mut e = d;
    e[bit / 8] ^= 1 << (bit % 8);
    assert!(!t.matches(&e), "bit {bit}");
  }
  assert!(!t.matches(&d[..31]));
  assert!(!t.matches(&d[..16]));
  assert!(!t.matches(&[]));
  assert!(!t.matches(&[d.as_slice(), &[0]].concat()));
  Ok(())
}

#[test]
fn a_stored_digest_presented_as_a_token_fails() -> Result<()> {
  // HR-02: whoever reads the store gets digests; none of them is a refresh token.
  let s = Secrets::new(&[S1])?;
  let t = RefreshToken::issue(H)?;
  let d = t.digest();
  let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
  for text in [encoding::encode(&d), hex] {
    assert_eq!(
      kind(parse(text.as_bytes(), &s)),
      Some(ErrorKind::RefreshMalformed)
    );
  }
  // In our format, naming the real handle and generation, the digest in place of the
  // secret: without our MAC key it is forged…
  let guessed_tag = {
    let mut raw = raw_of(&t.encode(&s))?;
    raw[21..53].copy_from_slice(&d);
    encoding::encode(&raw)
  };
  assert_eq!(
    kind(parse(guessed_tag.as_bytes(), &s)),
    Some(ErrorKind::RefreshForged)
  );
  // …and even with the MAC key it parses but does not match the stored digest, because
  // the store holds SHA-256(secret), not a secret.
  let insider = parse(craft(1, &H, 0, &d, &mac_key(&s)).as_bytes(), &s)?;
  assert!(!insider.matches(&d));
  assert!(t.matches(&d));
  Ok(())
}

#[test]
fn refresh_and_csrf_errors_never_echo_their_input() -> Result<()> {
  // HR-05.
  let s = Secrets::new(&[S1])?;
  let text = RefreshToken::issue(H)?.encode(&s);
  let mut forged = raw_of(&text)?;
  forged[40] ^= 1;
  let forged = encoding::encode(&forged);
  let errors = [
    parse(forged.as_bytes(), &s).err(),
    parse(&text.as_bytes()[..91], &s).err(),
    csrf::verify(csrf::issue(&H, &s)?.as_bytes(), &OTHER, &s).err(),
  ];
  for e in errors {
    let e = e.ok_or_else(|| fixture("an error"))?;
    let msg = format!("{e} {e:?}");
    assert!(
      !msg.contains(&text[..20]) && !msg.contains(&text[30..60]) && !msg.contains(&forged[30..60])
    );
    assert!(!msg.contains(&H.to_text()) && !msg.contains(&OTHER.to_text()));
  }
  assert!(format!("{:?}", RefreshToken::issue(H)?).contains("[redacted]"));
  Ok(())
}

// ---------------------------------------------------------------------------------------
// CSRF tokens
// ---------------------------------------------------------------------------------------

#[test]
fn a_csrf_token_verifies_for_its_session_only() -> Result<()> {
  // ATK-56 (core half): another session's token, truncated, extended, altered.
  let s = Secrets::new(&[S1])?;
  let t = csrf::issue(&H, &s)?;
  assert_eq!((t.len(), CSRF_TEXT_LEN), (43, 43));
  csrf::verify(t.as_bytes(), &H, &s)?;
  assert_eq!(
    kind(csrf::verify(t.as_bytes(), &OTHER, &s)),
    Some(ErrorKind::CsrfInvalid)
  );
  let mut near = H;
  near.0[15] ^= 1;
  assert_eq!(
    kind(csrf::verify(t.as_bytes(), &near, &s)),
    Some(ErrorKind::CsrfInvalid)
  );
  for n in 0..t.len() {
    assert_eq!(
      kind(csrf::verify(&t.as_bytes()[..n], &H, &s)),
      Some(ErrorKind::CsrfInvalid),
      "first {n}"
    );
  }
  for extra in ["A", "=", "==", " ", "AAAA"] {
    let long = format!("{t}{extra}");
    assert_eq!(
      kind(csrf::verify(long.as_bytes(), &H, &s)),
      Some(ErrorKind::CsrfInvalid),
      "{extra:?}"
    );
  }
  // A token of another session verifies for that session: binding, not brokenness.
  let theirs = csrf::issue(&OTHER, &s)?;
  csrf::verify(theirs.as_bytes(), &OTHER, &s)?;
  assert_eq!(
    kind(csrf::verify(theirs.as_bytes(), &H, &s)),
    Some(ErrorKind::CsrfInvalid)
  );
  Ok(())
}

#[test]
fn a_csrf_token_is_a_nonce_and_its_tag_under_the_csrf_key_only() -> Result<()> {
  // The signed double-submit format: nonce (16) ‖ HMAC(k_csrf, "tandem-csrf/v1" ‖ handle ‖
  // nonce)[..16]. A planted token (naive double submit), or a tag under another key, fails.
  let s = Secrets::new(&[S1])?;
  let nonce = [9u8; 16];
  let make = |key: &[u8], handle: &Handle| {
    let tag = digest::hmac_sha256(key, &[b"tandem-csrf/v1", &handle.0, &nonce]);
    let mut raw = nonce.to_vec();
    raw.extend_from_slice(&tag[..16]);
    encoding::encode(&raw)
  };
  let k = s.current();
  csrf::verify(make(k.get(Purpose::Csrf), &H).as_bytes(), &H, &s)?;
  for (what, key) in [
    ("refresh MAC key", k.get(Purpose::RefreshMac).to_vec()),
    ("sealing key", k.get(Purpose::KeyRingSeal).to_vec()),
    ("app secret", S1.as_bytes().to_vec()),
    (
      "another app secret's CSRF key",
      Secrets::new(&[S2])?.current().get(Purpose::Csrf).to_vec(),
    ),
  ] {
    assert_eq!(
      kind(csrf::verify(make(&key, &H).as_bytes(), &H, &s)),
      Some(ErrorKind::CsrfInvalid),
      "{what}"
    );
  }
  // An attacker-planted value that is merely well formed.
  let planted = encoding::encode(&[0x41u8; 32]);
  assert_eq!(
    kind(csrf::verify(planted.as_bytes(), &H, &s)),
    Some(ErrorKind::CsrfInvalid)
  );
  // Other token kinds in its place.
  let rt = RefreshToken::issue(H)?.encode(&s);
  for other in [rt.as_str(), &rt[..43], H.to_text().as_str()] {
    assert_eq!(
      kind(csrf::verify(other.as_bytes(), &H, &s)),
      Some(ErrorKind::CsrfInvalid)
    );
  }
  // Stateless (HR-04): nothing but the handle and the app's secrets is needed; every issue
  // is fresh and each verifies.
  let (a, b) = (csrf::issue(&H, &s)?, csrf::issue(&H, &s)?);
  assert_ne!(a, b);
  csrf::verify(a.as_bytes(), &H, &s)?;
  csrf::verify(b.as_bytes(), &H, &s)?;
  Ok(())
}

#[test]
fn a_csrf_token_survives_a_secret_rotation_but_not_a_secret_change() -> Result<()> {
  let old = Secrets::new(&[S1])?;
  let t = csrf::issue(&H, &old)?;
  csrf::verify(t.as_bytes(), &H, &Secrets::new(&[S2, S1])?)?;
  assert_eq!(
    kind(csrf::verify(t.as_bytes(), &H, &Secrets::new(&[S2])?)),
    Some(ErrorKind::CsrfInvalid)
  );
  Ok(())
}
