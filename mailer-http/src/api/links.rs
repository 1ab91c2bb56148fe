//! `/trigger-links`: trigger links (a link in an email that runs triggers when clicked; paste
//! `{triggerlink:N}`). An account setting: every user reads them, only an admin edits them. The five routes
//! are [`crud`](super::crud)'s; a body may leave `triggers` out (none).

use mailer_core::model::TriggerLink;
use serde::Serialize;
use utoipa::ToSchema;

use super::crud::{ApiResource, Docs};
use crate::resource::TriggerLinks;

/// A trigger link as the API answers it, with the variable to paste into a template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TriggerLinkView {
    /// The record.
    #[serde(flatten)]
    pub record: TriggerLink,
    /// What to paste into a template: `{triggerlink:N}`.
    pub variable: String,
}

impl From<TriggerLink> for TriggerLinkView {
    fn from(record: TriggerLink) -> Self {
        Self {
            variable: format!("{{triggerlink:{}}}", record.id),
            record,
        }
    }
}

impl ApiResource for TriggerLinks {
    type View = TriggerLinkView;
    const DOCS: Docs = Docs {
        list: "The account's trigger links",
        create: "Creates a trigger link (admin)",
        get: "One trigger link",
        update: "Replaces a trigger link (admin)",
        delete: "Deletes a trigger link (admin) unless a template or web page names it",
    };
}
