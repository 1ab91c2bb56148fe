//! The suppression list: an unsubscribe (and later a hard bounce) puts the address on the account's list;
//! mailings and automatic sends skip it (a `Suppressed` event), a single send to it is refused unless the
//! user overrides it explicitly. Admins list and remove entries.

use crate::model::{AccountId, Address, EmailSpec, EntityRecord, EventKind, NewEvent, Role, Suppression, User, UserId};
use crate::ports::StoreExt;
use crate::template::TokenKind;

use super::render::all_recipients;
use super::{Engine, EngineError};

/// The reason recorded for an unsubscribe.
pub const UNSUBSCRIBED: &str = "unsubscribed";

impl Engine {
    /// Handles the recipient's unsubscribe (the `/u/` link or a mail client's one-click unsubscribe): puts
    /// the token's address on the account's suppression list and records `Unsubscribed`. Doing it twice
    /// records it once. A preview token changes nothing.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token or one that is not an unsubscribe token;
    /// [`EngineError::Invalid`] when the token names no address; [`EngineError::Store`].
    pub async fn unsubscribe(&self, token: &str) -> Result<(), EngineError> {
        let token = self.verify_kind(token, |k| k == TokenKind::Unsubscribe).await?;
        if token.preview {
            return Ok(());
        }
        let address = Address::new(&token.recipient)?;
        let now = self.now();
        let added = self
            .ports
            .store
            .suppress(token.account, &address.email, UNSUBSCRIBED, now)
            .await?;
        if added {
            let event = NewEvent {
                account: token.account,
                email: token.email,
                entity: Some(token.entity).filter(|e| e.id.0 != 0),
                at: now,
                kind: EventKind::Unsubscribed,
                automated: false,
            };
            self.ports.store.append_events(vec![event]).await?;
        }
        Ok(())
    }

    /// The account's suppression list, for an admin.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`] for a member; [`EngineError::Store`].
    pub async fn suppressions(&self, account: AccountId, user: UserId) -> Result<Vec<Suppression>, EngineError> {
        self.admin(account, user).await?;
        Ok(self.ports.store.list_suppressions(account).await?)
    }

    /// Takes an address off the account's suppression list (an admin's decision, e.g. the recipient asked
    /// to be written to again); true when it was there.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`] for a member; [`EngineError::Store`].
    pub async fn remove_suppression(
        &self,
        account: AccountId,
        user: UserId,
        address: &str,
    ) -> Result<bool, EngineError> {
        self.admin(account, user).await?;
        Ok(self.ports.store.unsuppress(account, address).await?)
    }

    async fn admin(&self, account: AccountId, user: UserId) -> Result<User, EngineError> {
        let user: User = self.ports.store.get(account, user).await?;
        if user.role != Role::Admin {
            return Err(EngineError::Forbidden("only an admin sees and edits the suppression list".into()));
        }
        Ok(user)
    }

    /// Refuses a single send when a recipient (with the entity's contacts from `record`) is suppressed,
    /// unless the user overrode it.
    pub(crate) async fn check_single_suppression(
        &self,
        spec: &EmailSpec,
        record: &EntityRecord,
    ) -> Result<(), EngineError> {
        if spec.override_suppression {
            return Ok(());
        }
        let addresses: Vec<String> = all_recipients(spec, record)
            .iter()
            .map(|a| a.email.to_lowercase())
            .collect();
        if addresses.is_empty() {
            return Ok(());
        }
        let found = self.ports.store.suppressed(spec.account, &addresses).await?;
        match found.into_iter().next() {
            Some(address) => Err(EngineError::Suppressed { address }),
            None => Ok(()),
        }
    }
}
