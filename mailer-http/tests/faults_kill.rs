//! Fault suite, crashes: the real `mailer-server` sends a queued mailing over SMTP to a counting SMTP server
//! (in this test process, so it outlives every crash) and is killed with SIGKILL at random moments, then
//! started again. At the end every email was accepted by the SMTP server (lost = 0) and is `sent` in the
//! store; an email accepted more than once is a duplicate, and duplicates stay within the in-flight window
//! the README documents: per crash, the emails the dead process had claimed and not yet recorded. The
//! mailboxes here space their sends, so a claim takes one email of each, and the test asserts the tighter
//! one per mailbox per worker task.
//!
//! Short form (CI): 300 emails, 3 kills. Long form: `MAILER_FAULTS_LONG=1` (or `scripts/faults.sh --long`):
//! 10,000 emails, 20 kills. SQLite with one process; PostgreSQL with two (`serve` and `worker`).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mailer_core::model::{AccountId, EmailQuery, MailingId, Security, SendingLimits, ServerSettings};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::testkit::StoreFixture;
use mailer_core::testkit::fixture::sample_mailbox;
use mailer_store_sql::testkit::pg_schema_url;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const MAILBOXES: usize = 10;
const WORKERS: usize = 2;

/// Emails and kills: the short form for CI, the long one with `MAILER_FAULTS_LONG=1`.
fn load() -> (usize, usize) {
    if std::env::var("MAILER_FAULTS_LONG").is_ok_and(|v| v == "1") {
        (10_000, 20)
    } else {
        (300, 3)
    }
}

/// How many times the counting SMTP server accepted each Message-ID.
#[derive(Debug, Default)]
struct Accepted(Mutex<HashMap<String, u32>>);

impl Accepted {
    fn counts(&self) -> HashMap<String, u32> {
        self.0.lock().expect("counts").clone()
    }

    fn distinct(&self) -> usize {
        self.0.lock().expect("counts").len()
    }

    fn total(&self) -> u32 {
        self.0.lock().expect("counts").values().sum()
    }
}

/// A minimal SMTP server on 127.0.0.1 that accepts everything (pooled connections, AUTH PLAIN, RSET) and
/// counts each message by its Message-ID once the final `.` has been answered with 250.
async fn counting_smtp() -> (u16, Arc<Accepted>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(Accepted::default());
    let counts = Arc::clone(&accepted);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let counts = Arc::clone(&counts);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                if write.write_all(b"220 counter.test ESMTP\r\n").await.is_err() {
                    return;
                }
                let mut in_data = false;
                let mut message_id: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            if let Some(id) = message_id.take() {
                                *counts.0.lock().expect("counts").entry(id).or_default() += 1;
                            }
                            if write.write_all(b"250 2.0.0 queued\r\n").await.is_err() {
                                return;
                            }
                        } else if message_id.is_none()
                            && line.len() > 11
                            && line[..11].eq_ignore_ascii_case("message-id:")
                        {
                            message_id = Some(line[11..].trim().trim_matches(['<', '>']).to_owned());
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-counter.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                        "HELO" => b"250 counter.test\r\n",
                        "AUTH" => b"235 2.7.0 ok\r\n",
                        "DATA" => {
                            in_data = true;
                            message_id = None;
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 ok\r\n",
                    };
                    if write.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, accepted)
}

/// A small deterministic generator for the kill moments (the seed is printed, so a run can be repeated).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below.max(1)
    }
}

fn seed() -> u64 {
    std::env::var("MAILER_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos() & u128::from(u64::MAX)).unwrap_or(7))
                .unwrap_or(7)
        })
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(command: &str, dir: &Path, db: &str, key: &SecretKey, name: &str) -> Self {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{name}.log")))
            .expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_mailer-server"))
            .arg(command)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "warn")
            .env("MAILER_DATABASE_URL", db)
            .env("MAILER_SECRET_KEY", key.to_base64())
            .env("MAILER_SIGNING_KEY_DEFAULT", "fault-test-signing-key-0123")
            .env("MAILER_LISTEN", format!("127.0.0.1:{port}"))
            .env("MAILER_TRACKING_BASE_URL", format!("http://127.0.0.1:{port}"))
            .env("MAILER_WORKERS", WORKERS.to_string())
            .env("MAILER_WORKER_IDLE_MS", "20")
            .env("MAILER_LEASE_SECS", "2")
            .env("MAILER_WORKER_NAME", name)
            .env("MAILER_SHUTDOWN_GRACE_SECS", "5")
            .stdout(Stdio::from(log.try_clone().expect("clone")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start mailer-server");
        Self { child }
    }

    /// SIGKILL: no shutdown, no flush, leases left behind.
    fn kill9(mut self) {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-KILL", &pid]).status().expect("kill");
        assert!(status.success());
        let _ = self.child.wait();
    }

    fn terminate(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Queues `total` emails over [`MAILBOXES`] mailboxes that send to the counting server on `smtp_port`;
/// answers the account and every Message-ID.
async fn queue(db: &str, key: &SecretKey, total: usize, smtp_port: u16) -> (AccountId, Vec<String>) {
    let store = SqlStore::connect(&SqlConfig::new(db, key.clone()))
        .await
        .expect("store");
    let f = StoreFixture::new(&store).await;
    let limits = SendingLimits {
        spacing: Duration::from_millis(10),
        daily_cap: 1_000_000,
        ..SendingLimits::default()
    };
    let mut mailboxes = Vec::new();
    for _ in 0..MAILBOXES {
        let mut mailbox = sample_mailbox(f.account.id, f.user.id, limits.clone());
        mailbox.smtp = ServerSettings {
            host: "127.0.0.1".into(),
            port: smtp_port,
            security: Security::Plain,
        };
        mailbox.imap = None;
        mailboxes.push(store.insert(mailbox).await.expect("mailbox"));
    }
    let mut specs = Vec::with_capacity(total);
    for i in 0..total {
        let mailbox = &mailboxes[i % MAILBOXES];
        let mut spec = f.mailing_email(mailbox, MailingId(0), i64::try_from(i).expect("small"));
        spec.mailing = None;
        spec.idempotency_key = None;
        spec.message_id = format!("k{i}@faults.test");
        specs.push(spec);
    }
    let ids = specs.iter().map(|s| s.message_id.clone()).collect();
    for chunk in specs.chunks(500) {
        store.enqueue(chunk.to_vec()).await.expect("enqueue");
    }
    store.close().await;
    (f.account.id, ids)
}

async fn statuses(db: &str, key: &SecretKey, account: AccountId, total: usize) -> BTreeMap<String, usize> {
    let store = SqlStore::connect(&SqlConfig::new(db, key.clone()))
        .await
        .expect("store");
    let q = EmailQuery::account(account, u32::try_from(total + 10).expect("small"));
    let mut out = BTreeMap::new();
    for email in store.list_emails(&q).await.expect("emails") {
        *out.entry(format!("{:?}", email.status)).or_default() += 1;
    }
    store.close().await;
    out
}

/// What a run produced.
#[derive(Debug)]
struct Figures {
    emails: usize,
    kills: usize,
    lost: usize,
    duplicates: u32,
    window: usize,
}

/// Runs the processes named in `roles` (`serve` / `worker`), kills one of them with SIGKILL `kills` times
/// at random moments, restarts it, and lets them finish; answers the figures.
async fn crash_run(db: &str, roles: &[&str]) -> Figures {
    let (emails, kills) = load();
    let dir = tempfile::tempdir().expect("dir");
    let key = SecretKey::generate();
    let (smtp_port, accepted) = counting_smtp().await;
    let (account, ids) = queue(db, &key, emails, smtp_port).await;
    let seed = seed();
    eprintln!("faults: seed {seed} (MAILER_FAULTS_SEED={seed} repeats the kill moments)");
    let mut rng = Lcg(seed);
    let mut running: Vec<Option<Server>> = roles
        .iter()
        .enumerate()
        .map(|(i, role)| Some(Server::start(role, dir.path(), db, &key, &format!("{role}{i}"))))
        .collect();
    let started = Instant::now();
    let step = emails / (kills + 1);
    for k in 0..kills {
        // A random moment: somewhere in the next stretch of sends, past a random extra delay.
        let target = step * k + usize::try_from(rng.next(u64::try_from(step).expect("small"))).expect("small");
        while accepted.distinct() < target && started.elapsed() < Duration::from_secs(600) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(rng.next(40))).await;
        let victim = usize::try_from(rng.next(u64::try_from(roles.len()).expect("small"))).expect("small");
        if let Some(server) = running[victim].take() {
            server.kill9();
        }
        running[victim] = Some(Server::start(
            roles[victim],
            dir.path(),
            db,
            &key,
            &format!("{}{victim}", roles[victim]),
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(if emails > 1000 { 900 } else { 180 });
    while accepted.distinct() < emails && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Leases of the dead processes expire after 2 s: wait until the store says every email is sent.
    let mut final_statuses = BTreeMap::new();
    while Instant::now() < deadline {
        final_statuses = statuses(db, &key, account, emails).await;
        if final_statuses.get("Sent") == Some(&emails) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for server in running.into_iter().flatten() {
        server.terminate();
    }
    let counts = accepted.counts();
    let lost = ids.iter().filter(|id| !counts.contains_key(*id)).count();
    let duplicates = accepted.total() - u32::try_from(counts.len()).expect("small");
    let figures = Figures {
        emails,
        kills,
        lost,
        duplicates,
        window: kills * WORKERS * MAILBOXES,
    };
    eprintln!(
        "faults: {roles:?} {figures:?} store {final_statuses:?} in {:?}",
        started.elapsed()
    );
    let log = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert_eq!(
        final_statuses.get("Sent"),
        Some(&emails),
        "not every email is sent in the store: {final_statuses:?}\n{}",
        log(&format!("{}0.log", roles[0]))
    );
    figures
}

fn check(f: &Figures) {
    assert_eq!(f.lost, 0, "{} emails, {} kills: lost {}", f.emails, f.kills, f.lost);
    assert!(
        usize::try_from(f.duplicates).expect("small") <= f.window,
        "duplicates beyond the in-flight window: {f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_kill_9_during_a_mailing_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("mailer.db").display());
    let figures = crash_run(&db, &["serve"]).await;
    check(&figures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_kill_9_of_either_process_during_a_mailing_loses_nothing() {
    let Ok(base) = std::env::var("MAILER_TEST_PG_URL") else {
        mailer_core::testkit::skip("MAILER_TEST_PG_URL is not set");
        return;
    };
    let db = pg_schema_url(&base, "faults").await.expect("test schema");
    let figures = crash_run(&db, &["serve", "worker"]).await;
    check(&figures);
}
