//! The fake's answers (HAL, problem JSON, nginx HTML pages) and its gate: request log, rate limit,
//! injected faults and the bearer check, in front of every handler.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Fault;
use super::routes::{Shared, lock};
use super::state::{Logged, Problems};

// ---------- answers ----------

pub(super) fn hal(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/hal+json"));
    r
}

pub(super) fn problem(status: StatusCode, detail: &str, extra: Option<(&str, Value)>) -> Response {
    let mut body = json!({
        "title": status.canonical_reason().unwrap_or("Error"),
        "type": format!("https://httpstatus.es/{}", status.as_u16()),
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some((k, v)), Some(map)) = (extra, body.as_object_mut()) {
        map.insert(k.to_owned(), v);
    }
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

/// How Kommo's OAuth endpoint refuses a grant (a reused or revoked refresh token, a used code, wrong
/// client keys): HTTP 401 with its OAuth problem JSON, the reason in `hint` (as seen in
/// amocrm/amocrm-api-php#123 and #315), never an RFC 6749 `error: invalid_grant`.
pub(super) fn oauth_problem(hint: &str) -> Response {
    let body = json!({
        "hint": hint,
        "title": "Некорректный запрос",
        "type": "https://developers.amocrm.ru/v3/errors/OAuthProblemJson",
        "status": 401,
        "detail": "В запросе отсутствует ряд параметров или параметры невалидны",
    });
    let mut r = (StatusCode::UNAUTHORIZED, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    r
}

pub(super) fn html(status: StatusCode) -> Response {
    let title = format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or(""));
    let body = format!(
        "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    );
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    r
}

pub(super) fn invalid(per_item: Vec<(String, Problems)>) -> Response {
    let groups: Vec<Value> = per_item
        .into_iter()
        .filter(|(_, p)| !p.is_empty())
        .map(|(request_id, problems)| {
            let errors: Vec<Value> = problems
                .into_iter()
                .map(|(code, path, detail)| json!({ "code": code, "path": path, "detail": detail }))
                .collect();
            json!({ "request_id": request_id, "errors": errors })
        })
        .collect();
    problem(
        StatusCode::BAD_REQUEST,
        "Request validation failed",
        Some(("validation-errors", Value::Array(groups))),
    )
}

pub(super) fn empty() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub(super) fn too_many(retry_after: u64, as_html: bool) -> Response {
    if as_html {
        return html(StatusCode::TOO_MANY_REQUESTS);
    }
    problem(
        StatusCode::TOO_MANY_REQUESTS,
        "You have sent too many requests. Not more than 7 requests per second for IP are allowed.",
        Some(("retry_after", json!(retry_after))),
    )
}

pub(super) fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::ServerError(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            if *code == 504 {
                html(status)
            } else {
                problem(status, "Internal error", Some(("trace_id", json!("fake"))))
            }
        }
        Fault::TooManyRequests { retry_after } => too_many(*retry_after, false),
        Fault::TooManyRequestsHtml => html(StatusCode::TOO_MANY_REQUESTS),
        Fault::Forbidden => problem(StatusCode::FORBIDDEN, "Account is blocked", None),
        Fault::ForbiddenHtml => html(StatusCode::FORBIDDEN),
        Fault::PaymentRequired => problem(StatusCode::PAYMENT_REQUIRED, "Payment required", None),
        Fault::Unauthorized => problem(StatusCode::UNAUTHORIZED, "Unauthorized", None),
        Fault::EmptySuccess(_) => StatusCode::OK.into_response(),
    }
}

// ---------- the gate ----------

pub(super) async fn gate(AxState(shared): AxState<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 8 * 1024 * 1024).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let early = {
        let mut s = lock(&shared);
        let now = Instant::now();
        while s
            .arrivals
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            s.arrivals.pop_front();
        }
        s.peak_per_second = s.peak_per_second.max(s.arrivals.len() + 1);
        let api = path.starts_with("/api/v4/");
        if s.rate_limit.is_some_and(|limit| s.arrivals.len() >= limit) {
            Some(too_many(s.rate_retry_after, s.html_errors))
        } else {
            s.arrivals.push_back(now);
            let fault = if api { s.faults.pop_front() } else { None };
            let authorised = bearer
                .as_ref()
                .and_then(|b| s.access.get(b))
                .is_some_and(|exp| *exp > s.now());
            match fault {
                Some(Fault::EmptySuccess(code)) => Some(Err(code)),
                Some(f) => Some(Ok(fault_response(&f))),
                None if api && !authorised => Some(Ok(if s.html_errors {
                    html(StatusCode::UNAUTHORIZED)
                } else {
                    problem(StatusCode::UNAUTHORIZED, "Unauthorized", None)
                })),
                None => None,
            }
            .map(|r| match r {
                Ok(r) => r,
                Err(code) => Response::builder()
                    .status(code)
                    .header("x-fake-empty", "1")
                    .body(Body::empty())
                    .unwrap_or_default(),
            })
        }
    };
    let method = parts.method.to_string();
    let response = match early {
        Some(r) if r.headers().contains_key("x-fake-empty") => {
            // run the request, then answer with an empty body (as some Kommo writes do)
            let status = r.status();
            let _ = next.run(Request::from_parts(parts, Body::from(bytes.clone()))).await;
            Response::builder()
                .status(status)
                .body(Body::empty())
                .unwrap_or_default()
        }
        Some(r) => r,
        None => next.run(Request::from_parts(parts, Body::from(bytes.clone()))).await,
    };
    lock(&shared).log.push(Logged {
        method,
        path,
        query,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        status: response.status().as_u16(),
    });
    response
}
