//! Turning a configured [`Action`] into what is done: a [`CrmAction`] for the CRM, or a template to send.
//!
//! Texts are rendered by the caller's renderer (the template engine), so `{subject}`, `{sended_at}`, `{id}`,
//! `{web:N}` and CRM variables are the engine's business. Two values are this module's own, because they
//! are not text but instructions: a field value that is exactly `{reset}` clears the field, and a date
//! field value that is exactly `{date}` is the day the trigger runs in the account's timezone. Both are
//! recognised before rendering, surrounding spaces ignored.
//!
//! | field kind | value | written |
//! |---|---|---|
//! | any | `{reset}` | [`FieldValue::Reset`]: text emptied, lists emptied, switch off |
//! | text | anything | [`FieldValue::Text`], replacing the old text |
//! | numeric | `-?digits[.digits]` | [`FieldValue::Numeric`]; anything else is [`ActionError::NotANumber`] |
//! | list | an existing value, exactly (case and inner spaces count) | [`FieldValue::List`] with its id; else [`ActionError::NotInList`] |
//! | multilist | the same | [`FieldValue::MultilistAdd`]: the value is added to the selection |
//! | switch | `1` or `0` | [`FieldValue::Switch`]; else [`ActionError::NotASwitch`] |
//! | date | `YYYY-MM-DD`, or `{date}` | [`FieldValue::Date`]; else [`ActionError::NotADate`] |

use crate::error::BoxError;
use crate::model::{
    Action, CrmAction, CrmId, Deadline, EntityKind, EntityRecord, EntityRef, FieldDef, FieldId, FieldKind, FieldValue,
    TemplateId, Timestamp, Timezone,
};

use super::launch::after;

/// The value that clears a field of any kind.
pub const RESET: &str = "{reset}";

/// The date-field value that means the day the trigger runs.
pub const TODAY: &str = "{date}";

/// The entities an action can act on: the one the email or link is about, and its lead, contact and company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// The entity the email, link or page is about (tasks and notes go on it).
    pub entity: EntityRef,
    /// Its lead (the entity itself when it is a lead).
    pub lead: Option<CrmId>,
    /// The contact the email went to or who clicked (the entity itself when it is a contact).
    pub contact: Option<CrmId>,
    /// Its company (the entity itself when it is a company).
    pub company: Option<CrmId>,
}

impl Targets {
    /// Only the entity itself is known.
    pub fn of(entity: EntityRef) -> Self {
        let own = |kind| (entity.kind == kind).then_some(entity.id);
        Self {
            entity,
            lead: own(EntityKind::Lead),
            contact: own(EntityKind::Contact),
            company: own(EntityKind::Company),
        }
    }

    /// From an entity read from the CRM: its lead, first contact and company.
    pub fn from_record(record: &EntityRecord) -> Self {
        let base = Self::of(record.entity.entity);
        Self {
            entity: base.entity,
            lead: base.lead.or(record.lead.as_ref().map(|l| l.entity.id)),
            contact: base.contact.or(record.contacts.first().map(|c| c.entity.id)),
            company: base.company.or(record.company.as_ref().map(|c| c.entity.id)),
        }
    }

    /// The target of this kind, if known.
    pub fn get(&self, kind: EntityKind) -> Option<CrmId> {
        match kind {
            EntityKind::Lead => self.lead,
            EntityKind::Contact => self.contact,
            EntityKind::Company => self.company,
        }
    }
}

/// Everything an action needs besides its texts.
#[derive(Debug, Clone, Copy)]
pub struct ActionContext<'a> {
    /// What it acts on.
    pub targets: Targets,
    /// The account's custom field definitions (all entity kinds).
    pub fields: &'a [FieldDef],
    /// The account's timezone (`{date}`, end of day).
    pub timezone: Timezone,
    /// When the trigger runs.
    pub now: Timestamp,
}

/// A resolved action.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// Ask the CRM to do this.
    Crm(CrmAction),
    /// Send an email with this template to the entity (an automatic send: check the loop budget first).
    SendTemplate(TemplateId),
}

/// Why an action cannot be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionError {
    /// The renderer failed on one of the action's texts.
    #[error("rendering the {what} failed")]
    Render {
        /// Which text.
        what: &'static str,
        /// The renderer's error.
        #[source]
        source: BoxError,
    },
    /// The action acts on an entity the email is not linked to.
    #[error("there is no {kind:?} to act on")]
    NoTarget {
        /// The kind of entity missing.
        kind: EntityKind,
    },
    /// The field is not among the account's fields of that entity kind.
    #[error("{entity:?} field {field} does not exist")]
    UnknownField {
        /// The entity kind.
        entity: EntityKind,
        /// The field id.
        field: FieldId,
    },
    /// A numeric field got something else.
    #[error("field {field:?} is numeric and {value:?} is not a number")]
    NotANumber {
        /// The field's name.
        field: String,
        /// The rendered value.
        value: String,
    },
    /// A list or multilist field got a value that is not one of its values.
    #[error("{value:?} is not a value of the list field {field:?} (values: {allowed:?})")]
    NotInList {
        /// The field's name.
        field: String,
        /// The rendered value.
        value: String,
        /// The field's values.
        allowed: Vec<String>,
    },
    /// A switch got something other than `1` or `0`.
    #[error("switch field {field:?} takes 1 or 0, not {value:?}")]
    NotASwitch {
        /// The field's name.
        field: String,
        /// The rendered value.
        value: String,
    },
    /// A date field got something other than `YYYY-MM-DD` or `{date}`.
    #[error("date field {field:?} takes YYYY-MM-DD or {{date}}, not {value:?}")]
    NotADate {
        /// The field's name.
        field: String,
        /// The rendered value.
        value: String,
    },
    /// The task's deadline cannot be represented.
    #[error("the task deadline is out of range")]
    DeadlineOutOfRange,
}

/// Resolves an action: renders its texts with `render`, checks field values against the field's kind and
/// fills in the entity, deadline and date.
///
/// `render` gets each text as configured and returns it rendered (the template engine, with `{subject}`,
/// `{sended_at}`, `{id}`, `{date}`, `{web:N}` and CRM variables).
///
/// # Errors
/// [`ActionError`]: a text fails to render, the entity to act on is missing, the field is unknown, or its
/// value does not fit its kind (see the module table).
pub fn resolve<F, E>(action: &Action, ctx: &ActionContext<'_>, mut render: F) -> Result<Resolved, ActionError>
where
    F: FnMut(&str) -> Result<String, E>,
    E: Into<BoxError>,
{
    let mut text =
        |what: &'static str, source: &str| render(source).map_err(|e| ActionError::Render { what, source: e.into() });
    let target = |kind: EntityKind| -> Result<EntityRef, ActionError> {
        ctx.targets
            .get(kind)
            .map(|id| EntityRef { kind, id })
            .ok_or(ActionError::NoTarget { kind })
    };
    let crm = match action {
        Action::SendEmail { template } => return Ok(Resolved::SendTemplate(*template)),
        Action::SetTask {
            task_type,
            deadline,
            assignee,
            text: source,
        } => CrmAction::SetTask {
            entity: ctx.targets.entity,
            task_type: *task_type,
            due: due(*deadline, ctx)?,
            assignee: *assignee,
            text: text("task text", source)?,
        },
        Action::AddNote { text: source } => CrmAction::AddNote {
            entity: ctx.targets.entity,
            text: text("note text", source)?,
        },
        Action::ChangeStage { pipeline, stage } => CrmAction::ChangeStage {
            lead: target(EntityKind::Lead)?.id,
            pipeline: *pipeline,
            stage: *stage,
        },
        Action::ChangeField { entity, field, value } => {
            let def = ctx
                .fields
                .iter()
                .find(|d| d.id == *field && d.entity == *entity)
                .ok_or(ActionError::UnknownField {
                    entity: *entity,
                    field: *field,
                })?;
            let value = match value.trim() {
                RESET => FieldValue::Reset,
                TODAY if def.kind == FieldKind::Date => FieldValue::Date(ctx.timezone.date_of(ctx.now)),
                _ => field_value(def, &text("field value", value)?)?,
            };
            CrmAction::ChangeField {
                entity: target(*entity)?,
                field: *field,
                value,
            }
        }
        Action::CreateLead { name, pipeline, stage } => CrmAction::CreateLead {
            contact: target(EntityKind::Contact)?.id,
            name: text("lead name", name)?,
            pipeline: *pipeline,
            stage: *stage,
        },
        Action::ChangeTags { entity, add, remove } => {
            let mut tags = |what, list: &[String]| -> Result<Vec<String>, ActionError> {
                let mut out = Vec::with_capacity(list.len());
                for tag in list {
                    let tag = text(what, tag)?.trim().to_owned();
                    if !tag.is_empty() && !out.contains(&tag) {
                        out.push(tag);
                    }
                }
                Ok(out)
            };
            CrmAction::ChangeTags {
                entity: target(*entity)?,
                add: tags("tag to add", add)?,
                remove: tags("tag to remove", remove)?,
            }
        }
    };
    Ok(Resolved::Crm(crm))
}

/// Checks a rendered value against a field's kind (the module table; `{reset}` is handled before).
///
/// # Errors
/// [`ActionError::NotANumber`], [`ActionError::NotInList`], [`ActionError::NotASwitch`] or
/// [`ActionError::NotADate`] when the value does not fit.
pub fn field_value(def: &FieldDef, rendered: &str) -> Result<FieldValue, ActionError> {
    let value = rendered.trim();
    let bad = || value.to_owned();
    match def.kind {
        FieldKind::Text => Ok(FieldValue::Text(rendered.to_owned())),
        FieldKind::Numeric if is_number(value) => Ok(FieldValue::Numeric(value.to_owned())),
        FieldKind::Numeric => Err(ActionError::NotANumber {
            field: def.name.clone(),
            value: bad(),
        }),
        FieldKind::List | FieldKind::Multilist => {
            let Some(found) = def.enums.iter().find(|e| e.value == value) else {
                return Err(ActionError::NotInList {
                    field: def.name.clone(),
                    value: bad(),
                    allowed: def.enums.iter().map(|e| e.value.clone()).collect(),
                });
            };
            Ok(if def.kind == FieldKind::List {
                FieldValue::List(found.id)
            } else {
                FieldValue::MultilistAdd(found.id)
            })
        }
        FieldKind::Switch => match value {
            "1" => Ok(FieldValue::Switch(true)),
            "0" => Ok(FieldValue::Switch(false)),
            _ => Err(ActionError::NotASwitch {
                field: def.name.clone(),
                value: bad(),
            }),
        },
        FieldKind::Date => parse_date(value).map(FieldValue::Date).ok_or(ActionError::NotADate {
            field: def.name.clone(),
            value: bad(),
        }),
    }
}

/// `-?digits` with an optional `.digits`: "a number without other characters".
fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole) && frac.is_none_or(all_digits)
}

/// Exactly `YYYY-MM-DD` (zero-padded) naming a real day.
fn parse_date(value: &str) -> Option<chrono::NaiveDate> {
    let b = value.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()
}

/// When a task is due, from its deadline and the moment the trigger runs.
fn due(deadline: Deadline, ctx: &ActionContext<'_>) -> Result<Timestamp, ActionError> {
    match deadline {
        Deadline::At(at) => Ok(at),
        Deadline::After(wait) => after(ctx.now, wait).map_err(|_| ActionError::DeadlineOutOfRange),
        Deadline::EndOfDay => end_of_day(ctx.timezone, ctx.now).ok_or(ActionError::DeadlineOutOfRange),
    }
}

/// The last second of the calendar day of `at` in `tz` (23:59:59 local, DST-aware).
pub fn end_of_day(tz: Timezone, at: Timestamp) -> Option<Timestamp> {
    // A day lasts 23 to 25 hours, so 25 hours after its start is always inside the next day.
    let start = tz.start_of_day(at);
    let next_start = tz.start_of_day(start.checked_add_signed(chrono::Duration::hours(25))?);
    next_start.checked_sub_signed(chrono::Duration::seconds(1))
}
