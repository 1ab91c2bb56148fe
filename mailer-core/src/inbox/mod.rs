//! What comes back to a mailbox, classified: a pure function over the bytes of one received message
//! ([`classify`]) says whether it is a bounce (an RFC 3464 delivery status notification, or the bounce
//! texts of Exim, qmail, Postfix, Microsoft and Gmail), an automatic answer (RFC 3834 `Auto-Submitted`,
//! out of office), a reply, or something else, and which of our Message-IDs it names. MIME is parsed by
//! `mail-parser`; the engine ([`Engine::handle_received`](crate::engine::Engine::handle_received)) ties the
//! message to our email and carries out the effects.
//!
//! ```
//! use mailer_core::inbox::{Incoming, Severity, classify};
//!
//! let raw = b"From: MAILER-DAEMON@mx.example.org\r\n\
//! Subject: failure notice\r\n\r\n\
//! Hi. This is the qmail-send program at mx.example.org.\r\n\
//! I'm afraid I wasn't able to deliver your message to the following addresses.\r\n\
//! This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n\
//! <nobody@example.org>:\r\n\
//! 550 5.1.1 no such user\r\n\r\n\
//! --- Below this line is a copy of the message.\r\n\r\n\
//! Message-ID: <s1.a1@mailer.example.com>\r\n\
//! Subject: Offer\r\n";
//! let received = classify(raw);
//! let Incoming::Bounce(bounce) = received.kind else { panic!("not a bounce") };
//! assert_eq!(bounce.severity, Severity::Hard);
//! assert_eq!(bounce.status.as_deref(), Some("5.1.1"));
//! assert_eq!(bounce.original, ["s1.a1@mailer.example.com"]);
//! ```

mod classify;
mod dsn;
mod text;

pub use classify::classify;

use serde::{Deserialize, Serialize};

/// One received message, classified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Its own Message-ID (without angle brackets), if it has one.
    pub message_id: Option<String>,
    /// Its sender's address, lowercase.
    pub from: Option<String>,
    /// What it is.
    pub kind: Incoming,
}

/// What a received message is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Incoming {
    /// A delivery failure report.
    Bounce(Bounce),
    /// An automatic answer (out of office, vacation): never a reply.
    AutoReply {
        /// The Message-IDs it answers (`In-Reply-To`, then `References`).
        refers_to: Vec<String>,
    },
    /// An answer written by a person.
    Reply {
        /// The Message-IDs it answers (`In-Reply-To`, then `References`).
        refers_to: Vec<String>,
    },
    /// Anything else (a new message, a newsletter): nothing to do.
    Other,
}

/// Which bounce format was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BounceForm {
    /// RFC 3464 `multipart/report; report-type=delivery-status`.
    Dsn,
    /// Exim's "Mail delivery failed" text.
    Exim,
    /// qmail's "failure notice" text.
    Qmail,
    /// Postfix's "Undelivered Mail Returned to Sender" text.
    Postfix,
    /// Microsoft Exchange / Office 365 non-delivery report text.
    Microsoft,
    /// Gmail's "Address not found" text.
    Gmail,
    /// A bounce from a mailer daemon in no known format.
    Unknown,
}

/// Whether a failure is for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Permanent (5.x.x): the address does not take mail.
    Hard,
    /// Temporary (4.x.x, delayed): the server keeps trying.
    Soft,
}

/// A delivery failure report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bounce {
    /// The format it came in.
    pub form: BounceForm,
    /// Permanent or temporary.
    pub severity: Severity,
    /// The enhanced status code (`5.1.1`), when found.
    pub status: Option<String>,
    /// The address that failed, lowercase, when found.
    pub recipient: Option<String>,
    /// The remote server's diagnostic (one line), or the report's own words.
    pub diagnostic: String,
    /// Message-IDs that may be the bounced email's (without angle brackets), most likely first: the
    /// returned message's or headers' own, then any named in the text, then `In-Reply-To`/`References`.
    pub original: Vec<String>,
}
