//! `POST /api/v4/tasks`.

use mailer_core::model::{ActionOutcome, CrmUserId, EntityRef};
use reqwest::Method;
use serde_json::json;

use super::{created, plural};
use crate::client::{Call, KommoClient};
use crate::error::KommoError;

/// A task to create.
#[derive(Debug)]
pub(crate) struct NewTask<'a> {
    pub(crate) entity: EntityRef,
    pub(crate) task_type: i64,
    pub(crate) complete_till: i64,
    pub(crate) responsible: Option<CrmUserId>,
    pub(crate) text: &'a str,
}

/// Creates a task and returns its id.
pub(crate) async fn add(client: &KommoClient, task: &NewTask<'_>) -> Result<ActionOutcome, KommoError> {
    let mut item = json!({
        "text": task.text,
        "complete_till": task.complete_till,
        "entity_id": task.entity.id.0,
        "entity_type": plural(task.entity.kind),
        "task_type_id": task.task_type,
        "request_id": "0",
    });
    if let (Some(user), Some(map)) = (task.responsible, item.as_object_mut()) {
        map.insert("responsible_user_id".into(), json!(user.0));
    }
    let answer = client
        .call(&Call::with_body(Method::POST, "/api/v4/tasks", json!([item])))
        .await?;
    Ok(created(answer.as_ref(), "tasks"))
}
