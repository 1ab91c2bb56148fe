//! Mailings read Kommo in batches: the engine reads the records of a mailing's next emails ahead, 250 per
//! request, so that a mailing from 10 mailboxes at 1 email/s each sends 10 emails per second while the fake
//! Kommo (which counts) never sees more than 7 requests in a second, and each email is rendered with its own
//! lead's data. The `--ignored` test is the measurement behind `benches/crm_calls.sh` (10,000 leads).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mailer_core::engine::{Engine, EngineConfig, MailingRequest, Ports};
use mailer_core::model::{
    Body, Content, EmailTriggers, EntityKind, EntityRef, Mailbox, NewAccount, RecipientRule, Secret, SendingLimits,
    Template, TemplateId, Timezone,
};
use mailer_core::ports::{Clock, Store, StoreExt};
use mailer_core::testkit::fixture::{sample_mailbox, sample_user};
use mailer_core::testkit::{CaptureTransport, ManualClock, MemoryStore, StaticFetcher};
use mailer_kommo::fake::FakeKommo;
use mailer_kommo::{KommoClient, KommoCrm, MemoryTokenStore};
use serde_json::json;

struct Setup {
    kommo: FakeKommo,
    engine: Engine,
    transport: Arc<CaptureTransport>,
    clock: Arc<ManualClock>,
    /// Per mailbox, the leads of its mailing.
    leads: Vec<Vec<EntityRef>>,
}

/// A fake Kommo with `mailboxes × per_mailbox` leads, each with a contact that has an email; an engine over
/// the memory store and the capture transport reading that Kommo; one mailing per mailbox.
async fn setup(mailboxes: usize, per_mailbox: usize, limits: SendingLimits) -> Setup {
    let kommo = FakeKommo::start().await.expect("start the fake");
    let (email_field, _) = kommo.add_field(EntityKind::Contact, "Email", "multitext", Some("EMAIL"), &[]);
    let mut leads = Vec::with_capacity(mailboxes);
    for m in 0..mailboxes {
        let mut mine = Vec::with_capacity(per_mailbox);
        for i in 0..per_mailbox {
            let lead = kommo.add_entity(EntityKind::Lead, &format!("Deal {m}-{i}"));
            let contact = kommo.add_entity(EntityKind::Contact, &format!("Person {m}-{i}"));
            kommo.write(
                contact,
                &json!({ "custom_fields_values": [{ "field_id": email_field, "values": [{ "value": format!("p{m}-{i}@x.test") }] }] }),
            );
            kommo.link_contact(lead, contact);
            mine.push(lead);
        }
        leads.push(mine);
    }

    let store = Arc::new(MemoryStore::new());
    let account = store
        .create_account(NewAccount {
            name: "acme".into(),
            timezone: Timezone::UTC,
            signing_key_ref: "k1".into(),
        })
        .await
        .expect("account");
    let tokens = Arc::new(MemoryTokenStore::with(account.id, kommo.issue_tokens()));
    let client = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), tokens, account.id)
        .with_retry(support::quick_retry())
        .build()
        .expect("client");
    let crm = Arc::new(KommoCrm::new());
    crm.add_account(account.id, client);
    let transport = Arc::new(CaptureTransport::new());
    let clock = Arc::new(ManualClock::at_default_start());
    let mut config = EngineConfig {
        claim_batch: 200,
        tracking_base_url: "https://t.example.com".into(),
        ..EngineConfig::default()
    };
    config
        .signing_keys
        .insert("k1".into(), Secret::new("test-signing-key-0123456789"));
    let engine = Engine::new(
        Ports {
            store: store.clone(),
            transport: transport.clone(),
            crm,
            clock: clock.clone(),
            fetcher: Arc::new(StaticFetcher::default()),
        },
        config,
    );
    let admin = store.insert(sample_user(account.id)).await.expect("admin");
    let template = engine
        .save_template(
            admin.id,
            Template {
                id: TemplateId(0),
                account: account.id,
                name: "Offer".into(),
                recipients: RecipientRule::EntityContacts,
                content: Content {
                    subject: "Offer for {{ lead.name }}".into(),
                    body: Body::Html("<p>Hello {{ contact.name }}, about {{ lead.name }}.</p>".into()),
                    text: None,
                },
                attachments: Vec::new(),
                triggers: EmailTriggers::default(),
                owner: admin.id,
                public: false,
                signature_disabled: true,
            },
        )
        .await
        .expect("template");
    for (m, mine) in leads.iter().enumerate() {
        let mailbox: Mailbox = store
            .insert(sample_mailbox(account.id, admin.id, limits.clone()))
            .await
            .expect("mailbox");
        let request = MailingRequest {
            account: account.id,
            sender: admin.id,
            mailbox: mailbox.id,
            template: template.id,
            name: format!("Spring {m}"),
        };
        engine
            .start_mailing(&request, mine.iter().copied())
            .await
            .expect("start mailing");
    }
    Setup {
        kommo,
        engine,
        transport,
        clock,
        leads,
    }
}

/// Requests the fake answered for reading entities (leads, contacts, companies, users), not the account's
/// one-off reads (timezone, field definitions) that the client keeps.
fn entity_reads(kommo: &FakeKommo) -> usize {
    kommo
        .requests()
        .iter()
        .filter(|r| {
            [
                "/api/v4/leads",
                "/api/v4/contacts",
                "/api/v4/companies",
                "/api/v4/users",
            ]
            .iter()
            .any(|p| r.path.starts_with(p) && !r.path.ends_with("/custom_fields"))
        })
        .count()
}

/// Every email went to its own lead's contact, with that lead's name in the subject.
fn assert_personal(s: &Setup) {
    let sent = s.transport.sent();
    let mut subjects: Vec<(String, String)> = sent
        .iter()
        .map(|c| (c.message.to[0].email.clone(), c.message.subject.clone()))
        .collect();
    subjects.sort();
    let mut expected: Vec<(String, String)> = (0..s.leads.len())
        .flat_map(|m| {
            (0..s.leads[m].len()).map(move |i| (format!("p{m}-{i}@x.test"), format!("Offer for Deal {m}-{i}")))
        })
        .collect();
    expected.sort();
    assert_eq!(subjects, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mailboxes_send_ten_per_second_within_kommos_seven_requests_per_second() {
    // 10 mailboxes at 1 email/s each (the default spacing), 8 emails each: 80 emails in about 8 seconds of
    // real time, the engine's clock moving with the wall clock.
    let s = setup(10, 8, SendingLimits::default()).await;
    let started = Instant::now();
    let first = s.clock.now();
    let mut last_send = first;
    while s.transport.sent_count() < 80 && started.elapsed() < Duration::from_secs(30) {
        let step = s.engine.worker_step().await.expect("worker step");
        assert_eq!(step.retried + step.failed, 0, "{step:?}");
        if step.sent > 0 {
            last_send = s.clock.now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        s.clock.advance(Duration::from_millis(100));
    }
    assert_eq!(s.transport.sent_count(), 80);
    // 8 emails per mailbox at 1 s spacing: the last ones go out 7 s after the first, so 10 emails per second.
    let span = (last_send - first).num_milliseconds();
    assert!(
        span <= 8_000,
        "sending took {span} ms of engine time: the CRM reads held it back"
    );
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?} of real time",
        started.elapsed()
    );
    let peak = s.kommo.peak_requests_per_second();
    assert!(peak <= 7, "Kommo saw {peak} requests within one second");
    assert!(s.kommo.requests().iter().all(|r| r.status != 429), "Kommo answered 429");
    let reads = entity_reads(&s.kommo);
    assert!(
        reads <= 4,
        "{reads} entity reads for 80 emails (at most 0.05 per email)"
    );
    assert_personal(&s);
}

/// The measurement behind `benches/crm_calls.sh`: a 10,000-lead mailing over 10 mailboxes with the
/// limits lifted; prints `calls_per_email=<n> max_rps=<n>` (all API requests, one-off reads included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement (benches/crm_calls.sh), about five minutes"]
async fn crm_calls_over_a_10000_lead_mailing() {
    let lifted = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: 1_000_000,
        ..SendingLimits::default()
    };
    let s = setup(10, 1_000, lifted).await;
    let started = Instant::now();
    while s.transport.sent_count() < 10_000 && started.elapsed() < Duration::from_secs(600) {
        let step = s.engine.worker_step().await.expect("worker step");
        assert_eq!(step.retried + step.failed, 0, "{step:?}");
        s.clock.advance(Duration::from_millis(100));
    }
    assert_eq!(s.transport.sent_count(), 10_000);
    assert_personal(&s);
    let calls = s.kommo.requests().len();
    let reads = entity_reads(&s.kommo);
    let peak = s.kommo.peak_requests_per_second();
    println!(
        "emails=10000 api_calls={calls} entity_reads={reads} seconds={:.1}",
        started.elapsed().as_secs_f64()
    );
    let calls = f64::from(u32::try_from(calls).unwrap_or(u32::MAX));
    println!("calls_per_email={:.4} max_rps={peak}", calls / 10_000.0);
}

#[tokio::test]
async fn a_batch_read_gives_the_records_single_reads_give_in_few_requests() {
    use mailer_core::ports::Crm;
    let a = support::account().await;
    let world = a.kommo.seed_world(a.id);
    let asked = [world.lead, world.anna, world.company, EntityRef::lead(987_654_321)];
    let before = a.kommo.requests().len();
    let batch = a.crm.entities(a.id, &asked).await.expect("batch read");
    let batch_requests = a.kommo.requests().len() - before;
    assert_eq!(batch.len(), 3, "the unknown lead is left out");
    for entity in &asked[..3] {
        let single = a.crm.entity(a.id, *entity).await.expect("single read");
        let found = batch.iter().find(|r| r.entity.entity == *entity).expect("in the batch");
        assert_eq!(*found, single);
    }
    // leads, contacts and companies lists for the three kinds and their links, the user once per kind, and
    // the account's one-off reads: far fewer than one request per entity and link.
    assert!(batch_requests <= 16, "{batch_requests} requests");
}
