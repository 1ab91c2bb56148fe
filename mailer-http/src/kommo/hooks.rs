//! `POST /kommo/hooks/dp` (the digital-pipeline widget hook) and `POST /kommo/hooks/webhook` (account
//! webhooks): parsed, the Kommo account resolved to its tenant, and each stage event (a lead added,
//! moved, given to another responsible user or tagged differently) handed to the engine as a durable
//! timer due now ([`Engine::accept_pipeline_event`]) — so the answer is 200 at once,
//! a crash after it loses nothing, and a redelivered hook sends nothing twice. A hook for an unknown or
//! disabled account is refused (403) and logged.
//!
//! [`Engine::accept_pipeline_event`]: mailer_core::engine::Engine::accept_pipeline_event

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mailer_core::engine::PipelineEvent;
use mailer_core::model::{AccountId, LinkStatus};
use mailer_kommo::hooks::{parse_account_webhook, parse_dp_hook};

use crate::server::{AppState, HttpError};

/// The tenant of a Kommo account, or the refusal.
async fn tenant(state: &AppState, kommo_account: i64, hook: &str) -> Result<AccountId, Response> {
    match state.engine.crm_link_by_external(kommo_account).await {
        Ok(Some(link)) if link.status != LinkStatus::Disabled => Ok(link.account),
        Ok(Some(link)) => {
            tracing::warn!(hook, kommo_account, account = %link.account, "Kommo hook for a disabled account refused");
            Err((StatusCode::FORBIDDEN, "account disabled").into_response())
        }
        Ok(None) => {
            tracing::warn!(hook, kommo_account, "Kommo hook for an unknown account refused");
            Err((StatusCode::FORBIDDEN, "unknown account").into_response())
        }
        Err(e) => Err(HttpError::from(e).into_response()),
    }
}

async fn accept(state: &AppState, events: &[PipelineEvent], hook: &str) -> Response {
    for event in events {
        if let Err(e) = state.engine.accept_pipeline_event(event).await {
            tracing::error!(hook, event = %event.event_id, error = %e, "Kommo hook not kept; Kommo will redeliver it");
            return HttpError::from(e).into_response();
        }
        tracing::info!(hook, event = %event.event_id, account = %event.account, "Kommo stage event accepted");
    }
    (StatusCode::OK, "ok").into_response()
}

fn bad(hook: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::warn!(hook, error = %e, "malformed Kommo hook refused");
    (StatusCode::BAD_REQUEST, "malformed hook").into_response()
}

pub(crate) async fn dp(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let hook = match parse_dp_hook(content_type, &body) {
        Ok(h) => h,
        Err(e) => return bad("dp", &e),
    };
    let account = match tenant(&state, hook.account_id, "dp").await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    let events: Vec<PipelineEvent> = hook.pipeline_event(account).into_iter().collect();
    if events.is_empty() {
        tracing::debug!(kommo_account = hook.account_id, kind = ?hook.event.kind, "Kommo DP hook starts nothing");
    }
    accept(&state, &events, "dp").await
}

pub(crate) async fn webhook(State(state): State<AppState>, body: Bytes) -> Response {
    let hook = match parse_account_webhook(&body) {
        Ok(h) => h,
        Err(e) => return bad("webhook", &e),
    };
    let Some(kommo_account) = hook.account.id else {
        return bad("webhook", &"no account[id]");
    };
    let account = match tenant(&state, kommo_account, "webhook").await {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    accept(&state, &hook.pipeline_events(account), "webhook").await
}
