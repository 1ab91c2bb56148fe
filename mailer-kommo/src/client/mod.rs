//! The Kommo API v4 HTTP client: one per account, with its credentials, rate limit, retries and caches.

mod backoff;
mod observer;
mod pagination;
mod rate;
mod retry;
mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use mailer_core::model::{EntityKind, Secret};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::{OnceCell, RwLock};

pub use observer::{Answer, CallObserver};
pub(crate) use pagination::{MAX_PAGE, pages};
pub use retry::RetryPolicy;
pub use token::{Credentials, MemoryTokenStore, OAuthApp, RefreshLease, TokenPair, TokenStore};

use self::retry::{Outcome, classify};
/// How long a process may hold the refresh lease (and how long the others wait for it).
const REFRESH_LEASE_SECS: i64 = 30;
/// The most refreshes one request makes after 401s: a pair taken from elsewhere may be dead already
/// (bought before Kommo invalidated the tokens), then the next refresh buys one; this bounds the rounds.
const MAX_REFRESHES_AFTER_401: u8 = 3;

use self::token::{Auth, Bearer, Grant, GrantResponse, is_expiring, store_error, unix_now};
use crate::api::fields::RawFieldDef;
use crate::error::KommoError;

/// Kommo's documented limit: at most 7 requests per second.
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 7;

/// Builds a [`KommoClient`].
#[derive(Debug)]
#[must_use]
pub struct KommoBuilder {
    base_url: String,
    credentials: Option<Credentials>,
    policy: RetryPolicy,
    per_second: u32,
    timeout: Duration,
    observer: Option<Arc<dyn CallObserver>>,
}

impl KommoBuilder {
    /// Authenticates with a long-lived token.
    pub fn long_lived_token(mut self, token: Secret) -> Self {
        self.credentials = Some(Credentials::LongLived(token));
        self
    }

    /// Authenticates with OAuth2; the token pair lives in `store` under `account`.
    pub fn oauth(
        mut self,
        app: OAuthApp,
        store: std::sync::Arc<dyn TokenStore>,
        account: mailer_core::model::AccountId,
    ) -> Self {
        self.credentials = Some(Credentials::OAuth { app, store, account });
        self
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the client-side rate limit (default [`DEFAULT_REQUESTS_PER_SECOND`]).
    pub fn with_requests_per_second(mut self, per_second: u32) -> Self {
        self.per_second = per_second;
        self
    }

    /// Tells `observer` about every HTTP request the client sends, retries included.
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Replaces the per-request timeout (default 30 s).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The client.
    ///
    /// # Errors
    /// [`KommoError::Config`] without credentials or with a base URL that is not `http(s)://host[:port]`;
    /// [`KommoError::Http`] when the HTTP client cannot be built.
    pub fn build(self) -> Result<KommoClient, KommoError> {
        let credentials = self
            .credentials
            .ok_or_else(|| KommoError::Config("no credentials: call long_lived_token or oauth".into()))?;
        let base = self.base_url.trim_end_matches('/').to_owned();
        let url = reqwest::Url::parse(&base).map_err(|e| KommoError::Config(format!("base URL {base:?}: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || url.path() != "/" {
            return Err(KommoError::Config(format!(
                "base URL must be http(s)://host[:port], got {base:?}"
            )));
        }
        // reqwest is built without a default crypto provider: install ring (an Err means one is installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(concat!("mailer-kommo/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(KommoError::Http)?;
        Ok(KommoClient {
            base,
            http,
            auth: Auth::new(credentials),
            limiter: rate::RateLimiter::new(self.per_second),
            policy: self.policy,
            fields: RwLock::new(HashMap::new()),
            timezone: OnceCell::new(),
            observer: self.observer,
        })
    }
}

/// A client for one Kommo account (`https://{subdomain}.kommo.com`).
///
/// Every request waits for the client-side rate limit, carries the bearer token (refreshed ahead of
/// expiry, and after a 401: once with a pair it bought itself, or again when the pair it took from
/// another request or process is refused too), is retried after 429 (as long as the asked wait is within
/// the policy) and after 5xx with backoff, and fails with [`KommoError::Blocked`] on 403. URLs are always
/// built from the configured base, never from `_links` (which may name shard hosts).
#[derive(Debug)]
pub struct KommoClient {
    base: String,
    http: reqwest::Client,
    auth: Auth,
    limiter: rate::RateLimiter,
    policy: RetryPolicy,
    fields: RwLock<HashMap<EntityKind, Vec<RawFieldDef>>>,
    timezone: OnceCell<chrono_tz::Tz>,
    observer: Option<Arc<dyn CallObserver>>,
}

/// One API call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Option<Value>,
}

impl Call {
    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn with_body(method: Method, path: impl Into<String>, body: Value) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            body: Some(body),
        }
    }

    pub(crate) fn query(mut self, key: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((key.into(), value.to_string()));
        self
    }
}

impl KommoClient {
    /// Starts a client for the account at `base_url`, e.g. `https://acme.kommo.com`.
    pub fn builder(base_url: impl Into<String>) -> KommoBuilder {
        KommoBuilder {
            base_url: base_url.into(),
            credentials: None,
            policy: RetryPolicy::default(),
            per_second: DEFAULT_REQUESTS_PER_SECOND,
            timeout: Duration::from_secs(30),
            observer: None,
        }
    }

    /// The account's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Exchanges an authorization code (from the widget install hook or the consent redirect) for a
    /// token pair, and saves it.
    ///
    /// # Errors
    /// [`KommoError::Config`] for a client with a long-lived token, [`KommoError::Grant`] when Kommo refuses
    /// the code, [`KommoError::TokenStore`] when the pair cannot be saved, others as they come.
    pub async fn exchange_code(&self, code: &str) -> Result<TokenPair, KommoError> {
        let Credentials::OAuth { app, store, account } = &self.auth.credentials else {
            return Err(KommoError::Config("a long-lived token has no code exchange".into()));
        };
        let mut held = self.auth.held.lock().await;
        let pair = self.grant(app, Grant::Code(code)).await?;
        store.save(*account, &pair).await.map_err(store_error)?;
        held.pair = Some(pair.clone());
        held.generation += 1;
        Ok(pair)
    }

    /// Posts to the token endpoint.
    async fn grant(&self, app: &OAuthApp, grant: Grant<'_>) -> Result<TokenPair, KommoError> {
        self.limiter.acquire().await;
        let response = self
            .http
            .post(format!("{}/oauth2/access_token", self.base))
            .json(&app.grant(grant))
            .send()
            .await
            .map_err(|e| {
                self.observe(Answer::Network, false);
                KommoError::Http(e)
            })?;
        let status = response.status().as_u16();
        self.observe(Answer::Status(status), false);
        let body = response.bytes().await.map_err(KommoError::Http)?;
        match status {
            200..=299 => {
                let answer: GrantResponse =
                    serde_json::from_slice(&body).map_err(|e| KommoError::Decode(format!("token answer: {e}")))?;
                let bought_with = match grant {
                    Grant::Refresh(rt) => Some(rt),
                    Grant::Code(_) => None,
                };
                Ok(answer.into_pair(unix_now(), bought_with))
            }
            400 | 401 => {
                let hint = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| {
                        ["hint", "detail", "title"]
                            .iter()
                            .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_owned))
                    })
                    .unwrap_or_else(|| format!("HTTP {status}"));
                Err(KommoError::Grant(hint))
            }
            403 => Err(KommoError::Blocked),
            _ => Err(KommoError::Status { status }),
        }
    }

    /// The token for the next request, refreshing first if it is about to expire.
    async fn bearer(&self) -> Result<Bearer, KommoError> {
        let (app, store, account) = match &self.auth.credentials {
            Credentials::LongLived(token) => {
                return Ok(Bearer {
                    token: token.clone(),
                    generation: None,
                });
            }
            Credentials::OAuth { app, store, account } => (app, store, *account),
        };
        let mut held = self.auth.held.lock().await;
        if held.pair.is_none() {
            held.pair = store.load(account).await.map_err(store_error)?;
        }
        let pair = held.pair.clone().ok_or(KommoError::Unauthorized)?;
        if is_expiring(&pair, unix_now()) {
            self.refresh_locked(&mut held, app, store.as_ref(), account).await?;
        }
        let pair = held.pair.as_ref().ok_or(KommoError::Unauthorized)?;
        Ok(Bearer {
            token: pair.access_token.clone(),
            generation: Some(held.generation),
        })
    }

    /// After a 401 with the token of `generation`: refreshes, unless another request already did. True
    /// when this call bought the new pair itself (false: it took a pair from another request or process).
    async fn refresh_after_401(&self, generation: u64) -> Result<bool, KommoError> {
        let Credentials::OAuth { app, store, account } = &self.auth.credentials else {
            return Err(KommoError::Unauthorized);
        };
        let mut held = self.auth.held.lock().await;
        if held.generation != generation {
            return Ok(false);
        }
        self.refresh_locked(&mut held, app, store.as_ref(), *account).await
    }

    /// Buys a new pair with the current refresh token, or with the previous one if the current one is
    /// refused; saves it before anyone uses it. Runs under the lock: one refresh at a time. True when
    /// it bought the pair, false when it took a newer one from the store.
    async fn refresh_locked(
        &self,
        held: &mut token::Held,
        app: &OAuthApp,
        store: &dyn TokenStore,
        account: mailer_core::model::AccountId,
    ) -> Result<bool, KommoError> {
        let pair = held.pair.clone().ok_or(KommoError::Unauthorized)?;
        // Across processes: only the holder of the store's lease spends the refresh token.
        let give_up = unix_now().saturating_add(REFRESH_LEASE_SECS);
        loop {
            let now = unix_now();
            let lease = store
                .lease_refresh(account, &pair, now.saturating_add(REFRESH_LEASE_SECS), now)
                .await
                .map_err(store_error)?;
            match lease {
                token::RefreshLease::Granted => break,
                token::RefreshLease::Refreshed(newer) => {
                    held.pair = Some(newer);
                    held.generation += 1;
                    tracing::debug!(%account, "kommo tokens refreshed by another process");
                    return Ok(false);
                }
                _ if now > give_up => {
                    return Err(KommoError::TokenStore("another process holds the refresh lease".into()));
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        let mut candidates = vec![pair.refresh_token.clone()];
        candidates.extend(pair.previous_refresh_token.clone());
        let mut hint = String::new();
        for rt in &candidates {
            match self.grant(app, Grant::Refresh(rt.expose())).await {
                Ok(new) => {
                    store.save(account, &new).await.map_err(store_error)?;
                    held.pair = Some(new);
                    held.generation += 1;
                    tracing::debug!(%account, "kommo tokens refreshed");
                    return Ok(true);
                }
                Err(KommoError::Grant(refused)) => {
                    // Kommo refuses a refresh token whose successor was used: another process may have
                    // rotated it. The store then holds the newer pair; take it instead of failing.
                    if let Some(newer) = store.load(account).await.map_err(store_error)?
                        && !candidates.contains(&newer.refresh_token)
                    {
                        tracing::info!(%account, hint = %refused, "kommo refused a refresh token; a newer pair is in the store");
                        held.pair = Some(newer);
                        held.generation += 1;
                        return Ok(false);
                    }
                    tracing::warn!(%account, hint = %refused, "kommo refused a refresh token");
                    hint = refused;
                }
                Err(other) => return Err(other),
            }
        }
        Err(KommoError::RefreshRefused(hint))
    }

    /// Sends one call with the rate limit, auth and retry rules; `None` is an empty answer (204 …).
    pub(crate) async fn call(&self, call: &Call) -> Result<Option<Value>, KommoError> {
        // Refreshes after a 401 so far, and whether the last one bought its pair (then a 401 is final).
        let mut refreshes = 0u8;
        let mut bought = false;
        let mut retries = 0u32;
        let seed = backoff::seed();
        loop {
            let bearer = self.bearer().await?;
            self.limiter.acquire().await;
            let mut request = self
                .http
                .request(call.method.clone(), format!("{}{}", self.base, call.path))
                .bearer_auth(bearer.token.expose());
            if !call.query.is_empty() {
                request = request.query(&call.query);
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let mut answer = Answer::Network;
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    answer = Answer::Status(status);
                    let retry_after = response
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let body = response.bytes().await.map_err(KommoError::Http)?;
                    classify(status, retry_after.as_deref(), &body)
                }
                Err(e) if e.is_connect() || e.is_timeout() => Outcome::ServerError(0),
                Err(e) => {
                    self.observe(answer, false);
                    return Err(KommoError::Http(e));
                }
            };
            // Whether this answer is tried again: decided once, for the observer and for the arms below.
            let retry = match &outcome {
                Outcome::Done(_) | Outcome::Fail(_) => false,
                Outcome::Unauthorized => bearer.generation.is_some() && !bought && refreshes < MAX_REFRESHES_AFTER_401,
                Outcome::RateLimited(wait) => retries < self.policy.max_retries && *wait <= self.policy.max_rate_wait,
                Outcome::ServerError(_) => retries < self.policy.max_retries,
            };
            self.observe(answer, retry);
            match outcome {
                Outcome::Done(body) => return Ok(body),
                // Kommo answers 404 for unknown routes and for writes to entities that do not exist.
                Outcome::Fail(KommoError::Status { status: 404 }) => {
                    return Err(KommoError::NotFound {
                        what: "resource",
                        id: call.path.clone(),
                    });
                }
                Outcome::Fail(err) => return Err(err),
                Outcome::Unauthorized => match bearer.generation {
                    Some(generation) if retry => {
                        refreshes += 1;
                        bought = self.refresh_after_401(generation).await?;
                    }
                    _ => return Err(KommoError::Unauthorized),
                },
                Outcome::RateLimited(wait) => {
                    if !retry {
                        return Err(KommoError::RateLimited { retry_after: wait });
                    }
                    tracing::debug!(?wait, path = %call.path, "kommo rate limit; waiting");
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
                Outcome::ServerError(status) => {
                    if !retry {
                        return Err(KommoError::Status { status });
                    }
                    let wait = backoff::delay(retries, self.policy.base_delay, self.policy.max_delay, seed);
                    tracing::debug!(status, ?wait, path = %call.path, "kommo server error; backing off");
                    retries += 1;
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn observe(&self, answer: Answer, retry: bool) {
        if let Some(observer) = &self.observer {
            observer.answered(answer, retry);
        }
    }

    /// Lets a Salesbot go on after a `widget_request`: posts `answer` (`{"data": {…}, "execute_handlers":
    /// […]}`; `data` is readable in the bot as `{{json.KEY}}`) to the request's `return_url`. Only the path of
    /// `return_url` is used, on this client's base URL.
    ///
    /// # Errors
    /// [`KommoError::Config`] when `return_url` is not a bot continue URL, others as they come.
    pub async fn continue_bot(&self, return_url: &str, answer: &Value) -> Result<(), KommoError> {
        let url = reqwest::Url::parse(return_url)
            .map_err(|e| KommoError::Config(format!("return_url {return_url:?}: {e}")))?;
        let path = url.path();
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let is_bot = matches!(
            segments.as_slice(),
            ["api", "v4", "salesbot" | "marketingbot", bot, "continue", id]
                if bot.parse::<u64>().is_ok() && id.parse::<u64>().is_ok()
        );
        if !is_bot {
            return Err(KommoError::Config(format!("not a bot continue URL: {return_url:?}")));
        }
        let call = Call::with_body(Method::POST, path, answer.clone());
        self.call(&call).await.map(drop)
    }

    /// The account's timezone (`/api/v4/account?with=datetime_settings`), read once.
    pub(crate) async fn timezone(&self) -> Result<chrono_tz::Tz, KommoError> {
        self.timezone
            .get_or_try_init(|| async {
                let account = self
                    .call(&Call::get("/api/v4/account").query("with", "datetime_settings"))
                    .await?
                    .ok_or_else(|| KommoError::Decode("empty account answer".into()))?;
                let name = account
                    .pointer("/_embedded/datetime_settings/timezone")
                    .and_then(Value::as_str)
                    .unwrap_or("UTC");
                name.parse::<chrono_tz::Tz>()
                    .map_err(|e| KommoError::Decode(format!("account timezone {name:?}: {e}")))
            })
            .await
            .copied()
    }

    /// The field definitions of an entity kind, from the cache unless `refresh`.
    pub(crate) async fn field_defs(&self, kind: EntityKind, refresh: bool) -> Result<Vec<RawFieldDef>, KommoError> {
        if !refresh && let Some(defs) = self.fields.read().await.get(&kind) {
            return Ok(defs.clone());
        }
        let defs = crate::api::fields::list(self, kind).await?;
        self.fields.write().await.insert(kind, defs.clone());
        Ok(defs)
    }
}
