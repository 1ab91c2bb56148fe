//! `mailer-http`: the host side of mailer on the web. Today it holds [`HttpFetcher`], the real
//! [`Fetcher`](mailer_core::ports::Fetcher) that downloads link attachments (a document's URL from a CRM
//! field) and refuses private networks; the sample server (tracking, pages, forms, webhooks, admin API)
//! will live here too.
//!
//! # Example
//! ```
//! use mailer_core::ports::{FetchError, Fetcher};
//! use mailer_http::HttpFetcher;
//!
//! # mailer_core::testkit::block_on(async {
//! let fetcher = HttpFetcher::new()?;
//! // Loopback, private and link-local addresses are refused before any request is made.
//! let err = fetcher.fetch("http://127.0.0.1:8080/offer.pdf", 1024).await.unwrap_err();
//! assert!(matches!(err, FetchError::PrivateAddress(_)));
//! # Ok::<(), FetchError>(())
//! # }).unwrap();
//! ```
//!
//! # Feature flags
//! None yet.

mod fetcher;

pub use fetcher::{HttpFetcher, is_public};
pub use mailer_core;
