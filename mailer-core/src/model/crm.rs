//! What the core knows of CRM data: entities, fields, pipelines, and the actions it asks the CRM to do.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{CrmId, CrmUserId, EnumId, FieldId, PipelineId, StageId, Timestamp};

/// The three kinds of CRM entity an email can be about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// A lead (deal).
    Lead,
    /// A contact (person).
    Contact,
    /// A company.
    Company,
}

/// Points at one CRM entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EntityRef {
    /// Lead, contact or company.
    pub kind: EntityKind,
    /// The CRM's id of it.
    pub id: CrmId,
}

impl EntityRef {
    /// A lead.
    pub fn lead(id: i64) -> Self {
        Self {
            kind: EntityKind::Lead,
            id: CrmId(id),
        }
    }
    /// A contact.
    pub fn contact(id: i64) -> Self {
        Self {
            kind: EntityKind::Contact,
            id: CrmId(id),
        }
    }
    /// A company.
    pub fn company(id: i64) -> Self {
        Self {
            kind: EntityKind::Company,
            id: CrmId(id),
        }
    }
}

/// The type of a custom field, which decides how a value is written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text (also url, textarea).
    Text,
    /// A number.
    Numeric,
    /// One value from a list (select, radio).
    List,
    /// Several values from a list.
    Multilist,
    /// On or off (checkbox / flag).
    Switch,
    /// A date.
    Date,
}

/// One allowed value of a list or multilist field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EnumValue {
    /// The CRM's id of the value.
    pub id: EnumId,
    /// The text shown and matched exactly.
    pub value: String,
}

/// A custom field definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FieldDef {
    /// The field's id.
    pub id: FieldId,
    /// The entity kind the field belongs to.
    pub entity: EntityKind,
    /// Display name, as in `lead.fields["Budget"]`.
    pub name: String,
    /// Field type.
    pub kind: FieldKind,
    /// Allowed values for lists and multilists.
    pub enums: Vec<EnumValue>,
}

/// The current value of one custom field of an entity, as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct FieldEntry {
    /// The field's id.
    pub id: FieldId,
    /// The field's name.
    pub name: String,
    /// Its values as text (several for a multilist; a date as `YYYY-MM-DD`; a switch as `1`/`0`).
    pub values: Vec<String>,
}

/// A CRM user (responsible for entities, assignee of tasks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CrmUser {
    /// The CRM's id.
    pub id: CrmUserId,
    /// Name.
    pub name: String,
    /// Email address, if known.
    pub email: Option<String>,
}

/// One entity with its standard and custom fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Entity {
    /// Which entity this is.
    pub entity: EntityRef,
    /// Its name.
    pub name: String,
    /// Email addresses (contacts and companies).
    pub emails: Vec<String>,
    /// Phone numbers.
    pub phones: Vec<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Custom fields with their values.
    pub fields: Vec<FieldEntry>,
    /// Responsible user.
    pub responsible: Option<CrmUserId>,
    /// Lead budget.
    pub price: Option<i64>,
    /// Lead pipeline and stage.
    pub stage: Option<(PipelineId, StageId)>,
}

impl Entity {
    /// A bare entity with only a name.
    pub fn new(entity: EntityRef, name: impl Into<String>) -> Self {
        Self {
            entity,
            name: name.into(),
            emails: Vec::new(),
            phones: Vec::new(),
            tags: Vec::new(),
            fields: Vec::new(),
            responsible: None,
            price: None,
            stage: None,
        }
    }

    /// The values of a custom field, if the entity has it.
    pub fn field(&self, id: FieldId) -> Option<&FieldEntry> {
        self.fields.iter().find(|f| f.id == id)
    }
}

/// An entity with everything an email about it needs: its lead, contacts, company and responsible user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct EntityRecord {
    /// The entity the email is about.
    pub entity: Entity,
    /// The lead: the entity itself, or the first lead of a contact or company.
    pub lead: Option<Entity>,
    /// Linked contacts (a contact entity lists itself).
    pub contacts: Vec<Entity>,
    /// Linked company (a company entity is its own).
    pub company: Option<Entity>,
    /// The responsible user, resolved.
    pub responsible: Option<CrmUser>,
}

/// A pipeline and its stages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Pipeline {
    /// Pipeline id.
    pub id: PipelineId,
    /// Name.
    pub name: String,
    /// Stages in order.
    pub stages: Vec<Stage>,
}

/// A pipeline stage (status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Stage {
    /// Stage id.
    pub id: StageId,
    /// Name.
    pub name: String,
}

/// A value to write into a custom field, already checked against the field's type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum FieldValue {
    /// Replace the text.
    Text(String),
    /// Set a number (kept as the exact decimal text the user wrote).
    Numeric(String),
    /// Select this list value.
    List(EnumId),
    /// Add this value to a multilist's selection.
    MultilistAdd(EnumId),
    /// Turn a switch on or off.
    Switch(bool),
    /// Set a date.
    Date(NaiveDate),
    /// Clear the field: text emptied, lists emptied, switch off.
    Reset,
}

/// Who gets a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "kind", content = "user", rename_all = "snake_case")]
pub enum Assignee {
    /// The entity's responsible user.
    Responsible,
    /// A chosen user.
    User(CrmUserId),
}

/// One change the core asks the CRM to make, with every text already rendered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum CrmAction {
    /// Create a task on the entity.
    SetTask {
        /// Entity the task is attached to.
        entity: EntityRef,
        /// CRM task type id (1 = call, 2 = meeting in Kommo).
        task_type: i64,
        /// When it is due.
        #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
        due: Timestamp,
        /// Who gets it.
        assignee: Assignee,
        /// Task text.
        text: String,
    },
    /// Add a note.
    AddNote {
        /// Entity the note is attached to.
        entity: EntityRef,
        /// Note text.
        text: String,
    },
    /// Move a lead to a stage of a pipeline.
    ChangeStage {
        /// The lead.
        lead: CrmId,
        /// Target pipeline.
        pipeline: PipelineId,
        /// Target stage.
        stage: StageId,
    },
    /// Write a custom field.
    ChangeField {
        /// The entity whose field changes.
        entity: EntityRef,
        /// Which field.
        field: FieldId,
        /// The new value.
        value: FieldValue,
    },
    /// Create a lead linked to a contact.
    CreateLead {
        /// The contact the lead is for.
        contact: CrmId,
        /// Lead name.
        name: String,
        /// Pipeline.
        pipeline: PipelineId,
        /// Stage.
        stage: StageId,
    },
    /// Add and remove tags.
    ChangeTags {
        /// Entity whose tags change.
        entity: EntityRef,
        /// Tags to add.
        add: Vec<String>,
        /// Tags to remove.
        remove: Vec<String>,
    },
}

/// What the CRM did with an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", content = "id", rename_all = "snake_case")]
pub enum ActionOutcome {
    /// Done; nothing new was made.
    Done,
    /// Done, and the CRM made a new record (lead, task or note) with this id.
    Created(CrmId),
}
