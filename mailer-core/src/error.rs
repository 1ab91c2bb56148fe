//! Small errors shared across the crate.

use std::fmt;
use std::time::Duration;

/// A boxed error from a backend, kept as the `source` of a categorised error.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Input that is refused before anything is queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Not an email address.
    #[error("invalid address: {0:?}")]
    InvalidAddress(String),
    /// Not an IANA timezone name.
    #[error("unknown timezone: {0:?}")]
    UnknownTimezone(String),
    /// A required part is missing.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// The email has no recipient at all.
    #[error("the email has no recipient")]
    NoRecipient,
    /// The body is larger than allowed.
    #[error("body of {actual} bytes is over the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The actual size in bytes.
        actual: u64,
    },
    /// An attachment or the attachments together are larger than allowed.
    #[error("attachments of {actual} bytes are over the limit of {limit} bytes")]
    AttachmentsTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The actual size in bytes.
        actual: u64,
    },
    /// A value is out of its allowed range.
    #[error("{what} is out of range: {detail}")]
    OutOfRange {
        /// What value.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A duration is outside the range a save accepts.
    #[error("{what} of {} is out of range: from {} to {}", Span(*actual), Span(*min), Span(*max))]
    DurationOutOfRange {
        /// What duration (e.g. `not-opened timer`).
        what: &'static str,
        /// The duration given.
        actual: Duration,
        /// The least accepted.
        min: Duration,
        /// The most accepted.
        max: Duration,
    },
    /// A value does not have the form its field needs.
    #[error("{field} is malformed: {reason}")]
    Malformed {
        /// The field.
        field: &'static str,
        /// What form it needs.
        reason: String,
    },
}

/// A duration as people write it: `1s`, `90s`, `2min`, `24h`, `365d`, or Rust's debug form for fractions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if self.0.subsec_nanos() != 0 {
            write!(f, "{:?}", self.0)
        } else if secs > 0 && secs.is_multiple_of(86_400) && secs >= 2 * 86_400 {
            write!(f, "{}d", secs / 86_400)
        } else if secs > 0 && secs.is_multiple_of(3600) {
            write!(f, "{}h", secs / 3600)
        } else if secs > 0 && secs.is_multiple_of(60) {
            write!(f, "{}min", secs / 60)
        } else {
            write!(f, "{secs}s")
        }
    }
}
