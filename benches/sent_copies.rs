//! Copies to Sent per second over IMAP to the test Dovecot, with and without the session pool, in one run:
//! `sent_copies/login_per_copy` (`imap_pool_max_size(0)`: each copy connects, STARTTLS, logs in, LISTs the
//! folders, APPENDs and logs out, as before the pool) and `sent_copies/pooled` (the default transport: the
//! mailbox's session is kept and a copy is one APPEND). Each iteration appends 50 messages of about 4 KB
//! one after the other from one mailbox; criterion reports copies per second.
//!
//! Run with `eval "$(scripts/test-services.sh)"; CARGO_TARGET_DIR=/work/target-release cargo bench
//! --features smtp --bench sent_copies`. It appends to the folder "Bench Copies" of
//! `MAILER_TEST_MAIL_USER_NOSPECIAL` and deletes that folder's maildir before and after. Without the mail
//! services it prints a note and measures nothing.

use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mailer::model::{AccountId, Address, Mailbox, MailboxId, Secret, Security, SendingLimits, ServerSettings, UserId};
use mailer::ports::{OutgoingMessage, Transport};
use mailer::smtp::SmtpTransport;

const COPIES: usize = 50;
const FOLDER: &str = "Bench Copies";

struct Services {
    imap: ServerSettings,
    user: String,
    password: String,
    cert: Vec<u8>,
    maildir: PathBuf,
}

fn services() -> Option<Services> {
    let imap = std::env::var("MAILER_TEST_IMAP").ok()?;
    let (host, port) = imap.rsplit_once(':')?;
    let user = std::env::var("MAILER_TEST_MAIL_USER_NOSPECIAL").ok()?;
    let maildir = PathBuf::from(std::env::var("MAILER_TEST_MAIL_DIR").ok()?)
        .join(&user)
        .join(format!(".{FOLDER}"));
    Some(Services {
        imap: ServerSettings {
            host: host.to_owned(),
            port: port.parse().ok()?,
            security: Security::StartTls,
        },
        password: std::env::var("MAILER_TEST_MAIL_PASS").ok()?,
        cert: std::fs::read(std::env::var("MAILER_TEST_TLS_CERT").ok()?).ok()?,
        user,
        maildir,
    })
}

fn mailbox(s: &Services) -> Mailbox {
    Mailbox {
        id: MailboxId(1),
        account: AccountId(1),
        owner: UserId(1),
        from: Address {
            name: Some("Bench Sender".into()),
            email: s.user.clone(),
        },
        smtp: ServerSettings {
            host: "127.0.0.1".into(),
            port: 9,
            security: Security::Plain,
        },
        imap: Some(s.imap.clone()),
        login: s.user.clone(),
        password: Secret::new(s.password.clone()),
        sent_folder: Some(FOLDER.into()),
        limits: SendingLimits::default(),
        timezone: mailer::model::Timezone::UTC,
        health: None,
    }
}

/// About 4 KB on the wire: a text and an HTML part.
fn message(from: &Address, n: usize) -> OutgoingMessage {
    let line = |i: usize| format!("Line {i:02} of the offer for lead {n}: prices, terms and a link.\n");
    let text: String = (0..25).map(line).collect();
    let html: String = (0..25).map(|i| format!("<p>{}</p>", line(i).trim_end())).collect();
    OutgoingMessage {
        message_id: format!("copy.{n}@bench.test"),
        date: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default(),
        from: from.clone(),
        reply_to: None,
        to: vec![Address {
            name: None,
            email: format!("client{n}@example.test"),
        }],
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: format!("Offer #{n}"),
        html,
        text,
        attachments: Vec::new(),
        unsubscribe_url: None,
    }
}

fn transport(s: &Services, sessions: u32) -> Option<SmtpTransport> {
    SmtpTransport::builder()
        .timeout(Duration::from_secs(20))
        .imap_pool_max_size(sessions)
        .add_root_certificate_pem(&s.cert)
        .ok()?
        .build()
        .ok()
}

fn sent_copies(c: &mut Criterion) {
    let Some(s) = services() else {
        eprintln!("sent_copies: the mail services are not running: eval \"$(scripts/test-services.sh)\"");
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        eprintln!("sent_copies: no tokio runtime");
        return;
    };
    let _ = std::fs::remove_dir_all(&s.maildir);
    let mailbox = mailbox(&s);
    let raws: Vec<(String, Vec<u8>)> = (0..COPIES)
        .filter_map(|n| {
            let msg = message(&mailbox.from, n);
            let raw = SmtpTransport::builder().build().ok()?.wire(&msg).ok()?.bytes;
            Some((msg.message_id, raw))
        })
        .collect();
    let mut group = c.benchmark_group("sent_copies");
    group.sample_size(10);
    group.throughput(Throughput::Elements(COPIES as u64));
    for (name, sessions) in [("login_per_copy", 0), ("pooled", 2)] {
        let Some(transport) = transport(&s, sessions) else {
            eprintln!("sent_copies: the transport cannot be built");
            return;
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    for (id, raw) in &raws {
                        if let Err(e) = transport.append_sent(&mailbox, id, raw).await {
                            panic!("sent_copies: copy failed: {e}");
                        }
                    }
                });
            });
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&s.maildir);
}

criterion_group!(benches, sent_copies);
criterion_main!(benches);
