//! The CRM link of each account: install (a new tenant with its first admin, or the same tenant again),
//! a failed install recorded for the operator, revocation (tokens wiped, the queue held), the tokens'
//! compare-and-swap, and the read-only view for the admin API.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::model::{AccountId, CrmLink, LinkStatus, NewAccount, Role, Secret, Timestamp, User, UserId};

use super::{Engine, EngineError};

/// What a host learned from the CRM when an account installed the integration.
#[derive(Debug, Clone)]
pub struct CrmInstall {
    /// The account's id in the CRM.
    pub external_id: i64,
    /// The account's host in the CRM, e.g. `acme.kommo.com`.
    pub domain: String,
    /// The tokens, as the adapter serialises them.
    pub tokens: Secret,
    /// The tenant to create when this CRM account is new.
    pub account: NewAccount,
    /// The name of the tenant's first admin when it is new.
    pub admin_name: String,
}

/// An account's CRM link as the admin API shows it: never the tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CrmLinkView {
    /// The account's id in the CRM.
    pub external_id: i64,
    /// The account's host in the CRM.
    pub domain: String,
    /// Active, disabled or failed.
    pub status: LinkStatus,
    /// Why it is not active.
    pub detail: Option<String>,
    /// Whether tokens are held.
    pub has_tokens: bool,
    /// When it last changed.
    #[cfg_attr(feature = "utoipa", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl From<&CrmLink> for CrmLinkView {
    fn from(link: &CrmLink) -> Self {
        Self {
            external_id: link.external_id,
            domain: link.domain.clone(),
            status: link.status,
            detail: link.detail.clone(),
            has_tokens: link.tokens.is_some(),
            updated_at: link.updated_at,
        }
    }
}

/// The detail of a link whose access was revoked.
pub const REVOKED: &str = "access revoked in the CRM";

impl Engine {
    /// Installs (or re-installs) the integration for a CRM account: the same CRM account always maps to
    /// the same tenant; a new one gets a new tenant and its first admin. The link becomes active with the
    /// new tokens.
    ///
    /// # Errors
    /// [`EngineError::Invalid`] for an empty name; [`EngineError::Store`].
    pub async fn install_crm(&self, install: CrmInstall) -> Result<CrmLink, EngineError> {
        let store = &self.ports.store;
        let account = match store.crm_link_by_external(install.external_id).await? {
            Some(link) => link.account,
            None => {
                let admin = User {
                    id: UserId(0),
                    account: AccountId(0),
                    crm_user: None,
                    name: install.admin_name.clone(),
                    role: Role::Admin,
                    signature_html: String::new(),
                };
                self.create_account(install.account.clone(), admin).await?.0.id
            }
        };
        let link = CrmLink {
            account,
            external_id: install.external_id,
            domain: install.domain,
            status: LinkStatus::Active,
            detail: None,
            tokens: Some(install.tokens),
            version: 0,
            updated_at: self.now(),
        };
        Ok(store.put_crm_link(link).await?)
    }

    /// Records a failed install on the accounts linked to `domain` (their earlier tokens kept) so the
    /// operator sees it in the admin API; answers those accounts (none for a first install).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn crm_install_failed(&self, domain: &str, reason: &str) -> Result<Vec<AccountId>, EngineError> {
        let store = &self.ports.store;
        let mut marked = Vec::new();
        for mut link in store.list_crm_links().await? {
            if link.domain.eq_ignore_ascii_case(domain) {
                link.status = LinkStatus::Failed;
                link.detail = Some(format!("install failed: {reason}"));
                link.updated_at = self.now();
                marked.push(store.put_crm_link(link).await?.account);
            }
        }
        Ok(marked)
    }

    /// Access was revoked in the CRM: the link is disabled and its tokens wiped; the account's queue is
    /// held ([`Engine::worker_step`] gives its emails back) until it is installed again. Answers the link,
    /// or `None` for an unknown CRM account.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn revoke_crm(&self, external_id: i64) -> Result<Option<CrmLink>, EngineError> {
        let store = &self.ports.store;
        let Some(mut link) = store.crm_link_by_external(external_id).await? else {
            return Ok(None);
        };
        link.status = LinkStatus::Disabled;
        link.detail = Some(REVOKED.into());
        link.tokens = None;
        link.updated_at = self.now();
        Ok(Some(store.put_crm_link(link).await?))
    }

    /// The account's CRM link.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn crm_link(&self, account: AccountId) -> Result<Option<CrmLink>, EngineError> {
        Ok(self.ports.store.crm_link(account).await?)
    }

    /// The link of a CRM account, by its id there.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn crm_link_by_external(&self, external_id: i64) -> Result<Option<CrmLink>, EngineError> {
        Ok(self.ports.store.crm_link_by_external(external_id).await?)
    }

    /// Every CRM link.
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn crm_links(&self) -> Result<Vec<CrmLink>, EngineError> {
        Ok(self.ports.store.list_crm_links().await?)
    }

    /// The CRM link of `user`'s account as the admin API shows it.
    ///
    /// # Errors
    /// [`EngineError::Store`], or not found for an unknown user.
    pub async fn crm_link_view(&self, account: AccountId, user: UserId) -> Result<Option<CrmLinkView>, EngineError> {
        use crate::ports::StoreExt as _;
        let _user: User = self.ports.store.get(account, user).await?;
        Ok(self.crm_link(account).await?.as_ref().map(CrmLinkView::from))
    }

    /// Compare-and-swap of the account's CRM tokens (see
    /// [`Store::swap_crm_tokens`](crate::ports::Store::swap_crm_tokens)).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn swap_crm_tokens(
        &self,
        account: AccountId,
        expected: i64,
        tokens: Option<Secret>,
    ) -> Result<Option<i64>, EngineError> {
        Ok(self
            .ports
            .store
            .swap_crm_tokens(account, expected, tokens, self.now())
            .await?)
    }

    /// True when the account's CRM access is revoked, so its queue is held. `seen` keeps the answers of one
    /// batch, so a batch reads each account's link once.
    pub(crate) async fn is_held(
        &self,
        seen: &mut HashMap<AccountId, bool>,
        account: AccountId,
    ) -> Result<bool, EngineError> {
        if let Some(held) = seen.get(&account) {
            return Ok(*held);
        }
        let held = self
            .ports
            .store
            .crm_link(account)
            .await?
            .is_some_and(|l| l.status == LinkStatus::Disabled);
        seen.insert(account, held);
        Ok(held)
    }
}
