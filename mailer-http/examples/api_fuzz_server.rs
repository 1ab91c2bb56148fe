//! The admin API over the in-memory harness (one account with an admin, a mailbox and the standard CRM
//! world), for `scripts/schemathesis.sh`: prints an admin's API token, then serves on the port given as the
//! first argument until killed.

use std::sync::Arc;

use mailer_core::engine::Engine;
use mailer_core::testkit::Harness;
use mailer_http::{AppState, HttpConfig, app};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port: u16 = std::env::args().nth(1).map_or(Ok(18089), |p| p.parse())?;
    let h = Harness::new().await;
    let (_, token) = h
        .engine
        .create_api_token(h.account.id, h.admin.id, h.admin.id, "fuzz", [7; 32])
        .await?;
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{token}");
    mailer_http::run(
        listener,
        app(AppState::new(engine, HttpConfig::default())),
        std::future::pending(),
    )
    .await?;
    Ok(())
}
