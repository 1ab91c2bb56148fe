//! Queue writes and reads: batched enqueue with idempotency keys, finishing a lease (complete, retry,
//! fail), the queue and history views, and mailing status.

use std::collections::{BTreeSet, HashMap, HashSet};

use mailer_core::model::{
    AccountId, Email, EmailId, EmailQuery, EmailSpec, EmailStatus, Enqueued, MailingId, MailingStatus, NewEvent,
    RecordKind, StatusCounts, Timestamp, WorkerId,
};
use mailer_core::ports::StoreError;
use serde_json::json;
use sqlx::{AssertSqlSafe, Row};

use super::SqlStore;
use super::completions::Completion;
use crate::config::Dialect;
use crate::error::Error;
use crate::queries::multi_row;
use crate::rows::{self, email_status, parse_email_status};
use crate::time::us;

/// Rows per INSERT statement when enqueueing.
pub(super) const BATCH: usize = 1_000;

/// One row of `email_specs` (SQLite only; repeated by `multi_row` for a batch).
#[cfg(feature = "sqlite")]
const SQLITE_SPECS_INSERT: &str =
    "INSERT INTO email_specs (id, spec, content) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";

/// Which end a lease comes to.
pub(super) enum Finish<'a> {
    Sent(Timestamp),
    Retry(Timestamp, &'a str),
    Failed(&'a str),
    Cancelled(&'a str),
}

impl SqlStore {
    pub(super) async fn enqueue_(&self, emails: Vec<EmailSpec>) -> Result<Vec<Enqueued>, Error> {
        if emails.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin().await?;
        let mailboxes: BTreeSet<(i64, i64)> = emails.iter().map(|e| (e.account.0, e.mailbox.0)).collect();
        #[cfg(feature = "postgres")]
        let woken: BTreeSet<i64> = mailboxes.iter().map(|(_, mailbox)| *mailbox).collect();
        for (account, mailbox) in mailboxes {
            let found: i64 = sqlx::query_scalar(self.q.mailbox_record_exists)
                .bind(mailbox)
                .bind(account)
                .fetch_one(&mut *tx)
                .await?;
            if found == 0 {
                return Err(StoreError::not_found("mailbox", mailbox).into());
            }
        }
        let count = i64::try_from(emails.len()).map_err(|_| Error::corrupt("batch too large"))?;
        let ids: Vec<i64> = sqlx::query_scalar(self.q.email_next_ids)
            .bind(count)
            .fetch_all(&mut *tx)
            .await?;
        if ids.len() != emails.len() {
            return Err(Error::corrupt("the database reserved the wrong number of email ids"));
        }
        // SQLite keeps each distinct content once; the specs keep its id (`store/contents.rs`).
        #[cfg(feature = "sqlite")]
        let mut emails = emails;
        #[cfg(feature = "sqlite")]
        let contents = if self.dialect == Dialect::Sqlite {
            self.store_contents(&mut tx, &mut emails).await?
        } else {
            Vec::new()
        };
        #[cfg(feature = "sqlite")]
        let mut content_chunks = contents.chunks(BATCH);
        let mut inserted = HashSet::with_capacity(ids.len());
        for (specs, ids) in emails.chunks(BATCH).zip(ids.chunks(BATCH)) {
            let sql = if specs.len() == BATCH {
                self.email_batch_sql.clone()
            } else {
                multi_row(self.q.email_insert_batch, specs.len(), self.dialect == Dialect::Sqlite)?
            };
            let json = specs.iter().map(serde_json::to_string).collect::<Result<Vec<_>, _>>()?;
            let mut query = sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql));
            for ((spec, id), json) in specs.iter().zip(ids).zip(&json) {
                query = query
                    .bind(*id)
                    .bind(spec.account.0)
                    .bind(spec.mailbox.0)
                    .bind(spec.mailing.map(|m| m.0))
                    .bind(spec.entity.map(rows::entity).transpose()?)
                    .bind(rows::priority(spec.priority))
                    .bind(spec.seq)
                    .bind(us(spec.not_before))
                    .bind(spec.idempotency_key.clone())
                    .bind(json.clone());
            }
            let new: Vec<i64> = query.fetch_all(&mut *tx).await?;
            #[cfg(feature = "sqlite")]
            if self.dialect == Dialect::Sqlite {
                let contents = content_chunks.next().unwrap_or_default();
                self.insert_specs(&mut tx, ids, json, contents, &new).await?;
            }
            inserted.extend(new);
        }
        // Emails not inserted had an idempotency key that exists: answer with the first email's id.
        let mut wanted: HashMap<i64, Vec<&str>> = HashMap::new();
        for (spec, id) in emails.iter().zip(&ids) {
            if !inserted.contains(id)
                && let Some(key) = &spec.idempotency_key
            {
                wanted.entry(spec.account.0).or_default().push(key);
            }
        }
        let mut existing: HashMap<(i64, String), i64> = HashMap::new();
        for (account, keys) in wanted {
            let rows = sqlx::query(self.q.email_ids_by_keys)
                .bind(account)
                .bind(json!(keys).to_string())
                .fetch_all(&mut *tx)
                .await?;
            for row in rows {
                existing.insert((account, row.try_get(1)?), row.try_get(0)?);
            }
        }
        // Last, so that the mailboxes' rows stay locked only for the commit (claims skip them meanwhile).
        #[cfg(feature = "postgres")]
        if self.dialect == Dialect::Postgres {
            sqlx::query(super::claim::WAKE_MAILBOXES)
                .bind(json!(woken).to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        emails
            .iter()
            .zip(ids)
            .map(|(spec, id)| {
                if inserted.contains(&id) {
                    return Ok(Enqueued {
                        id: EmailId(id),
                        created: true,
                    });
                }
                let key = spec.idempotency_key.clone().unwrap_or_default();
                existing
                    .get(&(spec.account.0, key))
                    .map(|first| Enqueued {
                        id: EmailId(*first),
                        created: false,
                    })
                    .ok_or_else(|| Error::corrupt("an email was neither inserted nor found by its key"))
            })
            .collect()
    }

    /// SQLite keeps each email's spec in `email_specs` (`migrations/sqlite/0007_email_specs.sql`): the
    /// specs of the emails just inserted (`new`, among `ids`), each with its content's id (`contents`, in
    /// the order of `ids`), in one statement.
    #[cfg(feature = "sqlite")]
    async fn insert_specs(
        &self,
        tx: &mut super::Tx,
        ids: &[i64],
        json: Vec<String>,
        contents: &[i64],
        new: &[i64],
    ) -> Result<(), Error> {
        if contents.len() != ids.len() {
            return Err(Error::corrupt("a content id is missing for an email"));
        }
        let new: HashSet<i64> = new.iter().copied().collect();
        if new.is_empty() {
            return Ok(());
        }
        let sql = multi_row(SQLITE_SPECS_INSERT, new.len(), true)?;
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((id, json), content) in ids.iter().zip(json).zip(contents) {
            if new.contains(id) {
                query = query.bind(*id).bind(json).bind(*content);
            }
        }
        query.execute(&mut **tx).await?;
        Ok(())
    }

    pub(super) async fn complete_(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
    ) -> Result<(), Error> {
        self.finish(account, id, worker, Finish::Sent(sent_at)).await
    }

    pub(super) async fn retry_at_(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        at: Timestamp,
        reason: &str,
    ) -> Result<(), Error> {
        self.finish(account, id, worker, Finish::Retry(at, reason)).await
    }

    pub(super) async fn fail_(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        reason: &str,
    ) -> Result<(), Error> {
        self.finish(account, id, worker, Finish::Failed(reason)).await
    }

    pub(super) async fn cancel_claimed_(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        reason: &str,
    ) -> Result<(), Error> {
        self.finish(account, id, worker, Finish::Cancelled(reason)).await
    }

    /// Marks a leased email sent and appends `events` in one transaction: nothing is appended when the lease
    /// is lost. On a SQLite file the transaction is shared with the completions that arrive meanwhile
    /// (`completions.rs`).
    pub(super) async fn complete_with_events_(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
        events: Vec<NewEvent>,
    ) -> Result<(), Error> {
        if events.is_empty() {
            return self.complete_(account, id, worker, sent_at).await;
        }
        let completion = Completion {
            account,
            id,
            worker: worker.clone(),
            sent_at,
            events,
        };
        if self.groups_completions() {
            self.complete_grouped(completion).await
        } else {
            self.complete_alone(&completion).await
        }
    }

    async fn finish(&self, account: AccountId, id: EmailId, worker: &WorkerId, how: Finish<'_>) -> Result<(), Error> {
        let query = self.finish_query(id, account, worker, how);
        if query.execute(&self.writer).await?.rows_affected() == 1 {
            return Ok(());
        }
        Err(self.not_finished(account, id).await)
    }

    /// Why a leased email could not be finished: it does not exist, or the lease is lost.
    pub(super) async fn not_finished(&self, account: AccountId, id: EmailId) -> Error {
        let exists: Result<i64, _> = sqlx::query_scalar(self.q.email_exists)
            .bind(id.0)
            .bind(account.0)
            .fetch_one(&self.pool)
            .await;
        match exists {
            Err(e) => e.into(),
            Ok(0) => StoreError::not_found("email", id).into(),
            Ok(_) => StoreError::LeaseLost {
                what: "email",
                id: id.0,
            }
            .into(),
        }
    }

    /// The statement that finishes a leased email `how`; it changes one row when `worker` holds the lease.
    pub(super) fn finish_query<'q>(
        &self,
        id: EmailId,
        account: AccountId,
        worker: &'q WorkerId,
        how: Finish<'q>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        let (sql, extra) = match how {
            Finish::Sent(at) => (self.q.email_complete, (Some(us(at)), None)),
            Finish::Retry(at, reason) => (self.q.email_retry, (Some(us(at)), Some(reason))),
            Finish::Failed(reason) => (self.q.email_fail, (None, Some(reason))),
            Finish::Cancelled(reason) => (self.q.email_cancel_claimed, (None, Some(reason))),
        };
        let mut query = sqlx::query(sql).bind(id.0).bind(account.0).bind(worker.0.as_str());
        if let Some(at) = extra.0 {
            query = query.bind(at);
        }
        if let Some(reason) = extra.1 {
            query = query.bind(reason);
        }
        query
    }

    pub(super) async fn get_email_(&self, account: AccountId, id: EmailId) -> Result<Email, Error> {
        let row = sqlx::query(self.q.email_get)
            .bind(id.0)
            .bind(account.0)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found("email", id))?;
        self.email(&row, 0, None).await
    }

    pub(super) async fn list_emails_(&self, query: &EmailQuery) -> Result<Vec<Email>, Error> {
        let statuses = (!query.statuses.is_empty())
            .then(|| json!(query.statuses.iter().map(|s| email_status(*s)).collect::<Vec<_>>()).to_string());
        let rows = sqlx::query(self.q.email_list)
            .bind(query.account.0)
            .bind(statuses)
            .bind(query.mailbox.map(|m| m.0))
            .bind(query.mailing.map(|m| m.0))
            .bind(query.entity.map(rows::entity).transpose()?)
            .bind(query.after.map(|a| a.0))
            .bind(i64::from(query.limit))
            .fetch_all(&self.pool)
            .await?;
        self.emails(&rows, 0, None).await
    }

    pub(super) async fn mailing_counts_(&self, account: AccountId, mailing: MailingId) -> Result<StatusCounts, Error> {
        let rows = sqlx::query(self.q.mailing_counts)
            .bind(account.0)
            .bind(mailing.0)
            .fetch_all(&self.pool)
            .await?;
        let mut counts = StatusCounts::default();
        for row in rows {
            let n = u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0);
            match parse_email_status(&row.try_get::<String, _>(0)?)? {
                EmailStatus::Queued | EmailStatus::Sending => counts.waiting += n,
                EmailStatus::Sent => counts.sent += n,
                EmailStatus::Failed => counts.failed += n,
                EmailStatus::Cancelled => counts.cancelled += n,
            }
        }
        Ok(counts)
    }

    pub(super) async fn set_mailing_status_(
        &self,
        account: AccountId,
        mailing: MailingId,
        status: MailingStatus,
    ) -> Result<u64, Error> {
        let mut body = self
            .get_record_(account, RecordKind::Mailing, mailing.0)
            .await
            .map_err(|e| match e {
                Error::Store(StoreError::NotFound { .. }) => StoreError::not_found("mailing", mailing).into(),
                other => other,
            })?;
        if let Some(obj) = body.as_object_mut() {
            obj.insert("status".into(), serde_json::to_value(status)?);
        }
        // The record and its status column change in one transaction (update_record mirrors the status).
        self.update_record_(account, RecordKind::Mailing, mailing.0, body)
            .await?;
        if status != MailingStatus::Cancelled {
            return Ok(0);
        }
        let done = sqlx::query(self.q.mailing_cancel_queued)
            .bind(account.0)
            .bind(mailing.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }
}
