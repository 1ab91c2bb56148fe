//! `GET /t/l/{token}`: a trigger-link click: 302 to the link's redirect, or the "Thank you!" page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mailer_core::engine::HitOutcome;
use mailer_core::template::TokenKindTag;

use super::hit_info;
use crate::pages;
use crate::server::{AppState, HttpError};

pub(crate) async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let outcome = state
        .engine
        .record_hit_of(&token, &[TokenKindTag::Click], &hit_info(&headers))
        .await?;
    let target = match outcome {
        HitOutcome::Redirect(target) => {
            state.metrics.hit("click", None);
            target
        }
        HitOutcome::Recorded { automated } => {
            state.metrics.hit("click", Some(automated));
            None
        }
    };
    let location = target
        .filter(|t| t.starts_with("https://") || t.starts_with("http://"))
        .and_then(|t| HeaderValue::from_str(&t).ok());
    let mut response = match location {
        Some(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        None => Html(pages::thank_you()).into_response(),
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}
