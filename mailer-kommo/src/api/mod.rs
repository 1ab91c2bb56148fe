//! The API v4 endpoints the adapter uses, and the shapes it reads from them.

pub(crate) mod account;
pub(crate) mod entities;
pub(crate) mod fields;
pub(crate) mod notes;
pub(crate) mod tasks;
pub(crate) mod values;

use mailer_core::model::{ActionOutcome, CrmId, EntityKind};

/// The plural name Kommo uses in paths and in `_embedded` for an entity kind.
pub(crate) fn plural(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Lead => "leads",
        EntityKind::Contact => "contacts",
        EntityKind::Company => "companies",
    }
}

/// What a create call made: the new id from the answer's `_embedded.{key}`, or [`ActionOutcome::Done`]
/// when Kommo answered success with an empty or non-JSON body (it does, sometimes): the record exists,
/// only its id is unknown, and failing would make the caller create it again.
pub(crate) fn created(body: Option<&serde_json::Value>, key: &str) -> ActionOutcome {
    body.and_then(|b| b.pointer(&format!("/_embedded/{key}/0/id")))
        .and_then(serde_json::Value::as_i64)
        .map_or(ActionOutcome::Done, |id| ActionOutcome::Created(CrmId(id)))
}
