//! Token rotation across 4 real `mailer-server worker` processes on one PostgreSQL schema, against the
//! fake Kommo with rotating refresh tokens and access tokens that live 63 seconds (the client refreshes a
//! minute ahead, so every pair is due after 3 seconds). While the processes send a queued mailing whose
//! every email reads its lead from Kommo, the fake's clock also jumps a day twice, so every process's
//! access token is refused at once. Shown: every email is sent on its first attempt (every CRM read
//! succeeded), Kommo refused no refresh token, each refresh token was spent exactly once (the fake
//! counts), and several rotations happened.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mailer_core::model::{
    AccountId, Body, CrmLink, EmailQuery, EmailStatus, EntityKind, LinkStatus, Secret, SendingLimits,
};
use mailer_core::ports::Store as _;
use mailer_core::testkit::{StoreFixture, skip};
use mailer_kommo::fake::FakeKommo;
use mailer_store_sql::testkit::pg_schema_url;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};

const PROCESSES: usize = 4;
const MAILBOXES: usize = 4;
const PER_MAILBOX: usize = 20;
/// The fake's Kommo account id.
const KOMMO_ACCOUNT: i64 = 31_000_001;

struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, db: &str, key: &SecretKey, name: &str) -> Worker {
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_mailer-server"))
        .arg("worker")
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info,mailer_kommo=debug")
        .env("MAILER_CONFIG", dir.join("mailer.toml"))
        .env("MAILER_DATABASE_URL", db)
        .env("MAILER_SECRET_KEY", key.to_base64())
        .env("MAILER_SIGNING_KEY_DEFAULT", "process-test-signing-key-0123")
        .env("MAILER_OUTBOX", dir.join("outbox"))
        .env("MAILER_WORKERS", "2")
        .env("MAILER_WORKER_IDLE_MS", "50")
        .env("MAILER_WORKER_NAME", name)
        .env("MAILER_SHUTDOWN_GRACE_SECS", "5")
        .stdout(Stdio::from(out.try_clone().expect("clone")))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start mailer-server worker");
    Worker { child, log }
}

/// Queues the mailing: every email is about its own lead in the fake, so sending it reads Kommo.
async fn queue(store: &SqlStore, kommo: &FakeKommo) -> (AccountId, usize) {
    let f = StoreFixture::new(store).await;
    let tokens = serde_json::to_string(&kommo.issue_tokens()).expect("json");
    store
        .put_crm_link(CrmLink {
            account: f.account.id,
            external_id: KOMMO_ACCOUNT,
            domain: "fake.kommo.com".into(),
            status: LinkStatus::Active,
            detail: None,
            tokens: Some(Secret::new(tokens)),
            version: 0,
            updated_at: f.now,
        })
        .await
        .expect("link");
    let limits = SendingLimits {
        spacing: Duration::from_millis(800),
        ..SendingLimits::default()
    };
    let mut specs = Vec::new();
    for m in 0..MAILBOXES {
        let mailbox = f.add_mailbox(limits.clone()).await;
        for i in 0..PER_MAILBOX {
            let lead = kommo.add_entity(EntityKind::Lead, &format!("Lead {m}-{i}"));
            let mut spec = f.email(&mailbox, &format!("r{m}-{i}@example.com"));
            spec.entity = Some(lead);
            spec.content.body = Body::Html(format!("<p>About lead {m}-{i}</p>"));
            spec.message_id = format!("rot{m}-{i}@mailer.test");
            specs.push(spec);
        }
    }
    let total = specs.len();
    store.enqueue(specs).await.expect("enqueue");
    (f.account.id, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_worker_processes_share_rotating_kommo_tokens_through_the_store() {
    let Ok(base) = std::env::var("MAILER_TEST_PG_URL") else {
        skip("MAILER_TEST_PG_URL is not set");
        return;
    };
    let db = pg_schema_url(&base, "kommo_rot4").await.expect("test schema");
    let key = SecretKey::generate();
    let kommo = FakeKommo::start().await.expect("fake kommo");
    kommo.set_rate_limit(None, 1);
    kommo.set_access_lifetime(63);
    let store = SqlStore::connect(&SqlConfig::new(db.clone(), key.clone()))
        .await
        .expect("postgres store");
    let (account, total) = queue(&store, &kommo).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let app = kommo.app();
    std::fs::write(
        dir.path().join("mailer.toml"),
        format!(
            "[kommo_integration]\nclient_id = \"{}\"\nclient_secret = \"{}\"\nredirect_uri = \"{}\"\nbase_url = \"{}\"\n",
            app.client_id,
            app.client_secret.expose(),
            app.redirect_uri,
            kommo.base_url()
        ),
    )
    .expect("config");
    let workers: Vec<Worker> = (0..PROCESSES)
        .map(|n| start(dir.path(), &db, &key, &format!("rot{n}")))
        .collect();

    let emails = |statuses: Vec<EmailStatus>| {
        let mut q = EmailQuery::account(account, u32::try_from(total + 10).expect("small"));
        q.statuses = statuses;
        let store = &store;
        async move { store.list_emails(&q).await.expect("emails") }
    };
    let started = Instant::now();
    let mut jumps = 0;
    loop {
        let sent = emails(vec![EmailStatus::Sent]).await.len();
        if sent == total {
            break;
        }
        // Twice during the mailing, a day passes for Kommo: every access token is refused at once.
        if jumps < 2 && sent >= (jumps + 1) * total / 3 {
            kommo.advance(86_400);
            jumps += 1;
        }
        if started.elapsed() >= Duration::from_secs(120) {
            // Where the unsent emails are (status, attempts, due, last error), then every process's log.
            let unsent: Vec<String> = emails(Vec::new())
                .await
                .iter()
                .filter(|e| e.status != EmailStatus::Sent)
                .map(|e| {
                    format!(
                        "{} {:?} attempts={} due={} error={:?}",
                        e.spec.message_id, e.status, e.attempts, e.due_at, e.last_error
                    )
                })
                .collect();
            let logs: Vec<String> = workers.iter().map(Worker::log).collect();
            panic!(
                "{sent} of {total} sent after 2 minutes (now {}); unsent:\n{}\nlogs:\n{}",
                chrono::Utc::now(),
                unsent.join("\n"),
                logs.join("\n----\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = started.elapsed();
    let logs: Vec<String> = workers.iter().map(Worker::log).collect();
    drop(workers);
    let all = emails(Vec::new()).await;
    let retried: Vec<_> = all
        .iter()
        .filter(|e| e.attempts != 1)
        .map(|e| (e.id, e.attempts))
        .collect();
    assert!(
        retried.is_empty(),
        "emails that needed another attempt (a CRM read failed): {retried:?}; logs:\n{}",
        logs.join("\n----\n")
    );
    let grants: Vec<_> = kommo
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("oauth2/access_token"))
        .collect();
    let refused: Vec<_> = grants.iter().filter(|r| r.status != 200).collect();
    assert!(refused.is_empty(), "Kommo refused a refresh token: {refused:?}");
    let spends = kommo.refresh_spends();
    assert!(
        spends.iter().all(|n| *n == 1),
        "a refresh token was spent more than once: {spends:?}"
    );
    assert_eq!(spends.len(), grants.len(), "every refresh spent a token of its own");
    assert!(
        grants.len() >= 4,
        "too few rotations to show anything: {} refreshes",
        grants.len()
    );
    for log in &logs {
        assert!(!log.contains("refused a refresh token"), "{log}");
        assert!(!log.contains("invalid_grant"), "{log}");
    }
    let api: Vec<u16> = kommo
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v4/"))
        .map(|r| r.status)
        .collect();
    let failed: Vec<&u16> = api.iter().filter(|s| !matches!(s, 200..=299 | 401)).collect();
    assert!(failed.is_empty(), "Kommo API calls that failed: {failed:?}");
    eprintln!(
        "{total} emails over {PROCESSES} processes in {elapsed:?}: {} refreshes, {} API calls ({} refused with 401 and retried after a refresh), {jumps} clock jumps",
        grants.len(),
        api.len(),
        api.iter().filter(|s| **s == 401).count()
    );
    store.close().await;
}
