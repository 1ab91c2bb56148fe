//! A deterministic simulation of the sending engine over the testkit (manual clock, memory store, capture
//! transport, script CRM): 1,000 mailboxes, 100,000 emails in 200 mailings (two mailings per mailbox on
//! 100 of them), single emails interleaved on every mailbox, scripted temporary and permanent failures, a
//! pause and a resume. From the recorded attempts it checks: no mailbox sends twice within its spacing; no
//! daily cap is exceeded; a single email waits at most one spacing; every email ends sent or failed exactly
//! once; each failed email fires its failed triggers once; the finish is within 2% of the ideal schedule.
//!
//! `MAILER_SIM_SCALE` (default 1.0) scales the number of emails down for quick local runs.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::disallowed_methods,
    reason = "test arithmetic on small counts, and the test reads its own scale switch"
)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use mailer_core::engine::{Draft, EngineConfig, MailingRequest, Ports};
use mailer_core::model::{
    Action, Body, CapWindow, Content, EmailQuery, EmailStatus, EmailTriggers, Entity, EntityRef, Mailbox, MailboxId,
    MailingStatus, RecipientRule, SendingLimits, Template, TemplateId, Timestamp, Trigger, TriggerId,
};
use mailer_core::ports::{
    Clock, Delivery, MailboxCheck, OutgoingMessage, SendError, SendErrorKind, Store, StoreExt, Transport, TransportCaps,
};
use mailer_core::queue::{RetryPolicy, expected_send_times};
use mailer_core::testkit::fixture::sample_mailbox;
use mailer_core::testkit::{CaptureTransport, Harness, ManualClock};

const MAILBOXES: usize = 1_000;
const MAILING_MAILBOXES: usize = 100;
const MAILINGS: usize = 200;
const CAPPED: usize = 10;

/// Wraps the capture transport to record the time of every attempt, failed ones included.
#[derive(Debug)]
struct Timed {
    inner: CaptureTransport,
    clock: Arc<ManualClock>,
    attempts: Mutex<Vec<(MailboxId, Timestamp, String, bool)>>,
}

#[async_trait]
impl Transport for Timed {
    fn capabilities(&self) -> TransportCaps {
        self.inner.capabilities()
    }
    async fn send(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        let result = self.inner.send(mailbox, message).await;
        let row = (mailbox.id, self.clock.now(), message.message_id.clone(), result.is_ok());
        self.attempts.lock().expect("lock").push(row);
        result
    }
    async fn append_sent(&self, mailbox: &Mailbox, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
        self.inner.append_sent(mailbox, message_id, raw).await
    }
    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        self.inner.verify(mailbox).await
    }
}

fn scale() -> f64 {
    std::env::var("MAILER_SIM_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_emails_keep_every_limit_and_finish_on_schedule() {
    let per_mailing = ((500.0 * scale()).round() as usize).max(2);
    // Capped mailboxes may send 60% of their 2 × per_mailing emails a day: the cap bites before midnight.
    let cap = (per_mailing as u32 * 6 / 5).max(1);
    // The clock starts 20 minutes before midnight UTC so calendar-day caps reset during the run.
    let h0 = Harness::new().await;
    let start = chrono::DateTime::parse_from_rfc3339("2026-01-05T23:40:00Z")
        .expect("time")
        .to_utc();
    h0.clock.set(start);
    let clock = h0.clock.clone();
    let timed = Arc::new(Timed {
        inner: CaptureTransport::new(),
        clock: clock.clone(),
        attempts: Mutex::new(Vec::new()),
    });
    let config = EngineConfig {
        claim_batch: 2_000,
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_secs(5),
            factor: 2.0,
            max_delay: Duration::from_secs(60),
            jitter: 0.2,
        },
        ..h0.engine.config().clone()
    };
    let ports = Ports {
        transport: timed.clone(),
        ..h0.engine.ports().clone()
    };
    let engine = mailer_core::engine::Engine::new(ports, config);
    let (store, crm, account, admin) = (h0.store.clone(), h0.crm.clone(), h0.account.id, h0.admin.id);

    let mut mailboxes = Vec::with_capacity(MAILBOXES);
    for i in 0..MAILBOXES {
        let limits = if i < CAPPED {
            SendingLimits {
                daily_cap: cap,
                window: CapWindow::CalendarDay,
                ..SendingLimits::default()
            }
        } else {
            SendingLimits::default()
        };
        mailboxes.push(
            store
                .insert(sample_mailbox(account, admin, limits))
                .await
                .expect("mailbox"),
        );
    }
    let failed_trigger = store
        .insert(Trigger {
            id: TriggerId(0),
            account,
            name: "Note on failure".into(),
            action: Action::AddNote {
                text: "failed {id}".into(),
            },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let template = store
        .insert(Template {
            id: TemplateId(0),
            account,
            name: "Offer".into(),
            recipients: RecipientRule::EntityContacts,
            content: Content {
                subject: "Offer for {{ lead.name }}".into(),
                body: Body::Html("<p>Hello {{ contact.name }}</p>".into()),
                text: None,
            },
            attachments: Vec::new(),
            triggers: EmailTriggers {
                on_failed: vec![failed_trigger.id],
                ..EmailTriggers::default()
            },
            owner: admin,
            public: false,
            signature_disabled: false,
        })
        .await
        .expect("template");

    // Leads with one contact each; every 97th address fails once (temporary), every 1,009th for good.
    let total_leads = per_mailing * MAILINGS;
    let mut permanent = HashSet::new();
    for i in 0..total_leads {
        let lead = EntityRef::lead(10_000_000 + i as i64);
        let contact = EntityRef::contact(20_000_000 + i as i64);
        let address = format!("c{i}@example.com");
        let mut c = Entity::new(contact, format!("Client {i}"));
        c.emails = vec![address.clone()];
        crm.put_entity(account, c);
        crm.put_entity(account, Entity::new(lead, format!("Lead {i}")));
        crm.link_contact(account, lead, contact.id);
        if i % 1_009 == 5 {
            timed
                .inner
                .fail_for(&address, SendErrorKind::InvalidAddress, Some(550), None);
            permanent.insert(lead);
        } else if i % 97 == 3 {
            timed
                .inner
                .fail_for(&address, SendErrorKind::Temporary, Some(451), Some(1));
        }
    }
    // Mailings 2k and 2k+1 share mailbox k (k < 100); the first ten mailboxes have a calendar-day cap.
    let mut mailing_ids = Vec::new();
    for m in 0..MAILINGS {
        let mailbox = &mailboxes[m / 2 % MAILING_MAILBOXES];
        let request = MailingRequest {
            account,
            sender: admin,
            mailbox: mailbox.id,
            template: template.id,
            name: format!("m{m}"),
        };
        let leads = (m * per_mailing..(m + 1) * per_mailing).map(|i| EntityRef::lead(10_000_000 + i as i64));
        mailing_ids.push(
            engine
                .start_mailing(&request, leads)
                .await
                .expect("start mailing")
                .mailing
                .id,
        );
    }

    // Run second by second; single emails arrive on every mailbox during the first half of the drain;
    // mailing 0 pauses for 100 s.
    let mut singles: HashMap<String, Timestamp> = HashMap::new();
    let horizon = 4 * per_mailing as u64 + 1_500;
    let mut idle = 0;
    for second in 0..horizon {
        if second % 7 == 0 && (second as usize) < per_mailing {
            let mb = &mailboxes[(second as usize * 37) % MAILBOXES];
            let draft = Draft {
                account,
                sender: admin,
                mailbox: mb.id,
                to: vec![format!("single{second}@example.com")],
                content: Some(Content {
                    subject: "Quick note".into(),
                    body: Body::Html("<p>hi</p>".into()),
                    text: None,
                }),
                ..Draft::default()
            };
            let spec = engine.compose(&draft).await.expect("compose single");
            singles.insert(spec.message_id.clone(), clock.now());
            store.enqueue(vec![spec]).await.expect("enqueue single");
        }
        if second == 100 {
            store
                .set_mailing_status(account, mailing_ids[0], MailingStatus::Paused)
                .await
                .expect("pause");
        }
        if second == 200 {
            store
                .set_mailing_status(account, mailing_ids[0], MailingStatus::Running)
                .await
                .expect("resume");
        }
        engine.run_due_timers().await.expect("timers");
        let step = engine.worker_step().await.expect("step");
        idle = if step.claimed == 0 { idle + 1 } else { 0 };
        if idle > 120 && second % 60 == 0 {
            let mut waiting = EmailQuery::account(account, 1);
            waiting.statuses = vec![EmailStatus::Queued, EmailStatus::Sending];
            if store.list_emails(&waiting).await.expect("waiting").is_empty() {
                break;
            }
        }
        clock.advance(Duration::from_secs(1));
    }

    // Every email ended sent or failed, once.
    let emails = store
        .list_emails(&EmailQuery::account(account, u32::MAX))
        .await
        .expect("emails");
    assert_eq!(emails.len(), total_leads + singles.len());
    let unfinished: Vec<_> = emails
        .iter()
        .filter(|e| !matches!(e.status, EmailStatus::Sent | EmailStatus::Failed))
        .map(|e| (e.id, e.status))
        .collect();
    assert!(
        unfinished.is_empty(),
        "{} emails did not finish: {:?}",
        unfinished.len(),
        &unfinished[..unfinished.len().min(5)]
    );
    let attempts = timed.attempts.lock().expect("lock").clone();
    let mut delivered: HashMap<&str, u32> = HashMap::new();
    for (_, _, id, ok) in &attempts {
        if *ok {
            *delivered.entry(id.as_str()).or_default() += 1;
        }
    }
    assert!(delivered.values().all(|n| *n == 1), "an email was delivered twice");
    let sent = emails.iter().filter(|e| e.status == EmailStatus::Sent).count();
    assert_eq!(delivered.len(), sent, "sent emails and deliveries differ");
    let failed: Vec<_> = emails.iter().filter(|e| e.status == EmailStatus::Failed).collect();
    assert_eq!(
        failed.len(),
        permanent.len(),
        "failed emails other than the permanent failures"
    );

    // Each failed email fired its failed trigger once.
    for email in &failed {
        let lead = email.spec.entity.expect("entity");
        let notes = crm.notes(account, lead);
        assert_eq!(
            notes,
            vec![format!("failed {}", email.id)],
            "failed triggers of {lead:?}"
        );
    }

    // Spacing and caps, per mailbox, from the attempts.
    let mut by_mailbox: HashMap<MailboxId, Vec<Timestamp>> = HashMap::new();
    for (mb, at, _, _) in &attempts {
        by_mailbox.entry(*mb).or_default().push(*at);
    }
    let limits: HashMap<MailboxId, SendingLimits> = mailboxes.iter().map(|m| (m.id, m.limits.clone())).collect();
    let mut ideal_finish = start;
    for (mb, times) in &mut by_mailbox {
        times.sort_unstable();
        let l = &limits[mb];
        for pair in times.windows(2) {
            assert!(
                pair[1] - pair[0] >= chrono::Duration::from_std(l.spacing).expect("spacing"),
                "mailbox {mb} sent within its spacing"
            );
        }
        let mut per_day: HashMap<chrono::NaiveDate, u32> = HashMap::new();
        for t in times.iter() {
            *per_day.entry(t.date_naive()).or_default() += 1;
        }
        if l.window == CapWindow::CalendarDay {
            assert!(
                per_day.values().all(|n| *n <= l.daily_cap),
                "mailbox {mb} exceeded its cap: {per_day:?}"
            );
        } else {
            assert!(times.len() <= l.daily_cap as usize, "mailbox {mb} exceeded its cap");
        }
        let ideal = expected_send_times(l, mailer_core::model::Timezone::UTC, None, &[], start, times.len());
        if let Some(last) = ideal.last() {
            ideal_finish = ideal_finish.max(*last);
        }
    }

    // A single email waits at most one spacing.
    for (mb, at, id, _) in &attempts {
        if let Some(created) = singles.get(id) {
            let waited = *at - *created;
            assert!(
                waited <= chrono::Duration::from_std(limits[mb].spacing).expect("spacing"),
                "single email {id} waited {waited}"
            );
        }
    }

    // The finish is within 2% of the ideal schedule.
    let finish = attempts.iter().map(|a| a.1).max().expect("attempts");
    let actual = (finish - start).num_seconds() as f64;
    let ideal = (ideal_finish - start).num_seconds() as f64;
    eprintln!(
        "simulation: {} emails, {} attempts, finish {actual} s, ideal {ideal} s",
        emails.len(),
        attempts.len()
    );
    assert!(actual <= ideal * 1.02 + 1.0, "finished at {actual} s, ideal {ideal} s");
}
