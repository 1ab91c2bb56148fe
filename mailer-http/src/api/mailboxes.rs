//! `/mailboxes`: create, update, list, read, check and delete sending mailboxes, and their bounce and reply
//! counts. The password goes in and never comes out (`has_password` says whether one is stored); an update
//! with an empty password keeps it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use mailer_core::engine::MailboxView;
use mailer_core::model::{Mailbox, MailboxId, ReactionCounts};
use serde_json::Value;

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, record};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

fn mailbox(auth: &Auth, body: Value, id: i64) -> Result<Mailbox, ApiError> {
    record(
        body,
        auth.account.0,
        id,
        &[("owner", auth.user.id.0.into()), ("password", "".into())],
    )
}

/// The mailboxes the caller may see: their own, all of the account's for an admin.
#[utoipa::path(get, path = "/mailboxes", tag = "mailboxes", params(Paging),
    responses((status = 200, description = "A page of mailboxes, without passwords", body = Object),
              (status = 401, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<MailboxView>>, ApiError> {
    let all = state.engine().mailboxes_for(auth.account, auth.user.id).await?;
    Ok(Json(paging.page(all, |m| m.id.0)?))
}

/// Adds a mailbox (the caller's own unless an admin names another `owner`).
#[utoipa::path(post, path = "/mailboxes", tag = "mailboxes", request_body = Object,
    responses((status = 201, description = "The mailbox, without its password", body = Object),
              (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<MailboxView>), ApiError> {
    let mailbox = mailbox(&auth, body, 0)?;
    let saved = state.engine().save_mailbox(auth.user.id, mailbox).await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// One mailbox, without its password.
#[utoipa::path(get, path = "/mailboxes/{id}", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 200, body = Object), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MailboxView>, ApiError> {
    let view = state
        .engine()
        .mailbox_view(auth.account, auth.user.id, MailboxId(id))
        .await?;
    Ok(Json(view))
}

/// Replaces a mailbox's settings; an empty or absent password keeps the stored one.
#[utoipa::path(put, path = "/mailboxes/{id}", tag = "mailboxes", params(("id" = i64, Path)), request_body = Object,
    responses((status = 200, body = Object), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn update(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<MailboxView>, ApiError> {
    let mailbox = mailbox(&auth, body, id)?;
    Ok(Json(state.engine().save_mailbox(auth.user.id, mailbox).await?))
}

/// Deletes a mailbox unless a pipeline rule sends from it or emails wait in its queue.
#[utoipa::path(delete, path = "/mailboxes/{id}", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 204), (status = 409, body = Problem, content_type = "application/problem+json")))]
pub async fn delete(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    state
        .engine()
        .delete_mailbox(auth.account, auth.user.id, MailboxId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the mailbox's servers: green (SMTP and IMAP), gray (SMTP only), red, with the reasons.
#[utoipa::path(post, path = "/mailboxes/{id}/check", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 200, description = "The mailbox with its new `health`", body = Object),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn check(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MailboxView>, ApiError> {
    Ok(Json(
        state
            .engine()
            .check_mailbox(auth.account, auth.user.id, MailboxId(id))
            .await?,
    ))
}

/// Bounces, replies and auto-replies that came back to the mailbox's emails.
#[utoipa::path(get, path = "/mailboxes/{id}/reactions", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 200, description = "Hard and soft bounces, replies and auto-replies", body = Object),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn reactions(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<ReactionCounts>, ApiError> {
    let counts = state
        .engine()
        .mailbox_reactions(auth.account, auth.user.id, MailboxId(id))
        .await?;
    Ok(Json(counts))
}
