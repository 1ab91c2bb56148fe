//! `GET /u/{token}` shows a confirmation with a button and changes nothing (link scanners follow every
//! GET); `POST /u/{token}` unsubscribes, from that button or as RFC 8058's one-click
//! (`List-Unsubscribe=One-Click`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Html;
use mailer_core::template::TokenKindTag;

use crate::pages;
use crate::server::{AppState, HttpError};

pub(crate) async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Html<String>, HttpError> {
    state.engine.verify_kind(&token, &[TokenKindTag::Unsubscribe]).await?;
    Ok(Html(pages::unsubscribe_confirm(&format!("/u/{token}"))))
}

pub(crate) async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Html<String>, HttpError> {
    let one_click = form_urlencoded::parse(&body).any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    state.engine.unsubscribe(&token).await?;
    state.metrics.hit("unsubscribe", Some(false));
    tracing::info!(one_click, "unsubscribed");
    Ok(Html(pages::unsubscribed()))
}
