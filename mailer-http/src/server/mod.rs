//! The HTTP host: [`app`] builds the router over an [`AppState`], [`run`] serves it until shutdown.

mod config;
mod crm_log;
mod error;
mod hit_recorder;
mod layers;
mod metrics;
mod ratelimit;
mod state;

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use tokio::net::TcpListener;

pub use config::HttpConfig;
pub use crm_log::LoggedCrm;
pub use error::{HttpError, engine_status};
pub(crate) use hit_recorder::count as count_hit;
pub use hit_recorder::{DEFAULT_BATCH, DEFAULT_CAPACITY, DEFAULT_LINGER, HitRecorder};
pub(crate) use metrics::render_hits_queued;
pub use metrics::{MeteredTransport, Metrics, QueueDepth, SqlQueueDepth};
pub use ratelimit::RateLimiter;
pub use state::AppState;
pub(crate) use state::content_security_policy;

use crate::routes;

/// The router of the public routes (`/t/o/`, `/t/l/`, `/w/`, `/p/`, `/f/`, `/u/`), `/healthz`, `/readyz` and
/// `/metrics`, the admin API under `/api/v1` and the operator UI under `/ui`, with rate limits on the public
/// routes, the body size limit and the security headers.
pub fn app(state: AppState) -> Router {
    let public = Router::new()
        .route("/t/o/{token}", get(routes::pixel::open))
        .route("/t/l/{token}", get(routes::link::click))
        .route("/w/{token}", get(routes::web::web_version))
        .route("/p/{token}", get(routes::web::page))
        .route("/f/{token}", axum::routing::post(routes::forms::submit))
        .route(
            "/u/{token}",
            get(routes::unsubscribe::confirm).post(routes::unsubscribe::unsubscribe),
        )
        .route_layer(layers::RateLimitLayer::new(state.clone()));
    #[cfg(feature = "kommo")]
    let public = public.merge(crate::kommo::routes());
    Router::new()
        .merge(public)
        .route("/healthz", get(routes::health::alive))
        .route("/readyz", get(routes::health::ready))
        .route("/metrics", get(routes::metrics::metrics))
        .nest("/api/v1", crate::api::router())
        .merge(crate::ui::router())
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(state.config.body_limit))
        .layer(layers::ObserveLayer::new(state.clone()))
        .with_state(state)
}

/// Serves `app` on `listener` (client addresses available to the rate limiter) until `shutdown`
/// completes, then lets requests in flight finish.
///
/// # Errors
/// When accepting connections fails.
pub async fn run(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
