//! Leads, contacts and companies: `GET /api/v4/{entity}/{id}`, lists by id, `PATCH`, and lead creation.

use chrono_tz::Tz;
use mailer_core::model::{ActionOutcome, CrmId, CrmUserId, Entity, EntityKind, EntityRef, PipelineId, StageId};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::fields::RawFieldDef;
use super::values::{self, RawFieldValues};
use super::{created, plural};
use crate::client::{Call, KommoClient, MAX_PAGE, pages};
use crate::error::KommoError;

/// How many ids go into one `filter[id][]` list request.
const ID_BATCH: usize = 50;

/// A lead, contact or company as Kommo sends it (the fields the adapter reads).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawEntity {
    pub(crate) id: i64,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) price: Option<i64>,
    #[serde(default)]
    pub(crate) responsible_user_id: Option<i64>,
    #[serde(default)]
    pub(crate) status_id: Option<i64>,
    #[serde(default)]
    pub(crate) pipeline_id: Option<i64>,
    #[serde(default)]
    pub(crate) custom_fields_values: Option<Vec<RawFieldValues>>,
    #[serde(rename = "_embedded", default)]
    pub(crate) embedded: Option<Embedded>,
}

/// What an entity embeds.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Embedded {
    #[serde(default)]
    pub(crate) tags: Option<Vec<RawTag>>,
    #[serde(default)]
    pub(crate) companies: Option<Vec<IdRef>>,
    #[serde(default)]
    pub(crate) contacts: Option<Vec<IdRef>>,
    #[serde(default)]
    pub(crate) leads: Option<Vec<IdRef>>,
}

/// A tag.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RawTag {
    pub(crate) name: String,
}

/// A linked entity, by id.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct IdRef {
    pub(crate) id: i64,
}

impl RawEntity {
    fn embedded(&self) -> Embedded {
        self.embedded.clone().unwrap_or_default()
    }

    pub(crate) fn contact_ids(&self) -> Vec<i64> {
        self.embedded()
            .contacts
            .unwrap_or_default()
            .iter()
            .map(|c| c.id)
            .collect()
    }

    pub(crate) fn company_id(&self) -> Option<i64> {
        self.embedded().companies.unwrap_or_default().first().map(|c| c.id)
    }

    pub(crate) fn lead_ids(&self) -> Vec<i64> {
        self.embedded().leads.unwrap_or_default().iter().map(|c| c.id).collect()
    }

    /// The current enum ids of a list field.
    pub(crate) fn enum_ids(&self, field: i64) -> Vec<i64> {
        self.custom_fields_values
            .iter()
            .flatten()
            .filter(|f| f.field_id == field)
            .flat_map(|f| f.values.iter().flatten())
            .filter_map(|v| v.enum_id)
            .collect()
    }

    /// The model entity; `defs` name the fields, `tz` turns date timestamps into days.
    pub(crate) fn to_model(&self, kind: EntityKind, defs: &[RawFieldDef], tz: Tz) -> Entity {
        let cf = self.custom_fields_values.clone().unwrap_or_default();
        let mut entity = Entity::new(
            EntityRef {
                kind,
                id: CrmId(self.id),
            },
            self.name.clone().unwrap_or_default(),
        );
        entity.emails = values::by_code(&cf, "EMAIL");
        entity.phones = values::by_code(&cf, "PHONE");
        entity.tags = self
            .embedded()
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| t.name)
            .collect();
        entity.fields = cf
            .iter()
            .map(|f| values::entry(f, defs.iter().find(|d| d.id == f.field_id), tz))
            .collect();
        entity.responsible = self.responsible_user_id.filter(|id| *id > 0).map(CrmUserId);
        if kind == EntityKind::Lead {
            entity.price = self.price;
            entity.stage = self
                .pipeline_id
                .zip(self.status_id)
                .map(|(p, s)| (PipelineId(p), StageId(s)));
        }
        entity
    }
}

fn decode(v: Value) -> Result<RawEntity, KommoError> {
    serde_json::from_value(v).map_err(|e| KommoError::Decode(format!("entity: {e}")))
}

/// One entity with the given `with=` links; a 204 is [`KommoError::NotFound`].
pub(crate) async fn get(client: &KommoClient, entity: EntityRef, with: &[&str]) -> Result<RawEntity, KommoError> {
    let mut call = Call::get(format!("/api/v4/{}/{}", plural(entity.kind), entity.id));
    if !with.is_empty() {
        call = call.query("with", with.join(","));
    }
    let body = client.call(&call).await?.ok_or_else(|| KommoError::NotFound {
        what: match entity.kind {
            EntityKind::Lead => "lead",
            EntityKind::Contact => "contact",
            EntityKind::Company => "company",
        },
        id: entity.id.to_string(),
    })?;
    decode(body)
}

/// Entities by id, in batches of [`ID_BATCH`] ids per list request; missing ids are left out.
pub(crate) async fn by_ids(client: &KommoClient, kind: EntityKind, ids: &[i64]) -> Result<Vec<RawEntity>, KommoError> {
    let mut found = Vec::new();
    for batch in ids.chunks(ID_BATCH) {
        let mut call = Call::get(format!("/api/v4/{}", plural(kind)));
        for id in batch {
            call = call.query("filter[id][]", id);
        }
        for item in pages(client, call, plural(kind), crate::client::MAX_PAGE).await? {
            found.push(decode(item)?);
        }
    }
    // keep the order the ids were asked in
    found.sort_by_key(|e| ids.iter().position(|id| *id == e.id));
    Ok(found)
}

/// Entities by id with the given `with=` links, [`MAX_PAGE`] ids per request: one page answers each request
/// (no more entities than ids can match), so 250 entities cost one call. Missing ids are left out; the order
/// is Kommo's.
pub(crate) async fn by_ids_with(
    client: &KommoClient,
    kind: EntityKind,
    ids: &[i64],
    with: &[&str],
) -> Result<Vec<RawEntity>, KommoError> {
    let mut found = Vec::with_capacity(ids.len());
    for batch in ids.chunks(MAX_PAGE) {
        let mut call = Call::get(format!("/api/v4/{}", plural(kind)));
        for id in batch {
            call = call.query("filter[id][]", id);
        }
        if !with.is_empty() {
            call = call.query("with", with.join(","));
        }
        let call = call.query("page", 1).query("limit", MAX_PAGE);
        let Some(mut body) = client.call(&call).await? else {
            continue;
        };
        let items = match body.pointer_mut(&format!("/_embedded/{}", plural(kind))) {
            Some(Value::Array(items)) => std::mem::take(items),
            Some(_) | None => {
                return Err(KommoError::Decode(format!(
                    "no _embedded.{} in a list page",
                    plural(kind)
                )));
            }
        };
        for item in items {
            found.push(decode(item)?);
        }
    }
    Ok(found)
}

/// `PATCH /api/v4/{entity}/{id}` with one object.
pub(crate) async fn patch(client: &KommoClient, entity: EntityRef, body: Value) -> Result<(), KommoError> {
    let path = format!("/api/v4/{}/{}", plural(entity.kind), entity.id);
    client.call(&Call::with_body(Method::PATCH, path, body)).await.map(drop)
}

/// Creates a lead in a stage, linked to a contact, and returns its id.
pub(crate) async fn create_lead(client: &KommoClient, lead: Value) -> Result<ActionOutcome, KommoError> {
    let answer = client
        .call(&Call::with_body(Method::POST, "/api/v4/leads", json!([lead])))
        .await?;
    Ok(created(answer.as_ref(), "leads"))
}
