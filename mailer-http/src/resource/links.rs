//! Trigger links as a [`Resource`](super::Resource).

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{TriggerLink, TriggerLinkId};
use serde_json::Value;

use super::{Caller, Resource};

/// Trigger links: an account setting every user reads and only an admin edits.
#[derive(Debug, Clone, Copy, Default)]
pub struct TriggerLinks;

#[async_trait]
impl Resource for TriggerLinks {
    type Record = TriggerLink;
    type Item = TriggerLink;
    const PATH: &'static str = "trigger-links";
    const NOUN: &'static str = "trigger link";

    /// A link that runs no trigger yet may leave `triggers` out.
    fn defaults(_caller: &Caller) -> Vec<(&'static str, Value)> {
        vec![("triggers", Value::Array(Vec::new()))]
    }

    fn id(item: &TriggerLink) -> i64 {
        item.id.0
    }

    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<TriggerLink>, EngineError> {
        engine.trigger_links(caller.account, caller.user).await
    }

    async fn save(engine: &Engine, caller: &Caller, record: TriggerLink) -> Result<TriggerLink, EngineError> {
        engine.save_trigger_link(caller.user, record).await
    }

    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError> {
        engine
            .delete_trigger_link(caller.account, caller.user, TriggerLinkId(id))
            .await
    }
}
