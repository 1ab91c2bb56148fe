//! The queue, history and mailing-progress views, and the bounce and reply counts of a mailbox.

use serde::{Deserialize, Serialize};

use crate::model::{
    AccountId, Email, EmailQuery, EmailStatus, Event, EventQuery, Mailbox, MailboxId, Mailing, MailingId,
    ReactionCounts, ReactionScope, Timestamp, UserId,
};
use crate::ports::StoreExt;
use crate::queue::expected_send_times;

use super::{Engine, EngineError};

/// One waiting email in the queue view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct QueuedEmail {
    /// The email.
    pub email: Email,
    /// When it is expected to go, given its mailbox's spacing and caps and the emails before it.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub expected_at: Option<Timestamp>,
}

/// One email in the history with what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct HistoryEntry {
    /// The email.
    pub email: Email,
    /// Its events, oldest first.
    pub events: Vec<Event>,
}

/// How far a mailing is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MailingProgress {
    /// The mailing.
    pub mailing: Mailing,
    /// Emails queued for it.
    pub total: u64,
    /// Sent.
    pub sent: u64,
    /// Failed.
    pub failed: u64,
    /// Waiting.
    pub waiting: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// When the last waiting email is expected to go, at the mailbox's pace.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub expected_finish: Option<Timestamp>,
    /// Bounces, replies and auto-replies that came back to its emails.
    #[serde(default)]
    pub reactions: ReactionCounts,
}

impl Engine {
    /// The waiting emails of a mailbox, in the order they will go (single emails first, mailings
    /// alternating), with their expected send times; at most `limit`.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn queue_view(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        limit: u32,
    ) -> Result<Vec<QueuedEmail>, EngineError> {
        let store = &self.ports.store;
        let mut query = EmailQuery::account(account, u32::MAX);
        query.mailbox = Some(mailbox);
        query.statuses = vec![EmailStatus::Queued, EmailStatus::Sending];
        let mut waiting = store.list_emails(&query).await?;
        waiting.sort_by_key(|e| (e.spec.priority, e.spec.seq, e.id));
        waiting.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let times = self.expected_times(account, mailbox, waiting.len()).await?;
        Ok(waiting
            .into_iter()
            .enumerate()
            .map(|(i, email)| {
                let expected_at = times.get(i).map(|t| (*t).max(email.due_at));
                QueuedEmail { email, expected_at }
            })
            .collect())
    }

    pub(super) async fn expected_times(
        &self,
        account: AccountId,
        mailbox: MailboxId,
        count: usize,
    ) -> Result<Vec<Timestamp>, EngineError> {
        let store = &self.ports.store;
        let mb: Mailbox = store.get(account, mailbox).await?;
        let now = self.now();
        let state = store.mailbox_state(account, mailbox, now).await?;
        // The store tells how many sends count in the window, not when they were: placing them now gives
        // conservative estimates (a slot frees no earlier than it really does).
        let history = vec![now; usize::try_from(state.sent_in_window).unwrap_or(0)];
        Ok(expected_send_times(
            &mb.limits,
            mb.timezone,
            state.next_send_at,
            &history,
            now,
            count,
        ))
    }

    /// The history: emails matching `query` with their events.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn history(&self, query: &EmailQuery) -> Result<Vec<HistoryEntry>, EngineError> {
        let store = &self.ports.store;
        let emails = store.list_emails(query).await?;
        let mut out = Vec::with_capacity(emails.len());
        for email in emails {
            let q = EventQuery {
                account: query.account,
                email: Some(email.id),
                entity: None,
                since: None,
                limit: 1_000,
            };
            let events = store.list_events(&q).await?;
            out.push(HistoryEntry { email, events });
        }
        Ok(out)
    }

    /// Bounces, replies and auto-replies that came back to a mailbox's emails, for a user who may see the
    /// mailbox.
    ///
    /// # Errors
    /// As [`Engine::mailbox_view`]; [`EngineError::Store`].
    pub async fn mailbox_reactions(
        &self,
        account: AccountId,
        user: UserId,
        mailbox: MailboxId,
    ) -> Result<ReactionCounts, EngineError> {
        let view = self.mailbox_view(account, user, mailbox).await?;
        Ok(self
            .ports
            .store
            .reaction_counts(account, ReactionScope::Mailbox(view.id))
            .await?)
    }

    /// The account's mailings, oldest first (the list behind the progress views).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn mailings(&self, account: AccountId) -> Result<Vec<Mailing>, EngineError> {
        let mut all: Vec<Mailing> = self.ports.store.list(account).await?;
        all.sort_by_key(|m| m.id);
        Ok(all)
    }

    /// A mailing's progress: counts by status and the expected finish.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn mailing_progress(
        &self,
        account: AccountId,
        mailing: MailingId,
    ) -> Result<MailingProgress, EngineError> {
        let store = &self.ports.store;
        let record: Mailing = store.get(account, mailing).await?;
        let counts = store.mailing_counts(account, mailing).await?;
        let waiting = usize::try_from(counts.waiting).unwrap_or(usize::MAX);
        let expected_finish = if waiting == 0 {
            None
        } else {
            // Single emails and other mailings of the mailbox go too; counting the whole mailbox queue up
            // to this mailing's share is what a user waits for.
            let mut query = EmailQuery::account(account, u32::MAX);
            query.mailbox = Some(record.mailbox);
            query.statuses = vec![EmailStatus::Queued, EmailStatus::Sending];
            let ahead = store.list_emails(&query).await?.len().max(waiting);
            self.expected_times(account, record.mailbox, ahead)
                .await?
                .last()
                .copied()
        };
        let reactions = store.reaction_counts(account, ReactionScope::Mailing(mailing)).await?;
        Ok(MailingProgress {
            reactions,
            total: counts.total(),
            sent: counts.sent,
            failed: counts.failed,
            waiting: counts.waiting,
            cancelled: counts.cancelled,
            expected_finish,
            mailing: record,
        })
    }
}
