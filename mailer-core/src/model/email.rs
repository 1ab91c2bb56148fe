//! Emails (the queue's items) and mailings.

use serde::{Deserialize, Serialize};

use super::{
    AccountId, Address, AttachmentRef, Content, EmailId, EmailTriggers, EntityRef, MailboxId, MailingId, TemplateId,
    Timestamp, UserId,
};

/// Whether an email is a single one (sent at once) or part of a mailing (sent evenly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A single email or an automatic one: goes before mailing traffic.
    Single,
    /// Part of a mass mailing.
    Mailing,
}

/// Where an email is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmailStatus {
    /// Waiting in the queue (also between retries).
    Queued,
    /// Leased by a worker that is sending it.
    Sending,
    /// Accepted by the SMTP server.
    Sent,
    /// Given up.
    Failed,
    /// Cancelled with its mailing before it was sent.
    Cancelled,
}

impl EmailStatus {
    /// Sent, failed and cancelled are final.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Sent | Self::Failed | Self::Cancelled)
    }
}

/// Everything an email is made of when it is queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EmailSpec {
    /// The account.
    pub account: AccountId,
    /// The mailbox it is sent from.
    pub mailbox: MailboxId,
    /// The user sending it (their signature is used).
    pub sender: UserId,
    /// The CRM entity the email is about, if any.
    pub entity: Option<EntityRef>,
    /// The template it was made from, if any.
    pub template: Option<TemplateId>,
    /// Add every contact of the entity that has an email address to To, at send time.
    pub to_entity_contacts: bool,
    /// Addresses written by hand (or the template's fixed address).
    pub to: Vec<Address>,
    /// Copy.
    pub cc: Vec<Address>,
    /// Hidden copy.
    pub bcc: Vec<Address>,
    /// Subject, body and text part, as templates rendered at send time with live CRM data.
    pub content: Content,
    /// Attachments.
    pub attachments: Vec<AttachmentRef>,
    /// Triggers of the email's events.
    pub triggers: EmailTriggers,
    /// Leave the sender's signature out.
    pub signature_disabled: bool,
    /// The Message-ID header, fixed at enqueue so it is stable across retries.
    pub message_id: String,
    /// Enqueueing the same key twice in one account yields the first email (no duplicate).
    pub idempotency_key: Option<String>,
    /// The mailing it belongs to.
    pub mailing: Option<MailingId>,
    /// Single or mailing traffic.
    pub priority: Priority,
    /// Position inside its mailing; concurrent mailings of one mailbox alternate by it.
    pub seq: i64,
    /// Not sent before this moment.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub not_before: Timestamp,
    /// When it was created.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Send even to addresses on the account's suppression list (a single send the user overrode).
    #[serde(default)]
    pub override_suppression: bool,
}

/// A queued or finished email.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Email {
    /// Our id of the email.
    pub id: EmailId,
    /// Queue state.
    pub status: EmailStatus,
    /// Sending attempts so far.
    pub attempts: u32,
    /// When it may be sent next (for queued emails).
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// When the SMTP server accepted it.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub sent_at: Option<Timestamp>,
    /// The last error, for failed and retried emails.
    pub last_error: Option<String>,
    /// What was queued.
    pub spec: EmailSpec,
}

/// The answer to an enqueue: the email's id, and whether this call created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Enqueued {
    /// The email (the existing one when the idempotency key was seen before).
    pub id: EmailId,
    /// False when an email with the same idempotency key already existed.
    pub created: bool,
}

/// An email leased to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Claimed {
    /// The email, with `attempts` already counting this attempt.
    pub email: Email,
    /// The lease ends then; after it another worker may claim the email.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub lease_until: Timestamp,
}

/// Whether a mailing is sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MailingStatus {
    /// Its emails are sent.
    Running,
    /// Its emails wait; nothing is lost.
    Paused,
    /// Its waiting emails were cancelled.
    Cancelled,
}

/// A mass mailing: one personalised email per selected entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Mailing {
    /// Our id of the mailing.
    pub id: MailingId,
    /// The account.
    pub account: AccountId,
    /// Name shown in the queue.
    pub name: String,
    /// The template every email is made from.
    pub template: TemplateId,
    /// The mailbox it goes from.
    pub mailbox: MailboxId,
    /// The user who started it.
    pub sender: UserId,
    /// Running, paused or cancelled.
    pub status: MailingStatus,
    /// How many entities were selected.
    pub total: u64,
    /// When it was started.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
}

/// Counts of a set of emails by status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct StatusCounts {
    /// Waiting (queued or being sent).
    pub waiting: u64,
    /// Sent.
    pub sent: u64,
    /// Failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl StatusCounts {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.waiting + self.sent + self.failed + self.cancelled
    }
}

/// Selects emails for the queue and history views.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EmailQuery {
    /// The account.
    pub account: AccountId,
    /// Only these statuses (all when empty).
    pub statuses: Vec<EmailStatus>,
    /// Only this mailbox.
    pub mailbox: Option<MailboxId>,
    /// Only this mailing.
    pub mailing: Option<MailingId>,
    /// Only this entity.
    pub entity: Option<EntityRef>,
    /// Only ids greater than this (for paging).
    pub after: Option<EmailId>,
    /// At most this many, in id order.
    pub limit: u32,
}

impl EmailQuery {
    /// Every email of an account, up to `limit`.
    pub fn account(account: AccountId, limit: u32) -> Self {
        Self {
            account,
            statuses: Vec::new(),
            mailbox: None,
            mailing: None,
            entity: None,
            after: None,
            limit,
        }
    }

    /// True when `email` passes every filter but the limit.
    pub fn matches(&self, email: &Email) -> bool {
        email.spec.account == self.account
            && (self.statuses.is_empty() || self.statuses.contains(&email.status))
            && self.mailbox.is_none_or(|m| email.spec.mailbox == m)
            && self.mailing.is_none_or(|m| email.spec.mailing == Some(m))
            && self.entity.is_none_or(|e| email.spec.entity == Some(e))
            && self.after.is_none_or(|a| email.id > a)
    }
}

/// The rate state of one mailbox, as the store keeps it for the claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MailboxState {
    /// The next send may not happen before this.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub next_send_at: Option<Timestamp>,
    /// Sends counted in the current cap window.
    pub sent_in_window: u32,
}
