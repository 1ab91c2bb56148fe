//! Accounts, the generic record CRUD (JSON with sealed secrets), and the mailbox and mailing columns the
//! queue mirrors from their records.

use mailer_core::model::{
    Account, AccountId, Mailbox, MailboxId, MailboxState, MailingStatus, NewAccount, RecordKind, SendingLimits,
    Timestamp, Timezone,
};
use mailer_core::ports::StoreError;
use mailer_core::queue::{next_allowed, sends_in_window};
use serde_json::Value;
use sqlx::Row;

use super::{SqlStore, Tx};
use crate::error::Error;
use crate::rows::{self, cap_window};
use crate::time::{dur_us, from_us, us};

/// How far back sends are read to decide a cap: a calendar day is at most 25 hours long.
pub(super) fn cap_lookback() -> chrono::Duration {
    chrono::Duration::hours(26)
}

impl SqlStore {
    pub(super) async fn create_account_(&self, account: NewAccount) -> Result<Account, Error> {
        let row = sqlx::query(self.q.account_insert)
            .bind(account.name.clone())
            .bind(account.timezone.0.name())
            .bind(account.signing_key_ref.clone())
            .fetch_one(&self.writer)
            .await?;
        Ok(Account {
            id: AccountId(row.try_get(0)?),
            name: account.name,
            timezone: account.timezone,
            signing_key_ref: account.signing_key_ref,
        })
    }

    pub(super) async fn get_account_(&self, id: AccountId) -> Result<Account, Error> {
        let row = sqlx::query(self.q.account_get)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("account", id))?;
        let tz: String = row.try_get(2)?;
        Ok(Account {
            id,
            name: row.try_get(1)?,
            timezone: Timezone::parse(&tz).map_err(|_| Error::corrupt(format!("timezone {tz:?}")))?,
            signing_key_ref: row.try_get(3)?,
        })
    }

    pub(super) async fn insert_record_(
        &self,
        account: AccountId,
        kind: RecordKind,
        mut body: Value,
    ) -> Result<i64, Error> {
        let mut tx = self.begin().await?;
        let exists: i64 = sqlx::query_scalar(self.q.account_exists)
            .bind(account.0)
            .fetch_one(&mut *tx)
            .await?;
        if exists == 0 {
            return Err(StoreError::not_found("account", account).into());
        }
        let id: i64 = sqlx::query_scalar(self.q.record_next_id).fetch_one(&mut *tx).await?;
        set_keys(&mut body, account, id)?;
        self.mirror(&mut tx, account, kind, id, &body).await?;
        self.cipher.seal_record(account, &mut body)?;
        sqlx::query(self.q.record_insert)
            .bind(id)
            .bind(account.0)
            .bind(kind.as_str())
            .bind(body.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub(super) async fn update_record_(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        mut body: Value,
    ) -> Result<(), Error> {
        set_keys(&mut body, account, id)?;
        let mut sealed = body.clone();
        self.cipher.seal_record(account, &mut sealed)?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(self.q.record_update)
            .bind(id)
            .bind(account.0)
            .bind(kind.as_str())
            .bind(sealed.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(kind.as_str(), id).into());
        }
        self.mirror(&mut tx, account, kind, id, &body).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn get_record_(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<Value, Error> {
        let text: String = sqlx::query_scalar(self.q.record_get)
            .bind(id)
            .bind(account.0)
            .bind(kind.as_str())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(kind.as_str(), id))?;
        self.open(account, &text)
    }

    pub(super) async fn get_records_(
        &self,
        account: AccountId,
        kind: RecordKind,
        ids: &[i64],
    ) -> Result<Vec<(i64, Value)>, Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(self.q.record_get_many)
            .bind(account.0)
            .bind(kind.as_str())
            .bind(serde_json::to_string(ids)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let id: i64 = row.try_get(0)?;
                let text: String = row.try_get(1)?;
                Ok((id, self.open(account, &text)?))
            })
            .collect()
    }

    pub(super) async fn delete_record_(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<(), Error> {
        let done = sqlx::query(self.q.record_delete)
            .bind(id)
            .bind(account.0)
            .bind(kind.as_str())
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::not_found(kind.as_str(), id).into());
        }
        Ok(())
    }

    pub(super) async fn list_records_(&self, account: AccountId, kind: RecordKind) -> Result<Vec<Value>, Error> {
        let texts: Vec<String> = sqlx::query_scalar(self.q.record_list)
            .bind(account.0)
            .bind(kind.as_str())
            .fetch_all(&self.pool)
            .await?;
        texts.iter().map(|t| self.open(account, t)).collect()
    }

    fn open(&self, account: AccountId, text: &str) -> Result<Value, Error> {
        let mut body: Value = serde_json::from_str(text)?;
        self.cipher.open_record(account, &mut body)?;
        Ok(body)
    }

    /// Keeps the columns the queue reads (mailbox limits, mailing status) in step with the records.
    async fn mirror(
        &self,
        tx: &mut Tx,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        body: &Value,
    ) -> Result<(), Error> {
        match kind {
            RecordKind::Mailbox => {
                let mailbox: Mailbox = serde_json::from_value(body.clone())?;
                self.mirror_mailbox(tx, account, id, &mailbox.limits, mailbox.timezone)
                    .await
            }
            RecordKind::Mailing => {
                let status = match body.get("status") {
                    Some(s) => serde_json::from_value::<MailingStatus>(s.clone())?,
                    None => MailingStatus::Running,
                };
                sqlx::query(self.q.mailing_upsert)
                    .bind(id)
                    .bind(account.0)
                    .bind(rows::mailing_status(status))
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Writes a mailbox's limits into its columns and recomputes when it may send next. The caps only
    /// change state at a send, so evaluating the new limits at the last send gives the same answer as
    /// evaluating them now.
    async fn mirror_mailbox(
        &self,
        tx: &mut Tx,
        account: AccountId,
        id: i64,
        limits: &SendingLimits,
        tz: Timezone,
    ) -> Result<(), Error> {
        let current = sqlx::query(self.q.mailbox_get)
            .bind(id)
            .bind(account.0)
            .fetch_optional(&mut **tx)
            .await?;
        let next_send_at = match &current {
            Some(row) => row.try_get::<Option<i64>, _>(6)?.map(from_us).transpose()?,
            None => None,
        };
        let last: Option<i64> = if current.is_some() {
            sqlx::query_scalar(self.q.sends_last)
                .bind(id)
                .fetch_one(&mut **tx)
                .await?
        } else {
            None
        };
        let free_at = match last {
            _ if limits.daily_cap == 0 => Some(Timestamp::MAX_UTC),
            None => next_send_at,
            Some(last) => {
                let last = from_us(last)?;
                let sends = self.sends_since(tx, id, last - cap_lookback()).await?;
                Some(next_allowed(limits, tz, next_send_at, &sends, last))
            }
        };
        sqlx::query(self.q.mailbox_upsert)
            .bind(id)
            .bind(account.0)
            .bind(dur_us(limits.spacing))
            .bind(i64::from(limits.daily_cap))
            .bind(cap_window(limits.window))
            .bind(limits.per_minute_cap.map(i64::from))
            .bind(tz.0.name())
            .bind(free_at.map(us))
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub(super) async fn sends_since(
        &self,
        tx: &mut Tx,
        mailbox: i64,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, Error> {
        let ats: Vec<i64> = sqlx::query_scalar(self.q.sends_since)
            .bind(mailbox)
            .bind(us(since))
            .fetch_all(&mut **tx)
            .await?;
        ats.into_iter().map(from_us).collect()
    }

    pub(super) async fn mailbox_state_(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        now: Timestamp,
    ) -> Result<MailboxState, Error> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(self.q.mailbox_get)
            .bind(mailbox.0)
            .bind(account.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::not_found("mailbox", mailbox))?;
        let (limits, tz) = rows::limits(&row, 1)?;
        let next_send_at = row.try_get::<Option<i64>, _>(6)?.map(from_us).transpose()?;
        let sends = self.sends_since(&mut tx, mailbox.0, now - cap_lookback()).await?;
        tx.commit().await?;
        Ok(MailboxState {
            next_send_at,
            sent_in_window: sends_in_window(&limits, tz, &sends, now),
        })
    }
}

/// Writes the store-owned `id` and `account` keys into a record's JSON.
fn set_keys(body: &mut Value, account: AccountId, id: i64) -> Result<(), Error> {
    let obj = body
        .as_object_mut()
        .ok_or_else(|| StoreError::Backend("a record must be a JSON object".into()))?;
    obj.insert("id".into(), Value::from(id));
    obj.insert("account".into(), Value::from(account.0));
    Ok(())
}
