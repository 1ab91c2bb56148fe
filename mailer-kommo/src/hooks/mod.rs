//! What Kommo sends to us: account webhooks, the digital-pipeline widget hook, and Salesbot's
//! `widget_request`, parsed into typed events. Parsing never panics; bad input is a [`HookError`].

mod disable;
mod dp;
mod events;
mod form;
mod jwt;
mod salesbot;
mod webhook;
mod widget_token;

pub use disable::{sign_disable_hook, verify_disable_hook};
pub use dp::{DpEntity, DpEvent, DpEventKind, DpHook, parse_dp_hook};
pub use form::{FormValue, parse_form};
#[cfg(feature = "fake")]
pub use jwt::sign_hs256;
pub use jwt::{TokenError, verify_hs};
pub use salesbot::{BotClaims, WidgetRequest, parse_widget_request};
pub use webhook::{
    AccountWebhook, ContactHook, HookAccount, HookAction, HookField, HookFieldValue, LeadHook, NoteHook, WebhookEvent,
    parse_account_webhook,
};
pub use widget_token::{WidgetClaims, WidgetTokenError, verify_widget_token};

/// A payload from Kommo could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum HookError {
    /// A form key is not `name[a][b]…`.
    #[error("malformed form key {key:?}")]
    MalformedKey {
        /// The key.
        key: String,
    },
    /// Two form keys disagree on whether a name holds a value or nested keys.
    #[error("form key {key:?} is both a value and a group")]
    Conflict {
        /// The key.
        key: String,
    },
    /// A form key nests deeper than anything Kommo sends.
    #[error("form key {key:?} nests too deeply")]
    TooDeep {
        /// The key.
        key: String,
    },
    /// More fields than any Kommo payload has.
    #[error("payload too large: more than {limit} fields")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The body is not valid JSON (for JSON payloads).
    #[error("payload is not valid JSON: {detail}")]
    Json {
        /// What the parser said.
        detail: String,
    },
    /// A required field is missing.
    #[error("payload lacks {field}")]
    Missing {
        /// The field, as a form key.
        field: String,
    },
    /// A field has a value of the wrong shape.
    #[error("payload field {field} has a bad value {value:?}")]
    Invalid {
        /// The field, as a form key.
        field: String,
        /// The value.
        value: String,
    },
    /// The Salesbot token is missing, malformed, badly signed or expired.
    #[error("bad Salesbot token")]
    Token(#[from] TokenError),
}
