//! The dashboard's use case: a mailbox's sends in its cap window against its cap, its waiting emails and
//! its next free slot, moving as the worker sends.

use std::time::Duration;

use mailer_core::engine::{EngineConfig, MailingRequest};
use mailer_core::model::SendingLimits;
use mailer_core::ports::StoreExt;
use mailer_core::testkit::Harness;
use mailer_core::testkit::fixture::sample_template;

#[tokio::test]
async fn usage_counts_sends_in_the_window_the_waiting_queue_and_the_next_free_slot() {
    let limits = SendingLimits {
        spacing: Duration::from_secs(60),
        daily_cap: 10,
        ..SendingLimits::default()
    };
    let h = Harness::with(EngineConfig::default(), limits).await;
    let usage = h.engine.mailbox_usage(h.account.id, h.admin.id).await.expect("usage");
    assert_eq!(usage.len(), 1, "one mailbox: {usage:?}");
    let u = &usage[0];
    assert_eq!(
        (u.mailbox.id, u.sent_in_window, u.cap, u.waiting),
        (h.mailbox.id, 0, 10, 0)
    );
    assert!(
        u.next_free.is_some_and(|t| t <= h.now()),
        "an idle mailbox is free now: {u:?}"
    );

    let template = h
        .store
        .insert(sample_template(h.account.id, h.admin.id))
        .await
        .expect("template");
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: template.id,
        name: "two".into(),
    };
    h.engine
        .start_mailing(&request, vec![h.world.lead, h.world.company])
        .await
        .expect("mailing");
    let step = h.engine.worker_step().await.expect("worker step");
    assert_eq!(step.sent, 1, "the first email goes at once: {step:?}");

    let u = h
        .engine
        .mailbox_usage(h.account.id, h.admin.id)
        .await
        .expect("usage")
        .remove(0);
    assert_eq!((u.sent_in_window, u.waiting), (1, 1), "{u:?}");
    let next = u.next_free.expect("a next slot");
    assert!(
        next >= h.now() + chrono::Duration::seconds(59),
        "the next slot keeps the 60 s spacing: {next} vs now {}",
        h.now()
    );
}
