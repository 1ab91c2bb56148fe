//! The real `mailer-server` binary on a free port against SQLite with an `.eml` outbox: a queued mailing
//! over several mailboxes is sent; SIGTERM in the middle stops it with exit code 0; after a restart every
//! email has been sent exactly once (counted from the "email sent" log lines of both runs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use mailer_core::model::{EmailQuery, EmailStatus, MailingId, SendingLimits};
use mailer_core::ports::Store;
use mailer_core::testkit::StoreFixture;
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
    let port = free_port();
    let log = dir.join(format!("run{run}.log"));
    let out = std::fs::File::create(&log).expect("log");
    let child = Command::new(env!("CARGO_BIN_EXE_mailer-server"))
        .arg("serve")
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
        .env("MAILER_WORKER_NAME", format!("run{run}"))
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailing_survives_sigterm_and_every_email_is_sent_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("mailer.db").display());
    let key = SecretKey::generate();
    let store = SqlStore::connect(&SqlConfig::new(db.clone(), key.clone()))
        .await
        .expect("store");
    let f = StoreFixture::new(&store).await;
    let limits = SendingLimits {
        spacing: Duration::from_millis(150),
        ..SendingLimits::default()
    };
    let mut specs = Vec::new();
    for m in 0..MAILBOXES {
        let mailbox = f.add_mailbox(limits.clone()).await;
        for i in 0..PER_MAILBOX {
            let mut spec = f.mailing_email(&mailbox, MailingId(0), (i * MAILBOXES + m) as i64);
            spec.mailing = None;
            spec.message_id = format!("p{m}-{i}@mailer.test");
            specs.push(spec);
        }
    }
    let total = specs.len();
    store.enqueue(specs).await.expect("enqueue");
    store.close().await;

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

    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for id in sent_ids(&log1).into_iter().chain(sent_ids(&log2)) {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(counts.len(), total, "some emails were never sent");
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");

    let store = SqlStore::connect(&SqlConfig::new(db, key)).await.expect("store");
    let mut q = EmailQuery::account(f.account.id, 1000);
    q.statuses = vec![EmailStatus::Sent];
    assert_eq!(store.list_emails(&q).await.expect("emails").len(), total);
}
