//! The five routes of a [`Resource`] under `/api/v1`, written once for all of them: `GET` and `POST
//! /{path}`, `GET`, `PUT` and `DELETE /{path}/{id}`, with their OpenAPI operations built from the resource's
//! types, so a resource's routes and its entries in the document are made together.
//!
//! - A list answers a [`Page`] of [`ApiResource::View`]s by id (`?cursor=&limit=`).
//! - A body is the record without `id` and `account` (the path's and the token's); fields with
//!   [`Resource::defaults`] may be left out, unknown ones are refused. Its schema (`<Record>Input`) is the
//!   record's own schema with those fields taken out.
//! - An error is the problem of [`ApiError`]; another account's id is `not-found`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::MethodRouter;
use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, Paths};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{ContentBuilder, Object, Ref, RefOr, Required, ResponseBuilder, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::auth::Auth;
use super::extract::{ApiJson, ApiPath, ApiQuery, Page, Paging, record};
use super::openapi::body_schema;
use super::problem::ApiError;
use crate::resource::{Caller, Resource};
use crate::server::AppState;

/// A [`Resource`] the admin API serves: what it answers for an item and the words of its operations.
pub trait ApiResource: Resource<Record: ToSchema> {
    /// What the API answers for one item (the item, or the item with what to paste into a template).
    type View: Serialize + ToSchema + From<Self::Item> + Send + 'static;
    /// The operations' summaries.
    const DOCS: Docs;
}

/// The summaries of a resource's five operations.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    /// `GET /{path}`.
    pub list: &'static str,
    /// `POST /{path}`.
    pub create: &'static str,
    /// `GET /{path}/{id}`.
    pub get: &'static str,
    /// `PUT /{path}/{id}`.
    pub update: &'static str,
    /// `DELETE /{path}/{id}`.
    pub delete: &'static str,
}

impl Auth {
    /// The token's account and user, as a resource's caller.
    pub fn caller(&self) -> Caller {
        Caller {
            account: self.account,
            user: self.user.id,
        }
    }
}

async fn list<R: ApiResource>(
    State(state): State<AppState>,
    auth: Auth,
    ApiQuery(paging): ApiQuery<Paging>,
) -> Result<Json<Page<R::View>>, ApiError> {
    let all = R::list(state.engine(), &auth.caller()).await?;
    let page = paging.page(all, R::id)?;
    Ok(Json(Page {
        items: page.items.into_iter().map(R::View::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

async fn create<R: ApiResource>(
    State(state): State<AppState>,
    auth: Auth,
    ApiJson(body): ApiJson,
) -> Result<(StatusCode, Json<R::View>), ApiError> {
    let caller = auth.caller();
    let input: R::Record = record(body, caller.account.0, 0, &R::defaults(&caller))?;
    let saved = R::save(state.engine(), &caller, input).await?;
    Ok((StatusCode::CREATED, Json(saved.into())))
}

async fn get_one<R: ApiResource>(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<R::View>, ApiError> {
    Ok(Json(R::get(state.engine(), &auth.caller(), id).await?.into()))
}

async fn update<R: ApiResource>(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson,
) -> Result<Json<R::View>, ApiError> {
    let caller = auth.caller();
    let input: R::Record = record(body, caller.account.0, id, &R::defaults(&caller))?;
    Ok(Json(R::save(state.engine(), &caller, input).await?.into()))
}

async fn delete<R: ApiResource>(
    State(state): State<AppState>,
    auth: Auth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    R::delete(state.engine(), &auth.caller(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Adds the resource's five routes and their operations to `router`.
pub(crate) fn routes<R: ApiResource>(router: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    let collection = format!("/{}", R::PATH);
    let member = format!("/{}/{{id}}", R::PATH);
    let mut schemas = Vec::new();
    let view = named::<R::View>(&mut schemas);
    let page = format!("{}Page", R::View::name());
    schemas.push((page.clone(), Page::<R::View>::schema()));
    let input = format!("{}Input", R::Record::name());
    R::Record::schemas(&mut schemas);
    let defaults: Vec<&str> = R::defaults(&dummy_caller()).into_iter().map(|(k, _)| k).collect();
    schemas.push((
        input.clone(),
        body_schema(R::Record::schema(), &["id", "account"], &defaults),
    ));

    let docs = R::DOCS;
    let mut collection_paths = Paths::new();
    let mut member_paths = Paths::new();
    collection_paths.add_path_operation(
        &collection,
        vec![HttpMethod::Get],
        operation::<R>("list", docs.list, false)
            .parameters(Some(Paging::into_params(|| Some(ParameterIn::Query))))
            .response("200", json("A page of items, by id", &page))
            .response("401", problem("No valid token"))
            .build(),
    );
    collection_paths.add_path_operation(
        &collection,
        vec![HttpMethod::Post],
        operation::<R>("create", docs.create, false)
            .request_body(Some(body(&input)))
            .response("201", json("The stored item", &view))
            .response("403", problem("Not the caller's to change"))
            .response("422", problem("Invalid, with the field's pointer"))
            .build(),
    );
    member_paths.add_path_operation(
        &member,
        vec![HttpMethod::Get],
        operation::<R>("get", docs.get, true)
            .response("200", json("The item", &view))
            .response("404", problem("No such item in this account"))
            .build(),
    );
    member_paths.add_path_operation(
        &member,
        vec![HttpMethod::Put],
        operation::<R>("update", docs.update, true)
            .request_body(Some(body(&input)))
            .response("200", json("The stored item", &view))
            .response("403", problem("Not the caller's to change"))
            .response("404", problem("No such item in this account"))
            .response("422", problem("Invalid, with the field's pointer"))
            .build(),
    );
    member_paths.add_path_operation(
        &member,
        vec![HttpMethod::Delete],
        operation::<R>("delete", docs.delete, true)
            .response("204", ResponseBuilder::new().description("Deleted").build())
            .response("403", problem("Not the caller's to change"))
            .response("404", problem("No such item in this account"))
            .response("409", problem("Something still refers to it"))
            .build(),
    );
    let collection_routes: UtoipaMethodRouter<AppState> = (
        schemas,
        collection_paths,
        MethodRouter::new().get(list::<R>).post(create::<R>),
    );
    let member_routes: UtoipaMethodRouter<AppState> = (
        Vec::new(),
        member_paths,
        MethodRouter::new()
            .get(get_one::<R>)
            .put(update::<R>)
            .delete(delete::<R>),
    );
    router.routes(collection_routes).routes(member_routes)
}

/// A caller for reading which fields have defaults (their names do not depend on who asks).
fn dummy_caller() -> Caller {
    Caller {
        account: mailer_core::model::AccountId(0),
        user: mailer_core::model::UserId(0),
    }
}

/// Registers `T` and what it refers to; answers its name.
fn named<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) -> String {
    let name = T::name().into_owned();
    T::schemas(schemas);
    schemas.push((name.clone(), T::schema()));
    name
}

fn operation<R: ApiResource>(verb: &str, summary: &str, member: bool) -> OperationBuilder {
    let mut op = OperationBuilder::new()
        .summary(Some(summary))
        .operation_id(Some(format!("{}_{verb}", R::PATH.replace('-', "_"))))
        .tag(R::PATH);
    if member {
        op = op.parameter(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(Object::with_type(Type::Integer)))
                .build(),
        );
    }
    op
}

fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

fn json(description: &str, schema: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .build()
}

fn body(schema: &str) -> utoipa::openapi::request_body::RequestBody {
    RequestBodyBuilder::new()
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(schema)))
                .build(),
        )
        .required(Some(Required::True))
        .build()
}
