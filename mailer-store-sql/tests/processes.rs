//! Many processes, one database: real worker processes (`drain-worker`) drain one account's queue from
//! a shared SQLite file or PostgreSQL schema. From the sends they log: no email sent twice, none lost,
//! no mailbox sending faster than its spacing. The crash cases kill one worker with SIGKILL mid-drain,
//! start a replacement, and drain to the end: every email ends sent, and the ones sent twice are among
//! those the killed worker held at the kill.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use mailer_core::model::{AccountId, EmailQuery, EmailStatus, SendingLimits};
use mailer_core::ports::Store;
use mailer_core::testkit::StoreFixture;
use mailer_store_sql::SqlStore;
use mailer_store_sql::testkit::pg_schema_url;

const WORKERS: usize = 4;
const MAILBOXES: usize = 20;
const SPACING: Duration = Duration::from_millis(50);
/// Long enough that a live worker never loses a lease on a busy machine.
const LEASE_MS: &str = "60000";
/// Short, so the killed worker's emails come back within the test.
const CRASH_LEASE_MS: &str = "2000";

struct Drain {
    url: String,
    dir: PathBuf,
    account: AccountId,
    lease_ms: &'static str,
    children: Vec<(String, Child)>,
}

impl Drain {
    /// An account with `MAILBOXES` mailboxes and `emails` queued emails, spread evenly.
    async fn prepare(url: String, dir: &Path, emails: usize, lease_ms: &'static str) -> Self {
        let store: SqlStore = common::connect(&url).await;
        let fx = StoreFixture::new(&store).await;
        let limits = SendingLimits {
            spacing: SPACING,
            daily_cap: 1_000_000,
            ..SendingLimits::default()
        };
        let mut mailboxes = Vec::new();
        for _ in 0..MAILBOXES {
            mailboxes.push(fx.add_mailbox(limits.clone()).await);
        }
        let specs: Vec<_> = (0..emails)
            .map(|i| {
                let mut spec = fx.email(&mailboxes[i % MAILBOXES], &format!("r{i}@example.com"));
                spec.idempotency_key = Some(format!("drain:{i}"));
                spec
            })
            .collect();
        let queued = store.enqueue(specs).await.expect("enqueue");
        assert_eq!(queued.iter().filter(|e| e.created).count(), emails);
        store.close().await;
        Self {
            url,
            dir: dir.to_path_buf(),
            account: fx.account.id,
            lease_ms,
            children: Vec::new(),
        }
    }

    fn log(&self, worker: &str) -> PathBuf {
        self.dir.join(format!("{worker}.log"))
    }

    fn spawn(&mut self, worker: &str) {
        let child = Command::new(env!("CARGO_BIN_EXE_drain-worker"))
            .args([
                &self.account.0.to_string(),
                worker,
                &self.log(worker).display().to_string(),
                self.lease_ms,
            ])
            .env("MAILER_DATABASE_URL", &self.url)
            .env("MAILER_SECRET_KEY", common::test_key().to_base64())
            .spawn()
            .expect("spawn drain-worker");
        self.children.push((worker.to_owned(), child));
    }

    /// SIGKILLs `worker` once it has logged `after` sends; returns the emails it held at the kill
    /// (logged as sent; an email is only completed after its line is written, so every email whose
    /// completion may not have reached the database is among the last `20` lines, one claim batch).
    fn kill_after(&mut self, worker: &str, after: usize) -> usize {
        let log = self.log(worker);
        let deadline = Instant::now() + Duration::from_secs(120);
        while sends(&log).len() < after {
            assert!(Instant::now() < deadline, "{worker} never logged {after} sends");
            std::thread::sleep(Duration::from_millis(20));
        }
        let (_, child) = self
            .children
            .iter_mut()
            .find(|(name, _)| name == worker)
            .expect("the worker runs");
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
        self.children.retain(|(name, _)| name != worker);
        sends(&log).len()
    }

    fn wait_all(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        for (name, child) in &mut self.children {
            loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    assert!(status.success(), "worker {name} failed: {status}");
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    panic!("worker {name} did not finish in time");
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn all_sends(&self) -> Vec<Send> {
        std::fs::read_dir(&self.dir)
            .expect("log dir")
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
            .flat_map(|e| sends(&e.path()))
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct Send {
    email: i64,
    mailbox: i64,
    at_us: i64,
}

/// The complete lines of a worker's log (a line cut by a kill is dropped).
fn sends(log: &Path) -> Vec<Send> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .filter_map(|l| {
            let mut f = l.split_whitespace().skip(1).map(str::parse::<i64>);
            Some(Send {
                email: f.next()?.ok()?,
                mailbox: f.next()?.ok()?,
                at_us: f.next()?.ok()?,
            })
        })
        .collect()
}

/// Asserts no send closer than the spacing in any mailbox; returns the smallest gap seen.
fn check_spacing(sends: &[Send]) -> i64 {
    let mut by_mailbox: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for s in sends {
        by_mailbox.entry(s.mailbox).or_default().push(s.at_us);
    }
    let spacing = i64::try_from(SPACING.as_micros()).expect("spacing");
    let mut smallest = i64::MAX;
    let mut violations = Vec::new();
    for (mailbox, mut times) in by_mailbox {
        times.sort_unstable();
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            smallest = smallest.min(gap);
            if gap < spacing {
                violations.push((mailbox, gap));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "{} spacing violations, e.g. {:?}",
        violations.len(),
        &violations[..violations.len().min(5)]
    );
    smallest
}

async fn final_statuses(url: &str, account: AccountId) -> BTreeMap<String, usize> {
    let store = common::connect(url).await;
    let mut counts = BTreeMap::new();
    let mut query = EmailQuery::account(account, 5_000);
    loop {
        let page = store.list_emails(&query).await.expect("list");
        let Some(last) = page.last() else { break };
        query.after = Some(last.id);
        for e in &page {
            *counts.entry(format!("{:?}", e.status)).or_insert(0) += 1;
        }
    }
    counts
}

/// 4 workers drain `emails`: no duplicate, none lost, spacing held.
async fn drain_without_crash(url: String, emails: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut drain = Drain::prepare(url, dir.path(), emails, LEASE_MS).await;
    let started = Instant::now();
    for w in 0..WORKERS {
        drain.spawn(&format!("w{w}"));
    }
    drain.wait_all();
    let took = started.elapsed();
    let sends = drain.all_sends();
    let distinct: BTreeSet<i64> = sends.iter().map(|s| s.email).collect();
    let duplicates = sends.len() - distinct.len();
    let smallest = check_spacing(&sends);
    println!(
        "drained {} emails with {WORKERS} processes in {took:?}: {} sends, {duplicates} duplicates, smallest gap {smallest} µs",
        emails,
        sends.len()
    );
    assert_eq!(duplicates, 0, "emails sent twice");
    assert_eq!(distinct.len(), emails, "emails lost");
    let statuses = final_statuses(&drain.url, drain.account).await;
    assert_eq!(statuses, BTreeMap::from([(format!("{:?}", EmailStatus::Sent), emails)]));
}

/// 4 workers drain; one is killed with SIGKILL mid-drain and replaced; the queue drains to the end.
async fn drain_with_crash(url: String, emails: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut drain = Drain::prepare(url, dir.path(), emails, CRASH_LEASE_MS).await;
    for w in 0..WORKERS {
        drain.spawn(&format!("w{w}"));
    }
    let logged_at_kill = drain.kill_after("w0", emails / (WORKERS * 4));
    let victim: Vec<Send> = sends(&drain.log("w0"));
    drain.spawn("w0-restarted");
    drain.wait_all();
    let sends = drain.all_sends();
    let mut count: BTreeMap<i64, usize> = BTreeMap::new();
    for s in &sends {
        *count.entry(s.email).or_insert(0) += 1;
    }
    let twice: Vec<i64> = count.iter().filter(|(_, n)| **n > 1).map(|(e, _)| *e).collect();
    // What the victim held at the kill: the emails of its last claim batch (it completes a batch's emails
    // one by one after logging them; a claim takes at most 20).
    let in_flight: BTreeSet<i64> = victim.iter().rev().take(20).map(|s| s.email).collect();
    println!(
        "crash: killed w0 after {logged_at_kill} logged sends; {} emails sent twice (at most {} were in flight): {twice:?}",
        twice.len(),
        in_flight.len()
    );
    assert!(
        twice.iter().all(|e| in_flight.contains(e)),
        "an email not held by the killed worker was sent twice: {twice:?} vs in flight {in_flight:?}"
    );
    assert_eq!(count.len(), emails, "emails lost");
    check_spacing(&sends);
    let statuses = final_statuses(&drain.url, drain.account).await;
    assert_eq!(
        statuses,
        BTreeMap::from([(format!("{:?}", EmailStatus::Sent), emails)]),
        "not every email ended sent"
    );
}

#[cfg(feature = "sqlite")]
fn sqlite_url(dir: &tempfile::TempDir) -> String {
    common::sqlite_file_url(dir.path(), "queue.db")
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_four_processes_drain_10k() {
    let db = tempfile::tempdir().expect("temp dir");
    drain_without_crash(sqlite_url(&db), 10_000).await;
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_worker_killed_mid_drain() {
    let db = tempfile::tempdir().expect("temp dir");
    drain_with_crash(sqlite_url(&db), 2_000).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_four_processes_drain_10k() {
    let Some(base) = common::pg_url() else { return };
    drain_without_crash(pg_schema_url(&base, "drain").await.expect("test schema"), 10_000).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_worker_killed_mid_drain() {
    let Some(base) = common::pg_url() else { return };
    drain_with_crash(pg_schema_url(&base, "crash").await.expect("test schema"), 2_000).await;
}
