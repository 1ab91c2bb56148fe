//! `/pages`: public web pages (paste `{web:N}` into a template). An account setting: every user reads
//! them, only an admin edits them. The five routes are [`crud`](super::crud)'s.

use mailer_core::model::WebPage;
use serde::Serialize;
use utoipa::ToSchema;

use super::crud::{ApiResource, Docs};
use crate::resource::WebPages;

/// A web page as the API answers it, with the mask to paste into a template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebPageView {
    /// The record.
    #[serde(flatten)]
    pub record: WebPage,
    /// What to paste into a template: `{web:N}`.
    pub mask: String,
}

impl From<WebPage> for WebPageView {
    fn from(record: WebPage) -> Self {
        Self {
            mask: format!("{{web:{}}}", record.id),
            record,
        }
    }
}

impl ApiResource for WebPages {
    type View = WebPageView;
    const DOCS: Docs = Docs {
        list: "The account's web pages",
        create: "Creates a web page (admin)",
        get: "One web page",
        update: "Replaces a web page (admin)",
        delete: "Deletes a web page (admin) unless a template names it",
    };
}
