//! The SQL store against plain SQL doing the same work, each pair in the same run.
//!
//! - `enqueue_100k`: 100,000 emails of one mailing into the queue. `*/mailer` is `Store::enqueue`
//!   (idempotency keys, id reservation, batched JSON inserts); `*/bare` is a plain batched multi-row
//!   `INSERT` of the same rows with sqlx.
//! - `drain`: 10,000 queued emails over 100 mailboxes (no spacing), claimed 100 at a time and completed
//!   one by one until none is left. `*/mailer` is `Store::claim_due` + `Store::complete` (leases,
//!   per-mailbox spacing and caps, send records); `*/bare` is a plain claim/complete loop in SQL
//!   (`UPDATE … WHERE id IN (SELECT … LIMIT 100)`, with `FOR UPDATE SKIP LOCKED` on PostgreSQL).
//!   `postgres4` runs 4 workers at once.
//! - `timers_scan`: claiming 1,000 due timers (in the engine's batches of 100) among 10,000 (`*/10k`) or
//!   1,000,000 (`*/1m`) pending ones, bulk-inserted with SQL. `benches/timers_scan.sh` prints the ratio.
//!
//! Run with `eval "$(scripts/test-services.sh)"; cargo bench --bench store --features sql,postgres`.
//! The PostgreSQL functions are skipped with a message when `MAILER_TEST_PG_URL` is unset.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use mailer::store::{SecretKey, SqlConfig, SqlStore};
use mailer_core::model::{AccountId, EmailSpec, MailingId, NewTimer, Priority, SendingLimits, TimerAction, WorkerId};
use mailer_core::ports::Store;
use mailer_core::testkit::StoreFixture;
use sqlx::QueryBuilder;

const ENQUEUE: usize = 100_000;
const DRAIN: usize = 10_000;
const DRAIN_MAILBOXES: usize = 100;
const CLAIM: u32 = 100;
const LEASE: Duration = Duration::from_secs(300);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn pg_base() -> Option<String> {
    let url = std::env::var("MAILER_TEST_PG_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("skipped: postgres benches need MAILER_TEST_PG_URL (eval \"$(scripts/test-services.sh)\")");
    }
    url
}

/// A fresh schema in the benchmark PostgreSQL, so runs do not see each other's queues.
async fn pg_schema(base: &str, tag: &str) -> String {
    mailer_store_sql::testkit::pg_schema_url(base, &format!("bench_{tag}"))
        .await
        .expect("a schema in the benchmark PostgreSQL")
}

async fn store(url: &str, connections: u32) -> Arc<SqlStore> {
    let config = SqlConfig::new(url, SecretKey::from_bytes([7; 32])).with_max_connections(connections);
    Arc::new(SqlStore::connect(&config).await.expect("connect store"))
}

/// `n` emails of one mailing spread over `mailboxes` fresh mailboxes (no spacing) of a fresh account.
async fn specs(store: &SqlStore, n: usize, mailboxes: usize) -> (AccountId, Vec<EmailSpec>) {
    let fx = StoreFixture::new(store).await;
    let limits = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: 1_000_000,
        ..SendingLimits::default()
    };
    let mut boxes = Vec::new();
    for _ in 0..mailboxes {
        boxes.push(fx.add_mailbox(limits.clone()).await);
    }
    let mailing = MailingId(fx.account.id.0);
    let specs = (0..n)
        .map(|i| {
            let mut spec = fx.email(&boxes[i % mailboxes], &format!("lead{i}@example.com"));
            spec.mailing = Some(mailing);
            spec.priority = Priority::Mailing;
            spec.seq = i64::try_from(i).unwrap_or(0);
            spec.idempotency_key = Some(format!("mailing:{}:{i}", mailing.0));
            spec
        })
        .collect();
    (fx.account.id, specs)
}

/// The bare enqueue on PostgreSQL: the same rows as the store writes, in plain multi-row INSERTs (1,000 rows
/// each).
macro_rules! bare_insert {
    ($db:ty, $pool:expr, $specs:expr, $spec_cast:literal) => {{
        let mut tx = $pool.begin().await.expect("begin");
        for chunk in $specs.chunks(1_000) {
            let mut q: QueryBuilder<$db> = QueryBuilder::new(
                "INSERT INTO emails (account, mailbox, mailing, entity, status, priority, seq, due_at, idempotency_key, spec) ",
            );
            q.push_values(chunk, |mut row, s: &EmailSpec| {
                row.push_bind(s.account.0)
                    .push_bind(s.mailbox.0)
                    .push_bind(s.mailing.map(|m| m.0))
                    .push_bind(None::<String>)
                    .push_bind("queued")
                    .push_bind(1_i64)
                    .push_bind(s.seq)
                    .push_bind(s.not_before.timestamp_micros())
                    .push_bind(s.idempotency_key.clone())
                    .push_bind(serde_json::to_string(s).expect("json"))
                    .push_unseparated($spec_cast);
            });
            q.build().execute(&mut *tx).await.expect("bare insert");
        }
        tx.commit().await.expect("commit");
    }};
}

/// The bare enqueue on SQLite: the same rows as the store writes there, the email rows (with the spec's
/// Message-ID) and, in a second multi-row INSERT, their specs (`email_specs`), 1,000 rows a statement.
async fn bare_insert_sqlite(pool: &sqlx::SqlitePool, specs: &[EmailSpec]) {
    let mut tx = pool.begin().await.expect("begin");
    for chunk in specs.chunks(1_000) {
        let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new(
            "INSERT INTO emails (account, mailbox, mailing, entity, status, priority, seq, due_at, idempotency_key, \
             message_id) ",
        );
        q.push_values(chunk, |mut row, s: &EmailSpec| {
            row.push_bind(s.account.0)
                .push_bind(s.mailbox.0)
                .push_bind(s.mailing.map(|m| m.0))
                .push_bind(None::<String>)
                .push_bind("queued")
                .push_bind(1_i64)
                .push_bind(s.seq)
                .push_bind(s.not_before.timestamp_micros())
                .push_bind(s.idempotency_key.clone())
                .push_bind(s.message_id.clone());
        });
        q.push(" RETURNING id");
        let ids: Vec<i64> = q.build_query_scalar().fetch_all(&mut *tx).await.expect("bare insert");
        let mut q: QueryBuilder<sqlx::Sqlite> = QueryBuilder::new("INSERT INTO email_specs (id, spec) ");
        q.push_values(ids.iter().zip(chunk), |mut row, (id, s)| {
            row.push_bind(*id).push_bind(serde_json::to_string(s).expect("json"));
        });
        q.build().execute(&mut *tx).await.expect("bare spec insert");
    }
    tx.commit().await.expect("commit");
}

/// A plain sqlx SQLite pool with the store's settings (WAL, synchronous NORMAL, 10 s busy timeout).
async fn bare_sqlite(url: &str) -> sqlx::SqlitePool {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let options = url
        .parse::<SqliteConnectOptions>()
        .expect("sqlite url")
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10));
    sqlx::SqlitePool::connect_with(options).await.expect("bare pool")
}

fn enqueue_100k(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("enqueue_100k");
    group.sample_size(10).warm_up_time(Duration::from_millis(500));

    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("enqueue.db").display());
    let s = rt.block_on(store(&sqlite_url, 4));
    let bare = rt.block_on(bare_sqlite(&sqlite_url));
    group.bench_function("sqlite/mailer", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_, specs) = specs(&s, ENQUEUE, 1).await;
                    let t = Instant::now();
                    s.enqueue(specs).await.expect("enqueue");
                    total += t.elapsed();
                }
                total
            })
        });
    });
    group.bench_function("sqlite/bare", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_, specs) = specs(&s, ENQUEUE, 1).await;
                    let t = Instant::now();
                    bare_insert_sqlite(&bare, &specs).await;
                    total += t.elapsed();
                }
                total
            })
        });
    });

    if let Some(base) = pg_base() {
        let url = rt.block_on(pg_schema(&base, "enqueue"));
        let s = rt.block_on(store(&url, 4));
        let bare = rt.block_on(sqlx::PgPool::connect(&url)).expect("bare pool");
        group.bench_function("postgres/mailer", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (_, specs) = specs(&s, ENQUEUE, 1).await;
                        let t = Instant::now();
                        s.enqueue(specs).await.expect("enqueue");
                        total += t.elapsed();
                    }
                    total
                })
            });
        });
        group.bench_function("postgres/bare", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (_, specs) = specs(&s, ENQUEUE, 1).await;
                        let t = Instant::now();
                        bare_insert!(sqlx::Postgres, bare, specs, "::jsonb");
                        total += t.elapsed();
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

/// Drains the whole queue with `workers` concurrent claim/complete loops over the store, each claiming
/// `CLAIM / workers` at a time; they stop when every email is done.
async fn drain_mailer(store: &Arc<SqlStore>, workers: usize) {
    let done = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = Arc::clone(store);
        let done = Arc::clone(&done);
        tasks.push(tokio::spawn(async move {
            let worker = WorkerId::new(format!("bench{w}"));
            let now = mailer_core::testkit::default_start() + chrono::Duration::days(1);
            let per_claim = CLAIM / u32::try_from(workers).unwrap_or(1);
            while done.load(Ordering::Relaxed) < DRAIN {
                let claimed = store.claim_due(&worker, now, per_claim, LEASE).await.expect("claim");
                done.fetch_add(claimed.len(), Ordering::Relaxed);
                for c in claimed {
                    store
                        .complete(c.email.spec.account, c.email.id, &worker, now)
                        .await
                        .expect("complete");
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("worker");
    }
}

const BARE_TABLE: &str = "CREATE TABLE IF NOT EXISTS bare_queue (id BIGINT PRIMARY KEY, mailbox BIGINT NOT NULL, \
     status TEXT NOT NULL, worker TEXT, lease_until BIGINT, sent_at BIGINT, payload TEXT NOT NULL)";

const BARE_INDEX: &str = "CREATE INDEX IF NOT EXISTS bare_queue_status ON bare_queue (status, id)";

/// Fills the bare queue with the same emails (id, mailbox, payload) as the store's.
macro_rules! bare_fill {
    ($db:ty, $pool:expr, $specs:expr) => {{
        sqlx::query(BARE_TABLE).execute(&$pool).await.expect("bare table");
        sqlx::query(BARE_INDEX).execute(&$pool).await.expect("bare index");
        let mut tx = $pool.begin().await.expect("begin");
        for (n, chunk) in $specs.chunks(1_000).enumerate() {
            let mut q: QueryBuilder<$db> = QueryBuilder::new("INSERT INTO bare_queue (id, mailbox, status, payload) ");
            q.push_values(chunk.iter().enumerate(), |mut row, (i, s): (usize, &EmailSpec)| {
                row.push_bind(i64::try_from(n * 1_000 + i).unwrap_or(0) + s.account.0 * 1_000_000)
                    .push_bind(s.mailbox.0)
                    .push_bind("queued")
                    .push_bind(serde_json::to_string(s).expect("json"));
            });
            q.build().execute(&mut *tx).await.expect("bare fill");
        }
        tx.commit().await.expect("commit");
    }};
}

/// The bare drain: claim `CLAIM / workers` queued rows, complete each, until every row is done.
macro_rules! bare_drain {
    ($pool:expr, $workers:expr, $claim:expr) => {{
        let done = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for w in 0..$workers {
            let pool = $pool.clone();
            let done = Arc::clone(&done);
            tasks.push(tokio::spawn(async move {
                let worker = format!("bare{w}");
                let per_claim = i64::from(CLAIM) / i64::try_from($workers).unwrap_or(1);
                while done.load(Ordering::Relaxed) < DRAIN {
                    let ids: Vec<(i64, String)> = sqlx::query_as($claim)
                        .bind(worker.as_str())
                        .bind(1_i64)
                        .bind(per_claim)
                        .fetch_all(&pool)
                        .await
                        .expect("bare claim");
                    done.fetch_add(ids.len(), Ordering::Relaxed);
                    for (id, _payload) in ids {
                        sqlx::query(
                            "UPDATE bare_queue SET status = 'sent', sent_at = $1 WHERE id = $2 AND worker = $3",
                        )
                        .bind(2_i64)
                        .bind(id)
                        .bind(worker.as_str())
                        .execute(&pool)
                        .await
                        .expect("bare complete");
                    }
                }
            }));
        }
        for t in tasks {
            t.await.expect("worker");
        }
    }};
}

const SQLITE_BARE_CLAIM: &str = "UPDATE bare_queue SET status = 'sending', worker = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM bare_queue WHERE status = 'queued' ORDER BY id LIMIT $3) RETURNING id, payload";
const PG_BARE_CLAIM: &str = "UPDATE bare_queue SET status = 'sending', worker = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM bare_queue WHERE status = 'queued' ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) \
     RETURNING id, payload";

fn drain(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("drain");
    group.sample_size(10).warm_up_time(Duration::from_millis(500));

    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("drain.db").display());
    let s = rt.block_on(store(&sqlite_url, 4));
    let bare = rt.block_on(bare_sqlite(&sqlite_url));
    group.bench_function("sqlite/mailer", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_, specs) = specs(&s, DRAIN, DRAIN_MAILBOXES).await;
                    s.enqueue(specs).await.expect("enqueue");
                    let t = Instant::now();
                    drain_mailer(&s, 1).await;
                    total += t.elapsed();
                }
                total
            })
        });
    });
    group.bench_function("sqlite/bare", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let (_, specs) = specs(&s, DRAIN, DRAIN_MAILBOXES).await;
                    bare_fill!(sqlx::Sqlite, bare, specs);
                    let t = Instant::now();
                    bare_drain!(bare, 1, SQLITE_BARE_CLAIM);
                    total += t.elapsed();
                }
                total
            })
        });
    });

    if let Some(base) = pg_base() {
        let url = rt.block_on(pg_schema(&base, "drain"));
        let s = rt.block_on(store(&url, 8));
        let bare = rt
            .block_on(sqlx::postgres::PgPoolOptions::new().max_connections(8).connect(&url))
            .expect("bare pool");
        group.bench_function("postgres4/mailer", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (_, specs) = specs(&s, DRAIN, DRAIN_MAILBOXES).await;
                        s.enqueue(specs).await.expect("enqueue");
                        let t = Instant::now();
                        drain_mailer(&s, 4).await;
                        total += t.elapsed();
                    }
                    total
                })
            });
        });
        group.bench_function("postgres4/bare", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let (_, specs) = specs(&s, DRAIN, DRAIN_MAILBOXES).await;
                        bare_fill!(sqlx::Postgres, bare, specs);
                        let t = Instant::now();
                        bare_drain!(bare, 4, PG_BARE_CLAIM);
                        total += t.elapsed();
                    }
                    total
                })
            });
        });
    }
    group.finish();
}

/// Due timers claimed per measured iteration, and the claim batch (the engine's default).
const DUE_TIMERS: usize = 1_000;
const TIMER_BATCH: u32 = 100;

/// Runs one statement on the store's own pool (the bench's bulk writes, in the store's dialect).
async fn exec(store: &SqlStore, sql: String) {
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(store.pool())
        .await
        .expect("bulk statement");
}

/// `n` timers like the account's template (key `tmpl`), keys `{prefix}{g}`, ready at `ready_at + g` µs,
/// in one `INSERT … SELECT` over a generated series (a recursive CTE: SQLite has no `generate_series`).
fn timers_sql(account: AccountId, n: usize, prefix: &str, ready_at: i64) -> String {
    let account = account.0;
    format!(
        "WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n}) \
         INSERT INTO timers (account, key, ready_at, body) \
         SELECT t.account, '{prefix}' || CAST(s.g AS TEXT), {ready_at} + s.g, t.body FROM timers t, s WHERE t.account = {account} AND t.key = 'tmpl'"
    )
}

/// A store holding `pending` timers that are not due, plus the template timer (also not due).
async fn timers_store(url: &str, pending: usize) -> (Arc<SqlStore>, AccountId, chrono::DateTime<chrono::Utc>) {
    let s = store(url, 4).await;
    let fx = StoreFixture::new(&*s).await;
    let now = mailer_core::testkit::default_start() + chrono::Duration::days(1);
    let later = now + chrono::Duration::days(1);
    s.schedule_timer(NewTimer {
        account: fx.account.id,
        key: "tmpl".into(),
        due_at: later,
        action: TimerAction::NotOpened {
            email: mailer_core::model::EmailId(1),
        },
    })
    .await
    .expect("template timer");
    let account = fx.account.id;
    drop(fx);
    exec(&s, timers_sql(account, pending, "p", later.timestamp_micros())).await;
    (s, account, now)
}

/// One measured iteration: 1,000 timers come due, then the claim loop takes them all.
async fn claim_due_timers(s: &SqlStore, account: AccountId, now: chrono::DateTime<chrono::Utc>) -> Duration {
    let due_from = (now - chrono::Duration::hours(1)).timestamp_micros();
    exec(s, timers_sql(account, DUE_TIMERS, "d", due_from)).await;
    let worker = WorkerId::new("timers");
    let t = Instant::now();
    let mut claimed = 0;
    while claimed < DUE_TIMERS {
        let got = s
            .claim_due_timers(&worker, now, TIMER_BATCH, LEASE)
            .await
            .expect("claim timers");
        assert!(!got.is_empty(), "due timers left unclaimed");
        claimed += got.len();
    }
    let took = t.elapsed();
    // The claimed ones wait out their lease (now + 300 s); the pending ones are a day away.
    let leased_until = (now + chrono::Duration::hours(1)).timestamp_micros();
    exec(s, format!("DELETE FROM timers WHERE ready_at < {leased_until}")).await;
    took
}

fn timers_scan(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("timers_scan");
    group.sample_size(10).warm_up_time(Duration::from_millis(500));
    let dir = tempfile::tempdir().expect("temp dir");
    let pg = pg_base();
    for (name, pending) in [("10k", 10_000), ("1m", 1_000_000)] {
        let sqlite = format!("sqlite://{}", dir.path().join(format!("timers{name}.db")).display());
        let postgres = pg
            .as_ref()
            .map(|base| rt.block_on(pg_schema(base, &format!("timers{name}"))));
        for (dialect, url) in [("sqlite", Some(sqlite)), ("postgres", postgres)] {
            let Some(url) = url else { continue };
            let (s, account, now) = rt.block_on(timers_store(&url, pending));
            group.bench_function(format!("{dialect}/{name}"), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut total = Duration::ZERO;
                        for _ in 0..iters {
                            total += claim_due_timers(&s, account, now).await;
                        }
                        total
                    })
                });
            });
            rt.block_on(s.close());
        }
    }
    group.finish();
}

criterion_group!(benches, enqueue_100k, drain, timers_scan);
criterion_main!(benches);
