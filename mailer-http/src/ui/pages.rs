//! Web pages: each with its mask `{web:N}` and a copy button; a form to add or change one (header, slug,
//! body, lifetime, cache, subdomain, triggers on opening).

use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mailer_core::model::{Body, Content, Trigger, TriggerId, WebPage, WebPageId};
use maud::{Markup, html};

use super::crud::ListScreen;
use super::error::UiError;
use super::form::{EditQuery, FormData};
use super::layout::{self, Nav, field, select};
use super::links::{mask, trigger_boxes};
use super::session::Session;
use crate::resource::WebPages;
use crate::server::AppState;

fn editor(session: &Session, p: Option<&WebPage>, triggers: &[Trigger], error: Option<&str>) -> Markup {
    let (format, source) = match p.map(|p| &p.content.body) {
        Some(Body::Html(s)) => ("html", s.as_str()),
        Some(Body::Markdown(s)) => ("markdown", s.as_str()),
        None => ("markdown", ""),
    };
    html! {
        section aria-labelledby="pf-h" {
            h2 id="pf-h" { @if p.is_some() { "Edit web page" } @else { "Add a web page" } }
            (layout::notice(error, None))
            form.grid method="post" action="/ui/pages" {
                (layout::csrf_field(session))
                input type="hidden" name="id" value=(p.map_or(0, |p| p.id.0));
                (field("Header (the tab's title)", "header", "text", p.map_or("", |p| p.header.as_str()), None, true))
                (field("Slug", "slug", "text", p.map_or("", |p| p.slug.as_str()),
                    Some("The readable end of the URL, e.g. offer"), true))
                (select("Body format", "format", &[("markdown".into(), "Markdown".into()), ("html".into(),
                    "HTML".into())], format))
                div.field.wide {
                    label for="f-pbody" { "Body" }
                    textarea id="f-pbody" name="body" rows="8" { (source) }
                }
                (field("Available for days", "lifetime_days", "number", &p.map_or(30, |p|
                    p.lifetime_days).to_string(), None, true))
                (field("Cache, minutes", "cache_minutes", "number", &p.map_or(10, |p| p.cache.as_secs() /
                    60).to_string(), None, true))
                (field("Subdomain", "subdomain", "text", p.and_then(|p| p.subdomain.as_deref()).unwrap_or(""),
                    Some("One of up to three, for separate analytics"), false))
                (trigger_boxes("on_open", triggers, p.map_or(&[], |p| &p.on_open)))
                div.actions.wide { button type="submit" { "Save page" } }
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
    let engine = state.engine();
    let pages = engine.web_pages(session.account, session.user_id()).await?;
    let triggers = engine.triggers(session.account, session.user_id()).await?;
    let editing = edit.and_then(|id| pages.iter().find(|p| p.id.0 == id));
    let body = html! {
        @if pages.is_empty() { p { "No web page yet." } }
        ul.records {
            @for p in &pages {
                li.record {
                    h3 { (p.header) }
                    p { "Paste in a body: " (mask(&format!("{{web:{}}}", p.id.0))) }
                    p.meta { "/" (p.slug) " · " (p.lifetime_days) " days · " (p.on_open.len())
                        " trigger(s) on opening" }
                    div.actions {
                        a.button.secondary.small href={ "/ui/pages?edit=" (p.id.0) "#pf-h" } { "Edit" }
                        (layout::action_button(session, &format!("/ui/pages/{}/delete", p.id.0), "Delete",
                            "danger small"))
                    }
                }
            }
        }
        (editor(session, editing, &triggers, error))
    };
    Ok(layout::page_with(status, session, Nav::Pages, "Web pages", body))
}

/// `GET /ui/pages`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<EditQuery>,
) -> Result<Response, UiError> {
    render(&state, &session, q.edit, None, StatusCode::OK).await
}

async fn read(state: &AppState, session: &Session, form: &FormData) -> Result<WebPage, UiError> {
    let id: i64 = form.parse("id", "an id")?;
    // Keep what the form does not show (analytics counters).
    let old = if id == 0 {
        None
    } else {
        state
            .engine()
            .web_pages(session.account, session.user_id())
            .await?
            .into_iter()
            .find(|p| p.id.0 == id)
    };
    let source = form.get("body").to_owned();
    Ok(WebPage {
        id: WebPageId(id),
        account: session.account,
        header: form.get("header").trim().to_owned(),
        slug: form.get("slug").trim().to_owned(),
        content: Content {
            subject: String::new(),
            body: if form.get("format") == "html" {
                Body::Html(source)
            } else {
                Body::Markdown(source)
            },
            text: None,
        },
        lifetime_days: form.parse("lifetime_days", "a whole number of days")?,
        cache: Duration::from_secs(
            form.parse::<u64>("cache_minutes", "a whole number of minutes")?
                .saturating_mul(60),
        ),
        subdomain: form.opt("subdomain").map(str::to_owned),
        on_open: form.ids("on_open")?.into_iter().map(TriggerId).collect(),
        metric_counter: old.as_ref().and_then(|p| p.metric_counter.clone()),
        gtm_id: old.and_then(|p| p.gtm_id),
    })
}

impl ListScreen for WebPages {
    const LIST: &'static str = "/ui/pages";

    async fn read(state: &AppState, session: &Session, form: &FormData) -> Result<WebPage, UiError> {
        read(state, session, form).await
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
}
