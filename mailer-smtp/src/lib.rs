//! `mailer-smtp`: the [`Transport`](mailer_core::ports::Transport) that sends mail from users' own
//! mailboxes over SMTP, keeps copies in their Sent folder over IMAP, and runs the widget's mailbox check.
//!
//! - [`SmtpTransport`]: SMTP through lettre's async protocol client on tokio (rustls with ring), with a
//!   connection pool per mailbox, made on first use and dropped when idle; implicit TLS (465), STARTTLS
//!   (587) or plain (local servers) as the [`Mailbox`](mailer_core::model::Mailbox) says; timeouts; extra
//!   trusted roots; optional DKIM. Connections are our own tokio sockets with `TCP_NODELAY` (lettre's
//!   pool leaves Nagle on, which costs ~40 ms per message against servers that delay ACKs). Text and
//!   HTML parts are encoded (7bit or quoted-printable) and the content dot-stuffed by our own one-pass code
//!   rather than lettre's byte-by-byte loops; the encoding is chosen by lettre's rules. To a server that
//!   offers PIPELINING (RFC 2920), `MAIL`, the `RCPT`s and `DATA` go in one write: two round trips per
//!   message instead of four.
//!   Copies go to Sent with IMAP `APPEND … (\Seen)` (async-imap): the folder marked SPECIAL-USE `\Sent`,
//!   else the mailbox's `sent_folder`, else the first of the usual names ([`SENT_NAMES`]). Logged-in IMAP
//!   sessions are pooled per mailbox (bounded, closed when idle, checked with `NOOP` after a pause), so a
//!   copy is one `APPEND`, not a login, a `LIST` and a logout.
//!   [`verify`](mailer_core::ports::Transport::verify) answers green (SMTP and IMAP logins work), gray
//!   (only SMTP: mail is sent, no copies in Sent) or red (SMTP does not work), each with its reason.
//! - [`inbox`]: reads the mailboxes' INBOX over IMAP ([`inbox::ImapInbox`], the core's
//!   [`Inbox`](mailer_core::ports::Inbox) port: IDLE where the server offers it, polling otherwise) and
//!   runs one reader per mailbox ([`inbox::run_readers`]) so bounces and replies reach the engine.
//! - [`EmlTransport`]: writes each message as an `.eml` file, for examples and the demo server.
//! - [`mime`]: the one MIME builder both use. It is deterministic: the same
//!   [`OutgoingMessage`](mailer_core::ports::OutgoingMessage) gives the same bytes (same Message-ID,
//!   Date and boundaries). A DKIM signature is made over those final bytes; the send returns them as
//!   [`Delivery::raw`](mailer_core::ports::Delivery::raw) and the copy in Sent is those bytes, so it
//!   carries the very signature that was sent.
//! - [`error`]: one table and one function that classify what servers say into the widget's "Common
//!   errors" (could not authenticate, rejected as spam, invalid address, data not accepted, temporary,
//!   other) with the manual's advice.
//!
//! # Example
//! The `.eml` transport writes what SMTP would send:
//! ```
//! use mailer_core::ports::Transport;
//! use mailer_core::testkit::{block_on, default_start, fixture};
//! use mailer_smtp::EmlTransport;
//!
//! let dir = tempfile::tempdir()?;
//! let transport = EmlTransport::new(dir.path());
//! let account = mailer_core::model::AccountId(1);
//! let mailbox = fixture::sample_mailbox(account, mailer_core::model::UserId(1), Default::default());
//! let message = mailer_core::ports::OutgoingMessage {
//!     message_id: "offer-1@example.com".into(),
//!     date: default_start(),
//!     from: mailbox.from.clone(),
//!     reply_to: None,
//!     to: vec![mailer_core::model::Address::parse("Anna <anna@example.com>")?],
//!     cc: Vec::new(),
//!     bcc: Vec::new(),
//!     subject: "Your offer".into(),
//!     html: "<p>Hello Anna</p>".into(),
//!     text: "Hello Anna".into(),
//!     attachments: Vec::new(),
//!     unsubscribe_url: Some("https://example.com/u/1".into()),
//! };
//! let delivery = block_on(transport.send(&mailbox, &message))?;
//! assert_eq!(delivery.message_id, "offer-1@example.com");
//! let eml = std::fs::read_to_string(dir.path().join("offer-1@example.com.eml"))?;
//! assert_eq!(eml.as_bytes(), delivery.raw); // the file holds the bytes "sent"
//! assert!(eml.contains("Message-ID: <offer-1@example.com>"));
//! assert!(eml.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Sending through a real server is the same call on an [`SmtpTransport`]:
//! ```no_run
//! # async fn run(mailbox: mailer_core::model::Mailbox, message: mailer_core::ports::OutgoingMessage)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use mailer_core::ports::Transport;
//!
//! let transport = mailer_smtp::SmtpTransport::builder()
//!     .timeout(std::time::Duration::from_secs(20))
//!     .build()?;
//! let check = transport.verify(&mailbox).await?; // green, gray or red, with reasons
//! let delivery = transport.send(&mailbox, &message).await?;
//! // The copy in Sent is the bytes that were sent (keep `delivery.raw` to retry it later).
//! transport.append_sent(&mailbox, &delivery.message_id, &delivery.raw).await?;
//! # Ok(()) }
//! ```
//!
//! # Feature flags
//! | feature | default | what it adds |
//! |---|---|---|
//! | `dkim` | no | `SmtpTransportBuilder::dkim`: DKIM signatures per From domain (RSA or Ed25519, `relaxed/relaxed`) over the exact bytes sent, covering (and oversigning) From, Reply-To, Subject, Date, To, Cc, Message-ID, the MIME headers, `List-Id` and `List-Unsubscribe`/`-Post` |
//!
//! TLS is always rustls with the ring provider and the Mozilla roots (`webpki-roots`); no OpenSSL, no
//! aws-lc.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
pub mod eml;
pub mod error;
mod imap;
mod imap_pool;
pub mod inbox;
mod keyed_pool;
pub mod mime;
mod pool;
mod scan;
mod signing;
mod smtp;
mod submit;
mod text_body;
mod tls;
mod utf7;
mod verify;

pub use eml::EmlTransport;
pub use imap::SENT_NAMES;
pub use mailer_core;
#[cfg(feature = "dkim")]
pub use signing::DkimAlgorithm;
pub use smtp::{SmtpTransport, SmtpTransportBuilder};

/// A transport could not be configured.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A trusted root certificate could not be read or used.
    #[error("bad certificate: {0}")]
    Certificate(String),
    /// A DKIM key could not be read.
    #[error("bad DKIM key: {0}")]
    Dkim(String),
}
