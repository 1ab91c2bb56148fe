//! Templates: the list (own and public ones; all of the account's for an admin) and deleting one.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use mailer_core::model::{Body, TemplateId};
use maud::html;

use super::error::UiError;
use super::form::FormData;
use super::layout::{self, Nav};
use super::session::Session;
use crate::server::AppState;

/// `GET /ui/templates`.
pub(crate) async fn list(State(state): State<AppState>, session: Session) -> Result<Response, UiError> {
    let engine = state.engine();
    let templates = engine.templates_for(session.account, session.user_id()).await?;
    let users = engine
        .users(session.account, session.user_id())
        .await
        .unwrap_or_default();
    let owner = |id| {
        users
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| format!("user {id}"), |u| u.name.clone())
    };
    let body = html! {
        p { a.button href="/ui/templates/new" { "New template" } }
        @if templates.is_empty() { p { "No template yet." } }
        table.list {
            caption.sr-only { "Templates you may use" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Subject" } th scope="col" { "Format" } th
                scope="col" { "Owner" } th scope="col" { "Shared" } th scope="col" { span.sr-only { "Actions" } } }
                }
            tbody {
                @for t in &templates {
                    tr {
                        td data-label="Name" { a href={ "/ui/templates/" (t.id.0) } { (t.name) } }
                        td data-label="Subject" { (t.content.subject) }
                        td data-label="Format" { @match t.content.body { Body::Html(_) => "HTML", Body::Markdown(_)
                            => "Markdown" } }
                        td data-label="Owner" { (owner(t.owner)) }
                        td data-label="Shared" { @if t.public { "public" } @else { "own" } }
                        td { (layout::action_button(&session, &format!("/ui/templates/{}/delete", t.id.0), "Delete",
                            "danger small")) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&session, Nav::Templates, "Templates", body))
}

/// `POST /ui/templates/{id}/delete`: refused while a trigger or pipeline rule sends it.
pub(crate) async fn delete(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<i64>,
    form: FormData,
) -> Result<Response, UiError> {
    session.check_form(&form)?;
    state
        .engine()
        .delete_template(session.account, session.user_id(), TemplateId(id))
        .await?;
    Ok(Redirect::to("/ui/templates").into_response())
}
