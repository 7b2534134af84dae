//! The low-level JWS layer (RFC 7515 §5): sign exact header and payload bytes, and verify
//! a compact token against one key, with the cryptography done by the `jsonwebtoken`
//! crate (`jsonwebtoken::crypto::sign` and its RustCrypto provider's verifiers). A thread
//! keeps each ring key's prepared verifier (the keyed HMAC state), so a verify does not
//! re-key HMAC.
//!
//! Guarantees for [`verify`]: the token is split and its header parsed strictly (see
//! `compact` and `header`) *before* any cryptography; the header's `alg` must equal the
//! key's algorithm (no HS/EdDSA confusion: an Ed25519 public key is never an HMAC key);
//! the signature segment must be the canonical base64url of exactly the algorithm's
//! signature length; HMAC comparison is constant time (`hmac`'s `verify_slice`), Ed25519
//! verification rejects non-canonical `S` (ed25519-dalek). The payload is returned only
//! after the signature verified (RFC 8725 §3.3, "verify before use").
//!
//! Not guaranteed here: anything about claims; that is `access`'s job.

use std::cell::RefCell;

use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::crypto::JwtVerifier;
use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::claims::MAX_PAYLOAD_LEN;
use crate::jwt::compact;
use crate::jwt::header::{Header, MAX_HEADER_LEN};
use crate::jwt::Algorithm;

/// A token whose signature verified. `Debug` prints the header only.
#[derive(Clone)]
pub struct Verified {
  /// Its header.
  pub header: Header,
  /// Its decoded payload bytes (not yet parsed).
  pub payload: Vec<u8>,
}

impl std::fmt::Debug for Verified {
  fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
    f.debug_struct("Verified")
      .field("header", &self.header)
      .field("payload", &"[redacted]")
      .finish()
  }
}

/// The key a verification uses: its algorithm and its `jsonwebtoken` decoding key.
pub trait VerifyKey {
  /// The one algorithm of the key.
  fn alg(&self) -> Algorithm;
  /// The decoding key.
  fn decoding(&self) -> &DecodingKey;
  /// An id under which a thread may keep this key's prepared verifier (the keyed HMAC
  /// state), or `None` to prepare it on every call. Equal ids must mean equal keys.
  fn cache_id(&self) -> Option<u64> {
    None
  }
}

/// Sign exact header and payload bytes: `b64(header) "." b64(payload) "." b64(sig)`.
///
/// # Errors
/// `INTERNAL` when the crypto backend refuses the key.
pub fn sign(header: &[u8], payload: &[u8], key: &EncodingKey, alg: Algorithm) -> Result<String> {
  sign_encoded_header(&encoding::encode(header), payload, key, alg)
}

/// [`sign`] with the header segment already encoded.
///
/// # Errors
/// `INTERNAL` when the crypto backend refuses the key.
pub fn sign_encoded_header(
  header_b64: &str,
  payload: &[u8],
  key: &EncodingKey,
  alg: Algorithm,
) -> Result<String> {
  let mut token =
    String::with_capacity(header_b64.len() + encoding::encoded_len(payload.len()) + 90);
  token.push_str(header_b64);
  token.push('.');
  token.push_str(&encoding::encode(payload));
  let sig = jsonwebtoken::crypto::sign(token.as_bytes(), key, alg.to_jwt())
    .map_err(|_| err(ErrorKind::Internal, "signing failed"))?;
  token.push('.');
  token.push_str(&sig);
  Ok(token)
}

/// Verify `token`; `resolve` picks the key from the parsed header (by `kid`), or refuses.
///
/// # Errors
/// `TOKEN_MALFORMED` (shape, base64url, header JSON), `TOKEN_INVALID` (algorithm not
/// allowed or not the key's, bad signature), or what `resolve` returns.
pub fn verify<'k, K: VerifyKey + 'k>(
  token: &[u8],
  max_len: usize,
  resolve: impl FnOnce(&Header) -> Result<&'k K>,
) -> Result<Verified> {
  let mut parsed = None;
  let mut buf = vec![0u8; MAX_PAYLOAD_LEN];
  let (payload, _) = verify_segments(token, max_len, &mut buf, |segment| {
    let header = parse_header_segment(segment)?;
    let key = resolve(&header)?;
    if key.alg() != header.alg {
      return Err(err(
        ErrorKind::TokenInvalid,
        "alg is not the key's algorithm",
      ));
    }
    parsed = Some(header);
    Ok(key)
  })?;
  let header = parsed.ok_or_else(|| err(ErrorKind::Internal, "header not kept"))?;
  let payload = payload.to_vec();
  Ok(Verified { header, payload })
}

/// Decode and strictly parse an encoded header segment.
///
/// # Errors
/// `TOKEN_MALFORMED`, `TOKEN_INVALID`, as [`Header::parse`].
pub fn parse_header_segment(segment: &[u8]) -> Result<Header> {
  let mut buf = [0u8; MAX_HEADER_LEN];
  let n = encoding::decode_into(segment, &mut buf, ErrorKind::TokenMalformed)?;
  Header::parse(&buf[..n])
}

/// The verification steps below the header: split, let `resolve` turn the *encoded* header
/// segment into a key (it must parse or recognise the header and check that its `alg` is
/// the key's), check the signature, decode the payload into `buf` (at least
/// `MAX_PAYLOAD_LEN` bytes). Returns the payload and the key.
///
/// # Errors
/// `TOKEN_MALFORMED`, `TOKEN_INVALID`, or what `resolve` returns.
pub fn verify_segments<'b, 'k, K: VerifyKey + 'k>(
  token: &[u8],
  max_len: usize,
  buf: &'b mut [u8],
  resolve: impl FnOnce(&[u8]) -> Result<&'k K>,
) -> Result<(&'b [u8], &'k K)> {
  let parts = compact::split(token, max_len)?;
  let key = resolve(parts.header)?;
  check_signature(&parts, key)?;
  let n = encoding::decode_into(parts.payload, buf, ErrorKind::TokenMalformed)?;
  Ok((&buf[..n], key))
}

fn check_signature<K: VerifyKey>(parts: &compact::Compact<'_>, key: &K) -> Result<()> {
  let sig_len = match key.alg() {
    Algorithm::Hs256 => 32,
    Algorithm::EdDsa => 64,
  };
  if parts.signature.len() != encoding::encoded_len(sig_len) {
    return Err(err(
      ErrorKind::TokenInvalid,
      "signature has the wrong length",
    ));
  }
  let mut buf = [0u8; 64];
  encoding::decode_into(
    parts.signature,
    &mut buf[..sig_len],
    ErrorKind::TokenMalformed,
  )?;
  let sig = buf[..sig_len].to_vec();
  let ok = with_verifier(key, |v| v.verify(parts.signing_input, &sig).is_ok())?;
  if ok {
    Ok(())
  } else {
    Err(err(ErrorKind::TokenInvalid, "signature does not verify"))
  }
}

/// Most prepared verifiers a thread keeps.
const VERIFIER_CACHE: usize = 16;

thread_local! {
  /// Prepared `jsonwebtoken` verifiers (for HMAC: the keyed state), by key cache id.
  static VERIFIERS: RefCell<Vec<(u64, Box<dyn JwtVerifier>)>> = const { RefCell::new(Vec::new()) };
}

/// Run `f` with the `jsonwebtoken` verifier of `key`, prepared once per thread and key.
fn with_verifier<K: VerifyKey, R>(key: &K, f: impl FnOnce(&dyn JwtVerifier) -> R) -> Result<R> {
  let make = || {
    (DEFAULT_PROVIDER.verifier_factory)(&key.alg().to_jwt(), key.decoding()).map_err(|_| {
      err(
        ErrorKind::TokenInvalid,
        "the key cannot verify this algorithm",
      )
    })
  };
  let Some(id) = key.cache_id() else {
    return Ok(f(&*make()?));
  };
  VERIFIERS.with(|cell| {
    let Ok(mut cache) = cell.try_borrow_mut() else {
      return Ok(f(&*make()?));
    };
    if let Some((_, v)) = cache.iter().find(|(i, _)| *i == id) {
      return Ok(f(&**v));
    }
    let v = make()?;
    let r = f(&*v);
    if cache.len() >= VERIFIER_CACHE {
      cache.remove(0);
    }
    cache.push((id, v));
    Ok(r)
  })
}

/// A bare key, for the low-level API and known-answer tests.
///
/// Caution: `jsonwebtoken` verifies Ed25519 with ed25519-dalek's non-strict `verify`, which
/// accepts forgeries under a small-order *public key*. Ring keys are derived from random
/// seeds and are never small-order; a `RawKey` built from a foreign public key is not
/// checked for that, so never feed one an untrusted key.
pub struct RawKey {
  /// Its algorithm.
  pub alg: Algorithm,
  /// Its decoding key.
  pub key: DecodingKey,
}

impl VerifyKey for RawKey {
  fn alg(&self) -> Algorithm {
    self.alg
  }
  fn decoding(&self) -> &DecodingKey {
    &self.key
  }
}
