//! `mailer-http`: the host side of mailer on the web.
//!
//! - The sample server: [`app`] builds an axum [`Router`](axum::Router) with the public routes every
//!   sent email links to — the open pixel `GET /t/o/{token}`, trigger links `GET /t/l/{token}`, the web
//!   version `GET /w/{token}`, public web pages `GET /p/{token}` (by the Host's subdomain under
//!   [`HttpConfig::base_domain`]; 410 past their lifetime), forms `POST /f/{token}`, unsubscribe
//!   `GET`/`POST /u/{token}` (RFC 8058 one-click included) — and
//!   `/healthz`, `/readyz`, `/metrics`, with per-IP rate limits, body limits and security headers;
//!   [`run`] serves it until a shutdown signal. An embedding application mounts [`app`] in its own router;
//!   the `mailer-server` binary (`serve`, `worker`, `migrate`, `demo`) is the ready-made host.
//! - With the `kommo` feature, the [`kommo`] routes Kommo calls: the OAuth install redirect, the
//!   access-revoked hook, account webhooks, the digital-pipeline hook and Salesbot's `widget_request`
//!   (mounted when the state has a [`kommo::KommoHost`]: [`AppState::with_kommo`]), and the admin API's
//!   `GET /api/v1/crm-link`.
//! - The operator's web UI under `/ui` (server-rendered, sign-in with an admin-API token kept in an
//!   HttpOnly, SameSite=Strict cookie, CSRF-checked forms): dashboard, mailboxes with their check, templates
//!   with a live preview, triggers, trigger links, web pages, pipeline rules, the queue, mailings with live
//!   progress, the history with each email's timeline. Every screen calls the engine's use cases.
//! - [`resource`]: one generic CRUD [`Resource`](resource::Resource) per kind of record (templates,
//!   triggers, trigger links, web pages, pipeline rules, mailboxes) over the engine's use cases; the admin
//!   API serves each with the same five routes and the UI can call the same methods.
//! - [`HttpFetcher`], the real [`Fetcher`](mailer_core::ports::Fetcher) that downloads link attachments
//!   (a document's URL from a CRM field) and refuses private networks.
//!
//! Every engine error becomes a response in one place ([`HttpError`], [`engine_status`]); a bad token
//! records nothing, and the pixel answers the same GIF for it.
//!
//! # Example
//! ```
//! use std::sync::Arc;
//! use mailer_http::{AppState, HttpConfig, app};
//! use tower::ServiceExt as _;
//!
//! # mailer_core::testkit::block_on(async {
//! let harness = mailer_core::testkit::Harness::new().await; // a real host builds its Engine over SQL, SMTP, Kommo
//! let router = app(AppState::new(Arc::new(harness.engine), HttpConfig::default()));
//! let request = axum::http::Request::get("/t/o/not-a-token").body(axum::body::Body::empty())?;
//! let response = router.oneshot(request).await?;
//! assert_eq!(response.status(), 200); // the pixel, whatever the token
//! assert_eq!(response.headers()["content-type"], "image/gif");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//! Serving it: `mailer_http::run(tokio::net::TcpListener::bind("0.0.0.0:8080").await?, router, shutdown)`.
//!
//! # Feature flags
//! | feature | default | what it adds |
//! |---|---|---|
//! | `kommo` | yes | the Kommo CRM adapter as `mailer-server`'s CRM |
//! | `demo` | yes | `mailer-server demo`: an in-process fake Kommo, sample data and an `.eml` outbox |

pub mod api;
mod fetcher;
#[cfg(feature = "kommo")]
pub mod kommo;
pub mod pages;
pub mod resource;
pub(crate) mod routes;
mod server;
mod ui;
mod upload;

pub use fetcher::{HttpFetcher, is_public};
pub use mailer_core;
pub use routes::pixel::{PIXEL_GIF, pixel_response};
pub use server::{
    AppState, DEFAULT_BATCH, DEFAULT_CAPACITY, DEFAULT_LINGER, HitRecorder, HttpConfig, HttpError, LoggedCrm,
    MeteredTransport, Metrics, QueueDepth, RateLimiter, SqlQueueDepth, app, engine_status, run,
};
