//! Email templates as a [`Resource`](super::Resource).

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{Template, TemplateId};
use serde_json::{Value, json};

use super::{Caller, Resource};

/// Email templates: a user sees their own and the public ones (an admin all) and edits their own; only an
/// admin edits others' templates, makes one public or changes its owner.
#[derive(Debug, Clone, Copy, Default)]
pub struct Templates;

#[async_trait]
impl Resource for Templates {
    type Record = Template;
    type Item = Template;
    const PATH: &'static str = "templates";
    const NOUN: &'static str = "template";

    /// A new template is the caller's and private, with no attachments or triggers, sent to the entity's
    /// contacts.
    fn defaults(caller: &Caller) -> Vec<(&'static str, Value)> {
        vec![
            ("owner", caller.user.0.into()),
            ("public", false.into()),
            ("signature_disabled", false.into()),
            ("attachments", Value::Array(Vec::new())),
            (
                "triggers",
                json!({"on_sent": [], "on_opened": [], "not_opened": null, "on_failed": [], "on_replied": []}),
            ),
            ("recipients", json!({"kind": "entity_contacts"})),
        ]
    }

    fn id(item: &Template) -> i64 {
        item.id.0
    }

    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<Template>, EngineError> {
        engine.templates_for(caller.account, caller.user).await
    }

    async fn save(engine: &Engine, caller: &Caller, record: Template) -> Result<Template, EngineError> {
        engine.save_template(caller.user, record).await
    }

    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError> {
        engine
            .delete_template(caller.account, caller.user, TemplateId(id))
            .await
    }
}
