//! `POST /kommo/salesbot`: Salesbot's `widget_request`. The token is checked against the integration's
//! secret, the account resolved, and the answer is 200 at once (Kommo waits 2 seconds); then the chosen
//! template (`data.template_id`, optionally `data.mailbox_id`) goes to the bot's entity and the bot is
//! continued through its `return_url` with `{"data": {"status": "sent", "email_id": …}}` or
//! `{"data": {"status": "error", "error": …}}`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mailer_core::engine::Engine;
use mailer_core::model::{AccountId, EntityKind, EntityRef, MailboxId, TemplateId};
use mailer_kommo::hooks::{WidgetRequest, parse_widget_request};
use serde_json::{Value, json};

use super::KommoHost;
use crate::server::AppState;

fn number(data: &Value, key: &str) -> Option<i64> {
    match data.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) async fn widget_request(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(kommo) = state.kommo.clone() else {
        return crate::routes::not_found().await;
    };
    // Kommo signs with its wall clock: the token's window is checked against ours, not the engine's.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let request = match parse_widget_request(&body, &kommo.app.client_secret, now) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "Salesbot request refused");
            return (StatusCode::UNAUTHORIZED, "refused").into_response();
        }
    };
    let account = match state.engine.crm_link_by_external(request.claims.account_id).await {
        Ok(Some(link)) if link.status != mailer_core::model::LinkStatus::Disabled => link.account,
        _ => {
            tracing::warn!(
                kommo_account = request.claims.account_id,
                "Salesbot request for an unknown or disabled account refused"
            );
            return (StatusCode::FORBIDDEN, "unknown account").into_response();
        }
    };
    let engine = state.engine.clone();
    tokio::spawn(async move { run(&engine, &kommo, account, request).await });
    (StatusCode::OK, "ok").into_response()
}

/// Sends the template and continues the bot with the result.
async fn run(engine: &Arc<Engine>, kommo: &KommoHost, account: AccountId, request: WidgetRequest) {
    let kind = match request.claims.entity_type {
        Some(1) => Some(EntityKind::Contact),
        Some(3) => Some(EntityKind::Company),
        Some(2) | None => Some(EntityKind::Lead),
        _ => None,
    };
    let result = match (number(&request.data, "template_id"), request.claims.entity_id, kind) {
        (Some(template), Some(id), Some(kind)) => {
            let mailbox = number(&request.data, "mailbox_id").map(MailboxId);
            let entity = EntityRef {
                kind,
                id: mailer_core::model::CrmId(id),
            };
            engine
                .send_template_to(account, TemplateId(template), mailbox, entity)
                .await
                .map_err(|e| e.to_string())
        }
        (None, ..) => Err("the step names no template_id".to_owned()),
        _ => Err("the bot runs on no lead, contact or company".to_owned()),
    };
    let answer = match &result {
        Ok(report) => json!({ "data": { "status": "sent", "email_id": report.email.0 } }),
        Err(e) => json!({ "data": { "status": "error", "error": e } }),
    };
    if let Err(e) = &result {
        tracing::warn!(%account, error = %e, "Salesbot send failed");
    }
    let continued = match kommo.crm.client(account) {
        Ok(client) => client
            .continue_bot(&request.return_url, &answer)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = continued {
        tracing::error!(%account, error = %e, "the Salesbot could not be continued");
    }
}
