//! One-time tokens a CRM hands its widget (Kommo's `X-Auth-Token`): each token id (`jti`) is spent once
//! in the store, so a replay is refused by every process that shares it.

use crate::error::ValidationError;
use crate::model::{AccountId, Timestamp};

use super::{Engine, EngineError};

/// The longest one-time token id accepted.
pub const MAX_TOKEN_ID: usize = 200;

impl Engine {
    /// Spends the account's one-time token id `jti`: true the first time, false for a replay while the
    /// token lives. The id is kept until `expires_at` (the token's `exp`), ids past their expiry at `now`
    /// are pruned. `now` is the clock the token was checked against (the CRM signs with the wall clock).
    ///
    /// # Errors
    /// [`EngineError::Invalid`] for an empty id or one longer than [`MAX_TOKEN_ID`] bytes;
    /// [`EngineError::Store`].
    pub async fn spend_one_time_token(
        &self,
        account: AccountId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, EngineError> {
        if jti.trim().is_empty() {
            return Err(ValidationError::Missing("token id").into());
        }
        if jti.len() > MAX_TOKEN_ID {
            return Err(ValidationError::OutOfRange {
                what: "token id",
                detail: format!("{} bytes, at most {MAX_TOKEN_ID}", jti.len()),
            }
            .into());
        }
        Ok(self.ports.store.spend_token_id(account, jti, expires_at, now).await?)
    }
}
