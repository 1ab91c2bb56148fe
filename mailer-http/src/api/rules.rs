//! `/pipeline-rules`: digital-pipeline rules (send a template when a lead enters or leaves a stage). An
//! account setting: every user reads them, only an admin edits them. The five routes are
//! [`crud`](super::crud)'s.

use mailer_core::model::PipelineRule;

use super::crud::{ApiResource, Docs};
use crate::resource::PipelineRules;

impl ApiResource for PipelineRules {
    type View = PipelineRule;
    const DOCS: Docs = Docs {
        list: "The account's pipeline rules",
        create: "Creates a pipeline rule (admin)",
        get: "One pipeline rule",
        update: "Replaces a pipeline rule (admin)",
        delete: "Deletes a pipeline rule (admin)",
    };
}
