//! Signed and encrypted tracking URLs: the open pixel, trigger links, the web version, forms, web pages and
//! unsubscribe.
//!
//! The token format is described on [`TokenKey`].

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, Tag, UnboundKey};
use sha2::{Digest, Sha256};

use crate::model::{AccountId, CrmId, EmailId, EntityKind, EntityRef, Timestamp, TriggerLinkId, WebPageId};

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 2;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + KEY_ID_LEN;
/// Kind, flags, entity kind and at least one byte for each of account, entity id and issued at.
const MIN_PLAIN: usize = 6;
/// The longest token accepted, in characters: the longest address [`crate::model::Address`] accepts (64 bytes
/// of local part, `@`, 253 of domain: 318 bytes) with every other field at its widest fits under it.
const MAX_TOKEN_CHARS: usize = 600;
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

/// A [`TokenKind`] without its id: what a route accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenKindTag {
    /// [`TokenKind::Open`].
    Open,
    /// [`TokenKind::Click`].
    Click,
    /// [`TokenKind::WebVersion`].
    WebVersion,
    /// [`TokenKind::Form`].
    Form,
    /// [`TokenKind::Page`].
    Page,
    /// [`TokenKind::Unsubscribe`].
    Unsubscribe,
}

impl TokenKindTag {
    /// Every kind.
    pub const ALL: &'static [Self] = &[
        Self::Open,
        Self::Click,
        Self::WebVersion,
        Self::Form,
        Self::Page,
        Self::Unsubscribe,
    ];
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

    /// The kind without its id.
    pub fn tag(self) -> TokenKindTag {
        match self {
            Self::Open => TokenKindTag::Open,
            Self::Click(_) => TokenKindTag::Click,
            Self::WebVersion => TokenKindTag::WebVersion,
            Self::Form => TokenKindTag::Form,
            Self::Page(_) => TokenKindTag::Page,
            Self::Unsubscribe => TokenKindTag::Unsubscribe,
        }
    }

    fn code(self) -> (u8, Option<i64>) {
        match self {
            Self::Open => (1, None),
            Self::Click(id) => (2, Some(id.0)),
            Self::WebVersion => (3, None),
            Self::Form => (4, None),
            Self::Page(id) => (5, Some(id.0)),
            Self::Unsubscribe => (6, None),
        }
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
    /// The recipient's address (empty when there is none); encrypted in the URL.
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
    /// Not base64url, too short or too long, or its content does not decode.
    #[error("malformed tracking token")]
    Malformed,
    /// A token of another format version (version 1 tokens are no longer accepted).
    #[error("tracking token version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The tag does not match: the token was changed or made with another key.
    #[error("tracking token signature does not match")]
    BadSignature,
    /// The token verifies but belongs to another account than the verifying builder's.
    #[error("tracking token belongs to another account")]
    OtherAccount,
    /// The token verifies but is of a kind this route does not accept.
    #[error("tracking token of kind {0:?} is not accepted here")]
    WrongKind(TokenKindTag),
    /// The signing key is shorter than [`MIN_KEY_LEN`] bytes.
    #[error("signing key must be at least {MIN_KEY_LEN} bytes")]
    KeyTooShort,
}

/// Which signing key made a token: 4 bytes derived from the key, readable without the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

impl KeyId {
    /// The id of the signing key `secret` (as configured, before derivation).
    pub fn of(secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(b"mailer-token-v2 key-id\0");
        h.update(secret);
        let digest = h.finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self(id)
    }
}

/// The key id of a token, read **without** checking anything else: use it only to pick the key, then
/// [`TokenKey::open`] (or [`LinkBuilder::verify_kind`]) authenticates the token. Only the token's first
/// characters are decoded (the rest is [`TokenKey::open`]'s work, done once).
///
/// # Errors
/// [`TokenError::Malformed`] when the token is too short or too long for a token or its header cannot be
/// decoded, [`TokenError::UnsupportedVersion`] for a token of another version.
pub fn token_key_id(token: &str) -> Result<KeyId, TokenError> {
    // Base64 without padding: 3 bytes in 4 characters, so the header is in the first two groups.
    const HEADER_CHARS: usize = HEADER_LEN.div_ceil(3) * 4;
    check_length(token)?;
    let head = token.as_bytes().get(..HEADER_CHARS).ok_or(TokenError::Malformed)?;
    let mut bytes = [0u8; HEADER_CHARS / 4 * 3];
    URL_SAFE_NO_PAD
        .decode_slice(head, &mut bytes)
        .map_err(|_| TokenError::Malformed)?;
    check_version(bytes[0])?;
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&bytes[1..HEADER_LEN]);
    Ok(KeyId(id))
}

/// The size every token is checked against before anything is decoded: at most [`MAX_TOKEN_CHARS`]
/// characters, and enough of them (base64 without padding, 3 bytes in 4 characters) for the header, the
/// nonce, the shortest payload and the tag.
fn check_length(token: &str) -> Result<(), TokenError> {
    if token.len() > MAX_TOKEN_CHARS || token.len() * 3 / 4 < HEADER_LEN + NONCE_LEN + MIN_PLAIN + TAG_LEN {
        return Err(TokenError::Malformed);
    }
    Ok(())
}

/// The token's first byte: only [`VERSION`] is accepted.
fn check_version(first: u8) -> Result<(), TokenError> {
    if first == VERSION {
        Ok(())
    } else {
        Err(TokenError::UnsupportedVersion(first))
    }
}

/// The whole token decoded, after [`check_length`] and [`check_version`].
fn decode_outer(token: &str) -> Result<Vec<u8>, TokenError> {
    check_length(token)?;
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| TokenError::Malformed)?;
    check_version(*bytes.first().ok_or(TokenError::Malformed)?)?;
    Ok(bytes)
}

/// One signing key, derived once: seals tokens of any account and opens them.
///
/// # Token format, version 2
///
/// A token is `base64url(version ‖ key id ‖ nonce ‖ ciphertext ‖ tag)` without padding:
///
/// | bytes | field |
/// |---|---|
/// | 1 | version (`2`) |
/// | 4 | key id: which signing key made it (see below), in clear |
/// | 12 | nonce |
/// | n | the payload, encrypted with ChaCha20-Poly1305 |
/// | 16 | the Poly1305 tag, over the version, key id and ciphertext |
///
/// The payload (plaintext) is `kind (1) ‖ flags (1) ‖ entity kind (1) ‖ account ‖ [email] ‖ [target] ‖
/// entity id ‖ issued at ‖ recipient`, the numbers as zig-zag LEB128 varints, the email id only when flag
/// bit 1 is set, the target (trigger link or web page id) only for clicks and pages, and the recipient's
/// address as UTF-8 to the end. Kinds: 1 open, 2 click, 3 web version, 4 form, 5 page, 6 unsubscribe;
/// flags: bit 0 preview, bit 1 an email id is present; entity kinds: 0 lead, 1 contact, 2 company.
///
/// **Why encrypted.** A tracking URL is seen by proxies, link scanners and server logs; version 1 carried
/// the recipient's address in clear base64. Version 2 encrypts the whole payload, so the URL shows nothing
/// but the version and the key id. The recipient stays in the token (rather than only server-side) because
/// an unsubscribe or page link must work for a recipient even when no email record holds it (a page link
/// written into a CRM field).
///
/// **Keys.** Every key is derived from the host's configured signing key `K` with HMAC-SHA256 and a label:
/// the key id (`SHA-256(label ‖ K)`, first 4 bytes), the ChaCha20-Poly1305 key and the nonce key. The
/// nonce is synthetic: `HMAC(nonce key, version ‖ key id ‖ plaintext)`, first 12 bytes, so a token is a
/// pure function of its contents (the core has no randomness) and two different payloads never share a
/// nonce.
///
/// **Verification order.** The key id, the only unauthenticated field that is used, serves solely to pick
/// the key; the tag is checked (in constant time, before decrypting) before any field of the payload is
/// read, and only then may the caller look anything up (see `Engine::verify_kind`). A changed byte, a token
/// of another key, or a truncated token fails with [`TokenError::BadSignature`] or [`TokenError::Malformed`].
///
/// **Kinds.** [`LinkBuilder::verify_kind`] and [`TokenKey::open`] take the kinds the route accepts: a pixel
/// or unsubscribe token cannot submit a form ([`TokenError::WrongKind`]).
///
/// **Version 1** tokens (the recipient in clear) are refused with [`TokenError::UnsupportedVersion`]: none
/// were ever in production.
///
/// The host routes each kind under its own path, which [`TokenKind::route`] gives:
///
/// | kind | URL |
/// |---|---|
/// | open pixel | `{base}/t/o/{token}` |
/// | trigger link click | `{base}/t/l/{token}` |
/// | web version of the email | `{base}/w/{token}` |
/// | form answers | `{base}/f/{token}` |
/// | public web page | `{base}/p/{token}` |
/// | unsubscribe | `{base}/u/{token}` |
///
/// A preview token carries the preview flag: the host serves it but records nothing.
#[derive(Clone)]
pub struct TokenKey {
    id: KeyId,
    /// ChaCha20-Poly1305 (RFC 8439) as `ring` implements it: the same bytes as any other implementation,
    /// with a set-up that suits tokens of a hundred bytes (the RustCrypto crate's AVX2 backend took a
    /// quarter of a render's time for them).
    cipher: LessSafeKey,
    nonce_mac: HmacSha256,
}

impl fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl TokenKey {
    /// Derives the token keys from a configured signing key.
    ///
    /// # Errors
    /// [`TokenError::KeyTooShort`] when `secret` has fewer than [`MIN_KEY_LEN`] bytes.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, TokenError> {
        let secret = secret.as_ref();
        if secret.len() < MIN_KEY_LEN {
            return Err(TokenError::KeyTooShort);
        }
        let derive = |label: &[u8]| -> Result<[u8; 32], TokenError> {
            let mut mac = <HmacSha256 as Mac>::new_from_slice(secret).map_err(|_| TokenError::KeyTooShort)?;
            mac.update(label);
            Ok(mac.finalize().into_bytes().into())
        };
        let enc = derive(b"mailer-token-v2 encryption")?;
        let nonce = derive(b"mailer-token-v2 nonce")?;
        Ok(Self {
            id: KeyId::of(secret),
            cipher: LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &enc).map_err(|_| TokenError::KeyTooShort)?),
            nonce_mac: <HmacSha256 as Mac>::new_from_slice(&nonce).map_err(|_| TokenError::KeyTooShort)?,
        })
    }

    /// This key's id, as written into its tokens.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// Seals `token` (whatever its account): the string that follows the route in the URL.
    pub fn seal(&self, token: &TrackingToken) -> String {
        let mut out = String::new();
        self.seal_into(token, &mut out);
        out
    }

    /// Appends [`TokenKey::seal`]'s string to `out` (a URL being built: no copy of the token).
    pub fn seal_into(&self, token: &TrackingToken, out: &mut String) {
        let mut bytes = Vec::with_capacity(sealed_bytes(token));
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.id.0);
        bytes.extend_from_slice(&[0u8; NONCE_LEN]);
        let plain_at = bytes.len();
        encode_payload(token, &mut bytes);
        let mut mac = self.nonce_mac.clone();
        mac.update(&bytes[..HEADER_LEN]);
        mac.update(&bytes[plain_at..]);
        let digest = mac.finalize().into_bytes();
        bytes[HEADER_LEN..plain_at].copy_from_slice(&digest[..NONCE_LEN]);
        let (head, plain) = bytes.split_at_mut(plain_at);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&head[HEADER_LEN..]);
        // Encryption fails only for messages of more than 256 GiB.
        let sealed = self.cipher.seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(&head[..HEADER_LEN]),
            plain,
        );
        match sealed {
            Ok(tag) => bytes.extend_from_slice(tag.as_ref()),
            Err(_) => bytes.extend_from_slice(&[0u8; TAG_LEN]),
        }
        URL_SAFE_NO_PAD.encode_string(&bytes, out);
    }

    /// Authenticates and decrypts a token made with this key, of any account, and checks that its kind is
    /// one of `kinds`. Nothing of the payload is read before the tag is verified.
    ///
    /// # Errors
    /// [`TokenError::Malformed`], [`TokenError::UnsupportedVersion`], [`TokenError::BadSignature`] (changed,
    /// truncated, or another key's), [`TokenError::WrongKind`].
    pub fn open(&self, token: &str, kinds: &[TokenKindTag]) -> Result<TrackingToken, TokenError> {
        let mut bytes = decode_outer(token)?;
        if bytes[1..HEADER_LEN] != self.id.0 {
            return Err(TokenError::BadSignature);
        }
        let tag_at = bytes.len() - TAG_LEN;
        let tag = Tag::try_from(&bytes[tag_at..]).map_err(|_| TokenError::Malformed)?;
        let (head, rest) = bytes.split_at_mut(HEADER_LEN + NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&head[HEADER_LEN..]).map_err(|_| TokenError::Malformed)?;
        let cipher = &mut rest[..tag_at - HEADER_LEN - NONCE_LEN];
        let plain = self
            .cipher
            .open_in_place_separate_tag(nonce, Aad::from(&head[..HEADER_LEN]), tag, cipher, 0..)
            .map_err(|_| TokenError::BadSignature)?;
        let decoded = decode_payload(plain)?;
        let tag = decoded.kind.tag();
        if !kinds.contains(&tag) {
            return Err(TokenError::WrongKind(tag));
        }
        Ok(decoded)
    }
}

/// About how many bytes `token` seals to (header, nonce, payload, tag): room to reserve, not a bound.
fn sealed_bytes(token: &TrackingToken) -> usize {
    HEADER_LEN + NONCE_LEN + 48 + token.recipient.len() + TAG_LEN
}

/// Makes and checks the signed URLs of one account.
///
/// # Example
/// ```
/// use mailer_core::model::{AccountId, EntityRef};
/// use mailer_core::template::{LinkBuilder, TokenError, TokenKind, TokenKindTag, TrackingToken};
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
/// assert!(!url.contains("anna"));
/// let signed = &url["https://mail.example.com/t/o/".len()..];
/// assert_eq!(links.verify_kind(signed, &[TokenKindTag::Open])?, token);
/// assert_eq!(links.verify_kind(signed, &[TokenKindTag::Form]), Err(TokenError::WrongKind(TokenKindTag::Open)));
/// # Ok::<(), mailer_core::template::TokenError>(())
/// ```
#[derive(Clone)]
pub struct LinkBuilder {
    base_url: String,
    account: AccountId,
    key: TokenKey,
}

impl fmt::Debug for LinkBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkBuilder")
            .field("base_url", &self.base_url)
            .field("account", &self.account)
            .field("key", &self.key.id)
            .finish()
    }
}

impl LinkBuilder {
    /// A builder for `account`, making URLs under `base_url` (a trailing `/` is dropped) signed with `key`.
    ///
    /// # Errors
    /// [`TokenError::KeyTooShort`] when `key` has fewer than [`MIN_KEY_LEN`] bytes.
    pub fn new(base_url: impl Into<String>, account: AccountId, key: impl AsRef<[u8]>) -> Result<Self, TokenError> {
        Ok(Self::with_key(base_url, account, TokenKey::new(key)?))
    }

    /// As [`LinkBuilder::new`], with a key already derived (deriving one costs a few SHA-256 blocks: a host
    /// that renders many emails derives each key once).
    pub fn with_key(base_url: impl Into<String>, account: AccountId, key: TokenKey) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        Self { base_url, account, key }
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The account whose key this builder holds.
    pub fn account(&self) -> AccountId {
        self.account
    }

    /// The id of this builder's key.
    pub fn key_id(&self) -> KeyId {
        self.key.id
    }

    /// The signed token alone (what follows the route in the URL). Its recipient is an address
    /// ([`crate::model::Address`], at most 318 bytes): a token carrying a longer string is longer than
    /// [`LinkBuilder::verify`] accepts, and is refused there as malformed.
    pub fn sign(&self, token: &TrackingToken) -> String {
        self.key.seal(token)
    }

    /// The full URL: base URL, the route of the token's kind, and the signed token.
    pub fn url(&self, token: &TrackingToken) -> String {
        let route = token.kind.route();
        // Base64 writes 4 characters for every 3 bytes.
        let sealed = sealed_bytes(token) * 4 / 3 + 4;
        let mut url = String::with_capacity(self.base_url.len() + route.len() + sealed);
        url.push_str(&self.base_url);
        url.push_str(route);
        self.key.seal_into(token, &mut url);
        url
    }

    /// Checks a token made by [`LinkBuilder::sign`] with this account's key and decodes it, whatever its
    /// kind. Routes should call [`LinkBuilder::verify_kind`].
    ///
    /// # Errors
    /// As [`LinkBuilder::verify_kind`].
    pub fn verify(&self, token: &str) -> Result<TrackingToken, TokenError> {
        self.verify_kind(token, TokenKindTag::ALL)
    }

    /// Checks a token with this account's key and decodes it; its kind must be one of `kinds`.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] for anything that is not a token, [`TokenError::UnsupportedVersion`] for a
    /// version 1 token, [`TokenError::BadSignature`] when the tag does not match (any changed byte, another
    /// key), [`TokenError::WrongKind`], [`TokenError::OtherAccount`] when it is another account's.
    pub fn verify_kind(&self, token: &str, kinds: &[TokenKindTag]) -> Result<TrackingToken, TokenError> {
        let decoded = self.key.open(token, kinds)?;
        if decoded.account != self.account {
            return Err(TokenError::OtherAccount);
        }
        Ok(decoded)
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    // Zig-zag, then LEB128.
    #[allow(clippy::cast_sign_loss)]
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    loop {
        let byte = (z & 0x7f) as u8;
        z >>= 7;
        if z == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn get_varint(p: &[u8], at: &mut usize) -> Result<i64, TokenError> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *p.get(*at).ok_or(TokenError::Malformed)?;
        *at += 1;
        z |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            #[allow(clippy::cast_possible_wrap)]
            return Ok(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    Err(TokenError::Malformed)
}

fn encode_payload(token: &TrackingToken, out: &mut Vec<u8>) {
    let (kind, target) = token.kind.code();
    let flags = u8::from(token.preview) | (u8::from(token.email.is_some()) << 1);
    out.push(kind);
    out.push(flags);
    out.push(match token.entity.kind {
        EntityKind::Lead => 0,
        EntityKind::Contact => 1,
        EntityKind::Company => 2,
    });
    put_varint(out, token.account.0);
    if let Some(email) = token.email {
        put_varint(out, email.0);
    }
    if let Some(target) = target {
        put_varint(out, target);
    }
    put_varint(out, token.entity.id.0);
    put_varint(out, token.issued_at.timestamp());
    out.extend_from_slice(token.recipient.as_bytes());
}

fn decode_payload(p: &[u8]) -> Result<TrackingToken, TokenError> {
    let [kind, flags, entity_kind, ..] = *p else {
        return Err(TokenError::Malformed);
    };
    if flags > 0b11 {
        return Err(TokenError::Malformed);
    }
    let entity_kind = match entity_kind {
        0 => EntityKind::Lead,
        1 => EntityKind::Contact,
        2 => EntityKind::Company,
        _ => return Err(TokenError::Malformed),
    };
    let mut at = 3;
    let account = AccountId(get_varint(p, &mut at)?);
    let email = if flags & 0b10 != 0 {
        Some(EmailId(get_varint(p, &mut at)?))
    } else {
        None
    };
    let kind = match kind {
        1 => TokenKind::Open,
        2 => TokenKind::Click(TriggerLinkId(get_varint(p, &mut at)?)),
        3 => TokenKind::WebVersion,
        4 => TokenKind::Form,
        5 => TokenKind::Page(WebPageId(get_varint(p, &mut at)?)),
        6 => TokenKind::Unsubscribe,
        _ => return Err(TokenError::Malformed),
    };
    let entity = EntityRef {
        kind: entity_kind,
        id: CrmId(get_varint(p, &mut at)?),
    };
    let issued_at = chrono::DateTime::from_timestamp(get_varint(p, &mut at)?, 0).ok_or(TokenError::Malformed)?;
    let recipient = std::str::from_utf8(p.get(at..).unwrap_or_default()).map_err(|_| TokenError::Malformed)?;
    Ok(TrackingToken {
        kind,
        account,
        email,
        recipient: recipient.to_owned(),
        entity,
        preview: flags & 1 != 0,
        issued_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(kind: TokenKind, recipient: &str) -> TrackingToken {
        TrackingToken {
            kind,
            account: AccountId(i64::MAX),
            email: Some(EmailId(i64::MIN)),
            recipient: recipient.into(),
            entity: EntityRef::company(-5),
            preview: true,
            issued_at: chrono::DateTime::from_timestamp(-62_000_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn extreme_values_round_trip_and_the_address_is_not_readable() {
        let key = TokenKey::new(b"0123456789abcdef").expect("key");
        for kind in [
            TokenKind::Open,
            TokenKind::Click(TriggerLinkId(i64::MIN)),
            TokenKind::Page(WebPageId(0)),
            TokenKind::Unsubscribe,
        ] {
            let t = token(kind, "anna.secret@example.com");
            let sealed = key.seal(&t);
            assert_eq!(key.open(&sealed, TokenKindTag::ALL), Ok(t));
            let raw = URL_SAFE_NO_PAD.decode(&sealed).expect("b64");
            assert!(!raw.windows(6).any(|w| w == b"secret"), "address readable");
            assert!(!sealed.contains("secret"));
        }
    }

    #[test]
    fn the_longest_address_fits_with_every_field_at_its_widest() {
        let key = TokenKey::new(b"0123456789abcdef").expect("key");
        let domain = format!(
            "{}.{}.{}.{}",
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(63),
            "g".repeat(61)
        );
        let longest = format!("{}@{domain}", "l".repeat(64));
        let address = crate::model::Address::parse(&longest).expect("the longest valid address");
        assert_eq!(address.email.len(), 318);
        let t = token(TokenKind::Click(TriggerLinkId(i64::MIN)), &address.email);
        let sealed = key.seal(&t);
        assert!(sealed.len() <= MAX_TOKEN_CHARS, "{} chars", sealed.len());
        assert_eq!(key.open(&sealed, TokenKindTag::ALL), Ok(t));
        // One byte more than any address is not a token the mailer makes: refused, not decoded.
        let over = token(TokenKind::Open, &"x".repeat(MAX_TOKEN_CHARS));
        assert_eq!(
            key.open(&key.seal(&over), TokenKindTag::ALL),
            Err(TokenError::Malformed)
        );
    }

    /// Tokens sealed by the first implementation of version 2 (RustCrypto's `chacha20poly1305`, before
    /// `ring`): links in emails already sent must keep working, and the same token seals to the same text.
    #[test]
    fn tokens_sealed_before_the_cipher_change_open_and_seal_the_same() {
        let key = TokenKey::new(b"a-fixed-signing-key-for-known-answers").expect("key");
        let known = [
            (
                TokenKind::Open,
                "anna@example.com",
                "AsskP25AlTAodLV_IKCt8w_43dH1B8gD_qPDG0xpBxAtcSZfooDTBe3AdiBEWSSRp5mNkm_FQ6-k5yvvEzc",
            ),
            (
                TokenKind::Click(TriggerLinkId(77)),
                "",
                "AsskP2401opsHsh-kqebLyGT5Ez6ZhrGJhQcefuDeY3vHY4KJY9qI53uFNay2tIB",
            ),
        ];
        for (kind, recipient, sealed) in known {
            let token = TrackingToken {
                kind,
                account: AccountId(7),
                email: Some(EmailId(123_456)),
                recipient: recipient.into(),
                entity: EntityRef::lead(42),
                preview: false,
                issued_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            };
            assert_eq!(key.open(sealed, TokenKindTag::ALL).expect("opens"), token);
            assert_eq!(key.seal(&token), sealed);
        }
    }

    #[test]
    fn version_one_tokens_are_refused() {
        let mut v1 = vec![1u8; 70];
        v1[1] = 1;
        let s = URL_SAFE_NO_PAD.encode(&v1);
        assert_eq!(token_key_id(&s), Err(TokenError::UnsupportedVersion(1)));
        let key = TokenKey::new(b"0123456789abcdef").expect("key");
        assert_eq!(key.open(&s, TokenKindTag::ALL), Err(TokenError::UnsupportedVersion(1)));
    }

    #[test]
    fn another_keys_token_fails_and_the_key_id_picks_the_key() {
        let a = TokenKey::new(b"0123456789abcdef").expect("key");
        let b = TokenKey::new(b"0123456789abcdeF").expect("key");
        assert_ne!(a.id(), b.id());
        let sealed = a.seal(&token(TokenKind::Form, ""));
        assert_eq!(token_key_id(&sealed), Ok(a.id()));
        // The key id reads the header only; a short, long or undecodable head is refused before any key.
        assert_eq!(token_key_id(&sealed[..51]), Err(TokenError::Malformed));
        assert_eq!(
            token_key_id(&"A".repeat(MAX_TOKEN_CHARS + 1)),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            token_key_id(&format!("Ag*{}", &sealed[3..])),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            token_key_id(&format!("AgéA{}", &sealed[5..])),
            Err(TokenError::Malformed)
        );
        assert_eq!(b.open(&sealed, TokenKindTag::ALL), Err(TokenError::BadSignature));
        assert_eq!(
            a.open(&sealed, &[TokenKindTag::Open, TokenKindTag::Click]),
            Err(TokenError::WrongKind(TokenKindTag::Form))
        );
        assert_eq!(
            a.open(&"A".repeat(MAX_TOKEN_CHARS + 1), TokenKindTag::ALL),
            Err(TokenError::Malformed)
        );
    }
}
