//! Trigger links: each with the variable to paste in a body, `{triggerlink:N}`, and a copy button; a form
//! to add or change one (once or every click, where it leads, its triggers).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use mailer_core::model::{Trigger, TriggerId, TriggerLink, TriggerLinkId};
use maud::{Markup, html};

use super::crud::ListScreen;
use super::error::UiError;
use super::form::{EditQuery, FormData};
use super::layout::{self, Nav, field};
use super::session::Session;
use crate::resource::TriggerLinks;
use crate::server::AppState;

/// A mask to paste, with its copy button.
pub(crate) fn mask(text: &str) -> Markup {
    html! {
        span.mask {
            code { (text) }
            button.small.secondary type="button" data-copy=(text) aria-label={ "Copy " (text) } { "Copy" }
        }
    }
}

/// The triggers to tick.
pub(crate) fn trigger_boxes(name: &str, triggers: &[Trigger], chosen: &[TriggerId]) -> Markup {
    html! {
        fieldset.triggers.wide {
            legend { "Triggers" }
            @if triggers.is_empty() { p { "No trigger yet: " a href="/ui/triggers" { "add one" } "." } }
            @for t in triggers {
                @let id = format!("{name}-{}", t.id.0);
                label for=(id) { input id=(id) type="checkbox" name=(name) value=(t.id.0)
                    checked[chosen.contains(&t.id)]; " " (t.name) }
            }
        }
    }
}

fn editor(session: &Session, l: Option<&TriggerLink>, triggers: &[Trigger], error: Option<&str>) -> Markup {
    html! {
        section aria-labelledby="lf-h" {
            h2 id="lf-h" { @if l.is_some() { "Edit trigger link" } @else { "Add a trigger link" } }
            (layout::notice(error, None))
            form.grid method="post" action="/ui/links" {
                (layout::csrf_field(session))
                input type="hidden" name="id" value=(l.map_or(0, |l| l.id.0));
                (field("Name", "name", "text", l.map_or("", |l| l.name.as_str()), None, true))
                (field("Leads to (URL)", "redirect", "url", l.and_then(|l| l.redirect.as_deref()).unwrap_or(""),
                    Some("Empty: a thank-you page"), false))
                div.field.checks { label for="f-once" { input id="f-once" type="checkbox" name="once"
                    checked[l.is_some_and(|l| l.once)]; " Execute once (later clicks run nothing)" } }
                (trigger_boxes("triggers", triggers, l.map_or(&[], |l| &l.triggers)))
                div.actions.wide { button type="submit" { "Save link" } }
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
    let links = engine.trigger_links(session.account, session.user_id()).await?;
    let triggers = engine.triggers(session.account, session.user_id()).await?;
    let editing = edit.and_then(|id| links.iter().find(|l| l.id.0 == id));
    let body = html! {
        @if links.is_empty() { p { "No trigger link yet." } }
        ul.records {
            @for l in &links {
                li.record {
                    h3 { (l.name) }
                    p { "Paste in a body: " (mask(&format!("{{triggerlink:{}}}", l.id.0))) }
                    p.meta {
                        @if l.once { "once" } @else { "every click" }
                        " · leads to " (l.redirect.as_deref().unwrap_or("a thank-you page"))
                        " · " (l.triggers.len()) " trigger(s)"
                    }
                    div.actions {
                        a.button.secondary.small href={ "/ui/links?edit=" (l.id.0) "#lf-h" } { "Edit" }
                        (layout::action_button(session, &format!("/ui/links/{}/delete", l.id.0), "Delete",
                            "danger small"))
                    }
                }
            }
        }
        (editor(session, editing, &triggers, error))
    };
    Ok(layout::page_with(status, session, Nav::Links, "Trigger links", body))
}

/// `GET /ui/links`.
pub(crate) async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<EditQuery>,
) -> Result<Response, UiError> {
    render(&state, &session, q.edit, None, StatusCode::OK).await
}

fn read(session: &Session, form: &FormData) -> Result<TriggerLink, UiError> {
    Ok(TriggerLink {
        id: TriggerLinkId(form.parse("id", "an id")?),
        account: session.account,
        name: form.get("name").trim().to_owned(),
        once: form.checked("once"),
        redirect: form.opt("redirect").map(str::to_owned),
        triggers: form.ids("triggers")?.into_iter().map(TriggerId).collect(),
    })
}

impl ListScreen for TriggerLinks {
    const LIST: &'static str = "/ui/links";

    async fn read(state: &AppState, session: &Session, form: &FormData) -> Result<TriggerLink, UiError> {
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
}
