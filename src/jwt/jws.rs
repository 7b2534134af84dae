//! The low-level JWS layer (RFC 7515 §5): sign exact header and payload bytes, and verify
//! a compact token against one key, with the cryptography done by the `jsonwebtoken`
//! crate (`jsonwebtoken::crypto::{sign, verify}`, RustCrypto backend).
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

use jsonwebtoken::{DecodingKey, EncodingKey};

use crate::encoding;
use crate::error::{err, ErrorKind, Result};
use crate::jwt::claims::MAX_PAYLOAD_LEN;
use crate::jwt::compact;
use crate::jwt::header::{Header, MAX_HEADER_LEN};
use crate::jwt::Algorithm;

/// A token whose signature verified.
#[derive(Debug, Clone)]
pub struct Verified {
  /// Its header.
  pub header: Header,
  /// Its decoded payload bytes (not yet parsed).
  pub payload: Vec<u8>,
}

/// The key a verification uses: its algorithm and its `jsonwebtoken` decoding key.
pub trait VerifyKey {
  /// The one algorithm of the key.
  fn alg(&self) -> Algorithm;
  /// The decoding key.
  fn decoding(&self) -> &DecodingKey;
}

/// Sign exact header and payload bytes: `b64(header) "." b64(payload) "." b64(sig)`.
///
/// # Errors
/// `INTERNAL` when the crypto backend refuses the key.
pub fn sign(header: &[u8], payload: &[u8], key: &EncodingKey, alg: Algorithm) -> Result<String> {
  let mut token = String::with_capacity(encoding::encoded_len(header.len() + payload.len()) + 100);
  token.push_str(&encoding::encode(header));
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
  let parts = compact::split(token, max_len)?;
  let header_bytes =
    encoding::decode_strict(parts.header, MAX_HEADER_LEN, ErrorKind::TokenMalformed)?;
  let header = Header::parse(&header_bytes)?;
  let key = resolve(&header)?;
  if key.alg() != header.alg {
    return Err(err(
      ErrorKind::TokenInvalid,
      "alg is not the key's algorithm",
    ));
  }
  let sig_len = match header.alg {
    Algorithm::Hs256 => 32,
    Algorithm::EdDsa => 64,
  };
  if parts.signature.len() != encoding::encoded_len(sig_len) {
    return Err(err(
      ErrorKind::TokenInvalid,
      "signature has the wrong length",
    ));
  }
  // Canonical spelling first: jsonwebtoken's decoder is strict too, but we do not rely on it.
  encoding::decode_strict(parts.signature, sig_len, ErrorKind::TokenMalformed)?;
  let sig_text = std::str::from_utf8(parts.signature)
    .map_err(|_| err(ErrorKind::TokenMalformed, "signature is not ASCII"))?;
  let ok = jsonwebtoken::crypto::verify(
    sig_text,
    parts.signing_input,
    key.decoding(),
    header.alg.to_jwt(),
  )
  .map_err(|_| err(ErrorKind::TokenInvalid, "signature does not verify"))?;
  if !ok {
    return Err(err(ErrorKind::TokenInvalid, "signature does not verify"));
  }
  let payload = encoding::decode_strict(parts.payload, MAX_PAYLOAD_LEN, ErrorKind::TokenMalformed)?;
  Ok(Verified { header, payload })
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

impl VerifyKey for crate::keys::Key {
  fn alg(&self) -> Algorithm {
    self.alg
  }
  fn decoding(&self) -> &DecodingKey {
    &self.decoding
  }
}
