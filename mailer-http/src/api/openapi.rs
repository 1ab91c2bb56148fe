//! The OpenAPI 3.1 document, generated from the handlers' annotations by utoipa and served at
//! `/api/v1/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder, Server};
use utoipa::{Modify, OpenApi};

use super::problem::{FieldError, Problem};

/// The document's fixed parts: title, the bearer scheme, the shared schemas.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "mailer admin API", description = "Every setting of the widget, sending, mailings, queue and history. \
        Authenticate with `Authorization: Bearer <token>` (`mailer-server token create`). Errors are RFC 9457 \
        `application/problem+json`."),
    components(schemas(Problem, FieldError)),
    modifiers(&Security),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.servers = Some(vec![Server::new("/api/v1")]);
    }
}

/// The whole document: the fixed parts and every route of [`router`](super::router), each operation with a
/// `default` answer: the problem document of any error (401, 403, 404, 400, 409, 413, 422, 500).
pub fn document() -> Document {
    let mut doc = super::routes().into_openapi();
    let problem = ResponseBuilder::new()
        .description("An RFC 9457 problem: see its `type`")
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            op.responses
                .responses
                .entry("default".to_owned())
                .or_insert_with(|| problem.clone().into());
        }
    }
    doc
}

/// The document as JSON, built once.
fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| document().to_json().unwrap_or_else(|_| "{}".to_owned()))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
