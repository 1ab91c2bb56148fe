//! What a screen shows when an action fails: the engine's typed error in words, with the status the API
//! would answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mailer_core::engine::EngineError;
use maud::html;

use super::layout;
use crate::server::engine_status;

/// A failed UI request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum UiError {
    /// The engine refused or failed.
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// A form field could not be read.
    #[error("{field}: {reason}")]
    Invalid {
        /// The form field.
        field: &'static str,
        /// What it must be.
        reason: String,
    },
    /// The form did not carry this session's CSRF token.
    #[error("this form is out of date or did not come from this site; reload the page and try again")]
    Csrf,
}

impl UiError {
    /// The HTTP status of the error.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::Engine(e) => engine_status(e),
            Self::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Csrf => StatusCode::FORBIDDEN,
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        if let Self::Engine(e) = &self
            && engine_status(e).is_server_error()
        {
            tracing::error!(error = %e, "UI request failed");
        }
        let body = html! {
            h1 { "That did not work" }
            p.error role="alert" { (self.to_string()) }
            p { "Use your browser's Back button to return to the form, or go to the " a href="/ui" { "dashboard" } "." }
        };
        layout::bare(self.status(), "Error", body)
    }
}
