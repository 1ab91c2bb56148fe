//! Triggers and trigger links: what runs, and when.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    AccountId, Assignee, EntityKind, FieldId, PipelineId, StageId, TemplateId, Timestamp, TriggerId, TriggerLinkId,
};

/// When a task is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Deadline {
    /// This long after the trigger runs.
    After(Duration),
    /// The end of the day the trigger runs, in the account's timezone.
    EndOfDay,
    /// A fixed moment.
    At(Timestamp),
}

/// The JSON shape of a [`Deadline`], for its OpenAPI schema only (a [`Duration`] has none of its own).
#[cfg(feature = "utoipa")]
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Deadline)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DeadlineSchema {
    /// This long after the trigger runs.
    After(crate::model::DurationSchema),
    /// The end of the day the trigger runs, in the account's timezone.
    EndOfDay,
    /// A fixed moment.
    #[schema(value_type = String, format = DateTime)]
    At(Timestamp),
}

/// What a trigger does, as configured: texts and values are templates rendered when it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Set a task.
    SetTask {
        /// CRM task type id.
        task_type: i64,
        /// When it is due.
        #[cfg_attr(feature = "utoipa", schema(value_type = DeadlineSchema))]
        deadline: Deadline,
        /// Who gets it.
        assignee: Assignee,
        /// Text template (`{subject}`, `{sended_at}`, CRM variables).
        text: String,
    },
    /// Add a note to the lead.
    AddNote {
        /// Text template.
        text: String,
    },
    /// Change the lead's stage and pipeline.
    ChangeStage {
        /// Target pipeline.
        pipeline: PipelineId,
        /// Target stage.
        stage: StageId,
    },
    /// Change a field of the lead, contact or company.
    ChangeField {
        /// Whose field.
        entity: EntityKind,
        /// Which field.
        field: FieldId,
        /// Value template: the text, a number, a list value, `1`/`0`, `YYYY-MM-DD`, `{date}`, `{reset}`,
        /// `{web:N}`.
        value: String,
    },
    /// Send an email with a template to the entity.
    SendEmail {
        /// The template.
        template: TemplateId,
    },
    /// Create a lead for the contact the email went to.
    CreateLead {
        /// Lead name template.
        name: String,
        /// Pipeline of the new lead.
        pipeline: PipelineId,
        /// Stage of the new lead.
        stage: StageId,
    },
    /// Add and remove tags.
    ChangeTags {
        /// Whose tags.
        entity: EntityKind,
        /// Tags to add.
        add: Vec<String>,
        /// Tags to remove.
        remove: Vec<String>,
    },
}

/// A named action with an optional delay; templates, links and pages refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Trigger {
    /// Our id of the trigger.
    pub id: TriggerId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Name, best written as what it does ("Change stage to Offer sent").
    pub name: String,
    /// What it does.
    pub action: Action,
    /// How long to wait before doing it (zero, or 1 second up).
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::model::DurationSchema))]
    pub delay: Duration,
}

/// A trigger link: `{triggerlink:N}` in a body becomes a signed URL that runs triggers when clicked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TriggerLink {
    /// The `N` of `{triggerlink:N}`.
    pub id: TriggerLinkId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Name.
    pub name: String,
    /// Runs once per entity (the first click of any of its contacts) instead of on every click.
    pub once: bool,
    /// Where the click goes; a "Thank you!" page when `None`.
    pub redirect: Option<String>,
    /// Triggers run on a click.
    pub triggers: Vec<TriggerId>,
}
