//! TLS settings shared by SMTP (lettre) and IMAP (tokio-rustls): rustls with the ring provider, the
//! Mozilla roots from `webpki-roots`, plus any extra roots the host trusts (a company CA, a test
//! certificate).

use std::sync::Arc;

use lettre::transport::smtp::client::{Certificate, TlsParameters};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::ConfigError;

/// The roots to trust beyond the built-in ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExtraRoots(Vec<CertificateDer<'static>>);

impl ExtraRoots {
    /// Adds every certificate in a PEM text.
    pub(crate) fn add_pem(&mut self, pem: &[u8]) -> Result<(), ConfigError> {
        let before = self.0.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.0.push(cert.map_err(|e| ConfigError::Certificate(e.to_string()))?);
        }
        if self.0.len() == before {
            return Err(ConfigError::Certificate("no certificate in the PEM text".into()));
        }
        Ok(())
    }

    /// A rustls client configuration (ring) trusting the built-in and the extra roots.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for cert in &self.0 {
            roots
                .add(cert.clone())
                .map_err(|e| ConfigError::Certificate(e.to_string()))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| ConfigError::Certificate(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// lettre's TLS parameters for `host`, trusting the built-in and the extra roots.
    pub(crate) fn smtp_parameters(&self, host: &str) -> Result<TlsParameters, lettre::transport::smtp::Error> {
        let mut builder = TlsParameters::builder(host.to_owned());
        for cert in &self.0 {
            builder = builder.add_root_certificate(Certificate::from_der(cert.to_vec())?);
        }
        builder.build_rustls()
    }
}

/// The name the server's certificate must match: a DNS name or an IP address.
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>, std::io::Error> {
    ServerName::try_from(host.to_owned()).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("bad server name {host:?}: {e}"),
        )
    })
}
