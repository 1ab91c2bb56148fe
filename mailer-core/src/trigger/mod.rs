//! Triggers: the launch rules of the widget, automated-click detection and the actions they run.
//!
//! Three pure steps, which the engine runs over the ports:
//! 1. [`classify`] an open, click or page view: an automated one is recorded and goes no further.
//! 2. [`launch`] an occurrence: which triggers run and when, which timers to set or cancel. Rules that
//!    fire once are kept by the store: mark [`once_key`] with `Store::mark_once` and pass
//!    [`Fired::from_mark_once`].
//! 3. [`resolve`] each trigger's action when it runs: a [`CrmAction`](crate::model::CrmAction) for
//!    `Crm::apply`, or a template to send (after the [`loops`](crate::loops) budget check).
//!
//! # Example
//! ```
//! use std::time::Duration;
//!
//! use mailer_core::model::{
//!     AccountId, Action, EmailId, EmailTriggers, EntityRef, NotOpened, PipelineId, StageId, TemplateId,
//!     Timezone, Trigger, TriggerId,
//! };
//! use mailer_core::trigger::{self, ActionContext, Fired, Occurrence, Resolved, Targets};
//!
//! let at = chrono::DateTime::parse_from_rfc3339("2024-05-01T09:00:00Z")?.to_utc();
//! let triggers = [
//!     Trigger {
//!         id: TriggerId(1),
//!         account: AccountId(1),
//!         name: "Change stage to Offer sent".into(),
//!         action: Action::ChangeStage { pipeline: PipelineId(10), stage: StageId(20) },
//!         delay: Duration::ZERO,
//!     },
//!     Trigger {
//!         id: TriggerId(2),
//!         account: AccountId(1),
//!         name: "Resend email".into(),
//!         action: Action::SendEmail { template: TemplateId(7) },
//!         delay: Duration::ZERO,
//!     },
//! ];
//! let on = EmailTriggers {
//!     on_sent: vec![TriggerId(1)],
//!     not_opened: Some(NotOpened { after: Duration::from_secs(24 * 3600), triggers: vec![TriggerId(2)] }),
//!     ..EmailTriggers::default()
//! };
//! let sent = Occurrence::Sent { email: EmailId(5), triggers: &on };
//! let launch = trigger::launch(AccountId(1), &sent, at, Fired::NOTHING, &triggers)?;
//! assert_eq!(launch.run[0].trigger, TriggerId(1));
//! assert_eq!(launch.set_timer.map(|t| t.due_at), Some(at + chrono::Duration::hours(24)));
//!
//! let ctx = ActionContext { targets: Targets::of(EntityRef::lead(42)), fields: &[], timezone: Timezone::UTC, now: at };
//! let done = trigger::resolve(&triggers[0].action, &ctx, |s: &str| Ok::<_, std::convert::Infallible>(s.to_owned()))?;
//! assert!(matches!(done, Resolved::Crm(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod action;
mod automated;
mod launch;

pub use action::{ActionContext, ActionError, RESET, Resolved, TODAY, Targets, end_of_day, field_value, resolve};
pub use automated::{
    AgentScope, AutomatedReason, AutomatedRules, Hit, HitKind, KNOWN_AGENTS, KnownAgent, Verdict, classify,
};
pub(crate) use automated::{agent_reason, classify_with_agent};
pub use launch::{
    Fired, Launch, MIN_DELAY, MIN_NOT_OPENED, Occurrence, Scheduled, TriggerError, after, launch, once_key,
    once_key_link, once_key_opened, once_key_page, timer_key_not_opened, validate_email_triggers, validate_trigger,
};
