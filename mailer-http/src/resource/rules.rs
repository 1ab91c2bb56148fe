//! Pipeline rules as a [`Resource`](super::Resource).

use async_trait::async_trait;
use mailer_core::engine::{Engine, EngineError};
use mailer_core::model::{PipelineRule, PipelineRuleId};

use super::{Caller, Resource};

/// Pipeline rules: an account setting every user reads and only an admin edits.
#[derive(Debug, Clone, Copy, Default)]
pub struct PipelineRules;

#[async_trait]
impl Resource for PipelineRules {
    type Record = PipelineRule;
    type Item = PipelineRule;
    const PATH: &'static str = "pipeline-rules";
    const NOUN: &'static str = "pipeline rule";

    fn id(item: &PipelineRule) -> i64 {
        item.id.0
    }

    async fn list(engine: &Engine, caller: &Caller) -> Result<Vec<PipelineRule>, EngineError> {
        engine.pipeline_rules(caller.account, caller.user).await
    }

    async fn save(engine: &Engine, caller: &Caller, record: PipelineRule) -> Result<PipelineRule, EngineError> {
        engine.save_pipeline_rule(caller.user, record).await
    }

    async fn delete(engine: &Engine, caller: &Caller, id: i64) -> Result<(), EngineError> {
        engine
            .delete_pipeline_rule(caller.account, caller.user, PipelineRuleId(id))
            .await
    }
}
