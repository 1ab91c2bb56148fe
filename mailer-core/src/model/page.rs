//! Public web pages and digital-pipeline rules.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AccountId, Content, MailboxId, PipelineId, PipelineRuleId, StageId, TemplateId, TriggerId, WebPageId};

/// A public web page rendered from a template with live CRM data; `{web:N}` is its URL for an entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct WebPage {
    /// The `N` of `{web:N}`.
    pub id: WebPageId,
    /// The account.
    pub account: AccountId,
    /// The browser tab's title (page header).
    pub header: String,
    /// The readable tail of the URL, e.g. `index`.
    pub slug: String,
    /// Page content, rendered like an email body.
    pub content: Content,
    /// Days the page stays available after its link is made.
    pub lifetime_days: u32,
    /// How long a rendered page is served before CRM data is read again.
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::model::DurationSchema))]
    pub cache: Duration,
    /// One of up to three subdomains, for separate analytics.
    pub subdomain: Option<String>,
    /// Triggers run when the page is opened.
    pub on_open: Vec<TriggerId>,
    /// Analytics counter number; the counter code is added around it.
    pub metric_counter: Option<String>,
    /// Google Tag Manager container id.
    pub gtm_id: Option<String>,
}

/// When a pipeline rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageEvent {
    /// The lead was created in the stage.
    Created,
    /// The lead was moved into the stage.
    MovedIn,
    /// Either.
    CreatedOrMovedIn,
    /// The responsible user of a lead in the stage changed.
    ResponsibleChanged,
    /// The tags of a lead in the stage changed.
    TagsChanged,
}

/// What happened to a lead in a stage (from a CRM webhook or the digital-pipeline hook).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StageChange {
    /// Created there.
    Created,
    /// Moved there.
    Moved,
    /// Its responsible user changed while it is there.
    ResponsibleChanged,
    /// Its tags changed while it is there.
    TagsChanged,
}

/// Conditions a lead must meet for a pipeline rule to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LeadFilter {
    /// The lead must have every one of these tags.
    pub tags_all: Vec<String>,
    /// The lead must have none of these tags.
    pub tags_none: Vec<String>,
}

/// A digital-pipeline action: a lead entering a stage sends a template, optionally delayed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PipelineRule {
    /// Our id of the rule.
    pub id: PipelineRuleId,
    /// The account.
    pub account: AccountId,
    /// The pipeline.
    pub pipeline: PipelineId,
    /// The stage.
    pub stage: StageId,
    /// Which stage event fires it.
    pub on: StageEvent,
    /// Conditions on the lead.
    pub filter: LeadFilter,
    /// The template sent.
    pub template: TemplateId,
    /// The mailbox it is sent from.
    pub mailbox: MailboxId,
    /// Wait this long before sending.
    #[cfg_attr(feature = "utoipa", schema(value_type = crate::model::DurationSchema))]
    pub delay: Duration,
}
