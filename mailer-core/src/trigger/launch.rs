//! The launch rules: which triggers an occurrence fires, when they run, and which timers it sets or cancels.

use std::time::Duration;

use crate::model::{
    AccountId, EmailId, EmailTriggers, EntityRef, NewTimer, TimerAction, Timestamp, Trigger, TriggerId, TriggerLink,
    WebPage, WebPageId,
};

/// The shortest not-opened timer the manual allows.
pub const MIN_NOT_OPENED: Duration = Duration::from_secs(60);

/// The shortest non-zero trigger delay the manual allows.
pub const MIN_DELAY: Duration = Duration::from_secs(1);

/// Something that happened and may fire triggers, with the configuration that says which.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Occurrence<'a> {
    /// The SMTP server accepted the email: its `on_sent` triggers run and its not-opened timer starts.
    Sent {
        /// The email.
        email: EmailId,
        /// The email's triggers.
        triggers: &'a EmailTriggers,
    },
    /// A human opened the email: its `on_opened` triggers run once per email, and the not-opened timer stops.
    Opened {
        /// The email.
        email: EmailId,
        /// The email's triggers.
        triggers: &'a EmailTriggers,
    },
    /// The not-opened timer of the email came due.
    NotOpened {
        /// The email.
        email: EmailId,
        /// The email's triggers.
        triggers: &'a EmailTriggers,
    },
    /// Sending was given up.
    Failed {
        /// The email.
        email: EmailId,
        /// The email's triggers.
        triggers: &'a EmailTriggers,
        /// Why it failed (kept for the history; it changes nothing here).
        reason: &'a str,
    },
    /// A person replied to the email (auto-replies never come here): its `on_replied` triggers run and the
    /// not-opened timer stops.
    Replied {
        /// The email.
        email: EmailId,
        /// The email's triggers.
        triggers: &'a EmailTriggers,
    },
    /// A human clicked a trigger link, in an email or on a web page.
    LinkClicked {
        /// The link.
        link: &'a TriggerLink,
        /// The entity the link was made for.
        entity: EntityRef,
    },
    /// A human opened a public web page: its `on_open` triggers run once per page and entity.
    PageOpened {
        /// The page.
        page: &'a WebPage,
        /// The entity the page was made for.
        entity: EntityRef,
    },
    /// A form was submitted. Forms have no triggers of their own (the note with the answers is the form
    /// feature's), so this fires nothing; it is here so every event goes through one function.
    FormSubmitted {
        /// The email the form was in, if any.
        email: Option<EmailId>,
    },
}

/// What has already fired, as the engine learns it from the store.
///
/// For [`Occurrence::Opened`], [`Occurrence::LinkClicked`] on a one-time link and [`Occurrence::PageOpened`],
/// [`once_key`] names a key; `Store::mark_once` on it answers true the first time, and
/// [`Fired::from_mark_once`] turns that answer into this value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fired {
    /// A human open of this email was recorded before this occurrence. For [`Occurrence::NotOpened`] the
    /// engine answers it from the email's events (the timer is normally cancelled by the open, this covers
    /// a timer that was already claimed when the open came).
    pub already_opened: bool,
    /// A one-time link, or a page's open triggers, already fired for this entity.
    pub already_fired_for_entity: bool,
}

impl Fired {
    /// Nothing has fired yet.
    pub const NOTHING: Self = Self {
        already_opened: false,
        already_fired_for_entity: false,
    };

    /// The state for `occurrence`, given what `Store::mark_once(once_key(occurrence))` answered (`first`:
    /// true when this call was the first to mark the key). Occurrences without a once key ignore `first`.
    pub fn from_mark_once(occurrence: &Occurrence<'_>, first: bool) -> Self {
        match occurrence {
            Occurrence::Opened { .. } => Self {
                already_opened: !first,
                already_fired_for_entity: false,
            },
            Occurrence::LinkClicked { link, .. } if link.once => Self {
                already_opened: false,
                already_fired_for_entity: !first,
            },
            Occurrence::PageOpened { .. } => Self {
                already_opened: false,
                already_fired_for_entity: !first,
            },
            _ => Self::NOTHING,
        }
    }
}

/// The once key of an email's first open.
pub fn once_key_opened(email: EmailId) -> String {
    format!("opened:{email}")
}

/// The once key of a one-time link for an entity (the first click of any of its contacts).
pub fn once_key_link(link: &TriggerLink, entity: EntityRef) -> String {
    format!("link:{}:{}", link.id, entity_key(entity))
}

/// The once key of a page's open triggers for an entity.
pub fn once_key_page(page: WebPageId, entity: EntityRef) -> String {
    format!("page:{page}:{}", entity_key(entity))
}

/// The key an occurrence must mark once before it fires, if it fires only once.
pub fn once_key(occurrence: &Occurrence<'_>) -> Option<String> {
    match occurrence {
        Occurrence::Opened { email, .. } => Some(once_key_opened(*email)),
        Occurrence::LinkClicked { link, entity } if link.once => Some(once_key_link(link, *entity)),
        Occurrence::PageOpened { page, entity } => Some(once_key_page(page.id, *entity)),
        _ => None,
    }
}

/// The key of an email's not-opened timer (set on send, cancelled by an open).
pub fn timer_key_not_opened(email: EmailId) -> String {
    format!("not-opened:{email}")
}

fn entity_key(entity: EntityRef) -> String {
    let kind = match entity.kind {
        crate::model::EntityKind::Lead => "lead",
        crate::model::EntityKind::Contact => "contact",
        crate::model::EntityKind::Company => "company",
    };
    format!("{kind}:{}", entity.id)
}

/// One trigger to run, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheduled {
    /// The trigger.
    pub trigger: TriggerId,
    /// The moment of the occurrence plus the trigger's delay.
    pub run_at: Timestamp,
    /// Its place in the configured list; triggers due at the same moment run in this order.
    pub position: usize,
}

/// What an occurrence asks for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Launch {
    /// Triggers to run, by run time, ties in configured order. Those whose `run_at` is the occurrence's
    /// moment run now; the others wait on a timer.
    pub run: Vec<Scheduled>,
    /// Triggers the configuration names but `triggers` did not hold (deleted): nothing runs for them.
    pub missing: Vec<TriggerId>,
    /// A timer to schedule (the not-opened timer of a sent email).
    pub set_timer: Option<NewTimer>,
    /// The key of a timer to cancel (the not-opened timer of an opened email).
    pub cancel_timer: Option<String>,
}

impl Launch {
    /// True when the occurrence asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.run.is_empty() && self.missing.is_empty() && self.set_timer.is_none() && self.cancel_timer.is_none()
    }
}

/// A trigger configuration the manual does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// A delay between zero and one second.
    #[error("trigger {trigger} has a delay of {delay:?}: a delay is zero or 1 second at least")]
    DelayTooShort {
        /// The trigger.
        trigger: TriggerId,
        /// Its delay.
        delay: Duration,
    },
    /// A not-opened timer under one minute.
    #[error("a not-opened timer of {after:?} is too short: 1 minute at least")]
    NotOpenedTooShort {
        /// The timer.
        after: Duration,
    },
    /// A delay or timer so long the moment cannot be represented.
    #[error("a wait of {wait:?} goes past the last representable moment")]
    TooFarAhead {
        /// The wait.
        wait: Duration,
    },
}

/// Checks a trigger's delay: zero, or 1 second up (no upper bound).
///
/// # Errors
/// [`TriggerError::DelayTooShort`] for a delay between zero and one second.
pub fn validate_trigger(trigger: &Trigger) -> Result<(), TriggerError> {
    if !trigger.delay.is_zero() && trigger.delay < MIN_DELAY {
        return Err(TriggerError::DelayTooShort {
            trigger: trigger.id,
            delay: trigger.delay,
        });
    }
    Ok(())
}

/// Checks an email's or template's triggers: the not-opened timer is 1 minute at least.
///
/// # Errors
/// [`TriggerError::NotOpenedTooShort`] for a shorter timer.
pub fn validate_email_triggers(triggers: &EmailTriggers) -> Result<(), TriggerError> {
    match &triggers.not_opened {
        Some(n) if n.after < MIN_NOT_OPENED => Err(TriggerError::NotOpenedTooShort { after: n.after }),
        _ => Ok(()),
    }
}

/// `at + wait`, or an error when it cannot be represented.
///
/// # Errors
/// [`TriggerError::TooFarAhead`] when the sum overflows.
pub fn after(at: Timestamp, wait: Duration) -> Result<Timestamp, TriggerError> {
    chrono::Duration::from_std(wait)
        .ok()
        .and_then(|d| at.checked_add_signed(d))
        .ok_or(TriggerError::TooFarAhead { wait })
}

/// The launch rules of the manual, as a pure function.
///
/// | occurrence | fires | timers |
/// |---|---|---|
/// | sent | `on_sent`, every time | sets the not-opened timer (`after` ≥ 1 minute) |
/// | opened | `on_opened`, once per email (any of its contacts, first human open) | cancels the not-opened timer |
/// | not opened | the timer's triggers, unless the email was opened meanwhile | — |
/// | failed | `on_failed` | — |
/// | replied | `on_replied`, every reply | cancels the not-opened timer |
/// | link clicked | the link's triggers: every click, or once per entity for a one-time link | — |
/// | page opened | the page's `on_open` triggers, once per page and entity | — |
/// | form submitted | nothing (forms have no triggers) | — |
///
/// Each trigger runs at `at` plus its delay; triggers are returned by run time, ties in configured order.
/// Automated opens and clicks (see [`classify`](super::classify)) must not come here at all.
/// `triggers` is the account's triggers (any order); ids it does not hold are returned in
/// [`Launch::missing`].
///
/// # Errors
/// [`TriggerError`] when a trigger's delay or the not-opened timer breaks the manual's bounds, or a run
/// time overflows.
pub fn launch(
    account: AccountId,
    occurrence: &Occurrence<'_>,
    at: Timestamp,
    fired: Fired,
    triggers: &[Trigger],
) -> Result<Launch, TriggerError> {
    let mut out = Launch::default();
    let ids: &[TriggerId] = match occurrence {
        Occurrence::Sent { email, triggers: t } => {
            validate_email_triggers(t)?;
            if let Some(n) = &t.not_opened {
                out.set_timer = Some(NewTimer {
                    account,
                    key: timer_key_not_opened(*email),
                    due_at: after(at, n.after)?,
                    action: TimerAction::NotOpened { email: *email },
                });
            }
            &t.on_sent
        }
        Occurrence::Opened { email, triggers: t } => {
            out.cancel_timer = Some(timer_key_not_opened(*email));
            if fired.already_opened { &[] } else { &t.on_opened }
        }
        Occurrence::NotOpened { triggers: t, .. } => match &t.not_opened {
            Some(n) if !fired.already_opened => &n.triggers,
            _ => &[],
        },
        Occurrence::Failed { triggers: t, .. } => &t.on_failed,
        Occurrence::Replied { email, triggers: t } => {
            out.cancel_timer = Some(timer_key_not_opened(*email));
            &t.on_replied
        }
        Occurrence::LinkClicked { link, .. } => {
            if link.once && fired.already_fired_for_entity {
                &[]
            } else {
                &link.triggers
            }
        }
        Occurrence::PageOpened { page, .. } => {
            if fired.already_fired_for_entity {
                &[]
            } else {
                &page.on_open
            }
        }
        Occurrence::FormSubmitted { .. } => &[],
    };
    for (position, id) in ids.iter().enumerate() {
        let Some(trigger) = triggers.iter().find(|t| t.id == *id) else {
            out.missing.push(*id);
            continue;
        };
        validate_trigger(trigger)?;
        out.run.push(Scheduled {
            trigger: *id,
            run_at: after(at, trigger.delay)?,
            position,
        });
    }
    // Stable: ties keep the configured order.
    out.run.sort_by_key(|s| s.run_at);
    Ok(out)
}
