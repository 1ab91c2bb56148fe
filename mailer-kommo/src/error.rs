//! What can go wrong talking to Kommo, and how it maps onto the [`CrmError`] categories.

use std::time::Duration;

use mailer_core::ports::CrmError;

/// The error type of boxed sources (token stores).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One problem Kommo reported for one item of a write (`validation-errors` in its problem JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The `request_id` of the item, when the write was a batch.
    pub request_id: Option<String>,
    /// Kommo's code, e.g. `NotSupportedChoice`, `InvalidType`, `FieldNotExpected`.
    pub code: String,
    /// Dotted path into the item, e.g. `custom_fields_values.0.values.0.enum_id`.
    pub path: String,
    /// Kommo's explanation.
    pub detail: String,
}

/// A Kommo call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KommoError {
    /// The token is missing, expired or revoked and could not be refreshed (HTTP 401).
    #[error("not authorised by Kommo")]
    Unauthorized,
    /// The account or the caller's IP is blocked (HTTP 403): stop calling and contact Kommo support.
    #[error("the Kommo account is blocked (403)")]
    Blocked,
    /// Too many requests (HTTP 429) and waiting longer than the client's policy allows.
    #[error("rate limited by Kommo, retry after {retry_after:?}")]
    RateLimited {
        /// How long Kommo asked to wait.
        retry_after: Duration,
    },
    /// The account's paid or trial period is over (HTTP 402).
    #[error("the Kommo account's paid period is over (402)")]
    PaymentRequired,
    /// The entity, field or stage does not exist.
    #[error("{what} {id} not found in Kommo")]
    NotFound {
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Kommo refused a value or a request (HTTP 400 or 422).
    #[error("Kommo refused the request: {detail}")]
    Invalid {
        /// The problem's `detail`.
        detail: String,
        /// The per-item problems, when Kommo listed them.
        violations: Vec<Violation>,
    },
    /// The OAuth token endpoint refused a grant (a used or revoked code or refresh token).
    #[error("Kommo refused the OAuth grant: {0}")]
    Grant(String),
    /// Kommo refused every refresh token held (`hint`: its reason, e.g. `Token has been revoked` for a
    /// refresh token whose successor was already used, or one unused for 3 months) and the token store
    /// holds no newer pair: the account must grant access again.
    #[error("Kommo refused the refresh token: {0}")]
    RefreshRefused(String),
    /// Any other unexpected HTTP status, after retries.
    #[error("Kommo answered HTTP {status}")]
    Status {
        /// The status code.
        status: u16,
    },
    /// The response did not have the expected shape.
    #[error("unexpected Kommo response: {0}")]
    Decode(String),
    /// The token store failed to load or save tokens.
    #[error("token store failed")]
    TokenStore(#[source] BoxError),
    /// The client was configured wrongly (a bad base URL …).
    #[error("bad Kommo client configuration: {0}")]
    Config(String),
    /// Network or protocol failure.
    #[error("HTTP request to Kommo failed")]
    Http(#[source] reqwest::Error),
}

impl From<KommoError> for CrmError {
    fn from(err: KommoError) -> Self {
        match err {
            KommoError::Unauthorized => Self::Unauthorized,
            KommoError::Blocked => Self::Blocked,
            KommoError::RateLimited { retry_after } => Self::RateLimited { retry_after },
            KommoError::NotFound { what, id } => Self::NotFound { what, id },
            KommoError::Invalid { detail, violations } => match violations.first() {
                Some(v) => Self::InvalidValue {
                    field: v.path.clone(),
                    detail: format!("{}: {}", v.code, v.detail),
                },
                None => Self::InvalidValue {
                    field: "request".to_owned(),
                    detail,
                },
            },
            KommoError::Grant(_) | KommoError::RefreshRefused(_) => Self::Unauthorized,
            other => Self::Backend(Box::new(other)),
        }
    }
}
