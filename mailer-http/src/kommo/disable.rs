//! `GET /kommo/disable` (or `POST`, form-encoded): Kommo's access-revoked hook. A valid signature disables
//! the account's link, wipes its tokens, drops its client and holds its queue; a forged one changes
//! nothing.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mailer_kommo::hooks::verify_disable_hook;

use crate::server::{AppState, HttpError};

pub(crate) async fn disable(State(state): State<AppState>, RawQuery(query): RawQuery, body: Bytes) -> Response {
    let Some(kommo) = state.kommo.clone() else {
        return crate::routes::not_found().await;
    };
    let params = match query.as_deref() {
        Some(q) if !q.is_empty() => q.as_bytes().to_vec(),
        _ => body.to_vec(),
    };
    let external = match verify_disable_hook(&params, &kommo.app) {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "Kommo disable hook refused");
            return (StatusCode::FORBIDDEN, "refused").into_response();
        }
    };
    match state.engine.revoke_crm(external).await {
        Ok(Some(link)) => {
            kommo.disconnect(link.account);
            tracing::warn!(account = %link.account, kommo_account = external, "Kommo access revoked: account disabled, tokens wiped, queue held");
            (StatusCode::OK, "disabled").into_response()
        }
        Ok(None) => {
            tracing::warn!(
                kommo_account = external,
                "Kommo disable hook for an account never installed"
            );
            (StatusCode::NOT_FOUND, "unknown account").into_response()
        }
        Err(e) => HttpError::from(e).into_response(),
    }
}
