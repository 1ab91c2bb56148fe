//! The route handlers, one file per route family.

pub(crate) mod forms;
pub(crate) mod health;
pub(crate) mod link;
pub(crate) mod metrics;
pub(crate) mod pixel;
pub(crate) mod unsubscribe;
pub(crate) mod web;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mailer_core::engine::HitInfo;

use crate::pages;

/// What the request tells about the client.
pub(crate) fn hit_info(headers: &HeaderMap) -> HitInfo {
    HitInfo {
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        honeypot: false,
    }
}

/// Any other path.
pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(pages::error("Not found", "There is nothing at this address.")),
    )
        .into_response()
}
