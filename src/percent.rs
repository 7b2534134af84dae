//! `%XX` decoding, as `decodeURIComponent` does it byte by byte: for express-session's
//! URI-encoded cookie values (`token::legacy`) and connection-string query values
//! (`store::postgres::sslmode`).
//!
//! Guarantees: every `%` must start two hex digits (either case; no sign, as
//! `decodeURIComponent` refuses `%+1`), or the text is refused;
//! other bytes, `+` among them, stay as they are. Not here: what the bytes must be after
//! (ASCII, UTF-8): each caller checks its own.

/// The bytes `s` stands for, or `None` for a bad escape.
pub fn decode(s: &[u8]) -> Option<Vec<u8>> {
  let mut out = Vec::with_capacity(s.len());
  let mut i = 0;
  while i < s.len() {
    if s[i] == b'%' {
      // Two hex digits exactly: `from_str_radix` alone would take a sign (`%+1`).
      let (hi, lo) = (hex(*s.get(i + 1)?)?, hex(*s.get(i + 2)?)?);
      out.push((hi << 4) | lo);
      i += 3;
    } else {
      out.push(s[i]);
      i += 1;
    }
  }
  Some(out)
}

fn hex(b: u8) -> Option<u8> {
  char::from(b)
    .to_digit(16)
    .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn escapes_decode_and_bad_ones_are_refused() {
    assert_eq!(decode(b"s%3Aa%2fb+c").as_deref(), Some(&b"s:a/b+c"[..]));
    for bad in [&b"%"[..], b"%4", b"%zz", b"a%+1"] {
      assert_eq!(decode(bad), None, "{bad:?}");
    }
  }
}
