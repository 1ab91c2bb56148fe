//! Mailboxes, per user: the manual's "Add account" form (From, SMTP server/port/security, IMAP server,
//! login, password), the sending limits (daily cap and how its window counts, spacing, per-minute cap, the
//! timezone of a calendar-day cap) and the check's green / gray / red mark with its reason and the manual's advice.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use mailer_core::engine::MailboxView;
use mailer_core::model::{
    AccountId, Address, CapWindow, CheckStatus, DisplayName, Mailbox, MailboxHealth, MailboxId, Secret, Security,
    SendingLimits, ServerSettings, Timezone, UserId,
};
use maud::{Markup, html};

use super::crud::ListScreen;
use super::error::UiError;
use super::form::{EditQuery, FormData};
use super::layout::{self, Nav, field, select};
use super::session::Session;
use crate::resource::Mailboxes;
use crate::server::AppState;

/// The mark of a check: a coloured sign with its name in words (not colour alone).
pub(crate) fn mark(health: Option<&MailboxHealth>) -> Markup {
    let (class, label) = match health.map(|h| h.status) {
        Some(CheckStatus::Green) => ("mark green", "✓ green"),
        Some(CheckStatus::Gray) => ("mark gray", "✓ gray"),
        Some(CheckStatus::Red) => ("mark red", "✗ red"),
        None => ("mark none", "not checked"),
    };
    html! { span class=(class) data-mark=(label) { (label) } }
}

/// What the mark means and what to do, as the manual advises.
fn advice(health: Option<&MailboxHealth>) -> Markup {
    let Some(h) = health else {
        return html! { p.advice { "Not checked yet: save or press “Check now”." } };
    };
    let words = match h.status {
        CheckStatus::Green => "SMTP and IMAP work: emails will be sent and a copy put in Sent.",
        CheckStatus::Gray => {
            "Only SMTP works: you will be able to send, but no copy goes to Sent. Check the IMAP server, its port \
             and that IMAP is enabled in the mailbox's own settings."
        }
        CheckStatus::Red => {
            "You cannot connect with these settings: check the SMTP server, port, security, login and password \
             again."
        }
    };
    html! {
        p.advice { (words) }
        @if let Some(reason) = h.reason() { p.reason { "Reason: " (reason) } }
        p.checked { "Checked " (layout::time_el(Some(h.checked_at))) }
    }
}

fn security_name(s: Security) -> &'static str {
    match s {
        Security::Tls => "tls",
        Security::StartTls => "starttls",
        Security::Plain => "plain",
    }
}

fn security_options() -> Vec<(String, String)> {
    vec![
        ("tls".into(), "SSL/TLS (465, 993)".into()),
        ("starttls".into(), "STARTTLS (587, 143)".into()),
        ("plain".into(), "None (local servers only)".into()),
    ]
}

fn security(form: &FormData, name: &'static str) -> Result<Security, UiError> {
    match form.get(name) {
        "tls" => Ok(Security::Tls),
        "starttls" => Ok(Security::StartTls),
        "plain" => Ok(Security::Plain),
        _ => Err(UiError::Invalid {
            field: name,
            reason: "must be SSL/TLS, STARTTLS or none".into(),
        }),
    }
}

fn window_name(w: CapWindow) -> &'static str {
    match w {
        CapWindow::Rolling24h => "rolling_24h",
        CapWindow::CalendarDay => "calendar_day",
    }
}

fn window_options() -> Vec<(String, String)> {
    vec![
        ("rolling_24h".into(), "the last 24 hours".into()),
        ("calendar_day".into(), "the calendar day".into()),
    ]
}

fn window(form: &FormData) -> Result<CapWindow, UiError> {
    match form.get("cap_window") {
        "rolling_24h" | "" => Ok(CapWindow::Rolling24h),
        "calendar_day" => Ok(CapWindow::CalendarDay),
        _ => Err(UiError::Invalid {
            field: "cap_window",
            reason: "must be the last 24 hours or the calendar day".into(),
        }),
    }
}

async fn owners(state: &AppState, session: &Session) -> Result<Vec<(String, String)>, UiError> {
    if session.is_admin() {
        let users = state.engine().users(session.account, session.user_id()).await?;
        Ok(users.into_iter().map(|u| (u.id.0.to_string(), u.name)).collect())
    } else {
        Ok(vec![(session.user.id.0.to_string(), session.user.name.clone())])
    }
}

fn editor(session: &Session, owners: &[(String, String)], m: Option<&MailboxView>, error: Option<&str>) -> Markup {
    let server = |s: Option<&ServerSettings>| {
        s.map_or((String::new(), String::new(), "tls"), |s| {
            (s.host.clone(), s.port.to_string(), security_name(s.security))
        })
    };
    let (smtp_host, smtp_port, smtp_sec) = server(m.map(|m| &m.smtp));
    let (imap_host, imap_port, imap_sec) = server(m.and_then(|m| m.imap.as_ref()));
    let owner = m.map_or(session.user.id.0, |m| m.owner.0).to_string();
    let limits = m.map_or_else(SendingLimits::default, |m| m.limits.clone());
    html! {
        section aria-labelledby="mbf-h" {
            h2 id="mbf-h" { @if m.is_some() { "Edit mailbox" } @else { "Add a mailbox" } }
            (layout::notice(error, None))
            form.grid method="post" action="/ui/mailboxes" {
                (layout::csrf_field(session))
                input type="hidden" name="id" value=(m.map_or(0, |m| m.id.0));
                (select("User", "owner", owners, &owner))
                (field("From: name", "from_name", "text", m.and_then(|m| m.from.name.as_deref()).unwrap_or(""),
                    None, false))
                (field("From: email", "from_email", "email", m.map_or("", |m| m.from.email.as_str()), None, true))
                (field("SMTP server", "smtp_host", "text", &smtp_host,
                    Some("From your mail server's instructions, e.g. smtp.gmail.com"), true))
                (field("SMTP port", "smtp_port", "number", &smtp_port, None, true))
                (select("SMTP security", "smtp_security", &security_options(), smtp_sec))
                (field("IMAP server", "imap_host", "text", &imap_host,
                    Some("For the copy in Sent; leave empty to send only (a gray mark)"), false))
                (field("IMAP port", "imap_port", "number", &imap_port, None, false))
                (select("IMAP security", "imap_security", &security_options(), imap_sec))
                (field("Login", "login", "text", m.map_or("", |m| m.login.as_str()), None, true))
                (field("Password", "password", "password", "", Some(if m.is_some() {
                    "Leave empty to keep the stored one" } else { "Kept sealed; never shown again" }), m.is_none()))
                (field("Emails per day at most", "daily_cap", "number", &limits.daily_cap.to_string(), None, true))
                (field("Seconds between two emails", "spacing", "number", &limits.spacing.as_secs_f64().to_string(),
                    None, true))
                (select("The daily cap counts", "cap_window", &window_options(), window_name(limits.window)))
                (field("Emails per minute at most", "per_minute_cap", "number",
                    &limits.per_minute_cap.map(|n| n.to_string()).unwrap_or_default(),
                    Some("Empty: no per-minute cap (Microsoft 365 allows 30)"), false))
                (field("Timezone", "timezone", "text", m.map_or("UTC", |m| m.timezone.0.name()),
                    Some("Where a calendar day starts, e.g. Europe/Berlin"), true))
                (field("Sent folder", "sent_folder", "text", m.and_then(|m| m.sent_folder.as_deref()).unwrap_or(""),
                    Some("Only when the server's own Sent folder is not found"), false))
                div.actions { button type="submit" { "Save and check" } }
            }
        }
    }
}

fn listing(session: &Session, mailboxes: &[MailboxView], owners: &[(String, String)]) -> Markup {
    let owner_name = |id: UserId| {
        owners
            .iter()
            .find(|(v, _)| *v == id.0.to_string())
            .map_or_else(|| format!("user {id}"), |(_, n)| n.clone())
    };
    html! {
        @if mailboxes.is_empty() { p { "No mailbox yet." } }
        ul.records {
            @for m in mailboxes {
                li.record id={ "mailbox-" (m.id.0) } {
                    h3 { (m.from.email) " " (mark(m.health.as_ref())) }
                    p.meta {
                        (owner_name(m.owner)) " · SMTP " (m.smtp.host) ":" (m.smtp.port)
                        @if let Some(imap) = &m.imap { " · IMAP " (imap.host) ":" (imap.port) }
                    }
                    (advice(m.health.as_ref()))
                    div.actions {
                        (layout::action_button(session, &format!("/ui/mailboxes/{}/check", m.id.0), "Check now",
                            "secondary"))
                        a.button.secondary href={ "/ui/mailboxes?edit=" (m.id.0) "#mbf-h" } { "Edit" }
                        (layout::action_button(session, &format!("/ui/mailboxes/{}/delete", m.id.0), "Delete",
                            "danger"))
                    }
                }
            }
        }
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    edit: Option<i64>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, UiError> {
    let mailboxes = state.engine().mailboxes_for(session.account, session.user_id()).await?;
    let owners = owners(state, session).await?;
    let editing = edit.and_then(|id| mailboxes.iter().find(|m| m.id.0 == id));
    let body = html! {
        (listing(session, &mailboxes, &owners))
        (editor(session, &owners, editing, error))
    };
    Ok(layout::page_with(status, session, Nav::Mailboxes, "Mailboxes", body))
}

/// `GET /ui/mailboxes`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<EditQuery>,
) -> Result<Response, UiError> {
    render(&state, &session, q.edit, None, StatusCode::OK).await
}

fn read(session: &Session, form: &FormData) -> Result<Mailbox, UiError> {
    let server = |host: &'static str, port: &'static str, sec: &'static str| -> Result<ServerSettings, UiError> {
        Ok(ServerSettings {
            host: form.get(host).trim().to_owned(),
            port: form.parse(port, "a port number (1–65535)")?,
            security: security(form, sec)?,
        })
    };
    let imap = match form.opt("imap_host") {
        Some(_) => Some(server("imap_host", "imap_port", "imap_security")?),
        None => None,
    };
    let spacing: f64 = form.parse("spacing", "a number of seconds")?;
    let spacing = Duration::try_from_secs_f64(spacing).map_err(|_| UiError::Invalid {
        field: "spacing",
        reason: "must be zero or more seconds".into(),
    })?;
    Ok(Mailbox {
        id: MailboxId(form.parse("id", "an id")?),
        account: AccountId(session.account.0),
        owner: UserId(form.parse("owner", "a user")?),
        from: Address {
            name: form.opt("from_name").map(DisplayName::new),
            email: form.get("from_email").trim().to_owned(),
        },
        smtp: server("smtp_host", "smtp_port", "smtp_security")?,
        imap,
        login: form.get("login").trim().to_owned(),
        password: Secret::new(form.get("password")),
        sent_folder: form.opt("sent_folder").map(str::to_owned),
        limits: SendingLimits {
            spacing,
            daily_cap: form.parse("daily_cap", "a whole number")?,
            window: window(form)?,
            per_minute_cap: form.parse_opt("per_minute_cap", "a whole number")?,
        },
        timezone: Timezone::parse(form.opt("timezone").unwrap_or("UTC")).map_err(|e| UiError::Invalid {
            field: "timezone",
            reason: e.to_string(),
        })?,
        health: None,
    })
}

/// The mailbox screen: a save checks the servers, as the widget does, and shows the mailbox's card.
impl ListScreen for Mailboxes {
    const LIST: &'static str = "/ui/mailboxes";

    async fn read(state: &AppState, session: &Session, form: &FormData) -> Result<Mailbox, UiError> {
        let _ = state;
        read(session, form)
    }

    async fn render(
        state: &AppState,
        session: &Session,
        edit: Option<i64>,
        error: Option<&str>,
        status: StatusCode,
    ) -> Result<Response, UiError> {
        render(state, session, edit, error, status).await
    }

    async fn saved(state: &AppState, session: &Session, view: MailboxView) -> Result<Response, UiError> {
        state
            .engine()
            .check_mailbox(session.account, session.user_id(), view.id)
            .await?;
        Ok(Redirect::to(&format!("/ui/mailboxes#mailbox-{}", view.id.0)).into_response())
    }
}

/// `POST /ui/mailboxes/{id}/check`.
pub(crate) async fn check(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    state
        .engine()
        .check_mailbox(session.account, session.user_id(), MailboxId(id))
        .await?;
    Ok(Redirect::to(&format!("/ui/mailboxes#mailbox-{id}")).into_response())
}
