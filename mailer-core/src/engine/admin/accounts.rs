//! Accounts: the one record made without an acting user — the host creates an account (when the widget
//! is installed) together with its first admin, who then manages everything else through the other use
//! cases.

use crate::model::{Account, NewAccount, Role, User, UserId};
use crate::ports::StoreExt;

use super::check_name;
use crate::engine::{Engine, EngineError};

impl Engine {
    /// Creates an account and its first admin (`admin`'s id and account are set here; its role must be
    /// [`Role::Admin`]).
    ///
    /// # Errors
    /// [`EngineError::Invalid`] for an empty name or a first user who is not an admin;
    /// [`EngineError::Store`].
    pub async fn create_account(&self, account: NewAccount, mut admin: User) -> Result<(Account, User), EngineError> {
        check_name("account name", &account.name, 200)?;
        check_name("name", &admin.name, 200)?;
        if admin.role != Role::Admin {
            return Err(crate::error::ValidationError::Malformed {
                field: "role",
                reason: "the first user of an account is its admin".into(),
            }
            .into());
        }
        let account = self.ports.store.create_account(account).await?;
        admin.id = UserId(0);
        admin.account = account.id;
        let admin = self.ports.store.insert(admin).await?;
        Ok((account, admin))
    }
}
