//! Fuzz target: refresh tokens (src/token/refresh.rs: `RefreshToken::parse`, `encode`,
//! `successor`) and `TokenService::parse_refresh`.
//!
//! Input: one mode byte, then the body.
//! - mode even, raw: the body is a presented token, parsed under the app secrets `[S1, S2]`.
//!   Seeds are real tokens under S1 and S2, so mutations probe length, alphabet, version
//!   and MAC.
//! - mode odd, built: the body gives `version ‖ handle ‖ generation ‖ secret` (53 bytes,
//!   zero-padded) and 16 bytes of successor salt; the target MACs them as the module
//!   documentation says (HMAC-SHA-256 under the secret's refresh-MAC key, label
//!   `tandem-rt/v1`, truncated to 128 bits) with S1 or S2 (bit 1 of the mode), so the
//!   tag is always genuine and the fuzzer explores what comes after it.
//!
//! Invariants (each a crash when broken):
//! - parse never panics and fails only with REFRESH_MALFORMED or REFRESH_FORGED; it is
//!   MALFORMED exactly when the text is not the canonical base64url of 69 bytes with
//!   version 1;
//! - a parsed token re-encodes to exactly the input under the secret that MACed it (one
//!   spelling), and parses under `[S1, S2]` iff it parses under `[S1]` or `[S2]`;
//! - `TokenService::parse_refresh` agrees with `RefreshToken::parse`;
//! - a genuinely MACed token of version 1 parses, with the handle, generation and digest
//!   (SHA-256 of the secret) it was built with; any other version is MALFORMED;
//! - its successor has the same handle and generation + 1 (TOKEN_INVALID at 2^32 - 1),
//!   is deterministic, differs from it, and round-trips through encode and parse.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_session::digest;
use tandem_session::encoding;
use tandem_session::secret::{Purpose, Secrets};
use tandem_session::token::refresh::{RefreshToken, REFRESH_TEXT_LEN};
use tandem_session::ErrorKind;
use tandem_session_fuzz::{hex, secrets, secrets_1, secrets_2, service, verbose};

const RAW_LEN: usize = 69;
const MAC_LABEL: &[u8] = b"tandem-rt/v1";

fuzz_target!(|data: &[u8]| {
  let Some((&mode, body)) = data.split_first() else {
    return;
  };
  if mode & 1 == 0 {
    let _ = check_parse(body);
  } else {
    let with = if mode & 2 == 0 { secrets_1() } else { secrets_2() };
    check_built(body, with);
  }
});

fn kind<T>(r: &tandem_session::Result<T>) -> Result<(), ErrorKind> {
  r.as_ref().map(|_| ()).map_err(|e| e.kind())
}

/// Parse `text`; check every invariant of a presented token; return the verdict.
fn check_parse(text: &[u8]) -> tandem_session::Result<RefreshToken> {
  let all = RefreshToken::parse(text, secrets());
  let r1 = RefreshToken::parse(text, secrets_1());
  let r2 = RefreshToken::parse(text, secrets_2());
  let svc = service().parse_refresh(text);
  if verbose() {
    eprintln!(
      "refresh_token: {:?} (S1 {:?}, S2 {:?})",
      all.as_ref().map(|t| t.generation()).map_err(|e| e.kind()),
      kind(&r1),
      kind(&r2)
    );
  }
  assert_eq!(kind(&all), kind(&svc), "service disagrees on {}", hex(text));
  if let (Ok(a), Ok(b)) = (&all, &svc) {
    assert_eq!(a, b, "service parses {} differently", hex(text));
  }
  // Our format, independently of the MAC.
  let ours = text.len() == REFRESH_TEXT_LEN
    && encoding::decode_strict(text, RAW_LEN, ErrorKind::Internal)
      .is_ok_and(|raw| raw.len() == RAW_LEN && raw[0] == 1);
  match &all {
    Err(e) => {
      let want = if ours {
        ErrorKind::RefreshForged
      } else {
        ErrorKind::RefreshMalformed
      };
      assert_eq!(e.kind(), want, "refresh parse error kind on {}", hex(text));
      assert!(r1.is_err() && r2.is_err(), "parses under one secret, not both: {}", hex(text));
    }
    Ok(t) => {
      assert!(ours, "accepted a token not of our format: {}", hex(text));
      assert!(r1.is_ok() || r2.is_ok(), "parses under both, neither alone: {}", hex(text));
      for (r, s) in [(&r1, secrets_1()), (&r2, secrets_2())] {
        if let Ok(u) = r {
          assert_eq!(u, t, "token differs by secret: {}", hex(text));
          assert_eq!(
            u.encode(s).as_bytes(),
            text,
            "a parsed token does not re-encode to its text: {}",
            hex(text)
          );
        }
      }
      assert!(t.matches(&t.digest()));
    }
  }
  all
}

/// The text of `raw53 ‖ tag` as the module documentation defines the tag.
fn mac_and_encode(raw53: &[u8; 53], with: &Secrets) -> String {
  let tag = digest::hmac_sha256(with.current().get(Purpose::RefreshMac), &[MAC_LABEL, raw53]);
  let mut raw = [0u8; RAW_LEN];
  raw[..53].copy_from_slice(raw53);
  raw[53..].copy_from_slice(&tag[..16]);
  encoding::encode(&raw)
}

fn check_built(body: &[u8], with: &Secrets) {
  let mut raw53 = [0u8; 53];
  let n = body.len().min(53);
  raw53[..n].copy_from_slice(&body[..n]);
  let mut salt = [0u8; 16];
  let rest = &body[n..];
  let m = rest.len().min(16);
  salt[..m].copy_from_slice(&rest[..m]);

  let text = mac_and_encode(&raw53, with);
  assert_eq!(text.len(), REFRESH_TEXT_LEN);
  let parsed = check_parse(text.as_bytes());
  if raw53[0] != 1 {
    assert_eq!(
      kind(&parsed),
      Err(ErrorKind::RefreshMalformed),
      "version {} accepted: {text}",
      raw53[0]
    );
    return;
  }
  let t = parsed.unwrap_or_else(|e| panic!("a genuine token is refused ({:?}): {text}", e.kind()));
  assert_eq!(t.handle().0[..], raw53[1..17], "handle: {text}");
  let generation = u32::from_be_bytes([raw53[17], raw53[18], raw53[19], raw53[20]]);
  assert_eq!(t.generation(), generation, "generation: {text}");
  assert_eq!(t.digest(), digest::sha256(&raw53[21..53]), "digest: {text}");
  assert!(t.matches(&digest::sha256(&raw53[21..53])));

  // Successors are made under the current secret (S1).
  let next = t.successor(secrets(), &salt);
  if generation == u32::MAX {
    assert_eq!(kind(&next), Err(ErrorKind::TokenInvalid), "generation overflow: {text}");
    return;
  }
  let next = next.unwrap_or_else(|e| panic!("successor failed ({:?}): {text}", e.kind()));
  assert_eq!(next.handle(), t.handle());
  assert_eq!(next.generation(), generation + 1);
  assert_ne!(next.digest(), t.digest(), "successor keeps the secret: {text}");
  let again = t
    .successor_with(secrets().current(), &salt)
    .unwrap_or_else(|e| panic!("successor_with failed ({:?}): {text}", e.kind()));
  assert_eq!(next, again, "successor is not deterministic: {text}");
  let next_text = next.encode(secrets());
  let back = check_parse(next_text.as_bytes())
    .unwrap_or_else(|e| panic!("successor does not parse ({:?}): {text}", e.kind()));
  assert_eq!(back, next, "successor round trip: {text}");
}
