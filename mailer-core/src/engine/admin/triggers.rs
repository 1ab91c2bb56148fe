//! Triggers: save, list, delete. A trigger is an account setting: every user uses it, an admin edits it.

use crate::model::{AccountId, Action, Trigger, TriggerId, UserId};
use crate::ports::StoreExt;
use crate::template::TextTemplate;
use crate::trigger;

use super::references::Target;
use super::{Config, actor, bounds, check_name, put, refuse_in_use, store_record};
use crate::engine::{Engine, EngineError, rights};

impl Engine {
    /// Saves a trigger (new when its id is 0), as an admin: checks its name, bounds its delay and task
    /// deadline, compiles its texts, checks that the template it sends and the links and pages its texts
    /// name exist, and refuses it when it would close an automation loop that runs without the recipient
    /// (turning a "note" trigger into "send email" can close one as surely as saving a template can).
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`], [`EngineError::Template`],
    /// [`EngineError::Trigger`], [`EngineError::UnknownReference`], [`EngineError::Loop`],
    /// [`EngineError::Store`] (`NotFound` for an unknown user or trigger id).
    pub async fn save_trigger(&self, user: UserId, trigger: Trigger) -> Result<Trigger, EngineError> {
        let store = &*self.ports.store;
        let account = trigger.account;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "triggers")?;
        if trigger.id.0 != 0 {
            store.get::<Trigger>(account, trigger.id).await?;
        }
        check_name("name", &trigger.name, 200)?;
        bounds::check_trigger(&trigger)?;
        trigger::validate_trigger(&trigger)?;
        let mut config = Config::load(store, account).await?;
        config.check_trigger_refs(&trigger)?;
        let opts = config.compile_options();
        match &trigger.action {
            Action::SetTask { text, .. } | Action::AddNote { text } => {
                TextTemplate::compile(text, &opts)?;
            }
            Action::ChangeField { value, .. } => {
                TextTemplate::compile(value, &opts)?;
            }
            Action::CreateLead { name, .. } => {
                TextTemplate::compile(name, &opts)?;
            }
            _ => {}
        }
        put(&mut config.triggers, trigger.clone());
        config.check_loops()?;
        store_record(store, trigger).await
    }

    /// The account's triggers, for any of its users.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn triggers(&self, account: AccountId, user: UserId) -> Result<Vec<Trigger>, EngineError> {
        actor(&*self.ports.store, account, user).await?;
        Ok(self.ports.store.list(account).await?)
    }

    /// Deletes a trigger, as an admin, unless a template, trigger link or web page runs it.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::InUse`] listing who runs it; [`EngineError::Store`].
    pub async fn delete_trigger(&self, account: AccountId, user: UserId, id: TriggerId) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "triggers")?;
        store.get::<Trigger>(account, id).await?;
        let config = Config::load(store, account).await?;
        refuse_in_use(config.referrers(Target::Trigger(id)))?;
        Ok(store.delete::<Trigger>(account, id).await?)
    }
}
