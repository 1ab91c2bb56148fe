//! Signed tracking URLs: the open pixel, trigger links, the web version, forms, web pages and unsubscribe.
//!
//! A token is `base64url(payload ‖ mac)` without padding, where `mac` is the first 16 bytes of
//! HMAC-SHA256 under the account's signing key over the whole payload. The payload (version 1) is:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | version (`1`) |
//! | 1 | kind: 1 open, 2 click, 3 web version, 4 form, 5 page, 6 unsubscribe |
//! | 1 | flags: bit 0 preview, bit 1 an email id is present |
//! | 8 | account id (big-endian) |
//! | 8 | email id (0 when absent) |
//! | 8 | trigger link id (click) or web page id (page), else 0 |
//! | 1 | entity kind: 0 lead, 1 contact, 2 company |
//! | 8 | entity id |
//! | 8 | issued at, Unix seconds |
//! | rest | recipient address, UTF-8 (may be empty) |
//!
//! The host routes each kind under its own path, which [`TokenKind::route`] gives:
//!
//! | kind | URL |
//! |---|---|
//! | open pixel | `{base}/t/o/{token}` |
//! | trigger link click | `{base}/t/l/{token}` |
//! | web version of the email | `{base}/w/{token}` |
//! | form answers | `{base}/f/{token}` |
//! | public web page | `{base}/p/{token}` |
//! | unsubscribe | `{base}/u/{token}` |
//!
//! Verification recomputes the MAC and compares it in constant time; changing any byte of a token makes it
//! fail. A preview token carries the preview flag: the host serves it but records nothing.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::model::{AccountId, CrmId, EmailId, EntityKind, EntityRef, Timestamp, TriggerLinkId, WebPageId};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
const FIXED_LEN: usize = 3 + 8 + 8 + 8 + 1 + 8 + 8;
/// The shortest signing key accepted, in bytes.
pub const MIN_KEY_LEN: usize = 16;

/// What a tracking token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// The open pixel.
    Open,
    /// A click on `{triggerlink:N}`.
    Click(TriggerLinkId),
    /// `{weblink}`: the email shown in a browser.
    WebVersion,
    /// `{formlink}`: the action URL of a form in the email.
    Form,
    /// `{web:N}`: a public web page for the entity.
    Page(WebPageId),
    /// `{unsubscribe}` (also used for the `List-Unsubscribe` header).
    Unsubscribe,
}

impl TokenKind {
    /// The path prefix the host routes this kind under, e.g. `/t/l/`; the token follows it.
    pub fn route(self) -> &'static str {
        match self {
            Self::Open => "/t/o/",
            Self::Click(_) => "/t/l/",
            Self::WebVersion => "/w/",
            Self::Form => "/f/",
            Self::Page(_) => "/p/",
            Self::Unsubscribe => "/u/",
        }
    }

    fn code(self) -> (u8, i64) {
        match self {
            Self::Open => (1, 0),
            Self::Click(id) => (2, id.0),
            Self::WebVersion => (3, 0),
            Self::Form => (4, 0),
            Self::Page(id) => (5, id.0),
            Self::Unsubscribe => (6, 0),
        }
    }

    fn from_code(code: u8, target: i64) -> Option<Self> {
        Some(match code {
            1 => Self::Open,
            2 => Self::Click(TriggerLinkId(target)),
            3 => Self::WebVersion,
            4 => Self::Form,
            5 => Self::Page(WebPageId(target)),
            6 => Self::Unsubscribe,
            _ => return None,
        })
    }
}

/// What a signed URL says: the kind, who it is for and whether it came from a preview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackingToken {
    /// What it is.
    pub kind: TokenKind,
    /// The account (tenant) that signed it.
    pub account: AccountId,
    /// The email it was rendered into; `None` for a web page link written into a CRM field outside an email.
    pub email: Option<EmailId>,
    /// The recipient's address (empty when there is none).
    pub recipient: String,
    /// The CRM entity the email or page is about.
    pub entity: EntityRef,
    /// Made by a preview: the host must record nothing for it.
    pub preview: bool,
    /// When the link was made (whole seconds); web pages count their lifetime from it.
    pub issued_at: Timestamp,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not base64url, too short, or of an unknown version or kind.
    #[error("malformed tracking token")]
    Malformed,
    /// The MAC does not match: the token was changed or signed with another key.
    #[error("tracking token signature does not match")]
    BadSignature,
    /// The token verifies but belongs to another account than the verifying builder's.
    #[error("tracking token belongs to another account")]
    OtherAccount,
    /// The signing key is shorter than [`MIN_KEY_LEN`] bytes.
    #[error("signing key must be at least {MIN_KEY_LEN} bytes")]
    KeyTooShort,
}

/// Makes and checks the signed URLs of one account.
///
/// # Example
/// ```
/// use mailer_core::model::{AccountId, EntityRef};
/// use mailer_core::template::{LinkBuilder, TokenKind, TrackingToken};
///
/// let links = LinkBuilder::new("https://mail.example.com", AccountId(7), b"0123456789abcdef-secret".to_vec())?;
/// let token = TrackingToken {
///     kind: TokenKind::Open,
///     account: AccountId(7),
///     email: None,
///     recipient: "anna@example.com".into(),
///     entity: EntityRef::lead(42),
///     preview: false,
///     issued_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
/// };
/// let url = links.url(&token);
/// assert!(url.starts_with("https://mail.example.com/t/o/"));
/// let signed = &url["https://mail.example.com/t/o/".len()..];
/// assert_eq!(links.verify(signed)?, token);
/// # Ok::<(), mailer_core::template::TokenError>(())
/// ```
#[derive(Clone)]
pub struct LinkBuilder {
    base_url: String,
    account: AccountId,
    mac: HmacSha256,
}

impl fmt::Debug for LinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkBuilder")
            .field("base_url", &self.base_url)
            .field("account", &self.account)
            .field("key", &"***")
            .finish()
    }
}

impl LinkBuilder {
    /// A builder for `account`, making URLs under `base_url` (a trailing `/` is dropped) signed with `key`.
    ///
    /// # Errors
    /// [`TokenError::KeyTooShort`] when `key` has fewer than [`MIN_KEY_LEN`] bytes.
    pub fn new(base_url: impl Into<String>, account: AccountId, key: impl AsRef<[u8]>) -> Result<Self, TokenError> {
        let key = key.as_ref();
        if key.len() < MIN_KEY_LEN {
            return Err(TokenError::KeyTooShort);
        }
        let mac = HmacSha256::new_from_slice(key).map_err(|_| TokenError::KeyTooShort)?;
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Ok(Self { base_url, account, mac })
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The account whose key this builder holds.
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// The signed token alone (what follows the route in the URL).
    pub fn sign(&self, token: &TrackingToken) -> String {
        let mut bytes = Vec::with_capacity(FIXED_LEN + token.recipient.len() + MAC_LEN);
        encode_payload(token, &mut bytes);
        let mut mac = self.mac.clone();
        mac.update(&bytes);
        let tag = mac.finalize().into_bytes();
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(&bytes)
    }

    /// The full URL: base URL, the route of the token's kind, and the signed token.
    pub fn url(&self, token: &TrackingToken) -> String {
        let signed = self.sign(token);
        let route = token.kind.route();
        let mut url = String::with_capacity(self.base_url.len() + route.len() + signed.len());
        url.push_str(&self.base_url);
        url.push_str(route);
        url.push_str(&signed);
        url
    }

    /// Checks a token made by [`LinkBuilder::sign`] with this account's key and decodes it.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] for anything that is not a token, [`TokenError::BadSignature`] when the MAC
    /// does not match (any changed byte), [`TokenError::OtherAccount`] when it is another account's.
    pub fn verify(&self, token: &str) -> Result<TrackingToken, TokenError> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
        if bytes.len() < FIXED_LEN + MAC_LEN {
            return Err(TokenError::Malformed);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac.clone();
        mac.update(payload);
        mac.verify_truncated_left(tag).map_err(|_| TokenError::BadSignature)?;
        let decoded = decode_payload(payload)?;
        if decoded.account != self.account {
            return Err(TokenError::OtherAccount);
        }
        Ok(decoded)
    }
}

/// The account a token claims to belong to, read **without** checking its signature: the host uses it to
/// pick the account's key, then calls [`LinkBuilder::verify`].
///
/// # Errors
/// [`TokenError::Malformed`] when the token cannot be decoded.
pub fn token_account(token: &str) -> Result<AccountId, TokenError> {
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
    if bytes.len() < FIXED_LEN + MAC_LEN {
        return Err(TokenError::Malformed);
    }
    decode_payload(&bytes[..bytes.len() - MAC_LEN]).map(|t| t.account)
}

fn encode_payload(token: &TrackingToken, out: &mut Vec<u8>) {
    let (kind, target) = token.kind.code();
    let flags = u8::from(token.preview) | (u8::from(token.email.is_some()) << 1);
    out.push(VERSION);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&token.account.0.to_be_bytes());
    out.extend_from_slice(&token.email.map_or(0, |e| e.0).to_be_bytes());
    out.extend_from_slice(&target.to_be_bytes());
    out.push(match token.entity.kind {
        EntityKind::Lead => 0,
        EntityKind::Contact => 1,
        EntityKind::Company => 2,
    });
    out.extend_from_slice(&token.entity.id.0.to_be_bytes());
    out.extend_from_slice(&token.issued_at.timestamp().to_be_bytes());
    out.extend_from_slice(token.recipient.as_bytes());
}

fn decode_payload(p: &[u8]) -> Result<TrackingToken, TokenError> {
    let int = |at: usize| -> Result<i64, TokenError> {
        let raw: [u8; 8] = p
            .get(at..at + 8)
            .and_then(|s| s.try_into().ok())
            .ok_or(TokenError::Malformed)?;
        Ok(i64::from_be_bytes(raw))
    };
    if p.len() < FIXED_LEN || p[0] != VERSION || p[2] > 0b11 {
        return Err(TokenError::Malformed);
    }
    let kind = TokenKind::from_code(p[1], int(19)?).ok_or(TokenError::Malformed)?;
    let entity_kind = match p[27] {
        0 => EntityKind::Lead,
        1 => EntityKind::Contact,
        2 => EntityKind::Company,
        _ => return Err(TokenError::Malformed),
    };
    let recipient = std::str::from_utf8(&p[FIXED_LEN..]).map_err(|_| TokenError::Malformed)?;
    Ok(TrackingToken {
        kind,
        account: AccountId(int(3)?),
        email: (p[2] & 0b10 != 0).then(|| int(11).map(EmailId)).transpose()?,
        recipient: recipient.to_owned(),
        entity: EntityRef {
            kind: entity_kind,
            id: CrmId(int(28)?),
        },
        preview: p[2] & 1 != 0,
        issued_at: chrono::DateTime::from_timestamp(int(36)?, 0).ok_or(TokenError::Malformed)?,
    })
}
