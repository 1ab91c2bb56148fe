//! Verifying a tracking token: the key is found from the token's key id alone, the tag is checked and the
//! kind matched before anything is looked up in the store. The configured keys are derived once, when the
//! engine is made ([`TokenKeys`]), not per token.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::{Account, Secret};
use crate::template::{KeyId, TokenError, TokenKey, TokenKindTag, TrackingToken, token_key_id};

use super::{Engine, EngineError};

/// The configured signing keys, derived once: by name, the key id and the derived key (or why the secret
/// cannot be one, reported when a token names its id).
#[derive(Debug)]
pub(crate) struct TokenKeys(Vec<(Arc<str>, KeyId, Result<TokenKey, TokenError>)>);

impl TokenKeys {
    /// Derives every key of `keys` (by name, as configured).
    pub(crate) fn derive(keys: &BTreeMap<String, Secret>) -> Self {
        Self(
            keys.iter()
                .map(|(name, secret)| {
                    let bytes = secret.expose().as_bytes();
                    (Arc::from(name.as_str()), KeyId::of(bytes), TokenKey::new(bytes))
                })
                .collect(),
        )
    }

    /// The derived key configured as `name`, or why its secret cannot be one; `None` when no key has
    /// that name.
    pub(crate) fn named(&self, name: &str) -> Option<&Result<TokenKey, TokenError>> {
        self.0.iter().find(|(n, _, _)| &**n == name).map(|(_, _, key)| key)
    }
}

impl Engine {
    /// Verifies a token of any kind with its account's key; routes use [`Engine::verify_kind`].
    ///
    /// # Errors
    /// As [`Engine::verify_kind`].
    pub async fn verify_token(&self, token: &str) -> Result<TrackingToken, EngineError> {
        self.verify_kind(token, TokenKindTag::ALL).await
    }

    /// Verifies a token for a route that accepts only `kinds`: picks the configured signing key by the
    /// token's key id (the only unauthenticated data used, and only for that), checks the tag and the kind,
    /// and only then loads the account the token names and checks that the account signs with that key.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a malformed, old-version, tampered or other-key token
    /// ([`TokenError::BadSignature`] also when no configured key has the token's id), one of another kind
    /// ([`TokenError::WrongKind`]) or of an account that signs with another key
    /// ([`TokenError::OtherAccount`]); [`EngineError::Store`] for an unknown account.
    pub async fn verify_kind(&self, token: &str, kinds: &[TokenKindTag]) -> Result<TrackingToken, EngineError> {
        let (verified, key) = self.verify_signature(token, kinds)?;
        let account = self.ports.store.get_account(verified.account).await?;
        if !self.signs_with(&account, key) {
            return Err(TokenError::OtherAccount.into());
        }
        Ok(verified)
    }

    /// The first half of [`Engine::verify_kind`], with no store access: the tag (HMAC) and the kind. Returns
    /// the token and the name of the configured key that verified it, for [`Engine::signs_with`].
    ///
    /// # Errors
    /// [`EngineError::Token`] as [`Engine::verify_kind`], except [`TokenError::OtherAccount`].
    pub(crate) fn verify_signature<'a>(
        &'a self,
        token: &str,
        kinds: &[TokenKindTag],
    ) -> Result<(TrackingToken, &'a Arc<str>), EngineError> {
        let id = token_key_id(token)?;
        let mut error = TokenError::BadSignature;
        for (name, key_id, key) in &self.token_keys.0 {
            if *key_id != id {
                continue;
            }
            match key.as_ref().map_err(|e| *e).and_then(|key| key.open(token, kinds)) {
                Ok(verified) => return Ok((verified, name)),
                Err(e) => error = e,
            }
        }
        Err(error.into())
    }

    /// The second half of [`Engine::verify_kind`]: `account` signs with the key configured as `key` (the
    /// same secret, whatever its name).
    pub(crate) fn signs_with(&self, account: &Account, key: &str) -> bool {
        self.signs_with_ref(&account.signing_key_ref, key)
    }

    /// [`Engine::signs_with`] for an account whose key is configured as `key_ref`.
    pub(crate) fn signs_with_ref(&self, key_ref: &str, key: &str) -> bool {
        self.config
            .signing_keys
            .get(key_ref)
            .zip(self.config.signing_keys.get(key))
            .is_some_and(|(a, b)| a.expose() == b.expose())
    }
}
