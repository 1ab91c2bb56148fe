//! [`EngineTokens`]: the Kommo client's [`TokenStore`] over the engine's CRM link, so the tokens are
//! sealed in the SQL store and shared by every process on it; a save is a compare-and-swap against the
//! version last read, so a process holding stale tokens never overwrites newer ones. A refresh first
//! takes the lease ([`TokenStore::lease_refresh`]): a "refreshing until T" mark written by the same
//! compare-and-swap, so two processes never both spend a refresh token Kommo rotates.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use async_trait::async_trait;
use mailer_core::engine::Engine;
use mailer_core::model::{AccountId, LinkStatus, Secret};
use mailer_kommo::{BoxError, RefreshLease, TokenPair, TokenStore};
use serde::{Deserialize, Serialize};

/// What is sealed in the link: the pair and, while a process refreshes it, until when.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    pair: TokenPair,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refreshing_until: Option<i64>,
}

fn parse(sealed: &Secret) -> Result<Stored, BoxError> {
    Ok(serde_json::from_str(sealed.expose())?)
}

/// Kommo tokens in the engine's store (weakly held: the engine owns the CRM that owns this).
#[derive(Debug)]
pub struct EngineTokens {
    engine: Weak<Engine>,
    /// The link version each account's pair was last read or written at.
    seen: Mutex<HashMap<AccountId, i64>>,
}

impl EngineTokens {
    /// Tokens kept through `engine`.
    pub fn new(engine: &Arc<Engine>) -> Self {
        Self {
            engine: Arc::downgrade(engine),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn engine(&self) -> Result<Arc<Engine>, BoxError> {
        self.engine.upgrade().ok_or_else(|| "the engine is gone".into())
    }

    fn remember(&self, account: AccountId, version: i64) {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account, version);
    }
}

#[async_trait]
impl TokenStore for EngineTokens {
    async fn load(&self, account: AccountId) -> Result<Option<TokenPair>, BoxError> {
        let Some(link) = self.engine()?.crm_link(account).await? else {
            return Ok(None);
        };
        self.remember(account, link.version);
        if link.status == LinkStatus::Disabled {
            return Ok(None);
        }
        link.tokens.as_ref().map(|t| parse(t).map(|s| s.pair)).transpose()
    }

    async fn lease_refresh(
        &self,
        account: AccountId,
        held: &TokenPair,
        until: i64,
        now: i64,
    ) -> Result<RefreshLease, BoxError> {
        let engine = self.engine()?;
        let link = engine.crm_link(account).await?.ok_or("the account has no Kommo link")?;
        let Some(sealed) = link.tokens.as_ref().filter(|_| link.status != LinkStatus::Disabled) else {
            return Err("the account's Kommo tokens were wiped".into());
        };
        let stored = parse(sealed)?;
        if stored.pair.refresh_token != held.refresh_token {
            self.remember(account, link.version);
            return Ok(RefreshLease::Refreshed(stored.pair));
        }
        if stored.refreshing_until.is_some_and(|t| t > now) {
            return Ok(RefreshLease::Busy);
        }
        let marked = Secret::new(serde_json::to_string(&Stored {
            pair: stored.pair,
            refreshing_until: Some(until),
        })?);
        match engine.swap_crm_tokens(account, link.version, Some(marked)).await? {
            Some(version) => {
                self.remember(account, version);
                Ok(RefreshLease::Granted)
            }
            None => Ok(RefreshLease::Busy),
        }
    }

    async fn save(&self, account: AccountId, tokens: &TokenPair) -> Result<(), BoxError> {
        let engine = self.engine()?;
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&account)
            .copied();
        let expected = match seen {
            Some(v) => v,
            None => engine
                .crm_link(account)
                .await?
                .map(|l| l.version)
                .ok_or("the account has no Kommo link")?,
        };
        let sealed = Secret::new(serde_json::to_string(&Stored {
            pair: tokens.clone(),
            refreshing_until: None,
        })?);
        match engine.swap_crm_tokens(account, expected, Some(sealed)).await? {
            Some(version) => {
                self.remember(account, version);
                Ok(())
            }
            None => {
                // Another process wrote since: read again next time instead of overwriting its tokens.
                self.seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&account);
                Err("the tokens were changed by another process".into())
            }
        }
    }
}
