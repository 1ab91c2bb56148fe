//! Verifying a tracking token: the key is found from the token's key id alone, the tag is checked and the
//! kind matched before anything is looked up in the store.

use crate::model::Secret;
use crate::template::{KeyId, TokenError, TokenKey, TokenKindTag, TrackingToken, token_key_id};

use super::{Engine, EngineError};

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
        let id = token_key_id(token)?;
        let mut result = Err(TokenError::BadSignature);
        let mut used: Option<&Secret> = None;
        for secret in self.config.signing_keys.values() {
            if KeyId::of(secret.expose().as_bytes()) != id {
                continue;
            }
            result = TokenKey::new(secret.expose().as_bytes()).and_then(|key| key.open(token, kinds));
            if result.is_ok() {
                used = Some(secret);
                break;
            }
        }
        let verified = result?;
        let account = self.ports.store.get_account(verified.account).await?;
        let same_key = self
            .config
            .signing_keys
            .get(&account.signing_key_ref)
            .zip(used)
            .is_some_and(|(a, b)| a.expose() == b.expose());
        if !same_key {
            return Err(TokenError::OtherAccount.into());
        }
        Ok(verified)
    }
}
