//! The dashboard: each mailbox's sends in its cap window against the cap, its next free slot, and what
//! waits in its queue.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::error::UiError;
use super::layout::{self, Nav};
use super::mailboxes::mark;
use super::mailings::{percent, state_word};
use super::session::Session;
use crate::server::AppState;

/// The share of the cap used, in whole percent.
fn share(sent: u32, cap: u32) -> u64 {
    if cap == 0 {
        100
    } else {
        (u64::from(sent) * 100 / u64::from(cap)).min(100)
    }
}

/// `GET /ui`.
pub(crate) async fn show(State(state): State<AppState>, session: Session) -> Result<Response, UiError> {
    let usage = state.engine().mailbox_usage(session.account, session.user_id()).await?;
    let mailings = state.engine().mailings(session.account).await?;
    let mut latest = Vec::new();
    for m in mailings.iter().rev().take(5) {
        latest.push(state.engine().mailing_progress(session.account, m.id).await?);
    }
    let body = html! {
        section aria-labelledby="mb-h" {
            h2 id="mb-h" { "Mailboxes today" }
            @if usage.is_empty() {
                p { "No mailbox yet. " a href="/ui/mailboxes" { "Add one" } "." }
            }
            div.cards {
                @for u in &usage {
                    @let pct = share(u.sent_in_window, u.cap);
                    article.card data-mailbox=(u.mailbox.id.0) {
                        h3 { (u.mailbox.from.email) " " (mark(u.mailbox.health.as_ref())) }
                        p { "Sent " strong.sent { (u.sent_in_window) } " of " (u.cap) " in the cap window" }
                        progress max="100" value=(pct) aria-label={ "Share of the cap used by "
                            (u.mailbox.from.email) } { (pct) "%" }
                        p { "Next free slot: " (layout::time_el(u.next_free)) }
                        p { (u.waiting) " waiting · " a href={ "/ui/queue?mailbox=" (u.mailbox.id.0) } {
                            "see the queue" } }
                    }
                }
            }
        }
        section aria-labelledby="ml-h" {
            h2 id="ml-h" { "Latest mailings" }
            @if latest.is_empty() { p { "No mailing yet." } }
            ul {
                @for p in &latest {
                    li {
                        a href={ "/ui/mailings/" (p.mailing.id.0) } { (p.mailing.name) }
                        " — " (state_word(p)) ", " (percent(p)) " % of " (p.total)
                    }
                }
            }
            p { a.button href="/ui/mailings" { "Start a mailing" } }
        }
    };
    Ok(layout::page(&session, Nav::Dashboard, "Dashboard", body))
}
