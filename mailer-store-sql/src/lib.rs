//! `mailer-store-sql`: the [`Store`](mailer_core::ports::Store) of mailer on SQL databases — SQLite as the
//! embedded default, PostgreSQL for many worker processes on one database.
//!
//! - **The database is the queue.** A claim is one transaction: it picks the best due email of every
//!   mailbox whose spacing and caps allow a send, leases it to the worker until a deadline, records the
//!   send and moves the mailbox's next free moment. So spacing and daily caps hold across every process
//!   sharing the database. PostgreSQL claims with `FOR UPDATE SKIP LOCKED`; SQLite (WAL, busy timeout)
//!   takes its write lock up front with `BEGIN IMMEDIATE`. An expired lease gives the email back.
//! - **Batched writes** where volume is: a mailing is enqueued in multi-row statements (idempotency keys
//!   are unique per account), events are appended in batches. On SQLite, the sent emails of concurrent
//!   sends share one transaction (group commit): each caller still returns only once its own row and events
//!   are committed, with its own answer.
//! - **Records** (users, mailboxes, templates, …) are JSON; the columns the queue needs (mailbox limits,
//!   mailing status) are mirrored next to them.
//! - **Secrets** (the mailbox `password`, OAuth `access_token` / `refresh_token` / `client_secret` fields
//!   of any record) are sealed with XChaCha20-Poly1305 under a [`SecretKey`] from configuration and never
//!   stored in clear. Connecting with another key fails with [`Error::WrongKey`].
//! - Migrations for each dialect are embedded and applied at connect; the SQL of every operation lives in
//!   `queries/<dialect>/<op>.sql`, with the same operation names for both dialects. Times are stored as
//!   microseconds since the Unix epoch.
//!
//! # Example
//! ```
//! use mailer_core::model::{NewAccount, Timezone};
//! use mailer_core::ports::Store;
//! use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = SqlConfig::new("sqlite::memory:", SecretKey::generate());
//! let store = SqlStore::connect(&config).await?;
//! let account = store
//!     .create_account(NewAccount { name: "acme".into(), timezone: Timezone::UTC, signing_key_ref: "k1".into() })
//!     .await?;
//! assert_eq!(store.get_account(account.id).await?.name, "acme");
//! # Ok(())
//! # }
//! ```
//!
//! # Feature flags
//! | feature | default | what it adds |
//! | --- | --- | --- |
//! | `sqlite` | ✓ | SQLite (bundled): `sqlite::memory:` and `sqlite:///path/file.db` URLs |
//! | `postgres` | | PostgreSQL: `postgres://…` URLs |
//! | `testkit` | | [`testkit::pg_schema_url`]: a fresh schema in a test PostgreSQL, for tests of any crate |
//!
//! Both may be on at once; the URL picks the dialect ([`Dialect::of_url`]).
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(any(feature = "sqlite", feature = "postgres")))]
compile_error!("mailer-store-sql needs a dialect: enable the `sqlite` feature, the `postgres` feature, or both");

mod config;
mod crypto;
mod error;
mod queries;
mod rows;
mod store;
#[cfg(feature = "testkit")]
#[cfg_attr(docsrs, doc(cfg(feature = "testkit")))]
pub mod testkit;
mod time;

pub use config::{Dialect, SqlConfig};
pub use crypto::{SECRET_FIELDS, SecretKey};
pub use error::Error;
pub use mailer_core;
pub use store::SqlStore;
