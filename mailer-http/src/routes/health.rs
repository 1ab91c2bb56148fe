//! `/healthz` (the process answers) and `/readyz` (the store answers).

use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::AccountId;
use mailer_core::ports::StoreError;

use crate::server::AppState;

pub(crate) async fn alive() -> &'static str {
    "ok\n"
}

/// Ready when the store answers a read (an unknown account is an answer; the SQL store applies its
/// migrations before the server starts).
pub(crate) async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match state.engine.ports().store.get_account(AccountId(i64::MAX)).await {
        Ok(_) | Err(StoreError::NotFound { .. }) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the store does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}
