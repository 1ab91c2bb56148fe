//! `/pages`: public web pages (paste `{web:N}` into a template). An account setting: every user reads them, only an admin edits them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::{WebPage, WebPageId};
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, find, record};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// A web page as the API answers it, with the mask to paste into a template.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct View {
    /// The record.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub record: WebPage,
    /// What to paste into a template: `{web:N}`.
    pub mask: String,
}

impl From<WebPage> for View {
    fn from(record: WebPage) -> Self {
        Self {
            mask: format!("{{web:{}}}", record.id),
            record,
        }
    }
}

/// The account's web pages.
#[utoipa::path(get, path = "/pages", tag = "pages", params(Paging),
    responses((status = 200, body = Object), (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<View>>, ApiError> {
    let all = state.engine().web_pages(auth.account, auth.user.id).await?;
    let page = paging.page(all, |r| r.id.0)?;
    Ok(Json(Page {
        items: page.items.into_iter().map(View::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Creates a web page (admin).
#[utoipa::path(post, path = "/pages", tag = "pages", request_body = Object,
    responses((status = 201, body = View), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<View>), ApiError> {
    let r: WebPage = record(body, auth.account.0, 0, &[])?;
    let saved = state.engine().save_web_page(auth.user.id, r).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

/// One web page.
#[utoipa::path(get, path = "/pages/{id}", tag = "pages", params(("id" = i64, Path)),
    responses((status = 200, body = View), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<View>, ApiError> {
    let all = state.engine().web_pages(auth.account, auth.user.id).await?;
    Ok(Json(find(all, id, |r| r.id.0)?.into()))
}

/// Replaces a web page (admin).
#[utoipa::path(put, path = "/pages/{id}", tag = "pages", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = View), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<View>, ApiError> {
    let r: WebPage = record(body, auth.account.0, id, &[])?;
    Ok(Json(state.engine().save_web_page(auth.user.id, r).await?.into()))
}

/// Deletes a web page (admin) unless a template names it.
#[utoipa::path(delete, path = "/pages/{id}", tag = "pages", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .engine()
        .delete_web_page(auth.account, auth.user.id, WebPageId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
