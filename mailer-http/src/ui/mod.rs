//! The operator's web UI at `/ui`: server-rendered HTML (maud, checked at compile time), a style sheet and
//! a small script embedded in the binary, no front-end build step.
//!
//! - Sign-in with an API token of the admin API (`mailer-server token create …`), kept in an HttpOnly,
//!   SameSite=Strict cookie scoped to `/ui`; every request is authenticated through the engine, so the
//!   token's user, account and rights apply exactly as in the API. Every form carries the session's CSRF
//!   token ([`session`]), and the preview script sends it in a header.
//! - Every screen calls the engine's use cases (never the store); the list screens save and delete through
//!   the same [`Resource`](crate::resource::Resource) as the admin API ([`crud`]): one file per screen — [`dashboard`],
//!   [`mailboxes`], [`templates`] and [`template_editor`] (with [`template_preview`] behind its live
//!   preview), [`triggers`], [`links`], [`pages`], [`rules`], [`queue`], [`mailings`] (live progress from the
//!   same event stream as the API), [`history`].
//! - Works without the script (forms post and redirect); the script adds the live preview, the live
//!   progress bar and the copy buttons. Labelled fields, a skip link, visible focus, and a layout that
//!   folds to one column on a phone.

mod assets;
mod crud;
mod dashboard;
mod error;
mod form;
mod history;
mod layout;
mod links;
mod mailboxes;
mod mailings;
mod pages;
mod queue;
mod rules;
mod session;
mod signin;
mod template_editor;
mod template_preview;
mod templates;
mod triggers;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::resource::{Mailboxes, PipelineRules, TriggerLinks, Triggers, WebPages};
use crate::server::AppState;

/// The UI's routes, all under `/ui`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/ui", get(dashboard::show))
        .route("/ui/", get(|| async { Redirect::permanent("/ui") }))
        .route("/ui/login", get(signin::show).post(signin::sign_in))
        .route("/ui/logout", post(signin::sign_out))
        .route("/ui/assets/ui.css", get(assets::css))
        .route("/ui/assets/ui.js", get(assets::js))
        .route("/ui/mailboxes", get(mailboxes::list).post(crud::save::<Mailboxes>))
        .route("/ui/mailboxes/{id}/check", post(mailboxes::check))
        .route("/ui/mailboxes/{id}/delete", post(crud::delete::<Mailboxes>))
        .route("/ui/templates", get(templates::list))
        .route("/ui/templates/new", get(template_editor::new))
        .route(
            "/ui/templates/save",
            post(template_editor::save).layer(DefaultBodyLimit::max(crate::upload::UPLOAD_BODY_LIMIT)),
        )
        .route("/ui/templates/preview", post(template_preview::preview))
        .route("/ui/templates/{id}", get(template_editor::edit))
        .route("/ui/templates/{id}/delete", post(templates::delete))
        .route("/ui/triggers", get(triggers::list).post(crud::save::<Triggers>))
        .route("/ui/triggers/{id}/delete", post(crud::delete::<Triggers>))
        .route("/ui/links", get(links::list).post(crud::save::<TriggerLinks>))
        .route("/ui/links/{id}/delete", post(crud::delete::<TriggerLinks>))
        .route("/ui/pages", get(pages::list).post(crud::save::<WebPages>))
        .route("/ui/pages/{id}/delete", post(crud::delete::<WebPages>))
        .route("/ui/rules", get(rules::list).post(crud::save::<PipelineRules>))
        .route("/ui/rules/{id}/delete", post(crud::delete::<PipelineRules>))
        .route("/ui/queue", get(queue::show))
        .route("/ui/mailings", get(mailings::list).post(mailings::start))
        .route("/ui/mailings/{id}", get(mailings::show))
        .route("/ui/mailings/{id}/events", get(mailings::events))
        .route("/ui/mailings/{id}/{action}", post(mailings::control))
        .route("/ui/history", get(history::list))
        .route("/ui/history/{id}", get(history::show))
}
