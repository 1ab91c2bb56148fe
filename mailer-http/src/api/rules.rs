//! `/pipeline-rules`: digital-pipeline rules (send a template when a lead enters or leaves a stage). An account setting: every user reads them, only an admin edits them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::{PipelineRule, PipelineRuleId};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, find, record};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// A pipeline rule as the API answers it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct View {
    /// The record.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: PipelineRule,
}

impl From<PipelineRule> for View {
    fn from(record: PipelineRule) -> Self {
        Self { record }
    }
}

/// The account's pipeline rules.
#[utoipa::path(get, path = "/pipeline-rules", tag = "pipeline-rules", params(Paging),
    responses((status = 200, body = Object), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<View>>, ApiError> {
    let all = state.engine().pipeline_rules(auth.account, auth.user.id).await?;
    let page = paging.page(all, |r| r.id.0)?;
    Ok(Json(Page {
        items: page.items.into_iter().map(View::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a pipeline rule (admin).
#[utoipa::path(post, path = "/pipeline-rules", tag = "pipeline-rules", request_body = Object,
    responses((status = 201, body = View), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<View>), ApiError> {
    let r: PipelineRule = record(body, auth.account.0, 0, &[])?;
    let saved = state.engine().save_pipeline_rule(auth.user.id, r).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// One pipeline rule.
#[utoipa::path(get, path = "/pipeline-rules/{id}", tag = "pipeline-rules", params(("id" = i64, Path)),
    responses((status = 200, body = View), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<View>, ApiError> {
    let all = state.engine().pipeline_rules(auth.account, auth.user.id).await?;
    Ok(Json(find(all, id, |r| r.id.0)?.into()))
}

/// Replaces a pipeline rule (admin).
#[utoipa::path(put, path = "/pipeline-rules/{id}", tag = "pipeline-rules", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = View), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<View>, ApiError> {
    let r: PipelineRule = record(body, auth.account.0, id, &[])?;
    Ok(Json(state.engine().save_pipeline_rule(auth.user.id, r).await?.into()))
}

/// Deletes a pipeline rule (admin).
#[utoipa::path(delete, path = "/pipeline-rules/{id}", tag = "pipeline-rules", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .engine()
        .delete_pipeline_rule(auth.account, auth.user.id, PipelineRuleId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
