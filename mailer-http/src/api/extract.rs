//! Reading requests: JSON bodies (size-limited, unknown fields refused with their path), query strings,
//! and cursor pagination of lists.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::problem::{ApiError, pointer_of};

/// The largest request body the API reads (a template with inline images fits).
pub const API_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// The default and the largest page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 200;

/// A JSON request body, read but not yet typed: [`decode`] types it with field paths.
#[derive(Debug)]
pub struct ApiJson(pub Value);

impl<S: Send + Sync> FromRequest<S> for ApiJson {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        if !json {
            return Err(ApiError::Malformed {
                pointer: "/headers/content-type".into(),
                detail: "the body must be application/json".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(API_BODY_LIMIT)
            } else {
                ApiError::Malformed {
                    pointer: "/body".into(),
                    detail: e.body_text(),
                }
            }
        })?;
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|e| ApiError::Malformed {
                pointer: "/body".into(),
                detail: e.to_string(),
            })
    }
}

/// A query string, typed; a bad one is a `malformed-request` problem.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e| ApiError::Malformed {
                pointer: "/query".into(),
                detail: e.body_text(),
            })
    }
}

/// Types a JSON body: a wrong type names its field (`/body/smtp/port: invalid type …`), and a field the type
/// does not have is refused (`/body/content/colour: unknown field`), at any depth.
///
/// # Errors
/// [`ApiError::Invalid`] with the field's pointer.
pub fn decode<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    let mut unknown = Vec::new();
    let mut track = |path: serde_ignored::Path<'_>| unknown.push(path.to_string());
    let de = serde_ignored::Deserializer::new(value, &mut track);
    let typed: T = serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError::invalid(pointer_of(&e.path().to_string()), e.inner().to_string()))?;
    match unknown.first() {
        Some(path) => Err(ApiError::invalid(pointer_of(path), "unknown field")),
        None => Ok(typed),
    }
}

/// Types a record body: `id` and `account` are the server's (from the path and the token) and refused in
/// the body; `defaults` fill fields the body leaves out.
///
/// # Errors
/// [`ApiError::Invalid`] with the field's pointer.
pub fn record<T: DeserializeOwned>(
    body: Value,
    account: i64,
    id: i64,
    defaults: &[(&str, Value)],
) -> Result<T, ApiError> {
    let Value::Object(mut map) = body else {
        return Err(ApiError::invalid("/body", "must be a JSON object"));
    };
    for key in ["id", "account"] {
        if map.contains_key(key) {
            return Err(ApiError::invalid(format!("/body/{key}"), "is set by the server"));
        }
    }
    for (key, value) in defaults {
        if !map.contains_key(*key) {
            map.insert((*key).to_owned(), value.clone());
        }
    }
    map.insert("id".into(), id.into());
    map.insert("account".into(), account.into());
    decode(Value::Object(map))
}

/// `?cursor=&limit=` of a list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// The `next_cursor` of the previous page; the first page without it.
    pub cursor: Option<String>,
    /// Items per page, 1 to 200 (50 by default).
    pub limit: Option<u32>,
}

impl Paging {
    /// The id after which the page starts and the page size.
    ///
    /// # Errors
    /// [`ApiError::Invalid`] for a cursor that is not one of ours or a limit out of range.
    pub fn parse(&self) -> Result<(i64, u32), ApiError> {
        let after = match self.cursor.as_deref() {
            None | Some("") => 0,
            Some(c) => c
                .parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::invalid("/query/cursor", "not a cursor of this list"))?,
        };
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("/query/limit", format!("must be 1 to {MAX_LIMIT}")));
        }
        Ok((after, limit))
    }

    /// One page of `items` (any order) by their ids.
    ///
    /// # Errors
    /// As [`Paging::parse`].
    pub fn page<T: Serialize>(&self, mut items: Vec<T>, id: impl Fn(&T) -> i64) -> Result<Page<T>, ApiError> {
        let (after, limit) = self.parse()?;
        items.retain(|i| id(i) > after);
        items.sort_by_key(|i| id(i));
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more {
            items.last().map(|i| id(i).to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}

/// A page of a list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items, by id.
    pub items: Vec<T>,
    /// The cursor of the next page; absent on the last one.
    pub next_cursor: Option<String>,
}

/// An empty JSON object, for answers that say nothing more than their status.
pub fn empty() -> Map<String, Value> {
    Map::new()
}

/// A path parameter, typed; a bad one is a `malformed-request` problem.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(p)| ApiPath(p))
            .map_err(|e| ApiError::Malformed {
                pointer: "/path".into(),
                detail: e.body_text(),
            })
    }
}

/// The item with this id, or a `not-found` problem (another account's ids are never in the list).
///
/// # Errors
/// [`ApiError::NotFound`].
pub fn find<T>(items: Vec<T>, id: i64, id_of: impl Fn(&T) -> i64) -> Result<T, ApiError> {
    items.into_iter().find(|i| id_of(i) == id).ok_or(ApiError::NotFound)
}
