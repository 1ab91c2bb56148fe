//! `GET /api/v1/crm-link`: the caller's account's link to Kommo — active, disabled (access revoked) or
//! failed (the last install's error) — never its tokens.

use axum::Json;
use axum::extract::State;
use mailer_core::engine::CrmLinkView;

use crate::api::auth::Auth;
use crate::api::problem::{ApiError, Problem};
use crate::server::AppState;

/// The account's Kommo link.
///
/// # Errors
/// 401 without a valid token; 404 when the account has no link.
#[utoipa::path(get, path = "/crm-link", tag = "crm",
    responses((status = 200, body = CrmLinkView), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn view(State(state): State<AppState>, auth: Auth) -> Result<Json<CrmLinkView>, ApiError> {
    state
        .engine()
        .crm_link_view(auth.account, auth.user.id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}
