//! SMTP throughput of `mailer_smtp::SmtpTransport`: 10,000 prepared messages of about 20 KB sent from 20
//! mailboxes at once (500 each, one pooled connection per mailbox) to Postfix's `smtp-sink` on loopback.
//! Each criterion iteration is one whole run of 10,000 sends, MIME building included.
//!
//! Run with `benches/smtp_throughput.sh`, which starts the sink, runs this bench and Postfix's
//! `smtp-source` with the same count, size and concurrency against it, and prints the ratio. By hand:
//! `MAILER_BENCH_SMTP_SINK=127.0.0.1:32625 cargo bench --features smtp --bench smtp_throughput`.
//! Without `MAILER_BENCH_SMTP_SINK` it prints a note and measures nothing.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use mailer::model::{AccountId, Address, Mailbox, MailboxId, Secret, Security, SendingLimits, ServerSettings, UserId};
use mailer::ports::{OutgoingMessage, Transport};
use mailer::smtp::SmtpTransport;

const MESSAGES: usize = 10_000;
const MAILBOXES: usize = 20;

fn mailbox(i: usize, host: &str, port: u16) -> Mailbox {
    Mailbox {
        id: MailboxId(i64::try_from(i).unwrap_or(i64::MAX)),
        account: AccountId(1),
        owner: UserId(1),
        from: Address {
            name: Some(format!("Sender {i}")),
            email: format!("sender{i}@bench.test"),
        },
        smtp: ServerSettings {
            host: host.to_owned(),
            port,
            security: Security::Plain,
        },
        imap: None,
        login: String::new(),
        password: Secret::new(""),
        sent_folder: None,
        limits: SendingLimits::default(),
        timezone: mailer::model::Timezone::UTC,
        health: None,
    }
}

/// About 20 KB on the wire: an 8 KB text part and a 12 KB HTML part of plain ASCII lines.
fn message(from: &Address, n: usize) -> OutgoingMessage {
    let line = |i: usize| format!("Line {i:04} of the offer for lead {n}: prices, terms and a link to the page.\n");
    let text: String = (0..110).map(line).collect();
    let html: String = (0..150).map(|i| format!("<p>{}</p>", line(i).trim_end())).collect();
    OutgoingMessage {
        message_id: format!("bench.{n}@bench.test"),
        date: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default(),
        from: from.clone(),
        reply_to: None,
        to: vec![Address {
            name: Some(format!("Client {n}")),
            email: format!("client{n}@example.test"),
        }],
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: format!("Offer #{n}"),
        html,
        text,
        attachments: Vec::new(),
        unsubscribe_url: Some(format!("https://t.bench.test/u/{n}")),
    }
}

fn smtp_throughput(c: &mut Criterion) {
    let Ok(sink) = std::env::var("MAILER_BENCH_SMTP_SINK") else {
        eprintln!("smtp_throughput: MAILER_BENCH_SMTP_SINK is not set; run benches/smtp_throughput.sh");
        return;
    };
    let Some((host, port)) = sink
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse().ok()?)))
    else {
        eprintln!("smtp_throughput: MAILER_BENCH_SMTP_SINK must be host:port, not {sink:?}");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let transport = Arc::new(
        SmtpTransport::builder()
            .pool_max_size(1)
            .hello_name("bench.test")
            .build()
            .expect("transport"),
    );
    let per_mailbox = MESSAGES / MAILBOXES;
    let work: Arc<Vec<(Mailbox, Vec<OutgoingMessage>)>> = Arc::new(
        (0..MAILBOXES)
            .map(|i| {
                let mailbox = mailbox(i, &host, port);
                let messages = (0..per_mailbox)
                    .map(|j| message(&mailbox.from, i * per_mailbox + j))
                    .collect();
                (mailbox, messages)
            })
            .collect(),
    );
    let size = transport.wire(&work[0].1[0]).expect("wire").bytes.len();
    eprintln!("smtp_throughput: {MESSAGES} messages of {size} bytes from {MAILBOXES} mailboxes to {sink}");

    let run = |transport: Arc<SmtpTransport>, work: Arc<Vec<(Mailbox, Vec<OutgoingMessage>)>>| async move {
        let tasks: Vec<_> = (0..work.len())
            .map(|i| {
                let transport = Arc::clone(&transport);
                let work = Arc::clone(&work);
                tokio::spawn(async move {
                    let (mailbox, messages) = &work[i];
                    for message in messages {
                        transport.send(mailbox, message).await.expect("send");
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("sender task");
        }
    };

    let mut group = c.benchmark_group("smtp");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("send_10000x20KB_from_20_mailboxes", |b| {
        b.iter_custom(|iters| {
            runtime.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    run(Arc::clone(&transport), Arc::clone(&work)).await;
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, smtp_throughput);
criterion_main!(benches);
