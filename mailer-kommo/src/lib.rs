//! `mailer-kommo`: the Kommo CRM adapter for mailer — a Kommo API v4 client, the [`Crm`](mailer_core::ports::Crm) port over it,
//! parsers for what Kommo posts to us (webhooks, digital-pipeline hooks, Salesbot requests) and, with the
//! `fake` feature, an in-process fake Kommo to test against.
//!
//! - [`KommoClient`]: one account's client. OAuth2 (code exchange; refresh with rotation, one refresh at a
//!   time however many requests need it, the previous refresh token kept as a fallback until the new one
//!   has worked; pairs kept in a [`TokenStore`]; a refused refresh token first re-reads the store for a
//!   pair another process bought, then is [`KommoError::RefreshRefused`]) or a long-lived token; at most 7
//!   requests per second; 429 → wait `retry_after` and retry; 401 → refresh and retry, then
//!   [`KommoError::Unauthorized`] once a pair this client bought itself is refused (a pair taken from
//!   another process may be dead already, so it is refreshed again, at most 3 rounds); 403 →
//!   [`KommoError::Blocked`]; 5xx → back off and retry; 204 → empty; lists read 250 to a page until a short
//!   page or a 204.
//! - [`KommoCrm`]: [`Crm`](mailer_core::ports::Crm) for many accounts, one client each: entities with custom fields, tags, linked
//!   contacts (fetched in batches), company, first lead and responsible user; field definitions cached per
//!   account; every [`CrmAction`](mailer_core::model::CrmAction) as its API call (enum ids for lists, the
//!   whole selection re-sent for multilists, dates as the account's local midnight, `null` to clear).
//! - The [`hooks`] module: [`parse_account_webhook`](hooks::parse_account_webhook),
//!   [`parse_dp_hook`](hooks::parse_dp_hook) and [`parse_widget_request`](hooks::parse_widget_request) (its
//!   JWT checked against the integration secret), [`verify_disable_hook`](hooks::verify_disable_hook) (the
//!   access-revoked hook's HMAC, compared in constant time), and the stage events hooks mean to the engine
//!   ([`DpHook::pipeline_event`](hooks::DpHook::pipeline_event),
//!   [`AccountWebhook::pipeline_events`](hooks::AccountWebhook::pipeline_events)). They never panic; bad input is a [`hooks::HookError`].
//! - `fake` (feature): `FakeKommo`, an axum app over in-memory state that answers as Kommo does (HAL,
//!   204 on empty, problem JSON with `validation-errors`, 429 above 7 requests per second, token expiry
//!   and rotation, HTML error pages on request), with a seeding API and `seed_world` for the CRM
//!   conformance suite.
//!
//! # Example
//! Reading a lead from a (fake) Kommo account:
//! ```
//! use std::sync::Arc;
//! use mailer_core::model::AccountId;
//! use mailer_core::ports::Crm;
//! use mailer_kommo::fake::FakeKommo;
//! use mailer_kommo::{KommoClient, KommoCrm, MemoryTokenStore};
//!
//! # mailer_core::testkit::block_on(async {
//! let kommo = FakeKommo::start().await?;              // https://{subdomain}.kommo.com in production
//! let account = AccountId(1);
//! let world = kommo.seed_world(account);
//! let store = Arc::new(MemoryTokenStore::with(account, kommo.issue_tokens()));
//! let client = KommoClient::builder(kommo.base_url())
//!     .oauth(kommo.app(), store, account)
//!     .build()?;
//! let crm = KommoCrm::new();
//! crm.add_account(account, client);
//! let lead = crm.entity(account, world.lead).await?;
//! assert_eq!(lead.entity.name, "Offer for Acme");
//! assert_eq!(lead.contacts.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//! | feature | default | what it adds |
//! |---|---|---|
//! | `fake` | no | `fake`: the in-process fake Kommo (axum) and its seeding API; turns on `mailer-core/testkit` |
#![cfg_attr(docsrs, feature(doc_cfg))]

mod api;
mod client;
mod crm;
mod error;
#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;
pub mod hooks;

pub use api::account::AccountInfo;
pub use client::{
    Answer, CallObserver, Credentials, DEFAULT_REQUESTS_PER_SECOND, KommoBuilder, KommoClient, MemoryTokenStore,
    OAuthApp, RefreshLease, RetryPolicy, TokenPair, TokenStore,
};
pub use crm::KommoCrm;
pub use error::{BoxError, KommoError, Violation};
pub use mailer_core;
