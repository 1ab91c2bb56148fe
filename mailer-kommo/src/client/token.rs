//! Credentials: long-lived tokens, and OAuth2 token pairs kept in a [`TokenStore`] and refreshed one
//! refresh at a time.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use mailer_core::model::{AccountId, Secret};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::{BoxError, KommoError};

/// Refresh this long before the access token expires.
const EXPIRY_MARGIN_SECS: i64 = 60;

/// An OAuth2 token pair as Kommo issued it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPair {
    /// The bearer token for API calls.
    pub access_token: Secret,
    /// The token that buys the next pair.
    pub refresh_token: Secret,
    /// When the access token expires (Unix seconds).
    pub expires_at: i64,
    /// The refresh token this pair was bought with. Kommo keeps it valid until the new refresh token is
    /// first used, so it is kept as a fallback until then.
    pub previous_refresh_token: Option<Secret>,
}

/// Where the client keeps OAuth2 tokens, so the host can put them in its own store.
///
/// The client saves a new pair before it uses it, and loads the pair when it first needs one.
#[async_trait]
pub trait TokenStore: Send + Sync + std::fmt::Debug {
    /// The account's current pair, if any.
    ///
    /// # Errors
    /// When the store fails.
    async fn load(&self, account: AccountId) -> Result<Option<TokenPair>, BoxError>;

    /// Replaces the account's pair.
    ///
    /// # Errors
    /// When the store fails; the client then keeps using the old pair.
    async fn save(&self, account: AccountId, tokens: &TokenPair) -> Result<(), BoxError>;

    /// Asks for the account's refresh lease until `until` (Unix seconds), so that of several processes
    /// sharing the store only one spends the refresh token of `held`. The default (a store used by one
    /// process, whose client refreshes one at a time anyway) always grants it.
    ///
    /// # Errors
    /// When the store fails.
    async fn lease_refresh(
        &self,
        account: AccountId,
        held: &TokenPair,
        until: i64,
        now: i64,
    ) -> Result<RefreshLease, BoxError> {
        let _ = (account, held, until, now);
        Ok(RefreshLease::Granted)
    }
}

/// The answer to [`TokenStore::lease_refresh`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefreshLease {
    /// This caller refreshes; its [`TokenStore::save`] ends the lease.
    Granted,
    /// Another process already refreshed: use this pair.
    Refreshed(TokenPair),
    /// Another process is refreshing now: wait and ask again.
    Busy,
}

/// A [`TokenStore`] in memory.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    pairs: std::sync::Mutex<HashMap<AccountId, TokenPair>>,
}

impl MemoryTokenStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding one pair.
    pub fn with(account: AccountId, tokens: TokenPair) -> Self {
        let store = Self::new();
        store.lock().insert(account, tokens);
        store
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountId, TokenPair>> {
        self.pairs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The account's pair as stored now.
    pub fn get(&self, account: AccountId) -> Option<TokenPair> {
        self.lock().get(&account).cloned()
    }
}

#[async_trait]
impl TokenStore for MemoryTokenStore {
    async fn load(&self, account: AccountId) -> Result<Option<TokenPair>, BoxError> {
        Ok(self.get(account))
    }

    async fn save(&self, account: AccountId, tokens: &TokenPair) -> Result<(), BoxError> {
        self.lock().insert(account, tokens.clone());
        Ok(())
    }
}

/// A Kommo integration's keys (Settings → Integrations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthApp {
    /// The integration id.
    pub client_id: String,
    /// The secret key.
    pub client_secret: Secret,
    /// The redirect URI configured in the integration.
    pub redirect_uri: String,
}

/// How the client authenticates.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// A long-lived token (private integrations): never refreshed; a 401 is final.
    LongLived(Secret),
    /// OAuth2 with refresh-token rotation; tokens live in the store under this account.
    OAuth {
        /// The integration's keys.
        app: OAuthApp,
        /// Where the pair lives.
        store: Arc<dyn TokenStore>,
        /// The key the pair is stored under.
        account: AccountId,
    },
}

/// The body of a token request.
#[derive(Debug, Serialize)]
pub(crate) struct GrantRequest<'a> {
    client_id: &'a str,
    client_secret: &'a str,
    grant_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    redirect_uri: &'a str,
}

/// A successful token answer.
#[derive(Debug, Deserialize)]
pub(crate) struct GrantResponse {
    access_token: String,
    refresh_token: String,
    expires_in: i64,
}

/// One way to get a token pair (what [`super::KommoClient`] posts to `/oauth2/access_token`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Grant<'a> {
    Code(&'a str),
    Refresh(&'a str),
}

impl OAuthApp {
    pub(crate) fn grant<'a>(&'a self, grant: Grant<'a>) -> GrantRequest<'a> {
        let (grant_type, code, refresh_token) = match grant {
            Grant::Code(c) => ("authorization_code", Some(c), None),
            Grant::Refresh(r) => ("refresh_token", None, Some(r)),
        };
        GrantRequest {
            client_id: &self.client_id,
            client_secret: self.client_secret.expose(),
            grant_type,
            code,
            refresh_token,
            redirect_uri: &self.redirect_uri,
        }
    }
}

impl GrantResponse {
    pub(crate) fn into_pair(self, now: i64, bought_with: Option<&str>) -> TokenPair {
        TokenPair {
            access_token: Secret::new(self.access_token),
            refresh_token: Secret::new(self.refresh_token),
            expires_at: now.saturating_add(self.expires_in),
            previous_refresh_token: bought_with.map(Secret::new),
        }
    }
}

/// The client's view of its tokens; `generation` grows on every refresh, so a request that failed with
/// an older token knows someone else already refreshed.
#[derive(Debug, Default)]
pub(crate) struct Held {
    pub(crate) pair: Option<TokenPair>,
    pub(crate) generation: u64,
}

/// The token a request goes out with.
#[derive(Debug, Clone)]
pub(crate) struct Bearer {
    pub(crate) token: Secret,
    /// `None` for long-lived tokens.
    pub(crate) generation: Option<u64>,
}

/// Credentials plus the lock that makes refreshes single-flight.
#[derive(Debug)]
pub(crate) struct Auth {
    pub(crate) credentials: Credentials,
    pub(crate) held: Mutex<Held>,
}

impl Auth {
    pub(crate) fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            held: Mutex::new(Held::default()),
        }
    }
}

/// True when a pair must be refreshed before use.
pub(crate) fn is_expiring(pair: &TokenPair, now: i64) -> bool {
    pair.expires_at <= now.saturating_add(EXPIRY_MARGIN_SECS)
}

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

pub(crate) fn store_error(err: BoxError) -> KommoError {
    KommoError::TokenStore(err)
}
