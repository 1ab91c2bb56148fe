//! `GET /kommo/oauth`: Kommo's redirect after an account installs the integration (`code`, `referer` and
//! `state` or `from_widget`). The code is exchanged, the account read, the tenant made (or found again) and
//! the tokens kept sealed in the store. Kommo waits at most 3 seconds and never resends, so the answer
//! comes within [`ANSWER_WITHIN`]: an install still running then finishes in the background. A failed
//! install is logged and recorded on the link of that domain, where the admin API shows it.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use mailer_core::engine::{CrmInstall, Engine, EngineError};
use mailer_core::model::{AccountId, CrmLink, NewAccount, Secret, Timezone};
use mailer_kommo::{KommoError, MemoryTokenStore};
use serde::Deserialize;

use super::KommoHost;
use crate::pages;
use crate::server::AppState;

/// The redirect is answered within this, whatever the exchange does.
pub const ANSWER_WITHIN: Duration = Duration::from_millis(2_500);

/// The redirect's query.
#[derive(Debug, Deserialize)]
pub(crate) struct InstallQuery {
    code: Option<String>,
    referer: Option<String>,
    error: Option<String>,
}

/// Why an install failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    /// Kommo refused the code, or could not be reached.
    #[error("Kommo: {0}")]
    Kommo(#[from] KommoError),
    /// The engine refused or the store failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The tokens could not be serialised.
    #[error("tokens: {0}")]
    Tokens(#[from] serde_json::Error),
}

fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    (status, Html(pages::error(title, text))).into_response()
}

pub(crate) async fn oauth(State(state): State<AppState>, Query(q): Query<InstallQuery>) -> Response {
    let Some(kommo) = state.kommo.clone() else {
        return crate::routes::not_found().await;
    };
    let referer = q
        .referer
        .as_deref()
        .map(str::trim)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(error) = q.error.as_deref() {
        tracing::warn!(domain = %referer, error, "Kommo install declined");
        return page(StatusCode::OK, "Not installed", "Access was not granted.");
    }
    let code = q.code.as_deref().map(str::trim).unwrap_or_default().to_owned();
    if code.is_empty() || !is_host(&referer) {
        tracing::warn!(domain = %referer, "Kommo install redirect without a code or a valid referer");
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "The install link lacks its code or account.",
        );
    }
    let engine = state.engine.clone();
    let task = tokio::spawn(async move { install(&engine, &kommo, &code, &referer).await.map(|l| l.domain) });
    match tokio::time::timeout(ANSWER_WITHIN, task).await {
        Ok(Ok(Ok(domain))) => page(
            StatusCode::OK,
            "Installed",
            &format!("Mailer is installed for {domain}."),
        ),
        Ok(Ok(Err(e))) => page(
            StatusCode::BAD_GATEWAY,
            "Install failed",
            &format!("The install could not be completed: {e}. Please install again."),
        ),
        Ok(Err(join)) => {
            tracing::error!(error = %join, "Kommo install task failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Install failed",
                "Please install again.",
            )
        }
        Err(_) => page(
            StatusCode::ACCEPTED,
            "Installing",
            "The install is being completed; its state shows in the Mailer settings.",
        ),
    }
}

/// Installs the account at `domain` with the authorization `code`: exchange, read the account, make or
/// find its tenant, keep the tokens, connect its client. On failure the error is logged and recorded
/// on the links of `domain` ([`Engine::crm_install_failed`]).
///
/// # Errors
/// An [`InstallError`] saying what failed.
pub async fn install(
    engine: &Arc<Engine>,
    kommo: &KommoHost,
    code: &str,
    domain: &str,
) -> Result<CrmLink, InstallError> {
    let result = exchange(engine, kommo, code, domain).await;
    if let Err(e) = &result {
        tracing::error!(domain, error = %e, "Kommo install failed");
        if let Err(record) = engine.crm_install_failed(domain, &e.to_string()).await {
            tracing::error!(domain, error = %record, "the failed Kommo install could not be recorded");
        }
    }
    result
}

async fn exchange(engine: &Arc<Engine>, kommo: &KommoHost, code: &str, domain: &str) -> Result<CrmLink, InstallError> {
    // The account is unknown until the new token says who it is: exchange into a scratch store first.
    let scratch = Arc::new(MemoryTokenStore::new());
    let client = kommo
        .client_builder(domain)
        .oauth(kommo.app.clone(), scratch, AccountId(0))
        .build()?;
    let pair = client.exchange_code(code).await?;
    let info = client.account_info().await?;
    let name = if info.subdomain.is_empty() {
        domain.to_owned()
    } else {
        info.subdomain.clone()
    };
    let install = CrmInstall {
        external_id: info.id,
        domain: domain.to_owned(),
        tokens: Secret::new(serde_json::to_string(&pair)?),
        account: NewAccount {
            name,
            timezone: Timezone::parse(&info.timezone).unwrap_or_default(),
            signing_key_ref: kommo.signing_key_ref.clone(),
        },
        admin_name: "Kommo admin".into(),
    };
    let link = engine.install_crm(install).await?;
    kommo.connect(engine, &link)?;
    tracing::info!(domain, account = %link.account, kommo_account = link.external_id, "Kommo installed");
    Ok(link)
}
