//! `mailer`: email automation for CRMs, as a library — templates with CRM variables, queued mailings
//! sent evenly per mailbox, triggers on sent / opened / not opened / failed / link clicks, tracking,
//! public pages and forms, with Kommo as the first CRM.
//!
//! This facade re-exports [`mailer_core`] (the model, the ports and, with `testkit`, the doubles) and,
//! behind features, the backends.
//!
//! # Example
//! ```
//! use mailer::model::{NewAccount, Timezone};
//! use mailer::ports::{Store, StoreExt};
//! use mailer::testkit::{fixture, MemoryStore};
//!
//! # mailer::testkit::block_on(async {
//! let store = MemoryStore::new();
//! let account = store
//!     .create_account(NewAccount { name: "acme".into(), timezone: Timezone::UTC, signing_key_ref: "k1".into() })
//!     .await?;
//! let user = store.insert(fixture::sample_user(account.id)).await?;
//! let template = store.insert(fixture::sample_template(account.id, user.id)).await?;
//! assert_eq!(store.list::<mailer::model::Template>(account.id).await?, vec![template]);
//! # Ok::<(), mailer::ports::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//! | feature | default | what it adds |
//! |---|---|---|
//! | `smtp` | no | [`smtp`]: the SMTP/IMAP transport (`mailer-smtp`) |
//! | `sql` | no | [`store`]: the SQL store with SQLite (`mailer-store-sql`) |
//! | `postgres` | no | [`store`] with PostgreSQL |
//! | `kommo` | no | [`kommo`]: the Kommo CRM adapter (`mailer-kommo`) |
//! | `http` | no | [`http`]: the sample host (`mailer-http`) |
//! | `testkit` | no | [`testkit`]: in-memory doubles, mocks and conformance suites; with `kommo`, also the fake Kommo (`kommo::fake`) |
#![cfg_attr(docsrs, feature(doc_cfg))]

/// The README's code blocks, compiled and run as doctests.
#[cfg(all(doctest, feature = "sql", feature = "smtp", feature = "http", feature = "testkit"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod worker;

pub use mailer_core::ports::SystemClock;
pub use mailer_core::*;
#[cfg(feature = "http")]
#[cfg_attr(docsrs, doc(cfg(feature = "http")))]
pub use mailer_http as http;
#[cfg(feature = "kommo")]
#[cfg_attr(docsrs, doc(cfg(feature = "kommo")))]
pub use mailer_kommo as kommo;
#[cfg(feature = "smtp")]
#[cfg_attr(docsrs, doc(cfg(feature = "smtp")))]
pub use mailer_smtp as smtp;
#[cfg(any(feature = "sql", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sql", feature = "postgres"))))]
pub use mailer_store_sql as store;
