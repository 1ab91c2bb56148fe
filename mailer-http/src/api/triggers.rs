//! `/triggers`: triggers (actions run when an email is sent, opened, clicked or not opened). An account
//! setting: every user reads them, only an admin edits them. The five routes are [`crud`](super::crud)'s.

use mailer_core::model::Trigger;

use super::crud::{ApiResource, Docs};
use crate::resource::Triggers;

impl ApiResource for Triggers {
    type View = Trigger;
    const DOCS: Docs = Docs {
        list: "The account's triggers",
        create: "Creates a trigger (admin)",
        get: "One trigger",
        update: "Replaces a trigger (admin)",
        delete: "Deletes a trigger (admin) unless a template, trigger link or web page runs it",
    };
}
