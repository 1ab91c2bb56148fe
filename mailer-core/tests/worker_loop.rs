//! The worker loop (`mailer_core::worker::run`): emails of a mailbox whose server is slow hold up only that
//! mailbox; the other mailboxes' emails keep being claimed and sent while it waits, and the loop ends only
//! once the slow one is sent and recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mailer_core::engine::{Draft, Engine, Ports};
use mailer_core::model::{Body, CapWindow, Content, EmailId, EmailStatus, Mailbox, MailboxId, SendingLimits};
use mailer_core::ports::{
    Delivery, MailboxCheck, OutgoingMessage, SendError, SendErrorKind, Store, StoreExt, Transport, TransportCaps,
};
use mailer_core::testkit::fixture::sample_mailbox;
use mailer_core::testkit::{CaptureTransport, Harness};
use tokio::sync::Semaphore;

/// The capture transport, with the sends of one mailbox held until the test lets them through.
#[derive(Debug)]
struct Gated {
    inner: Arc<CaptureTransport>,
    slow: MailboxId,
    gate: Arc<Semaphore>,
}

#[async_trait]
impl Transport for Gated {
    fn capabilities(&self) -> TransportCaps {
        self.inner.capabilities()
    }

    async fn send(&self, mailbox: &Mailbox, message: &OutgoingMessage) -> Result<Delivery, SendError> {
        if mailbox.id == self.slow {
            let _pass = self
                .gate
                .acquire()
                .await
                .map_err(|_| SendError::new(SendErrorKind::Temporary, "gate closed"))?;
        }
        self.inner.send(mailbox, message).await
    }

    async fn append_sent(&self, mailbox: &Mailbox, message_id: &str, raw: &[u8]) -> Result<(), SendError> {
        self.inner.append_sent(mailbox, message_id, raw).await
    }

    async fn verify(&self, mailbox: &Mailbox) -> Result<MailboxCheck, SendError> {
        self.inner.verify(mailbox).await
    }
}

/// Waits (at most 10 s) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test]
async fn a_slow_mailbox_holds_up_only_its_own_emails() {
    slow_mailbox(false).await;
}

/// The same loop with each delivery a task of its own (`run_spawned`, as the server runs it), on two
/// threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_mailbox_holds_up_only_its_own_emails_with_spawned_deliveries() {
    slow_mailbox(true).await;
}

async fn slow_mailbox(spawned: bool) {
    let lifted = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: u32::MAX,
        window: CapWindow::Rolling24h,
        per_minute_cap: None,
    };
    let h = Harness::with(Default::default(), lifted.clone()).await;
    let slow = h.mailbox.clone();
    let fast = h
        .store
        .insert(sample_mailbox(h.account.id, h.admin.id, lifted))
        .await
        .expect("mailbox");
    let content = Content {
        subject: "Hello".into(),
        body: Body::Html("<p>Hello {{ contact.name }}</p>".into()),
        text: None,
    };
    let mut specs = Vec::new();
    for mailbox in std::iter::once(slow.id).chain(std::iter::repeat_n(fast.id, 6)) {
        let draft = Draft {
            account: h.account.id,
            sender: h.admin.id,
            mailbox,
            entity: Some(h.world.lead),
            to_entity_contacts: Some(true),
            content: Some(content.clone()),
            ..Draft::default()
        };
        specs.push(h.engine.compose(&draft).await.expect("compose"));
    }
    let queued: Vec<EmailId> = h
        .store
        .enqueue(specs)
        .await
        .expect("enqueue")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let gate = Arc::new(Semaphore::new(0));
    let ports = Ports {
        store: h.store.clone(),
        transport: Arc::new(Gated {
            inner: h.transport.clone(),
            slow: slow.id,
            gate: gate.clone(),
        }),
        crm: h.crm.clone(),
        clock: h.clock.clone(),
        fetcher: h.fetcher.clone(),
    };
    let engine = Arc::new(Engine::new(ports, h.engine.config().clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let returned = AtomicBool::new(false);
    let worker = async {
        let idle = Duration::from_millis(5);
        let stop_signal = async {
            let _ = stopped.await;
        };
        let report = if spawned {
            // The test is the host here: it spawns the deliveries as the server does.
            #[expect(clippy::disallowed_methods, reason = "the host spawns")]
            let spawn = |delivery| async { tokio::spawn(delivery).await.expect("the delivery ends") };
            mailer_core::worker::run_spawned(Arc::clone(&engine), idle, tokio::time::sleep, spawn, stop_signal).await
        } else {
            mailer_core::worker::run(&engine, idle, tokio::time::sleep, stop_signal).await
        };
        returned.store(true, Ordering::SeqCst);
        report
    };
    let test = async {
        // Six emails of the fast mailbox go while the slow mailbox's first email is still at its server (the
        // first claim took one of each mailbox; a worker step would wait for the slow one before claiming).
        until("the fast mailbox's six emails are sent", || {
            h.transport.sent_count() == 6
        })
        .await;
        let slow_email = h.store.get_email(h.account.id, queued[0]).await.expect("email");
        assert_eq!(slow_email.spec.mailbox, slow.id);
        assert_eq!(
            slow_email.status,
            EmailStatus::Sending,
            "the slow one is still being sent"
        );
        assert!(
            h.transport.sent().iter().all(|c| c.message.from == fast.from),
            "only the fast mailbox sent so far"
        );
        // Asked to stop while the slow email is at its server, the loop still waits for it and records it.
        stop.send(()).expect("the worker listens");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !returned.load(Ordering::SeqCst),
            "the loop does not leave an email half sent"
        );
        gate.add_permits(1);
    };
    let (report, ()) = tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(worker, test) })
        .await
        .expect("the loop ends");
    let report = report.expect("no store error");
    assert_eq!((report.claimed, report.sent), (7, 7), "{report:?}");
    for id in queued {
        let email = h.store.get_email(h.account.id, id).await.expect("email");
        assert_eq!(email.status, EmailStatus::Sent, "{id:?}");
    }
}
