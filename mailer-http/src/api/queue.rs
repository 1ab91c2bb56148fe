//! `GET /mailboxes/{id}/queue`: a mailbox's waiting emails in the order they will go, with expected send
//! times.

use axum::Json;
use axum::extract::State;
use mailer_core::engine::QueuedEmail;
use mailer_core::model::MailboxId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::Auth;
use super::extract::{ApiPath, ApiQuery, MAX_LIMIT};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// How much of the queue to show.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// At most this many, 1 to 200 (100 by default).
    pub limit: Option<u32>,
}

/// The head of a mailbox's queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    /// Waiting emails, first to go first, each with `expected_at`.
    pub items: Vec<QueuedEmail>,
}

/// The waiting emails of a mailbox the caller may see (single emails first, mailings alternating).
#[utoipa::path(get, path = "/mailboxes/{id}/queue", tag = "queue", params(("id" = i64, Path), QueueQuery),
    responses((status = 200, body = Queue), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn queue(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<Queue>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid("/query/limit", format!("must be 1 to {MAX_LIMIT}")));
    }
    let engine = state.engine();
    engine.mailbox_view(auth.account, auth.user.id, MailboxId(id)).await?;
    let items = engine.queue_view(auth.account, MailboxId(id), limit).await?;
    Ok(Json(Queue { items }))
}
