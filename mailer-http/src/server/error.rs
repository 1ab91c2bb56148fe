//! The one place where an [`EngineError`] becomes an HTTP answer.
//!
//! | error | status |
//! |---|---|
//! | `Token` (malformed, tampered, other account, a token of another kind than the route's) | 404 |
//! | `Store(NotFound)` | 404 |
//! | `Gone` (a web page past its lifetime) | 410 |
//! | `Forbidden` | 403 |
//! | `Suppressed` | 409 |
//! | `Invalid`, `Template`, `Trigger`, `Loop`, `UnknownReference`, `InUse` | 422 |
//! | anything else | 500 (logged, details not shown) |

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mailer_core::engine::EngineError;
use mailer_core::ports::StoreError;

use crate::pages;

/// What a route answers when the engine refuses or fails.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The engine's error.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A body that could not be read, with the status its reader chose (413 for one over the body limit).
    #[error("unreadable body: {1}")]
    Body(StatusCode, String),
}

impl HttpError {
    /// The status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Body(status, _) => *status,
            Self::Engine(e) => engine_status(e),
        }
    }
}

/// The status of an engine error.
pub fn engine_status(e: &EngineError) -> StatusCode {
    match e {
        EngineError::Token(_) | EngineError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
        EngineError::Gone(_) => StatusCode::GONE,
        EngineError::Forbidden(_) => StatusCode::FORBIDDEN,
        EngineError::Suppressed { .. } => StatusCode::CONFLICT,
        EngineError::Invalid(_)
        | EngineError::Template(_)
        | EngineError::Trigger(_)
        | EngineError::Loop(_)
        | EngineError::UnknownReference { .. }
        | EngineError::InUse { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (title, detail) = match status {
            StatusCode::NOT_FOUND => (
                "Link not found",
                "This link is not valid. Please check the address.".to_owned(),
            ),
            StatusCode::GONE => ("Page no longer available", "This page has expired.".to_owned()),
            StatusCode::FORBIDDEN => ("Forbidden", "You may not do this.".to_owned()),
            StatusCode::CONFLICT => ("Not possible", self.to_string()),
            StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => ("Not accepted", self.to_string()),
            _ => {
                tracing::error!(error = %self, "request failed");
                ("Something went wrong", "Please try again later.".to_owned())
            }
        };
        if status.is_client_error() {
            tracing::debug!(error = %self, %status, "request refused");
        }
        (status, Html(pages::error(title, &detail))).into_response()
    }
}
