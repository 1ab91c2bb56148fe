//! The history: emails with their status, filtered by status, mailbox, mailing, entity and time, and each
//! email's timeline of events (queued, sent, opened by a person or by a machine, clicked, failed with its
//! classified reason…).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use mailer_core::engine::HistoryEntry;
use mailer_core::model::{
    CrmId, EmailId, EmailQuery, EmailStatus, EntityKind, EntityRef, Event, EventKind, MailboxId, MailingId,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::error::UiError;
use super::layout::{self, Nav, select};
use super::queue::entity;
use super::session::Session;
use crate::server::AppState;

/// Emails per page.
const PER_PAGE: u32 = 50;

/// The filters (all optional; empty fields are ignored).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    mailbox: String,
    #[serde(default)]
    mailing: String,
    #[serde(default)]
    entity_kind: String,
    #[serde(default)]
    entity_id: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    after: Option<i64>,
}

fn status_of(s: &str) -> Option<EmailStatus> {
    match s {
        "queued" => Some(EmailStatus::Queued),
        "sending" => Some(EmailStatus::Sending),
        "sent" => Some(EmailStatus::Sent),
        "failed" => Some(EmailStatus::Failed),
        "cancelled" => Some(EmailStatus::Cancelled),
        _ => None,
    }
}

/// A status in words.
pub(crate) fn status_word(s: EmailStatus) -> &'static str {
    match s {
        EmailStatus::Queued => "queued",
        EmailStatus::Sending => "sending",
        EmailStatus::Sent => "sent",
        EmailStatus::Failed => "failed",
        EmailStatus::Cancelled => "cancelled",
    }
}

fn date(s: &str) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

fn query(session: &Session, f: &Filters) -> EmailQuery {
    let kind = match f.entity_kind.as_str() {
        "lead" => Some(EntityKind::Lead),
        "contact" => Some(EntityKind::Contact),
        "company" => Some(EntityKind::Company),
        _ => None,
    };
    let entity = kind
        .zip(f.entity_id.trim().parse().ok())
        .map(|(kind, id)| EntityRef { kind, id: CrmId(id) });
    EmailQuery {
        statuses: status_of(&f.status).into_iter().collect(),
        mailbox: f.mailbox.trim().parse().ok().map(MailboxId),
        mailing: f.mailing.trim().parse().ok().map(MailingId),
        entity,
        after: f.after.map(EmailId),
        ..EmailQuery::account(session.account, PER_PAGE)
    }
}

fn filters_form(f: &Filters, mailboxes: &[(String, String)]) -> Markup {
    let statuses: Vec<(String, String)> = ["", "queued", "sending", "sent", "failed", "cancelled"]
        .iter()
        .map(|s| {
            (
                (*s).to_owned(),
                if s.is_empty() {
                    "any".to_owned()
                } else {
                    (*s).to_owned()
                },
            )
        })
        .collect();
    let kinds: Vec<(String, String)> = ["", "lead", "contact", "company"]
        .iter()
        .map(|s| {
            (
                (*s).to_owned(),
                if s.is_empty() {
                    "any".to_owned()
                } else {
                    (*s).to_owned()
                },
            )
        })
        .collect();
    let mut boxes = vec![(String::new(), "any".to_owned())];
    boxes.extend(mailboxes.iter().cloned());
    html! {
        form.filters method="get" action="/ui/history" aria-label="Filters" {
            (select("Status", "status", &statuses, &f.status))
            (select("Mailbox", "mailbox", &boxes, &f.mailbox))
            (layout::field("Mailing", "mailing", "number", &f.mailing, None, false))
            (select("Entity", "entity_kind", &kinds, &f.entity_kind))
            (layout::field("Entity id", "entity_id", "number", &f.entity_id, None, false))
            (layout::field("From day", "since", "date", &f.since, None, false))
            (layout::field("Until day", "until", "date", &f.until, None, false))
            button type="submit" { "Filter" }
        }
    }
}

/// The query of the next page: the same filters, after `after`.
fn next_page(f: &Filters, after: i64) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("after", &after.to_string())
        .extend_pairs([
            ("status", &f.status),
            ("mailbox", &f.mailbox),
            ("mailing", &f.mailing),
            ("entity_kind", &f.entity_kind),
            ("entity_id", &f.entity_id),
            ("since", &f.since),
            ("until", &f.until),
        ])
        .finish()
}

/// `GET /ui/history`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(f): Query<Filters>,
) -> Result<Response, UiError> {
    let engine = state.engine();
    let mailboxes: Vec<(String, String)> = engine
        .mailboxes_for(session.account, session.user_id())
        .await?
        .into_iter()
        .map(|m| (m.id.0.to_string(), m.from.email.to_string()))
        .collect();
    let mut entries = engine.history(&query(&session, &f)).await?;
    let next = (entries.len() == PER_PAGE as usize)
        .then(|| entries.last().map(|e| e.email.id.0))
        .flatten();
    let (since, until) = (date(&f.since), date(&f.until));
    entries.retain(|e| {
        let day = e.email.sent_at.unwrap_or(e.email.due_at).date_naive();
        since.is_none_or(|s| day >= s) && until.is_none_or(|u| day <= u)
    });
    let body = html! {
        (filters_form(&f, &mailboxes))
        @if entries.is_empty() { p { "No email matches." } }
        @else {
            table.list #history {
                caption.sr-only { "Emails" }
                thead { tr { th scope="col" { "Email" } th scope="col" { "Status" } th scope="col" {
                    "Subject as written" } th scope="col" { "About" } th scope="col" { "Sent" } th scope="col" {
                    "Events" } } }
                tbody {
                    @for e in &entries {
                        tr {
                            td data-label="Email" { a href={ "/ui/history/" (e.email.id.0) } { "#" (e.email.id.0) } }
                            td data-label="Status" { span class={ "status " (status_word(e.email.status)) } {
                                (status_word(e.email.status)) } }
                            td data-label="Subject" { (e.email.spec.content.subject) }
                            td data-label="About" { (entity(e.email.spec.entity)) }
                            td data-label="Sent" { (layout::time_el(e.email.sent_at)) }
                            td data-label="Events" { (e.events.len()) }
                        }
                    }
                }
            }
        }
        @if let Some(after) = next {
            p { a.button.secondary href={ "/ui/history?" (next_page(&f, after)) } { "Next page" } }
        }
    };
    Ok(layout::page(&session, Nav::History, "History", body))
}

/// An event in words.
fn event_words(e: &Event) -> String {
    let who = if e.event.automated {
        "automated (a mail scanner or proxy)"
    } else {
        "by a person"
    };
    match &e.event.kind {
        EventKind::Queued => "queued".into(),
        EventKind::Sent => "sent".into(),
        EventKind::Retried { reason } => format!("will retry: {reason}"),
        EventKind::Failed { reason } => format!("failed: {reason}"),
        EventKind::SentCopyFailed { reason } => format!("sent, but the copy in Sent failed: {reason}"),
        EventKind::Opened => format!("opened, {who}"),
        EventKind::Clicked { link } => format!("clicked trigger link {link}, {who}"),
        EventKind::PageOpened { page } => format!("opened web page {page}"),
        EventKind::Unsubscribed => "unsubscribed".into(),
        EventKind::FormSubmitted { fields } => format!("submitted a form ({} field(s))", fields.len()),
        EventKind::TriggerFired { trigger } => format!("trigger {trigger} ran"),
        EventKind::TriggerFailed { trigger, reason } => format!("trigger {trigger} failed: {reason}"),
        EventKind::Suppressed { address } => format!("not sent to {address}: on the suppression list"),
        EventKind::SendSkipped { reason } => format!("skipped: {reason}"),
        EventKind::Bounced {
            recipient,
            status,
            diagnostic,
        } => format!(
            "bounced{}{}: {diagnostic}",
            recipient.as_deref().map(|r| format!(" for {r}")).unwrap_or_default(),
            status.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
        ),
        EventKind::SoftBounced {
            recipient,
            status,
            diagnostic,
        } => format!(
            "delayed (soft bounce){}{}: {diagnostic}",
            recipient.as_deref().map(|r| format!(" for {r}")).unwrap_or_default(),
            status.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
        ),
        EventKind::Replied { from, .. } => format!(
            "the client replied{}",
            from.as_deref().map(|f| format!(" ({f})")).unwrap_or_default()
        ),
        EventKind::AutoReplied { from, .. } => format!(
            "an automatic reply came{}",
            from.as_deref().map(|f| format!(" ({f})")).unwrap_or_default()
        ),
    }
}

fn event_class(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Failed { .. }
        | EventKind::TriggerFailed { .. }
        | EventKind::SentCopyFailed { .. }
        | EventKind::Bounced { .. } => "bad",
        EventKind::Sent | EventKind::Opened | EventKind::Clicked { .. } | EventKind::Replied { .. } => "good",
        _ => "plain",
    }
}

fn timeline(entry: &HistoryEntry, mailbox: &str) -> Markup {
    let e = &entry.email;
    html! {
        dl.facts {
            dt { "Status" } dd { span class={ "status " (status_word(e.status)) } { (status_word(e.status)) } }
            dt { "Subject as written" } dd { (e.spec.content.subject) }
            dt { "About" } dd { (entity(e.spec.entity)) }
            dt { "To" } dd { @if e.spec.to.is_empty() { "the entity's contacts" } @else {
                (e.spec.to.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")) } }
            dt { "Mailbox" } dd { (mailbox) }
            dt { "Attempts" } dd { (e.attempts) }
            @if let Some(err) = &e.last_error { dt { "Last error" } dd.error { (err) } }
        }
        h2 { "Timeline" }
        ol.timeline {
            @for ev in &entry.events {
                li class=(event_class(&ev.event.kind)) {
                    (layout::time_el(Some(ev.event.at))) " — " (event_words(ev))
                }
            }
        }
    }
}

/// `GET /ui/history/{id}`: one email and its events.
pub(crate) async fn show(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
) -> Result<Response, UiError> {
    let q = EmailQuery {
        after: Some(EmailId(id.saturating_sub(1))),
        ..EmailQuery::account(session.account, 1)
    };
    let entry = state
        .engine()
        .history(&q)
        .await?
        .into_iter()
        .find(|e| e.email.id.0 == id)
        .ok_or_else(|| {
            UiError::Engine(mailer_core::engine::EngineError::Store(
                mailer_core::ports::StoreError::NotFound {
                    what: "email",
                    id: id.to_string(),
                },
            ))
        })?;
    let mailbox = state
        .engine()
        .mailbox_view(session.account, session.user_id(), entry.email.spec.mailbox)
        .await
        .map_or_else(
            |_| format!("mailbox {}", entry.email.spec.mailbox),
            |m| m.from.to_string(),
        );
    Ok(layout::page(
        &session,
        Nav::History,
        &format!("Email #{id}"),
        timeline(&entry, &mailbox),
    ))
}
