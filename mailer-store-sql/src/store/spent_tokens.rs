//! Spent one-time token ids (the Kommo widget's `jti`): one row each until the token's expiry, so a
//! token is accepted once by every process sharing the database.

use mailer_core::model::{AccountId, Timestamp};

use super::SqlStore;
use crate::error::Error;
use crate::time::us;

impl SqlStore {
    pub(super) async fn spend_token_id_(
        &self,
        account: AccountId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, Error> {
        let now = us(now);
        sqlx::query(self.q.jti_prune).bind(now).execute(&self.writer).await?;
        // Inserted, or an expired row taken over: one row affected. A live row: none.
        let done = sqlx::query(self.q.jti_spend)
            .bind(account.0)
            .bind(jti)
            .bind(us(expires_at))
            .bind(now)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
