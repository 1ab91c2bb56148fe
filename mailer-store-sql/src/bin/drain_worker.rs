//! A queue worker process for the multi-process tests: drains one account's emails from a shared
//! database and writes one line per send (`sent <email> <mailbox> <claim-µs>`) to a log, flushing each.
//! The "send" is the moment of the claim: that is the moment the spacing and caps apply to.
//!
//! Run with `MAILER_DATABASE_URL=… MAILER_SECRET_KEY=… drain-worker ACCOUNT WORKER LOG [LEASE_MS]`.

use std::io::Write;
use std::time::Duration;

use mailer_core::model::{AccountId, EmailQuery, EmailStatus, WorkerId};
use mailer_core::ports::Store;
use mailer_store_sql::{SqlConfig, SqlStore};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let [_, account, worker, log, rest @ ..] = args.as_slice() else {
        return Err("usage: drain-worker ACCOUNT WORKER LOG [LEASE_MS]".into());
    };
    let account = AccountId(account.parse()?);
    let worker = WorkerId::new(worker.clone());
    let lease = Duration::from_millis(rest.first().map(|s| s.parse()).transpose()?.unwrap_or(30_000));
    let mut log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let store = SqlStore::connect(&SqlConfig::from_env()?.with_max_connections(2)).await?;
    let mut waiting = EmailQuery::account(account, 1);
    waiting.statuses = vec![EmailStatus::Queued, EmailStatus::Sending];
    loop {
        let now = chrono::Utc::now();
        let claimed = store.claim_due(&worker, now, 20, lease).await?;
        if claimed.is_empty() {
            if store.list_emails(&waiting).await?.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        for c in claimed {
            let e = &c.email;
            writeln!(log, "sent {} {} {}", e.id, e.spec.mailbox, now.timestamp_micros())?;
            store.complete(e.spec.account, e.id, &worker, now).await?;
        }
    }
}
