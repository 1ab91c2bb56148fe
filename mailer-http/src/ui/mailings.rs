//! Mailings: start one for a list of entities, and watch it: a progress bar with counts and the expected
//! finish that the script keeps live from the progress stream (the admin API's server-sent events), with
//! pause, resume and cancel.

use axum::extract::{Path, State};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures::Stream;
use mailer_core::engine::{MailingProgress, MailingRequest};
use mailer_core::model::{CrmId, EntityKind, EntityRef, MailboxId, MailingId, MailingStatus, TemplateId};
use maud::{Markup, html};

use super::error::UiError;
use super::form::FormData;
use super::layout::{self, Nav, field, select};
use super::session::Session;
use crate::api::mailings::{MAX_ENTITIES, progress_stream};
use crate::server::AppState;

pub(crate) fn status_word(s: MailingStatus) -> &'static str {
    match s {
        MailingStatus::Running => "running",
        MailingStatus::Paused => "paused",
        MailingStatus::Cancelled => "cancelled",
    }
}

/// The share of a mailing's emails that are done (sent, failed or cancelled), in whole percent.
pub(crate) fn percent(p: &MailingProgress) -> u64 {
    if p.total == 0 {
        return 100;
    }
    ((p.sent + p.failed + p.cancelled) * 100 / p.total).min(100)
}

/// Running, paused, cancelled, or finished (nothing waits).
pub(crate) fn state_word(p: &MailingProgress) -> &'static str {
    if p.waiting == 0 && p.mailing.status != MailingStatus::Cancelled {
        "finished"
    } else {
        status_word(p.mailing.status)
    }
}

fn progress(session: &Session, p: &MailingProgress) -> Markup {
    let id = p.mailing.id.0;
    let done = p.sent + p.failed + p.cancelled;
    let status = state_word(p);
    html! {
        section #progress data-events={ "/ui/mailings/" (id) "/events" } aria-labelledby="pr-h" {
            h2 id="pr-h" { "Progress" }
            progress #bar max=(p.total) value=(done) aria-labelledby="pr-h" aria-describedby="pct" { (percent(p)) "%" }
            p.big { span #pct aria-live="polite" { (percent(p)) " %" } " · " span #state { (status) } }
            dl.counts {
                dt { "Sent" } dd #sent { (p.sent) }
                dt { "Failed" } dd #failed { (p.failed) }
                dt { "Waiting" } dd #waiting { (p.waiting) }
                dt { "Cancelled" } dd #cancelled { (p.cancelled) }
                dt { "Of" } dd #total { (p.total) }
                dt { "Expected finish" } dd #finish { (layout::time_el(p.expected_finish)) }
            }
            @if status == "running" || status == "paused" {
                div #controls .actions {
                    @if status == "running" {
                        (layout::action_button(session, &format!("/ui/mailings/{id}/pause"), "Pause", "secondary"))
                    } @else {
                        (layout::action_button(session, &format!("/ui/mailings/{id}/resume"), "Resume", "secondary"))
                    }
                    (layout::action_button(session, &format!("/ui/mailings/{id}/cancel"), "Cancel", "danger"))
                }
            }
            p { a href={ "/ui/history?mailing=" (id) } { "Its emails in the history" } }
        }
    }
}

async fn start_form(state: &AppState, session: &Session, error: Option<&str>) -> Result<Markup, UiError> {
    let engine = state.engine();
    let templates: Vec<(String, String)> = engine
        .templates_for(session.account, session.user_id())
        .await?
        .into_iter()
        .map(|t| (t.id.0.to_string(), t.name))
        .collect();
    let mailboxes: Vec<(String, String)> = engine
        .mailboxes_for(session.account, session.user_id())
        .await?
        .into_iter()
        .map(|m| (m.id.0.to_string(), m.from.email))
        .collect();
    let kinds: Vec<(String, String)> = ["lead", "contact", "company"]
        .iter()
        .map(|k| ((*k).to_owned(), (*k).to_owned()))
        .collect();
    Ok(html! {
        section aria-labelledby="st-h" {
            h2 id="st-h" { "Start a mailing" }
            (layout::notice(error, None))
            form.grid method="post" action="/ui/mailings" {
                (layout::csrf_field(session))
                (field("Name", "name", "text", "", Some("Shown in the queue and here"), true))
                (select("Template", "template", &templates, ""))
                (select("From mailbox", "mailbox", &mailboxes, ""))
                (select("Entities", "kind", &kinds, "lead"))
                div.field.wide {
                    label for="f-ids" { "CRM ids, separated by commas, spaces or lines" }
                    textarea id="f-ids" name="ids" rows="3" required aria-describedby="f-ids-hint" {}
                    small id="f-ids-hint" { "One personalised email per entity, 1 to " (MAX_ENTITIES) "." }
                }
                div.actions.wide { button type="submit" { "Start mailing" } }
            }
        }
    })
}

async fn render_list(
    state: &AppState,
    session: &Session,
    error: Option<&str>,
    status: axum::http::StatusCode,
) -> Result<Response, UiError> {
    let engine = state.engine();
    let mailings = engine.mailings(session.account).await?;
    let body = html! {
        @if mailings.is_empty() { p { "No mailing yet." } }
        @else {
            table.list {
                caption.sr-only { "Mailings" }
                thead { tr { th scope="col" { "Mailing" } th scope="col" { "Status" } th scope="col" { "Emails" } th
                    scope="col" { "Started" } } }
                tbody {
                    @for m in mailings.iter().rev() {
                        tr {
                            td data-label="Mailing" { a href={ "/ui/mailings/" (m.id.0) } { (m.name) } }
                            td data-label="Status" { (status_word(m.status)) }
                            td data-label="Emails" { (m.total) }
                            td data-label="Started" { (layout::time_el(Some(m.created_at))) }
                        }
                    }
                }
            }
        }
        (start_form(state, session, error).await?)
    };
    Ok(layout::page_with(status, session, Nav::Mailings, "Mailings", body))
}

/// `GET /ui/mailings`.
pub(crate) async fn list(State(state): State<AppState>, session: Session) -> Result<Response, UiError> {
    render_list(&state, &session, None, axum::http::StatusCode::OK).await
}

fn read(session: &Session, form: &FormData) -> Result<(MailingRequest, Vec<EntityRef>), UiError> {
    let kind = match form.get("kind") {
        "contact" => EntityKind::Contact,
        "company" => EntityKind::Company,
        _ => EntityKind::Lead,
    };
    let entities = form
        .get("ids")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map(|id| EntityRef { kind, id: CrmId(id) })
                .map_err(|_| UiError::Invalid {
                    field: "ids",
                    reason: format!("“{s}” is not a CRM id"),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if entities.is_empty() || entities.len() > MAX_ENTITIES {
        return Err(UiError::Invalid {
            field: "ids",
            reason: format!("name 1 to {MAX_ENTITIES} entities"),
        });
    }
    let name = form.get("name").trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(UiError::Invalid {
            field: "name",
            reason: "1 to 200 characters".into(),
        });
    }
    let request = MailingRequest {
        account: session.account,
        sender: session.user_id(),
        mailbox: MailboxId(form.parse("mailbox", "a mailbox")?),
        template: TemplateId(form.parse("template", "a template")?),
        name,
    };
    Ok((request, entities))
}

/// `POST /ui/mailings`: starts the mailing and shows its progress.
pub(crate) async fn start(
    State(state): State<AppState>,
    session: Session,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    let started = match read(&session, &form) {
        Ok((request, entities)) => state
            .engine()
            .start_mailing(&request, entities)
            .await
            .map_err(UiError::from),
        Err(e) => Err(e),
    };
    match started {
        Ok(s) => Ok(Redirect::to(&format!("/ui/mailings/{}", s.mailing.id.0)).into_response()),
        Err(e) => render_list(&state, &session, Some(&e.to_string()), e.status()).await,
    }
}

/// `GET /ui/mailings/{id}`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, UiError> {
    let p = state.engine().mailing_progress(session.account, MailingId(id)).await?;
    let title = format!("Mailing: {}", p.mailing.name);
    Ok(layout::page(&session, Nav::Mailings, &title, progress(&session, &p)))
}

/// `GET /ui/mailings/{id}/events`: the progress stream, as the admin API serves it.
pub(crate) async fn events(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, UiError> {
    let id = MailingId(id);
    let first = state.engine().mailing_progress(session.account, id).await?;
    Ok(progress_stream(state, session.account, id, first))
}

/// `POST /ui/mailings/{id}/{pause|resume|cancel}` (its sender or an admin).
pub(crate) async fn control(
    State(state): State<AppState>,
    session: Session,
    Path((id, action)): Path<(i64, String)>,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    let (engine, id) = (state.engine(), MailingId(id));
    match action.as_str() {
        "pause" => engine.pause_mailing(session.account, session.user_id(), id).await?,
        "resume" => engine.resume_mailing(session.account, session.user_id(), id).await?,
        "cancel" => engine.cancel_mailing(session.account, session.user_id(), id).await?,
        _ => {
            return Err(UiError::Invalid {
                field: "action",
                reason: "must be pause, resume or cancel".into(),
            });
        }
    };
    Ok(Redirect::to(&format!("/ui/mailings/{}", id.0)).into_response())
}
