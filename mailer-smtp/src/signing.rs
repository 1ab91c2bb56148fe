//! DKIM signing per mailbox domain (feature `dkim`); without the feature nothing is ever signed.
//!
//! The signature is computed over the final bytes of the message, exactly as they go on the wire (RFC 6376,
//! `relaxed/relaxed`), and its header is put on top of those bytes; nothing is written into the message
//! after signing. The signed header list names only headers the message has (each once more than it
//! occurs, "oversigned", so no copy of them can be added on the way without breaking the signature).

use mailer_core::model::Address;

/// The headers a signature covers when the message has them.
#[cfg(feature = "dkim")]
const SIGNED: [&str; 12] = [
    "from",
    "reply-to",
    "subject",
    "date",
    "to",
    "cc",
    "message-id",
    "mime-version",
    "content-type",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
];

/// The DKIM keys, by the domain of the From address.
#[derive(Debug, Default)]
pub(crate) struct Signers {
    #[cfg(feature = "dkim")]
    by_domain: std::collections::HashMap<String, dkim::DkimKey>,
}

/// Signs one message.
#[derive(Debug)]
pub(crate) struct Signer<'a> {
    #[cfg(feature = "dkim")]
    key: &'a dkim::DkimKey,
    #[cfg(not(feature = "dkim"))]
    _never: std::marker::PhantomData<&'a ()>,
}

impl Signers {
    /// The signer for mail from `from`, if its domain has a key.
    #[cfg(feature = "dkim")]
    pub(crate) fn for_address(&self, from: &Address) -> Option<Signer<'_>> {
        let domain = from.domain().to_ascii_lowercase();
        let ascii = idna::domain_to_ascii(&domain).unwrap_or(domain);
        self.by_domain.get(&ascii).map(|key| Signer { key })
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
        let bad = |what: String| crate::ConfigError::Dkim(what);
        let domain = domain.trim().to_ascii_lowercase();
        let domain = idna::domain_to_ascii(&domain).map_err(|e| bad(format!("bad domain {domain:?}: {e}")))?;
        let selector = selector.trim().to_ascii_lowercase();
        let label_ok = |s: &str| {
            !s.is_empty()
                && s.split('.')
                    .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        };
        if !label_ok(&domain) || !label_ok(&selector) {
            return Err(bad(format!("bad domain {domain:?} or selector {selector:?}")));
        }
        let key = dkim::Key::parse(private_key, algorithm).map_err(bad)?;
        self.by_domain
            .insert(domain.clone(), dkim::DkimKey { domain, selector, key });
        Ok(())
    }
}

impl Signer<'_> {
    /// The `DKIM-Signature` header field (ending in CRLF) for the finished `message` (headers, empty
    /// line, body, CRLF line ends), to be put on top of it unchanged.
    #[cfg(feature = "dkim")]
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, mailer_core::ports::SendError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.key.sign(message, now).map_err(|e| {
            crate::error::invalid(
                mailer_core::ports::SendErrorKind::Other,
                format!("cannot sign the message (DKIM): {e}"),
            )
        })
    }

    /// Unreachable without the `dkim` feature (no signer exists).
    #[cfg(not(feature = "dkim"))]
    pub(crate) fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, mailer_core::ports::SendError> {
        Ok(Vec::new())
    }
}

/// The kind of a DKIM key.
#[cfg(feature = "dkim")]
#[cfg_attr(docsrs, doc(cfg(feature = "dkim")))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DkimAlgorithm {
    /// `rsa-sha256`, the key in PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`).
    Rsa,
    /// `ed25519-sha256` (RFC 8463), the 32-byte private key (seed) in base64.
    Ed25519,
}

#[cfg(feature = "dkim")]
mod dkim {
    use std::fmt;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use sha2::{Digest, Sha256};

    use super::{DkimAlgorithm, SIGNED};

    /// A private key.
    pub(super) enum Key {
        Rsa(Box<rsa::RsaPrivateKey>),
        Ed25519(Box<ed25519_dalek::SigningKey>),
    }

    impl fmt::Debug for Key {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(match self {
                Self::Rsa(_) => "Rsa(..)",
                Self::Ed25519(_) => "Ed25519(..)",
            })
        }
    }

    impl Key {
        pub(super) fn parse(text: &str, algorithm: DkimAlgorithm) -> Result<Self, String> {
            match algorithm {
                DkimAlgorithm::Rsa => {
                    use rsa::pkcs1::DecodeRsaPrivateKey;
                    use rsa::pkcs8::DecodePrivateKey;
                    let text = text.trim();
                    rsa::RsaPrivateKey::from_pkcs1_pem(text)
                        .or_else(|_| rsa::RsaPrivateKey::from_pkcs8_pem(text))
                        .map(|k| Self::Rsa(Box::new(k)))
                        .map_err(|e| format!("not an RSA private key in PEM (PKCS#1 or PKCS#8): {e}"))
                }
                DkimAlgorithm::Ed25519 => {
                    let bytes = B64
                        .decode(text.trim())
                        .map_err(|e| format!("Ed25519 key is not base64: {e}"))?;
                    let seed: [u8; 32] = bytes
                        .get(..32)
                        .filter(|_| bytes.len() == 32 || bytes.len() == 64)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(|| format!("Ed25519 key has {} bytes, not 32", bytes.len()))?;
                    Ok(Self::Ed25519(Box::new(ed25519_dalek::SigningKey::from_bytes(&seed))))
                }
            }
        }

        fn algorithm(&self) -> &'static str {
            match self {
                Self::Rsa(_) => "rsa-sha256",
                Self::Ed25519(_) => "ed25519-sha256",
            }
        }

        fn sign(&self, digest: &[u8]) -> Result<Vec<u8>, String> {
            match self {
                Self::Rsa(key) => key
                    .sign(rsa::Pkcs1v15Sign::new::<Sha256>(), digest)
                    .map_err(|e| e.to_string()),
                Self::Ed25519(key) => {
                    use ed25519_dalek::Signer as _;
                    Ok(key.sign(digest).to_bytes().to_vec())
                }
            }
        }
    }

    /// One domain's key and selector.
    #[derive(Debug)]
    pub(crate) struct DkimKey {
        pub(super) domain: String,
        pub(super) selector: String,
        pub(super) key: Key,
    }

    impl DkimKey {
        /// The signature header field for `message`, signed at `now` (seconds since the epoch).
        pub(super) fn sign(&self, message: &[u8], now: u64) -> Result<Vec<u8>, String> {
            let (head, body) = split(message).ok_or("the message has no empty line after its headers")?;
            let fields = fields(head);
            let body_hash = B64.encode(Sha256::digest(relaxed_body(body)));

            // Every signed header the message has, bottom-up as verifiers pick them, plus one more
            // (oversigning): a copy added later would then break the signature.
            let mut names: Vec<&str> = Vec::new();
            let mut hashed = Vec::new();
            for name in SIGNED {
                let present: Vec<&&[u8]> = fields.iter().filter(|f| field_name(f) == name).collect();
                if present.is_empty() {
                    continue;
                }
                for field in present.iter().rev() {
                    hashed.extend_from_slice(&relaxed_header(field));
                    names.push(name);
                }
                names.push(name);
            }
            let value = format!(
                "v=1; a={}; c=relaxed/relaxed; d={}; s={};\r\n\tt={now}; h={};\r\n\tbh={body_hash};\r\n\tb=",
                self.key.algorithm(),
                self.domain,
                self.selector,
                fold_list(&names),
            );
            let unsigned = format!("DKIM-Signature: {value}");
            let mut canonical = relaxed_header(unsigned.as_bytes());
            // The signature header is hashed without its final CRLF.
            canonical.truncate(canonical.len().saturating_sub(2));
            hashed.extend_from_slice(&canonical);
            let signature = B64.encode(self.key.sign(&Sha256::digest(&hashed))?);
            let mut out = unsigned.into_bytes();
            for (i, chunk) in signature.as_bytes().chunks(72).enumerate() {
                if i > 0 {
                    out.extend_from_slice(b"\r\n\t ");
                }
                out.extend_from_slice(chunk);
            }
            out.extend_from_slice(b"\r\n");
            Ok(out)
        }
    }

    /// The header block (with the CRLF of its last line) and the body.
    fn split(message: &[u8]) -> Option<(&[u8], &[u8])> {
        let at = message.windows(4).position(|w| w == b"\r\n\r\n")?;
        Some((&message[..at + 2], &message[at + 4..]))
    }

    /// The header fields, each with its continuation lines and without the final CRLF.
    fn fields(head: &[u8]) -> Vec<&[u8]> {
        let mut out: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i + 1 < head.len() {
            if head[i] == b'\r' && head[i + 1] == b'\n' {
                let next = head.get(i + 2).copied();
                if !matches!(next, Some(b' ' | b'\t')) {
                    out.push(&head[start..i]);
                    start = i + 2;
                }
                i += 2;
            } else {
                i += 1;
            }
        }
        out
    }

    fn field_name(field: &[u8]) -> String {
        let end = field.iter().position(|&b| b == b':').unwrap_or(field.len());
        String::from_utf8_lossy(&field[..end]).trim().to_ascii_lowercase()
    }

    /// RFC 6376 3.4.2: name lower-cased, value unfolded, runs of white space as one space, none at the
    /// ends; `name:value` CRLF.
    fn relaxed_header(field: &[u8]) -> Vec<u8> {
        let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
        let mut out = field_name(field).into_bytes();
        out.push(b':');
        let mut space = false;
        let mut started = false;
        for &b in field.get(colon + 1..).unwrap_or_default() {
            match b {
                b'\r' | b'\n' => {}
                b' ' | b'\t' => space = started,
                _ => {
                    if space {
                        out.push(b' ');
                        space = false;
                    }
                    started = true;
                    out.push(b);
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// RFC 6376 3.4.4: runs of white space in a line as one space, none at line ends, no empty lines at
    /// the end, CRLF after the last line.
    fn relaxed_body(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len());
        let mut lines: Vec<&[u8]> = Vec::new();
        let mut rest = body;
        while let Some(at) = rest.windows(2).position(|w| w == b"\r\n") {
            lines.push(&rest[..at]);
            rest = &rest[at + 2..];
        }
        if !rest.is_empty() {
            lines.push(rest);
        }
        for line in lines {
            let mut space = false;
            for &b in line {
                if b == b' ' || b == b'\t' {
                    space = true;
                } else {
                    if space {
                        out.push(b' ');
                        space = false;
                    }
                    out.push(b);
                }
            }
            out.extend_from_slice(b"\r\n");
        }
        while out.ends_with(b"\r\n\r\n") {
            out.truncate(out.len() - 2);
        }
        if out == b"\r\n" {
            out.clear();
        }
        out
    }

    /// `a:b:c`, folded before a colon when a line would pass 70 characters.
    fn fold_list(names: &[&str]) -> String {
        let mut out = String::new();
        let mut line = 0;
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                if line + name.len() > 70 {
                    out.push_str("\r\n\t");
                    line = 0;
                }
                out.push(':');
                line += 1;
            }
            out.push_str(name);
            line += name.len();
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn relaxed_header_unfolds_and_squeezes() {
            assert_eq!(
                relaxed_header(b"SubJect :  Hello \r\n\t  world  "),
                b"subject:Hello world\r\n".to_vec()
            );
            assert_eq!(relaxed_header(b"X:"), b"x:\r\n".to_vec());
        }

        #[test]
        fn relaxed_body_squeezes_and_drops_trailing_empty_lines() {
            assert_eq!(relaxed_body(b"a  b \t\r\n\r\n\r\n"), b"a b\r\n".to_vec());
            assert_eq!(relaxed_body(b" c"), b" c\r\n".to_vec());
            assert_eq!(relaxed_body(b"\r\n\r\n"), Vec::<u8>::new());
            assert_eq!(relaxed_body(b""), Vec::<u8>::new());
        }

        #[test]
        fn fields_keep_continuations() {
            let head = b"A: 1\r\nB: 2\r\n 3\r\nC: 4\r\n";
            assert_eq!(fields(head), vec![&b"A: 1"[..], b"B: 2\r\n 3", b"C: 4"]);
        }

        #[test]
        fn only_present_headers_are_signed_and_each_is_oversigned() {
            let key = DkimKey {
                domain: "example.com".into(),
                selector: "s".into(),
                key: Key::parse("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", DkimAlgorithm::Ed25519).expect("key"),
            };
            let header = key
                .sign(b"From: a@example.com\r\nSubject: x\r\nX-Other: y\r\n\r\nbody\r\n", 7)
                .expect("sign");
            let text = String::from_utf8(header).expect("ascii");
            assert!(text.contains("h=from:from:subject:subject;"), "{text}");
            assert!(text.contains("t=7;") && text.contains("a=ed25519-sha256"), "{text}");
            assert!(text.ends_with("\r\n") && !text.contains("x-other"), "{text}");
        }
    }
}
