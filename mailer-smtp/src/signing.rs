//! DKIM signing per mailbox domain (feature `dkim`); without the feature nothing is ever signed.

use mailer_core::model::Address;

/// The DKIM keys, by the domain of the From address.
#[derive(Debug, Default)]
pub(crate) struct Signers {
    #[cfg(feature = "dkim")]
    by_domain: std::collections::HashMap<String, lettre::message::dkim::DkimConfig>,
}

/// Signs one message.
#[derive(Debug)]
pub(crate) struct Signer<'a> {
    #[cfg(feature = "dkim")]
    config: &'a lettre::message::dkim::DkimConfig,
    #[cfg(not(feature = "dkim"))]
    _never: std::marker::PhantomData<&'a ()>,
}

impl Signers {
    /// The signer for mail from `from`, if its domain has a key.
    #[cfg(feature = "dkim")]
    pub(crate) fn for_address(&self, from: &Address) -> Option<Signer<'_>> {
        self.by_domain
            .get(&from.domain().to_ascii_lowercase())
            .map(|config| Signer { config })
    }

    /// Never a signer without the `dkim` feature.
    #[cfg(not(feature = "dkim"))]
    pub(crate) fn for_address(&self, _from: &Address) -> Option<Signer<'_>> {
        None
    }

    /// Adds a key for `domain`.
    #[cfg(feature = "dkim")]
    pub(crate) fn add(
        &mut self,
        domain: &str,
        selector: &str,
        private_key: &str,
        algorithm: DkimAlgorithm,
    ) -> Result<(), crate::ConfigError> {
        use lettre::message::dkim::{
            DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
        };
        use lettre::message::header::HeaderName;

        let algorithm = match algorithm {
            DkimAlgorithm::Rsa => DkimSigningAlgorithm::Rsa,
            DkimAlgorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
        };
        let key = DkimSigningKey::new(private_key, algorithm).map_err(|e| crate::ConfigError::Dkim(e.to_string()))?;
        let headers = [
            "From",
            "To",
            "Cc",
            "Reply-To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
            "Content-Type",
            "List-Unsubscribe",
            "List-Unsubscribe-Post",
        ]
        .into_iter()
        .map(HeaderName::new_from_ascii_str)
        .collect();
        let domain = domain.trim().to_ascii_lowercase();
        let config = DkimConfig::new(
            selector.trim().to_owned(),
            domain.clone(),
            key,
            headers,
            DkimCanonicalization {
                header: DkimCanonicalizationType::Relaxed,
                body: DkimCanonicalizationType::Relaxed,
            },
        );
        self.by_domain.insert(domain, config);
        Ok(())
    }
}

impl Signer<'_> {
    /// Adds the DKIM-Signature header.
    #[cfg(feature = "dkim")]
    pub(crate) fn sign(&self, message: &mut lettre::Message) {
        message.sign(self.config);
    }

    /// Unreachable without the `dkim` feature (no signer exists).
    #[cfg(not(feature = "dkim"))]
    pub(crate) fn sign(&self, _message: &mut lettre::Message) {}
}

/// The kind of a DKIM key.
#[cfg(feature = "dkim")]
#[cfg_attr(docsrs, doc(cfg(feature = "dkim")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    /// `rsa-sha256`, the key in PKCS#1 PEM.
    Rsa,
    /// `ed25519-sha256` (RFC 8463), the 32-byte key in base64.
    Ed25519,
}
