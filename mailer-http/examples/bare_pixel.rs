//! The benchmark's baseline: a bare axum server that answers `/t/o/{token}` with the same 1×1 GIF and
//! `/t/l/{token}` with the same 302 as `mailer-server`, with no verification, store or middleware.
//!
//! Run with `cargo run --release -p mailer-http --example bare_pixel -- 18182`.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

async fn pixel() -> Response {
    mailer_http::pixel_response()
}

async fn link() -> Response {
    let mut response = (StatusCode::FOUND, [(header::LOCATION, "https://example.com/offer.pdf")]).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(18182);
    let app = Router::new()
        .route("/t/o/{token}", get(pixel))
        .route("/t/l/{token}", get(link));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    axum::serve(listener, app).await
}
