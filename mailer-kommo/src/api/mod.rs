//! The API v4 endpoints the adapter uses, and the shapes it reads from them.

pub(crate) mod account;
pub(crate) mod entities;
pub(crate) mod fields;
pub(crate) mod notes;
pub(crate) mod tasks;
pub(crate) mod values;

use mailer_core::model::EntityKind;

/// The plural name Kommo uses in paths and in `_embedded` for an entity kind.
pub(crate) fn plural(kind: EntityKind) -> &'static str {
    match kind {
        EntityKind::Lead => "leads",
        EntityKind::Contact => "contacts",
        EntityKind::Company => "companies",
    }
}

/// The id of the first item of a write answer's `_embedded.{key}`.
pub(crate) fn created_id(body: Option<&serde_json::Value>, key: &str) -> Result<i64, crate::KommoError> {
    body.and_then(|b| b.pointer(&format!("/_embedded/{key}/0/id")))
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| crate::KommoError::Decode(format!("no id in the answer to creating {key}")))
}
