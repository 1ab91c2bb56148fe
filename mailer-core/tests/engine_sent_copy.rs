//! The copy in Sent is the message exactly as it was sent, also when it is retried later by another
//! worker after a restart (the bytes are kept in the store, not re-rendered); and the recipient cap.

use std::sync::Arc;

use mailer_core::engine::{Draft, Engine, EngineError, MAX_RECIPIENTS, Outcome, Ports};
use mailer_core::error::ValidationError;
use mailer_core::model::{Body, Content, Entity, EntityKind, EntityRef, EventKind, EventQuery, TimerAction};
use mailer_core::ports::Store;
use mailer_core::testkit::{CaptureTransport, Harness};

fn draft(h: &Harness) -> Draft {
    Draft {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        to: vec!["Anna <anna@example.com>".into()],
        content: Some(Content {
            subject: "Hello {{ contact.name }}".into(),
            body: Body::Html("<p>Hi</p>".into()),
            text: None,
        }),
        ..Draft::default()
    }
}

async fn events(h: &Harness) -> Vec<EventKind> {
    h.store
        .list_events(&EventQuery {
            account: h.account.id,
            email: None,
            entity: None,
            since: None,
            limit: 1000,
        })
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event.kind)
        .collect()
}

#[tokio::test]
async fn the_first_copy_is_the_delivered_bytes() {
    let h = Harness::new().await;
    let report = h.engine.send_single(&draft(&h)).await.expect("send");
    assert_eq!(report.outcome, Some(Outcome::Sent));
    let sent = h.transport.sent();
    let copies = h.transport.sent_copies();
    assert_eq!((sent.len(), copies.len()), (1, 1));
    assert_eq!(copies[0].raw, sent[0].raw, "Sent holds other bytes than were sent");
    assert_eq!(copies[0].message_id, sent[0].message.message_id);
}

#[tokio::test]
async fn a_retried_copy_from_another_worker_after_a_restart_is_the_sent_bytes() {
    let h = Harness::new().await;
    h.transport.fail_sent_copies(1);
    let report = h.engine.send_single(&draft(&h)).await.expect("send");
    assert_eq!(
        report.outcome,
        Some(Outcome::Sent),
        "a failed copy does not fail the email"
    );
    assert!(h.transport.sent_copies().is_empty());
    assert!(
        events(&h)
            .await
            .iter()
            .any(|k| matches!(k, EventKind::SentCopyFailed { .. })),
        "the failed copy is not recorded"
    );
    let sent_raw = h.transport.sent()[0].raw.clone();

    // Another process: same store, a new transport and engine (nothing of the first one's memory).
    let transport = Arc::new(CaptureTransport::new());
    let ports = Ports {
        transport: transport.clone(),
        ..h.engine.ports().clone()
    };
    let other = Engine::new(ports, h.engine.config().clone());
    assert_eq!(other.run_due_timers().await.expect("timers"), 0, "retried too early");
    h.clock.advance(h.engine.config().sent_copy_retry);
    assert_eq!(other.run_due_timers().await.expect("timers"), 1);
    let copies = transport.sent_copies();
    assert_eq!(copies.len(), 1, "the retry made no copy");
    assert_eq!(copies[0].raw, sent_raw, "the retried copy is not the sent bytes");
    assert!(transport.sent().is_empty(), "the retry sent the email again");
    assert_eq!(
        other.run_due_timers().await.expect("timers"),
        0,
        "the timer is not done"
    );
}

#[test]
fn a_sent_copy_timer_without_kept_bytes_still_reads() {
    // Timers stored before the bytes were kept have no `file`.
    let old: TimerAction = serde_json::from_str(r#"{"timer":"sent_copy","email":7}"#).expect("old timer");
    assert!(matches!(old, TimerAction::SentCopy { file: None, .. }));
}

#[tokio::test]
async fn more_recipients_than_the_cap_are_refused_when_composing() {
    let h = Harness::new().await;
    let count = usize::try_from(MAX_RECIPIENTS).expect("small") + 1;
    let too_many = Draft {
        to: (0..30).map(|i| format!("to{i}@example.com")).collect(),
        cc: (30..40).map(|i| format!("cc{i}@example.com")).collect(),
        bcc: (40..count).map(|i| format!("bcc{i}@example.com")).collect(),
        ..draft(&h)
    };
    let err = h.engine.send_single(&too_many).await.expect_err("accepted");
    assert!(
        matches!(
            err,
            EngineError::Invalid(ValidationError::TooManyRecipients { limit: 50, actual: 51 })
        ),
        "{err:?}"
    );
    assert!(h.transport.sent().is_empty());
    let at_cap = Draft {
        bcc: (40..count - 1).map(|i| format!("bcc{i}@example.com")).collect(),
        ..too_many
    };
    h.engine.send_single(&at_cap).await.expect("50 recipients are fine");
}

#[tokio::test]
async fn entity_contacts_over_the_cap_fail_the_email_without_sending() {
    let h = Harness::new().await;
    let crowd = EntityRef {
        kind: EntityKind::Contact,
        id: h.crm.next_id(),
    };
    let mut contact = Entity::new(crowd, "Crowd");
    contact.emails = (0..60).map(|i| format!("c{i}@example.com")).collect();
    h.crm.put_entity(h.account.id, contact);
    h.crm.link_contact(h.account.id, h.world.lead, crowd.id);
    let d = Draft {
        to: Vec::new(),
        entity: Some(h.world.lead),
        to_entity_contacts: Some(true),
        ..draft(&h)
    };
    let report = h.engine.send_single(&d).await.expect("queued");
    assert_eq!(report.outcome, Some(Outcome::Failed));
    assert!(h.transport.sent().is_empty(), "sent to more than the cap");
    assert!(
        events(&h)
            .await
            .iter()
            .any(|k| matches!(k, EventKind::Failed { reason } if reason.contains("over the limit of 50"))),
        "{:?}",
        events(&h).await
    );
}

/// Delivered is delivered: when the copy in Sent fails and then keeping its bytes or scheduling its retry
/// fails too, the email still ends as sent (no error, no retry, no second send) and the history says why
/// the copy will not be retried.
#[tokio::test]
async fn a_delivered_email_stays_sent_when_its_copy_cannot_be_kept_or_rescheduled() {
    for (what, fail) in [
        (
            "could not be scheduled",
            (|h: &Harness| h.store.fail_timers(1)) as fn(&Harness),
        ),
        ("could not be kept", |h: &Harness| h.store.fail_files(1)),
    ] {
        let h = Harness::new().await;
        h.transport.fail_sent_copies(1);
        fail(&h);
        let report = h
            .engine
            .send_single(&draft(&h))
            .await
            .expect("a delivered email is no error");
        assert_eq!(report.outcome, Some(Outcome::Sent), "{what}");
        let email = h.store.get_email(h.account.id, report.email).await.expect("email");
        assert_eq!(email.status, mailer_core::model::EmailStatus::Sent, "{what}");
        let reasons: Vec<String> = events(&h)
            .await
            .into_iter()
            .filter_map(|k| match k {
                EventKind::SentCopyFailed { reason } => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(reasons.len(), 1, "{what}: {reasons:?}");
        assert!(reasons[0].contains(what), "{what}: {reasons:?}");
        h.clock.advance(std::time::Duration::from_secs(3600));
        let step = h.engine.worker_step().await.expect("step");
        assert_eq!(step.claimed, 0, "{what}: the delivered email came back to the queue");
        assert_eq!(h.transport.sent().len(), 1, "{what}: sent twice");
    }
}
