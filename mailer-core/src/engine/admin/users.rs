//! Users and their roles: save, list, delete. An admin manages every user; a member edits their own name
//! and signature only. An account always keeps one admin at least.

use crate::error::ValidationError;
use crate::model::{AccountId, Role, User, UserId};
use crate::ports::StoreExt;

use super::references::Target;
use super::{Config, actor, bounds, check_name, refuse_in_use, store_record};
use crate::engine::{Engine, EngineError};

fn forbidden(what: &str) -> EngineError {
    EngineError::Forbidden(what.to_owned())
}

impl Engine {
    /// Saves a user (new when its id is 0) for `actor`: an admin creates and edits any user and sets roles;
    /// a member edits only their own name and signature. The last admin of an account is not demoted.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`], [`EngineError::Store`] (`NotFound`).
    pub async fn save_user(&self, actor_id: UserId, user: User) -> Result<User, EngineError> {
        let store = &*self.ports.store;
        let account = user.account;
        let me = actor(store, account, actor_id).await?;
        let old: Option<User> = if user.id.0 == 0 {
            None
        } else {
            Some(store.get(account, user.id).await?)
        };
        if me.role != Role::Admin {
            match &old {
                None => return Err(forbidden("only an admin adds users")),
                Some(old) if old.id != me.id => return Err(forbidden("a member edits their own profile only")),
                Some(old) if old.role != user.role => return Err(forbidden("only an admin changes a role")),
                Some(old) if old.crm_user != user.crm_user => {
                    return Err(forbidden("only an admin links a user to a CRM user"));
                }
                Some(_) => {}
            }
        }
        check_name("name", &user.name, 200)?;
        if user.signature_html.len() > bounds::MAX_SIGNATURE_BYTES {
            return Err(ValidationError::BodyTooLarge {
                limit: bounds::MAX_SIGNATURE_BYTES as u64,
                actual: user.signature_html.len() as u64,
            }
            .into());
        }
        if old.as_ref().is_some_and(|o| o.role == Role::Admin) && user.role != Role::Admin {
            self.keep_an_admin(account, user.id).await?;
        }
        store_record(store, user).await
    }

    /// The account's users, for any of its users.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn users(&self, account: AccountId, actor_id: UserId) -> Result<Vec<User>, EngineError> {
        actor(&*self.ports.store, account, actor_id).await?;
        Ok(self.ports.store.list(account).await?)
    }

    /// Deletes a user, as an admin, unless they own templates or mailboxes (give those to someone else
    /// first) or are the account's last admin.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::InUse`] listing what they own; [`EngineError::Store`].
    pub async fn delete_user(&self, account: AccountId, actor_id: UserId, id: UserId) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        let me = actor(store, account, actor_id).await?;
        if me.role != Role::Admin {
            return Err(forbidden("only an admin deletes users"));
        }
        let user: User = store.get(account, id).await?;
        if user.role == Role::Admin {
            self.keep_an_admin(account, id).await?;
        }
        let config = Config::load(store, account).await?;
        refuse_in_use(config.referrers(Target::User(id)))?;
        Ok(store.delete::<User>(account, id).await?)
    }

    /// Refuses when `leaving` is the account's only admin.
    async fn keep_an_admin(&self, account: AccountId, leaving: UserId) -> Result<(), EngineError> {
        let users: Vec<User> = self.ports.store.list(account).await?;
        if users.iter().any(|u| u.role == Role::Admin && u.id != leaving) {
            Ok(())
        } else {
            Err(forbidden("an account keeps one admin at least"))
        }
    }
}
