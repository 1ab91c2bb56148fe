//! The pure domain of `mailer`: the model, the ports (traits) for storage, transport, CRM, clock and
//! downloads, and, with the `testkit` feature, in-memory doubles and the conformance suites every
//! backend must pass.
//!
//! This crate opens no sockets or files, reads no environment and never asks the system for the time:
//! everything outside comes in through [`ports`], and time through [`ports::Clock`] or arguments.
//!
//! # Example
//! The engine over the in-memory doubles (`testkit`): a single email rendered from CRM data and sent.
//! ```
//! # #[cfg(feature = "testkit")]
//! # mailer_core::testkit::block_on(async {
//! use mailer_core::engine::{Draft, Outcome};
//! use mailer_core::model::{Body, Content};
//! use mailer_core::testkit::Harness;
//!
//! let h = Harness::new().await; // an account, an admin with a mailbox, and a seeded CRM
//! let draft = Draft {
//!     account: h.account.id,
//!     sender: h.admin.id,
//!     mailbox: h.mailbox.id,
//!     entity: Some(h.world.lead),
//!     to_entity_contacts: Some(true),
//!     content: Some(Content {
//!         subject: "Offer for {{ lead.name }}".into(),
//!         body: Body::Html("<p>Hello {{ contact.name }}</p>".into()),
//!         text: None,
//!     }),
//!     ..Draft::default()
//! };
//! let report = h.engine.send_single(&draft).await?;
//! assert_eq!(report.outcome, Some(Outcome::Sent));
//! let sent = h.transport.sent();
//! assert_eq!(sent[0].message.subject, "Offer for Offer for Acme");
//! assert!(sent[0].message.html.contains("Hello Anna Smith"));
//! # Ok::<(), mailer_core::engine::EngineError>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//! | feature | default | what it adds |
//! |---|---|---|
//! | `testkit` | no | [`testkit`]: `MemoryStore`, `CaptureTransport`, `ScriptCrm`, `ManualClock`, `Harness`, mockall mocks of every port, and the conformance suites |
//!
//! # Layout
//! - [`model`]: ids, accounts, users, mailboxes, templates, emails, mailings, triggers, links, pages,
//!   pipeline rules, events, timers.
//! - [`template`]: Liquid plus the widget's `{tokens}`, compiled once, rendered HTML-safe; signed tracking links.
//! - [`trigger`]: the launch rules, the automated-hit classifier, action resolution.
//! - [`loops`]: the template → trigger → template graph check and the run-time budget.
//! - [`queue`]: spacing, caps, provider presets, retries — pure.
//! - [`engine`]: the use cases over the ports; [`engine::admin`] is how a host writes every record
//!   (rights, validation, references, the loop check).
//! - [`worker`]: the worker loop every host runs (timers and worker steps), over the host's sleep.
//! - [`inbox`]: what comes back to a mailbox (bounces of every common form, auto-replies, replies),
//!   classified by one pure function over the message's bytes.
//! - [`ports`]: `Store`, `Transport`, `Crm`, `Clock`, `Fetcher`, `Inbox` and their errors.
//! - [`error`]: shared small errors.
//! - [`form_names`]: the one parser of bracketed form names (`lead[657261]`, `field[Name]`).
//! - [`testkit`]: doubles and conformance suites (feature `testkit`).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod engine;
pub mod error;
pub mod form_names;
pub mod inbox;
pub mod loops;
pub mod model;
pub mod ports;
pub mod queue;
pub mod template;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
pub mod trigger;
pub mod worker;
