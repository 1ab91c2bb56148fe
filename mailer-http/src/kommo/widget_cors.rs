//! CORS for the widget's calls: the browser may read our answers only from the calling account's own
//! Kommo page (`https://<domain>` of its [`CrmLink`]); a preflight names the account by its `Origin`.

use axum::http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE,
    ORIGIN, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mailer_core::model::{CrmLink, LinkStatus};

use crate::server::{AppState, HttpError};

/// The request's `Origin`, when it has one.
pub(crate) fn request_origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(ORIGIN).and_then(|v| v.to_str().ok())
}

/// Whether `origin` is exactly the link's Kommo page.
pub(crate) fn origin_allowed(link: &CrmLink, origin: &str) -> bool {
    origin.eq_ignore_ascii_case(&format!("https://{}", link.domain))
}

/// Adds `Access-Control-Allow-Origin` for `origin` (already checked against the account) and `Vary`.
pub(crate) fn allow(mut response: Response, origin: Option<&str>) -> Response {
    let headers = response.headers_mut();
    headers.insert(VARY, HeaderValue::from_static("Origin"));
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, value);
    }
    response
}

/// `OPTIONS /kommo/widget/…`: 204 with the CORS grant when `Origin` is an active account's Kommo page,
/// else 403 without one.
pub(crate) async fn preflight(state: &AppState, headers: &HeaderMap) -> Response {
    let Some(origin) = request_origin(headers) else {
        return (StatusCode::FORBIDDEN, "no origin").into_response();
    };
    let links = match state.engine.crm_links().await {
        Ok(links) => links,
        Err(e) => return HttpError::from(e).into_response(),
    };
    if !links
        .iter()
        .any(|l| l.status != LinkStatus::Disabled && origin_allowed(l, origin))
    {
        tracing::warn!(%origin, "Kommo widget preflight from an unknown origin refused");
        return (StatusCode::FORBIDDEN, "origin refused").into_response();
    }
    let mut response = allow(StatusCode::NO_CONTENT.into_response(), Some(origin));
    let h = response.headers_mut();
    h.insert(ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST"));
    h.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("X-Auth-Token, Content-Type"),
    );
    h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}
