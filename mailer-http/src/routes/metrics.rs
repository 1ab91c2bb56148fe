//! `GET /metrics`: the Prometheus text.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::server::AppState;

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let queue = match &state.queue_depth {
        Some(source) => source.by_status().await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "metrics: queue depth unavailable");
            Vec::new()
        }),
        None => Vec::new(),
    };
    let mut text = state.metrics.render(&queue);
    crate::server::render_hits_queued(&mut text, state.hits.as_ref().map_or(0, |h| h.queued()));
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
