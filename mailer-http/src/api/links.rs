//! `/trigger-links`: trigger links (a link in an email that runs triggers when clicked; paste `{triggerlink:N}`). An account setting: every user reads them, only an admin edits them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::{TriggerLink, TriggerLinkId};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, find, record};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// A trigger link as the API answers it, with the variable to paste into a template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct View {
    /// The record.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: TriggerLink,
    /// What to paste into a template: `{triggerlink:N}`.
    pub variable: String,
}

impl From<TriggerLink> for View {
    fn from(record: TriggerLink) -> Self {
        Self {
            variable: format!("{{triggerlink:{}}}", record.id),
            record,
        }
    }
}

/// The account's trigger links.
#[utoipa::path(get, path = "/trigger-links", tag = "trigger-links", params(Paging),
    responses((status = 200, body = Object), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<View>>, ApiError> {
    let all = state.engine().trigger_links(auth.account, auth.user.id).await?;
    let page = paging.page(all, |r| r.id.0)?;
    Ok(Json(Page {
        items: page.items.into_iter().map(View::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a trigger link (admin).
#[utoipa::path(post, path = "/trigger-links", tag = "trigger-links", request_body = Object,
    responses((status = 201, body = View), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<View>), ApiError> {
    let r: TriggerLink = record(
        body,
        auth.account.0,
        0,
        &[("triggers", serde_json::Value::Array(Vec::new()))],
    )?;
    let saved = state.engine().save_trigger_link(auth.user.id, r).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// One trigger link.
#[utoipa::path(get, path = "/trigger-links/{id}", tag = "trigger-links", params(("id" = i64, Path)),
    responses((status = 200, body = View), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<View>, ApiError> {
    let all = state.engine().trigger_links(auth.account, auth.user.id).await?;
    Ok(Json(find(all, id, |r| r.id.0)?.into()))
}

/// Replaces a trigger link (admin).
#[utoipa::path(put, path = "/trigger-links/{id}", tag = "trigger-links", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = View), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<View>, ApiError> {
    let r: TriggerLink = record(
        body,
        auth.account.0,
        id,
        &[("triggers", serde_json::Value::Array(Vec::new()))],
    )?;
    Ok(Json(state.engine().save_trigger_link(auth.user.id, r).await?.into()))
}

/// Deletes a trigger link (admin) unless a template or web page names it.
#[utoipa::path(delete, path = "/trigger-links/{id}", tag = "trigger-links", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .engine()
        .delete_trigger_link(auth.account, auth.user.id, TriggerLinkId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
