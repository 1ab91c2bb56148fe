//! `/mailings`: start a mailing for a list of entities, its progress with the expected finish (also as a
//! server-sent-event stream), pause, resume, cancel.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use mailer_core::engine::{MailingProgress, MailingRequest};
use mailer_core::model::{AccountId, EntityRef, MailboxId, Mailing, MailingId, MailingStatus, TemplateId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, decode};
use super::problem::{ApiError, Problem};
use super::templates::sending_mailbox;
use crate::server::AppState;

/// The largest selection one request starts.
pub const MAX_ENTITIES: usize = 10_000;
/// How often the event stream reports progress.
pub const EVENT_INTERVAL: Duration = Duration::from_secs(1);

/// A mailing to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// A name for the queue view.
    pub name: String,
    /// The template of every email.
    pub template: i64,
    /// The mailbox; the caller's first when absent.
    pub mailbox: Option<i64>,
    /// The selected entities (`{"kind": "lead", "id": 42}`), 1 to 10,000.
    pub entities: Vec<EntityRef>,
}

/// A started mailing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Started {
    /// Its progress right after the start.
    pub progress: MailingProgress,
    /// Emails queued by this request.
    pub queued: u64,
}

/// Starts a mailing: one personalised email per entity, rendered at send time.
#[utoipa::path(post, path = "/mailings", tag = "mailings", request_body = StartRequest,
    responses((status = 201, body = Started), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub async fn start(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let req: StartRequest = decode(body)?;
    if req.entities.is_empty() || req.entities.len() > MAX_ENTITIES {
        return Err(ApiError::invalid(
            "/body/entities",
            format!("1 to {MAX_ENTITIES} entities"),
        ));
    }
    if req.name.trim().is_empty() || req.name.chars().count() > 200 {
        return Err(ApiError::invalid("/body/name", "1 to 200 characters"));
    }
    let mailbox: MailboxId = sending_mailbox(&state, &auth, req.mailbox).await?;
    let request = MailingRequest {
        account: auth.account,
        sender: auth.user.id,
        mailbox,
        template: TemplateId(req.template),
        name: req.name,
    };
    let engine = state.engine();
    let started = engine.start_mailing(&request, req.entities).await?;
    let progress = engine.mailing_progress(auth.account, started.mailing.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(Started {
            progress,
            queued: started.queued,
        }),
    ))
}

/// The account's mailings (without progress: `GET /mailings/{id}` has it).
#[utoipa::path(get, path = "/mailings", tag = "mailings", params(Paging),
    responses((status = 200, body = Page<Mailing>)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<Mailing>>, ApiError> {
    let all = state.engine().mailings(auth.account).await?;
    Ok(Json(paging.page(all, |m| m.id.0)?))
}

/// A mailing's progress: counts by status and the expected finish.
#[utoipa::path(get, path = "/mailings/{id}", tag = "mailings", params(("id" = i64, Path)),
    responses((status = 200, body = MailingProgress), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn progress(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MailingProgress>, ApiError> {
    Ok(Json(
        state.engine().mailing_progress(auth.account, MailingId(id)).await?,
    ))
}

/// Pauses a running mailing (its sender or an admin).
#[utoipa::path(post, path = "/mailings/{id}/pause", tag = "mailings", params(("id" = i64, Path)),
    responses((status = 200, body = MailingProgress), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn pause(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MailingProgress>, ApiError> {
    Ok(Json(
        state
            .engine()
            .pause_mailing(auth.account, auth.user.id, MailingId(id))
            .await?,
    ))
}

/// Resumes a paused mailing (its sender or an admin).
#[utoipa::path(post, path = "/mailings/{id}/resume", tag = "mailings", params(("id" = i64, Path)),
    responses((status = 200, body = MailingProgress), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn resume(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MailingProgress>, ApiError> {
    Ok(Json(
        state
            .engine()
            .resume_mailing(auth.account, auth.user.id, MailingId(id))
            .await?,
    ))
}

/// Cancels a mailing: its waiting emails end as cancelled (its sender or an admin).
#[utoipa::path(post, path = "/mailings/{id}/cancel", tag = "mailings", params(("id" = i64, Path)),
    responses((status = 200, body = MailingProgress), (status = 403, body = Problem, content_type = "application/problem+json")))]
pub async fn cancel(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<MailingProgress>, ApiError> {
    Ok(Json(
        state
            .engine()
            .cancel_mailing(auth.account, auth.user.id, MailingId(id))
            .await?,
    ))
}

fn finished(p: &MailingProgress) -> bool {
    p.waiting == 0 || p.mailing.status == MailingStatus::Cancelled
}

/// The progress as server-sent events: a `progress` event now and every second while emails wait; the
/// stream ends after the event that shows none waiting (or the mailing cancelled).
#[utoipa::path(get, path = "/mailings/{id}/events", tag = "mailings", params(("id" = i64, Path)),
    responses((status = 200, description = "`progress` events, each the JSON of `GET /mailings/{id}`", content_type = "text/event-stream", body = String),
              (status = 404, body = Problem, content_type = "application/problem+json")))]
pub async fn events(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = MailingId(id);
    let first = state.engine().mailing_progress(auth.account, id).await?;
    Ok(progress_stream(state, auth.account, id, first))
}

/// The progress of mailing `id` as server-sent events, starting with `first`: the stream behind
/// `GET /mailings/{id}/events` and the operator UI's live progress bar.
pub(crate) fn progress_stream(
    state: AppState,
    account: AccountId,
    id: MailingId,
    first: MailingProgress,
) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
    // The state: `Some(Some(p))` to report `p` now, `Some(None)` to wait and read again, `None` to stop.
    let stream = futures::stream::unfold(Some(Some(first)), move |next| {
        let state = state.clone();
        async move {
            let progress = match next? {
                Some(p) => p,
                None => {
                    tokio::time::sleep(EVENT_INTERVAL).await;
                    match state.engine().mailing_progress(account, id).await {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(error = %e, "mailing progress stream stopped");
                            return None;
                        }
                    }
                }
            };
            let event = Event::default()
                .event("progress")
                .json_data(&progress)
                .unwrap_or_else(|_| Event::default().event("error"));
            let after = if finished(&progress) { None } else { Some(None) };
            Some((Ok(event), after))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
