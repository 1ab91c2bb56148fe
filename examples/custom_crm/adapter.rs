//! `JsonCrm`: a toy CRM whose data is one JSON file per account, and its `Crm` adapter — what an integrator
//! writes to plug another CRM into mailer. Shared by `examples/custom_crm.rs` and the test that runs the
//! CRM conformance suite against it (`tests/custom_crm.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use mailer::model::{
    AccountId, ActionOutcome, CrmAction, CrmId, CrmUser, Entity, EntityKind, EntityRecord, EntityRef, FieldDef,
    FieldEntry, FieldKind, FieldValue, Pipeline,
};
use mailer::ports::{Crm, CrmCaps, CrmError};
use serde::{Deserialize, Serialize};

/// Everything the toy CRM knows about one account: the file's content.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Data {
    /// Users.
    pub(crate) users: Vec<CrmUser>,
    /// Pipelines with their stages.
    pub(crate) pipelines: Vec<Pipeline>,
    /// Custom field definitions.
    pub(crate) fields: Vec<FieldDef>,
    /// Leads, contacts and companies.
    pub(crate) entities: Vec<Entity>,
    /// Lead or company → linked contact ids.
    pub(crate) contacts_of: BTreeMap<String, Vec<CrmId>>,
    /// Lead or contact → company id.
    pub(crate) company_of: BTreeMap<String, CrmId>,
    /// Notes: entity key and text.
    pub(crate) notes: Vec<(String, String)>,
    /// Tasks: entity key and text.
    pub(crate) tasks: Vec<(String, String)>,
    /// The last id handed out.
    pub(crate) last_id: i64,
}

/// The key of an entity in the JSON maps, e.g. `lead:42`.
pub(crate) fn key(entity: EntityRef) -> String {
    let kind = match entity.kind {
        EntityKind::Lead => "lead",
        EntityKind::Contact => "contact",
        EntityKind::Company => "company",
    };
    format!("{kind}:{}", entity.id)
}

/// The toy CRM: one JSON file per account in a folder; every change is written back at once.
#[derive(Debug)]
pub(crate) struct JsonCrm {
    dir: PathBuf,
    lock: Mutex<()>,
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> CrmError {
    CrmError::Backend(Box::new(e))
}

fn not_found(what: &'static str, id: impl ToString) -> CrmError {
    CrmError::NotFound {
        what,
        id: id.to_string(),
    }
}

impl JsonCrm {
    /// A CRM keeping its files in `dir`.
    pub(crate) fn open(dir: impl AsRef<Path>) -> Self {
        Self {
            dir: dir.as_ref().to_path_buf(),
            lock: Mutex::new(()),
        }
    }

    fn path(&self, account: AccountId) -> PathBuf {
        self.dir.join(format!("account-{account}.json"))
    }

    /// Reads an account's data (empty when it has no file yet).
    ///
    /// # Errors
    /// `CrmError::Backend` when the file cannot be read or parsed.
    pub(crate) fn load(&self, account: AccountId) -> Result<Data, CrmError> {
        match std::fs::read(self.path(account)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(backend),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Data::default()),
            Err(e) => Err(backend(e)),
        }
    }

    /// Writes an account's data.
    ///
    /// # Errors
    /// `CrmError::Backend` when the file cannot be written.
    pub(crate) fn save(&self, account: AccountId, data: &Data) -> Result<(), CrmError> {
        let json = serde_json::to_vec_pretty(data).map_err(backend)?;
        std::fs::write(self.path(account), json).map_err(backend)
    }

    /// Loads, changes and saves an account's data under one lock.
    fn change<T>(&self, account: AccountId, f: impl FnOnce(&mut Data) -> Result<T, CrmError>) -> Result<T, CrmError> {
        let _guard = self.lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut data = self.load(account)?;
        let out = f(&mut data)?;
        self.save(account, &data)?;
        Ok(out)
    }
}

impl Data {
    fn entity(&self, r: EntityRef) -> Option<&Entity> {
        self.entities.iter().find(|e| e.entity == r)
    }

    fn entity_mut(&mut self, r: EntityRef) -> Result<&mut Entity, CrmError> {
        self.entities
            .iter_mut()
            .find(|e| e.entity == r)
            .ok_or_else(|| not_found("entity", key(r)))
    }

    fn record(&self, r: EntityRef) -> Result<EntityRecord, CrmError> {
        let this = self.entity(r).ok_or_else(|| not_found("entity", key(r)))?.clone();
        let by_kind = |kind, id| self.entity(EntityRef { kind, id }).cloned();
        let contacts = match r.kind {
            EntityKind::Contact => vec![this.clone()],
            _ => self
                .contacts_of
                .get(&key(r))
                .into_iter()
                .flatten()
                .filter_map(|id| by_kind(EntityKind::Contact, *id))
                .collect(),
        };
        let company = match r.kind {
            EntityKind::Company => Some(this.clone()),
            _ => self
                .company_of
                .get(&key(r))
                .and_then(|id| by_kind(EntityKind::Company, *id)),
        };
        let lead = match r.kind {
            EntityKind::Lead => Some(this.clone()),
            _ => self
                .entities
                .iter()
                .filter(|e| e.entity.kind == EntityKind::Lead)
                .find(|l| self.contacts_of.get(&key(l.entity)).is_some_and(|c| c.contains(&r.id)))
                .cloned(),
        };
        let responsible = this
            .responsible
            .and_then(|u| self.users.iter().find(|x| x.id == u).cloned());
        Ok(EntityRecord {
            entity: this,
            lead,
            contacts,
            company,
            responsible,
        })
    }

    fn apply(&mut self, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        match action {
            CrmAction::SetTask { entity, text, .. } => {
                self.entity(*entity).ok_or_else(|| not_found("entity", key(*entity)))?;
                self.tasks.push((key(*entity), text.clone()));
                Ok(ActionOutcome::Done)
            }
            CrmAction::AddNote { entity, text } => {
                self.entity(*entity).ok_or_else(|| not_found("entity", key(*entity)))?;
                self.notes.push((key(*entity), text.clone()));
                Ok(ActionOutcome::Done)
            }
            CrmAction::ChangeStage { lead, pipeline, stage } => {
                let known = self
                    .pipelines
                    .iter()
                    .any(|p| p.id == *pipeline && p.stages.iter().any(|s| s.id == *stage));
                if !known {
                    return Err(not_found("stage", stage));
                }
                self.entity_mut(EntityRef {
                    kind: EntityKind::Lead,
                    id: *lead,
                })?
                .stage = Some((*pipeline, *stage));
                Ok(ActionOutcome::Done)
            }
            CrmAction::ChangeField { entity, field, value } => {
                let def = self
                    .fields
                    .iter()
                    .find(|d| d.id == *field && d.entity == entity.kind)
                    .cloned()
                    .ok_or_else(|| not_found("field", field))?;
                let invalid = |detail: &str| CrmError::InvalidValue {
                    field: def.name.clone(),
                    detail: detail.into(),
                };
                let enum_text = |id| {
                    def.enums
                        .iter()
                        .find(|e| e.id == id)
                        .map(|e| e.value.clone())
                        .ok_or_else(|| invalid("unknown list value"))
                };
                let target = self.entity_mut(*entity)?;
                let current: Vec<String> = target.field(*field).map(|f| f.values.clone()).unwrap_or_default();
                let values = match (value, def.kind) {
                    (FieldValue::Reset, _) => Vec::new(),
                    (FieldValue::Text(t), FieldKind::Text) => vec![t.clone()],
                    (FieldValue::Numeric(n), FieldKind::Numeric) if n.trim().parse::<f64>().is_ok() => {
                        vec![n.trim().to_owned()]
                    }
                    (FieldValue::List(id), FieldKind::List) => vec![enum_text(*id)?],
                    (FieldValue::MultilistAdd(id), FieldKind::Multilist) => {
                        let add = enum_text(*id)?;
                        let mut all = current;
                        if !all.contains(&add) {
                            all.push(add);
                        }
                        all
                    }
                    (FieldValue::Switch(on), FieldKind::Switch) => vec![if *on { "1" } else { "0" }.to_owned()],
                    (FieldValue::Date(d), FieldKind::Date) => vec![d.format("%Y-%m-%d").to_string()],
                    _ => return Err(invalid("value does not fit the field")),
                };
                target.fields.retain(|f| f.id != *field);
                target.fields.push(FieldEntry {
                    id: *field,
                    name: def.name.clone(),
                    values,
                });
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
                let responsible = self
                    .entity(contact_ref)
                    .ok_or_else(|| not_found("contact", contact))?
                    .responsible;
                self.last_id += 1;
                let lead = EntityRef {
                    kind: EntityKind::Lead,
                    id: CrmId(self.last_id),
                };
                let mut entity = Entity::new(lead, name.clone());
                entity.stage = Some((*pipeline, *stage));
                entity.responsible = responsible;
                self.entities.push(entity);
                self.contacts_of.insert(key(lead), vec![*contact]);
                Ok(ActionOutcome::Created(lead.id))
            }
            CrmAction::ChangeTags { entity, add, remove } => {
                let target = self.entity_mut(*entity)?;
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

#[async_trait]
impl Crm for JsonCrm {
    fn capabilities(&self) -> CrmCaps {
        CrmCaps::ALL
    }

    async fn entity(&self, account: AccountId, entity: EntityRef) -> Result<EntityRecord, CrmError> {
        self.load(account)?.record(entity)
    }

    async fn fields(&self, account: AccountId, kind: EntityKind) -> Result<Vec<FieldDef>, CrmError> {
        Ok(self
            .load(account)?
            .fields
            .into_iter()
            .filter(|f| f.entity == kind)
            .collect())
    }

    async fn pipelines(&self, account: AccountId) -> Result<Vec<Pipeline>, CrmError> {
        Ok(self.load(account)?.pipelines)
    }

    async fn apply(&self, account: AccountId, action: &CrmAction) -> Result<ActionOutcome, CrmError> {
        self.change(account, |data| data.apply(action))
    }
}

/// Writes the conformance suite's standard world (see `mailer::testkit::World`) into a fresh account file
/// and returns the ids it got.
///
/// # Errors
/// `CrmError::Backend` when the file cannot be written.
pub(crate) fn seed_world(crm: &JsonCrm, account: AccountId) -> Result<mailer::testkit::World, CrmError> {
    use mailer::model::{CrmUserId, EnumId, EnumValue, FieldId, PipelineId, Stage, StageId};
    let mut data = Data::default();
    let mut next = || {
        data.last_id += 1;
        data.last_id
    };
    let (manager, lead, anna, boris, company) = (
        CrmUserId(next()),
        CrmId(next()),
        CrmId(next()),
        CrmId(next()),
        CrmId(next()),
    );
    let (pipeline, stages) = (PipelineId(next()), [StageId(next()), StageId(next()), StageId(next())]);
    let mut field = |name: &str, kind: FieldKind, values: &[&str]| FieldDef {
        id: FieldId(next()),
        entity: EntityKind::Lead,
        name: name.into(),
        kind,
        enums: values
            .iter()
            .map(|v| EnumValue {
                id: EnumId(next()),
                value: (*v).into(),
            })
            .collect(),
    };
    let fields = [
        field("Comment", FieldKind::Text, &[]),
        field("Budget", FieldKind::Numeric, &[]),
        field("Payment", FieldKind::List, &["Cash", "Online"]),
        field("Service", FieldKind::Multilist, &["Cleaning", "Upgrade"]),
        field("Delivery", FieldKind::Switch, &[]),
        field("Meeting", FieldKind::Date, &[]),
    ];
    let ids = |d: &FieldDef| [d.enums[0].id, d.enums[1].id];
    let world = mailer::testkit::World {
        account,
        manager,
        lead: EntityRef {
            kind: EntityKind::Lead,
            id: lead,
        },
        anna: EntityRef {
            kind: EntityKind::Contact,
            id: anna,
        },
        boris: EntityRef {
            kind: EntityKind::Contact,
            id: boris,
        },
        company: EntityRef {
            kind: EntityKind::Company,
            id: company,
        },
        pipeline,
        stages,
        comment: fields[0].id,
        budget: fields[1].id,
        payment: (fields[2].id, ids(&fields[2])),
        service: (fields[3].id, ids(&fields[3])),
        delivery: fields[4].id,
        meeting: fields[5].id,
    };
    data.fields = fields.to_vec();
    data.users.push(CrmUser {
        id: manager,
        name: "Maria Manager".into(),
        email: Some("maria@example.com".into()),
    });
    data.pipelines.push(Pipeline {
        id: pipeline,
        name: "Sales".into(),
        stages: ["Qualified", "Offer sent", "Familiar with the offer"]
            .iter()
            .zip(stages)
            .map(|(n, id)| Stage { id, name: (*n).into() })
            .collect(),
    });
    let mut acme = Entity::new(world.company, "Acme LLC");
    acme.responsible = Some(manager);
    data.entities.push(acme);
    for (who, name, email) in [
        (world.anna, "Anna Smith", "anna@example.com"),
        (world.boris, "Boris Ivanov", "boris@example.com"),
    ] {
        let mut e = Entity::new(who, name);
        e.emails = vec![email.into()];
        e.responsible = Some(manager);
        data.entities.push(e);
        data.company_of.insert(key(who), company);
    }
    let mut offer = Entity::new(world.lead, "Offer for Acme");
    offer.price = Some(5000);
    offer.tags = vec!["vip".into()];
    offer.responsible = Some(manager);
    offer.stage = Some((pipeline, stages[0]));
    offer.fields = vec![FieldEntry {
        id: world.comment,
        name: "Comment".into(),
        values: vec!["first call".into()],
    }];
    data.entities.push(offer);
    data.contacts_of.insert(key(world.lead), vec![anna, boris]);
    data.contacts_of.insert(key(world.company), vec![anna, boris]);
    data.company_of.insert(key(world.lead), company);
    crm.save(account, &data)?;
    Ok(world)
}
