//! Fuzz target: express-session's signed cookie, read by the `legacy` switch
//! (src/token/legacy.rs: `unsign`).
//!
//! Input: a selector byte, then a cookie value. Selector bit 7 clear: the value is read as
//! sent, under the secrets `["keyboard cat"]` (bit 0 clear) or `["new", "keyboard cat"]`.
//! Bit 7 set: the value's bytes make an id (printable ASCII kept, at most 256), which is
//! signed as cookie-signature signs it, URI-encoded (bit 1) or not, and read back.
//!
//! Invariants (each a crash when broken):
//! - `unsign` agrees with a plain reading written here (size limit, `%XX` decoding to
//!   ASCII, `s:` prefix, split at the last `.`, id 1..=256 printable bytes, a 43-character
//!   signature equal to base64-without-padding HMAC-SHA256 of the id under a secret);
//! - a cookie signed with one of the secrets gives its id back; with a changed signature
//!   byte it gives nothing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tandem_session::digest::hmac_sha256;
use tandem_session::token::legacy::{unsign, MAX_ID_LEN, MAX_VALUE_LEN};
use tandem_session_fuzz::hex;

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 (RFC 4648 §4) without padding.
fn b64(bytes: &[u8]) -> String {
  let mut out = String::new();
  for chunk in bytes.chunks(3) {
    let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
    for i in 0..=chunk.len() {
      out.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
    }
  }
  out
}

fn signature(id: &[u8], secret: &[u8]) -> String {
  b64(&hmac_sha256(secret, &[id]))
}

/// The reference reading.
fn model(value: &[u8], secrets: &[&[u8]]) -> Option<String> {
  if value.len() > MAX_VALUE_LEN {
    return None;
  }
  let mut text = Vec::new();
  let mut i = 0;
  while i < value.len() {
    if value[i] == b'%' {
      let h = value.get(i + 1..i + 3)?;
      let d = |c: u8| (c as char).to_digit(16);
      text.push((d(h[0])? * 16 + d(h[1])?) as u8);
      i += 3;
    } else {
      text.push(value[i]);
      i += 1;
    }
  }
  if !text.is_ascii() || !text.starts_with(b"s:") {
    return None;
  }
  let rest = &text[2..];
  let dot = rest.iter().rposition(|&b| b == b'.')?;
  let (id, sig) = (&rest[..dot], &rest[dot + 1..]);
  let printable = id.iter().all(|&b| (0x21..=0x7e).contains(&b));
  if id.is_empty() || id.len() > MAX_ID_LEN || !printable || sig.len() != 43 {
    return None;
  }
  secrets
    .iter()
    .any(|s| signature(id, s).as_bytes() == sig)
    .then(|| String::from_utf8(id.to_vec()).unwrap_or_default())
}

fuzz_target!(|data: &[u8]| {
  let Some((&sel, rest)) = data.split_first() else {
    return;
  };
  let one: [&[u8]; 1] = [b"keyboard cat"];
  let two: [&[u8]; 2] = [b"new", b"keyboard cat"];
  let secrets: &[&[u8]] = if sel & 1 == 0 { &one } else { &two };
  if sel & 0x80 == 0 {
    assert_eq!(unsign(rest, secrets), model(rest, secrets), "unsign differs from the model on {}", hex(rest));
    return;
  }
  // No `%`: unencoded, an id holding one would read as an escape (the cookie module always encodes it).
  let id: Vec<u8> = rest.iter().copied().filter(|&b| (0x21..=0x7e).contains(&b) && b != b'%').take(MAX_ID_LEN).collect();
  if id.is_empty() {
    return;
  }
  let sig = signature(&id, b"keyboard cat");
  let mut cookie = b"s:".to_vec();
  cookie.extend_from_slice(&id);
  cookie.push(b'.');
  cookie.extend_from_slice(sig.as_bytes());
  if sel & 2 != 0 {
    // URI-encoded as the `cookie` module writes it: `%` and what is not unreserved.
    cookie = cookie
      .iter()
      .flat_map(|&b| {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
          vec![b]
        } else {
          format!("%{b:02X}").into_bytes()
        }
      })
      .collect();
  }
  if cookie.len() > MAX_VALUE_LEN {
    return;
  }
  let want = String::from_utf8(id.clone()).ok();
  assert_eq!(unsign(&cookie, secrets), want, "a signed cookie is not read back: {}", hex(&cookie));
  let last = cookie.len() - 1;
  cookie[last] = if cookie[last] == b'A' { b'B' } else { b'A' };
  assert_eq!(unsign(&cookie, secrets), None, "a changed signature is accepted: {}", hex(&cookie));
});
