//! The launch rules of the manual: which triggers an occurrence fires, when, and which timers it moves.

#![allow(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] fns panic on bad fixtures"
)]

use std::collections::HashSet;
use std::time::Duration;

use mailer_core::model::{
    AccountId, Action, EmailId, EmailTriggers, EntityRef, NotOpened, TemplateId, TimerAction, Timestamp, Trigger,
    TriggerId, TriggerLink, TriggerLinkId, WebPage, WebPageId,
};
use mailer_core::trigger::{
    Fired, Occurrence, TriggerError, launch, once_key, once_key_link, once_key_opened, once_key_page,
    timer_key_not_opened, validate_email_triggers, validate_trigger,
};

const ACCOUNT: AccountId = AccountId(1);

fn t0() -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2024-03-10T08:00:00Z")
        .unwrap()
        .to_utc()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn plus(at: Timestamp, d: Duration) -> Timestamp {
    at + chrono::Duration::from_std(d).unwrap()
}

fn trigger(id: i64, delay: Duration) -> Trigger {
    Trigger {
        id: TriggerId(id),
        account: ACCOUNT,
        name: format!("trigger {id}"),
        action: Action::AddNote { text: "note".into() },
        delay,
    }
}

fn ids(v: &[i64]) -> Vec<TriggerId> {
    v.iter().copied().map(TriggerId).collect()
}

fn link(once: bool, triggers: &[i64]) -> TriggerLink {
    TriggerLink {
        id: TriggerLinkId(8),
        account: ACCOUNT,
        name: "Link to the offer".into(),
        once,
        redirect: None,
        triggers: ids(triggers),
    }
}

fn page(on_open: &[i64]) -> WebPage {
    WebPage {
        id: WebPageId(1028),
        account: ACCOUNT,
        header: "Offer".into(),
        slug: "offer".into(),
        content: mailer_core::model::Content {
            subject: String::new(),
            body: mailer_core::model::Body::Html("<p>offer</p>".into()),
            text: None,
        },
        lifetime_days: 30,
        cache: secs(60),
        subdomain: None,
        on_open: ids(on_open),
        metric_counter: None,
        gtm_id: None,
    }
}

fn all_triggers() -> Vec<Trigger> {
    (1..=9).map(|i| trigger(i, Duration::ZERO)).collect()
}

fn fired_ids(launch: &mailer_core::trigger::Launch) -> Vec<i64> {
    launch.run.iter().map(|s| s.trigger.0).collect()
}

/// A stand-in for `Store::mark_once`.
#[derive(Default)]
struct Once(HashSet<String>);

impl Once {
    fn fired(&mut self, occurrence: &Occurrence<'_>) -> Fired {
        match once_key(occurrence) {
            Some(key) => Fired::from_mark_once(occurrence, self.0.insert(key)),
            None => Fired::NOTHING,
        }
    }
}

#[test]
fn sent_runs_on_sent_triggers_at_once_and_sets_the_not_opened_timer() {
    let on = EmailTriggers {
        on_sent: ids(&[1, 2]),
        not_opened: Some(NotOpened {
            after: secs(24 * 3600),
            triggers: ids(&[3]),
        }),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Sent {
        email: EmailId(5),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()).unwrap();
    assert_eq!(fired_ids(&out), [1, 2]);
    assert!(
        out.run.iter().all(|s| s.run_at == t0()),
        "zero delay runs at the event: {out:?}"
    );
    let timer = out.set_timer.expect("not-opened timer");
    assert_eq!(timer.key, timer_key_not_opened(EmailId(5)));
    assert_eq!(timer.due_at, plus(t0(), secs(24 * 3600)));
    assert_eq!(timer.action, TimerAction::NotOpened { email: EmailId(5) });
    assert_eq!(timer.account, ACCOUNT);
    assert_eq!(out.cancel_timer, None);
}

#[test]
fn sent_without_not_opened_sets_no_timer() {
    let on = EmailTriggers {
        on_sent: ids(&[1]),
        ..EmailTriggers::default()
    };
    let out = launch(
        ACCOUNT,
        &Occurrence::Sent {
            email: EmailId(1),
            triggers: &on,
        },
        t0(),
        Fired::NOTHING,
        &all_triggers(),
    )
    .unwrap();
    assert_eq!(out.set_timer, None);
}

#[test]
fn not_opened_timer_under_a_minute_is_refused() {
    let on = EmailTriggers {
        not_opened: Some(NotOpened {
            after: secs(59),
            triggers: ids(&[1]),
        }),
        ..EmailTriggers::default()
    };
    let expected = TriggerError::NotOpenedTooShort { after: secs(59) };
    assert_eq!(validate_email_triggers(&on), Err(expected.clone()));
    let occ = Occurrence::Sent {
        email: EmailId(1),
        triggers: &on,
    };
    assert_eq!(
        launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()),
        Err(expected)
    );
}

#[test]
fn not_opened_timer_of_one_minute_and_of_a_year_are_accepted() {
    for after in [secs(60), secs(365 * 24 * 3600)] {
        let on = EmailTriggers {
            not_opened: Some(NotOpened {
                after,
                triggers: ids(&[1]),
            }),
            ..EmailTriggers::default()
        };
        assert_eq!(validate_email_triggers(&on), Ok(()));
        let occ = Occurrence::Sent {
            email: EmailId(1),
            triggers: &on,
        };
        let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()).unwrap();
        assert_eq!(out.set_timer.map(|t| t.due_at), Some(plus(t0(), after)));
    }
}

#[test]
fn opened_fires_once_per_email_even_with_several_contacts() {
    let on = EmailTriggers {
        on_opened: ids(&[2]),
        ..EmailTriggers::default()
    };
    let mut once = Once::default();
    let triggers = all_triggers();
    let mut runs = Vec::new();
    // Two contacts of one entity got the same email (one email, several recipients): both open it.
    for (i, at) in [t0(), plus(t0(), secs(600))].into_iter().enumerate() {
        let occ = Occurrence::Opened {
            email: EmailId(5),
            triggers: &on,
        };
        let out = launch(ACCOUNT, &occ, at, once.fired(&occ), &triggers).unwrap();
        runs.push((i, fired_ids(&out)));
    }
    assert_eq!(runs, [(0, vec![2]), (1, vec![])], "opened fired more than once");
    // Another email of the same template still fires.
    let occ = Occurrence::Opened {
        email: EmailId(6),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), once.fired(&occ), &triggers).unwrap();
    assert_eq!(fired_ids(&out), [2]);
}

#[test]
fn opened_cancels_the_not_opened_timer_every_time() {
    let on = EmailTriggers {
        on_opened: ids(&[2]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Opened {
        email: EmailId(5),
        triggers: &on,
    };
    for fired in [Fired::NOTHING, Fired::from_mark_once(&occ, false)] {
        let out = launch(ACCOUNT, &occ, t0(), fired, &all_triggers()).unwrap();
        assert_eq!(
            out.cancel_timer.as_deref(),
            Some(timer_key_not_opened(EmailId(5)).as_str())
        );
        assert_eq!(out.set_timer, None);
    }
}

#[test]
fn not_opened_fires_its_triggers_unless_the_email_was_opened() {
    let on = EmailTriggers {
        not_opened: Some(NotOpened {
            after: secs(3600),
            triggers: ids(&[4, 5]),
        }),
        on_opened: ids(&[2]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::NotOpened {
        email: EmailId(5),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()).unwrap();
    assert_eq!(fired_ids(&out), [4, 5]);
    let opened = Fired {
        already_opened: true,
        ..Fired::NOTHING
    };
    let out = launch(ACCOUNT, &occ, t0(), opened, &all_triggers()).unwrap();
    assert!(out.is_empty(), "opened email fired not-opened triggers: {out:?}");
}

#[test]
fn failed_fires_on_failed_triggers_only() {
    let on = EmailTriggers {
        on_sent: ids(&[1]),
        on_opened: ids(&[2]),
        on_failed: ids(&[6]),
        not_opened: Some(NotOpened {
            after: secs(3600),
            triggers: ids(&[4]),
        }),
        on_replied: Vec::new(),
    };
    let occ = Occurrence::Failed {
        email: EmailId(5),
        triggers: &on,
        reason: "554 5.7.1 rejected as spam",
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()).unwrap();
    assert_eq!(fired_ids(&out), [6]);
    assert_eq!(out.set_timer, None, "a failed email has no not-opened timer");
}

#[test]
fn one_time_link_fires_once_per_entity() {
    let link = link(true, &[3]);
    let mut once = Once::default();
    let triggers = all_triggers();
    let lead = EntityRef::lead(42);
    let mut click = |entity| {
        let occ = Occurrence::LinkClicked { link: &link, entity };
        fired_ids(&launch(ACCOUNT, &occ, t0(), once.fired(&occ), &triggers).unwrap())
    };
    // Two contacts of lead 42 click (their links carry the lead); the first click fires.
    assert_eq!(click(lead), [3]);
    assert_eq!(click(lead), Vec::<i64>::new());
    // Another entity is another "once".
    assert_eq!(click(EntityRef::lead(43)), [3]);
    assert_eq!(click(EntityRef::contact(42)), [3], "a contact 42 is not lead 42");
}

#[test]
fn every_time_link_fires_on_each_click() {
    let link = link(false, &[3, 4]);
    assert_eq!(
        once_key(&Occurrence::LinkClicked {
            link: &link,
            entity: EntityRef::lead(1)
        }),
        None
    );
    let mut once = Once::default();
    for _ in 0..3 {
        let occ = Occurrence::LinkClicked {
            link: &link,
            entity: EntityRef::lead(42),
        };
        let out = launch(ACCOUNT, &occ, t0(), once.fired(&occ), &all_triggers()).unwrap();
        assert_eq!(fired_ids(&out), [3, 4]);
    }
}

#[test]
fn page_open_fires_once_per_page_and_entity() {
    let page = page(&[7]);
    let mut once = Once::default();
    let mut open = |entity| {
        let occ = Occurrence::PageOpened { page: &page, entity };
        fired_ids(&launch(ACCOUNT, &occ, t0(), once.fired(&occ), &all_triggers()).unwrap())
    };
    assert_eq!(open(EntityRef::lead(1)), [7]);
    assert_eq!(open(EntityRef::lead(1)), Vec::<i64>::new());
    assert_eq!(open(EntityRef::lead(2)), [7]);
}

#[test]
fn form_submission_fires_nothing() {
    let occ = Occurrence::FormSubmitted {
        email: Some(EmailId(1)),
    };
    assert_eq!(once_key(&occ), None);
    assert!(
        launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn several_triggers_run_in_their_order_and_delays_defer_them() {
    let triggers = vec![
        trigger(1, secs(10)),
        trigger(2, Duration::ZERO),
        trigger(3, secs(10)),
        trigger(4, secs(1)),
        trigger(5, Duration::ZERO),
    ];
    let on = EmailTriggers {
        on_sent: ids(&[1, 2, 3, 4, 5]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Sent {
        email: EmailId(1),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &triggers).unwrap();
    let got: Vec<(i64, Timestamp, usize)> = out.run.iter().map(|s| (s.trigger.0, s.run_at, s.position)).collect();
    assert_eq!(
        got,
        [
            (2, t0(), 1),
            (5, t0(), 4),
            (4, plus(t0(), secs(1)), 3),
            (1, plus(t0(), secs(10)), 0),
            (3, plus(t0(), secs(10)), 2),
        ]
    );
}

#[test]
fn same_trigger_twice_runs_twice() {
    let on = EmailTriggers {
        on_sent: ids(&[1, 1]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Sent {
        email: EmailId(1),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()).unwrap();
    assert_eq!(fired_ids(&out), [1, 1]);
}

#[test]
fn delay_between_zero_and_one_second_is_refused() {
    let bad = trigger(1, Duration::from_millis(500));
    let expected = TriggerError::DelayTooShort {
        trigger: TriggerId(1),
        delay: Duration::from_millis(500),
    };
    assert_eq!(validate_trigger(&bad), Err(expected.clone()));
    let on = EmailTriggers {
        on_sent: ids(&[1]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Sent {
        email: EmailId(1),
        triggers: &on,
    };
    assert_eq!(launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &[bad]), Err(expected));
    for ok in [Duration::ZERO, secs(1), secs(10 * 365 * 24 * 3600)] {
        assert_eq!(validate_trigger(&trigger(1, ok)), Ok(()), "{ok:?}");
    }
}

#[test]
fn a_delay_past_the_end_of_time_is_an_error_not_a_panic() {
    let on = EmailTriggers {
        on_sent: ids(&[1]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Sent {
        email: EmailId(1),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &[trigger(1, Duration::MAX)]);
    assert_eq!(out, Err(TriggerError::TooFarAhead { wait: Duration::MAX }));
}

#[test]
fn deleted_triggers_are_reported_missing_and_the_rest_still_run() {
    let on = EmailTriggers {
        on_sent: ids(&[1, 99, 2]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Sent {
        email: EmailId(1),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &all_triggers()).unwrap();
    assert_eq!(fired_ids(&out), [1, 2]);
    assert_eq!(out.missing, [TriggerId(99)]);
}

#[test]
fn once_keys_separate_emails_links_entities_and_pages() {
    let l = link(true, &[]);
    let keys = [
        once_key_opened(EmailId(1)),
        once_key_opened(EmailId(2)),
        once_key_link(&l, EntityRef::lead(1)),
        once_key_link(&l, EntityRef::contact(1)),
        once_key_link(&l, EntityRef::lead(2)),
        once_key_page(WebPageId(8), EntityRef::lead(1)),
        timer_key_not_opened(EmailId(1)),
    ];
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), keys.len(), "keys collide: {keys:?}");
    let on = EmailTriggers::default();
    assert_eq!(
        once_key(&Occurrence::Opened {
            email: EmailId(1),
            triggers: &on
        }),
        Some(keys[0].clone())
    );
    for occ in [
        Occurrence::Sent {
            email: EmailId(1),
            triggers: &on,
        },
        Occurrence::NotOpened {
            email: EmailId(1),
            triggers: &on,
        },
        Occurrence::Failed {
            email: EmailId(1),
            triggers: &on,
            reason: "x",
        },
    ] {
        assert_eq!(once_key(&occ), None, "{occ:?} fires every time");
    }
}

#[test]
fn send_email_triggers_are_scheduled_like_any_other() {
    let mut send = trigger(1, secs(3600));
    send.action = Action::SendEmail {
        template: TemplateId(7),
    };
    let on = EmailTriggers {
        on_opened: ids(&[1]),
        ..EmailTriggers::default()
    };
    let occ = Occurrence::Opened {
        email: EmailId(1),
        triggers: &on,
    };
    let out = launch(ACCOUNT, &occ, t0(), Fired::NOTHING, &[send]).unwrap();
    assert_eq!(out.run[0].run_at, plus(t0(), secs(3600)));
}
