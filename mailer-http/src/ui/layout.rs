//! The page shell every screen shares: the head (the embedded style sheet and script), the navigation,
//! the sign-out form, and the response headers (no caching, a strict content security policy).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mailer_core::model::Timestamp;
use maud::{DOCTYPE, Markup, html};

use super::session::{CSRF_FIELD, Session};

/// The policy of every UI page: our own script and style sheet only, previews in sandboxed frames.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: https: http:; connect-src 'self'; frame-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The screens in the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Dashboard,
    Mailboxes,
    Templates,
    Triggers,
    Links,
    Pages,
    Rules,
    Queue,
    Mailings,
    History,
}

const NAV: [(Nav, &str, &str); 10] = [
    (Nav::Dashboard, "/ui", "Dashboard"),
    (Nav::Mailboxes, "/ui/mailboxes", "Mailboxes"),
    (Nav::Templates, "/ui/templates", "Templates"),
    (Nav::Triggers, "/ui/triggers", "Triggers"),
    (Nav::Links, "/ui/links", "Trigger links"),
    (Nav::Pages, "/ui/pages", "Web pages"),
    (Nav::Rules, "/ui/rules", "Pipeline rules"),
    (Nav::Queue, "/ui/queue", "Queue"),
    (Nav::Mailings, "/ui/mailings", "Mailings"),
    (Nav::History, "/ui/history", "History"),
];

/// A page of a signed-in user.
pub(crate) fn page(session: &Session, nav: Nav, title: &str, body: Markup) -> Response {
    page_with(StatusCode::OK, session, nav, title, body)
}

/// A page of a signed-in user with a status other than 200 (a form shown again with its error).
pub(crate) fn page_with(status: StatusCode, session: &Session, nav: Nav, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body data-csrf=(session.csrf) {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/ui" { "mailer" }
                    nav aria-label="Main" {
                        ul {
                            @for (item, href, label) in NAV {
                                li { a href=(href) aria-current=[(item == nav).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form.signout method="post" action="/ui/logout" {
                        (csrf_field(session))
                        span.who { (session.user.name) @if session.is_admin() { " (admin)" } }
                        button type="submit" { "Sign out" }
                    }
                }
                main id="main" { h1 { (title) } (body) }
            }
        }
    };
    respond(status, markup)
}

/// A page without navigation (sign-in, errors).
pub(crate) fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body { main id="main" class="narrow" { (body) } }
        }
    };
    respond(status, markup)
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · mailer" }
            link rel="stylesheet" href="/ui/assets/ui.css";
            script src="/ui/assets/ui.js" defer {}
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> Response {
    let mut response = (status, markup.into_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The hidden CSRF field of a form.
pub(crate) fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(session.csrf); }
}

/// A message above a form: the error of the last try, or what was done.
pub(crate) fn notice(error: Option<&str>, done: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { p.error role="alert" { (e) } }
        @if let Some(d) = done { p.done role="status" { (d) } }
    }
}

/// A time as people read it, in UTC.
pub(crate) fn time(at: Timestamp) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time in a `<time>` element.
pub(crate) fn time_el(at: Option<Timestamp>) -> Markup {
    html! {
        @match at {
            Some(at) => time datetime=(at.to_rfc3339()) { (time(at)) },
            None => "—",
        }
    }
}

/// A field with its label and an optional hint.
pub(crate) fn field(label: &str, name: &str, kind: &str, value: &str, hint: Option<&str>, required: bool) -> Markup {
    let id = format!("f-{name}");
    let hint_id = format!("{id}-hint");
    html! {
        div.field {
            label for=(id) { (label) }
            input id=(id) type=(kind) name=(name) value=(value) required[required]
                aria-describedby=[hint.map(|_| hint_id.clone())];
            @if let Some(h) = hint { small id=(hint_id) { (h) } }
        }
    }
}

/// A select with its label; `options` are (value, text).
pub(crate) fn select(label: &str, name: &str, options: &[(String, String)], selected: &str) -> Markup {
    let id = format!("f-{name}");
    html! {
        div.field {
            label for=(id) { (label) }
            select id=(id) name=(name) {
                @for (value, text) in options {
                    option value=(value) selected[value == selected] { (text) }
                }
            }
        }
    }
}

/// A small POST form with one button (check, pause, delete…).
pub(crate) fn action_button(session: &Session, action: &str, label: &str, class: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            (csrf_field(session))
            button class=(class) type="submit" { (label) }
        }
    }
}
