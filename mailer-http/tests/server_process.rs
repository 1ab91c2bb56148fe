//! The real `mailer-server` binary on a free port against SQLite with an `.eml` outbox: a queued mailing
//! over several mailboxes is sent; SIGTERM in the middle stops it with exit code 0; after a restart every
//! email has been sent exactly once (counted from the "email sent" log lines of both runs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mailer_core::model::{AccountId, EmailQuery, EmailStatus, MailingId, SendingLimits};
use mailer_core::ports::Store;
use mailer_core::testkit::StoreFixture;
use mailer_store_sql::testkit::pg_schema_url;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};

const MAILBOXES: usize = 6;
const PER_MAILBOX: usize = 15;

struct Server {
    child: Child,
    log: PathBuf,
    port: u16,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

fn start(dir: &Path, db: &str, key: &SecretKey, run: u32) -> Server {
    start_as("serve", dir, db, key, &format!("run{run}"))
}

fn start_as(command: &str, dir: &Path, db: &str, key: &SecretKey, name: &str) -> Server {
    let port = free_port();
    let log = dir.join(format!("{name}.log"));
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_mailer-server"))
        .arg(command)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("MAILER_DATABASE_URL", db)
        .env("MAILER_SECRET_KEY", key.to_base64())
        .env("MAILER_SIGNING_KEY_DEFAULT", "process-test-signing-key-0123")
        .env("MAILER_LISTEN", format!("127.0.0.1:{port}"))
        .env("MAILER_TRACKING_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("MAILER_OUTBOX", dir.join("outbox"))
        .env("MAILER_WORKERS", "3")
        .env("MAILER_WORKER_IDLE_MS", "50")
        .env("MAILER_WORKER_NAME", name)
        .env("MAILER_SHUTDOWN_GRACE_SECS", "10")
        .stdout(Stdio::from(out.try_clone().expect("clone")))
        .stderr(Stdio::from(out))
        .spawn()
        .expect("start mailer-server");
    Server { child, log, port }
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn sent(&self) -> Vec<String> {
        sent_ids(&self.log())
    }

    fn wait_until(&self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let start = Instant::now();
        while !done(self) {
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {what}; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn terminate(mut self) -> (ExitStatus, Duration, String) {
        let pid = self.child.id().to_string();
        let started = Instant::now();
        let status = Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, started.elapsed(), self.log());
            }
            assert!(Instant::now() < deadline, "did not stop after SIGTERM:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// The Message-IDs of the "email sent" log lines.
fn sent_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("email sent"))
        .filter_map(|l| l.split("message_id=").nth(1))
        .map(|rest| rest.split_whitespace().next().unwrap_or_default().to_owned())
        .collect()
}

fn http_ok(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.starts_with("HTTP/1.1 200").then_some(answer)
}

/// Queues `mailboxes × per_mailbox` emails (spacing `spacing`) in the store at `db`; answers the account.
async fn queue(
    db: &str,
    key: &SecretKey,
    mailboxes: usize,
    per_mailbox: usize,
    spacing: Duration,
) -> (AccountId, usize) {
    let store = SqlStore::connect(&SqlConfig::new(db, key.clone()))
        .await
        .expect("store");
    let f = StoreFixture::new(&store).await;
    let limits = SendingLimits {
        spacing,
        ..SendingLimits::default()
    };
    let mut specs = Vec::new();
    for m in 0..mailboxes {
        let mailbox = f.add_mailbox(limits.clone()).await;
        for i in 0..per_mailbox {
            let mut spec = f.mailing_email(&mailbox, MailingId(0), i64::try_from(i * mailboxes + m).expect("small"));
            spec.mailing = None;
            spec.idempotency_key = None;
            spec.message_id = format!("p{m}-{i}@mailer.test");
            specs.push(spec);
        }
    }
    let total = specs.len();
    for chunk in specs.chunks(500) {
        store.enqueue(chunk.to_vec()).await.expect("enqueue");
    }
    store.close().await;
    (f.account.id, total)
}

async fn sent_in_store(db: &str, key: &SecretKey, account: AccountId, total: usize) -> usize {
    let store = SqlStore::connect(&SqlConfig::new(db, key.clone()))
        .await
        .expect("store");
    let mut q = EmailQuery::account(account, u32::try_from(total + 10).expect("small"));
    q.statuses = vec![EmailStatus::Sent];
    let n = store.list_emails(&q).await.expect("emails").len();
    store.close().await;
    n
}

fn assert_each_once(logs: &[String], total: usize) {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for id in logs.iter().flat_map(|l| sent_ids(l)) {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), total, "some emails were never sent");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_a_serve_and_a_worker_process_send_2000_emails_over_20_mailboxes_once() {
    let Ok(base) = std::env::var("MAILER_TEST_PG_URL") else {
        mailer_core::testkit::skip("MAILER_TEST_PG_URL is not set");
        return;
    };
    let db = pg_schema_url(&base, "host").await.expect("test schema");
    let dir = tempfile::tempdir().expect("dir");
    let key = SecretKey::generate();
    let spacing = Duration::from_millis(20);
    let (account, total) = queue(&db, &key, 20, 100, spacing).await;
    let serve = start_as("serve", dir.path(), &db, &key, "serve");
    let worker = start_as("worker", dir.path(), &db, &key, "worker");
    serve.wait_until("every send", Duration::from_secs(240), |s| {
        s.sent().len() + sent_ids(&worker.log()).len() >= total
    });
    let (status, _, serve_log) = serve.terminate();
    assert!(status.success(), "serve exit {status:?}:\n{serve_log}");
    let (status, _, worker_log) = worker.terminate();
    assert!(status.success(), "worker exit {status:?}:\n{worker_log}");
    assert!(!sent_ids(&worker_log).is_empty(), "the worker process sent nothing");
    assert_each_once(&[serve_log, worker_log], total);
    assert_eq!(sent_in_store(&db, &key, account, total).await, total);
    assert_spacing_held(&db, spacing, total).await;
}

/// Asserts that no mailbox's sends (the claim moments the store records, shared by both processes) came
/// closer together than `spacing`, and that every email was claimed.
async fn assert_spacing_held(db: &str, spacing: Duration, total: usize) {
    use sqlx::Row as _;
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(db)
        .await
        .expect("connect");
    let rows = sqlx::query("SELECT mailbox, at FROM sends ORDER BY mailbox, at")
        .fetch_all(&mut conn)
        .await
        .expect("sends");
    assert!(rows.len() >= total, "{} sends recorded for {total} emails", rows.len());
    let spacing_us = i64::try_from(spacing.as_micros()).expect("small");
    let mut violations = Vec::new();
    let mut last: Option<(i64, i64)> = None;
    for row in &rows {
        let (mailbox, at): (i64, i64) = (row.try_get(0).expect("mailbox"), row.try_get(1).expect("at"));
        if let Some((m, prev)) = last
            && m == mailbox
            && at - prev < spacing_us
        {
            violations.push((mailbox, at - prev));
        }
        last = Some((mailbox, at));
    }
    assert!(
        violations.is_empty(),
        "{} sends closer than {spacing:?} in one mailbox, e.g. (mailbox, gap µs) {:?}",
        violations.len(),
        &violations[..violations.len().min(5)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailing_survives_sigterm_and_every_email_is_sent_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("mailer.db").display());
    let key = SecretKey::generate();
    let (account, total) = queue(&db, &key, MAILBOXES, PER_MAILBOX, Duration::from_millis(150)).await;

    let first = start(dir.path(), &db, &key, 1);
    first.wait_until("/healthz", Duration::from_secs(30), |s| {
        http_ok(s.port, "/healthz").is_some()
    });
    assert!(http_ok(first.port, "/readyz").is_some());
    first.wait_until("a third of the sends", Duration::from_secs(60), |s| {
        s.sent().len() >= total / 3
    });
    let metrics = http_ok(first.port, "/metrics").expect("metrics");
    assert!(metrics.contains("mailer_sends_total{result=\"sent\"}"), "{metrics}");
    assert!(metrics.contains("mailer_queue_emails{status="), "{metrics}");
    let (status, took, log1) = first.terminate();
    assert!(status.success(), "exit {status:?}:\n{log1}");
    assert!(took < Duration::from_secs(11), "stop took {took:?}");
    let before = sent_ids(&log1).len();
    assert!(
        before < total,
        "the first run sent everything before SIGTERM; nothing was tested"
    );

    let second = start(dir.path(), &db, &key, 2);
    second.wait_until("the rest of the sends", Duration::from_secs(90), |s| {
        before + s.sent().len() >= total
    });
    std::thread::sleep(Duration::from_millis(500));
    let (status, _, log2) = second.terminate();
    assert!(status.success(), "exit {status:?}:\n{log2}");
    assert_each_once(&[log1, log2], total);
    assert_eq!(sent_in_store(&db, &key, account, total).await, total);
}
