//! TLS to the store servers: the trust anchors (a CA the app gives, else the system's) and
//! the rustls client configurations for PostgreSQL's `sslmode`s. Redis's `rediss://` uses
//! the same anchors through the redis crate's own rustls support (see `store::redis`).
//!
//! Guarantees:
//! - one crypto provider, rustls's `ring`, installed for the process once (the first store
//!   that needs TLS does it; an app that installed another one keeps it);
//! - `verify-full` checks the certificate chain against the anchors and the server's name
//!   (host name or IP address) against the certificate; `verify-ca` checks the chain only;
//!   `require` and `prefer` encrypt without checking, as libpq does without a root
//!   certificate; with a CA given they check the chain as `verify-ca`, again as libpq;
//! - a CA that holds no PEM certificate, or one rustls refuses, is `CONFIG_INVALID`: a typo
//!   never silently falls back to another trust store; messages never hold its bytes.
//!
//! Not guaranteed: client certificates (mutual TLS); revocation checks (CRL, OCSP); that
//! the system's roots are present (a container without `ca-certificates` has none, and
//! then only a given CA works).

use std::sync::{Arc, Once};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{err, ErrorKind, Result};

/// How much a connection checks of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
  /// Chain and name (`verify-full`).
  Full,
  /// Chain only (`verify-ca`; `require` and `prefer` with a CA given).
  Chain,
  /// Nothing: encrypted, not authenticated (`require` and `prefer` without a CA).
  Nothing,
}

/// rustls's `ring` provider. rustls deprecates it for its lack of post-quantum key
/// exchange; it is kept because the alternative (aws-lc-rs) adds a large C build to every
/// install from source, and the connections it protects are to the app's own servers.
#[allow(deprecated)]
fn provider() -> rustls::crypto::CryptoProvider {
  rustls::crypto::ring::default_provider()
}

/// Install the `ring` provider as the process default, once (an app's own stays).
pub fn install_provider() {
  static ONCE: Once = Once::new();
  ONCE.call_once(|| {
    let _ = provider().install_default();
  });
}

/// The certificates of a PEM text (the CA option).
///
/// # Errors
/// `CONFIG_INVALID` when it holds none, or one that does not parse.
pub fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
  let certs = CertificateDer::pem_slice_iter(pem)
    .collect::<std::result::Result<Vec<_>, _>>()
    .map_err(|_| err(ErrorKind::ConfigInvalid, "the TLS CA is not valid PEM"))?;
  if certs.is_empty() {
    return Err(err(
      ErrorKind::ConfigInvalid,
      "the TLS CA holds no PEM certificate",
    ));
  }
  Ok(certs)
}

/// The trust anchors: the given CA's certificates, else the system's roots.
///
/// # Errors
/// `CONFIG_INVALID` for a CA rustls refuses; `STORE_UNAVAILABLE` when no CA is given and
/// the system has no usable root.
pub fn anchors(ca_pem: Option<&[u8]>) -> Result<RootCertStore> {
  let mut roots = RootCertStore::empty();
  if let Some(pem) = ca_pem {
    for c in pem_certificates(pem)? {
      roots.add(c).map_err(|_| {
        err(
          ErrorKind::ConfigInvalid,
          "the TLS CA is not a usable certificate",
        )
      })?;
    }
    return Ok(roots);
  }
  let found = rustls_native_certs::load_native_certs();
  let (added, _) = roots.add_parsable_certificates(found.certs);
  if added == 0 {
    return Err(err(
      ErrorKind::StoreUnavailable,
      "no system root certificate was found: give the store a CA",
    ));
  }
  Ok(roots)
}

/// A rustls client configuration that checks as `check` says, against `ca_pem` (or the
/// system's roots).
///
/// # Errors
/// As [`anchors`]; `INTERNAL` when rustls cannot build a verifier from the anchors.
pub fn client_config(check: Check, ca_pem: Option<&[u8]>) -> Result<ClientConfig> {
  install_provider();
  let builder = ClientConfig::builder();
  let config = match check {
    Check::Full => builder
      .with_root_certificates(anchors(ca_pem)?)
      .with_no_client_auth(),
    Check::Chain | Check::Nothing => {
      let chain = match check {
        Check::Chain => Some(webpki(anchors(ca_pem)?)?),
        _ => None,
      };
      let verifier = Arc::new(Partial {
        chain,
        algorithms: provider().signature_verification_algorithms,
      });
      builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
    }
  };
  Ok(config)
}

fn webpki(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>> {
  WebPkiServerVerifier::builder(Arc::new(roots))
    .build()
    .map_err(|_| err(ErrorKind::Internal, "the TLS verifier could not be built"))
}

/// The checks short of `verify-full`. With `chain` (`verify-ca`) the certificate is
/// checked as `verify-full` checks it, a name that does not match being the one error let
/// through; without (`require`, no CA) it is not checked. Either way the handshake's
/// signatures are (the session key is the certificate's).
#[derive(Debug)]
struct Partial {
  chain: Option<Arc<WebPkiServerVerifier>>,
  algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Partial {
  fn verify_server_cert(
    &self,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    ocsp: &[u8],
    now: UnixTime,
  ) -> std::result::Result<ServerCertVerified, rustls::Error> {
    let Some(chain) = &self.chain else {
      return Ok(ServerCertVerified::assertion());
    };
    match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
      Err(rustls::Error::InvalidCertificate(
        rustls::CertificateError::NotValidForName
        | rustls::CertificateError::NotValidForNameContext { .. },
      )) => Ok(ServerCertVerified::assertion()),
      other => other,
    }
  }

  fn verify_tls12_signature(
    &self,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
  ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
  }

  fn verify_tls13_signature(
    &self,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
  ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
  }

  fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
    self.algorithms.supported_schemes()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn a_ca_that_is_not_pem_is_refused_and_never_replaced_by_the_system_roots() {
    for bad in [
      &b""[..],
      b"not a certificate",
      b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
    ] {
      let kind = anchors(Some(bad)).err().map(|e| e.kind());
      assert_eq!(kind, Some(ErrorKind::ConfigInvalid));
    }
  }

  #[test]
  fn every_check_builds_a_configuration_without_a_ca_when_the_system_has_roots() {
    install_provider();
    assert!(client_config(Check::Nothing, None).is_ok());
    // The system's roots may be missing in a bare container: then the error says so.
    match client_config(Check::Full, None) {
      Ok(_) => {}
      Err(e) => assert_eq!(e.kind(), ErrorKind::StoreUnavailable),
    }
  }
}
