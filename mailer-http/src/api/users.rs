//! `/users`: the account's users (roles admin and member). An admin lists, adds, edits and deletes them; a
//! member reads and edits their own name and signature (`/users/{their id}`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::model::{User, UserId};

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, find, record};
use super::openapi::body_schema;
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// The body of `POST /users` and `PUT /users/{id}`: a [`User`] without `id` and `account`; `crm_user`
/// (none) and `signature_html` (empty) may be left out.
#[derive(Debug, Clone, Copy)]
pub struct UserInput;

impl PartialSchema for UserInput {
    fn schema() -> RefOr<Schema> {
        body_schema(User::schema(), &["id", "account"], &["crm_user", "signature_html"])
    }
}

impl ToSchema for UserInput {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        User::schemas(schemas);
    }
}

/// The account's users (admin).
#[utoipa::path(get, path = "/users", tag = "users", params(Paging),
    responses((status = 200, body = Page<User>), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<User>>, ApiError> {
    auth.require_admin("lists users")?;
    let all = state.engine().users(auth.account, auth.user.id).await?;
    Ok(Json(paging.page(all, |u| u.id.0)?))
}

/// Adds a user (admin).
#[utoipa::path(post, path = "/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = User), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<User>), ApiError> {
    let user: User = record(
        body,
        auth.account.0,
        0,
        &[("crm_user", serde_json::Value::Null), ("signature_html", "".into())],
    )?;
    Ok((
        StatusCode::CREATED,
        Json(state.engine().save_user(auth.user.id, user).await?),
    ))
}

/// One user: any for an admin, themself for a member.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<User>, ApiError> {
    if id != auth.user.id.0 {
        auth.require_admin("reads other users")?;
    }
    let all = state.engine().users(auth.account, auth.user.id).await?;
    Ok(Json(find(all, id, |u| u.id.0)?))
}

/// Replaces a user (an admin; a member their own name and signature).
#[utoipa::path(put, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserInput,
    responses((status = 200, body = User), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<User>, ApiError> {
    let user: User = record(
        body,
        auth.account.0,
        id,
        &[("crm_user", serde_json::Value::Null), ("signature_html", "".into())],
    )?;
    Ok(Json(state.engine().save_user(auth.user.id, user).await?))
}

/// Deletes a user (admin) unless they own templates or mailboxes or are the last admin.
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = Problem, content_type = "application/problem+json"),
              (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .engine()
        .delete_user(auth.account, auth.user.id, UserId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
