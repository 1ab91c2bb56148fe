//! The admin REST API under `/api/v1`: every setting of the widget, sending, mailings, the queue, the
//! history and the suppression list, each handler calling the engine's use cases.
//!
//! - Auth: `Authorization: Bearer mk_…` tokens per user ([`auth`]); every route works inside the token's
//!   account, so another account's id answers 404, never 403.
//! - Errors: RFC 9457 problems with a stable `type` per kind and the field's pointer ([`problem`]).
//! - Bodies: JSON of at most [`API_BODY_LIMIT`](extract::API_BODY_LIMIT) bytes; unknown fields are refused at
//!   any depth. Lists page by cursor (`?cursor=&limit=`, `next_cursor` in the answer).
//! - The OpenAPI 3.1 document is generated from the handlers ([`openapi`]) at `/api/v1/openapi.json`.

pub mod auth;
pub mod extract;
pub mod mailboxes;
pub mod openapi;
pub mod problem;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::server::AppState;

/// The routes with their documentation (one `routes!` per path: a route cannot be added without its
/// entry in the document).
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(openapi::serve))
        .routes(routes!(mailboxes::list, mailboxes::create))
        .routes(routes!(mailboxes::get_one, mailboxes::update, mailboxes::delete))
        .routes(routes!(mailboxes::check))
}

/// The API router, to nest at `/api/v1`; unknown routes under it answer a `not-found` problem.
pub fn router() -> Router<AppState> {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(|| async { problem::ApiError::NotFound })
        .layer(DefaultBodyLimit::max(extract::API_BODY_LIMIT))
}
