//! `GET /t/l/{token}`: a trigger-link click: 302 to the link's redirect, or the "Thank you!" page.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use mailer_core::engine::{EngineError, HitOutcome, PendingHit};
use mailer_core::template::{TokenError, TokenKindTag};

use super::hit_info;
use crate::pages;
use crate::server::{AppState, HttpError, count_hit};

/// With a hit recorder: the token is checked (signature, kind, the account's key) and the link read, the
/// answer goes out and the hit is recorded after it; without one, it is recorded before the answer.
pub(crate) async fn click(
    State(state): State<AppState>,
    Path(token): Path<String>,
    request: Request,
) -> Result<Response, HttpError> {
    let hit = state
        .engine
        .accept_hit(&token, &[TokenKindTag::Click], hit_info(request.headers()))?;
    let target = match &state.hits {
        Some(recorder) => {
            let target = state.engine.click_target(&hit).await?;
            if let Err(hit) = recorder.record(hit).await {
                Box::pin(record_now(&state, hit)).await?;
            }
            target
        }
        None => Box::pin(record_now(&state, hit)).await?,
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

/// Records one click before answering; its redirect. Boxed by its callers, as the pixel's.
async fn record_now(state: &AppState, hit: PendingHit) -> Result<Option<String>, HttpError> {
    let result = state
        .engine
        .record_hits(vec![hit])
        .await
        .pop()
        .unwrap_or(Err(EngineError::Token(TokenError::Malformed)));
    count_hit(&state.metrics, "click", &result);
    Ok(match result? {
        HitOutcome::Redirect(target) => target,
        HitOutcome::Recorded { .. } => None,
    })
}
