//! The pure domain of `mailer`: the model, the ports (traits) for storage, transport, CRM, clock and
//! downloads, and, with the `testkit` feature, in-memory doubles and the conformance suites every
//! backend must pass.
//!
//! This crate opens no sockets or files, reads no environment and never asks the system for the time:
//! everything outside comes in through [`ports`], and time through [`ports::Clock`] or arguments.
//!
//! # Example
//! ```
//! use mailer_core::model::{Address, EntityRef};
//!
//! let to = Address::parse("Anna Smith <anna@example.com>")?;
//! assert_eq!(to.email, "anna@example.com");
//! assert_eq!(EntityRef::lead(42).id.0, 42);
//! # Ok::<(), mailer_core::error::ValidationError>(())
//! ```
//!
//! # Feature flags
//! | feature | default | what it adds |
//! |---|---|---|
//! | `testkit` | no | [`testkit`]: `MemoryStore`, `CaptureTransport`, `ScriptCrm`, `ManualClock`, mockall mocks of every port, and the conformance suites |
//!
//! # Layout
//! - [`model`]: ids, accounts, users, mailboxes, templates, emails, mailings, triggers, links, pages,
//!   pipeline rules, events, timers.
//! - [`ports`]: `Store`, `Transport`, `Crm`, `Clock`, `Fetcher` and their errors.
//! - [`error`]: shared small errors.
//! - [`testkit`]: doubles and conformance suites (feature `testkit`).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod engine;
pub mod error;
pub mod loops;
pub mod model;
pub mod ports;
pub mod queue;
pub mod template;
pub mod trigger;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
