//! Events (what happened to an email, link, page or form) and timers (what is to happen later).

use serde::{Deserialize, Serialize};

use super::{
    AccountId, EmailId, EntityRef, EventId, FileId, PipelineId, PipelineRuleId, StageId, TimerId, Timestamp, TriggerId,
    TriggerLinkId, WebPageId,
};

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// The email was queued.
    Queued,
    /// The SMTP server accepted the email.
    Sent,
    /// A temporary failure; the email is tried again later.
    Retried {
        /// Why it failed.
        reason: String,
    },
    /// Sending was given up.
    Failed {
        /// Why.
        reason: String,
    },
    /// The copy in the Sent folder could not be made (the email itself went out).
    SentCopyFailed {
        /// Why.
        reason: String,
    },
    /// The open pixel was loaded.
    Opened,
    /// A trigger link was clicked.
    Clicked {
        /// Which link.
        link: TriggerLinkId,
    },
    /// A public web page was opened.
    PageOpened {
        /// Which page.
        page: WebPageId,
    },
    /// The recipient followed the unsubscribe link (or a mail client's one-click unsubscribe).
    Unsubscribed,
    /// A form in an email was submitted.
    FormSubmitted {
        /// The answers, as submitted (field name, value).
        fields: Vec<(String, String)>,
    },
    /// A trigger ran its action.
    TriggerFired {
        /// Which trigger.
        trigger: TriggerId,
    },
    /// A trigger's action failed.
    TriggerFailed {
        /// Which trigger.
        trigger: TriggerId,
        /// Why.
        reason: String,
    },
    /// A recipient was left out because the address is on the account's suppression list.
    Suppressed {
        /// The address (lowercase).
        address: String,
    },
    /// An automatic send was not made (loop budget spent, recipient unsubscribed …).
    SendSkipped {
        /// Why.
        reason: String,
    },
    /// A permanent delivery failure (5.x.x) came back to the mailbox after the email was sent: the email
    /// ended failed and the address was suppressed.
    Bounced {
        /// The address that failed, when the notification names it (lowercase).
        recipient: Option<String>,
        /// The enhanced status code (`5.1.1`), when given.
        status: Option<String>,
        /// The remote server's diagnostic, as reported.
        diagnostic: String,
    },
    /// A temporary delivery failure (4.x.x, a delay) came back to the mailbox: recorded and counted only.
    SoftBounced {
        /// The address that failed, when the notification names it (lowercase).
        recipient: Option<String>,
        /// The enhanced status code (`4.2.2`), when given.
        status: Option<String>,
        /// The remote server's diagnostic, as reported.
        diagnostic: String,
    },
    /// A person answered the email.
    Replied {
        /// The Message-ID of the answer.
        message_id: Option<String>,
        /// Its sender's address (lowercase).
        from: Option<String>,
    },
    /// An automatic answer came (out of office, RFC 3834 `Auto-Submitted`): recorded, fires nothing.
    AutoReplied {
        /// The Message-ID of the answer.
        message_id: Option<String>,
        /// Its sender's address (lowercase).
        from: Option<String>,
    },
}

impl EventKind {
    /// The `event` tag the kind is stored under (`bounced`, `replied` …), as stores filter on it.
    pub fn tag(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Retried { .. } => "retried",
            Self::Failed { .. } => "failed",
            Self::SentCopyFailed { .. } => "sent_copy_failed",
            Self::Opened => "opened",
            Self::Clicked { .. } => "clicked",
            Self::PageOpened { .. } => "page_opened",
            Self::Unsubscribed => "unsubscribed",
            Self::FormSubmitted { .. } => "form_submitted",
            Self::TriggerFired { .. } => "trigger_fired",
            Self::TriggerFailed { .. } => "trigger_failed",
            Self::Suppressed { .. } => "suppressed",
            Self::SendSkipped { .. } => "send_skipped",
            Self::Bounced { .. } => "bounced",
            Self::SoftBounced { .. } => "soft_bounced",
            Self::Replied { .. } => "replied",
            Self::AutoReplied { .. } => "auto_replied",
        }
    }
}

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewEvent {
    /// The account.
    pub account: AccountId,
    /// The email it is about, if any.
    pub email: Option<EmailId>,
    /// The CRM entity it is about, if any.
    pub entity: Option<EntityRef>,
    /// When it happened.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    #[serde(with = "crate::model::time::rfc3339")]
    pub at: Timestamp,
    /// What happened.
    pub kind: EventKind,
    /// It looked automated (a link scanner, an image proxy, too soon after sending): recorded, fires nothing.
    pub automated: bool,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Event {
    /// Our id of the event; ids grow in the order events were recorded.
    pub id: EventId,
    /// The event.
    pub event: NewEvent,
}

/// Selects events for the history view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EventQuery {
    /// The account.
    pub account: AccountId,
    /// Only events of this email.
    pub email: Option<EmailId>,
    /// Only events of this entity.
    pub entity: Option<EntityRef>,
    /// Only events at or after this moment.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>, format = DateTime))]
    pub since: Option<Timestamp>,
    /// At most this many, oldest first.
    pub limit: u32,
}

/// What a timer does when it comes due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "timer", rename_all = "snake_case")]
pub enum TimerAction {
    /// The email was not opened in time: run its not-opened triggers.
    NotOpened {
        /// The email.
        email: EmailId,
    },
    /// Run one trigger's action (it was delayed).
    RunTrigger {
        /// The trigger.
        trigger: TriggerId,
        /// The email whose event fired it, if any.
        email: Option<EmailId>,
        /// The entity it acts on.
        entity: EntityRef,
    },
    /// Try again to put a copy of a sent email in the mailbox's Sent folder.
    SentCopy {
        /// The email.
        email: EmailId,
        /// The stored file holding the message exactly as it was sent (`message/rfc822`); `None` only in
        /// timers written before the bytes were kept, which then cannot be retried.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file: Option<FileId>,
    },
    /// Handle a stage event that arrived by a CRM hook: kept as a timer due at once, so a crash after the
    /// hook was answered loses nothing, and keyed by the CRM event's id, so a redelivery replaces it.
    StageEvent {
        /// The CRM event's own id.
        event: String,
        /// The lead.
        lead: EntityRef,
        /// Its pipeline.
        pipeline: PipelineId,
        /// Its new stage.
        stage: StageId,
        /// Created in the stage (else moved into it, unless `change` says otherwise).
        created: bool,
        /// What happened; absent in timers written before other changes than created and moved were
        /// kept, which then follow `created`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        change: Option<super::StageChange>,
    },
    /// Write a form submission to the CRM (again): it is stored as this timer before the first write and
    /// stays until a write reaches the CRM, so no answer is lost while the CRM is down.
    FormWrite {
        /// The email the form was in (`None` for a form on a web page).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<EmailId>,
        /// The entity the answers are written to.
        entity: EntityRef,
        /// The answers kept (field name, value), already filtered and size-checked.
        answers: Vec<(String, String)>,
        /// The attempt this timer makes (1 for the first retry).
        attempt: u32,
    },
    /// Send a pipeline rule's template to a lead (the rule had a delay).
    PipelineSend {
        /// The rule.
        rule: PipelineRuleId,
        /// The lead.
        lead: EntityRef,
        /// The CRM event that started it (the email is sent once per rule and event).
        #[serde(default)]
        event: String,
    },
}

/// A timer to schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewTimer {
    /// The account.
    pub account: AccountId,
    /// Unique per account; scheduling a key again replaces the timer, and cancelling uses it.
    pub key: String,
    /// When it comes due.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub due_at: Timestamp,
    /// What it does.
    pub action: TimerAction,
}

/// A scheduled timer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Timer {
    /// Our id of the timer.
    pub id: TimerId,
    /// The timer.
    pub timer: NewTimer,
}
