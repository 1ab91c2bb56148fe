//! Events (appended in batches), once-keys, timers and files.

use std::time::Duration;

use mailer_core::model::{
    AccountId, EmailId, Event, EventId, EventKind, EventQuery, FileId, NewEvent, NewFile, NewTimer, StoredFile,
    Suppression, Timer, TimerId, Timestamp, TriggerLinkId, WorkerId,
};
use mailer_core::ports::StoreError;
use serde_json::json;
use sqlx::{AssertSqlSafe, Row};

use super::{SqlStore, Tx, lease_end};
use crate::config::Dialect;
use crate::error::Error;
use crate::queries::multi_row;
use crate::rows;
use crate::time::{from_us, us};

/// Events per INSERT statement: each size up to this is one statement text, so the few sizes a batch's
/// last statement can have stay in the connection's prepared-statement cache.
pub(super) const EVENTS_BATCH: usize = 32;

impl SqlStore {
    pub(super) async fn append_events_(&self, events: Vec<NewEvent>) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin().await?;
        self.insert_events(&mut tx, &events).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Inserts `events` in `tx`, in order, up to [`EVENTS_BATCH`] per statement.
    pub(super) async fn insert_events(&self, tx: &mut Tx, events: &[NewEvent]) -> Result<(), Error> {
        let sqlite = self.dialect == Dialect::Sqlite;
        for chunk in events.chunks(EVENTS_BATCH) {
            let sql = if chunk.len() == EVENTS_BATCH {
                self.events_batch_sql.clone()
            } else {
                multi_row(self.q.events_insert, chunk.len(), sqlite)?
            };
            let mut query = sqlx::query(AssertSqlSafe(sql));
            for e in chunk {
                let link = match e.kind {
                    EventKind::Clicked { link } => Some(link.0),
                    _ => None,
                };
                query = query
                    .bind(e.account.0)
                    .bind(e.email.map(|m| m.0))
                    .bind(e.entity.map(rows::entity).transpose()?)
                    .bind(us(e.at))
                    .bind(link)
                    .bind(serde_json::to_string(e)?);
            }
            query.execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub(super) async fn list_events_(&self, query: &EventQuery) -> Result<Vec<Event>, Error> {
        let rows = sqlx::query(self.q.events_list)
            .bind(query.account.0)
            .bind(query.email.map(|e| e.0))
            .bind(query.entity.map(rows::entity).transpose()?)
            .bind(query.since.map(us))
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get(1)?;
                Ok(Event {
                    id: EventId(r.try_get(0)?),
                    event: serde_json::from_str(&body)?,
                })
            })
            .collect()
    }

    /// Answered from the partial index `events_clicks` (clicks only, by email, link and moment).
    pub(super) async fn clicks_since_(
        &self,
        account: AccountId,
        email: EmailId,
        link: TriggerLinkId,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, Error> {
        let rows: Vec<i64> = sqlx::query_scalar(self.q.events_clicks)
            .bind(email.0)
            .bind(link.0)
            .bind(account.0)
            .bind(us(since))
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter().map(from_us).collect()
    }

    pub(super) async fn mark_once_(&self, account: AccountId, key: &str, at: Timestamp) -> Result<bool, Error> {
        let done = sqlx::query(self.q.once_insert)
            .bind(account.0)
            .bind(key)
            .bind(us(at))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn schedule_timer_(&self, timer: NewTimer) -> Result<TimerId, Error> {
        let mut tx = self.begin().await?;
        sqlx::query(self.q.timer_delete_key)
            .bind(timer.account.0)
            .bind(timer.key.as_str())
            .execute(&mut *tx)
            .await?;
        let id: i64 = sqlx::query_scalar(self.q.timer_insert)
            .bind(timer.account.0)
            .bind(timer.key.as_str())
            .bind(us(timer.due_at))
            .bind(serde_json::to_string(&timer)?)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(TimerId(id))
    }

    pub(super) async fn cancel_timer_(&self, account: AccountId, key: &str) -> Result<bool, Error> {
        let done = sqlx::query(self.q.timer_delete_key)
            .bind(account.0)
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn claim_due_timers_(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, Error> {
        let mut tx = self.begin().await?;
        let rows = sqlx::query(self.q.timers_due)
            .bind(us(now))
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let timers = rows
            .iter()
            .map(|r| {
                let body: String = r.try_get(1)?;
                Ok(Timer {
                    id: TimerId(r.try_get(0)?),
                    timer: serde_json::from_str(&body)?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        sqlx::query(self.q.timers_lease)
            .bind(worker.0.as_str())
            .bind(us(lease_end(now, lease)))
            .bind(json!(timers.iter().map(|t| t.id.0).collect::<Vec<_>>()).to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(timers)
    }

    pub(super) async fn finish_timer_(&self, account: AccountId, id: TimerId, worker: &WorkerId) -> Result<(), Error> {
        let done = sqlx::query(self.q.timer_finish)
            .bind(id.0)
            .bind(account.0)
            .bind(worker.0.as_str())
            .execute(&self.writer)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::LeaseLost {
                what: "timer",
                id: id.0,
            }
            .into());
        }
        Ok(())
    }

    pub(super) async fn put_file_(&self, file: NewFile) -> Result<FileId, Error> {
        let exists: i64 = sqlx::query_scalar(self.q.account_exists)
            .bind(file.account.0)
            .fetch_one(&self.pool)
            .await?;
        if exists == 0 {
            return Err(StoreError::not_found("account", file.account).into());
        }
        let id: i64 = sqlx::query_scalar(self.q.file_insert)
            .bind(file.account.0)
            .bind(file.name)
            .bind(file.content_type)
            .bind(file.bytes)
            .fetch_one(&self.writer)
            .await?;
        Ok(FileId(id))
    }

    pub(super) async fn get_file_(&self, account: AccountId, id: FileId) -> Result<StoredFile, Error> {
        let row = sqlx::query(self.q.file_get)
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("file", id))?;
        Ok(StoredFile {
            id,
            file: NewFile {
                account,
                name: row.try_get(0)?,
                content_type: row.try_get(1)?,
                bytes: row.try_get(2)?,
            },
        })
    }

    pub(super) async fn suppress_(
        &self,
        account: AccountId,
        address: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, Error> {
        let done = sqlx::query(self.q.suppression_insert)
            .bind(account.0)
            .bind(address.trim().to_lowercase())
            .bind(reason)
            .bind(us(at))
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(super) async fn unsuppress_(&self, account: AccountId, address: &str) -> Result<bool, Error> {
        let done = sqlx::query(self.q.suppression_delete)
            .bind(account.0)
            .bind(address.trim().to_lowercase())
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(super) async fn suppressed_(&self, account: AccountId, addresses: &[String]) -> Result<Vec<String>, Error> {
        if addresses.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = addresses.iter().map(|a| a.trim().to_lowercase()).collect();
        let rows = sqlx::query(self.q.suppression_find)
            .bind(account.0)
            .bind(serde_json::to_string(&list)?)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
    }

    pub(super) async fn list_suppressions_(&self, account: AccountId) -> Result<Vec<Suppression>, Error> {
        let rows = sqlx::query(self.q.suppression_list)
            .bind(account.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Suppression {
                    address: r.try_get(0)?,
                    reason: r.try_get(1)?,
                    at: crate::time::from_us(r.try_get(2)?)?,
                })
            })
            .collect()
    }
}
