//! Secrets at rest: XChaCha20-Poly1305 with a key from configuration.
//!
//! Sealed values are text, `enc:v1:` followed by base64 of a random 24-byte nonce and the ciphertext;
//! the associated data binds each value to its account and field, so a sealed value copied elsewhere
//! does not open.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use mailer_core::model::AccountId;
use serde_json::Value;

use crate::error::Error;

/// Top-level fields of a record that hold secrets: the mailbox password and OAuth credentials.
pub const SECRET_FIELDS: [&str; 4] = ["password", "access_token", "refresh_token", "client_secret"];

const PREFIX: &str = "enc:v1:";
const NONCE_LEN: usize = 24;
/// A known text sealed with the key at the first connect; later connects open it to check the key.
const KEY_CHECK: &str = "mailer-store-sql key check";

/// The 32-byte key that seals secrets at rest. `Debug` prints `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey([u8; 32]);

impl SecretKey {
    /// A key from raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key from its base64 form (44 characters, as [`SecretKey::to_base64`] writes).
    ///
    /// # Errors
    /// [`Error::BadKey`] when the text is not base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, Error> {
        let bytes = B64.decode(text.trim()).map_err(|e| Error::BadKey(Some(e)))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| Error::BadKey(None))?;
        Ok(Self(bytes))
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        Self(XChaCha20Poly1305::generate_key(&mut OsRng).into())
    }

    /// The key as base64, for configuration files.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(***)")
    }
}

/// Seals and opens secrets with one key.
pub(crate) struct Cipher(XChaCha20Poly1305);

impl fmt::Debug for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    pub(crate) fn new(key: &SecretKey) -> Self {
        Self(XChaCha20Poly1305::new(&key.0.into()))
    }

    pub(crate) fn seal(&self, plain: &str, aad: &str) -> Result<String, Error> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self
            .0
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::corrupt("encryption failed"))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Opens a sealed value; [`Error::WrongKey`] when the key (or the associated data) does not match.
    pub(crate) fn open(&self, sealed: &str, aad: &str) -> Result<String, Error> {
        let body = sealed
            .strip_prefix(PREFIX)
            .ok_or_else(|| Error::corrupt("a secret field is not sealed"))?;
        let bytes = B64
            .decode(body)
            .map_err(|_| Error::corrupt("a sealed secret is not base64"))?;
        if bytes.len() < NONCE_LEN {
            return Err(Error::corrupt("a sealed secret is too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .0
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::WrongKey)?;
        String::from_utf8(plain).map_err(|_| Error::corrupt("a sealed secret is not UTF-8"))
    }

    /// Seals every secret field of a record's JSON in place.
    pub(crate) fn seal_record(&self, account: AccountId, body: &mut Value) -> Result<(), Error> {
        let Some(obj) = body.as_object_mut() else { return Ok(()) };
        for field in SECRET_FIELDS {
            if let Some(Value::String(plain)) = obj.get(field) {
                let sealed = self.seal(plain, &aad(account, field))?;
                obj.insert(field.to_owned(), Value::String(sealed));
            }
        }
        Ok(())
    }

    /// Opens every secret field of a record's JSON in place.
    pub(crate) fn open_record(&self, account: AccountId, body: &mut Value) -> Result<(), Error> {
        let Some(obj) = body.as_object_mut() else { return Ok(()) };
        for field in SECRET_FIELDS {
            if let Some(Value::String(sealed)) = obj.get(field) {
                let plain = self.open(sealed, &aad(account, field))?;
                obj.insert(field.to_owned(), Value::String(plain));
            }
        }
        Ok(())
    }

    pub(crate) fn key_check(&self) -> Result<String, Error> {
        self.seal(KEY_CHECK, "key_check")
    }

    /// [`Error::WrongKey`] unless `sealed` is the key check sealed with this key.
    pub(crate) fn verify_key_check(&self, sealed: &str) -> Result<(), Error> {
        if self.open(sealed, "key_check")? == KEY_CHECK {
            Ok(())
        } else {
            Err(Error::WrongKey)
        }
    }
}

fn aad(account: AccountId, field: &str) -> String {
    format!("mailer:{account}:{field}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_key_only() {
        let cipher = Cipher::new(&SecretKey::generate());
        let sealed = cipher.seal("hunter2", "a").expect("seal");
        assert!(!sealed.contains("hunter2"), "{sealed}");
        assert_eq!(cipher.open(&sealed, "a").expect("open"), "hunter2");
        assert!(
            matches!(cipher.open(&sealed, "b"), Err(Error::WrongKey)),
            "aad not bound"
        );
        let other = Cipher::new(&SecretKey::generate());
        assert!(matches!(other.open(&sealed, "a"), Err(Error::WrongKey)));
    }

    #[test]
    fn records_seal_their_secret_fields() {
        let cipher = Cipher::new(&SecretKey::generate());
        let mut body = serde_json::json!({"login": "m", "password": "pw", "refresh_token": "rt"});
        cipher.seal_record(AccountId(1), &mut body).expect("seal");
        let text = body.to_string();
        assert!(!text.contains("\"pw\"") && !text.contains("\"rt\""), "{text}");
        assert_eq!(body["login"], "m");
        cipher.open_record(AccountId(1), &mut body).expect("open");
        assert_eq!(
            body,
            serde_json::json!({"login": "m", "password": "pw", "refresh_token": "rt"})
        );
    }

    #[test]
    fn keys_round_trip_through_base64() {
        let key = SecretKey::generate();
        assert_eq!(SecretKey::from_base64(&key.to_base64()).expect("parse"), key);
        assert!(matches!(SecretKey::from_base64("c2hvcnQ="), Err(Error::BadKey(None))));
        assert!(matches!(
            SecretKey::from_base64("not base64!"),
            Err(Error::BadKey(Some(_)))
        ));
        assert_eq!(format!("{key:?}"), "SecretKey(***)");
    }
}
