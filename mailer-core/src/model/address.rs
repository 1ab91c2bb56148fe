//! Email addresses, checked once at the edge so the rest of the code never holds a bare string.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// An email address with an optional display name, e.g. `Anna Smith <anna@example.com>`.
///
/// [`Address::parse`] accepts a bare address or `Name <address>` and checks the address's shape:
/// one `@`, a local part without spaces or controls of at most 64 bytes, a domain of dot-separated labels.
/// Non-ASCII (internationalised) domains and local parts are accepted as UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Address {
    /// Display name, if any.
    pub name: Option<String>,
    /// The address itself, `local@domain`.
    pub email: String,
}

impl Address {
    /// Parses `addr@example.com` or `Display Name <addr@example.com>`.
    ///
    /// # Errors
    /// [`ValidationError::InvalidAddress`] with the input when it is not an address.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = || ValidationError::InvalidAddress(input.to_owned());
        let trimmed = input.trim();
        let (name, email) = match (trimmed.rfind('<'), trimmed.ends_with('>')) {
            (Some(open), true) => {
                let name = trimmed[..open].trim().trim_matches('"').trim();
                let email = &trimmed[open + 1..trimmed.len() - 1];
                ((!name.is_empty()).then(|| name.to_owned()), email.trim())
            }
            (None, false) => (None, trimmed),
            _ => return Err(invalid()),
        };
        if !is_valid_email(email) {
            return Err(invalid());
        }
        if name.as_deref().is_some_and(|n| n.chars().any(char::is_control)) {
            return Err(invalid());
        }
        Ok(Self {
            name,
            email: email.to_owned(),
        })
    }

    /// An address without a display name.
    ///
    /// # Errors
    /// [`ValidationError::InvalidAddress`] when `email` is not an address.
    pub fn new(email: &str) -> Result<Self, ValidationError> {
        let parsed = Self::parse(email)?;
        Ok(Self {
            name: None,
            email: parsed.email,
        })
    }

    /// The domain part, after the `@`.
    pub fn domain(&self) -> &str {
        self.email.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "\"{}\" <{}>", name.replace('"', "'"), self.email),
            None => f.write_str(&self.email),
        }
    }
}

fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"<>()[],;:\\\"@".contains(c));
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bare_and_named_addresses() {
        let a = Address::parse("anna@example.com").expect("bare");
        assert_eq!((a.name, a.email.as_str()), (None, "anna@example.com"));
        let b = Address::parse("\"Anna Smith\" <anna@example.com>").expect("named");
        assert_eq!(b.name.as_deref(), Some("Anna Smith"));
        assert_eq!(b.email, "anna@example.com");
        let idn = Address::parse("иван@пример.рф").expect("idn");
        assert_eq!(idn.domain(), "пример.рф");
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "anna",
            "anna@",
            "@example.com",
            "anna@example",
            "an na@example.com",
            "anna@@example.com",
            "anna@exa_mple.com",
            "Anna <anna@example.com",
            "a..b@example.com",
            "anna@example.com\r\nBcc: x@y.z",
        ] {
            assert!(Address::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
