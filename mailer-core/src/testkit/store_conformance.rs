//! Behaviour every [`Store`](crate::ports::Store) must have. Not semver-stable; for tests only.
//!
//! Each case makes its own account through [`StoreFixture`], so cases can run in parallel on one shared
//! database. No case sleeps: time is passed in.

use std::time::Duration;

use crate::model::{
    Claimed, EmailId, EmailQuery, EmailStatus, EventKind, EventQuery, InboxCursor, Mailbox, MailboxId, Mailing,
    MailingStatus, NewEvent, NewFile, NewTimer, PipelineRule, ReactionCounts, ReactionScope, SendingLimits, Template,
    TimerAction, Trigger, TriggerLink, TriggerLinkId, User, WebPage,
};
use crate::ports::{DynStore, StoreError, StoreExt};

use super::fixture::{
    LEASE, StoreFixture, sample_link, sample_mailing, sample_page, sample_rule, sample_template, sample_trigger,
};

fn ids(claimed: &[Claimed]) -> Vec<EmailId> {
    claimed.iter().map(|c| c.email.id).collect()
}

fn fast() -> SendingLimits {
    SendingLimits {
        spacing: Duration::ZERO,
        ..SendingLimits::default()
    }
}

/// The events of one email, oldest first (up to 100).
async fn email_events(store: &DynStore, account: crate::model::AccountId, email: EmailId) -> Vec<NewEvent> {
    let q = EventQuery {
        account,
        email: Some(email),
        entity: None,
        since: None,
        limit: 100,
    };
    let listed = store.list_events(&q).await.expect("list events");
    listed.into_iter().map(|e| e.event).collect()
}

/// Enqueue, claim, complete: the email ends sent, with one attempt.
pub async fn enqueue_claim_complete(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let id = store
        .enqueue_one(fx.email(&fx.mailbox, "a@example.com"))
        .await
        .expect("enqueue")
        .id;
    let w = StoreFixture::worker(1);
    let claimed = store.claim_due(&w, fx.now, 10, LEASE).await.expect("claim");
    let mine: Vec<_> = claimed
        .iter()
        .filter(|c| c.email.spec.account == fx.account.id)
        .collect();
    assert_eq!(mine.len(), 1, "expected exactly our email: {claimed:?}");
    assert_eq!(mine[0].email.id, id);
    assert_eq!(mine[0].email.attempts, 1);
    assert_eq!(mine[0].email.status, EmailStatus::Sending);
    store.complete(fx.account.id, id, &w, fx.now).await.expect("complete");
    let email = store.get_email(fx.account.id, id).await.expect("get");
    assert_eq!(email.status, EmailStatus::Sent);
    assert_eq!(email.sent_at, Some(fx.now));
}

/// A second worker gets nothing while the first holds the lease.
pub async fn claim_is_exclusive(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let id = store
        .enqueue_one(fx.email(&mb, "a@example.com"))
        .await
        .expect("enqueue")
        .id;
    let a = store
        .claim_email(fx.account.id, id, &StoreFixture::worker(1), fx.now, LEASE)
        .await
        .expect("claim a");
    assert!(a.is_some(), "first claim got nothing");
    let b = store
        .claim_email(fx.account.id, id, &StoreFixture::worker(2), fx.now, LEASE)
        .await
        .expect("claim b");
    assert!(b.is_none(), "second worker got a leased email: {b:?}");
    let later = fx.at(Duration::from_secs(30));
    let c = store
        .claim_due(&StoreFixture::worker(2), later, 1000, LEASE)
        .await
        .expect("claim c");
    assert!(!ids(&c).contains(&id), "claim_due handed out a leased email: {c:?}");
}

/// A lease that runs out gives the email back; the old worker can no longer finish it once it is taken.
pub async fn lease_expiry_gives_email_back(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let (w1, w2) = (StoreFixture::worker(1), StoreFixture::worker(2));
    let id = fx.claimed_email(&mb, "a@example.com", &w1).await;
    let after = fx.at(LEASE + Duration::from_secs(1));
    let again = store
        .claim_email(fx.account.id, id, &w2, after, LEASE)
        .await
        .expect("reclaim");
    let again = again.expect("the expired lease did not give the email back");
    assert_eq!(again.email.attempts, 2);
    let err = store
        .complete(fx.account.id, id, &w1, after)
        .await
        .expect_err("old worker completed");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err:?}");
    store
        .complete(fx.account.id, id, &w2, after)
        .await
        .expect("new worker completes");
}

/// `retry_at` keeps the email out of claims until its time.
pub async fn retry_at_is_honoured(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let w = StoreFixture::worker(1);
    let id = fx.claimed_email(&mb, "a@example.com", &w).await;
    let at = fx.at(Duration::from_secs(300));
    store
        .retry_at(fx.account.id, id, &w, at, "421 try later")
        .await
        .expect("retry");
    let early = store
        .claim_email(fx.account.id, id, &w, fx.at(Duration::from_secs(299)), LEASE)
        .await
        .expect("early");
    assert!(early.is_none(), "claimed before its retry time");
    let email = store.get_email(fx.account.id, id).await.expect("get");
    assert_eq!(
        (email.status, email.last_error.as_deref()),
        (EmailStatus::Queued, Some("421 try later"))
    );
    let due = store.claim_email(fx.account.id, id, &w, at, LEASE).await.expect("due");
    assert_eq!(due.map(|c| c.email.attempts), Some(2));
}

/// A failed email is never claimed again.
pub async fn fail_is_final(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let w = StoreFixture::worker(1);
    let id = fx.claimed_email(&mb, "a@example.com", &w).await;
    store
        .fail(fx.account.id, id, &w, "550 no such user")
        .await
        .expect("fail");
    let later = fx.at(Duration::from_secs(3600));
    assert!(
        store
            .claim_email(fx.account.id, id, &w, later, LEASE)
            .await
            .expect("claim")
            .is_none()
    );
    let email = store.get_email(fx.account.id, id).await.expect("get");
    assert_eq!(email.status, EmailStatus::Failed);
    assert_eq!(email.last_error.as_deref(), Some("550 no such user"));
}

/// One account never sees another's records, emails, events or files.
pub async fn account_isolation(store: &DynStore) {
    let a = StoreFixture::new(store).await;
    let b = StoreFixture::new(store).await;
    let template = store
        .insert(sample_template(a.account.id, a.user.id))
        .await
        .expect("insert");
    let err = store
        .get::<Template>(b.account.id, template.id)
        .await
        .expect_err("b read a's template");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
    assert!(store.list::<Template>(b.account.id).await.expect("list").is_empty());
    assert!(
        store.delete::<Template>(b.account.id, template.id).await.is_err(),
        "b deleted a's template"
    );
    let email = store
        .enqueue_one(a.email(&a.mailbox, "x@example.com"))
        .await
        .expect("enqueue")
        .id;
    assert!(store.get_email(b.account.id, email).await.is_err(), "b read a's email");
    assert!(
        store
            .list_emails(&EmailQuery::account(b.account.id, 100))
            .await
            .expect("list")
            .is_empty()
    );
    let file = store
        .put_file(NewFile {
            account: a.account.id,
            name: "a.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: vec![1],
        })
        .await
        .expect("put file");
    assert!(store.get_file(b.account.id, file).await.is_err(), "b read a's file");
    store
        .append_events(vec![NewEvent {
            account: a.account.id,
            email: Some(email),
            entity: None,
            at: a.now,
            kind: EventKind::Queued,
            automated: false,
        }])
        .await
        .expect("events");
    let seen = store
        .list_events(&EventQuery {
            account: b.account.id,
            email: Some(email),
            entity: None,
            since: None,
            limit: 10,
        })
        .await
        .expect("list events");
    assert!(seen.is_empty(), "b saw a's events: {seen:?}");
    assert!(store.mark_once(a.account.id, "opened:1", a.now).await.expect("once a"));
    assert!(
        store.mark_once(b.account.id, "opened:1", b.now).await.expect("once b"),
        "once keys leaked across accounts"
    );
}

/// Timers come due in `due_at` order, not before, and each once while leased.
pub async fn timers_come_due_in_order(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let w = StoreFixture::worker(1);
    let mut expected = Vec::new();
    for (key, secs) in [("c", 300), ("a", 100), ("b", 200)] {
        let id = store
            .schedule_timer(NewTimer {
                account: fx.account.id,
                key: format!("t:{key}:{}", fx.account.id),
                due_at: fx.at(Duration::from_secs(secs)),
                action: TimerAction::NotOpened {
                    email: EmailId(i64::try_from(secs).unwrap_or(0)),
                },
            })
            .await
            .expect("schedule");
        expected.push((secs, id));
    }
    expected.sort_unstable();
    let mine = |timers: Vec<crate::model::Timer>| -> Vec<_> {
        timers
            .into_iter()
            .filter(|t| t.timer.account == fx.account.id)
            .map(|t| t.id)
            .collect()
    };
    assert!(
        mine(
            store
                .claim_due_timers(&w, fx.at(Duration::from_secs(99)), 100, LEASE)
                .await
                .expect("early")
        )
        .is_empty()
    );
    let due = mine(
        store
            .claim_due_timers(&w, fx.at(Duration::from_secs(250)), 100, LEASE)
            .await
            .expect("due"),
    );
    assert_eq!(due, vec![expected[0].1, expected[1].1], "wrong timers or order");
    let again = mine(
        store
            .claim_due_timers(&StoreFixture::worker(2), fx.at(Duration::from_secs(260)), 100, LEASE)
            .await
            .expect("again"),
    );
    assert!(again.is_empty(), "a leased timer was handed out twice: {again:?}");
    for (_, id) in &expected[..2] {
        store.finish_timer(fx.account.id, *id, &w).await.expect("finish");
    }
    let rest = mine(
        store
            .claim_due_timers(&w, fx.at(Duration::from_secs(400)), 100, LEASE)
            .await
            .expect("rest"),
    );
    assert_eq!(rest, vec![expected[2].1]);
}

/// The bytes of a sent message kept for a retried copy in Sent come back exactly (CRLF, 8-bit bytes, a
/// few MB), and so does the timer that names them, from any worker.
pub async fn sent_bytes_and_their_timer_come_back_exactly(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mut raw = b"DKIM-Signature: v=1; a=ed25519-sha256;\r\n\tb=abc\r\nSubject: x\r\n\r\n".to_vec();
    raw.extend((0..3 * 1024 * 1024).map(|i: u32| u8::try_from(i % 251).unwrap_or(0)));
    raw.extend_from_slice(b"\r\n.\r\n\r\n");
    let file = store
        .put_file(NewFile {
            account: fx.account.id,
            name: "m1@example.com.eml".into(),
            content_type: "message/rfc822".into(),
            bytes: raw.clone(),
        })
        .await
        .expect("put file");
    let action = TimerAction::SentCopy {
        email: EmailId(7),
        file: Some(file),
    };
    store
        .schedule_timer(NewTimer {
            account: fx.account.id,
            key: format!("sent-copy:7:{}", fx.account.id),
            due_at: fx.at(Duration::from_secs(600)),
            action: action.clone(),
        })
        .await
        .expect("schedule");
    let claimed: Vec<_> = store
        .claim_due_timers(&StoreFixture::worker(2), fx.at(Duration::from_secs(600)), 100, LEASE)
        .await
        .expect("claim")
        .into_iter()
        .filter(|t| t.timer.account == fx.account.id)
        .collect();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].timer.action, action);
    let got = store.get_file(fx.account.id, file).await.expect("get file");
    assert!(
        got.file.bytes == raw,
        "the kept bytes changed on the way through the store"
    );
    assert_eq!(got.file.content_type, "message/rfc822");
}

/// Scheduling a key again replaces the timer; cancelling removes it.
pub async fn timer_keys_replace_and_cancel(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let key = format!("not_opened:{}", fx.account.id);
    let timer = |secs| NewTimer {
        account: fx.account.id,
        key: key.clone(),
        due_at: fx.at(Duration::from_secs(secs)),
        action: TimerAction::NotOpened { email: EmailId(1) },
    };
    store.schedule_timer(timer(100)).await.expect("schedule");
    store.schedule_timer(timer(500)).await.expect("replace");
    let w = StoreFixture::worker(1);
    let mine = |t: Vec<crate::model::Timer>| t.into_iter().filter(|t| t.timer.account == fx.account.id).count();
    assert_eq!(
        mine(
            store
                .claim_due_timers(&w, fx.at(Duration::from_secs(200)), 10, LEASE)
                .await
                .expect("claim")
        ),
        0,
        "the replaced timer fired"
    );
    assert!(store.cancel_timer(fx.account.id, &key).await.expect("cancel"));
    assert!(!store.cancel_timer(fx.account.id, &key).await.expect("cancel twice"));
    assert_eq!(
        mine(
            store
                .claim_due_timers(&w, fx.at(Duration::from_secs(600)), 10, LEASE)
                .await
                .expect("claim")
        ),
        0,
        "a cancelled timer fired"
    );
}

/// Every record kind goes in, comes out equal, lists, updates and deletes.
pub async fn crud_round_trips(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let account = store.get_account(fx.account.id).await.expect("get account");
    assert_eq!(account, fx.account);
    let acc = fx.account.id;
    let template = store.insert(sample_template(acc, fx.user.id)).await.expect("template");
    round_trip::<User>(store, fx.user.clone(), |u| u.name = "Renamed".into()).await;
    round_trip::<Mailbox>(store, fx.mailbox.clone(), |m| {
        m.limits.daily_cap = 30;
        m.health = Some(crate::model::MailboxHealth {
            status: crate::model::CheckStatus::Gray,
            checked_at: fx.now,
            smtp_error: None,
            imap_error: Some("no Sent folder".into()),
        });
    })
    .await;
    round_trip::<Template>(store, template.clone(), |t| t.public = true).await;
    round_trip::<Trigger>(store, store.insert(sample_trigger(acc)).await.expect("trigger"), |t| {
        t.name = "B".into()
    })
    .await;
    round_trip::<TriggerLink>(store, store.insert(sample_link(acc)).await.expect("link"), |l| {
        l.once = false
    })
    .await;
    round_trip::<WebPage>(store, store.insert(sample_page(acc)).await.expect("page"), |p| {
        p.slug = "x".into()
    })
    .await;
    round_trip::<PipelineRule>(
        store,
        store
            .insert(sample_rule(acc, template.id, fx.mailbox.id))
            .await
            .expect("rule"),
        |r| r.delay = Duration::from_secs(60),
    )
    .await;
    round_trip::<Mailing>(
        store,
        store
            .insert(sample_mailing(acc, template.id, fx.mailbox.id, fx.user.id, fx.now))
            .await
            .expect("mailing"),
        |m| m.total = 7,
    )
    .await;
    let bytes: Vec<u8> = (0..=255).collect();
    let file = store
        .put_file(NewFile {
            account: acc,
            name: "offer.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: bytes.clone(),
        })
        .await
        .expect("put file");
    let got = store.get_file(acc, file).await.expect("get file");
    assert_eq!((got.file.name.as_str(), got.file.bytes), ("offer.pdf", bytes));
}

async fn round_trip<T: crate::model::Record + PartialEq>(store: &DynStore, record: T, change: impl FnOnce(&mut T)) {
    let acc = record.account();
    let got: T = store.get(acc, record.raw_id()).await.expect("get");
    assert_eq!(got, record, "{:?} changed on the way through the store", T::KIND);
    assert!(
        store.list::<T>(acc).await.expect("list").contains(&record),
        "{:?} missing from list",
        T::KIND
    );
    let mut changed = record.clone();
    change(&mut changed);
    store.update(&changed).await.expect("update");
    assert_eq!(
        store.get::<T>(acc, record.raw_id()).await.expect("get"),
        changed,
        "{:?} update lost",
        T::KIND
    );
    store.delete::<T>(acc, record.raw_id()).await.expect("delete");
    assert!(
        matches!(
            store.get::<T>(acc, record.raw_id()).await,
            Err(StoreError::NotFound { .. })
        ),
        "{:?} not deleted",
        T::KIND
    );
    store.insert(changed).await.expect("insert again");
}

/// The same idempotency key gives the first email back, not a second one.
pub async fn enqueue_is_idempotent(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mut spec = fx.email(&fx.mailbox, "a@example.com");
    spec.idempotency_key = Some("mailing:1:lead:7".into());
    let first = store.enqueue_one(spec.clone()).await.expect("first");
    let again = store.enqueue(vec![spec.clone(), spec]).await.expect("again");
    assert!(first.created);
    assert!(again.iter().all(|e| e.id == first.id && !e.created), "{again:?}");
    assert_eq!(
        store
            .list_emails(&EmailQuery::account(fx.account.id, 100))
            .await
            .expect("list")
            .len(),
        1
    );
}

/// A mailbox gives one email per spacing, whoever asks.
pub async fn spacing_holds_across_workers(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx
        .add_mailbox(SendingLimits {
            spacing: Duration::from_secs(10),
            ..SendingLimits::default()
        })
        .await;
    let mut specs = Vec::new();
    for i in 0..3 {
        specs.push(fx.email(&mb, &format!("s{i}@example.com")));
    }
    let ids: Vec<EmailId> = store
        .enqueue(specs)
        .await
        .expect("enqueue")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mine = |c: Vec<Claimed>| c.into_iter().filter(|c| ids.contains(&c.email.id)).count();
    assert_eq!(
        mine(
            store
                .claim_due(&StoreFixture::worker(1), fx.now, 100, LEASE)
                .await
                .expect("a")
        ),
        1
    );
    assert_eq!(
        mine(
            store
                .claim_due(&StoreFixture::worker(2), fx.at(Duration::from_secs(9)), 100, LEASE)
                .await
                .expect("b")
        ),
        0,
        "spacing broken"
    );
    assert_eq!(
        mine(
            store
                .claim_due(&StoreFixture::worker(2), fx.at(Duration::from_secs(10)), 100, LEASE)
                .await
                .expect("c")
        ),
        1
    );
    let state = store
        .mailbox_state(fx.account.id, mb.id, fx.at(Duration::from_secs(10)))
        .await
        .expect("state");
    assert_eq!(state.next_send_at, Some(fx.at(Duration::from_secs(20))));
    assert_eq!(state.sent_in_window, 2);
}

/// No mailbox sends more than its daily cap in the window.
pub async fn daily_cap_holds(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx
        .add_mailbox(SendingLimits {
            spacing: Duration::ZERO,
            daily_cap: 3,
            ..SendingLimits::default()
        })
        .await;
    let specs = (0..5).map(|i| fx.email(&mb, &format!("c{i}@example.com"))).collect();
    let ids: Vec<EmailId> = store
        .enqueue(specs)
        .await
        .expect("enqueue")
        .into_iter()
        .map(|e| e.id)
        .collect();
    let w = StoreFixture::worker(1);
    let mut claimed = 0;
    for step in 0..10u64 {
        let c = store
            .claim_due(&w, fx.at(Duration::from_secs(step * 60)), 100, LEASE)
            .await
            .expect("claim");
        for c in c.into_iter().filter(|c| ids.contains(&c.email.id)) {
            claimed += 1;
            store
                .complete(fx.account.id, c.email.id, &w, fx.now)
                .await
                .expect("complete");
        }
    }
    assert_eq!(claimed, 3, "cap of 3 broken");
    let next_day = fx.at(Duration::from_secs(24 * 3600 + 1));
    let c = store.claim_due(&w, next_day, 100, LEASE).await.expect("claim next day");
    assert_eq!(
        c.into_iter().filter(|c| ids.contains(&c.email.id)).count(),
        1,
        "the window did not roll"
    );
}

/// A mailbox with no cap ([`SendingLimits::NO_DAILY_CAP`], no per-minute cap) sends at every claim, however
/// many it sent in the window (stores need not count its sends), beside a capped one that still stops.
pub async fn no_cap_sends_at_every_claim(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let uncapped = fx
        .add_mailbox(SendingLimits {
            spacing: Duration::ZERO,
            daily_cap: SendingLimits::NO_DAILY_CAP,
            per_minute_cap: None,
            ..SendingLimits::default()
        })
        .await;
    let capped = fx
        .add_mailbox(SendingLimits {
            spacing: Duration::ZERO,
            daily_cap: 2,
            ..SendingLimits::default()
        })
        .await;
    let specs = [&uncapped, &capped]
        .into_iter()
        .flat_map(|mb| (0..6).map(move |i| (mb, i)))
        .map(|(mb, i)| fx.email(mb, &format!("n{}-{i}@example.com", mb.id.0)))
        .collect();
    store.enqueue(specs).await.expect("enqueue");
    let w = StoreFixture::worker(1);
    let mut sent = std::collections::HashMap::new();
    for step in 0..6u64 {
        let claimed = store
            .claim_due(&w, fx.at(Duration::from_secs(step)), 100, LEASE)
            .await
            .expect("claim");
        for c in claimed {
            *sent.entry(c.email.spec.mailbox).or_insert(0) += 1;
            store
                .complete(fx.account.id, c.email.id, &w, fx.now)
                .await
                .expect("complete");
        }
    }
    assert_eq!(
        sent.get(&uncapped.id),
        Some(&6),
        "the uncapped mailbox sent at every claim"
    );
    assert_eq!(sent.get(&capped.id), Some(&2), "the capped mailbox stopped at its cap");
}

/// A mailbox whose limits are lifted gives an even share of a claim, one with spacing or a cap one email;
/// every mailbox's first email comes before any mailbox's second, and each mailbox's in its own order.
pub async fn a_lifted_mailbox_gives_its_share_of_a_claim(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let lifted = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: SendingLimits::NO_DAILY_CAP,
        per_minute_cap: None,
        ..SendingLimits::default()
    };
    let a = fx.add_mailbox(lifted.clone()).await;
    let b = fx.add_mailbox(lifted).await;
    let spaced = fx.add_mailbox(SendingLimits::default()).await;
    let capped = fx.add_mailbox(fast()).await;
    let mut ids: std::collections::HashMap<MailboxId, Vec<EmailId>> = std::collections::HashMap::new();
    for (mb, n) in [(&a, 10), (&b, 10), (&spaced, 3), (&capped, 3)] {
        let specs = (0..n)
            .map(|i| fx.email(mb, &format!("s{}-{i}@example.com", mb.id.0)))
            .collect();
        let queued = store.enqueue(specs).await.expect("enqueue");
        ids.insert(mb.id, queued.into_iter().map(|e| e.id).collect());
    }
    let w = StoreFixture::worker(1);
    let mut taken: std::collections::HashMap<MailboxId, Vec<EmailId>> = std::collections::HashMap::new();
    // 7 among two lifted mailboxes: a share of 4 each, cut by the limit.
    let first = store.claim_due(&w, fx.now, 7, LEASE).await.expect("claim");
    assert_eq!(first.len(), 7, "{first:?}");
    let head: std::collections::HashSet<MailboxId> = first[..4].iter().map(|c| c.email.spec.mailbox).collect();
    assert_eq!(
        head.len(),
        4,
        "every mailbox's first email did not come first: {first:?}"
    );
    for c in &first {
        taken.entry(c.email.spec.mailbox).or_default().push(c.email.id);
    }
    let count = |taken: &std::collections::HashMap<MailboxId, Vec<EmailId>>, mb: &Mailbox| {
        taken.get(&mb.id).map_or(0, Vec::len)
    };
    assert_eq!((count(&taken, &spaced), count(&taken, &capped)), (1, 1), "{first:?}");
    assert!(count(&taken, &a) >= 2 && count(&taken, &b) >= 2, "{first:?}");
    // Everything the lifted mailboxes have left (a share of 50 each), one more of the capped mailbox
    // (no spacing), none of the spaced one (its spacing has not passed).
    let second = store.claim_due(&w, fx.now, 100, LEASE).await.expect("claim");
    for c in &second {
        taken.entry(c.email.spec.mailbox).or_default().push(c.email.id);
    }
    assert_eq!(
        [&a, &b, &spaced, &capped].map(|mb| count(&taken, mb)),
        [10, 10, 1, 2],
        "{second:?}"
    );
    for mb in [&a, &b, &capped] {
        let want: Vec<EmailId> = ids[&mb.id][..count(&taken, mb)].to_vec();
        assert_eq!(taken[&mb.id], want, "mailbox {:?}: not in its own order", mb.id);
    }
}

/// Single emails go before mailing traffic of the same mailbox.
pub async fn single_before_mailing(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let template = store
        .insert(sample_template(fx.account.id, fx.user.id))
        .await
        .expect("template");
    let mailing = store
        .insert(sample_mailing(fx.account.id, template.id, mb.id, fx.user.id, fx.now))
        .await
        .expect("mailing");
    store
        .enqueue((0..3).map(|i| fx.mailing_email(&mb, mailing.id, i)).collect())
        .await
        .expect("mailing emails");
    let single = store
        .enqueue_one(fx.email(&mb, "single@example.com"))
        .await
        .expect("single")
        .id;
    let w = StoreFixture::worker(1);
    let first = store.claim_due(&w, fx.now, 100, LEASE).await.expect("claim");
    let ours: Vec<_> = first.iter().filter(|c| c.email.spec.mailbox == mb.id).collect();
    assert_eq!(ours.len(), 1, "a capped mailbox gives one per claim: {ours:?}");
    assert_eq!(ours[0].email.id, single, "the single email did not go first");
}

/// Two mailings of one mailbox alternate.
pub async fn mailings_alternate(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let template = store
        .insert(sample_template(fx.account.id, fx.user.id))
        .await
        .expect("template");
    let m1 = store
        .insert(sample_mailing(fx.account.id, template.id, mb.id, fx.user.id, fx.now))
        .await
        .expect("m1");
    let m2 = store
        .insert(sample_mailing(fx.account.id, template.id, mb.id, fx.user.id, fx.now))
        .await
        .expect("m2");
    store
        .enqueue((0..3).map(|i| fx.mailing_email(&mb, m1.id, i)).collect())
        .await
        .expect("m1 emails");
    store
        .enqueue((0..3).map(|i| fx.mailing_email(&mb, m2.id, i)).collect())
        .await
        .expect("m2 emails");
    let w = StoreFixture::worker(1);
    let mut order = Vec::new();
    for step in 0..6u64 {
        for c in store
            .claim_due(&w, fx.at(Duration::from_secs(step)), 100, LEASE)
            .await
            .expect("claim")
        {
            if c.email.spec.mailbox == mb.id {
                order.push(c.email.spec.mailing);
                store
                    .complete(fx.account.id, c.email.id, &w, fx.now)
                    .await
                    .expect("complete");
            }
        }
    }
    let m = |x: &Mailing| Some(x.id);
    assert_eq!(
        order,
        vec![m(&m1), m(&m2), m(&m1), m(&m2), m(&m1), m(&m2)],
        "mailings did not alternate"
    );
}

/// A paused mailing waits and loses nothing; resumed, it goes on; cancelled, its queued emails are cancelled.
pub async fn pause_resume_cancel_mailing(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let template = store
        .insert(sample_template(fx.account.id, fx.user.id))
        .await
        .expect("template");
    let mailing = store
        .insert(sample_mailing(fx.account.id, template.id, mb.id, fx.user.id, fx.now))
        .await
        .expect("mailing");
    store
        .enqueue((0..4).map(|i| fx.mailing_email(&mb, mailing.id, i)).collect())
        .await
        .expect("emails");
    let w = StoreFixture::worker(1);
    let ours = |c: Vec<Claimed>| {
        c.into_iter()
            .filter(|c| c.email.spec.mailbox == mb.id)
            .collect::<Vec<_>>()
    };
    let first = ours(store.claim_due(&w, fx.now, 100, LEASE).await.expect("claim"));
    assert_eq!(first.len(), 1);
    store
        .complete(fx.account.id, first[0].email.id, &w, fx.now)
        .await
        .expect("complete");
    store
        .set_mailing_status(fx.account.id, mailing.id, MailingStatus::Paused)
        .await
        .expect("pause");
    assert!(
        ours(
            store
                .claim_due(&w, fx.at(Duration::from_secs(5)), 100, LEASE)
                .await
                .expect("paused")
        )
        .is_empty(),
        "a paused mailing sent"
    );
    assert_eq!(
        store
            .get::<Mailing>(fx.account.id, mailing.id)
            .await
            .expect("get")
            .status,
        MailingStatus::Paused
    );
    store
        .set_mailing_status(fx.account.id, mailing.id, MailingStatus::Running)
        .await
        .expect("resume");
    let second = ours(
        store
            .claim_due(&w, fx.at(Duration::from_secs(6)), 100, LEASE)
            .await
            .expect("resumed"),
    );
    assert_eq!(second.len(), 1, "resume did not send");
    assert_ne!(second[0].email.id, first[0].email.id, "resume sent a duplicate");
    store
        .complete(fx.account.id, second[0].email.id, &w, fx.now)
        .await
        .expect("complete");
    let cancelled = store
        .set_mailing_status(fx.account.id, mailing.id, MailingStatus::Cancelled)
        .await
        .expect("cancel");
    assert_eq!(cancelled, 2);
    let counts = store.mailing_counts(fx.account.id, mailing.id).await.expect("counts");
    assert_eq!((counts.sent, counts.cancelled, counts.waiting), (2, 2, 0), "{counts:?}");
}

/// `mark_once` is true once per key.
pub async fn mark_once_is_once(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    assert!(
        store
            .mark_once(fx.account.id, "link:8:lead:1", fx.now)
            .await
            .expect("first")
    );
    assert!(
        !store
            .mark_once(fx.account.id, "link:8:lead:1", fx.now)
            .await
            .expect("second")
    );
    assert!(
        store
            .mark_once(fx.account.id, "link:8:lead:2", fx.now)
            .await
            .expect("other key")
    );
}

/// A one-time token id is spent once per account until its expiry, and forgotten after it.
pub async fn token_ids_are_spent_once_until_they_expire(store: &DynStore) {
    let a = StoreFixture::new(store).await;
    let b = StoreFixture::new(store).await;
    let exp = a.at(Duration::from_secs(1800));
    let spend = |account, jti: &'static str, now| store.spend_token_id(account, jti, exp, now);
    assert!(spend(a.account.id, "j1", a.now).await.expect("first"));
    assert!(
        !spend(a.account.id, "j1", a.at(Duration::from_secs(60)))
            .await
            .expect("replay"),
        "a spent token id was accepted twice"
    );
    assert!(spend(a.account.id, "j2", a.now).await.expect("other id"));
    assert!(spend(b.account.id, "j1", a.now).await.expect("other account"));
    assert!(
        !spend(a.account.id, "j1", a.at(Duration::from_secs(1799)))
            .await
            .expect("just before exp"),
        "forgotten before its expiry"
    );
    let after = a.at(Duration::from_secs(1800));
    assert!(
        store
            .spend_token_id(a.account.id, "j1", a.at(Duration::from_secs(3600)), after)
            .await
            .expect("after exp"),
        "still remembered after its expiry"
    );
    assert!(
        !store
            .spend_token_id(a.account.id, "j1", a.at(Duration::from_secs(3600)), after)
            .await
            .expect("replay of the new one")
    );
}

/// Events come back in order, filtered by email and entity.
pub async fn events_round_trip(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let email = store
        .enqueue_one(fx.email(&fx.mailbox, "a@example.com"))
        .await
        .expect("enqueue")
        .id;
    let lead = crate::model::EntityRef::lead(7);
    let kinds = [
        EventKind::Queued,
        EventKind::Sent,
        EventKind::Opened,
        EventKind::Failed { reason: "x".into() },
    ];
    let events = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| NewEvent {
            account: fx.account.id,
            email: Some(email),
            entity: Some(lead),
            at: fx.at(Duration::from_secs(u64::try_from(i).unwrap_or(0))),
            kind: k.clone(),
            automated: i == 2,
        })
        .collect::<Vec<_>>();
    store.append_events(events.clone()).await.expect("append");
    assert_eq!(email_events(store, fx.account.id, email).await, events);
    let q = EventQuery {
        account: fx.account.id,
        email: None,
        entity: Some(lead),
        since: Some(fx.at(Duration::from_secs(2))),
        limit: 1,
    };
    let got = store.list_events(&q).await.expect("list since");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].event.kind, EventKind::Opened);
    assert!(got[0].event.automated);
}

/// `complete_with_events` marks the email sent and appends its events together; a worker that lost the
/// lease gets `LeaseLost` and appends nothing.
pub async fn complete_with_events_is_one_write(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let (w1, w2) = (StoreFixture::worker(1), StoreFixture::worker(2));
    let id = fx.claimed_email(&fx.mailbox, "a@example.com", &w1).await;
    let event = |worker: u8| NewEvent {
        account: fx.account.id,
        email: Some(id),
        entity: None,
        at: fx.now,
        kind: EventKind::Failed {
            reason: format!("by worker {worker}"),
        },
        automated: false,
    };
    let events = || email_events(store, fx.account.id, id);
    let err = store
        .complete_with_events(fx.account.id, id, &w2, fx.now, vec![event(2)])
        .await
        .expect_err("a worker without the lease completed");
    assert!(matches!(err, StoreError::LeaseLost { .. }), "{err:?}");
    assert!(events().await.is_empty(), "a lost lease appended its events");
    assert_eq!(
        store.get_email(fx.account.id, id).await.expect("get").status,
        EmailStatus::Sending
    );
    store
        .complete_with_events(fx.account.id, id, &w1, fx.now, vec![event(1), event(1)])
        .await
        .expect("complete");
    let email = store.get_email(fx.account.id, id).await.expect("get");
    assert_eq!(email.status, EmailStatus::Sent);
    assert_eq!(email.sent_at, Some(fx.now));
    assert_eq!(events().await, vec![event(1), event(1)]);
}

/// Completions that arrive together (a worker step's emails, sent concurrently) each get their own answer:
/// every email whose lease is held ends sent with its own events, and the one whose lease is held by
/// another worker gets `LeaseLost` and appends nothing, whatever the others do.
pub async fn concurrent_completions_each_get_their_own_answer(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let (w1, w2) = (StoreFixture::worker(1), StoreFixture::worker(2));
    let mailbox = fx.add_mailbox(fast()).await;
    let mut emails = Vec::new();
    for n in 0..12 {
        emails.push(fx.claimed_email(&mailbox, &format!("r{n}@example.com"), &w1).await);
    }
    let stolen = emails[5];
    let event = |id: EmailId, by: &str| NewEvent {
        account: fx.account.id,
        email: Some(id),
        entity: None,
        at: fx.now,
        kind: EventKind::Failed {
            reason: format!("sent by {by}"),
        },
        automated: false,
    };
    let completions = emails.iter().map(|&id| {
        let (worker, by) = if id == stolen { (&w2, "w2") } else { (&w1, "w1") };
        let events = vec![event(id, by)];
        async move {
            (
                id,
                store
                    .complete_with_events(fx.account.id, id, worker, fx.now, events)
                    .await,
            )
        }
    });
    for (id, result) in futures::future::join_all(completions).await {
        let email = store.get_email(fx.account.id, id).await.expect("get");
        let events = email_events(store, fx.account.id, id).await;
        if id == stolen {
            assert!(matches!(result, Err(StoreError::LeaseLost { .. })), "{result:?}");
            assert_eq!(email.status, EmailStatus::Sending, "a lost lease completed the email");
            assert!(events.is_empty(), "a lost lease appended {events:?}");
        } else {
            result.expect("complete");
            assert_eq!((email.status, email.sent_at), (EmailStatus::Sent, Some(fx.now)));
            assert_eq!(events, vec![event(id, "w1")], "email {id}");
        }
    }
}

/// `get_records` reads the asked records of one kind in one account, in id order, each once: not other
/// accounts' records, not other kinds', and an unknown id is left out.
pub async fn get_records_reads_many_at_once(store: &DynStore) {
    let a = StoreFixture::new(store).await;
    let b = StoreFixture::new(store).await;
    let second = a.add_mailbox(fast()).await;
    let template = store
        .insert(sample_template(a.account.id, a.user.id))
        .await
        .expect("template");
    let asked = [
        second.id.into(),
        b.mailbox.id.into(),
        a.mailbox.id.into(),
        i64::from(template.id),
        i64::MAX,
        second.id.into(),
    ];
    let got: Vec<Mailbox> = store.get_many(a.account.id, &asked).await.expect("get many");
    let mut want = vec![a.mailbox.clone(), second.clone()];
    want.sort_by_key(|m| m.id);
    assert_eq!(got, want);
    let none: Vec<Mailbox> = store.get_many(a.account.id, &[]).await.expect("none");
    assert!(none.is_empty());
}

/// `clicks_since` gives the moments one link of one email was clicked since a moment, oldest first: not
/// other links' clicks, other emails', other accounts', opens, or clicks before the moment.
pub async fn clicks_since_picks_one_links_clicks(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let other = StoreFixture::new(store).await;
    let mut ids = Vec::new();
    for (f, to) in [
        (&fx, "a@example.com"),
        (&fx, "b@example.com"),
        (&other, "c@example.com"),
    ] {
        ids.push(store.enqueue_one(f.email(&f.mailbox, to)).await.expect("enqueue").id);
    }
    let (email, second, others) = (ids[0], ids[1], ids[2]);
    let (link, another) = (TriggerLinkId(0), TriggerLinkId(5));
    let event = |account, email, secs: u64, kind: EventKind| NewEvent {
        account,
        email: Some(email),
        entity: None,
        at: fx.at(Duration::from_secs(secs)),
        kind,
        automated: false,
    };
    let a = fx.account.id;
    store
        .append_events(vec![
            event(a, email, 1, EventKind::Clicked { link }),
            event(a, email, 5, EventKind::Clicked { link }),
            event(a, email, 6, EventKind::Opened),
            event(a, email, 7, EventKind::Clicked { link: another }),
            event(a, second, 8, EventKind::Clicked { link }),
            event(other.account.id, others, 9, EventKind::Clicked { link }),
            event(a, email, 4, EventKind::Clicked { link }),
        ])
        .await
        .expect("append");
    let got = store
        .clicks_since(a, email, link, fx.at(Duration::from_secs(2)))
        .await
        .expect("clicks");
    assert_eq!(got, vec![fx.at(Duration::from_secs(4)), fx.at(Duration::from_secs(5))]);
    let none = store
        .clicks_since(other.account.id, email, link, fx.at(Duration::ZERO))
        .await
        .expect("another account's");
    assert!(none.is_empty(), "{none:?}");
}

/// The queue and history views filter by status, mailbox and page.
pub async fn list_emails_filters(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let a = store
        .enqueue_one(fx.email(&fx.mailbox, "a@example.com"))
        .await
        .expect("a")
        .id;
    let b = store.enqueue_one(fx.email(&mb, "b@example.com")).await.expect("b").id;
    let c = store.enqueue_one(fx.email(&mb, "c@example.com")).await.expect("c").id;
    let w = StoreFixture::worker(1);
    assert!(
        store
            .claim_email(fx.account.id, b, &w, fx.now, LEASE)
            .await
            .expect("claim")
            .is_some()
    );
    store.complete(fx.account.id, b, &w, fx.now).await.expect("complete");
    let mut q = EmailQuery::account(fx.account.id, 100);
    let all: Vec<EmailId> = store.list_emails(&q).await.expect("all").iter().map(|e| e.id).collect();
    assert_eq!(all, vec![a, b, c]);
    q.statuses = vec![EmailStatus::Queued];
    q.mailbox = Some(mb.id);
    let queued: Vec<EmailId> = store
        .list_emails(&q)
        .await
        .expect("queued")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(queued, vec![c]);
    let mut page = EmailQuery::account(fx.account.id, 1);
    page.after = Some(a);
    let next: Vec<EmailId> = store
        .list_emails(&page)
        .await
        .expect("page")
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(next, vec![b]);
}

/// Enqueueing for a mailbox of another account is refused.
pub async fn enqueue_checks_mailbox(store: &DynStore) {
    let a = StoreFixture::new(store).await;
    let b = StoreFixture::new(store).await;
    let err = store
        .enqueue_one(a.email(&b.mailbox, "x@example.com"))
        .await
        .expect_err("enqueued on b's mailbox");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");
}

/// A claimed email can be ended as cancelled (every recipient suppressed): final, never claimed again,
/// and only by the worker holding the lease.
pub async fn cancel_claimed_is_final(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let w = StoreFixture::worker(1);
    let id = fx.claimed_email(&mb, "a@example.com", &w).await;
    let other = store
        .cancel_claimed(fx.account.id, id, &StoreFixture::worker(2), "suppressed")
        .await
        .expect_err("another worker cancelled a leased email");
    assert!(matches!(other, StoreError::LeaseLost { .. }), "{other:?}");
    store
        .cancel_claimed(fx.account.id, id, &w, "suppressed")
        .await
        .expect("cancel");
    let email = store.get_email(fx.account.id, id).await.expect("get");
    assert_eq!(email.status, EmailStatus::Cancelled);
    assert_eq!(email.last_error.as_deref(), Some("suppressed"));
    let later = fx.at(Duration::from_secs(3600));
    let again = store.claim_due(&w, later, 1000, LEASE).await.expect("claim again");
    assert!(!ids(&again).contains(&id), "a cancelled email was claimed: {again:?}");
}

/// The suppression list: case-insensitive, once per address, per account, removable.
pub async fn suppression_list(store: &DynStore) {
    let a = StoreFixture::new(store).await;
    let b = StoreFixture::new(store).await;
    let acc = a.account.id;
    assert!(
        store
            .suppress(acc, "Anna@Example.com", "unsubscribed", a.now)
            .await
            .expect("suppress")
    );
    assert!(
        !store
            .suppress(acc, "anna@example.com", "hard bounce", a.at(Duration::from_secs(5)))
            .await
            .expect("again"),
        "the same address (other case) was added twice"
    );
    store
        .suppress(acc, "zed@example.com", "hard bounce", a.now)
        .await
        .expect("zed");
    let asked = vec![
        "anna@example.com".to_owned(),
        "boris@example.com".to_owned(),
        "ZED@example.com".to_owned(),
    ];
    assert_eq!(
        store.suppressed(acc, &asked).await.expect("suppressed"),
        vec!["anna@example.com".to_owned(), "zed@example.com".to_owned()]
    );
    assert!(
        store.suppressed(b.account.id, &asked).await.expect("b").is_empty(),
        "another account's list leaked"
    );
    assert!(store.suppressed(acc, &[]).await.expect("none").is_empty());
    let list = store.list_suppressions(acc).await.expect("list");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].address, "anna@example.com");
    assert_eq!(list[0].reason, "unsubscribed", "the first reason is kept");
    assert_eq!(list[0].at, a.now);
    assert!(store.list_suppressions(b.account.id).await.expect("b list").is_empty());
    assert!(store.unsuppress(acc, "ANNA@example.com").await.expect("unsuppress"));
    assert!(!store.unsuppress(acc, "anna@example.com").await.expect("twice"));
    assert_eq!(
        store.suppressed(acc, &asked).await.expect("after"),
        vec!["zed@example.com".to_owned()]
    );
}

/// CRM links: saved with a growing version, found by account and by CRM id, tokens kept exactly; a second
/// account cannot take the same CRM id; the tokens' compare-and-swap wins once per version.
pub async fn crm_link_compare_and_swap(store: &DynStore) {
    use crate::model::{CrmLink, LinkStatus, Secret};
    let a = StoreFixture::new(store).await;
    let b = StoreFixture::new(store).await;
    let external = 9_000_000_000 + a.account.id.0;
    let link = CrmLink {
        account: a.account.id,
        external_id: external,
        domain: "acme.kommo.com".into(),
        status: LinkStatus::Active,
        detail: None,
        tokens: Some(Secret::new("{\"access_token\":\"t1\"}")),
        version: 0,
        updated_at: a.now,
    };
    let saved = store.put_crm_link(link.clone()).await.expect("put");
    assert_eq!(saved.version, 1);
    assert_eq!(store.crm_link(a.account.id).await.expect("get"), Some(saved.clone()));
    assert_eq!(
        store.crm_link_by_external(external).await.expect("by external"),
        Some(saved.clone())
    );
    assert_eq!(store.crm_link(b.account.id).await.expect("b"), None);
    let stolen = CrmLink {
        account: b.account.id,
        ..link.clone()
    };
    assert!(
        matches!(store.put_crm_link(stolen).await, Err(StoreError::Conflict { .. })),
        "two accounts linked one CRM account"
    );
    let again = store.put_crm_link(link.clone()).await.expect("put again");
    assert_eq!(again.version, 2);
    let later = a.at(Duration::from_secs(10));
    let won = store
        .swap_crm_tokens(a.account.id, 2, Some(Secret::new("t2")), later)
        .await
        .expect("swap");
    assert_eq!(won, Some(3));
    let lost = store
        .swap_crm_tokens(a.account.id, 2, Some(Secret::new("t3")), later)
        .await
        .expect("stale swap");
    assert_eq!(lost, None, "a swap against a stale version won");
    let now = store.crm_link(a.account.id).await.expect("read").expect("link");
    assert_eq!(now.tokens, Some(Secret::new("t2")));
    assert_eq!((now.version, now.updated_at), (3, later));
    assert_eq!(
        store.swap_crm_tokens(a.account.id, 3, None, later).await.expect("wipe"),
        Some(4)
    );
    let wiped = store.crm_link(a.account.id).await.expect("read").expect("link");
    assert_eq!(wiped.tokens, None);
    assert!(
        store
            .list_crm_links()
            .await
            .expect("list")
            .iter()
            .any(|l| l.account == a.account.id),
        "the link is not listed"
    );
}

/// Our email is found by its Message-ID in its own account only; a bounce ends a sent email failed once.
pub async fn bounce_by_message_id(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let other = StoreFixture::new(store).await;
    let mb = fx.add_mailbox(fast()).await;
    let spec = fx.email(&mb, "gone@example.com");
    let message_id = spec.message_id.clone();
    let id = store.enqueue_one(spec).await.expect("enqueue").id;
    let acc = fx.account.id;
    let found = store.find_email_by_message_id(acc, &message_id).await.expect("find");
    assert_eq!(found.map(|e| e.id), Some(id));
    assert!(
        store
            .find_email_by_message_id(other.account.id, &message_id)
            .await
            .expect("other")
            .is_none()
    );
    assert!(
        store
            .find_email_by_message_id(acc, "nobody@else")
            .await
            .expect("none")
            .is_none()
    );
    assert!(
        !store.bounce_email(acc, id, "bounced: 5.1.1").await.expect("queued"),
        "a queued email bounced"
    );
    let w = StoreFixture::worker(1);
    assert!(
        store
            .claim_email(acc, id, &w, fx.now, LEASE)
            .await
            .expect("claim")
            .is_some()
    );
    store.complete(acc, id, &w, fx.now).await.expect("complete");
    assert!(
        store
            .bounce_email(acc, id, "bounced: 5.1.1 user unknown")
            .await
            .expect("bounce")
    );
    assert!(
        !store.bounce_email(acc, id, "again").await.expect("again"),
        "bounced twice"
    );
    let email = store.get_email(acc, id).await.expect("get");
    assert_eq!(email.status, EmailStatus::Failed);
    assert_eq!(email.last_error.as_deref(), Some("bounced: 5.1.1 user unknown"));
    assert!(matches!(
        store.bounce_email(other.account.id, id, "x").await,
        Err(StoreError::NotFound { .. })
    ));
}

/// The INBOX cursor only moves forward under one UIDVALIDITY, is replaced by a new one, and is per
/// mailbox; every mailbox is listed.
pub async fn inbox_cursor_moves_forward(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let acc = fx.account.id;
    let mb = fx.add_mailbox(fast()).await;
    assert_eq!(store.inbox_cursor(acc, mb.id).await.expect("none"), None);
    let at = |uid_validity, last_uid| InboxCursor { uid_validity, last_uid };
    store.save_inbox_cursor(acc, mb.id, at(7, 5)).await.expect("save");
    store.save_inbox_cursor(acc, mb.id, at(7, 3)).await.expect("back");
    assert_eq!(
        store.inbox_cursor(acc, mb.id).await.expect("get"),
        Some(at(7, 5)),
        "moved back"
    );
    store.save_inbox_cursor(acc, mb.id, at(7, 9)).await.expect("on");
    assert_eq!(store.inbox_cursor(acc, mb.id).await.expect("get"), Some(at(7, 9)));
    store
        .save_inbox_cursor(acc, mb.id, at(8, 2))
        .await
        .expect("new validity");
    assert_eq!(store.inbox_cursor(acc, mb.id).await.expect("get"), Some(at(8, 2)));
    assert_eq!(
        store.inbox_cursor(acc, fx.mailbox.id).await.expect("other mailbox"),
        None
    );
    let all = store.all_mailboxes().await.expect("all");
    assert!(
        all.contains(&(acc, mb.id)) && all.contains(&(acc, fx.mailbox.id)),
        "{all:?}"
    );
}

/// Bounce, reply and auto-reply events are counted per mailing and per mailbox.
pub async fn reaction_counts_by_scope(store: &DynStore) {
    let fx = StoreFixture::new(store).await;
    let acc = fx.account.id;
    let mb = fx.add_mailbox(fast()).await;
    let template = store.insert(sample_template(acc, fx.user.id)).await.expect("template");
    let mailing = store
        .insert(sample_mailing(acc, template.id, mb.id, fx.user.id, fx.now))
        .await
        .expect("mailing");
    let in_mailing = store
        .enqueue_one(fx.mailing_email(&mb, mailing.id, 1))
        .await
        .expect("m")
        .id;
    let single = store
        .enqueue_one(fx.email(&fx.mailbox, "s@example.com"))
        .await
        .expect("s")
        .id;
    let event = |email, kind| NewEvent {
        account: acc,
        email: Some(email),
        entity: None,
        at: fx.now,
        kind,
        automated: false,
    };
    let bounce = |hard: bool| {
        let (recipient, status, diagnostic) = (None, Some("5.1.1".to_owned()), "550".to_owned());
        if hard {
            EventKind::Bounced {
                recipient,
                status,
                diagnostic,
            }
        } else {
            EventKind::SoftBounced {
                recipient,
                status,
                diagnostic,
            }
        }
    };
    let replied = EventKind::Replied {
        message_id: None,
        from: None,
    };
    let auto = EventKind::AutoReplied {
        message_id: None,
        from: None,
    };
    store
        .append_events(vec![
            event(in_mailing, bounce(true)),
            event(in_mailing, bounce(false)),
            event(in_mailing, bounce(false)),
            event(in_mailing, replied.clone()),
            event(in_mailing, EventKind::Opened),
            event(single, replied),
            event(single, auto),
        ])
        .await
        .expect("events");
    let by_mailing = store
        .reaction_counts(acc, ReactionScope::Mailing(mailing.id))
        .await
        .expect("mailing");
    assert_eq!(
        by_mailing,
        ReactionCounts {
            hard_bounces: 1,
            soft_bounces: 2,
            replies: 1,
            auto_replies: 0
        }
    );
    let by_mailbox = store
        .reaction_counts(acc, ReactionScope::Mailbox(fx.mailbox.id))
        .await
        .expect("mailbox");
    assert_eq!(
        by_mailbox,
        ReactionCounts {
            hard_bounces: 0,
            soft_bounces: 0,
            replies: 1,
            auto_replies: 1
        }
    );
}

/// Generates one `#[test]` per store conformance case. `$setup` is an async fn returning
/// `Option<S>` where `S` derefs to a store (`Box<dyn Store>`, `Arc<MemoryStore>` …); `None` skips (the
/// setup prints why; it must panic instead when `MAILER_TEST_REQUIRE_ALL=1`).
#[macro_export]
macro_rules! store_conformance_tests {
    ($setup:path) => {
        $crate::__conformance_tests!($setup, store_conformance;
            enqueue_claim_complete, claim_is_exclusive, lease_expiry_gives_email_back, retry_at_is_honoured,
            fail_is_final, account_isolation, timers_come_due_in_order, timer_keys_replace_and_cancel,
            crud_round_trips, enqueue_is_idempotent, spacing_holds_across_workers, daily_cap_holds,
            no_cap_sends_at_every_claim, a_lifted_mailbox_gives_its_share_of_a_claim,
            single_before_mailing, mailings_alternate, pause_resume_cancel_mailing, mark_once_is_once,
            token_ids_are_spent_once_until_they_expire,
            events_round_trip, complete_with_events_is_one_write, concurrent_completions_each_get_their_own_answer,
            get_records_reads_many_at_once, clicks_since_picks_one_links_clicks, list_emails_filters, enqueue_checks_mailbox, cancel_claimed_is_final,
            suppression_list, sent_bytes_and_their_timer_come_back_exactly, crm_link_compare_and_swap,
            bounce_by_message_id, inbox_cursor_moves_forward, reaction_counts_by_scope);
    };
}
