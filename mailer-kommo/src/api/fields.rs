//! `GET /api/v4/{entity}/custom_fields`: field definitions.

use mailer_core::model::{EntityKind, EnumId, EnumValue, FieldDef, FieldId, FieldKind};
use serde::Deserialize;

use super::plural;
use crate::client::{Call, KommoClient, pages};
use crate::error::KommoError;

/// Kommo serves custom fields 50 to a page whatever `limit` says, so ask for 50 (a larger `limit`
/// would make every full page look short).
const FIELDS_PAGE: usize = 50;

/// A field definition as Kommo sends it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawFieldDef {
    pub(crate) id: i64,
    pub(crate) name: String,
    #[serde(rename = "type")]
    pub(crate) field_type: String,
    #[serde(default)]
    pub(crate) enums: Option<Vec<RawEnum>>,
}

/// One option of a list field.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawEnum {
    pub(crate) id: i64,
    pub(crate) value: String,
}

/// The model kind of a Kommo field type; `None` for types the core does not write (multitext, files …).
pub(crate) fn kind_of(field_type: &str) -> Option<FieldKind> {
    Some(match field_type {
        "text" | "textarea" | "url" | "streetaddress" => FieldKind::Text,
        "numeric" | "price" | "monetary" => FieldKind::Numeric,
        "select" | "radiobutton" => FieldKind::List,
        "multiselect" => FieldKind::Multilist,
        "checkbox" => FieldKind::Switch,
        "date" | "date_time" | "birthday" => FieldKind::Date,
        _ => return None,
    })
}

impl RawFieldDef {
    pub(crate) fn enum_ids(&self) -> impl Iterator<Item = (i64, &str)> {
        self.enums.iter().flatten().map(|e| (e.id, e.value.as_str()))
    }

    pub(crate) fn to_model(&self, entity: EntityKind) -> Option<FieldDef> {
        Some(FieldDef {
            id: FieldId(self.id),
            entity,
            name: self.name.clone(),
            kind: kind_of(&self.field_type)?,
            enums: self
                .enum_ids()
                .map(|(id, value)| EnumValue {
                    id: EnumId(id),
                    value: value.to_owned(),
                })
                .collect(),
        })
    }
}

/// Every field definition of an entity kind.
pub(crate) async fn list(client: &KommoClient, kind: EntityKind) -> Result<Vec<RawFieldDef>, KommoError> {
    let call = Call::get(format!("/api/v4/{}/custom_fields", plural(kind)));
    pages(client, call, "custom_fields", FIELDS_PAGE)
        .await?
        .into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| KommoError::Decode(format!("custom field: {e}"))))
        .collect()
}
