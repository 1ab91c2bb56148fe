//! The transport port: sends messages, keeps copies in Sent and checks mailboxes.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::BoxError;
pub use crate::model::CheckStatus;
use crate::model::{Address, Mailbox, Timestamp};

/// One file of an outgoing message.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Content-ID for an inline image referenced as `cid:…` in the HTML; `None` for a regular attachment.
    pub content_id: Option<String>,
}

impl fmt::Debug for OutgoingAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingAttachment")
            .field("name", &self.name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .field("content_id", &self.content_id)
            .finish()
    }
}

/// A fully rendered message, ready for the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// Message-ID without angle brackets; stable across retries.
    pub message_id: String,
    /// The Date header.
    pub date: Timestamp,
    /// From (the mailbox's name and address).
    pub from: Address,
    /// Reply-To, if different from From.
    pub reply_to: Option<Address>,
    /// To.
    pub to: Vec<Address>,
    /// Cc.
    pub cc: Vec<Address>,
    /// Bcc: envelope recipients only, never a header.
    pub bcc: Vec<Address>,
    /// Subject, without CR or LF.
    pub subject: String,
    /// The HTML part.
    pub html: String,
    /// The text/plain part.
    pub text: String,
    /// Attachments and inline images.
    pub attachments: Vec<OutgoingAttachment>,
    /// The one-click unsubscribe URL: adds `List-Unsubscribe` and `List-Unsubscribe-Post`.
    pub unsubscribe_url: Option<String>,
}

impl OutgoingMessage {
    /// Every envelope recipient: To, Cc and Bcc.
    pub fn envelope_recipients(&self) -> impl Iterator<Item = &Address> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

/// What the server said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The Message-ID that was sent.
    pub message_id: String,
    /// The server's reply, e.g. `250 2.0.0 Ok: queued as ABC`.
    pub response: String,
}

/// The kinds of sending failure, matching the widget's "Common errors".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SendErrorKind {
    /// "SMTP Error: Could not authenticate": wrong login, password, server, port or encryption.
    Auth,
    /// "Message rejected under suspicion of SPAM" (e.g. `554 5.7.1`).
    RejectedAsSpam,
    /// "Invalid address": the server refused a recipient (`5.1.x`).
    InvalidAddress,
    /// "Data not accepted": the server refused the message content.
    DataNotAccepted,
    /// Worth trying again: `4xx`, greylisting, rate limits, connection, TLS and timeouts.
    Temporary,
    /// Anything else; not retried.
    Other,
}

/// Sending failed; the kind decides whether to retry.
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}{}: {message}", smtp_code.map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct SendError {
    kind: SendErrorKind,
    smtp_code: Option<u16>,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl SendError {
    /// A new error of `kind`.
    pub fn new(kind: SendErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            smtp_code: None,
            message: message.into(),
            source: None,
        }
    }

    /// Adds the SMTP reply code.
    #[must_use]
    pub fn with_code(mut self, code: u16) -> Self {
        self.smtp_code = Some(code);
        self
    }

    /// Adds the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> SendErrorKind {
        self.kind
    }

    /// The SMTP reply code, when the server gave one.
    pub fn smtp_code(&self) -> Option<u16> {
        self.smtp_code
    }

    /// The server's or the transport's words.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when trying again later may work.
    pub fn is_temporary(&self) -> bool {
        self.kind == SendErrorKind::Temporary
    }
}

/// The result of checking a mailbox, with a reason for each part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailboxCheck {
    /// The colour.
    pub status: CheckStatus,
    /// What went wrong with SMTP, if anything.
    pub smtp_error: Option<String>,
    /// What went wrong with IMAP, if anything (also when no IMAP server is set).
    pub imap_error: Option<String>,
}

impl MailboxCheck {
    /// Derives the colour from the two results.
    pub fn from_results(smtp_error: Option<String>, imap_error: Option<String>) -> Self {
        let status = match (&smtp_error, &imap_error) {
            (Some(_), _) => CheckStatus::Red,
            (None, Some(_)) => CheckStatus::Gray,
            (None, None) => CheckStatus::Green,
        };
        Self {
            status,
            smtp_error,
            imap_error,
        }
    }
}

/// What a transport can do beyond sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportCaps {
    /// It can put copies in the Sent folder.
    pub append_sent: bool,
    /// It can log in to check a mailbox.
    pub verify: bool,
}

/// Sends messages from a mailbox.
///
/// # Contract
/// - [`Transport::send`] delivers to every envelope recipient (To, Cc, Bcc) or to none, and never writes
///   Bcc into the headers; the Message-ID sent is the message's own.
/// - Errors are classified: [`SendError::is_temporary`] is true only when a retry may work.
/// - [`Transport::append_sent`] stores the same bytes as were sent (same Message-ID and Date), seen.
/// - Implementations pass [`testkit::transport_conformance`](crate::testkit::transport_conformance).
#[cfg_attr(any(test, feature = "testkit"), mockall::automock)]
#[async_trait]
pub trait Transport: Send + Sync + std::fmt::Debug {
    /// What this transport can do.
    fn capabilities(&self) -> TransportCaps;

    /// Sends a message from `mailbox`.
    ///
    /// # Errors
    /// A classified [`SendError`].
    async fn send(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError>;

    /// Puts a copy of a sent message in the mailbox's Sent folder.
    ///
    /// # Errors
    /// A classified [`SendError`]; [`SendErrorKind::Other`] when the transport cannot do it.
    async fn append_sent(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<(), SendError>;

    /// Checks the mailbox as the widget does: green, gray or red, each with its reason.
    ///
    /// # Errors
    /// Only when the check itself cannot run; a failed login is a red or gray [`MailboxCheck`], not an error.
    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError>;
}

/// A transport behind a pointer.
pub type DynTransport = dyn Transport;
