//! Every answer: its latency recorded by route, and the security headers (the CSP on HTML).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::server::state::AppState;

/// Wraps routes in [`Observe`].
#[derive(Debug, Clone)]
pub(crate) struct ObserveLayer {
    state: AppState,
}

impl ObserveLayer {
    /// Counts into the state's metrics, with the state's CSP.
    pub(crate) fn new(state: AppState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            state: self.state.clone(),
        }
    }
}

/// A route whose answers are timed and get the security headers.
#[derive(Debug, Clone)]
pub(crate) struct Observe<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Observed<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        // `MatchedPath` is a shared string: cloning it allocates nothing.
        let route = request.extensions().get::<MatchedPath>().cloned();
        Observed {
            inner: self.inner.call(request),
            started: Instant::now(),
            route,
            state: self.state.clone(),
        }
    }
}

pin_project! {
    /// The route's answer, observed when it is ready.
    pub(crate) struct Observed<F> {
        #[pin]
        inner: F,
        started: Instant,
        route: Option<MatchedPath>,
        state: AppState,
    }
}

impl<F> Future for Observed<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(mut response) = ready!(this.inner.poll(cx));
        this.state.metrics.observe(
            this.route.as_ref().map_or("unmatched", MatchedPath::as_str),
            this.started.elapsed(),
        );
        add_security_headers(this.state, &mut response);
        Poll::Ready(Ok(response))
    }
}

/// `X-Content-Type-Options`, `Referrer-Policy`, and on HTML without its own CSP the state's CSP.
fn add_security_headers(state: &AppState, response: &mut Response) {
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
}
