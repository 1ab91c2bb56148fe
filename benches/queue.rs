//! Queue benchmarks.
//!
//! - group `schedule`, function `mailer`: queue-policy decisions (`queue::next_allowed`: spacing, per-minute
//!   and daily caps) for 1,000 mailboxes with a day of send history each; throughput in decisions.
//! - group `worker_step`, function `mailer`: the full worker step over the memory store with limits lifted —
//!   claim 100 emails (100 mailboxes), read the CRM, render, send through the capture transport, complete,
//!   record events; throughput in messages.
//!
//! Run with `cargo bench --bench queue --features testkit`.

use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use mailer::engine::{Draft, EngineConfig};
use mailer::model::{Body, CapWindow, Content, SendingLimits, Timestamp, Timezone};
use mailer::ports::{Store, StoreExt};
use mailer::queue::next_allowed;
use mailer::testkit::fixture::sample_mailbox;
use mailer::testkit::{Harness, default_start};

fn schedule(c: &mut Criterion) {
    let now = default_start();
    let mailboxes: Vec<(SendingLimits, Vec<Timestamp>, Option<Timestamp>)> = (0..1_000)
        .map(|i: i64| {
            let limits = match i % 3 {
                0 => SendingLimits::default(),
                1 => SendingLimits {
                    per_minute_cap: Some(30),
                    daily_cap: 10_000,
                    ..SendingLimits::default()
                },
                _ => SendingLimits {
                    window: CapWindow::CalendarDay,
                    daily_cap: 500,
                    ..SendingLimits::default()
                },
            };
            let sends: Vec<Timestamp> = (0..(i % 7) * 100)
                .map(|k| now - chrono::Duration::seconds(86_000 - k * 120))
                .collect();
            (limits, sends, Some(now + chrono::Duration::milliseconds(i % 1_500)))
        })
        .collect();
    let mut group = c.benchmark_group("schedule");
    group.throughput(Throughput::Elements(mailboxes.len() as u64));
    group.bench_function("mailer", |b| {
        b.iter(|| {
            let mut ready = 0u32;
            for (limits, sends, next) in &mailboxes {
                if next_allowed(limits, Timezone::UTC, *next, sends, now) <= now {
                    ready += 1;
                }
            }
            std::hint::black_box(ready)
        });
    });
    group.finish();
}

fn worker_step(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let lifted = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: u32::MAX,
        window: CapWindow::Rolling24h,
        per_minute_cap: None,
    };
    let config = EngineConfig {
        claim_batch: 100,
        ..EngineConfig::default()
    };
    let (h, mailboxes) = rt.block_on(async {
        let h = Harness::with(config, lifted.clone()).await;
        let mut mailboxes = vec![h.mailbox.clone()];
        for _ in 1..100 {
            mailboxes.push(
                h.store
                    .insert(sample_mailbox(h.account.id, h.admin.id, lifted.clone()))
                    .await
                    .expect("mailbox"),
            );
        }
        (h, mailboxes)
    });
    let content = Content {
        subject: "Offer for {{ lead.name }}".into(),
        body: Body::Html(
            "<p>Hello {{ contact.name }}, your budget is {{ lead.price }}.</p><p>{{ company.name }}</p>".into(),
        ),
        text: None,
    };
    let mut group = c.benchmark_group("worker_step");
    group.throughput(Throughput::Elements(100));
    group.bench_function("mailer", |b| {
        b.iter_batched(
            || {
                rt.block_on(async {
                    let mut specs = Vec::with_capacity(100);
                    for mb in &mailboxes {
                        let draft = Draft {
                            account: h.account.id,
                            sender: h.admin.id,
                            mailbox: mb.id,
                            entity: Some(h.world.lead),
                            to_entity_contacts: Some(true),
                            content: Some(content.clone()),
                            ..Draft::default()
                        };
                        specs.push(h.engine.compose(&draft).await.expect("compose"));
                    }
                    h.store.enqueue(specs).await.expect("enqueue");
                })
            },
            |()| {
                let report = rt.block_on(h.engine.worker_step()).expect("step");
                assert_eq!(report.sent, 100);
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(benches, schedule, worker_step);
criterion_main!(benches);
