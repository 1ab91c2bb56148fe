//! The manual's "Widget setup example", end to end over the engine, the testkit CRM and a manual clock:
//! template "Offer" sent from the digital pipeline when a lead reaches "Qualified"; after sending the lead
//! moves to "Offer sent"; an open sets the task "Call the client"; a one-time trigger link moves the lead
//! to "Familiar with the offer"; not opened within 24 hours, a reminder is sent.

use std::time::Duration;

use mailer_core::engine::{EngineError, HONEYPOT_LINK, HitInfo, HitOutcome, PipelineEvent, StageChange};
use mailer_core::model::{
    Action, Assignee, Body, Content, CrmAction, Deadline, EmailTriggers, Event, EventKind, EventQuery, NotOpened,
    PipelineRule, PipelineRuleId, RecipientRule, StageEvent, Template, TemplateId, Trigger, TriggerId, TriggerLink,
    TriggerLinkId,
};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::template::{TokenKind, TokenKindTag};
use mailer_core::testkit::Harness;

const HOUR: Duration = Duration::from_secs(3600);

struct Setup {
    h: Harness,
    offer: Template,
}

async fn trigger(h: &Harness, name: &str, action: Action) -> TriggerId {
    let t = Trigger {
        id: TriggerId(0),
        account: h.account.id,
        name: name.into(),
        action,
        delay: Duration::ZERO,
    };
    h.store.insert(t).await.expect("trigger").id
}

fn template(h: &Harness, name: &str, body: &str, triggers: EmailTriggers) -> Template {
    Template {
        id: TemplateId(0),
        account: h.account.id,
        name: name.into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: format!("{name} for {{{{ lead.name }}}}"),
            body: Body::Html(body.into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers,
        owner: h.admin.id,
        public: false,
        signature_disabled: false,
    }
}

async fn setup() -> Setup {
    let h = Harness::new().await;
    let w = h.world.clone();
    let offer_sent = trigger(
        &h,
        "Change stage to Offer sent",
        Action::ChangeStage {
            pipeline: w.pipeline,
            stage: w.stages[1],
        },
    )
    .await;
    let set_task = trigger(
        &h,
        "Set task",
        Action::SetTask {
            task_type: 1,
            deadline: Deadline::After(HOUR),
            assignee: Assignee::Responsible,
            text: "Call the client that has opened the offer {subject}".into(),
        },
    )
    .await;
    let familiar = trigger(
        &h,
        "Change stage to Familiar with the offer",
        Action::ChangeStage {
            pipeline: w.pipeline,
            stage: w.stages[2],
        },
    )
    .await;
    let link = h
        .store
        .insert(TriggerLink {
            id: TriggerLinkId(0),
            account: h.account.id,
            name: "Link to the offer".into(),
            once: true,
            redirect: Some("https://example.com/offer.pdf".into()),
            triggers: vec![familiar],
        })
        .await
        .expect("link");
    let reminder = h
        .engine
        .save_template(
            h.admin.id,
            template(
                &h,
                "Offer reminder",
                "<p>Did you see our offer, {{ contact.name }}?</p>",
                EmailTriggers::default(),
            ),
        )
        .await
        .expect("reminder");
    let resend = trigger(&h, "Resend email", Action::SendEmail { template: reminder.id }).await;
    let body = format!(
        "<p>Hello {{{{ contact.name }}}}!</p><a href=\"{{triggerlink:{}}}\">Read the offer</a>",
        link.id
    );
    let triggers = EmailTriggers {
        on_sent: vec![offer_sent],
        on_opened: vec![set_task],
        not_opened: Some(NotOpened {
            after: 24 * HOUR,
            triggers: vec![resend],
        }),
        on_failed: Vec::new(),
        on_replied: Vec::new(),
    };
    let offer = h
        .engine
        .save_template(h.admin.id, template(&h, "Offer", &body, triggers))
        .await
        .expect("offer");
    h.store
        .insert(PipelineRule {
            id: PipelineRuleId(0),
            account: h.account.id,
            pipeline: w.pipeline,
            stage: w.stages[0],
            on: StageEvent::CreatedOrMovedIn,
            filter: Default::default(),
            template: offer.id,
            mailbox: h.mailbox.id,
            delay: Duration::ZERO,
        })
        .await
        .expect("rule");
    Setup { h, offer }
}

/// The lead reaches "Qualified": the offer goes to both contacts and the lead moves to "Offer sent".
async fn qualify(s: &Setup) -> String {
    let h = &s.h;
    let w = &h.world;
    let event = PipelineEvent {
        event_id: "dp:qualified:1".into(),
        account: h.account.id,
        lead: w.lead,
        pipeline: w.pipeline,
        stage: w.stages[0],
        change: StageChange::Moved,
    };
    let queued = h.engine.pipeline_event(&event).await.expect("pipeline event");
    assert_eq!(queued.len(), 1);
    let report = h.engine.worker_step().await.expect("step");
    assert_eq!(report.sent, 1);
    let sent = h.transport.sent();
    assert_eq!(sent.len(), 1);
    let mut to: Vec<&str> = sent[0].message.to.iter().map(|a| a.email.as_str()).collect();
    to.sort_unstable();
    assert_eq!(to, ["anna@example.com", "boris@example.com"]);
    assert_eq!(sent[0].message.subject, "Offer for Offer for Acme");
    let stage = h.crm.current(h.account.id, w.lead).and_then(|l| l.stage);
    assert_eq!(
        stage,
        Some((w.pipeline, w.stages[1])),
        "after-send trigger did not move the lead"
    );
    sent[0].message.html.clone()
}

fn url(html: &str, route: &str) -> String {
    let start = html
        .find(&format!("https://t.example.com{route}"))
        .unwrap_or_else(|| panic!("no {route} url in {html}"));
    let rest = &html[start..];
    let end = rest.find(['"', '\'', ' ', '<']).unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn token(url: &str) -> &str {
    url.rsplit('/').next().expect("token")
}

fn stage_changes(s: &Setup) -> usize {
    s.h.crm
        .applied(s.h.account.id)
        .iter()
        .filter(|a| matches!(a, CrmAction::ChangeStage { .. }))
        .count()
}

#[tokio::test]
async fn the_manual_setup_example_runs_each_action_once_at_the_right_time() {
    let s = setup().await;
    let h = &s.h;
    let w = &h.world;
    let html = qualify(&s).await;
    let human = HitInfo {
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36".into()),
        honeypot: false,
    };

    // Opened a minute later by Anna: the task is set once, for the responsible manager.
    h.clock.advance(Duration::from_secs(60));
    let pixel = url(&html, "/t/o/");
    h.engine.record_hit(token(&pixel), &human).await.expect("open");
    let tasks = h.crm.tasks(h.account.id, w.lead);
    assert_eq!(tasks.len(), 1, "open did not set exactly one task: {tasks:?}");
    let CrmAction::SetTask {
        text, due, assignee, ..
    } = &tasks[0]
    else {
        unreachable!()
    };
    assert_eq!(
        text,
        "Call the client that has opened the offer Offer for Offer for Acme"
    );
    assert_eq!(*assignee, Assignee::Responsible);
    assert_eq!(*due, h.now() + chrono::Duration::hours(1));
    // Boris opens too: "opened" fires once per email.
    h.engine.record_hit(token(&pixel), &human).await.expect("second open");
    assert_eq!(
        h.crm.tasks(h.account.id, w.lead).len(),
        1,
        "a second open set another task"
    );

    // The one-time link: the lead moves to "Familiar with the offer"; a second click changes nothing.
    let link = url(&html, "/t/l/");
    let before = stage_changes(&s);
    let outcome = h.engine.record_hit(token(&link), &human).await.expect("click");
    assert_eq!(
        outcome,
        mailer_core::engine::HitOutcome::Redirect(Some("https://example.com/offer.pdf".into()))
    );
    assert_eq!(
        h.crm.current(h.account.id, w.lead).and_then(|l| l.stage),
        Some((w.pipeline, w.stages[2]))
    );
    assert_eq!(stage_changes(&s), before + 1);
    h.engine.record_hit(token(&link), &human).await.expect("second click");
    assert_eq!(stage_changes(&s), before + 1, "a one-time link fired twice");

    // Opened, so the not-opened timer was cancelled: no reminder after 24 hours.
    let report = h.run(HOUR, 30, 30).await;
    assert_eq!(report.sent, 0, "a reminder went out although the email was opened");
    assert_eq!(h.transport.sent_count(), 1);
}

#[tokio::test]
async fn an_unopened_offer_sends_the_reminder_once_after_24_hours() {
    let s = setup().await;
    let h = &s.h;
    qualify(&s).await;
    h.clock.advance(23 * HOUR);
    assert_eq!(
        h.run(Duration::from_secs(60), 5, 5).await.sent,
        0,
        "reminder before 24 hours"
    );
    h.clock.advance(HOUR);
    let report = h.run(Duration::from_secs(1), 10, 3).await;
    assert_eq!(report.sent, 1, "no reminder after 24 hours");
    let sent = h.transport.sent();
    assert_eq!(sent[1].message.subject, "Offer reminder for Offer for Acme");
    h.clock.advance(48 * HOUR);
    assert_eq!(h.run(HOUR, 10, 10).await.sent, 0, "the reminder repeated");
}

#[tokio::test]
async fn an_offer_that_resends_itself_when_not_opened_is_refused() {
    let s = setup().await;
    let h = &s.h;
    let resend_self = trigger(h, "Resend", Action::SendEmail { template: s.offer.id }).await;
    let mut looped = s.offer.clone();
    looped.triggers.not_opened = Some(NotOpened {
        after: 24 * HOUR,
        triggers: vec![resend_self],
    });
    let err = h
        .engine
        .save_template(h.admin.id, looped)
        .await
        .expect_err("a recipient-free loop was saved");
    let EngineError::Loop(e) = err else {
        panic!("not a loop error: {err}")
    };
    let text = e.to_string();
    assert!(
        text.contains("Offer --not opened 24h--> Resend --send email--> Offer"),
        "{text}"
    );
}

/// A reply from the lead's contact, answering `message_id`.
fn reply_to(message_id: &str, auto: bool) -> Vec<u8> {
    let auto = if auto {
        "Auto-Submitted: auto-replied\r\nSubject: Automatic reply: Offer\r\n"
    } else {
        "Subject: Re: Offer\r\n"
    };
    format!(
        "From: Anna <anna@example.com>\r\nTo: sales@example.com\r\n{auto}Message-ID: <r1.{message_id}>\r\n\
         In-Reply-To: <{message_id}>\r\nReferences: <{message_id}>\r\n\r\nThanks, let us talk on Monday.\r\n"
    )
    .into_bytes()
}

fn sent_message_id(h: &Harness) -> String {
    h.transport.sent()[0].message.message_id.clone()
}

#[tokio::test]
async fn a_lead_who_replied_within_24_hours_gets_no_reminder() {
    let s = setup().await;
    let h = &s.h;
    qualify(&s).await;
    h.clock.advance(2 * HOUR);
    let handled = h
        .engine
        .handle_received(h.account.id, &reply_to(&sent_message_id(h), false))
        .await
        .expect("reply");
    assert!(
        matches!(handled, mailer_core::engine::Handled::Reply { .. }),
        "{handled:?}"
    );
    h.clock.advance(23 * HOUR);
    assert_eq!(
        h.run(HOUR, 10, 10).await.sent,
        0,
        "the reminder went to a lead who replied"
    );
    assert_eq!(h.transport.sent_count(), 1);
}

#[tokio::test]
async fn an_auto_reply_does_not_stop_the_reminder() {
    let s = setup().await;
    let h = &s.h;
    qualify(&s).await;
    h.clock.advance(2 * HOUR);
    let handled = h
        .engine
        .handle_received(h.account.id, &reply_to(&sent_message_id(h), true))
        .await
        .expect("auto-reply");
    assert!(
        matches!(handled, mailer_core::engine::Handled::AutoReply { .. }),
        "{handled:?}"
    );
    h.clock.advance(22 * HOUR);
    assert_eq!(
        h.run(Duration::from_secs(60), 10, 3).await.sent,
        1,
        "no reminder after an out-of-office answer"
    );
}

fn human() -> HitInfo {
    HitInfo {
        user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36".into()),
        honeypot: false,
    }
}

const HIT_KINDS: &[TokenKindTag] = &[TokenKindTag::Open, TokenKindTag::Click];

/// Accepts each token as a host does before answering, then records them all in one batch.
async fn record_batch(h: &Harness, tokens: &[&str]) -> Vec<Result<HitOutcome, EngineError>> {
    let hits = tokens
        .iter()
        .map(|t| h.engine.accept_hit(t, HIT_KINDS, human()).expect("accepted"))
        .collect();
    h.engine.record_hits(hits).await
}

async fn events(h: &Harness) -> Vec<Event> {
    let q = EventQuery {
        account: h.account.id,
        email: None,
        entity: None,
        since: None,
        limit: 1_000,
    };
    h.store.list_events(&q).await.expect("events")
}

#[tokio::test]
async fn opens_and_clicks_recorded_in_one_batch_fire_as_they_would_one_by_one() {
    let s = setup().await;
    let h = &s.h;
    let w = &h.world;
    let html = qualify(&s).await;
    h.clock.advance(Duration::from_secs(60));
    let (pixel, link) = (url(&html, "/t/o/"), url(&html, "/t/l/"));
    let before = stage_changes(&s);
    let results = record_batch(h, &[token(&pixel), token(&link), token(&pixel), token(&link)]).await;
    let outcomes: Vec<HitOutcome> = results.into_iter().map(|r| r.expect("recorded")).collect();
    let redirect = HitOutcome::Redirect(Some("https://example.com/offer.pdf".into()));
    let open = HitOutcome::Recorded { automated: false };
    assert_eq!(outcomes, [open.clone(), redirect.clone(), open, redirect]);
    // Every hit is an event; the open's task and the one-time link's stage change happen once.
    let events = events(h).await;
    let opened = events.iter().filter(|e| e.event.kind == EventKind::Opened).count();
    let clicked = events
        .iter()
        .filter(|e| matches!(e.event.kind, EventKind::Clicked { .. }))
        .count();
    assert_eq!((opened, clicked), (2, 2));
    assert!(
        events
            .iter()
            .filter(|e| matches!(e.event.kind, EventKind::Opened | EventKind::Clicked { .. }))
            .all(|e| !e.event.automated)
    );
    assert_eq!(
        h.crm.tasks(h.account.id, w.lead).len(),
        1,
        "the open's task is not set once"
    );
    assert_eq!(
        stage_changes(&s),
        before + 1,
        "the one-time link did not fire exactly once"
    );
    // A later batch sees what the first marked: nothing fires again.
    record_batch(h, &[token(&pixel), token(&link)]).await;
    assert_eq!(h.crm.tasks(h.account.id, w.lead).len(), 1);
    assert_eq!(stage_changes(&s), before + 1);
    // Opened, so the not-opened timer was cancelled: no reminder after 24 hours.
    assert_eq!(h.run(HOUR, 30, 30).await.sent, 0);
}

#[tokio::test]
async fn a_honeypot_hit_earlier_in_the_batch_makes_the_next_open_automated() {
    let s = setup().await;
    let h = &s.h;
    let html = qualify(&s).await;
    h.clock.advance(Duration::from_secs(60));
    let pixel = url(&html, "/t/o/");
    let mut honeypot = h.engine.verify_token(token(&pixel)).await.expect("pixel token");
    honeypot.kind = TokenKind::Click(HONEYPOT_LINK);
    let honeypot = h.engine.links(&h.account).expect("links").sign(&honeypot);
    let results = record_batch(h, &[&honeypot, token(&pixel)]).await;
    assert_eq!(results.len(), 2);
    assert!(
        matches!(results[1], Ok(HitOutcome::Recorded { automated: true })),
        "{:?}",
        results[1]
    );
    assert!(
        h.crm.tasks(h.account.id, h.world.lead).is_empty(),
        "an automated open fired"
    );
    assert!(
        events(h)
            .await
            .iter()
            .all(|e| !matches!(e.event.kind, EventKind::Opened) || e.event.automated)
    );
}

#[tokio::test]
async fn a_batch_records_nothing_for_another_accounts_token_and_the_rest_as_usual() {
    let s = setup().await;
    let h = &s.h;
    let html = qualify(&s).await;
    h.clock.advance(Duration::from_secs(60));
    let pixel = url(&html, "/t/o/");
    let mut foreign = h.engine.verify_token(token(&pixel)).await.expect("pixel token");
    foreign.account = mailer_core::model::AccountId(h.account.id.0 + 1_000);
    let foreign = h.engine.links(&h.account).expect("links").sign(&foreign);
    let results = record_batch(h, &[&foreign, token(&pixel)]).await;
    assert!(results[0].is_err(), "{:?}", results[0]);
    assert!(results[1].is_ok(), "{:?}", results[1]);
    let opened = events(h)
        .await
        .into_iter()
        .filter(|e| e.event.kind == EventKind::Opened)
        .count();
    assert_eq!(opened, 1);
}
