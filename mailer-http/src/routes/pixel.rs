//! `GET /t/o/{token}`: the open pixel. Every request gets the same 1×1 GIF, valid token or not.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use mailer_core::engine::PendingHit;
use mailer_core::template::TokenKindTag;

use super::hit_info;
use crate::server::{AppState, count_hit};

/// A transparent 1×1 GIF.
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The pixel answer: the GIF (a static buffer, not copied), never cached.
pub fn pixel_response() -> Response {
    let mut response = Response::new(Body::from(Bytes::from_static(&PIXEL_GIF)));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, max-age=0"));
    response
}

/// Answers the pixel at once. The token's signature is checked first (no store access): a bad token records
/// nothing. A good one is recorded through the hit recorder after the answer when the state has one, else
/// before it. The request is taken whole to read its headers in place (the `HeaderMap` extractor copies them).
pub(crate) async fn open(State(state): State<AppState>, Path(token): Path<String>, request: Request) -> Response {
    match state
        .engine
        .accept_hit(&token, &[TokenKindTag::Open], hit_info(request.headers()))
    {
        Ok(hit) => match &state.hits {
            Some(recorder) => {
                if let Err(hit) = recorder.record(hit).await {
                    Box::pin(record_now(&state, hit)).await;
                }
            }
            None => Box::pin(record_now(&state, hit)).await,
        },
        Err(e) => tracing::debug!(error = %e, "open pixel with a bad token"),
    }
    pixel_response()
}

/// Records one hit before answering (no recorder, or it is closed). Callers box it: the engine's batch
/// future is large, and held inline it would make every request's future as large, moved on each poll.
async fn record_now(state: &AppState, hit: PendingHit) {
    let result = state.engine.record_hits(vec![hit]).await.pop();
    if let Some(result) = result {
        count_hit(&state.metrics, "open", &result);
    }
}
