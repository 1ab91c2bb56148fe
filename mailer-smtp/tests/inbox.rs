//! The inbox reader against a real Dovecot: the fixtures of `fixtures/inbox/` (each bounce form, an
//! auto-reply, a reply) are APPENDed to the INBOX of a user only these tests use; one read turns each
//! into its effect on the email it names; the same message read again counts once; a restarted engine
//! does not handle anything again; a hard bounce and a reply stop the not-opened timer; IDLE wakes the
//! reader; a gray mailbox is not read.

mod support;

use std::time::Duration;

use futures::TryStreamExt;
use mailer_core::engine::{Engine, InboxReport};
use mailer_core::model::{
    Action, Address, Body, CheckStatus, Content, CrmAction, EmailId, EmailSpec, EmailStatus, EmailTriggers, EventKind,
    EventQuery, Mailbox, MailboxHealth, NotOpened, Priority, ReactionCounts, ReactionScope, Trigger, TriggerId,
};
use mailer_core::ports::{Inbox, Store, StoreExt, Wake};
use mailer_core::testkit::{Harness, block_on};
use mailer_smtp::inbox::ImapInbox;
use support::{Services, unique};
use tokio::net::TcpStream;

const HOUR: Duration = Duration::from_secs(3600);

/// The user whose INBOX only these tests touch.
fn inbox_user() -> String {
    std::env::var("MAILER_TEST_MAIL_USER_INBOX").unwrap_or_else(|_| "inbox@example.test".into())
}

/// The fixtures, with the address each email of ours went to.
const FIXTURES: &[(&str, &str)] = &[
    ("rfc3464-failed.eml", "nobody@example.net"),
    ("rfc3464-delayed.eml", "slow@example.com"),
    ("exim.eml", "ghost@example.org"),
    ("qmail.eml", "nosuch@example.info"),
    ("postfix.eml", "left@example.com"),
    ("microsoft.eml", "missing@contoso.com"),
    ("gmail.eml", "nope@gmail.com"),
    ("autoreply.eml", "anna@client.example"),
    ("reply.eml", "anna2@client.example"),
];

const HARD: &[&str] = &[
    "rfc3464-failed.eml",
    "exim.eml",
    "qmail.eml",
    "postfix.eml",
    "microsoft.eml",
    "gmail.eml",
];

/// A fixture with our Message-ID in it, with CRLF line ends for IMAP.
fn fixture(name: &str, message_id: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/inbox/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.replace("%MESSAGE_ID%", message_id)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

type Session = async_imap::Session<TcpStream>;

async fn session(services: &Services) -> Session {
    let tcp = TcpStream::connect((services.imap.host.as_str(), services.imap.port))
        .await
        .expect("connect");
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.expect("greeting").expect("greeting line");
    client
        .login(inbox_user(), &services.password)
        .await
        .map_err(|(e, _)| e)
        .expect("login of the inbox test user (scripts/mail-up.sh makes it)")
}

/// Empties the test user's INBOX.
async fn clear(services: &Services) {
    let mut s = session(services).await;
    s.select("INBOX").await.expect("select");
    if !s.uid_search("ALL").await.expect("search").is_empty() {
        let _: Vec<_> = s
            .store("1:*", "+FLAGS (\\Deleted)")
            .await
            .expect("store")
            .try_collect()
            .await
            .expect("flags");
        let _: Vec<_> = s
            .expunge()
            .await
            .expect("expunge")
            .try_collect()
            .await
            .expect("expunged");
    }
    let _ = s.logout().await;
}

async fn append(services: &Services, messages: &[Vec<u8>]) {
    let mut s = session(services).await;
    for raw in messages {
        s.append("INBOX", None, None, raw).await.expect("append");
    }
    let _ = s.logout().await;
}

async fn trigger(h: &Harness, name: &str) -> TriggerId {
    let t = Trigger {
        id: TriggerId(0),
        account: h.account.id,
        name: name.into(),
        action: Action::AddNote { text: name.into() },
        delay: Duration::ZERO,
    };
    h.store.insert(t).await.expect("trigger").id
}

fn notes(h: &Harness, text: &str) -> usize {
    h.crm
        .applied(h.account.id)
        .iter()
        .filter(|a| matches!(a, CrmAction::AddNote { text: t, .. } if t == text))
        .count()
}

struct Sent {
    h: Harness,
    mailbox: Mailbox,
    /// Our email per fixture, with its Message-ID.
    emails: Vec<(&'static str, EmailId, String)>,
}

/// A harness whose mailbox reads the test user's INBOX, and one email sent per fixture, each with a
/// failed trigger, a reply trigger and a one-hour not-opened timer.
async fn send_one_per_fixture(services: &Services) -> Sent {
    let h = Harness::new().await;
    let mut mailbox = h.mailbox.clone();
    let dovecot = services.mailbox(&inbox_user(), services.submission.clone(), Some(services.imap.clone()));
    mailbox.imap = dovecot.imap;
    mailbox.login = dovecot.login;
    mailbox.password = dovecot.password;
    h.store.update(&mailbox).await.expect("mailbox");
    let triggers = EmailTriggers {
        on_failed: vec![trigger(&h, "failed").await],
        on_replied: vec![trigger(&h, "replied").await],
        not_opened: Some(NotOpened {
            after: HOUR,
            triggers: vec![trigger(&h, "remind").await],
        }),
        ..EmailTriggers::default()
    };
    let run = unique();
    let mut specs = Vec::new();
    for (name, to) in FIXTURES {
        let message_id = format!("{}.{run}@mailer.test", name.trim_end_matches(".eml"));
        specs.push(EmailSpec {
            account: h.account.id,
            mailbox: mailbox.id,
            sender: h.admin.id,
            entity: Some(h.world.lead),
            template: None,
            to_entity_contacts: false,
            to: vec![Address::new(to).expect("address")],
            cc: Vec::new(),
            bcc: Vec::new(),
            content: Content {
                subject: "Your offer".into(),
                body: Body::Html("<p>Hello, here is the offer.</p>".into()),
                text: None,
            },
            attachments: Vec::new(),
            triggers: triggers.clone(),
            signature_disabled: true,
            message_id,
            idempotency_key: None,
            mailing: None,
            priority: Priority::Single,
            seq: 0,
            not_before: h.now(),
            created_at: h.now(),
            override_suppression: false,
        });
    }
    let queued = h.store.enqueue(specs.clone()).await.expect("enqueue");
    let report = h.run(Duration::from_secs(1), 60, 3).await;
    assert_eq!(report.sent as usize, FIXTURES.len(), "{report:?}");
    let emails = FIXTURES
        .iter()
        .zip(queued.iter().zip(specs))
        .map(|((name, _), (q, spec))| (*name, q.id, spec.message_id))
        .collect();
    Sent { h, mailbox, emails }
}

async fn read(engine: &Engine, inbox: &ImapInbox, s: &Sent) -> InboxReport {
    engine
        .read_inbox(inbox, s.h.account.id, s.mailbox.id, 100)
        .await
        .expect("read inbox")
}

async fn events_of(s: &Sent, email: EmailId) -> Vec<EventKind> {
    let q = EventQuery {
        account: s.h.account.id,
        email: Some(email),
        entity: None,
        since: None,
        limit: 1_000,
    };
    let events = s.h.store.list_events(&q).await.expect("events");
    events.into_iter().map(|e| e.event.kind).collect()
}

#[test]
fn each_fixture_in_the_inbox_has_its_effect_once_across_restarts() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        clear(&services).await;
        let s = send_one_per_fixture(&services).await;
        let h = &s.h;
        let appended: Vec<Vec<u8>> = s.emails.iter().map(|(name, _, id)| fixture(name, id)).collect();
        append(&services, &appended).await;
        // A message of someone else's, not about any email of ours.
        append(
            &services,
            &[b"From: x@example.com\r\nSubject: hi\r\nMessage-ID: <n1@x>\r\n\r\nhi\r\n".to_vec()],
        )
        .await;

        let inbox = services.transport().inbox();
        let report = read(&h.engine, &inbox, &s).await;
        let want = InboxReport {
            skipped: false,
            fetched: 10,
            hard_bounces: 6,
            soft_bounces: 1,
            replies: 1,
            auto_replies: 1,
            duplicates: 0,
            unrelated: 1,
        };
        assert_eq!(report, want);

        let suppressed: Vec<String> = h
            .store
            .list_suppressions(h.account.id)
            .await
            .expect("suppressions")
            .into_iter()
            .map(|s| s.address)
            .collect();
        for (name, id, _) in &s.emails {
            let email = h.store.get_email(h.account.id, *id).await.expect("email");
            let events = events_of(&s, *id).await;
            let to = email.spec.to[0].email.clone();
            if HARD.contains(name) {
                assert_eq!(email.status, EmailStatus::Failed, "{name}");
                let error = email.last_error.unwrap_or_default();
                assert!(
                    error.starts_with("bounced: ") && error.contains(" 5."),
                    "{name}: {error}"
                );
                assert!(suppressed.contains(&to), "{name}: {to} not suppressed: {suppressed:?}");
                assert!(
                    events
                        .iter()
                        .any(|e| matches!(e, EventKind::Bounced { recipient: Some(r), .. } if *r == to)),
                    "{name}: {events:?}"
                );
            } else {
                assert_eq!(email.status, EmailStatus::Sent, "{name}");
                assert!(!suppressed.contains(&to), "{name}");
            }
        }
        let kinds = |name: &str| {
            let id = s.emails.iter().find(|e| e.0 == name).map(|e| e.1).expect("email");
            events_of(&s, id)
        };
        assert!(kinds("rfc3464-delayed.eml").await.iter().any(|e| matches!(
            e,
            EventKind::SoftBounced { status: Some(st), .. } if st == "4.4.7"
        )));
        assert!(
            kinds("reply.eml")
                .await
                .iter()
                .any(|e| matches!(e, EventKind::Replied { .. }))
        );
        let auto = kinds("autoreply.eml").await;
        assert!(
            auto.iter().any(|e| matches!(e, EventKind::AutoReplied { .. })),
            "{auto:?}"
        );
        assert!(
            !auto.iter().any(|e| matches!(e, EventKind::Replied { .. })),
            "an auto-reply counted as a reply"
        );
        assert_eq!(notes(h, "failed"), 6, "each hard bounce runs its failed triggers once");
        assert_eq!(notes(h, "replied"), 1, "the reply triggers ran for the reply only");
        let counts = ReactionCounts {
            hard_bounces: 6,
            soft_bounces: 1,
            replies: 1,
            auto_replies: 1,
        };
        let by_mailbox = h
            .engine
            .mailbox_reactions(h.account.id, h.admin.id, s.mailbox.id)
            .await
            .expect("counts");
        assert_eq!(by_mailbox, counts);

        // The same messages again (new UIDs, same Message-IDs): counted once, nothing fires again.
        let again = [
            fixture("exim.eml", &s.emails[2].2),
            fixture("reply.eml", &s.emails[8].2),
        ];
        append(&services, &again).await;
        let report = read(&h.engine, &inbox, &s).await;
        assert_eq!((report.fetched, report.duplicates), (2, 2), "{report:?}");
        assert_eq!(
            h.store
                .reaction_counts(h.account.id, ReactionScope::Mailbox(s.mailbox.id))
                .await
                .expect("counts"),
            counts
        );
        assert_eq!((notes(h, "failed"), notes(h, "replied")), (6, 1));

        // A restart: a new engine over the same store reads nothing again.
        let restarted = Engine::new(h.engine.ports().clone(), h.engine.config().clone());
        let report = read(&restarted, &services.transport().inbox(), &s).await;
        assert_eq!(report, InboxReport::default(), "a restart handled messages again");

        // The reply stopped its not-opened timer; the auto-reply and the soft bounce did not.
        h.clock.advance(2 * HOUR);
        h.run(Duration::from_secs(60), 5, 2).await;
        assert_eq!(
            notes(h, "remind"),
            2,
            "reminders: the auto-replied and the soft-bounced email only"
        );

        // IDLE: a reader waiting on the INBOX wakes when a message arrives.
        let waiting = {
            let inbox = inbox.clone();
            let mailbox = s.mailbox.clone();
            tokio::spawn(async move { inbox.wait(&mailbox, Duration::from_secs(20)).await })
        };
        tokio::time::sleep(Duration::from_millis(700)).await;
        append(
            &services,
            &[b"From: x@example.com\r\nSubject: wake\r\n\r\nwake up\r\n".to_vec()],
        )
        .await;
        assert_eq!(waiting.await.expect("join").expect("idle"), Wake::Changed);
    });
}

#[test]
fn a_gray_mailbox_is_not_read() {
    let Some(services) = Services::get() else { return };
    block_on(async {
        let h = Harness::new().await;
        let mut mailbox = services.mailbox(&inbox_user(), services.submission.clone(), Some(services.imap.clone()));
        mailbox.id = h.mailbox.id;
        mailbox.account = h.account.id;
        mailbox.owner = h.admin.id;
        mailbox.health = Some(MailboxHealth {
            status: CheckStatus::Gray,
            checked_at: h.now(),
            smtp_error: None,
            imap_error: Some("login refused".into()),
        });
        h.store.update(&mailbox).await.expect("gray");
        let report = h
            .engine
            .read_inbox(&services.transport().inbox(), h.account.id, mailbox.id, 100)
            .await
            .expect("read");
        assert!(report.skipped && report.fetched == 0, "{report:?}");
        assert!(h.engine.inbox_mailboxes().await.expect("list").is_empty());
    });
}
