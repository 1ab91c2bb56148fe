//! The queue ("Letters > Queued"): a mailbox's waiting emails in the order they will go, each with its
//! expected send time.

use axum::extract::{Query, State};
use axum::response::Response;
use mailer_core::model::{EntityRef, MailboxId};
use maud::html;
use serde::Deserialize;

use super::error::UiError;
use super::layout::{self, Nav, select};
use super::session::Session;
use crate::server::AppState;

/// How many waiting emails the screen lists.
const SHOWN: u32 = 200;

/// Which mailbox's queue.
#[derive(Debug, Deserialize)]
pub(crate) struct QueueQuery {
    mailbox: Option<i64>,
}

/// An entity in words: `lead 42`.
pub(crate) fn entity(e: Option<EntityRef>) -> String {
    e.map_or_else(|| "—".to_owned(), |e| format!("{:?} {}", e.kind, e.id.0).to_lowercase())
}

/// `GET /ui/queue`.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<QueueQuery>,
) -> Result<Response, UiError> {
    let engine = state.engine();
    let mailboxes = engine.mailboxes_for(session.account, session.user_id()).await?;
    let chosen = q
        .mailbox
        .and_then(|id| mailboxes.iter().find(|m| m.id.0 == id))
        .or_else(|| mailboxes.first());
    let waiting = match chosen {
        Some(m) => engine.queue_view(session.account, MailboxId(m.id.0), SHOWN).await?,
        None => Vec::new(),
    };
    let options: Vec<(String, String)> = mailboxes
        .iter()
        .map(|m| (m.id.0.to_string(), m.from.email.clone()))
        .collect();
    let body = html! {
        form.filters method="get" action="/ui/queue" {
            (select("Mailbox", "mailbox", &options, &chosen.map_or(String::new(), |m| m.id.0.to_string())))
            button type="submit" { "Show" }
        }
        @if waiting.is_empty() { p { "Nothing waits in this queue." } }
        @else {
            table.list {
                caption { (waiting.len()) " waiting, in sending order" }
                thead { tr { th scope="col" { "Email" } th scope="col" { "Subject as written" } th scope="col" {
                    "About" } th scope="col" { "Mailing" } th scope="col" { "Expected" } } }
                tbody {
                    @for w in &waiting {
                        tr {
                            td data-label="Email" { a href={ "/ui/history/" (w.email.id.0) } { "#" (w.email.id.0) } }
                            td data-label="Subject" { (w.email.spec.content.subject) }
                            td data-label="About" { (entity(w.email.spec.entity)) }
                            td data-label="Mailing" { @match w.email.spec.mailing { Some(m) => a href={
                                "/ui/mailings/" (m.0) } { "#" (m.0) }, None => "single" } }
                            td data-label="Expected" { (layout::time_el(w.expected_at)) }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, Nav::Queue, "Queue", body))
}
