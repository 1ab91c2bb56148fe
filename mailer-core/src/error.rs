//! Small errors shared across the crate.

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
    /// More recipients (To, Cc and Bcc together) than one email may have.
    #[error("{actual} recipients are over the limit of {limit} per email")]
    TooManyRecipients {
        /// The limit.
        limit: u32,
        /// How many there are.
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
}
