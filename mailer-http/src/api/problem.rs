//! Errors of the admin API as RFC 9457 `application/problem+json`: a stable `type` per kind of error and,
//! for validation errors, the JSON pointer of the field (`/body/content/body: line 3, column 14: …`).
//!
//! | type (after `https://mailer.dev/problems/`) | status |
//! |---|---|
//! | `unauthorized` (no, unknown or revoked token) | 401 |
//! | `forbidden` | 403 |
//! | `not-found` (also another account's id) | 404 |
//! | `malformed-request` (not JSON, bad query) | 400 |
//! | `validation`, `unknown-reference`, `automation-loop` | 422 |
//! | `in-use`, `conflict`, `suppressed` | 409 |
//! | `gone` | 410 |
//! | `payload-too-large` | 413 |
//! | `internal` (logged, details not shown) | 500 |

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mailer_core::engine::EngineError;
use mailer_core::error::ValidationError;
use mailer_core::ports::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The base of every problem `type`.
pub const PROBLEM_BASE: &str = "https://mailer.dev/problems/";

/// One invalid field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer of the field in the request (`/body/name`, `/query/limit`).
    pub pointer: String,
    /// What is wrong with it.
    pub detail: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// A stable URI per kind of error.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What happened this time.
    pub detail: String,
    /// The invalid fields, for validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// What an API handler answers when it fails.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// No valid bearer token.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// No such thing in this account.
    #[error("not found")]
    NotFound,
    /// The request cannot be read.
    #[error("{pointer}: {detail}")]
    Malformed {
        /// Where.
        pointer: String,
        /// What.
        detail: String,
    },
    /// A field is invalid (found by the API before the engine).
    #[error("{pointer}: {detail}")]
    Invalid {
        /// Where.
        pointer: String,
        /// What.
        detail: String,
    },
    /// The body is over the limit.
    #[error("the request body is over {0} bytes")]
    TooLarge(usize),
    /// The server failed outside the engine (logged, not shown).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A validation error at `pointer`.
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Invalid {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }

    /// The problem document of this error.
    pub fn problem(&self) -> Problem {
        match self {
            Self::Unauthorized => simple(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", self),
            Self::NotFound => simple(StatusCode::NOT_FOUND, "not-found", "Not found", self),
            Self::TooLarge(_) => simple(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                self,
            ),
            Self::Malformed { pointer, detail } => field(
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
                pointer,
                detail,
            ),
            Self::Invalid { pointer, detail } => validation(pointer, detail),
            Self::Engine(e) => engine_problem(e),
            Self::Internal(why) => {
                tracing::error!(error = %why, "admin API request failed");
                internal()
            }
        }
    }
}

fn simple(status: StatusCode, kind: &str, title: &str, detail: &impl ToString) -> Problem {
    Problem {
        kind: format!("{PROBLEM_BASE}{kind}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: detail.to_string(),
        errors: Vec::new(),
    }
}

fn field(status: StatusCode, kind: &str, title: &str, pointer: &str, detail: &str) -> Problem {
    Problem {
        kind: format!("{PROBLEM_BASE}{kind}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: format!("{pointer}: {detail}"),
        errors: vec![FieldError {
            pointer: pointer.to_owned(),
            detail: detail.to_owned(),
        }],
    }
}

fn validation(pointer: &str, detail: &str) -> Problem {
    field(
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
        "Validation failed",
        pointer,
        detail,
    )
}

/// `triggers[2]` or `triggers.on_sent[0]` → `/body/triggers/2`, `/body/triggers/on_sent/0`.
pub(crate) fn pointer_of(field: &str) -> String {
    let mut out = String::from("/body");
    for part in field.split(['.', '[']) {
        let part = part.trim_end_matches(']');
        if !part.is_empty() {
            out.push('/');
            out.push_str(part);
        }
    }
    out
}

fn validation_pointer(e: &ValidationError) -> String {
    match e {
        ValidationError::Malformed { field, .. } | ValidationError::Missing(field) => pointer_of(field),
        _ => "/body".to_owned(),
    }
}

fn engine_problem(e: &EngineError) -> Problem {
    match e {
        EngineError::Store(StoreError::NotFound { .. }) | EngineError::Token(_) => {
            simple(StatusCode::NOT_FOUND, "not-found", "Not found", e)
        }
        EngineError::Store(StoreError::Conflict { .. }) => simple(StatusCode::CONFLICT, "conflict", "Conflict", e),
        EngineError::Forbidden(why) => simple(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why),
        EngineError::Invalid(v) => validation(&validation_pointer(v), &v.to_string()),
        EngineError::Template(t) => {
            let part = match t.part {
                mailer_core::template::PartName::Subject => "subject",
                mailer_core::template::PartName::Body => "body",
                mailer_core::template::PartName::Text => "text",
            };
            let detail = match &t.position {
                Some(p) => format!("line {}, column {}: {}", p.line, p.column, t.kind),
                None => t.kind.to_string(),
            };
            validation(&format!("/body/content/{part}"), &detail)
        }
        EngineError::Trigger(_) | EngineError::Action(_) => validation("/body", &e.to_string()),
        EngineError::Loop(_) => field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "automation-loop",
            "Automation loop",
            "/body",
            &e.to_string(),
        ),
        EngineError::UnknownReference { field: name, .. } => field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-reference",
            "Unknown reference",
            &pointer_of(name),
            &e.to_string(),
        ),
        EngineError::InUse { .. } => simple(StatusCode::CONFLICT, "in-use", "In use", e),
        EngineError::Suppressed { .. } => simple(StatusCode::CONFLICT, "suppressed", "Suppressed address", e),
        EngineError::Gone(_) => simple(StatusCode::GONE, "gone", "Gone", e),
        _ => {
            tracing::error!(error = %e, "admin API request failed");
            internal()
        }
    }
}

fn internal() -> Problem {
    simple(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        &"the server failed; the error is logged",
    )
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.problem().into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_pointers() {
        assert_eq!(pointer_of("triggers[2]"), "/body/triggers/2");
        assert_eq!(pointer_of("triggers.on_sent[0]"), "/body/triggers/on_sent/0");
        assert_eq!(pointer_of("name"), "/body/name");
    }
}
