//! Kommo in the host (feature `kommo`): the routes Kommo calls — the OAuth install redirect, the
//! access-revoked hook, account webhooks and the digital-pipeline hook — over one [`KommoHost`] that
//! holds the integration's keys and adds each installed account's client to the [`KommoCrm`].
//!
//! | route | file |
//! |---|---|
//! | `GET /kommo/oauth` (`code`, `referer`, `state` / `from_widget`) | `install.rs` |
//! | `GET /kommo/disable` (`client_uuid`, `account_id`, `signature`) | `disable.rs` |
//! | `POST /kommo/hooks/dp`, `POST /kommo/hooks/webhook` | `hooks.rs` |
//! | `POST /kommo/salesbot` (Salesbot `widget_request`: send a template, then continue the bot) | `salesbot.rs` |
//! | `GET /kommo/widget/status`, `POST /kommo/widget/send` (+ `OPTIONS`; the widget's own calls, `X-Auth-Token`) | `widget.rs` |
//! | `GET /api/v1/crm-link` (admin API: the account's link, never its tokens) | `link_view.rs` |
//!
//! Tokens live in the SQL store, sealed, through the engine ([`EngineTokens`]).

mod disable;
mod hooks;
mod install;
pub mod link_view;
mod salesbot;
mod tokens;
mod widget;
mod widget_auth;
mod widget_cors;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use mailer_core::engine::Engine;
use mailer_core::model::{AccountId, CrmLink, LinkStatus};
use mailer_kommo::{CallObserver, KommoBuilder, KommoClient, KommoCrm, KommoError, OAuthApp};

pub use install::{ANSWER_WITHIN, InstallError, install};
pub use tokens::EngineTokens;

use crate::server::AppState;

/// How the host talks to Kommo: the integration's keys, the CRM the engine uses, and how a new tenant is
/// made.
#[derive(Debug)]
pub struct KommoHost {
    /// The integration's id, secret and redirect URI.
    pub app: OAuthApp,
    /// The CRM the engine's port wraps; installed accounts' clients are added here.
    pub crm: Arc<KommoCrm>,
    /// Every account's API at this base URL instead of `https://{referer}` (tests: the fake Kommo).
    pub base_url: Option<String>,
    /// The signing key reference given to new tenants.
    pub signing_key_ref: String,
    /// How long one Kommo request may take.
    pub timeout: Duration,
    /// The `aud` the widget's one-time tokens must carry: our scheme and host (by default the origin of
    /// the redirect URI).
    pub widget_audience: String,
    /// Told about every HTTP request the accounts' clients send, retries included (the metrics).
    pub observer: Option<Arc<dyn CallObserver>>,
}

impl KommoHost {
    /// A host for `app` over `crm`; new tenants sign with the key `"default"`.
    pub fn new(app: OAuthApp, crm: Arc<KommoCrm>) -> Self {
        let widget_audience = origin_of(&app.redirect_uri);
        Self {
            widget_audience,
            app,
            crm,
            base_url: None,
            signing_key_ref: "default".into(),
            timeout: Duration::from_secs(10),
            observer: None,
        }
    }

    /// Tells `observer` about every HTTP request the accounts' clients send (`mailer-server` passes its
    /// [`Metrics`](crate::Metrics), which count Kommo's answers and the clients' retries).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn CallObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// A client builder for the account at `domain`: its base URL, the timeout and the observer.
    pub(crate) fn client_builder(&self, domain: &str) -> KommoBuilder {
        let builder = KommoClient::builder(self.base_url_for(domain)).with_timeout(self.timeout);
        match &self.observer {
            Some(observer) => builder.with_observer(observer.clone()),
            None => builder,
        }
    }

    /// Sends every account's API calls to `base_url` (a fake Kommo, a proxy).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Widget tokens must name `audience` (`https://mailer.example.com`) as their `aud`.
    #[must_use]
    pub fn with_widget_audience(mut self, audience: impl Into<String>) -> Self {
        self.widget_audience = audience.into();
        self
    }

    /// New tenants sign their tracking links with the key named `key_ref`.
    #[must_use]
    pub fn with_signing_key_ref(mut self, key_ref: impl Into<String>) -> Self {
        self.signing_key_ref = key_ref.into();
        self
    }

    /// The API base URL of the account at `domain` (`acme.kommo.com`).
    pub fn base_url_for(&self, domain: &str) -> String {
        self.base_url.clone().unwrap_or_else(|| format!("https://{domain}"))
    }

    /// Adds the client of a linked account to the CRM, its tokens read and written through the engine.
    ///
    /// # Errors
    /// When the client cannot be built.
    pub fn connect(&self, engine: &Arc<Engine>, link: &CrmLink) -> Result<(), KommoError> {
        let tokens = Arc::new(EngineTokens::new(engine));
        let client = self
            .client_builder(&link.domain)
            .oauth(self.app.clone(), tokens, link.account)
            .build()?;
        self.crm.add_account(link.account, client);
        Ok(())
    }

    /// Adds the clients of every active link (at start). Answers how many.
    ///
    /// # Errors
    /// When the links cannot be read or a client cannot be built.
    pub async fn connect_all(&self, engine: &Arc<Engine>) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
        let mut n = 0;
        for link in engine.crm_links().await? {
            if link.status != LinkStatus::Disabled && link.tokens.is_some() {
                self.connect(engine, &link)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Drops an account's client (its access was revoked).
    pub fn disconnect(&self, account: AccountId) {
        self.crm.remove_account(account);
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split(['/', '?', '#']).next().unwrap_or_default()),
        None => url.to_owned(),
    }
}

/// The Kommo routes (merged into [`app`](crate::app) when the state has a [`KommoHost`]).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/kommo/oauth", get(install::oauth))
        .route("/kommo/disable", get(disable::disable).post(disable::disable))
        .route("/kommo/hooks/dp", post(hooks::dp))
        .route("/kommo/hooks/webhook", post(hooks::webhook))
        .route("/kommo/salesbot", post(salesbot::widget_request))
        .route("/kommo/widget/status", get(widget::status).options(widget::options))
        .route("/kommo/widget/send", post(widget::send).options(widget::options))
}
