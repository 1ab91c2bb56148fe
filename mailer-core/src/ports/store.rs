//! The store port: everything persistent, including the send queue.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::error::BoxError;
use crate::model::{
    Account, AccountId, Claimed, CrmLink, Email, EmailId, EmailQuery, EmailSpec, Enqueued, Event, EventKind,
    EventQuery, FileId, InboxCursor, MailboxId, MailboxState, MailingId, MailingStatus, NewAccount, NewEvent, NewFile,
    NewTimer, ReactionCounts, ReactionScope, Record, RecordKind, StatusCounts, StoredFile, Suppression, Timer, TimerId,
    Timestamp, TriggerLinkId, WorkerId,
};

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such record in this account.
    #[error("{what} {id} not found")]
    NotFound {
        /// What kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The operation clashes with existing data.
    #[error("{what} conflict: {detail}")]
    Conflict {
        /// What kind of record.
        what: &'static str,
        /// What clashed.
        detail: String,
    },
    /// The worker's lease on the email or timer expired or was taken by another worker.
    #[error("lease on {what} {id} expired or taken")]
    LeaseLost {
        /// `email` or `timer`.
        what: &'static str,
        /// Its id.
        id: i64,
    },
    /// The backend failed (connection, I/O, corrupt data).
    #[error("store backend failed")]
    Backend(#[source] BoxError),
}

impl StoreError {
    /// A not-found error for a record kind.
    pub fn not_found(what: &'static str, id: impl ToString) -> Self {
        Self::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// True for [`StoreError::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

/// Everything persistent, including the send queue.
///
/// # Contract
/// - Every record is scoped by [`AccountId`]; one account never sees another's data, and an id of another
///   account is [`StoreError::NotFound`].
/// - Enqueue is idempotent per `(account, idempotency_key)`: the second call returns the first email.
/// - [`Store::claim_due`] is atomic across every process sharing the store: an email is held by at most
///   one live lease; a mailbox gives at most one email per `spacing`, never more than its caps in their
///   window, and those limits hold across all workers, not per process.
/// - A lease that ends gives the email back to the queue; nothing is ever lost: an email is queued,
///   sending, sent, failed or cancelled.
/// - Emails of paused mailings are not claimed; cancelling a mailing cancels its queued emails.
/// - Timers come due in `due_at` order and are leased like emails.
/// - Implementations pass [`testkit::store_conformance`](crate::testkit::store_conformance).
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Creates an account and returns it with its id.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn create_account(&self, account: NewAccount) -> Result<Account, StoreError>;

    /// Reads an account.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    async fn get_account(&self, id: AccountId) -> Result<Account, StoreError>;

    /// Inserts a record of `kind`; the store assigns its id, writes it into the JSON's `id` field and
    /// returns it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the account does not exist.
    async fn insert_record(&self, account: AccountId, kind: RecordKind, body: Value) -> Result<i64, StoreError>;

    /// Replaces a record.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in this account.
    async fn update_record(&self, account: AccountId, kind: RecordKind, id: i64, body: Value)
    -> Result<(), StoreError>;

    /// Reads a record.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in this account.
    async fn get_record(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<Value, StoreError>;

    /// Reads several records of one kind in one account at once, as `(id, body)` in id order; an id that
    /// does not exist in this account is left out. A worker step reads its emails' mailboxes this way. The
    /// default reads them one by one with [`Store::get_record`]; a store that can read them in one query
    /// should.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn get_records(
        &self,
        account: AccountId,
        kind: RecordKind,
        ids: &[i64],
    ) -> Result<Vec<(i64, Value)>, StoreError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            match self.get_record(account, kind, id).await {
                Ok(body) => found.push((id, body)),
                Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(found)
    }

    /// Deletes a record.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in this account.
    async fn delete_record(&self, account: AccountId, kind: RecordKind, id: i64) -> Result<(), StoreError>;

    /// Lists an account's records of `kind` in id order.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn list_records(&self, account: AccountId, kind: RecordKind) -> Result<Vec<Value>, StoreError>;

    /// Queues emails (one or many, in one batch) and answers for each in order; an email whose idempotency
    /// key exists in its account is not queued again and its first id is returned.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when an email's mailbox does not exist in its account.
    async fn enqueue(&self, emails: Vec<EmailSpec>) -> Result<Vec<Enqueued>, StoreError>;

    /// Leases up to `limit` due emails to `worker` until `now + lease`, from mailboxes whose spacing has
    /// passed and whose caps allow one more: at most one of a mailbox with spacing or a cap, and up to an
    /// even share of `limit` (`limit` divided by the lifted mailboxes with emails waiting, rounded up) of a
    /// mailbox whose limits are [lifted](crate::model::SendingLimits::lifted). Every mailbox's first email
    /// comes before any mailbox's second; within a mailbox single emails first, then by `seq` (so
    /// concurrent mailings alternate), then by id. Expired leases count as due. Each email claimed counts
    /// as a send of its mailbox (spacing and caps) and an attempt of the email.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn claim_due(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Leases one queued email now, ahead of the queue, if its mailbox's spacing and caps allow.
    /// `Ok(None)` when the mailbox must wait ([`Store::mailbox_state`] tells until when) or the email is
    /// not queued.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the email does not exist in this account.
    async fn claim_email(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        now: Timestamp,
        lease: Duration,
    ) -> Result<Option<Claimed>, StoreError>;

    /// Marks a leased email sent.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `worker` no longer holds the lease.
    async fn complete(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
    ) -> Result<(), StoreError>;

    /// Marks a leased email sent and appends its `events` as one write: what a worker records when the
    /// server has accepted an email. By default [`Store::complete`] then [`Store::append_events`]; a store
    /// with transactions does both in one (the SQL store does), so a worker pays one commit per email.
    ///
    /// # Errors
    /// As [`Store::complete`], and then nothing is appended; as [`Store::append_events`].
    async fn complete_with_events(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        sent_at: Timestamp,
        events: Vec<NewEvent>,
    ) -> Result<(), StoreError> {
        self.complete(account, id, worker, sent_at).await?;
        self.append_events(events).await
    }

    /// Gives a leased email back to the queue, due at `at`, noting why.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `worker` no longer holds the lease.
    async fn retry_at(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        at: Timestamp,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// Marks a leased email failed, for good.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `worker` no longer holds the lease.
    async fn fail(&self, account: AccountId, id: EmailId, worker: &WorkerId, reason: &str) -> Result<(), StoreError>;

    /// Ends a leased email as cancelled without sending it (every recipient is suppressed), noting why.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `worker` no longer holds the lease.
    async fn cancel_claimed(
        &self,
        account: AccountId,
        id: EmailId,
        worker: &WorkerId,
        reason: &str,
    ) -> Result<(), StoreError>;

    /// Reads an email.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in this account.
    async fn get_email(&self, account: AccountId, id: EmailId) -> Result<Email, StoreError>;

    /// Lists emails for the queue and history views.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn list_emails(&self, query: &EmailQuery) -> Result<Vec<Email>, StoreError>;

    /// Counts a mailing's emails by status.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn mailing_counts(&self, account: AccountId, mailing: MailingId) -> Result<StatusCounts, StoreError>;

    /// Pauses, resumes or cancels a mailing (the [`Mailing`](crate::model::Mailing) record must exist);
    /// cancelling cancels its queued emails and returns how many, otherwise 0.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the mailing does not exist in this account.
    async fn set_mailing_status(
        &self,
        account: AccountId,
        mailing: MailingId,
        status: MailingStatus,
    ) -> Result<u64, StoreError>;

    /// The rate state of a mailbox at `now`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when the mailbox does not exist in this account.
    async fn mailbox_state(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        now: Timestamp,
    ) -> Result<MailboxState, StoreError>;

    /// Appends events, in order, in one batch.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn append_events(&self, events: Vec<NewEvent>) -> Result<(), StoreError>;

    /// Lists events, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn list_events(&self, query: &EventQuery) -> Result<Vec<Event>, StoreError>;

    /// When trigger link `link` of email `email` was clicked at or after `since`, oldest first: what the
    /// honeypot rule looks back at on every hit, so a store should answer it from an index of clicks rather
    /// than by reading the email's events (the SQL store does). This default reads the events.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn clicks_since(
        &self,
        account: AccountId,
        email: EmailId,
        link: TriggerLinkId,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let query = EventQuery {
            account,
            email: Some(email),
            entity: None,
            since: Some(since),
            limit: u32::MAX,
        };
        let mut clicks: Vec<Timestamp> = self
            .list_events(&query)
            .await?
            .into_iter()
            .filter(|e| e.event.kind == EventKind::Clicked { link })
            .map(|e| e.event.at)
            .collect();
        clicks.sort_unstable();
        Ok(clicks)
    }

    /// Records that something keyed `key` happened once; true the first time, false ever after. This is
    /// how "opened fires once per email" and "a one-time link fires once per entity" hold across workers.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn mark_once(&self, account: AccountId, key: &str, at: Timestamp) -> Result<bool, StoreError>;

    /// Schedules a timer; a timer with the same key in the account is replaced.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn schedule_timer(&self, timer: NewTimer) -> Result<TimerId, StoreError>;

    /// Cancels the timer with this key; true when there was one.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn cancel_timer(&self, account: AccountId, key: &str) -> Result<bool, StoreError>;

    /// Leases up to `limit` timers due at `now`, earliest first.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn claim_due_timers(
        &self,
        worker: &WorkerId,
        now: Timestamp,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Timer>, StoreError>;

    /// Removes a timer the worker has run.
    ///
    /// # Errors
    /// [`StoreError::LeaseLost`] when `worker` no longer holds the lease.
    async fn finish_timer(&self, account: AccountId, id: TimerId, worker: &WorkerId) -> Result<(), StoreError>;

    /// Puts an address on the account's suppression list (compared in lowercase); true when it was not
    /// there yet (the first reason and time are kept).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn suppress(
        &self,
        account: AccountId,
        address: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Takes an address off the account's suppression list; true when it was there.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn unsuppress(&self, account: AccountId, address: &str) -> Result<bool, StoreError>;

    /// Which of `addresses` (lowercase) are on the account's suppression list, in lowercase.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn suppressed(&self, account: AccountId, addresses: &[String]) -> Result<Vec<String>, StoreError>;

    /// The account's suppression list, by address.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn list_suppressions(&self, account: AccountId) -> Result<Vec<Suppression>, StoreError>;

    /// Stores a file and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn put_file(&self, file: NewFile) -> Result<FileId, StoreError>;

    /// Reads a file.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in this account.
    async fn get_file(&self, account: AccountId, id: FileId) -> Result<StoredFile, StoreError>;

    /// Saves an account's CRM link (insert or replace), its tokens sealed at rest; the stored version becomes
    /// the old one plus one (1 for a new link), whatever `link.version` says. Answers the stored link.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown account; [`StoreError::Conflict`] when another account
    /// already links the same `external_id`.
    async fn put_crm_link(&self, link: CrmLink) -> Result<CrmLink, StoreError>;

    /// The account's CRM link, if it has one.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn crm_link(&self, account: AccountId) -> Result<Option<CrmLink>, StoreError>;

    /// The link of the CRM account `external_id`, if any.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn crm_link_by_external(&self, external_id: i64) -> Result<Option<CrmLink>, StoreError>;

    /// Every CRM link (a host loads them at start).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn list_crm_links(&self) -> Result<Vec<CrmLink>, StoreError>;

    /// Compare-and-swap of an account's tokens: replaces them (and bumps the version) only while the
    /// stored version is still `expected`. Answers the new version, or `None` when another writer got
    /// there first (or the link is gone), which nothing changes. Atomic across every process sharing the
    /// store.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn swap_crm_tokens(
        &self,
        account: AccountId,
        expected: i64,
        tokens: Option<crate::model::Secret>,
        at: Timestamp,
    ) -> Result<Option<i64>, StoreError>;

    /// Spends the one-time token id `jti` (a CRM widget token's `jti`) of the account: true the first
    /// time, false while it is remembered. The id is remembered until `expires_at` (the token's own
    /// expiry), so a replay to any process sharing the store is refused; ids whose expiry is at or before
    /// `now` are pruned.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn spend_token_id(
        &self,
        account: AccountId,
        jti: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The account's email whose Message-ID is `message_id` (without angle brackets, compared exactly), if
    /// any.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn find_email_by_message_id(&self, account: AccountId, message_id: &str)
    -> Result<Option<Email>, StoreError>;

    /// Ends a sent email as failed because a bounce came back later, keeping `reason` as its last error;
    /// true when it was sent and is failed now, false when it was not sent (already failed, or not yet
    /// sent), so a bounce handled twice changes it once.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when it does not exist in this account.
    async fn bounce_email(&self, account: AccountId, id: EmailId, reason: &str) -> Result<bool, StoreError>;

    /// How far the mailbox's INBOX has been read; `None` before the first read.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn inbox_cursor(&self, account: AccountId, mailbox: MailboxId) -> Result<Option<InboxCursor>, StoreError>;

    /// Keeps how far the mailbox's INBOX has been read. Under the stored UIDVALIDITY the last UID only
    /// grows (two readers never move it back); a new UIDVALIDITY replaces the cursor.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn save_inbox_cursor(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        cursor: InboxCursor,
    ) -> Result<(), StoreError>;

    /// Counts the bounce, soft-bounce, reply and auto-reply events of the emails in `scope`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn reaction_counts(&self, account: AccountId, scope: ReactionScope) -> Result<ReactionCounts, StoreError>;

    /// Every mailbox of every account, by account and id: what a host reads the inboxes of.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the backend fails.
    async fn all_mailboxes(&self) -> Result<Vec<(AccountId, MailboxId)>, StoreError>;
}

/// A store behind a pointer.
pub type DynStore = dyn Store;

fn to_json<T: Record>(record: &T) -> Result<Value, StoreError> {
    serde_json::to_value(record).map_err(|e| StoreError::Backend(Box::new(e)))
}

fn from_json<T: Record>(value: Value) -> Result<T, StoreError> {
    serde_json::from_value(value).map_err(|e| StoreError::Backend(Box::new(e)))
}

/// Typed conveniences over [`Store`], implemented for every store. Do not implement it yourself.
#[async_trait]
pub trait StoreExt: Store {
    /// Inserts a typed record and returns it with its new id.
    ///
    /// # Errors
    /// As [`Store::insert_record`].
    async fn insert<T: Record>(&self, mut record: T) -> Result<T, StoreError> {
        let id = self.insert_record(record.account(), T::KIND, to_json(&record)?).await?;
        record.set_raw_id(id);
        Ok(record)
    }

    /// Replaces a typed record.
    ///
    /// # Errors
    /// As [`Store::update_record`].
    async fn update<T: Record>(&self, record: &T) -> Result<(), StoreError> {
        self.update_record(record.account(), T::KIND, record.raw_id(), to_json(record)?)
            .await
    }

    /// Reads a typed record.
    ///
    /// # Errors
    /// As [`Store::get_record`], or [`StoreError::Backend`] when the stored JSON does not fit `T`.
    async fn get<T: Record>(&self, account: AccountId, id: impl Into<i64> + Send) -> Result<T, StoreError> {
        from_json(self.get_record(account, T::KIND, id.into()).await?)
    }

    /// Reads several typed records of one account at once (see [`Store::get_records`]), in id order; an
    /// id that does not exist is left out.
    ///
    /// # Errors
    /// As [`Store::get_records`], or [`StoreError::Backend`] when a stored JSON does not fit `T`.
    async fn get_many<T: Record>(&self, account: AccountId, ids: &[i64]) -> Result<Vec<T>, StoreError> {
        self.get_records(account, T::KIND, ids)
            .await?
            .into_iter()
            .map(|(_, body)| from_json(body))
            .collect()
    }

    /// Deletes a typed record.
    ///
    /// # Errors
    /// As [`Store::delete_record`].
    async fn delete<T: Record>(&self, account: AccountId, id: impl Into<i64> + Send) -> Result<(), StoreError> {
        self.delete_record(account, T::KIND, id.into()).await
    }

    /// Lists an account's typed records in id order.
    ///
    /// # Errors
    /// As [`Store::list_records`].
    async fn list<T: Record>(&self, account: AccountId) -> Result<Vec<T>, StoreError> {
        self.list_records(account, T::KIND)
            .await?
            .into_iter()
            .map(from_json)
            .collect()
    }

    /// Queues one email.
    ///
    /// # Errors
    /// As [`Store::enqueue`].
    async fn enqueue_one(&self, email: EmailSpec) -> Result<Enqueued, StoreError> {
        self.enqueue(vec![email])
            .await?
            .pop()
            .ok_or_else(|| StoreError::Backend("enqueue returned no answer".into()))
    }
}

impl<T: Store + ?Sized> StoreExt for T {}
