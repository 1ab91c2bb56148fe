//! The operator's web UI at `/ui`: server-rendered HTML (maud, checked at compile time), a style sheet and
//! a small script embedded in the binary, no front-end build step.
//!
//! - Sign-in with an API token of the admin API (`mailer-server token create …`), kept in an HttpOnly,
//!   SameSite=Strict cookie scoped to `/ui`; every request is authenticated through the engine, so the
//!   token's user, account and rights apply exactly as in the API. Every form carries the session's CSRF
//!   token ([`session`]), and the preview script sends it in a header.
//! - Every screen calls the engine's use cases (never the store): one file per screen — [`dashboard`],
//!   [`mailboxes`], [`templates`] and [`template_editor`] (with [`template_preview`] behind its live
//!   preview), [`triggers`], [`links`], [`pages`], [`rules`], [`queue`], [`mailings`] (live progress from the
//!   same event stream as the API), [`history`].
//! - Works without the script (forms post and redirect); the script adds the live preview, the live
//!   progress bar and the copy buttons. Labelled fields, a skip link, visible focus, and a layout that
//!   folds to one column on a phone.

mod assets;
mod dashboard;
mod error;
mod form;
mod history;
mod layout;
mod links;
mod mailboxes;
mod mailings;
mod outcome;
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
        .route("/ui/mailboxes", get(mailboxes::list).post(mailboxes::save))
        .route("/ui/mailboxes/{id}/check", post(mailboxes::check))
        .route("/ui/mailboxes/{id}/delete", post(mailboxes::delete))
        .route("/ui/templates", get(templates::list))
        .route("/ui/templates/new", get(template_editor::new))
        .route(
            "/ui/templates/save",
            post(template_editor::save).layer(DefaultBodyLimit::max(crate::upload::UPLOAD_BODY_LIMIT)),
        )
        .route("/ui/templates/preview", post(template_preview::preview))
        .route("/ui/templates/{id}", get(template_editor::edit))
        .route("/ui/templates/{id}/delete", post(templates::delete))
        .route("/ui/triggers", get(triggers::list).post(triggers::save))
        .route("/ui/triggers/{id}/delete", post(triggers::delete))
        .route("/ui/links", get(links::list).post(links::save))
        .route("/ui/links/{id}/delete", post(links::delete))
        .route("/ui/pages", get(pages::list).post(pages::save))
        .route("/ui/pages/{id}/delete", post(pages::delete))
        .route("/ui/rules", get(rules::list).post(rules::save))
        .route("/ui/rules/{id}/delete", post(rules::delete))
        .route("/ui/queue", get(queue::show))
        .route("/ui/mailings", get(mailings::list).post(mailings::start))
        .route("/ui/mailings/{id}", get(mailings::show))
        .route("/ui/mailings/{id}/events", get(mailings::events))
        .route("/ui/mailings/{id}/{action}", post(mailings::control))
        .route("/ui/history", get(history::list))
        .route("/ui/history/{id}", get(history::show))
}
