//! The OpenAPI 3.1 document, generated from the handlers' annotations by utoipa and served at
//! `/api/v1/openapi.json`.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::schema::{AdditionalProperties, Schema};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder, Server};
use utoipa::{Modify, OpenApi, ToSchema};

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
/// `default` answer: the problem document of any error (401, 403, 404, 400, 409, 413, 422, 500). Every
/// object schema with fields refuses others (`additionalProperties: false`), as the API refuses unknown
/// fields at any depth.
pub fn document() -> Document {
    let mut doc = super::routes().into_openapi();
    if let Some(components) = doc.components.as_mut() {
        let mut parts = Vec::new();
        components.schemas.values().for_each(|s| all_of_parts(s, &mut parts));
        for (name, schema) in &mut components.schemas {
            if !parts.contains(name) {
                closed(schema);
            }
        }
    }
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

/// Marks every object schema with fields, here and nested inline, as refusing other fields, except the
/// parts of an `allOf` (a flattened record and the fields beside it: each part alone is not the whole).
fn closed(schema: &mut RefOr<Schema>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::Object(object) => {
            if !object.properties.is_empty() && object.additional_properties.is_none() {
                object.additional_properties = Some(Box::new(AdditionalProperties::FreeForm(false)));
            }
            object.properties.values_mut().for_each(closed);
        }
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &mut array.items {
                closed(items);
            }
        }
        Schema::OneOf(one) => one.items.iter_mut().for_each(closed),
        Schema::AnyOf(any) => any.items.iter_mut().for_each(closed),
        _ => {}
    }
}

/// The names of the schemas an `allOf` refers to, here or nested inline: each is a part of a larger
/// object, so it must not refuse the other parts' fields.
fn all_of_parts(schema: &RefOr<Schema>, parts: &mut Vec<String>) {
    let RefOr::T(schema) = schema else { return };
    match schema {
        Schema::AllOf(all) => {
            for item in &all.items {
                match item {
                    RefOr::Ref(r) => {
                        if let Some(name) = r.ref_location.rsplit('/').next() {
                            parts.push(name.to_owned());
                        }
                    }
                    RefOr::T(_) => all_of_parts(item, parts),
                }
            }
        }
        Schema::Object(object) => object.properties.values().for_each(|p| all_of_parts(p, parts)),
        Schema::Array(array) => {
            if let utoipa::openapi::schema::ArrayItems::RefOrSchema(items) = &array.items {
                all_of_parts(items, parts);
            }
        }
        Schema::OneOf(one) => one.items.iter().for_each(|i| all_of_parts(i, parts)),
        Schema::AnyOf(any) => any.items.iter().for_each(|i| all_of_parts(i, parts)),
        _ => {}
    }
}

/// The schema of a request body made from a core type's own schema: without the fields the server sets
/// (`server`, refused in a body) and with the fields the server fills in when absent (`optional`) no longer
/// required.
pub(crate) fn body_schema(schema: RefOr<Schema>, server: &[&str], optional: &[&str]) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) => {
            for field in server {
                object.properties.remove(*field);
            }
            object
                .required
                .retain(|f| !server.contains(&f.as_str()) && !optional.contains(&f.as_str()));
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// The shape of an OpenAPI document, as far as this API promises it.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // only its schema is used: the document itself is utoipa's
pub struct OpenApiDocument {
    /// The OpenAPI version, `3.1.x`.
    openapi: String,
    /// Title, description, version.
    info: serde_json::Map<String, serde_json::Value>,
    /// The operations by path.
    paths: serde_json::Map<String, serde_json::Value>,
    /// The schemas and the security schemes.
    components: serde_json::Map<String, serde_json::Value>,
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = OpenApiDocument)))]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
