//! [`KommoCrm`]: the [`Crm`] port over one [`KommoClient`] per account.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use mailer_core::model::{
    AccountId, ActionOutcome, Assignee, CrmAction, CrmUser, CrmUserId, Entity, EntityKind, EntityRecord, EntityRef,
    FieldDef, Pipeline,
};
use mailer_core::ports::{Crm, CrmCaps, CrmError};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::api::entities::{self, RawEntity};
use crate::api::{account, fields::RawFieldDef, notes, tasks, values};
use crate::client::KommoClient;
use crate::error::KommoError;

/// The [`Crm`] port over Kommo: each account of ours is one Kommo account with its own client.
#[derive(Debug, Default)]
pub struct KommoCrm {
    clients: RwLock<HashMap<AccountId, Arc<KommoClient>>>,
}

impl KommoCrm {
    /// A CRM with no accounts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the client for an account.
    pub fn add_account(&self, account: AccountId, client: KommoClient) -> Arc<KommoClient> {
        let client = Arc::new(client);
        self.clients
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(account, Arc::clone(&client));
        client
    }

    /// Removes an account's client (its access was revoked); answers whether there was one.
    pub fn remove_account(&self, account: AccountId) -> bool {
        self.clients
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&account)
            .is_some()
    }

    /// The client of an account.
    ///
    /// # Errors
    /// [`CrmError::NotFound`] when the account was never added.
    pub fn client(&self, account: AccountId) -> Result<Arc<KommoClient>, CrmError> {
        self.clients
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&account)
            .cloned()
            .ok_or_else(|| CrmError::NotFound {
                what: "Kommo account",
                id: account.to_string(),
            })
    }
}

/// A field definition, refreshing the cache once when the id is not in it (a field added since).
async fn field_def(client: &KommoClient, kind: EntityKind, field: i64) -> Result<RawFieldDef, KommoError> {
    for refresh in [false, true] {
        if let Some(def) = client
            .field_defs(kind, refresh)
            .await?
            .into_iter()
            .find(|d| d.id == field)
        {
            return Ok(def);
        }
    }
    Err(KommoError::NotFound {
        what: "field",
        id: field.to_string(),
    })
}

/// Reads an entity and everything linked to it.
async fn record(client: &KommoClient, entity: EntityRef) -> Result<EntityRecord, KommoError> {
    let with: &[&str] = match entity.kind {
        EntityKind::Lead => &["contacts"],
        EntityKind::Contact => &["leads"],
        EntityKind::Company => &["contacts", "leads"],
    };
    let raw = entities::get(client, entity, with).await?;
    let tz = client.timezone().await?;
    let model = |raw: &RawEntity, kind: EntityKind, defs: &[RawFieldDef]| raw.to_model(kind, defs, tz);
    let own_defs = client.field_defs(entity.kind, false).await?;
    let this = model(&raw, entity.kind, &own_defs);

    let contacts = match entity.kind {
        EntityKind::Contact => vec![this.clone()],
        _ => {
            let defs = client.field_defs(EntityKind::Contact, false).await?;
            entities::by_ids(client, EntityKind::Contact, &raw.contact_ids())
                .await?
                .iter()
                .map(|c| model(c, EntityKind::Contact, &defs))
                .collect()
        }
    };
    let company = match (entity.kind, raw.company_id()) {
        (EntityKind::Company, _) => Some(this.clone()),
        (_, Some(id)) => {
            let defs = client.field_defs(EntityKind::Company, false).await?;
            match entities::get(client, EntityRef::company(id), &[]).await {
                Ok(c) => Some(model(&c, EntityKind::Company, &defs)),
                Err(KommoError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            }
        }
        (_, None) => None,
    };
    let lead = match entity.kind {
        EntityKind::Lead => Some(this.clone()),
        _ => match raw.lead_ids().into_iter().min() {
            Some(id) => match entities::get(client, EntityRef::lead(id), &[]).await {
                Ok(l) => Some(model(
                    &l,
                    EntityKind::Lead,
                    &client.field_defs(EntityKind::Lead, false).await?,
                )),
                Err(KommoError::NotFound { .. }) => None,
                Err(e) => return Err(e),
            },
            None => None,
        },
    };
    let responsible = match this.responsible {
        Some(user) => account::user(client, user).await?,
        None => None,
    };
    Ok(EntityRecord {
        entity: this,
        lead,
        contacts,
        company,
        responsible,
    })
}

/// Reads several entities and what is linked to them, as [`record`] does for one, in a few list requests:
/// the entities of each kind (250 per request, with their links), then the linked contacts, companies and
/// leads the same way, and each responsible user once. Unknown entities are left out.
async fn records(client: &KommoClient, refs: &[EntityRef]) -> Result<Vec<EntityRecord>, KommoError> {
    let tz = client.timezone().await?;
    let mut out = Vec::with_capacity(refs.len());
    let mut users: HashMap<CrmUserId, Option<CrmUser>> = HashMap::new();
    for kind in [EntityKind::Lead, EntityKind::Contact, EntityKind::Company] {
        let ids: Vec<i64> = refs.iter().filter(|r| r.kind == kind).map(|r| r.id.0).collect();
        if ids.is_empty() {
            continue;
        }
        let with: &[&str] = match kind {
            EntityKind::Lead => &["contacts"],
            EntityKind::Contact => &["leads"],
            EntityKind::Company => &["contacts", "leads"],
        };
        let raws = entities::by_ids_with(client, kind, &ids, with).await?;
        let own_defs = client.field_defs(kind, false).await?;

        let linked = |pick: fn(&RawEntity) -> Vec<i64>| {
            let mut ids: Vec<i64> = raws.iter().flat_map(pick).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let contacts: HashMap<i64, Entity> = match kind {
            EntityKind::Contact => HashMap::new(),
            _ => linked_models(client, EntityKind::Contact, &linked(RawEntity::contact_ids), tz).await?,
        };
        let companies = match kind {
            EntityKind::Company => HashMap::new(),
            _ => {
                let ids = linked(|r| r.company_id().into_iter().collect());
                linked_models(client, EntityKind::Company, &ids, tz).await?
            }
        };
        let leads = match kind {
            EntityKind::Lead => HashMap::new(),
            _ => {
                let ids = linked(|r| r.lead_ids().into_iter().min().into_iter().collect());
                linked_models(client, EntityKind::Lead, &ids, tz).await?
            }
        };
        for raw in &raws {
            let this = raw.to_model(kind, &own_defs, tz);
            let contacts = match kind {
                EntityKind::Contact => vec![this.clone()],
                _ => raw
                    .contact_ids()
                    .iter()
                    .filter_map(|id| contacts.get(id).cloned())
                    .collect(),
            };
            let company = match kind {
                EntityKind::Company => Some(this.clone()),
                _ => raw.company_id().and_then(|id| companies.get(&id).cloned()),
            };
            let lead = match kind {
                EntityKind::Lead => Some(this.clone()),
                _ => raw.lead_ids().into_iter().min().and_then(|id| leads.get(&id).cloned()),
            };
            let responsible = match this.responsible {
                Some(user) => match users.get(&user) {
                    Some(known) => known.clone(),
                    None => {
                        let read = account::user(client, user).await?;
                        users.insert(user, read.clone());
                        read
                    }
                },
                None => None,
            };
            out.push(EntityRecord {
                entity: this,
                lead,
                contacts,
                company,
                responsible,
            });
        }
    }
    Ok(out)
}

/// The linked entities of one kind by id, read in batches, as models.
async fn linked_models(
    client: &KommoClient,
    kind: EntityKind,
    ids: &[i64],
    tz: chrono_tz::Tz,
) -> Result<HashMap<i64, Entity>, KommoError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let defs = client.field_defs(kind, false).await?;
    Ok(entities::by_ids_with(client, kind, ids, &[])
        .await?
        .iter()
        .map(|raw| (raw.id, raw.to_model(kind, &defs, tz)))
        .collect())
}

fn tag_list(names: &[String]) -> Value {
    Value::Array(names.iter().map(|n| json!({ "name": n })).collect())
}

async fn apply(client: &KommoClient, action: &CrmAction) -> Result<ActionOutcome, KommoError> {
    match action {
        CrmAction::SetTask {
            entity,
            task_type,
            due,
            assignee,
            text,
        } => {
            let responsible = match assignee {
                Assignee::User(user) => Some(*user),
                Assignee::Responsible => entities::get(client, *entity, &[])
                    .await?
                    .responsible_user_id
                    .map(mailer_core::model::CrmUserId),
            };
            let task = tasks::NewTask {
                entity: *entity,
                task_type: *task_type,
                complete_till: due.timestamp(),
                responsible,
                text,
            };
            tasks::add(client, &task).await
        }
        CrmAction::AddNote { entity, text } => notes::add(client, *entity, text).await,
        CrmAction::ChangeStage { lead, pipeline, stage } => {
            // Both ids always: 142/143 exist in every pipeline, so a status alone is ambiguous.
            let body = json!({ "pipeline_id": pipeline.0, "status_id": stage.0 });
            match entities::patch(client, EntityRef::lead(lead.0), body).await {
                Err(KommoError::Invalid { violations, .. })
                    if violations
                        .iter()
                        .any(|v| v.path == "status_id" || v.path == "pipeline_id") =>
                {
                    Err(KommoError::NotFound {
                        what: "stage",
                        id: format!("{pipeline}/{stage}"),
                    })
                }
                other => other.map(|()| ActionOutcome::Done),
            }
        }
        CrmAction::ChangeField { entity, field, value } => {
            let def = field_def(client, entity.kind, field.0).await?;
            let current = match value {
                mailer_core::model::FieldValue::MultilistAdd(_) => {
                    entities::get(client, *entity, &[]).await?.enum_ids(field.0)
                }
                _ => Vec::new(),
            };
            let tz = client.timezone().await?;
            let item = values::write(&def, value, &current, tz)?;
            entities::patch(client, *entity, json!({ "custom_fields_values": [item] })).await?;
            Ok(ActionOutcome::Done)
        }
        CrmAction::CreateLead {
            contact,
            name,
            pipeline,
            stage,
        } => {
            let owner = entities::get(client, EntityRef::contact(contact.0), &[]).await?;
            let mut lead = json!({
                "name": name,
                "pipeline_id": pipeline.0,
                "status_id": stage.0,
                "_embedded": { "contacts": [{ "id": contact.0, "is_main": true }] },
                "request_id": "0",
            });
            if let (Some(user), Some(map)) = (owner.responsible_user_id, lead.as_object_mut()) {
                map.insert("responsible_user_id".into(), json!(user));
            }
            entities::create_lead(client, lead).await
        }
        CrmAction::ChangeTags { entity, add, remove } => {
            if add.is_empty() && remove.is_empty() {
                return Ok(ActionOutcome::Done);
            }
            let body = json!({ "tags_to_add": tag_list(add), "tags_to_delete": tag_list(remove) });
            entities::patch(client, *entity, body).await?;
            Ok(ActionOutcome::Done)
        }
    }
}

#[async_trait]
impl Crm for KommoCrm {
    fn capabilities(&self) -> CrmCaps {
        CrmCaps::ALL
    }

    async fn entity(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError> {
        let client = self.client(account)?;
        Ok(record(&client, entity).await?)
    }

    fn batch_reads(&self) -> bool {
        true
    }

    async fn entities(&self, account: AccountId, entities: &[EntityRef]) -> Result<Vec<EntityRecord>, CrmError> {
        let client = self.client(account)?;
        Ok(records(&client, entities).await?)
    }

    async fn fields(&self, account: AccountId, kind: EntityKind) -> Result<Vec<FieldDef>, CrmError> {
        let client = self.client(account)?;
        let defs = client.field_defs(kind, false).await?;
        Ok(defs.iter().filter_map(|d| d.to_model(kind)).collect())
    }

    async fn pipelines(&self, account: AccountId) -> Result<Vec<Pipeline>, CrmError> {
        let client = self.client(account)?;
        Ok(account::pipelines(&client).await?)
    }

    async fn apply(&self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        let client = self.client(account)?;
        let span = tracing::debug_span!("kommo_apply", %account);
        Ok(apply(&client, action).instrument(span).await?)
    }
}
