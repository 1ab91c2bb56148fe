//! `GET /history`: the account's emails with their events, filtered by status, mailbox, entity, mailing and
//! time, paged by cursor; `GET /history/{id}`: one email with its events.

use axum::Json;
use axum::extract::State;
use mailer_core::engine::HistoryEntry;
use mailer_core::model::{
    CrmId, EmailId, EmailQuery, EmailStatus, EntityKind, EntityRef, MailboxId, MailingId, Timestamp,
};
use serde::Deserialize;
use utoipa::IntoParams;

use super::auth::Auth;
use super::extract::{ApiPath, ApiQuery, Page, Paging};
use super::problem::{ApiError, Problem};
use crate::server::AppState;

/// The history's filters and paging.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// Only this status: `queued`, `sending`, `sent`, `failed`, `cancelled`.
    #[param(value_type = Option<String>)]
    pub status: Option<EmailStatus>,
    /// Only this mailbox.
    pub mailbox: Option<i64>,
    /// Only this mailing.
    pub mailing: Option<i64>,
    /// Only this entity's kind (`lead`, `contact`, `company`); with `entity_id`.
    #[param(value_type = Option<String>)]
    pub entity_kind: Option<EntityKind>,
    /// Only this entity's CRM id; with `entity_kind`.
    pub entity_id: Option<i64>,
    /// Sent (or due, when not sent) at or after this time (RFC 3339).
    #[param(value_type = Option<String>)]
    pub since: Option<Timestamp>,
    /// Sent (or due, when not sent) before this time (RFC 3339).
    #[param(value_type = Option<String>)]
    pub until: Option<Timestamp>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Emails per page, 1 to 200 (50 by default). A page filtered by time may hold fewer.
    pub limit: Option<u32>,
}

/// Emails with their events, oldest first.
#[utoipa::path(get, path = "/history", tag = "history", params(HistoryQuery),
    responses((status = 200, body = Page<HistoryEntry>), (status = 400, body = Problem, content_type = "application/problem+json")))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> Result<Json<Page<HistoryEntry>>, ApiError> {
    let (after, limit) = Paging {
        cursor: q.cursor.clone(),
        limit: q.limit,
    }
    .parse()?;
    let entity = match (q.entity_kind, q.entity_id) {
        (Some(kind), Some(id)) => Some(EntityRef { kind, id: CrmId(id) }),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(
                "/query/entity_id",
                "entity_kind and entity_id go together",
            ));
        }
    };
    let query = EmailQuery {
        statuses: q.status.into_iter().collect(),
        mailbox: q.mailbox.map(MailboxId),
        mailing: q.mailing.map(MailingId),
        entity,
        after: Some(EmailId(after)),
        ..EmailQuery::account(auth.account, limit)
    };
    let mut entries = state.engine().history(&query).await?;
    let next_cursor = if entries.len() == usize::try_from(limit).unwrap_or(usize::MAX) {
        entries.last().map(|e| e.email.id.0.to_string())
    } else {
        None
    };
    entries.retain(|e| {
        let at = e.email.sent_at.unwrap_or(e.email.due_at);
        q.since.is_none_or(|s| at >= s) && q.until.is_none_or(|u| at < u)
    });
    Ok(Json(Page {
        items: entries,
        next_cursor,
    }))
}

/// One email with its events.
#[utoipa::path(get, path = "/history/{id}", tag = "history", params(("id" = i64, Path)),
    responses((status = 200, body = HistoryEntry), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn get_one(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HistoryEntry>, ApiError> {
    let query = EmailQuery {
        after: Some(EmailId(id.saturating_sub(1))),
        ..EmailQuery::account(auth.account, 1)
    };
    let entry = state.engine().history(&query).await?.into_iter().next();
    entry.filter(|e| e.email.id.0 == id).map(Json).ok_or(ApiError::NotFound)
}
