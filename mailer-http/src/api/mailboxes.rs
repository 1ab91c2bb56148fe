//! `/mailboxes`: create, update, list, read, check and delete sending mailboxes, and their bounce and reply
//! counts. The password goes in and never comes out (`has_password` says whether one is stored); an update
//! with an empty password keeps it. The five record routes are [`crud`](super::crud)'s.

use axum::Json;
use axum::extract::State;
use mailer_core::engine::MailboxView;
use mailer_core::model::{MailboxId, ReactionCounts};

use super::auth::Auth;
use super::crud::{ApiResource, Docs};
use super::extract::ApiPath;
use super::problem::{ApiError, Problem};
use crate::resource::Mailboxes;
use crate::server::AppState;

impl ApiResource for Mailboxes {
    type View = MailboxView;
    const DOCS: Docs = Docs {
        list: "The mailboxes the caller may see (their own, all of the account's for an admin), without passwords",
        create: "Adds a mailbox (the caller's own unless an admin names another `owner`)",
        get: "One mailbox, without its password",
        update: "Replaces a mailbox's settings; an empty or absent password keeps the stored one",
        delete: "Deletes a mailbox unless a pipeline rule sends from it or emails wait in its queue",
    };
}

/// Checks the mailbox's servers: green (SMTP and IMAP), gray (SMTP only), red, with the reasons.
#[utoipa::path(post, path = "/mailboxes/{id}/check", tag = "mailboxes", params(("id" = i64, Path)),
    responses((status = 200, description = "The mailbox with its new `health`", body = MailboxView),
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
    responses((status = 200, description = "Hard and soft bounces, replies and auto-replies", body = ReactionCounts),
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
