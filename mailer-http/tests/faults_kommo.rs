//! Fault suite, Kommo: a mailing whose "sent" trigger adds a note in Kommo, through the real Kommo client
//! to the fake Kommo behind a proxy that can slow every answer down, while the fake answers 429 (JSON and
//! HTML), 401, 500/502/504 and expired tokens in between. Nothing crashes, every email is sent, and each
//! email's note is added exactly once or its failure is recorded (a `TriggerFailed` event): never twice.
//!
//! Short form (CI): 30 emails. Long form (`MAILER_FAULTS_LONG=1`): 300.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mailer_core::engine::{Engine, Ports};
use mailer_core::model::{Action, EmailStatus, EventKind, EventQuery, Trigger, TriggerId};
use mailer_core::model::{EmailQuery, EmailTriggers};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::testkit::{Harness, StoreFixture};
use mailer_kommo::fake::{FakeKommo, Fault};
use mailer_kommo::{KommoClient, KommoCrm, MemoryTokenStore, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn emails() -> usize {
    if std::env::var("MAILER_FAULTS_LONG").is_ok_and(|v| v == "1") {
        300
    } else {
        30
    }
}

/// A proxy to `upstream` that, while `slow` is set, holds each chunk of the answer for `delay`.
async fn slow_proxy(upstream: std::net::SocketAddr, delay: Duration) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let slow = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&slow);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let flag = Arc::clone(&flag);
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                let up = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n) = server_read.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    if flag.load(Ordering::SeqCst) {
                        tokio::time::sleep(delay).await;
                    }
                    if client_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    (format!("http://{addr}"), slow)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kommo_429_401_5xx_and_slow_answers_during_a_mailing_never_apply_a_trigger_twice() {
    let h = Harness::new().await;
    let kommo = FakeKommo::start().await.expect("fake kommo");
    let world = kommo.seed_world(h.account.id);
    let upstream: std::net::SocketAddr = kommo.base_url().trim_start_matches("http://").parse().expect("address");
    let (base_url, slow) = slow_proxy(upstream, Duration::from_millis(300)).await;
    let tokens = Arc::new(MemoryTokenStore::with(h.account.id, kommo.issue_tokens()));
    let client = KommoClient::builder(base_url)
        .oauth(kommo.app(), tokens, h.account.id)
        .with_retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_rate_wait: Duration::from_secs(3),
        })
        .with_timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let crm = KommoCrm::new();
    crm.add_account(h.account.id, client);
    let engine = Engine::new(
        Ports {
            crm: Arc::new(crm),
            ..h.engine.ports().clone()
        },
        h.engine.config().clone(),
    );
    let noted = h
        .store
        .insert(Trigger {
            id: TriggerId(0),
            account: h.account.id,
            name: "Note when sent".into(),
            action: Action::AddNote {
                text: "sent: {id}".into(),
            },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let fixture = StoreFixture {
        store: h.store.as_ref(),
        account: h.account.clone(),
        user: h.admin.clone(),
        mailbox: h.mailbox.clone(),
        now: h.now(),
    };
    let n = emails();
    let specs = (0..n)
        .map(|i| {
            let mut spec = fixture.email(&h.mailbox, "anna@example.com");
            spec.entity = Some(world.lead);
            spec.triggers = EmailTriggers {
                on_sent: vec![noted.id],
                ..EmailTriggers::default()
            };
            spec.message_id = format!("kommo{i}@faults.test");
            spec
        })
        .collect();
    h.store.enqueue(specs).await.expect("enqueue");

    let faults = [
        Fault::TooManyRequests { retry_after: 1 },
        Fault::TooManyRequestsHtml,
        Fault::Unauthorized,
        Fault::ServerError(500),
        Fault::ServerError(502),
        Fault::ServerError(504),
    ];
    let mut q = EmailQuery::account(h.account.id, 10_000);
    q.statuses = vec![EmailStatus::Sent];
    let (mut injected, mut expired) = (0, 0);
    for round in 0..(n * 20) {
        kommo.fail_next(faults[round % faults.len()].clone());
        injected += 1;
        slow.store(round % 4 == 1, Ordering::SeqCst);
        if round % 15 == 7 {
            kommo.advance(2 * 86_400); // the access token expires at Kommo
            expired += 1;
        }
        engine.run_due_timers().await.expect("timers");
        engine.worker_step().await.expect("worker step");
        h.clock.advance(Duration::from_secs(2));
        if h.store.list_emails(&q).await.expect("emails").len() == n && round > 12 {
            break;
        }
    }
    slow.store(false, Ordering::SeqCst);
    for _ in 0..10 {
        engine.run_due_timers().await.expect("timers");
        h.clock.advance(Duration::from_secs(2));
    }
    let sent = h.store.list_emails(&q).await.expect("emails");
    assert_eq!(sent.len(), n, "not every email was sent");
    let events = h
        .store
        .list_events(&EventQuery {
            account: h.account.id,
            email: None,
            entity: None,
            since: None,
            limit: 100_000,
        })
        .await
        .expect("events");
    let notes = kommo.notes(world.lead);
    let (mut applied, mut failed_visibly) = (0, 0);
    for email in &sent {
        let text = format!("sent: {}", email.id);
        let times = notes.iter().filter(|n| **n == text).count();
        assert!(
            times <= 1,
            "the trigger of email {} was applied {times} times",
            email.id
        );
        let failed = events
            .iter()
            .any(|e| e.event.email == Some(email.id) && matches!(e.event.kind, EventKind::TriggerFailed { .. }));
        assert!(
            times == 1 || failed,
            "email {}: its note was neither added nor recorded as failed",
            email.id
        );
        applied += times;
        failed_visibly += usize::from(times == 0);
    }
    let statuses: Vec<u16> = kommo.requests().iter().map(|r| r.status).collect();
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    assert!(
        count(429) >= 1 && count(401) >= 1 && count(500) + count(502) + count(504) >= 1,
        "{statuses:?}"
    );
    eprintln!(
        "faults: kommo {n} emails, {injected} faults injected (answered: 429 {}, 401 {}, 5xx {}), {expired} token \
         expiries, notes applied {applied}, failed visibly {failed_visibly}, applied twice 0",
        count(429),
        count(401),
        count(500) + count(502) + count(504)
    );
}
