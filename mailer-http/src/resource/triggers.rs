//! Triggers as a [`Resource`](super::Resource).

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{Trigger, TriggerId};

use super::{Caller, Resource};

/// Triggers: an account setting every user reads and only an admin edits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Triggers;

#[async_trait]
impl Resource for Triggers {
    type Record = Trigger;
    type Item = Trigger;
    const PATH: &'static str = "triggers";
    const NOUN: &'static str = "trigger";

    fn id(item: &Trigger) -> i64 {
        item.id.0
    }

    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<Trigger>, EngineError> {
        engine.triggers(caller.account, caller.user).await
    }

    async fn save(engine: &Engine, caller: &Caller, record: Trigger) -> Result<Trigger, EngineError> {
        engine.save_trigger(caller.user, record).await
    }

    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError> {
        engine.delete_trigger(caller.account, caller.user, TriggerId(id)).await
    }
}
