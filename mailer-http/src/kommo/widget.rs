//! The widget's own calls from Kommo's UI (`$authorizedAjax()`), each authenticated by its one-time
//! `X-Auth-Token` ([`widget_auth`](super::widget_auth)) and answered with CORS for the account's own Kommo
//! page only ([`widget_cors`](super::widget_cors)):
//!
//! - `GET /kommo/widget/status`: the widget's settings panel — the account's link (Kommo account, domain,
//!   status, why it is not active), never its tokens.
//! - `POST /kommo/widget/send` (`{"template_id", "entity_type": "leads"|"contacts"|"companies",
//!   "entity_id", "mailbox_id"?}`): the card's "send template" button — the template goes to the entity's
//!   contacts through the engine ([`Engine::send_template_to`]); answers `{"email_id"}`.
//! - `OPTIONS` on both: the preflight.
//!
//! [`Engine::send_template_to`]: mailer_core::engine::Engine::send_template_to

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mailer_core::model::{CrmId, EntityKind, EntityRef, MailboxId, TemplateId};
use serde::Deserialize;
use serde_json::json;

use super::widget_auth::authenticate;
use super::widget_cors::{allow, preflight, request_origin};
use crate::server::{AppState, HttpError};

/// What the card's "send template" button posts.
#[derive(Debug, Deserialize)]
struct SendRequest {
    template_id: i64,
    entity_type: String,
    entity_id: i64,
    #[serde(default)]
    mailbox_id: Option<i64>,
}

fn entity_kind(name: &str) -> Option<EntityKind> {
    match name {
        "leads" | "lead" => Some(EntityKind::Lead),
        "contacts" | "contact" => Some(EntityKind::Contact),
        "companies" | "company" => Some(EntityKind::Company),
        _ => None,
    }
}

pub(crate) async fn options(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if state.kommo.is_none() {
        return crate::routes::not_found().await;
    }
    preflight(&state, &headers).await
}

pub(crate) async fn status(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(kommo) = state.kommo.clone() else {
        return crate::routes::not_found().await;
    };
    let (link, claims) = match authenticate(&state, &kommo, &headers).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let body = json!({
        "account_id": link.external_id,
        "domain": link.domain,
        "status": link.status,
        "detail": link.detail,
        "user_id": claims.user_id,
    });
    allow(Json(body).into_response(), request_origin(&headers))
}

pub(crate) async fn send(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(kommo) = state.kommo.clone() else {
        return crate::routes::not_found().await;
    };
    let (link, _) = match authenticate(&state, &kommo, &headers).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let origin = request_origin(&headers);
    let request: SendRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return allow(
                (StatusCode::BAD_REQUEST, format!("bad request: {e}")).into_response(),
                origin,
            );
        }
    };
    let Some(kind) = entity_kind(&request.entity_type) else {
        return allow(
            (StatusCode::BAD_REQUEST, "entity_type is leads, contacts or companies").into_response(),
            origin,
        );
    };
    let entity = EntityRef {
        kind,
        id: CrmId(request.entity_id),
    };
    let sent = state
        .engine
        .send_template_to(
            link.account,
            TemplateId(request.template_id),
            request.mailbox_id.map(MailboxId),
            entity,
        )
        .await;
    let response = match sent {
        Ok(report) => Json(json!({ "email_id": report.email.0 })).into_response(),
        Err(e) => HttpError::from(e).into_response(),
    };
    allow(response, origin)
}
