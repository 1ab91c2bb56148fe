//! The dashboard: each mailbox's sends in its cap window against the cap, its next free slot, and what
//! waits in its queue.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::error::UiError;
use super::layout::{self, Nav};
use super::mailboxes::mark;
use super::session::Session;
use crate::server::AppState;

/// `GET /ui`.
pub(crate) async fn show(State(state): State<AppState>, session: Session) -> Result<Response, UiError> {
    let usage = state.engine().mailbox_usage(session.account, session.user_id()).await?;
    let mailings = state.engine().mailings(session.account).await?;
    let running = mailings.iter().rev().take(5).collect::<Vec<_>>();
    let body = html! {
        section aria-labelledby="mb-h" {
            h2 id="mb-h" { "Mailboxes today" }
            @if usage.is_empty() {
                p { "No mailbox yet. " a href="/ui/mailboxes" { "Add one" } "." }
            }
            div.cards {
                @for u in &usage {
                    @let pct = if u.cap == 0 { 100 } else { (u64::from(u.sent_in_window) * 100 / u64::from(u.cap)).min(100) };
                    article.card data-mailbox=(u.mailbox.id.0) {
                        h3 { (u.mailbox.from.email) " " (mark(u.mailbox.health.as_ref())) }
                        p { "Sent " strong.sent { (u.sent_in_window) } " of " (u.cap) " in the cap window" }
                        progress max="100" value=(pct) aria-label={ "Share of the cap used by " (u.mailbox.from.email) } { (pct) "%" }
                        p { "Next free slot: " (layout::time_el(u.next_free)) }
                        p { (u.waiting) " waiting · " a href={ "/ui/queue?mailbox=" (u.mailbox.id.0) } { "see the queue" } }
                    }
                }
            }
        }
        section aria-labelledby="ml-h" {
            h2 id="ml-h" { "Latest mailings" }
            @if running.is_empty() { p { "No mailing yet." } }
            ul {
                @for m in running {
                    li { a href={ "/ui/mailings/" (m.id.0) } { (m.name) } " — " (format!("{:?}", m.status).to_lowercase()) }
                }
            }
            p { a.button href="/ui/mailings" { "Start a mailing" } }
        }
    };
    Ok(layout::page(&session, Nav::Dashboard, "Dashboard", body))
}
