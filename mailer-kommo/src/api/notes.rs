//! `POST /api/v4/{entity}/{id}/notes`.

use mailer_core::model::{ActionOutcome, EntityRef};
use reqwest::Method;
use serde_json::json;

use super::{created, plural};
use crate::client::{Call, KommoClient};
use crate::error::KommoError;

/// Adds a `common` (text) note to an entity and returns its id.
pub(crate) async fn add(client: &KommoClient, entity: EntityRef, text: &str) -> Result<ActionOutcome, KommoError> {
    let path = format!("/api/v4/{}/{}/notes", plural(entity.kind), entity.id);
    let body = json!([{ "note_type": "common", "params": { "text": text }, "request_id": "0" }]);
    let answer = client.call(&Call::with_body(Method::POST, path, body)).await?;
    Ok(created(answer.as_ref(), "notes"))
}
