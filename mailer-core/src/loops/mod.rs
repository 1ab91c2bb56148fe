//! Loop safety: the template → event → trigger → send-email → template graph, the save-time check that
//! refuses chains able to repeat without the recipient, and the run-time budget for the chains that need
//! the recipient.
//!
//! # The graph
//! An edge goes from template `A` to template `B` when an event of an email made from `A` runs a trigger
//! that sends `B`: directly ("send email"), or by moving the lead into a stage (or creating a lead in one)
//! whose pipeline rule sends `B`. The events are the template's own (sent, opened, not opened, failed),
//! the clicks of the trigger links in its content (`{triggerlink:N}`), and the openings and link clicks of
//! the web pages it leads to (`{web:N}` in its content or in a field its triggers write).
//!
//! Sent, failed and not-opened edges happen **without the recipient**; a cycle made only of them repeats
//! forever for a recipient who never reads (the manual's "About automation"), so [`check`] refuses it with
//! the cycle spelled out. Cycles through an open or a click need the recipient each round; they are
//! allowed and capped at run time by [`Budget`].
//!
//! # Example
//! ```
//! use std::time::Duration;
//!
//! use mailer_core::loops::{self, Automation};
//! use mailer_core::model::*;
//!
//! let resend = Trigger {
//!     id: TriggerId(2),
//!     account: AccountId(1),
//!     name: "Resend".into(),
//!     action: Action::SendEmail { template: TemplateId(1) },
//!     delay: Duration::ZERO,
//! };
//! let offer = Template {
//!     id: TemplateId(1),
//!     account: AccountId(1),
//!     name: "Offer".into(),
//!     recipients: RecipientRule::EntityContacts,
//!     content: Content { subject: "Offer".into(), body: Body::Html("<p>Hi</p>".into()), text: None },
//!     attachments: vec![],
//!     triggers: EmailTriggers {
//!         not_opened: Some(NotOpened { after: Duration::from_secs(24 * 3600), triggers: vec![TriggerId(2)] }),
//!         ..EmailTriggers::default()
//!     },
//!     owner: UserId(1),
//!     public: true,
//!     signature_disabled: false,
//! };
//! let templates = [offer];
//! let triggers = [resend];
//! let err = loops::check(&Automation { templates: &templates, triggers: &triggers, ..Automation::default() })
//!     .unwrap_err();
//! assert!(err.to_string().ends_with("Offer --not opened 24h--> Resend --send email--> Offer"));
//! ```

mod budget;
mod check;

pub use budget::{AutoSend, Budget, BudgetDecision, Chain, OverBudget};
pub use check::{Automation, Cycle, CycleStep, Edge, Graph, Hop, LoopError, Via, check};
