//! `/suppression`: the account's suppression list (unsubscribed and bounced addresses), for an admin: list
//! by address, remove one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::Suppression;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::extract::{ApiPath, ApiQuery, DEFAULT_LIMIT, MAX_LIMIT};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// Paging by address.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SuppressionQuery {
    /// The `next_cursor` of the previous page (the last address shown).
    pub cursor: Option<String>,
    /// Entries per page, 1 to 200 (50 by default).
    pub limit: Option<u32>,
}

/// A page of the suppression list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuppressionPage {
    /// Entries by address.
    pub items: Vec<Suppression>,
    /// The cursor of the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// The suppression list, by address (admin).
#[utoipa::path(get, path = "/suppression", tag = "suppression", params(SuppressionQuery),
    responses((status = 200, body = SuppressionPage), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<SuppressionQuery>,
) -> Result<Json<SuppressionPage>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("/query/limit", format!("must be 1 to {MAX_LIMIT}")));
    }
    let mut all = state.engine().suppressions(auth.account, auth.user.id).await?;
    all.sort_by(|a, b| a.address.cmp(&b.address));
    if let Some(after) = q.cursor.as_deref().filter(|c| !c.is_empty()) {
        all.retain(|s| s.address.as_str() > after);
    }
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = all.len() > limit;
    all.truncate(limit);
    let next_cursor = if more {
        all.last().map(|s| s.address.clone())
    } else {
        None
    };
    Ok(Json(SuppressionPage {
        items: all,
        next_cursor,
    }))
}

/// Takes an address off the list (admin): 204, or 404 when it was not there.
#[utoipa::path(delete, path = "/suppression/{address}", tag = "suppression", params(("address" = String, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn remove(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(address): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let address = address.trim().to_lowercase();
    if state
        .engine()
        .remove_suppression(auth.account, auth.user.id, &address)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
