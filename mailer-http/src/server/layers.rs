//! Middleware: per-IP rate limits on the public routes, and on every answer its latency and the security
//! headers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::state::AppState;
use crate::pages;

/// Refuses a client over its rate with 429 and `Retry-After`.
pub(crate) async fn rate_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let ip = client_ip(&state, &request);
    match state.limiter.check(ip, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            state.metrics.rate_limited();
            let secs = wait.max(state.config.retry_after()).as_secs().max(1);
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::response::Html(pages::error("Too many requests", "Please try again in a moment.")),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            response
        }
    }
}

/// The client's address: the socket's peer, or the last `X-Forwarded-For` entry when trusted; unknown
/// clients (no connection info, as in tests) share one bucket.
fn client_ip(state: &AppState, request: &Request) -> IpAddr {
    if state.config.trust_forwarded_for
        && let Some(ip) = forwarded_for(request.headers())
    {
        return ip;
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn forwarded_for(headers: &HeaderMap) -> Option<IpAddr> {
    let value = headers.get("x-forwarded-for")?.to_str().ok()?;
    value.rsplit(',').next()?.trim().parse().ok()
}

/// Times the request by its route and adds the security headers (and the CSP on HTML).
pub(crate) async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // `MatchedPath` is a shared string: cloning it allocates nothing.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    state.metrics.observe(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        started.elapsed(),
    );
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if html
        && !headers.contains_key(header::CONTENT_SECURITY_POLICY)
        && let Ok(csp) = HeaderValue::from_str(&state.csp)
    {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}
