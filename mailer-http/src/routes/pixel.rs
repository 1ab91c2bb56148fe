//! `GET /t/o/{token}`: the open pixel. Every request gets the same 1×1 GIF, valid token or not.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use mailer_core::engine::{EngineError, HitOutcome};
use mailer_core::template::TokenKindTag;

use super::hit_info;
use crate::server::{AppState, HttpError};

/// A transparent 1×1 GIF.
pub const PIXEL_GIF: [u8; 43] = [
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

/// The pixel answer: the GIF, never cached.
pub fn pixel_response() -> Response {
    let mut response = PIXEL_GIF.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/gif"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store, max-age=0"));
    response
}

pub(crate) async fn open(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let recorded = state
        .engine
        .record_hit_of(&token, &[TokenKindTag::Open], &hit_info(&headers))
        .await
        .map_err(HttpError::from);
    match recorded {
        Ok(HitOutcome::Recorded { automated }) => state.metrics.hit("open", Some(automated)),
        Ok(HitOutcome::Redirect(_)) => {}
        Err(HttpError::Engine(EngineError::Token(_))) => {
            tracing::debug!("open pixel with a bad token");
        }
        Err(e) => tracing::warn!(error = %e, "recording an open failed"),
    }
    pixel_response()
}
