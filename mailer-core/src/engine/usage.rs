//! The dashboard's view of each mailbox: sends in the current cap window against the cap, and the next
//! free slot.

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, EmailQuery, EmailStatus, Timestamp, UserId};

use super::{Engine, EngineError, MailboxView};

/// How much of its cap a mailbox has used, and when it can send next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MailboxUsage {
    /// The mailbox, without its password.
    pub mailbox: MailboxView,
    /// Sends counted in the current cap window (the last 24 hours, or today in the mailbox's timezone).
    pub sent_in_window: u32,
    /// The cap of that window.
    pub cap: u32,
    /// The earliest moment the next email may go, given spacing and caps; `now` when it may go at once.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub next_free: Option<Timestamp>,
    /// Emails waiting in its queue.
    pub waiting: usize,
}

impl Engine {
    /// The usage of every mailbox `user` may see (their own; all of the account's for an admin).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn mailbox_usage(&self, account: AccountId, user: UserId) -> Result<Vec<MailboxUsage>, EngineError> {
        let now = self.now();
        let mut out = Vec::new();
        for mailbox in self.mailboxes_for(account, user).await? {
            let state = self.ports.store.mailbox_state(account, mailbox.id, now).await?;
            let mut waiting = EmailQuery::account(account, u32::MAX);
            waiting.mailbox = Some(mailbox.id);
            waiting.statuses = vec![EmailStatus::Queued, EmailStatus::Sending];
            let waiting = self.ports.store.list_emails(&waiting).await?.len();
            let next_free = self.expected_times(account, mailbox.id, 1).await?.first().copied();
            out.push(MailboxUsage {
                sent_in_window: state.sent_in_window,
                cap: mailbox.limits.daily_cap,
                next_free,
                waiting,
                mailbox,
            });
        }
        Ok(out)
    }
}
