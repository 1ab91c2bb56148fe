//! A scriptable in-memory CRM.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;

use crate::model::{
    AccountId, ActionOutcome, CrmAction, CrmId, CrmUser, CrmUserId, Entity, EntityKind, EntityRecord, EntityRef,
    FieldDef, FieldEntry, FieldKind, FieldValue, Pipeline,
};
use crate::ports::{Crm, CrmCaps, CrmError};

/// An error [`ScriptCrm`] returns on demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptedError {
    /// [`CrmError::RateLimited`] with this wait.
    RateLimited(Duration),
    /// [`CrmError::Unauthorized`].
    Unauthorized,
    /// [`CrmError::Blocked`].
    Blocked,
    /// [`CrmError::Backend`] with this message.
    Backend(String),
}

impl ScriptedError {
    fn to_error(&self) -> CrmError {
        match self {
            Self::RateLimited(d) => CrmError::RateLimited { retry_after: *d },
            Self::Unauthorized => CrmError::Unauthorized,
            Self::Blocked => CrmError::Blocked,
            Self::Backend(m) => CrmError::Backend(m.clone().into()),
        }
    }
}

/// A note the CRM holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSeen {
    /// Where it is attached.
    pub entity: EntityRef,
    /// Its text.
    pub text: String,
}

#[derive(Debug, Default)]
struct State {
    next_id: i64,
    entities: HashMap<(AccountId, EntityRef), Entity>,
    /// Lead or company → its contacts, in order.
    contacts_of: HashMap<(AccountId, EntityRef), Vec<CrmId>>,
    /// Lead or contact → its company.
    company_of: HashMap<(AccountId, EntityRef), CrmId>,
    users: HashMap<(AccountId, CrmUserId), CrmUser>,
    fields: HashMap<(AccountId, EntityKind), Vec<FieldDef>>,
    pipelines: HashMap<AccountId, Vec<Pipeline>>,
    applied: Vec<(AccountId, CrmAction)>,
    notes: Vec<(AccountId, NoteSeen)>,
    tasks: Vec<(AccountId, CrmAction)>,
    fail_apply: Vec<(u32, ScriptedError)>,
    fail_read: Vec<(u32, ScriptedError)>,
    reads: u64,
    batch_reads: bool,
    batch_calls: u64,
}

/// A [`Crm`] in memory: leads, contacts, companies, users, custom field definitions, pipelines and stages,
/// seeded by the test; every applied action is recorded and carried out with the contract's semantics;
/// failures can be scripted.
#[derive(Debug, Default)]
pub struct ScriptCrm {
    state: Mutex<State>,
}

fn take_failure(list: &mut Vec<(u32, ScriptedError)>) -> Option<CrmError> {
    let (remaining, err) = list.first_mut()?;
    let error = err.to_error();
    *remaining -= 1;
    if *remaining == 0 {
        list.remove(0);
    }
    Some(error)
}

impl ScriptCrm {
    /// An empty CRM.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// How many times an entity was read ([`Crm::entity`]) so far, failed reads included: what tests
    /// count to show a use case does not read the CRM twice.
    pub fn entity_reads(&self) -> u64 {
        self.lock().reads
    }

    /// Makes this CRM read in batches as Kommo does ([`Crm::batch_reads`] true): the engine then reads the
    /// records of a mailing's next emails ahead. Off by default.
    pub fn set_batch_reads(&self, on: bool) {
        self.lock().batch_reads = on;
    }

    /// How many batch reads ([`Crm::entities`] while [`ScriptCrm::set_batch_reads`] is on) were made,
    /// failed ones included.
    pub fn batch_calls(&self) -> u64 {
        self.lock().batch_calls
    }

    /// A fresh CRM id, for seeding.
    pub fn next_id(&self) -> CrmId {
        let mut s = self.lock();
        s.next_id += 1;
        CrmId(1_000 + s.next_id)
    }

    /// Adds or replaces an entity.
    pub fn put_entity(&self, account: AccountId, entity: Entity) {
        self.lock().entities.insert((account, entity.entity), entity);
    }

    /// Links a contact to a lead or company.
    pub fn link_contact(&self, account: AccountId, to: EntityRef, contact: CrmId) {
        let mut s = self.lock();
        let list = s.contacts_of.entry((account, to)).or_default();
        if !list.contains(&contact) {
            list.push(contact);
        }
    }

    /// Links a lead or contact to a company.
    pub fn link_company(&self, account: AccountId, from: EntityRef, company: CrmId) {
        self.lock().company_of.insert((account, from), company);
    }

    /// Adds a user.
    pub fn put_user(&self, account: AccountId, user: CrmUser) {
        self.lock().users.insert((account, user.id), user);
    }

    /// Adds a custom field definition.
    pub fn put_field(&self, account: AccountId, field: FieldDef) {
        self.lock()
            .fields
            .entry((account, field.entity))
            .or_default()
            .push(field);
    }

    /// Adds a pipeline.
    pub fn put_pipeline(&self, account: AccountId, pipeline: Pipeline) {
        self.lock().pipelines.entry(account).or_default().push(pipeline);
    }

    /// The next `times` calls of [`Crm::apply`] fail with `error`.
    pub fn fail_apply(&self, times: u32, error: ScriptedError) {
        self.lock().fail_apply.push((times, error));
    }

    /// The next `times` reads ([`Crm::entity`]) fail with `error`.
    pub fn fail_read(&self, times: u32, error: ScriptedError) {
        self.lock().fail_read.push((times, error));
    }

    /// Every action applied with success, in order.
    pub fn applied(&self, account: AccountId) -> Vec<CrmAction> {
        self.lock()
            .applied
            .iter()
            .filter(|(a, _)| *a == account)
            .map(|(_, x)| x.clone())
            .collect()
    }

    /// The notes attached to an entity.
    pub fn notes(&self, account: AccountId, entity: EntityRef) -> Vec<String> {
        self.lock()
            .notes
            .iter()
            .filter(|(a, n)| *a == account && n.entity == entity)
            .map(|(_, n)| n.text.clone())
            .collect()
    }

    /// The tasks set on an entity (as the `SetTask` actions that made them).
    pub fn tasks(&self, account: AccountId, entity: EntityRef) -> Vec<CrmAction> {
        self.lock()
            .tasks
            .iter()
            .filter(|(a, t)| *a == account && matches!(t, CrmAction::SetTask { entity: e, .. } if *e == entity))
            .map(|(_, t)| t.clone())
            .collect()
    }

    /// An entity as it is now.
    pub fn current(&self, account: AccountId, entity: EntityRef) -> Option<Entity> {
        self.lock().entities.get(&(account, entity)).cloned()
    }
}

impl State {
    fn entity(&self, account: AccountId, entity: EntityRef) -> Result<&Entity, CrmError> {
        self.entities.get(&(account, entity)).ok_or_else(|| CrmError::NotFound {
            what: "entity",
            id: format!("{:?} {}", entity.kind, entity.id),
        })
    }

    fn record(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError> {
        let this = self.entity(account, entity)?.clone();
        let get = |r: EntityRef| self.entities.get(&(account, r)).cloned();
        let company_id = match entity.kind {
            EntityKind::Company => Some(entity.id),
            _ => self.company_of.get(&(account, entity)).copied(),
        };
        let company = company_id.and_then(|id| {
            get(EntityRef {
                kind: EntityKind::Company,
                id,
            })
        });
        let contacts = match entity.kind {
            EntityKind::Contact => vec![this.clone()],
            _ => self
                .contacts_of
                .get(&(account, entity))
                .map(|ids| {
                    ids.iter()
                        .filter_map(|id| {
                            get(EntityRef {
                                kind: EntityKind::Contact,
                                id: *id,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        let lead = match entity.kind {
            EntityKind::Lead => Some(this.clone()),
            _ => {
                let mut leads: Vec<&Entity> = self
                    .contacts_of
                    .iter()
                    .filter(|((a, r), ids)| *a == account && r.kind == EntityKind::Lead && ids.contains(&entity.id))
                    .filter_map(|((_, r), _)| self.entities.get(&(account, *r)))
                    .collect();
                leads.sort_by_key(|l| l.entity.id);
                leads.first().map(|l| (*l).clone())
            }
        };
        let responsible = this.responsible.and_then(|u| self.users.get(&(account, u)).cloned());
        Ok(EntityRecord {
            entity: this,
            lead,
            contacts,
            company,
            responsible,
        })
    }

    fn field_def(
        &self,
        account: AccountId,
        kind: EntityKind,
        field: crate::model::FieldId,
    ) -> Result<&FieldDef, CrmError> {
        self.fields
            .get(&(account, kind))
            .and_then(|defs| defs.iter().find(|d| d.id == field))
            .ok_or_else(|| CrmError::NotFound {
                what: "field",
                id: field.to_string(),
            })
    }

    fn apply(&mut self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        match action {
            CrmAction::SetTask { entity, .. } => {
                self.entity(account, *entity)?;
                self.tasks.push((account, action.clone()));
                self.next_id += 1;
                Ok(ActionOutcome::Created(CrmId(1_000 + self.next_id)))
            }
            CrmAction::AddNote { entity, text } => {
                self.entity(account, *entity)?;
                self.notes.push((
                    account,
                    NoteSeen {
                        entity: *entity,
                        text: text.clone(),
                    },
                ));
                self.next_id += 1;
                Ok(ActionOutcome::Created(CrmId(1_000 + self.next_id)))
            }
            CrmAction::ChangeStage { lead, pipeline, stage } => {
                let known = self.pipelines.get(&account).is_some_and(|ps| {
                    ps.iter()
                        .any(|p| p.id == *pipeline && p.stages.iter().any(|s| s.id == *stage))
                });
                if !known {
                    return Err(CrmError::NotFound {
                        what: "stage",
                        id: format!("{pipeline}/{stage}"),
                    });
                }
                let key = (
                    account,
                    EntityRef {
                        kind: EntityKind::Lead,
                        id: *lead,
                    },
                );
                let entity = self.entities.get_mut(&key).ok_or_else(|| CrmError::NotFound {
                    what: "lead",
                    id: lead.to_string(),
                })?;
                entity.stage = Some((*pipeline, *stage));
                Ok(ActionOutcome::Done)
            }
            CrmAction::ChangeField { entity, field, value } => {
                let def = self.field_def(account, entity.kind, *field)?.clone();
                let values = field_values(&def, value)?;
                let target = self
                    .entities
                    .get_mut(&(account, *entity))
                    .ok_or_else(|| CrmError::NotFound {
                        what: "entity",
                        id: entity.id.to_string(),
                    })?;
                let pos = target.fields.iter().position(|f| f.id == *field);
                let current = pos
                    .and_then(|p| target.fields.get(p))
                    .map(|f| f.values.clone())
                    .unwrap_or_default();
                let new_values = match (value, def.kind) {
                    (FieldValue::MultilistAdd(_), _) => {
                        let mut all = current;
                        for v in values {
                            if !all.contains(&v) {
                                all.push(v);
                            }
                        }
                        all
                    }
                    _ => values,
                };
                let entry = FieldEntry {
                    id: *field,
                    name: def.name.clone(),
                    values: new_values,
                };
                match pos {
                    Some(p) => target.fields[p] = entry,
                    None => target.fields.push(entry),
                }
                Ok(ActionOutcome::Done)
            }
            CrmAction::CreateLead {
                contact,
                name,
                pipeline,
                stage,
            } => {
                let contact_ref = EntityRef {
                    kind: EntityKind::Contact,
                    id: *contact,
                };
                let responsible = self.entity(account, contact_ref)?.responsible;
                self.next_id += 1;
                let id = CrmId(1_000 + self.next_id);
                let lead_ref = EntityRef {
                    kind: EntityKind::Lead,
                    id,
                };
                let mut lead = Entity::new(lead_ref, name.clone());
                lead.stage = Some((*pipeline, *stage));
                lead.responsible = responsible;
                self.entities.insert((account, lead_ref), lead);
                self.contacts_of.insert((account, lead_ref), vec![*contact]);
                Ok(ActionOutcome::Created(id))
            }
            CrmAction::ChangeTags { entity, add, remove } => {
                let target = self
                    .entities
                    .get_mut(&(account, *entity))
                    .ok_or_else(|| CrmError::NotFound {
                        what: "entity",
                        id: entity.id.to_string(),
                    })?;
                target.tags.retain(|t| !remove.contains(t));
                for tag in add {
                    if !target.tags.contains(tag) {
                        target.tags.push(tag.clone());
                    }
                }
                Ok(ActionOutcome::Done)
            }
        }
    }
}

/// The values a field holds after `value` is written, checked against the field's type.
fn field_values(def: &FieldDef, value: &FieldValue) -> Result<Vec<String>, CrmError> {
    let invalid = |detail: &str| CrmError::InvalidValue {
        field: def.name.clone(),
        detail: detail.to_owned(),
    };
    let enum_text = |id: crate::model::EnumId| {
        def.enums
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.value.clone())
            .ok_or_else(|| invalid("unknown list value"))
    };
    match (value, def.kind) {
        (FieldValue::Reset, _) => Ok(Vec::new()),
        (FieldValue::Text(t), FieldKind::Text) => Ok(vec![t.clone()]),
        (FieldValue::Numeric(n), FieldKind::Numeric) => {
            n.trim().parse::<f64>().map_err(|_| invalid("not a number"))?;
            Ok(vec![n.trim().to_owned()])
        }
        (FieldValue::List(id), FieldKind::List) => Ok(vec![enum_text(*id)?]),
        (FieldValue::MultilistAdd(id), FieldKind::Multilist) => Ok(vec![enum_text(*id)?]),
        (FieldValue::Switch(on), FieldKind::Switch) => Ok(if *on { vec!["1".into()] } else { Vec::new() }),
        (FieldValue::Date(d), FieldKind::Date) => Ok(vec![d.format("%Y-%m-%d").to_string()]),
        _ => Err(invalid("value does not fit the field's type")),
    }
}

#[async_trait]
impl Crm for ScriptCrm {
    fn capabilities(&self) -> CrmCaps {
        CrmCaps::ALL
    }

    async fn entity(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError> {
        let mut s = self.lock();
        s.reads += 1;
        if let Some(err) = take_failure(&mut s.fail_read) {
            return Err(err);
        }
        s.record(account, entity)
    }

    fn batch_reads(&self) -> bool {
        self.lock().batch_reads
    }

    async fn entities(&self, account: AccountId, entities: &[EntityRef]) -> Result<Vec<EntityRecord>, CrmError> {
        let batch = self.lock().batch_reads;
        if !batch {
            let mut out = Vec::with_capacity(entities.len());
            for &entity in entities {
                match self.entity(account, entity).await {
                    Ok(record) => out.push(record),
                    Err(CrmError::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            return Ok(out);
        }
        let mut s = self.lock();
        s.batch_calls += 1;
        if let Some(err) = take_failure(&mut s.fail_read) {
            return Err(err);
        }
        Ok(entities.iter().filter_map(|e| s.record(account, *e).ok()).collect())
    }

    async fn fields(&self, account: AccountId, kind: EntityKind) -> Result<Vec<FieldDef>, CrmError> {
        Ok(self.lock().fields.get(&(account, kind)).cloned().unwrap_or_default())
    }

    async fn pipelines(&self, account: AccountId) -> Result<Vec<Pipeline>, CrmError> {
        Ok(self.lock().pipelines.get(&account).cloned().unwrap_or_default())
    }

    async fn apply(&self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        let mut s = self.lock();
        if let Some(err) = take_failure(&mut s.fail_apply) {
            return Err(err);
        }
        let outcome = s.apply(account, action)?;
        s.applied.push((account, action.clone()));
        Ok(outcome)
    }
}
