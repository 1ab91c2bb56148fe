//! The router's middleware, as plain tower layers: per-IP rate limits on the public routes
//! ([`RateLimitLayer`]), and on every answer its latency and the security headers ([`ObserveLayer`]).
//!
//! They are written as services with their own future types rather than `axum::middleware::from_fn`: a
//! `from_fn` layer clones the state and the inner route and boxes a future on every request, which the open
//! pixel and trigger links (tens of thousands of requests a second) measurably pay for.

mod observe;
mod rate_limit;

pub(crate) use observe::ObserveLayer;
pub(crate) use rate_limit::RateLimitLayer;
