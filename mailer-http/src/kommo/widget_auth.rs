//! Who is calling from Kommo's UI: the one-time `X-Auth-Token` checked
//! ([`verify_widget_token`]: signature under the integration's secret, `iss`, `aud`, `exp`, `nbf`), its
//! account resolved to our active link, and its `jti` spent once in the store
//! ([`Engine::spend_one_time_token`]), until the token's `exp`: a token replayed to another process of
//! the same deployment is refused too.
//!
//! [`Engine::spend_one_time_token`]: mailer_core::engine::Engine::spend_one_time_token

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mailer_core::model::{CrmLink, LinkStatus, Timestamp};
use mailer_kommo::hooks::{WidgetClaims, verify_widget_token};

use super::KommoHost;
use super::widget_cors::{origin_allowed, request_origin};
use crate::server::{AppState, HttpError};

/// Unix seconds by the wall clock: Kommo signs with its own, so the window is checked against ours.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Unix seconds as a timestamp (out of range: the latest one, so the id is kept, never dropped early).
fn at(secs: i64) -> Timestamp {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

fn unauthorized(reason: &str) -> Response {
    tracing::warn!(reason, "Kommo widget call refused");
    (StatusCode::UNAUTHORIZED, "refused").into_response()
}

/// The caller's link and token claims, or the refusal: 401 for a bad, expired, not-yet-valid, foreign or
/// reused token; 403 for an unknown or disabled account or a request from another account's origin.
pub(crate) async fn authenticate(
    state: &AppState,
    kommo: &KommoHost,
    headers: &HeaderMap,
) -> Result<(CrmLink, WidgetClaims), Response> {
    let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) else {
        return Err(unauthorized("no X-Auth-Token"));
    };
    let now = unix_now();
    let claims = verify_widget_token(
        token,
        kommo.app.client_secret.expose().as_bytes(),
        &kommo.widget_audience,
        now,
    )
    .map_err(|e| unauthorized(&e.to_string()))?;
    let link = match state.engine.crm_link_by_external(claims.account_id).await {
        Ok(Some(link)) if link.status != LinkStatus::Disabled => link,
        Ok(_) => {
            tracing::warn!(
                kommo_account = claims.account_id,
                "Kommo widget call for an unknown or disabled account"
            );
            return Err((StatusCode::FORBIDDEN, "unknown account").into_response());
        }
        Err(e) => return Err(HttpError::from(e).into_response()),
    };
    if !link
        .domain
        .to_ascii_lowercase()
        .starts_with(&format!("{}.", claims.subdomain))
    {
        return Err(unauthorized("the token's subdomain is not its account's"));
    }
    if let Some(origin) = request_origin(headers)
        && !origin_allowed(&link, origin)
    {
        tracing::warn!(%origin, account = %link.account, "Kommo widget call from another origin refused");
        return Err((StatusCode::FORBIDDEN, "origin refused").into_response());
    }
    let spent = state
        .engine
        .spend_one_time_token(link.account, &claims.jti, at(claims.exp), at(now))
        .await;
    match spent {
        Ok(true) => {}
        Ok(false) => return Err(unauthorized("token already used")),
        Err(mailer_core::engine::EngineError::Invalid(e)) => return Err(unauthorized(&e.to_string())),
        Err(e) => return Err(HttpError::from(e).into_response()),
    }
    Ok((link, claims))
}
