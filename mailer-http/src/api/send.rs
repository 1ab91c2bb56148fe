//! `POST /send`: one email at once, ahead of the queue.

use axum::Json;
use axum::extract::State;
use mailer_core::engine::{Draft, SendReport};
use serde_json::Value;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::auth::Auth;
use super::extract::{ApiJson, decode};
use super::openapi::body_schema;
use super::problem::{ApiError, Problem};
use super::templates::sending_mailbox;
use crate::server::AppState;

/// The body of `POST /send`: the engine's [`Draft`] without `account` and `sender` (the token's); `to`,
/// `cc`, `bcc`, `attachments` (none) and `mailbox` (the caller's first) may be left out.
#[derive(Debug, Clone, Copy)]
pub struct SendRequest;

/// The fields of a draft the server fills in when a body leaves them out.
const DRAFT_DEFAULTS: [&str; 5] = ["to", "cc", "bcc", "attachments", "mailbox"];

impl PartialSchema for SendRequest {
    fn schema() -> RefOr<Schema> {
        body_schema(Draft::schema(), &["account", "sender"], &DRAFT_DEFAULTS)
    }
}

impl ToSchema for SendRequest {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        Draft::schemas(schemas);
    }
}

/// A draft from a request body: the engine's [`Draft`] without `account` and `sender` (the token's),
/// `mailbox` defaulting to the caller's first.
pub(crate) async fn draft(state: &AppState, auth: &Auth, body: Value) -> Result<Draft, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid("/body", "must be a JSON object"));
    };
    for key in ["account", "sender"] {
        if map.contains_key(key) {
            return Err(ApiError::invalid(format!("/body/{key}"), "is set by the server"));
        }
    }
    for key in ["to", "cc", "bcc", "attachments"] {
        map.entry(key).or_insert_with(|| Value::Array(Vec::new()));
    }
    let asked = match map.get("mailbox") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .ok_or_else(|| ApiError::invalid("/body/mailbox", "must be a mailbox id"))?,
        ),
    };
    let mailbox = sending_mailbox(state, auth, asked).await?;
    map.insert("mailbox".into(), mailbox.0.into());
    map.insert("account".into(), auth.account.0.into());
    map.insert("sender".into(), auth.user.id.0.into());
    decode(Value::Object(map))
}

/// Sends one email now (or at the head of the mailbox's queue when its spacing or cap makes it wait).
#[utoipa::path(post, path = "/send", tag = "send", request_body = SendRequest,
    responses((status = 200, description = "The email's id, what happened, or when it is expected to go", body = SendReport),
              (status = 409, description = "A recipient is on the suppression list", body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn send(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<Json<SendReport>, ApiError> {
    let draft = draft(&state, &auth, body).await?;
    Ok(Json(state.engine().send_single(&draft).await?))
}
