//! Who is calling from Kommo's UI: the one-time `X-Auth-Token` checked
//! ([`verify_widget_token`]: signature under the integration's secret, `iss`, `aud`, `exp`, `nbf`), its
//! account resolved to our active link, and its `jti` spent once.
//!
//! Spent `jti` are remembered in memory, per process, until their `exp` (at most Kommo's 30 minutes):
//! a token replayed to another process of the same deployment is not caught.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mailer_core::model::{CrmLink, LinkStatus};
use mailer_kommo::hooks::{WidgetClaims, verify_widget_token};

use super::KommoHost;
use super::widget_cors::{origin_allowed, request_origin};
use crate::server::{AppState, HttpError};

/// Hard cap on remembered tokens, so a flood of valid tokens cannot grow memory without bound.
const MAX_REMEMBERED: usize = 100_000;

/// The `jti` of spent widget tokens, each until its `exp`.
#[derive(Debug, Default)]
pub(crate) struct SpentTokens {
    seen: Mutex<HashMap<String, i64>>,
}

impl SpentTokens {
    /// Marks `jti` spent until `exp`; answers `false` when it already was (a replay) or the memory is
    /// full of unexpired tokens.
    pub(crate) fn spend(&self, jti: &str, exp: i64, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.get(jti).is_some_and(|&until| until > now) {
            return false;
        }
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, until| *until > now);
            if seen.len() >= MAX_REMEMBERED {
                return false;
            }
        }
        seen.insert(jti.to_owned(), exp);
        true
    }
}

/// Unix seconds by the wall clock: Kommo signs with its own, so the window is checked against ours.
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
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
    if !kommo.spent_tokens.spend(&claims.jti, claims.exp, now) {
        return Err(unauthorized("token already used"));
    }
    Ok((link, claims))
}

#[cfg(test)]
mod tests {
    use super::SpentTokens;

    #[test]
    fn a_jti_is_spent_once_until_it_expires() {
        let spent = SpentTokens::default();
        assert!(spent.spend("a", 100, 10));
        assert!(!spent.spend("a", 100, 50));
        assert!(spent.spend("b", 100, 50));
        assert!(spent.spend("a", 200, 100), "forgotten once expired");
    }
}
