//! CRM reads of a mailing: with a CRM that reads in batches, the records of the mailing's next emails are
//! read ahead (one batch for many emails) and each email is still rendered with its own entity's data, never
//! older than `crm_max_age`; with a CRM that does not, every email reads its own record when it is sent.

use std::time::Duration;

use mailer_core::engine::{EngineConfig, MailingRequest};
use mailer_core::model::{
    Body, Content, EmailTriggers, Entity, EntityRef, RecipientRule, SendingLimits, Template, TemplateId,
};
use mailer_core::testkit::Harness;

const LEADS: usize = 600;

/// A harness with `LEADS` leads (each with a contact) in one mailing, limits lifted.
async fn mailing(batch: bool) -> (Harness, Vec<EntityRef>) {
    let lifted = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: 1_000_000,
        ..SendingLimits::default()
    };
    let h = Harness::with(EngineConfig::default(), lifted).await;
    h.crm.set_batch_reads(batch);
    let account = h.account.id;
    let leads: Vec<EntityRef> = (0..LEADS)
        .map(|i| {
            let lead = EntityRef::lead(h.crm.next_id().0);
            h.crm.put_entity(account, Entity::new(lead, format!("Deal {i}")));
            let contact = EntityRef::contact(h.crm.next_id().0);
            let mut person = Entity::new(contact, format!("Person {i}"));
            person.emails = vec![format!("p{i}@x.test")];
            h.crm.put_entity(account, person);
            h.crm.link_contact(account, lead, contact.id);
            lead
        })
        .collect();
    let template = h
        .engine
        .save_template(
            h.admin.id,
            Template {
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
                triggers: EmailTriggers::default(),
                owner: h.admin.id,
                public: false,
                signature_disabled: true,
            },
        )
        .await
        .expect("template");
    let request = MailingRequest {
        account,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: template.id,
        name: "Spring".into(),
    };
    h.engine
        .start_mailing(&request, leads.iter().copied())
        .await
        .expect("start");
    (h, leads)
}

fn subject_of(h: &Harness, to: &str) -> Option<String> {
    h.transport
        .sent()
        .into_iter()
        .find(|c| c.message.to.iter().any(|a| a.email == to))
        .map(|c| c.message.subject)
}

#[tokio::test]
async fn a_batch_crm_reads_ahead_and_each_email_gets_its_own_record() {
    let (h, _) = mailing(true).await;
    let report = h.run(Duration::from_millis(100), 1_000, 3).await;
    assert_eq!(report.sent as usize, LEADS, "{report:?}");
    // 600 emails, 250 records per batch: 3 batch reads, no single reads.
    assert_eq!(h.crm.batch_calls(), 3);
    assert_eq!(h.crm.entity_reads(), 0);
    for i in [0, 249, 250, 599] {
        assert_eq!(
            subject_of(&h, &format!("p{i}@x.test")).as_deref(),
            Some(format!("Offer for Deal {i}").as_str())
        );
    }
}

#[tokio::test]
async fn a_record_read_ahead_is_not_used_after_crm_max_age() {
    let (h, leads) = mailing(true).await;
    // A step claims one email of the mailbox and reads 250 records ahead.
    let step = h.engine.worker_step().await.expect("step");
    assert_eq!(step.sent, 1);
    assert_eq!(h.crm.batch_calls(), 1);
    // The CRM changes the second lead; a minute and a second later its kept record is too old.
    h.crm.put_entity(h.account.id, Entity::new(leads[1], "Renamed deal"));
    h.clock.advance(Duration::from_secs(61));
    let step = h.engine.worker_step().await.expect("step");
    assert_eq!(step.sent, 1);
    assert_eq!(h.crm.batch_calls(), 2, "stale records are read again");
    assert_eq!(subject_of(&h, "p1@x.test").as_deref(), Some("Offer for Renamed deal"));
}

#[tokio::test]
async fn a_record_read_ahead_within_crm_max_age_is_used() {
    let (h, leads) = mailing(true).await;
    h.engine.worker_step().await.expect("step");
    h.crm.put_entity(h.account.id, Entity::new(leads[1], "Renamed deal"));
    h.clock.advance(Duration::from_secs(30));
    h.engine.worker_step().await.expect("step");
    assert_eq!(h.crm.batch_calls(), 1);
    // Read 30 s before it was sent: within the documented bound, crm_max_age (60 s by default).
    assert_eq!(subject_of(&h, "p1@x.test").as_deref(), Some("Offer for Deal 1"));
}

#[tokio::test]
async fn a_crm_without_batch_reads_reads_each_email_when_it_is_sent() {
    let (h, _) = mailing(false).await;
    let report = h.run(Duration::from_millis(100), 1_000, 3).await;
    assert_eq!(report.sent as usize, LEADS);
    assert_eq!(h.crm.batch_calls(), 0);
    assert_eq!(h.crm.entity_reads(), u64::try_from(LEADS).expect("fits"));
}

#[tokio::test]
async fn a_failed_batch_read_falls_back_to_one_read_per_email() {
    let (h, _) = mailing(true).await;
    h.crm
        .fail_read(1, mailer_core::testkit::ScriptedError::Backend("down".into()));
    let step = h.engine.worker_step().await.expect("step");
    assert_eq!(step.sent, 1, "{step:?}");
    assert_eq!(h.crm.batch_calls(), 1);
    assert_eq!(h.crm.entity_reads(), 1);
}
