//! [`KommoCrm`]: the [`Crm`] port over one [`KommoClient`] per account.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use mailer_core::model::{
    AccountId, ActionOutcome, Assignee, CrmAction, EntityKind, EntityRecord, EntityRef, FieldDef, Pipeline,
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
