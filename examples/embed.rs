//! Embedding mailer: SQLite as the store, the `.eml` transport (each message becomes a file), a few CRM
//! entities, one templated mailing, and the worker run until the queue is empty. `main_job` is the part a
//! user writes (15 lines); the sample account and CRM come from `mailer::testkit::seed_demo` (a real host
//! has its own, and Kommo's adapter or its own `impl Crm` instead of the scriptable CRM).
//!
//! Run with:
//! ```sh
//! cargo run --example embed --features sql,smtp,http,testkit
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use mailer::engine::{Engine, EngineConfig, Ports, StepReport};
use mailer::http::HttpFetcher;
use mailer::model::{AccountId, EmailQuery, Secret};
use mailer::smtp::EmlTransport;
use mailer::store::{SecretKey, SqlConfig, SqlStore};
use mailer::testkit::{ScriptCrm, seed_demo};
use mailer::{SystemClock, worker};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mailer-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    main_job(&dir).await
}

/// What a user writes: open the store, pick the transport, wire the engine, start a mailing, run the worker.
async fn main_job(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let db = format!("sqlite://{}?mode=rwc", dir.join("mailer.db").display());
    let store = Arc::new(SqlStore::connect(&SqlConfig::new(db, SecretKey::generate())).await?);
    let transport = Arc::new(EmlTransport::new(dir.join("outbox")));
    let crm = Arc::new(ScriptCrm::new());
    let demo = seed_demo(store.as_ref(), &crm, "main").await?;
    let mut config = EngineConfig {
        tracking_base_url: "https://mailer.example.com".into(),
        ..EngineConfig::default()
    };
    config
        .signing_keys
        .insert("main".into(), Secret::new("change me: a signing key of 16+ bytes"));
    let fetcher = Arc::new(HttpFetcher::new()?);
    let engine = Engine::new(
        Ports {
            store,
            transport,
            crm,
            clock: Arc::new(SystemClock),
            fetcher,
        },
        config,
    );
    let started = engine.start_mailing(&demo.request, demo.leads).await?;
    let report = worker::drain(&engine, demo.request.account, Duration::from_millis(100)).await?;
    print_summary(&engine, demo.request.account, started.queued, &report, dir).await
}

async fn print_summary(
    engine: &Engine,
    account: AccountId,
    queued: u64,
    report: &StepReport,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "queued {queued} emails; the worker sent {}, retried {}, failed {}",
        report.sent, report.retried, report.failed
    );
    for entry in engine.history(&EmailQuery::account(account, 100)).await? {
        let sent_at = entry.email.sent_at.map(|t| t.format("%H:%M:%S%.3f").to_string());
        let events: Vec<String> = entry.events.iter().map(|e| format!("{:?}", e.event.kind)).collect();
        let lead = entry.email.spec.entity.map(|e| e.id.0).unwrap_or_default();
        println!(
            "  email {} to the contacts of lead {lead}: {:?} at {sent_at:?}; events {events:?}",
            entry.email.id, entry.email.status
        );
    }
    println!(
        "messages written to {} (copies for Sent in outbox/Sent):",
        dir.join("outbox").display()
    );
    for file in std::fs::read_dir(dir.join("outbox"))? {
        println!("  {}", file?.file_name().to_string_lossy());
    }
    Ok(())
}
