//! Per-IP rate limits: a client over its rate gets 429 with `Retry-After`, and the route is not called.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use futures::future::Either;
use tower::{Layer, Service};

use crate::pages;
use crate::server::state::AppState;

/// Wraps routes in [`RateLimit`].
#[derive(Debug, Clone)]
pub(crate) struct RateLimitLayer {
    state: AppState,
}

impl RateLimitLayer {
    /// Limits with the state's limiter and settings.
    pub(crate) fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> RateLimit<S> {
        RateLimit {
            inner,
            state: self.state.clone(),
        }
    }
}

/// A route behind the per-IP rate limit.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for RateLimit<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<std::future::Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let ip = client_ip(&self.state, &request);
        match self.state.limiter.check(ip, Instant::now()) {
            Ok(()) => Either::Right(self.inner.call(request)),
            Err(wait) => {
                self.state.metrics.rate_limited();
                let secs = wait.max(self.state.config.retry_after()).as_secs().max(1);
                Either::Left(std::future::ready(Ok(too_many_requests(secs))))
            }
        }
    }
}

/// The 429 page with `Retry-After: secs`.
fn too_many_requests(secs: u64) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        Html(pages::error("Too many requests", "Please try again in a moment.")),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    response
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
