//! Email addresses, checked once at the edge so the rest of the code never holds a bare string.

use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// An email address with an optional display name, e.g. `Anna Smith <anna@example.com>`.
///
/// [`Address::parse`] accepts a bare address or `Name <address>` and checks the address's shape:
/// one `@`, a local part without spaces or controls of at most 64 bytes, a domain of dot-separated labels.
/// Non-ASCII (internationalised) domains and local parts are accepted as UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Address {
    /// Display name, if any: never holds a line break or other control character.
    pub name: Option<DisplayName>,
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
        if name.as_deref().is_some_and(|n| n.chars().any(is_line_breaking)) {
            return Err(invalid());
        }
        Ok(Self {
            name: name.map(DisplayName::from),
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

/// A display name, e.g. the `Anna Smith` of `Anna Smith <anna@example.com>`: made on construction to hold
/// no CR, LF, NEL (U+0085), LS (U+2028), PS (U+2029) or other control character (each becomes a space), so
/// a name from the CRM can never start a new header line, whichever way it reaches the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    /// The name, cleaned: controls and line separators become spaces, the ends are trimmed.
    pub fn new(name: &str) -> Self {
        let cleaned: String = name
            .chars()
            .map(|c| if is_line_breaking(c) { ' ' } else { c })
            .collect();
        Self(cleaned.trim().to_owned())
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for DisplayName {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for DisplayName {
    fn from(name: &str) -> Self {
        Self::new(name)
    }
}

impl From<String> for DisplayName {
    fn from(name: String) -> Self {
        if name.chars().any(is_line_breaking) || name.trim().len() != name.len() {
            Self::new(&name)
        } else {
            Self(name)
        }
    }
}

impl From<DisplayName> for String {
    fn from(name: DisplayName) -> Self {
        name.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Control characters (CR, LF, NEL among them) and the Unicode line and paragraph separators.
fn is_line_breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
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
    fn display_names_never_hold_a_line_break() {
        for raw in [
            "Anna\r\nBcc: x@y.z",
            "Anna\nBcc",
            "Anna\u{85}Bcc",
            "Anna\u{2028}Bcc",
            "Anna\u{2029}Bcc",
            "Anna\u{0}\u{1b}Bcc",
        ] {
            for name in [
                DisplayName::from(raw),
                DisplayName::from(raw.to_owned()),
                DisplayName::new(raw),
            ] {
                assert!(!name.chars().any(is_line_breaking), "{raw:?} kept {name:?}");
                assert!(name.starts_with("Anna ") && name.contains("Bcc"), "{name:?}");
            }
            let json = serde_json::to_string(raw).expect("json");
            let de: DisplayName = serde_json::from_str(&json).expect("de");
            assert!(!de.chars().any(is_line_breaking), "deserialised {de:?}");
        }
        let a = Address {
            name: Some("Eve\r\nBcc: all@x.y".into()),
            email: "eve@example.com".into(),
        };
        assert_eq!(a.to_string(), "\"Eve  Bcc: all@x.y\" <eve@example.com>");
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
            "Anna\u{2028}Bcc: x@y.z <anna@example.com>",
            "Anna\u{85}Bcc: x@y.z <anna@example.com>",
        ] {
            assert!(Address::parse(bad).is_err(), "accepted {bad:?}");
        }
    }
}
