//! Digital-pipeline rules: save, list, delete. An account setting: an admin edits it.

use crate::model::{AccountId, PipelineRule, PipelineRuleId, UserId};
use crate::ports::StoreExt;

use super::{Config, actor, bounds, put, store_record};
use crate::engine::{Engine, EngineError, rights};

impl Engine {
    /// Saves a pipeline rule (new when its id is 0), as an admin: bounds its delay, checks that its
    /// template and mailbox exist, and refuses it when it would close an automation loop that runs without
    /// the recipient (a trigger that moves the lead into the rule's stage).
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`], [`EngineError::UnknownReference`] (`template`,
    /// `mailbox`), [`EngineError::Loop`], [`EngineError::Store`].
    pub async fn save_pipeline_rule(&self, user: UserId, rule: PipelineRule) -> Result<PipelineRule, EngineError> {
        let store = &*self.ports.store;
        let account = rule.account;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "pipeline rules")?;
        if rule.id.0 != 0 {
            store.get::<PipelineRule>(account, rule.id).await?;
        }
        bounds::check_rule(&rule)?;
        let mut config = Config::load(store, account).await?;
        config.check_rule_refs(&rule)?;
        put(&mut config.rules, rule.clone());
        config.check_loops()?;
        store_record(store, rule).await
    }

    /// The account's pipeline rules, for any of its users.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn pipeline_rules(&self, account: AccountId, user: UserId) -> Result<Vec<PipelineRule>, EngineError> {
        actor(&*self.ports.store, account, user).await?;
        Ok(self.ports.store.list(account).await?)
    }

    /// Deletes a pipeline rule, as an admin (nothing refers to a rule).
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::Store`] (`NotFound`).
    pub async fn delete_pipeline_rule(
        &self,
        account: AccountId,
        user: UserId,
        id: PipelineRuleId,
    ) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "pipeline rules")?;
        Ok(store.delete::<PipelineRule>(account, id).await?)
    }
}
