//! Trigger links: save, list, delete. An account setting: every user uses one, an admin edits it.

use crate::error::ValidationError;
use crate::model::{AccountId, TriggerLink, TriggerLinkId, UserId};
use crate::ports::StoreExt;

use super::references::Target;
use super::{Config, actor, bounds, check_name, put, refuse_in_use, store_record};
use crate::engine::{Engine, EngineError, rights};

fn check_redirect(redirect: Option<&str>) -> Result<(), ValidationError> {
    let Some(url) = redirect else { return Ok(()) };
    let lower = url.to_ascii_lowercase();
    let reason = if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        "must be an http or https URL"
    } else if url.len() > bounds::MAX_REDIRECT_LEN {
        "must be 2,048 bytes at most"
    } else if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        "must not contain spaces or control characters"
    } else {
        return Ok(());
    };
    Err(ValidationError::Malformed {
        field: "redirect",
        reason: reason.into(),
    })
}

impl Engine {
    /// Saves a trigger link (new when its id is 0), as an admin: checks its name and redirect URL (http or
    /// https only), that its triggers exist, and refuses it when it would close an automation loop that runs
    /// without the recipient.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`], [`EngineError::UnknownReference`] (`triggers[i]`),
    /// [`EngineError::Loop`], [`EngineError::Store`].
    pub async fn save_trigger_link(&self, user: UserId, link: TriggerLink) -> Result<TriggerLink, EngineError> {
        let store = &*self.ports.store;
        let account = link.account;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "trigger links")?;
        if link.id.0 != 0 {
            store.get::<TriggerLink>(account, link.id).await?;
        }
        check_name("name", &link.name, 200)?;
        check_redirect(link.redirect.as_deref())?;
        let mut config = Config::load(store, account).await?;
        config.check_trigger_ids("triggers", &link.triggers)?;
        put(&mut config.links, link.clone());
        config.check_loops()?;
        let id = link.id;
        let saved = store_record(store, link).await;
        self.forget_hit_link(account, id);
        saved
    }

    /// The account's trigger links, for any of its users.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn trigger_links(&self, account: AccountId, user: UserId) -> Result<Vec<TriggerLink>, EngineError> {
        actor(&*self.ports.store, account, user).await?;
        Ok(self.ports.store.list(account).await?)
    }

    /// Deletes a trigger link, as an admin, unless a template or web page names it.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::InUse`]; [`EngineError::Store`].
    pub async fn delete_trigger_link(
        &self,
        account: AccountId,
        user: UserId,
        id: TriggerLinkId,
    ) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        let user = actor(store, account, user).await?;
        rights::require_admin(&user, account, "trigger links")?;
        store.get::<TriggerLink>(account, id).await?;
        let config = Config::load(store, account).await?;
        refuse_in_use(config.referrers(Target::Link(id)))?;
        let deleted = store.delete::<TriggerLink>(account, id).await;
        self.forget_hit_link(account, id);
        Ok(deleted?)
    }
}
