//! The admin REST API under `/api/v1`: every setting of the widget, sending, mailings, the queue, the
//! history and the suppression list, each handler calling the engine's use cases.
//!
//! - Auth: `Authorization: Bearer mk_…` tokens per user ([`auth`]); every route works inside the token's
//!   account, so another account's id answers 404, never 403.
//! - Errors: RFC 9457 problems with a stable `type` per kind and the field's pointer ([`problem`]).
//! - Bodies: JSON of at most [`API_BODY_LIMIT`](extract::API_BODY_LIMIT) bytes; unknown fields are refused at
//!   any depth. Files are uploaded as multipart to `/files` ([`files`]), whose own limit is the engine's. Lists page by cursor (`?cursor=&limit=`, `next_cursor` in the answer).
//! - The OpenAPI 3.1 document is generated from the handlers ([`openapi`]) at `/api/v1/openapi.json`.
// Every handler fails only with the problems of `problem.rs` (its table lists them), and its OpenAPI
// annotation names the statuses it answers: a `# Errors` section on each would repeat that table.
#![allow(clippy::missing_errors_doc)]

pub mod auth;
pub mod crud;
pub mod extract;
pub mod files;
pub mod history;
pub mod links;
pub mod mailboxes;
pub mod mailings;
pub mod openapi;
pub mod pages;
pub mod problem;
pub mod queue;
pub mod rules;
pub mod send;
pub mod suppression;
pub mod templates;
pub mod tokens;
pub mod triggers;
pub mod users;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::resource::{Mailboxes, PipelineRules, Templates, TriggerLinks, Triggers, WebPages};
use crate::server::AppState;

/// The routes with their documentation (one `routes!` per path: a route cannot be added without its
/// entry in the document).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()).routes(routes!(openapi::serve));
    let api = crud::routes::<Mailboxes>(api);
    let api = crud::routes::<Templates>(api);
    let api = crud::routes::<Triggers>(api);
    let api = crud::routes::<TriggerLinks>(api);
    let api = crud::routes::<WebPages>(api);
    let api = crud::routes::<PipelineRules>(api);
    let api = api
        .routes(routes!(mailboxes::check))
        .routes(routes!(mailboxes::reactions))
        .routes(routes!(queue::queue))
        .routes(routes!(templates::preview))
        .routes(routes!(templates::from_draft))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(files::upload))
                .layer(DefaultBodyLimit::max(crate::upload::UPLOAD_BODY_LIMIT)),
        )
        .routes(routes!(send::send))
        .routes(routes!(mailings::list, mailings::start))
        .routes(routes!(mailings::progress))
        .routes(routes!(mailings::pause))
        .routes(routes!(mailings::resume))
        .routes(routes!(mailings::cancel))
        .routes(routes!(mailings::events))
        .routes(routes!(history::list))
        .routes(routes!(history::get_one))
        .routes(routes!(suppression::list))
        .routes(routes!(suppression::remove))
        .routes(routes!(users::list, users::create))
        .routes(routes!(users::get_one, users::update, users::delete))
        .routes(routes!(tokens::list, tokens::create))
        .routes(routes!(tokens::revoke));
    #[cfg(feature = "kommo")]
    let api = api.routes(routes!(crate::kommo::link_view::view));
    api
}

/// The API router, to nest at `/api/v1`; unknown routes under it answer a `not-found` problem.
pub fn router() -> Router<AppState> {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(|| async { problem::ApiError::NotFound })
        .layer(DefaultBodyLimit::max(extract::API_BODY_LIMIT))
}
