//! `mailer-http`: the sample host (axum): tracking, pages, forms, webhooks, the admin API and the worker loop.
//!
//! This crate is a placeholder in the workspace layout: its implementation is the subject of its own issue
//! and nothing here is usable yet. Everything it will implement is specified by the ports in
//! [`mailer_core::ports`] and checked by the conformance suites in `mailer_core::testkit`.
//!
//! # Example
//! ```
//! // The port this crate implements:
//! use mailer_core::ports;
//! # let _ = std::any::type_name::<dyn ports::Store>();
//! ```

pub use mailer_core;
