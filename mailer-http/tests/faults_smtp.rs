//! Fault suite, SMTP: a mailing through the real `SmtpTransport` to a scripted SMTP server that answers each
//! recipient with a fault: 421 and 450 at RCPT and 451 after DATA (once, then accepted: retried and sent),
//! 550 5.1.1 and 554 5.7.1 (failed, classified as the manual's "invalid address" and "rejected as spam"),
//! the connection dropped in the middle of DATA and a server that stalls past the timeout (once, then sent).
//! Every email ends right, each accepted email was accepted once, the failed trigger ran once per failed
//! email, and the healthy emails of the same mailbox went on.
//!
//! Then IMAP down during sends (a proxy in front of the test Dovecot that drops every connection): every
//! email is sent, its Sent copy fails and is recorded, and once IMAP is back the retry timers put exactly one
//! copy of each in the Sent folder.
//!
//! Short form (CI): 5 emails of each kind (40), 10 with IMAP down. Long form (`MAILER_FAULTS_LONG=1`): 50 of
//! each (400), 100 with IMAP down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailer_core::engine::{Engine, Ports};
use mailer_core::model::{
    Action, Address, Body, Content, EmailQuery, EmailStatus, EmailTriggers, EventKind, EventQuery, Secret, Security,
    SendingLimits, ServerSettings, Trigger, TriggerId,
};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::testkit::fixture::sample_mailbox;
use mailer_core::testkit::{Harness, StoreFixture};
use mailer_smtp::SmtpTransport;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// The faults, by the recipient's local part prefix, and how each email must end.
const KINDS: &[(&str, EmailStatus, Option<&str>)] = &[
    ("ok", EmailStatus::Sent, None),
    ("r421", EmailStatus::Sent, None),
    ("r450", EmailStatus::Sent, None),
    ("d451", EmailStatus::Sent, None),
    ("drop", EmailStatus::Sent, None),
    ("stall", EmailStatus::Sent, None),
    ("f550", EmailStatus::Failed, Some("InvalidAddress")),
    ("f554", EmailStatus::Failed, Some("RejectedAsSpam")),
];

#[derive(Debug, Default)]
struct Script {
    /// Attempts seen per recipient (RCPT commands).
    attempts: HashMap<String, u32>,
    /// Messages accepted with 250 after DATA, per recipient.
    accepted: HashMap<String, u32>,
}

/// The scripted server: transient faults hit a recipient's first attempt only; 550/554 every attempt.
async fn scripted_smtp(stall: Duration) -> (u16, Arc<Mutex<Script>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let script = Arc::new(Mutex::new(Script::default()));
    let shared = Arc::clone(&script);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let script = Arc::clone(&shared);
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                if write.write_all(b"220 scripted.test ESMTP\r\n").await.is_err() {
                    return;
                }
                let mut rcpt = String::new();
                let mut first = false;
                let mut in_data = false;
                let mut data_lines = 0;
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        data_lines += 1;
                        if rcpt.starts_with("drop") && first && data_lines == 3 {
                            return; // the connection drops in the middle of DATA
                        }
                        if line == "." {
                            in_data = false;
                            let answer: &[u8] = if rcpt.starts_with("d451") && first {
                                b"451 4.3.0 local error in processing\r\n"
                            } else if rcpt.starts_with("f554") {
                                b"554 5.7.1 message rejected as spam\r\n"
                            } else {
                                *script.lock().expect("script").accepted.entry(rcpt.clone()).or_default() += 1;
                                b"250 2.0.0 queued\r\n"
                            };
                            if write.write_all(answer).await.is_err() {
                                return;
                            }
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
                    let answer: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-scripted.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
                        "AUTH" => b"235 2.7.0 ok\r\n",
                        "RCPT" => {
                            rcpt = line.split(['<', '>']).nth(1).unwrap_or_default().to_ascii_lowercase();
                            let n = {
                                let mut s = script.lock().expect("script");
                                let n = s.attempts.entry(rcpt.clone()).or_default();
                                *n += 1;
                                *n
                            };
                            first = n == 1;
                            if rcpt.starts_with("stall") && first {
                                tokio::time::sleep(stall).await;
                                return;
                            }
                            if rcpt.starts_with("r421") && first {
                                b"421 4.3.2 service not available\r\n"
                            } else if rcpt.starts_with("r450") && first {
                                b"450 4.2.1 mailbox busy, try later\r\n"
                            } else if rcpt.starts_with("f550") {
                                b"550 5.1.1 no such user\r\n"
                            } else {
                                b"250 2.1.5 ok\r\n"
                            }
                        }
                        "DATA" => {
                            in_data = true;
                            data_lines = 0;
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
                    if answer.starts_with(b"421") {
                        return; // 421 closes the connection
                    }
                }
            });
        }
    });
    (port, script)
}

fn per_kind() -> usize {
    if std::env::var("MAILER_FAULTS_LONG").is_ok_and(|v| v == "1") {
        50
    } else {
        5
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_faults_during_a_mailing_are_retried_or_failed_and_classified_and_failed_triggers_run_once() {
    let h = Harness::new().await;
    let (port, script) = scripted_smtp(Duration::from_secs(3)).await;
    let mut mailbox = sample_mailbox(
        h.account.id,
        h.admin.id,
        SendingLimits {
            spacing: Duration::from_millis(1),
            daily_cap: 100_000,
            ..SendingLimits::default()
        },
    );
    mailbox.smtp = ServerSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
    };
    mailbox.imap = None;
    let mailbox = h.store.insert(mailbox).await.expect("mailbox");
    let failed = h
        .store
        .insert(Trigger {
            id: TriggerId(0),
            account: h.account.id,
            name: "Note on failure".into(),
            action: Action::AddNote {
                text: "failed: {id}".into(),
            },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let fixture = StoreFixture {
        store: h.store.as_ref(),
        account: h.account.clone(),
        user: h.admin.clone(),
        mailbox: mailbox.clone(),
        now: h.now(),
    };
    let n = per_kind();
    let mut specs = Vec::new();
    for (i, (kind, _, _)) in KINDS.iter().cycle().take(n * KINDS.len()).enumerate() {
        let mut spec = fixture.email(&mailbox, &format!("{kind}-{i}@example.com"));
        spec.entity = Some(h.world.lead);
        spec.content = Content {
            subject: format!("Fault {i}"),
            body: Body::Html(format!("<p>email {i}</p>")),
            text: None,
        };
        spec.triggers = EmailTriggers {
            on_failed: vec![failed.id],
            ..EmailTriggers::default()
        };
        spec.message_id = format!("s{i}@faults.test");
        spec.to = vec![Address::new(&format!("{kind}-{i}@example.com")).expect("address")];
        specs.push(spec);
    }
    let total = specs.len();
    h.store.enqueue(specs).await.expect("enqueue");

    let transport = SmtpTransport::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .expect("transport");
    let ports = Ports {
        transport: Arc::new(transport),
        ..h.engine.ports().clone()
    };
    let engine = Engine::new(ports, h.engine.config().clone());
    let mut q = EmailQuery::account(h.account.id, u32::try_from(total + 10).expect("small"));
    q.statuses = vec![EmailStatus::Sent, EmailStatus::Failed];
    for _ in 0..2_000 {
        engine.run_due_timers().await.expect("timers");
        engine.worker_step().await.expect("worker step");
        h.clock.advance(Duration::from_secs(30));
        if h.store.list_emails(&q).await.expect("emails").len() == total {
            break;
        }
    }
    // The failed triggers' timers.
    for _ in 0..5 {
        engine.run_due_timers().await.expect("timers");
        h.clock.advance(Duration::from_secs(30));
    }

    let all = h
        .store
        .list_emails(&EmailQuery::account(
            h.account.id,
            u32::try_from(total + 10).expect("small"),
        ))
        .await
        .expect("emails");
    let script = script.lock().expect("script");
    let mut failed_ids = Vec::new();
    for email in all.iter().filter(|e| e.spec.mailbox == mailbox.id) {
        let to = email.spec.to[0].email.to_ascii_lowercase();
        let (kind, status, class) = KINDS
            .iter()
            .find(|(k, _, _)| to.starts_with(k))
            .expect("a scripted recipient");
        assert_eq!(email.status, *status, "{to}: {:?} {:?}", email.status, email.last_error);
        match class {
            Some(class) => {
                let error = email.last_error.clone().unwrap_or_default();
                assert!(error.contains(class), "{to}: {error}");
                assert_eq!(script.accepted.get(&to), None, "{to} was accepted");
                failed_ids.push(email.id);
            }
            None => {
                assert_eq!(
                    script.accepted.get(&to),
                    Some(&1),
                    "{to} accepted {:?} times",
                    script.accepted.get(&to)
                );
                if *kind != "ok" {
                    assert!(
                        email.attempts >= 2,
                        "{to}: the fault did not hit ({} attempts)",
                        email.attempts
                    );
                }
            }
        }
    }
    assert_eq!(failed_ids.len(), 2 * n, "failed emails");
    let notes = h.crm.notes(h.account.id, h.world.lead);
    for id in &failed_ids {
        let text = format!("failed: {id}");
        assert_eq!(
            notes.iter().filter(|n| **n == text).count(),
            1,
            "the failed trigger of email {id} ran other than once: {notes:?}"
        );
    }
    assert_eq!(notes.len(), failed_ids.len(), "{notes:?}");
    eprintln!(
        "faults: smtp {total} emails, {} failed as classified, {} retried and sent once, notes {}",
        failed_ids.len(),
        total - failed_ids.len() - n,
        notes.len()
    );
}

/// A TCP proxy to `upstream` that, while `up` is false, accepts and drops every connection; counts the
/// connections it forwarded.
async fn switchable_proxy(upstream: String) -> (u16, Arc<AtomicBool>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let up = Arc::new(AtomicBool::new(false));
    let forwarded = Arc::new(AtomicUsize::new(0));
    let (is_up, count) = (Arc::clone(&up), Arc::clone(&forwarded));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            if !is_up.load(Ordering::SeqCst) {
                drop(socket);
                continue;
            }
            count.fetch_add(1, Ordering::SeqCst);
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut socket, &mut server).await;
                }
            });
        }
    });
    (port, up, forwarded)
}

fn sent_copies(mail_dir: &str, user: &str, message_id: &str) -> usize {
    let dir = std::path::Path::new(mail_dir).join(user).join(".Sent");
    let needle = format!("message-id: <{}>", message_id.to_ascii_lowercase());
    ["cur", "new"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten())
        .filter(|entry| {
            std::fs::read(entry.path())
                .map(|b| String::from_utf8_lossy(&b).to_ascii_lowercase().contains(&needle))
                .unwrap_or(false)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_imap_down_every_email_is_sent_and_its_sent_copy_is_made_once_later() {
    let (Ok(imap), Ok(user), Ok(pass), Ok(mail_dir)) = (
        std::env::var("MAILER_TEST_IMAP"),
        std::env::var("MAILER_TEST_MAIL_USER"),
        std::env::var("MAILER_TEST_MAIL_PASS"),
        std::env::var("MAILER_TEST_MAIL_DIR"),
    ) else {
        mailer_core::testkit::skip("MAILER_TEST_IMAP (Dovecot) is not set");
        return;
    };
    let h = Harness::new().await;
    let (smtp_port, script) = scripted_smtp(Duration::from_secs(3)).await;
    let (imap_port, imap_up, forwarded) = switchable_proxy(imap).await;
    let mut mailbox = sample_mailbox(
        h.account.id,
        h.admin.id,
        SendingLimits {
            spacing: Duration::from_millis(1),
            daily_cap: 100_000,
            ..SendingLimits::default()
        },
    );
    mailbox.smtp = ServerSettings {
        host: "127.0.0.1".into(),
        port: smtp_port,
        security: Security::Plain,
    };
    mailbox.imap = Some(ServerSettings {
        host: "127.0.0.1".into(),
        port: imap_port,
        security: Security::Plain,
    });
    mailbox.login = user.clone();
    mailbox.password = Secret::new(pass);
    let mailbox = h.store.insert(mailbox).await.expect("mailbox");
    let fixture = StoreFixture {
        store: h.store.as_ref(),
        account: h.account.clone(),
        user: h.admin.clone(),
        mailbox: mailbox.clone(),
        now: h.now(),
    };
    let n = per_kind() * 2;
    let run = format!("{}-{}", std::process::id(), h.now().timestamp_subsec_nanos());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let ids: Vec<String> = (0..n).map(|i| format!("imap{i}.{run}.{stamp}@faults.test")).collect();
    let specs = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut spec = fixture.email(&mailbox, &format!("ok-imap-{i}@example.com"));
            spec.message_id = id.clone();
            spec
        })
        .collect();
    h.store.enqueue(specs).await.expect("enqueue");
    let transport = SmtpTransport::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("transport");
    let ports = Ports {
        transport: Arc::new(transport),
        ..h.engine.ports().clone()
    };
    let engine = Engine::new(ports, h.engine.config().clone());
    let mut q = EmailQuery::account(h.account.id, 10_000);
    q.statuses = vec![EmailStatus::Sent];
    for _ in 0..(n * 4) {
        engine.worker_step().await.expect("worker step");
        h.clock.advance(Duration::from_secs(1));
        if h.store.list_emails(&q).await.expect("emails").len() == n {
            break;
        }
    }
    assert_eq!(
        h.store.list_emails(&q).await.expect("emails").len(),
        n,
        "not every email was sent"
    );
    let events = h
        .store
        .list_events(&EventQuery {
            account: h.account.id,
            email: None,
            entity: None,
            since: None,
            limit: 10_000,
        })
        .await
        .expect("events");
    let copy_failures = events
        .iter()
        .filter(|e| matches!(e.event.kind, EventKind::SentCopyFailed { .. }))
        .count();
    assert_eq!(copy_failures, n, "each failed Sent copy is recorded");
    assert_eq!(forwarded.load(Ordering::SeqCst), 0);
    for id in &ids {
        assert_eq!(sent_copies(&mail_dir, &user, id), 0);
    }

    imap_up.store(true, Ordering::SeqCst);
    let mut retried = 0;
    for _ in 0..20 {
        h.clock.advance(h.engine.config().sent_copy_retry);
        retried += engine.run_due_timers().await.expect("timers");
    }
    assert_eq!(retried, u32::try_from(n).expect("small"), "copy retries");
    for id in &ids {
        assert_eq!(sent_copies(&mail_dir, &user, id), 1, "Sent copies of {id}");
    }
    let accepted = script.lock().expect("script").accepted.clone();
    assert_eq!(accepted.len(), n);
    assert!(
        accepted.values().all(|c| *c == 1),
        "an email was sent twice: {accepted:?}"
    );
    eprintln!("faults: imap down, {n} emails sent, {n} Sent copies failed then made once each");
}
