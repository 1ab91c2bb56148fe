//! [`SqlStore`]: connecting, and the [`Store`] port implemented over the operations in the sibling modules.

mod activity;
mod claim;
mod completions;
#[cfg(feature = "sqlite")]
mod content_writes;
mod contents;
mod crm_links;
mod inbox;
mod queue;
mod records;
mod spent_tokens;

use std::time::Duration;

use async_trait::async_trait;
use mailer_core::model::{
    Account, AccountId, Claimed, CrmLink, Email, EmailId, EmailQuery, EmailSpec, Enqueued, Event, EventQuery, FileId,
    InboxCursor, MailboxId, MailboxState, MailingId, MailingStatus, NewAccount, NewEvent, NewFile, NewTimer,
    ReactionCounts, ReactionScope, RecordKind, StatusCounts, StoredFile, Suppression, Timer, TimerId, Timestamp,
    TriggerLinkId, WorkerId,
};
use mailer_core::ports::{Store, StoreError};
use serde_json::Value;
use sqlx::{Any, Row, Transaction};
use sqlx::{AnyPool, any::AnyPoolOptions};

use crate::config::{Dialect, SqlConfig};
use crate::crypto::Cipher;
use crate::error::Error;
use crate::queries::Queries;

/// The [`Store`] on SQLite or PostgreSQL. Cheap to share behind an `Arc`; it holds a connection pool.
///
/// Every worker process opens its own `SqlStore` on the same database; claims, spacing and caps hold
/// across all of them because they are decided inside one database transaction.
#[derive(Debug)]
pub struct SqlStore {
    pool: AnyPool,
    /// Where every write goes. On a SQLite file, a pool of one connection: this process's writers queue
    /// for it in order instead of racing for SQLite's one write lock, whose busy handler makes the losers
    /// sleep (in steps of up to 100 ms). On PostgreSQL and in-memory SQLite, the same pool as `pool`.
    writer: AnyPool,
    dialect: Dialect,
    q: &'static Queries,
    cipher: Cipher,
    /// `email_insert_batch` for a full batch of rows, built once.
    email_batch_sql: String,
    /// `events_insert` for a full statement of rows, built once.
    events_batch_sql: String,
    /// Sent emails waiting to share a transaction (SQLite only).
    completions: completions::Completions,
    /// Emails' contents, parsed, by id (SQLite only: `store/contents.rs`).
    contents: contents::ContentCache,
}

type Tx = Transaction<'static, Any>;

impl SqlStore {
    /// Connects, applies the embedded migrations of the URL's dialect and checks the secret key.
    ///
    /// # Errors
    /// [`Error::UnsupportedUrl`] for a URL this build cannot open, [`Error::Database`] or
    /// [`Error::Migrate`] when the database fails, and [`Error::WrongKey`] when the database's secrets
    /// were sealed with another key.
    pub async fn connect(config: &SqlConfig) -> Result<Self, Error> {
        let dialect = config.dialect()?;
        sqlx::any::install_default_drivers();
        let (pool, writer, q) = match dialect {
            #[cfg(feature = "sqlite")]
            Dialect::Sqlite => {
                let writer = sqlite_pool(config, true).await?;
                crate::queries::sqlite_migrator().run(&writer).await?;
                let pool = if config.is_memory() {
                    writer.clone()
                } else {
                    sqlite_pool(config, false).await?
                };
                (pool, writer, &crate::queries::SQLITE)
            }
            #[cfg(feature = "postgres")]
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(config.max_connections)
                    .connect(&config.url)
                    .await?;
                crate::queries::postgres_migrator().run(&pool).await?;
                (pool.clone(), pool, &crate::queries::POSTGRES)
            }
            #[allow(unreachable_patterns)] // reachable when one feature is off
            _ => {
                return Err(Error::UnsupportedUrl {
                    scheme: format!("{dialect:?}"),
                });
            }
        };
        let store = Self {
            pool,
            writer,
            dialect,
            q,
            cipher: Cipher::new(&config.key),
            email_batch_sql: crate::queries::multi_row(q.email_insert_batch, queue::BATCH, dialect == Dialect::Sqlite)?,
            events_batch_sql: crate::queries::multi_row(
                q.events_insert,
                activity::EVENTS_BATCH,
                dialect == Dialect::Sqlite,
            )?,
            completions: completions::Completions::default(),
            contents: contents::ContentCache::default(),
        };
        store.check_key().await?;
        Ok(store)
    }

    /// The dialect this store speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The connection pool, for hosts that keep their own tables in the same database.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pools, waiting for connections in use to come back.
    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// Whether sent emails share transactions ([`completions`]): on SQLite, whose one writer serializes
    /// them anyway.
    fn groups_completions(&self) -> bool {
        self.dialect == Dialect::Sqlite
    }

    /// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite (take the write lock now, so a read that
    /// is followed by a write cannot deadlock with another process), `BEGIN` on PostgreSQL.
    async fn begin(&self) -> Result<Tx, Error> {
        let statement = match self.dialect {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        };
        Ok(self.writer.begin_with(statement).await?)
    }

    async fn check_key(&self) -> Result<(), Error> {
        let read = || async {
            let row = sqlx::query(self.q.meta_get)
                .bind("key_check")
                .fetch_optional(&self.pool)
                .await?;
            row.map(|r| r.try_get::<String, _>(0)).transpose()
        };
        if read().await?.is_none() {
            sqlx::query(self.q.meta_insert)
                .bind("key_check")
                .bind(self.cipher.key_check()?)
                .execute(&self.writer)
                .await?;
        }
        let stored = read().await?.ok_or_else(|| Error::corrupt("key check missing"))?;
        self.cipher.verify_key_check(&stored)
    }
}

/// A pool on the SQLite database of `config`: the writer (one connection on a file) or the readers.
#[cfg(feature = "sqlite")]
async fn sqlite_pool(config: &SqlConfig, writer: bool) -> Result<AnyPool, Error> {
    let memory = config.is_memory();
    let mut url = config.url.clone();
    let mut options = AnyPoolOptions::new();
    if memory {
        // Every connection to `:memory:` is its own database: keep exactly one, forever.
        options = options
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        if !url.contains("mode=") {
            url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
        }
        options = options.max_connections(if writer { 1 } else { config.max_connections });
    }
    // A connection to a file in this process cannot go stale: no ping (a round trip to the connection's
    // thread) before every statement.
    options = options.test_before_acquire(false);
    let busy_ms = config.busy_timeout.as_millis();
    let cache = config
        .sqlite_cache_kib
        .map_or_else(String::new, |kib| format!(" PRAGMA cache_size = -{kib};"));
    let pool = options
        .after_connect(move |conn, _| {
            let cache = cache.clone();
            Box::pin(async move {
                let pragmas = format!("PRAGMA busy_timeout = {busy_ms}; PRAGMA synchronous = NORMAL;{cache}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas)).execute(&mut *conn).await?;
                if !memory {
                    // WAL is a property of the file: set it once (switching needs an exclusive lock).
                    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await?;
                    if !mode.eq_ignore_ascii_case("wal") {
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                    }
                }
                Ok(())
            })
        })
        .connect(&url)
        .await?;
    Ok(pool)
}

/// The end of a lease taken at `now`.
fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    crate::time::plus(now, lease)
}

#[async_trait]
impl Store for SqlStore {
    async fn create_account(&self, account: NewAccount) -> Result<Account, StoreError> {
        Ok(self.create_account_(account).await?)
    }

    async fn get_account(&self, id: AccountId) -> Result<Account, StoreError> {
        Ok(self.get_account_(id).await?)
    }

    async fn insert_record(&self, account: AccountId, kind: RecordKind, body: Value) -> Result<i64, StoreError> {
        Ok(self.insert_record_(account, kind, body).await?)
    }

    async fn update_record(
        &self,
        account: AccountId,
        kind: RecordKind,
        id: i64,
        body: Value,
    ) -> Result<(), StoreError> {
        Ok(self.update_record_(account, kind, id, body).await?)
    }

    async fn get_record(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<Value, StoreError> {
        Ok(self.get_record_(account, kind, id).await?)
    }

    async fn get_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        ids: &[i64],
    ) -> Result<Vec<(i64, Value)>, StoreError> {
        Ok(self.get_records_(account, kind, ids).await?)
    }

    async fn delete_record(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<(), StoreError> {
        Ok(self.delete_record_(account, kind, id).await?)
    }

    async fn list_records(&self, account: AccountId, kind: RecordKind) -> Result<Vec<Value>, StoreError> {
        Ok(self.list_records_(account, kind).await?)
    }

    async fn enqueue(&self, emails: Vec<EmailSpec>) -> Result<Vec<Enqueued>, StoreError> {
        Ok(self.enqueue_(emails).await?)
    }

    async fn claim_due(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError> {
        Ok(self.claim_due_(worker, now, limit, lease).await?)
    }

    async fn claim_email(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError> {
        Ok(self.claim_email_(account, id, worker, now, lease).await?)
    }

    async fn complete(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
    ) -> Result<(), StoreError> {
        Ok(self.complete_(account, id, worker, sent_at).await?)
    }

    async fn complete_with_events(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
        events: Vec<NewEvent>,
    ) -> Result<(), StoreError> {
        Ok(self.complete_with_events_(account, id, worker, sent_at, events).await?)
    }

    async fn retry_at(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        at: Timestamp,
        reason: &str,
    ) -> Result<(), StoreError> {
        Ok(self.retry_at_(account, id, worker, at, reason).await?)
    }

    async fn fail(&self, account: AccountId, id: EmailId, worker: &WorkerId, reason: &str) -> Result<(), StoreError> {
        Ok(self.fail_(account, id, worker, reason).await?)
    }

    async fn cancel_claimed(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        reason: &str,
    ) -> Result<(), StoreError> {
        Ok(self.cancel_claimed_(account, id, worker, reason).await?)
    }

    async fn get_email(&self, account: AccountId, id: EmailId) -> Result<Email, StoreError> {
        Ok(self.get_email_(account, id).await?)
    }

    async fn list_emails(&self, query: &EmailQuery) -> Result<Vec<Email>, StoreError> {
        Ok(self.list_emails_(query).await?)
    }

    async fn mailing_counts(&self, account: AccountId, mailing: MailingId) -> Result<StatusCounts, StoreError> {
        Ok(self.mailing_counts_(account, mailing).await?)
    }

    async fn set_mailing_status(
        &self,
        account: AccountId,
        mailing: MailingId,
        status: MailingStatus,
    ) -> Result<u64, StoreError> {
        Ok(self.set_mailing_status_(account, mailing, status).await?)
    }

    async fn mailbox_state(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        now: Timestamp,
    ) -> Result<MailboxState, StoreError> {
        Ok(self.mailbox_state_(account, mailbox, now).await?)
    }

    async fn append_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError> {
        Ok(self.append_events_(events).await?)
    }

    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError> {
        Ok(self.list_events_(query).await?)
    }

    async fn clicks_since(
        &self,
        account: AccountId,
        email: EmailId,
        link: TriggerLinkId,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, StoreError> {
        Ok(self.clicks_since_(account, email, link, since).await?)
    }

    async fn mark_once(&self, account: AccountId, key: &str, at: Timestamp) -> Result<bool, StoreError> {
        Ok(self.mark_once_(account, key, at).await?)
    }

    async fn schedule_timer(&self, timer: NewTimer) -> Result<TimerId, StoreError> {
        Ok(self.schedule_timer_(timer).await?)
    }

    async fn cancel_timer(&self, account: AccountId, key: &str) -> Result<bool, StoreError> {
        Ok(self.cancel_timer_(account, key).await?)
    }

    async fn claim_due_timers(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, StoreError> {
        Ok(self.claim_due_timers_(worker, now, limit, lease).await?)
    }

    async fn finish_timer(&self, account: AccountId, id: TimerId, worker: &WorkerId) -> Result<(), StoreError> {
        Ok(self.finish_timer_(account, id, worker).await?)
    }

    async fn suppress(
        &self,
        account: AccountId,
        address: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.suppress_(account, address, reason, at).await?)
    }

    async fn unsuppress(&self, account: AccountId, address: &str) -> Result<bool, StoreError> {
        Ok(self.unsuppress_(account, address).await?)
    }

    async fn suppressed(&self, account: AccountId, addresses: &[String]) -> Result<Vec<String>, StoreError> {
        Ok(self.suppressed_(account, addresses).await?)
    }

    async fn list_suppressions(&self, account: AccountId) -> Result<Vec<Suppression>, StoreError> {
        Ok(self.list_suppressions_(account).await?)
    }

    async fn put_file(&self, file: NewFile) -> Result<FileId, StoreError> {
        Ok(self.put_file_(file).await?)
    }

    async fn get_file(&self, account: AccountId, id: FileId) -> Result<StoredFile, StoreError> {
        Ok(self.get_file_(account, id).await?)
    }

    async fn put_crm_link(&self, link: CrmLink) -> Result<CrmLink, StoreError> {
        Ok(self.put_crm_link_(link).await?)
    }

    async fn crm_link(&self, account: AccountId) -> Result<Option<CrmLink>, StoreError> {
        Ok(self.crm_link_(account).await?)
    }

    async fn crm_link_by_external(&self, external_id: i64) -> Result<Option<CrmLink>, StoreError> {
        Ok(self.crm_link_by_external_(external_id).await?)
    }

    async fn list_crm_links(&self) -> Result<Vec<CrmLink>, StoreError> {
        Ok(self.list_crm_links_().await?)
    }

    async fn swap_crm_tokens(
        &self,
        account: AccountId,
        expected: i64,
        tokens: Option<mailer_core::model::Secret>,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        Ok(self.swap_crm_tokens_(account, expected, tokens, at).await?)
    }

    async fn spend_token_id(
        &self,
        account: AccountId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        Ok(self.spend_token_id_(account, jti, expires_at, now).await?)
    }

    async fn find_email_by_message_id(
        &self,
        account: AccountId,
        message_id: &str,
    ) -> Result<Option<Email>, StoreError> {
        Ok(self.find_email_by_message_id_(account, message_id).await?)
    }

    async fn bounce_email(&self, account: AccountId, id: EmailId, reason: &str) -> Result<bool, StoreError> {
        Ok(self.bounce_email_(account, id, reason).await?)
    }

    async fn inbox_cursor(&self, account: AccountId, mailbox: MailboxId) -> Result<Option<InboxCursor>, StoreError> {
        Ok(self.inbox_cursor_(account, mailbox).await?)
    }

    async fn save_inbox_cursor(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        cursor: InboxCursor,
    ) -> Result<(), StoreError> {
        Ok(self.save_inbox_cursor_(account, mailbox, cursor).await?)
    }

    async fn reaction_counts(&self, account: AccountId, scope: ReactionScope) -> Result<ReactionCounts, StoreError> {
        Ok(self.reaction_counts_(account, scope).await?)
    }

    async fn all_mailboxes(&self) -> Result<Vec<(AccountId, MailboxId)>, StoreError> {
        Ok(self.all_mailboxes_().await?)
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::sqlite_pool;
    use crate::{SecretKey, SqlConfig};

    async fn cache_size(config: &SqlConfig, writer: bool) -> i64 {
        let pool = sqlite_pool(config, writer).await.expect("pool");
        let size: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&pool)
            .await
            .expect("cache_size");
        pool.close().await;
        size
    }

    #[tokio::test]
    async fn the_page_cache_is_sqlites_default_unless_set_for_every_connection() {
        sqlx::any::install_default_drivers();
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("cache.db").display());
        let config = SqlConfig::new(url, SecretKey::generate());
        assert_eq!(cache_size(&config, false).await, -2000, "SQLite's default");
        let small = config.with_sqlite_cache_kib(512);
        assert_eq!(cache_size(&small, false).await, -512, "readers");
        assert_eq!(cache_size(&small, true).await, -512, "the writer");
    }
}
