//! The engine as the only way in, sending half: pause, resume and cancel a mailing; one enqueue path
//! (a digital-pipeline event delivered twice queues one email); public web pages (lifetime, cache,
//! subdomains, analytics) and the web version; unsubscribes and the suppression list; one CRM read per
//! sent email with an immediate trigger.

use std::time::Duration;

use mailer_core::engine::{Draft, EngineError, HitInfo, MailingRequest, Outcome, PipelineEvent, StageChange};
use mailer_core::model::{
    Action, Address, Body, Content, EmailQuery, EmailSpec, EmailStatus, EmailTriggers, EntityRef, EventKind,
    EventQuery, Priority, RecipientRule, Role, Template, TemplateId, Trigger, TriggerId, User, UserId, WebPage,
    WebPageId,
};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::template::{TokenKind, TrackingToken};
use mailer_core::testkit::fixture::{sample_page, sample_rule};
use mailer_core::testkit::{Harness, token_in};

const HUMAN: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";

fn human() -> HitInfo {
    HitInfo {
        user_agent: Some(HUMAN.into()),
        honeypot: false,
    }
}

async fn template(h: &Harness, body: &str, triggers: EmailTriggers) -> Template {
    let t = Template {
        id: TemplateId(0),
        account: h.account.id,
        name: "Offer".into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: "Hi {{ contact.name }}".into(),
            body: Body::Html(body.into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers,
        owner: h.admin.id,
        public: false,
        signature_disabled: false,
    };
    h.engine.save_template(h.admin.id, t).await.expect("save template")
}

fn draft(h: &Harness) -> Draft {
    Draft {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        ..Draft::default()
    }
}

async fn mailing(h: &Harness, entities: Vec<EntityRef>) -> mailer_core::model::MailingId {
    let t = template(h, "<p>Hi {{ contact.name }}</p>", EmailTriggers::default()).await;
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: t.id,
        name: "Spring".into(),
    };
    h.engine
        .start_mailing(&request, entities)
        .await
        .expect("start")
        .mailing
        .id
}

async fn events(h: &Harness) -> Vec<EventKind> {
    h.store
        .list_events(&EventQuery {
            account: h.account.id,
            email: None,
            entity: None,
            since: None,
            limit: 10_000,
        })
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event.kind)
        .collect()
}

fn unique_message_ids(h: &Harness) -> (usize, usize) {
    let ids: Vec<String> = h
        .transport
        .sent()
        .iter()
        .map(|c| c.message.message_id.clone())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    (ids.len(), unique.len())
}

async fn member(h: &Harness) -> User {
    h.store
        .insert(User {
            id: UserId(0),
            account: h.account.id,
            crm_user: None,
            name: "Member".into(),
            role: Role::Member,
            signature_html: String::new(),
        })
        .await
        .expect("member")
}

fn token(h: &Harness, kind: TokenKind, entity: EntityRef, recipient: &str) -> String {
    let links = h.engine.links(&h.account).expect("links");
    let url = links.url(&TrackingToken {
        kind,
        account: h.account.id,
        email: None,
        recipient: recipient.into(),
        entity,
        preview: false,
        issued_at: h.now(),
    });
    token_in(&url, kind.route()).expect("token in url")
}

#[tokio::test]
async fn cancel_mid_mailing_leaves_nothing_queued_and_sends_nothing_twice() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let id = mailing(&h, vec![w.anna, w.boris, w.lead, w.company]).await;
    h.run(Duration::from_secs(1), 2, 1).await;
    assert_eq!(h.transport.sent_count(), 2);
    // A worker holds the third email when the mailing is cancelled.
    h.clock.advance(Duration::from_secs(1));
    let worker = h.engine.config().worker.clone();
    let mut held = h
        .store
        .claim_due(&worker, h.now(), 10, Duration::from_secs(60))
        .await
        .expect("claim");
    assert_eq!(held.len(), 1);
    let outsider = member(&h).await;
    assert!(matches!(
        h.engine.cancel_mailing(h.account.id, outsider.id, id).await,
        Err(EngineError::Forbidden(_))
    ));
    let progress = h
        .engine
        .cancel_mailing(h.account.id, h.admin.id, id)
        .await
        .expect("cancel");
    assert_eq!(
        (progress.sent, progress.waiting, progress.cancelled),
        (2, 1, 1),
        "the claimed email still waits, the queued one is cancelled"
    );
    let mut queued = EmailQuery::account(h.account.id, 100);
    queued.mailing = Some(id);
    queued.statuses = vec![EmailStatus::Queued];
    assert!(
        h.store.list_emails(&queued).await.expect("list").is_empty(),
        "an unsent email stayed queued"
    );
    assert_eq!(h.engine.deliver(held.remove(0)).await.expect("deliver"), Outcome::Sent);
    assert_eq!(
        h.run(Duration::from_secs(1), 20, 5).await.sent,
        0,
        "a cancelled email was sent"
    );
    assert_eq!(unique_message_ids(&h), (3, 3), "sent twice");
    let progress = h.engine.mailing_progress(h.account.id, id).await.expect("progress");
    assert_eq!(
        (progress.sent, progress.waiting, progress.cancelled, progress.total),
        (3, 0, 1, 4)
    );
    assert!(
        h.engine.resume_mailing(h.account.id, h.admin.id, id).await.is_err(),
        "a cancelled mailing was resumed"
    );
}

#[tokio::test]
async fn pause_and_resume_through_the_engine() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let id = mailing(&h, vec![w.anna, w.boris, w.lead, w.company]).await;
    h.run(Duration::from_secs(1), 2, 1).await;
    assert_eq!(h.transport.sent_count(), 2);
    let outsider = member(&h).await;
    assert!(matches!(
        h.engine.pause_mailing(h.account.id, outsider.id, id).await,
        Err(EngineError::Forbidden(_))
    ));
    let paused = h
        .engine
        .pause_mailing(h.account.id, h.admin.id, id)
        .await
        .expect("pause");
    assert_eq!((paused.sent, paused.waiting), (2, 2));
    assert_eq!(
        h.run(Duration::from_secs(1), 10, 10).await.sent,
        0,
        "a paused mailing sent"
    );
    h.engine
        .resume_mailing(h.account.id, h.admin.id, id)
        .await
        .expect("resume");
    h.run(Duration::from_secs(1), 10, 3).await;
    assert_eq!(unique_message_ids(&h), (4, 4), "duplicates or losses");
}

#[tokio::test]
async fn a_pipeline_event_delivered_twice_queues_one_email() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let t = template(&h, "<p>Hi {{ contact.name }}</p>", EmailTriggers::default()).await;
    let mut rule = sample_rule(h.account.id, t.id, h.mailbox.id);
    (rule.pipeline, rule.stage) = (w.pipeline, w.stages[0]);
    h.store.insert(rule.clone()).await.expect("rule");
    let event = PipelineEvent {
        event_id: "dp:lead-moved:1700000000".into(),
        account: h.account.id,
        lead: w.lead,
        pipeline: w.pipeline,
        stage: w.stages[0],
        change: StageChange::Moved,
    };
    let first = h.engine.pipeline_event(&event).await.expect("first");
    // Kommo redelivers the same hook minutes later.
    h.clock.advance(Duration::from_secs(600));
    let second = h.engine.pipeline_event(&event).await.expect("redelivered");
    assert_eq!(first.len(), 1);
    assert_eq!(first, second, "the redelivered event queued another email");
    let all = h
        .store
        .list_emails(&EmailQuery::account(h.account.id, 100))
        .await
        .expect("emails");
    assert_eq!(all.len(), 1);
    let queued = events(&h).await.iter().filter(|k| **k == EventKind::Queued).count();
    assert_eq!(queued, 1, "Queued recorded for an email that was not new");
    // Another event of the same lead is another email.
    let other = PipelineEvent {
        event_id: "dp:lead-moved:1700000999".into(),
        ..event.clone()
    };
    assert_ne!(h.engine.pipeline_event(&other).await.expect("other"), first);
    // An event without its CRM id is refused.
    let anonymous = PipelineEvent {
        event_id: String::new(),
        ..event
    };
    assert!(matches!(
        h.engine.pipeline_event(&anonymous).await,
        Err(EngineError::Invalid(_))
    ));
}

#[tokio::test]
async fn a_delayed_pipeline_event_delivered_twice_queues_one_email() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let t = template(&h, "<p>Hi</p>", EmailTriggers::default()).await;
    let mut rule = sample_rule(h.account.id, t.id, h.mailbox.id);
    (rule.pipeline, rule.stage, rule.delay) = (w.pipeline, w.stages[0], Duration::from_secs(3600));
    h.store.insert(rule).await.expect("rule");
    let event = PipelineEvent {
        event_id: "dp:7:1700000000".into(),
        account: h.account.id,
        lead: w.lead,
        pipeline: w.pipeline,
        stage: w.stages[0],
        change: StageChange::Created,
    };
    h.engine.pipeline_event(&event).await.expect("first");
    h.clock.advance(Duration::from_secs(60));
    h.engine.pipeline_event(&event).await.expect("again");
    h.clock.advance(Duration::from_secs(3600));
    h.run(Duration::from_secs(1), 10, 3).await;
    assert_eq!(h.transport.sent_count(), 1, "one event, one email");
}

async fn page(h: &Harness, edit: impl FnOnce(&mut WebPage)) -> WebPage {
    let mut p = sample_page(h.account.id);
    edit(&mut p);
    h.store.insert(p).await.expect("page")
}

#[tokio::test]
async fn a_page_past_its_lifetime_is_gone() {
    let h = Harness::new().await;
    let p = page(&h, |p| p.lifetime_days = 30).await;
    let t = token(&h, TokenKind::Page(p.id), h.world.lead, "anna@example.com");
    let html = h.engine.web_page(&t, None, &human()).await.expect("page");
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("</html>"),
        "{html}"
    );
    assert!(
        html.contains("<title>Your offer</title>") && html.contains("Hello Offer for Acme"),
        "{html}"
    );
    assert!(
        !html.contains("/t/o/"),
        "a page view carries an email open pixel: {html}"
    );
    h.clock.advance(Duration::from_secs(29 * 86_400));
    assert!(h.engine.web_page(&t, None, &human()).await.is_ok());
    h.clock.advance(Duration::from_secs(86_400));
    assert!(matches!(
        h.engine.web_page(&t, None, &human()).await,
        Err(EngineError::Gone(_))
    ));
    let views = events(&h)
        .await
        .iter()
        .filter(|k| **k == EventKind::PageOpened { page: p.id })
        .count();
    assert_eq!(views, 2, "the gone view was recorded, or a view was not");
}

#[tokio::test]
async fn a_cached_page_is_served_until_its_ttl_then_read_again() {
    let h = Harness::new().await;
    let p = page(&h, |p| p.cache = Duration::from_secs(600)).await;
    let t = token(&h, TokenKind::Page(p.id), h.world.lead, "anna@example.com");
    let before = h.crm.entity_reads();
    let first = h.engine.web_page(&t, None, &human()).await.expect("first");
    assert_eq!(h.crm.entity_reads(), before + 1);
    let mut lead = h.crm.current(h.account.id, h.world.lead).expect("lead");
    lead.name = "Renamed lead".into();
    h.crm.put_entity(h.account.id, lead);
    h.clock.advance(Duration::from_secs(599));
    let cached = h.engine.web_page(&t, None, &human()).await.expect("cached");
    assert_eq!(cached, first, "the page was rendered again inside its cache time");
    assert_eq!(
        h.crm.entity_reads(),
        before + 1,
        "the CRM was read inside the cache time"
    );
    h.clock.advance(Duration::from_secs(1));
    let fresh = h.engine.web_page(&t, None, &human()).await.expect("fresh");
    assert_eq!(h.crm.entity_reads(), before + 2);
    assert!(fresh.contains("Hello Renamed lead"), "{fresh}");
    let views = events(&h)
        .await
        .iter()
        .filter(|k| **k == EventKind::PageOpened { page: p.id })
        .count();
    assert_eq!(views, 3, "a cached view was not recorded");
}

#[tokio::test]
async fn pages_match_their_subdomain_and_carry_checked_analytics() {
    let h = Harness::new().await;
    let p = page(&h, |p| {
        p.subdomain = Some("promo".into());
        p.metric_counter = Some("12345678".into());
        p.gtm_id = Some("GTM-AB12CD".into());
    })
    .await;
    let t = token(&h, TokenKind::Page(p.id), h.world.lead, "anna@example.com");
    assert!(matches!(
        h.engine.web_page(&t, None, &human()).await,
        Err(EngineError::Store(mailer_core::ports::StoreError::NotFound { .. }))
    ));
    assert!(h.engine.web_page(&t, Some("other"), &human()).await.is_err());
    let html = h.engine.web_page(&t, Some("promo"), &human()).await.expect("page");
    assert!(html.contains("ym(12345678,\"init\""), "{html}");
    assert!(
        html.contains("googletagmanager.com/gtm.js") && html.contains("ns.html?id=GTM-AB12CD"),
        "{html}"
    );
    let bad = page(&h, |p| p.metric_counter = Some("1);alert(1".into())).await;
    let t = token(&h, TokenKind::Page(bad.id), h.world.lead, "anna@example.com");
    assert!(matches!(
        h.engine.web_page(&t, None, &human()).await,
        Err(EngineError::Invalid(_))
    ));
    // A page token is not an open, form or unsubscribe token, and the other way round.
    let form = token(&h, TokenKind::Form, h.world.lead, "anna@example.com");
    assert!(matches!(
        h.engine.web_page(&form, None, &human()).await,
        Err(EngineError::Token(_))
    ));
    assert!(matches!(h.engine.web_version(&t).await, Err(EngineError::Token(_))));
    let unknown = token(&h, TokenKind::Page(WebPageId(999)), h.world.lead, "anna@example.com");
    assert!(matches!(
        h.engine.web_page(&unknown, None, &human()).await,
        Err(EngineError::Store(_))
    ));
}

#[tokio::test]
async fn the_web_version_is_a_complete_document_with_live_links() {
    let h = Harness::new().await;
    let t = template(
        &h,
        "<p>Hi {{ contact.name }}</p><form action=\"{formlink}\"></form><a href=\"{weblink}\">web</a>",
        EmailTriggers::default(),
    )
    .await;
    h.engine
        .send_single(&Draft {
            entity: Some(h.world.anna),
            template: Some(t.id),
            ..draft(&h)
        })
        .await
        .expect("send");
    let html = h.transport.sent()[0].message.html.clone();
    let web = token_in(&html, "/w/").expect("web link");
    let page = h.engine.web_version(&web).await.expect("web version");
    assert!(
        page.starts_with("<!DOCTYPE html>") && page.contains("<title>Hi Anna Smith</title>"),
        "{page}"
    );
    assert!(page.contains("Hi Anna Smith"), "{page}");
    let form = token_in(&page, "/f/").expect("a live form link");
    // The form names no CRM field: a forged answer writes nothing, an oversized one is refused.
    let forged = vec![(format!("lead[{}]", h.world.comment), "forged".to_owned())];
    assert!(h.engine.submit_form(&form, &forged).await.is_ok());
    let lead = h.crm.current(h.account.id, h.world.lead).expect("lead");
    let comment = lead
        .field(h.world.comment)
        .map(|e| e.values.clone())
        .unwrap_or_default();
    assert_eq!(comment, ["first call"], "a field the form does not name was written");
    let huge = vec![(
        "comment".to_owned(),
        "x".repeat(mailer_core::engine::MAX_FORM_VALUE + 1),
    )];
    assert!(matches!(
        h.engine.submit_form(&form, &huge).await,
        Err(EngineError::Invalid(_))
    ));
    assert!(matches!(
        h.engine.record_hit(&web, &human()).await,
        Err(EngineError::Token(_))
    ));
    assert!(matches!(
        h.engine.submit_form(&web, &[]).await,
        Err(EngineError::Token(_))
    ));
}

#[tokio::test]
async fn a_suppressed_address_is_skipped_in_a_mailing_and_refused_in_a_single_send() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let unsub = token(&h, TokenKind::Unsubscribe, w.anna, "Anna@Example.com");
    assert!(
        matches!(h.engine.record_hit(&unsub, &human()).await, Err(EngineError::Token(_))),
        "record_hit took an unsubscribe token"
    );
    h.engine.unsubscribe(&unsub).await.expect("unsubscribe");
    h.engine.unsubscribe(&unsub).await.expect("twice is harmless");
    let list = h.engine.suppressions(h.account.id, h.admin.id).await.expect("list");
    assert_eq!(
        list.iter().map(|s| s.address.as_str()).collect::<Vec<_>>(),
        ["anna@example.com"]
    );
    let outsider = member(&h).await;
    assert!(matches!(
        h.engine.suppressions(h.account.id, outsider.id).await,
        Err(EngineError::Forbidden(_))
    ));
    let unsubscribed = events(&h)
        .await
        .iter()
        .filter(|k| **k == EventKind::Unsubscribed)
        .count();
    assert_eq!(unsubscribed, 1);

    // A mailing skips her and sends to Boris.
    let id = mailing(&h, vec![w.anna, w.boris]).await;
    let report = h.run(Duration::from_secs(1), 10, 3).await;
    assert_eq!((report.sent, report.skipped), (1, 1));
    let sent = h.transport.sent();
    assert_eq!(sent[0].message.to[0].email, "boris@example.com");
    let progress = h.engine.mailing_progress(h.account.id, id).await.expect("progress");
    assert_eq!((progress.sent, progress.cancelled, progress.waiting), (1, 1, 0));
    assert!(
        events(&h).await.contains(&EventKind::Suppressed {
            address: "anna@example.com".into()
        }),
        "no Suppressed event"
    );

    // A single send to her (as a contact of the lead, or typed by hand) is refused, nothing queued.
    let t = template(&h, "<p>x</p>", EmailTriggers::default()).await;
    let before = h
        .store
        .list_emails(&EmailQuery::account(h.account.id, 100))
        .await
        .expect("emails")
        .len();
    let to_lead = Draft {
        entity: Some(w.lead),
        template: Some(t.id),
        ..draft(&h)
    };
    let refused = h.engine.send_single(&to_lead).await;
    assert!(
        matches!(&refused, Err(EngineError::Suppressed { address }) if address == "anna@example.com"),
        "{refused:?}"
    );
    let by_hand = Draft {
        to: vec!["ANNA@example.com".into()],
        content: Some(t.content.clone()),
        ..draft(&h)
    };
    assert!(matches!(
        h.engine.send_single(&by_hand).await,
        Err(EngineError::Suppressed { .. })
    ));
    let after = h
        .store
        .list_emails(&EmailQuery::account(h.account.id, 100))
        .await
        .expect("emails")
        .len();
    assert_eq!(before, after, "a refused send was queued");

    // The user overrides it explicitly.
    let report = h
        .engine
        .send_single(&Draft {
            override_suppression: true,
            ..by_hand
        })
        .await
        .expect("override");
    assert_eq!(report.outcome, Some(Outcome::Sent));

    // An admin takes her off the list; then a single send goes.
    assert!(
        h.engine
            .remove_suppression(h.account.id, h.admin.id, "anna@example.com")
            .await
            .expect("remove")
    );
    h.clock.advance(Duration::from_secs(5));
    assert_eq!(
        h.engine.send_single(&to_lead).await.expect("send").outcome,
        Some(Outcome::Sent)
    );
}

/// An email to typed addresses, queued before they were suppressed.
fn typed(h: &Harness, n: i64, to: &str, cc: &[&str]) -> EmailSpec {
    let address = |email: &str| Address {
        name: None,
        email: email.into(),
    };
    EmailSpec {
        account: h.account.id,
        mailbox: h.mailbox.id,
        sender: h.admin.id,
        entity: None,
        template: None,
        to_entity_contacts: false,
        to: vec![address(to)],
        cc: cc.iter().map(|a| address(a)).collect(),
        bcc: Vec::new(),
        content: Content {
            subject: "News".into(),
            body: Body::Html("<p>News</p>".into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers: EmailTriggers::default(),
        signature_disabled: false,
        message_id: format!("typed-{n}@example.com"),
        idempotency_key: None,
        mailing: None,
        priority: Priority::Single,
        seq: n,
        not_before: h.now(),
        created_at: h.now(),
        override_suppression: false,
    }
}

#[tokio::test]
async fn the_worker_step_leaves_out_each_recipient_suppressed_after_queueing() {
    let h = Harness::new().await;
    h.store
        .enqueue(vec![
            typed(&h, 1, "anna@example.com", &[]),
            typed(&h, 2, "boris@example.com", &["Anna@Example.com", "carl@example.com"]),
            typed(&h, 3, "dora@example.com", &[]),
        ])
        .await
        .expect("enqueue");
    for address in ["anna@example.com", "dora@example.com"] {
        h.store
            .suppress(h.account.id, address, "unsubscribed", h.now())
            .await
            .expect("suppress");
    }
    let report = h.run(Duration::from_secs(1), 10, 3).await;
    assert_eq!((report.sent, report.skipped), (1, 2), "{report:?}");
    let sent = h.transport.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].message.to[0].email, "boris@example.com");
    let cc: Vec<&str> = sent[0].message.cc.iter().map(|a| a.email.as_str()).collect();
    assert_eq!(cc, ["carl@example.com"], "the suppressed Cc went out");
    let suppressed: Vec<EventKind> = events(&h)
        .await
        .into_iter()
        .filter(|k| matches!(k, EventKind::Suppressed { .. }))
        .collect();
    assert_eq!(
        suppressed,
        ["anna@example.com", "anna@example.com", "dora@example.com"]
            .map(|a| EventKind::Suppressed { address: a.into() })
    );
}

#[tokio::test]
async fn an_immediate_trigger_after_a_send_reads_the_crm_once_per_email() {
    let h = Harness::new().await;
    let note = h
        .store
        .insert(Trigger {
            id: TriggerId(0),
            account: h.account.id,
            name: "note".into(),
            action: Action::AddNote {
                text: "sent to {{ lead.name }}".into(),
            },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let t = template(
        &h,
        "<p>Hi {{ contact.name }}</p>",
        EmailTriggers {
            on_sent: vec![note.id],
            ..EmailTriggers::default()
        },
    )
    .await;
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: t.id,
        name: "Notes".into(),
    };
    h.engine
        .start_mailing(&request, vec![h.world.lead])
        .await
        .expect("start");
    let before = h.crm.entity_reads();
    let report = h.run(Duration::from_secs(1), 5, 2).await;
    assert_eq!(report.sent, 1);
    assert_eq!(h.crm.notes(h.account.id, h.world.lead), ["sent to Offer for Acme"]);
    assert_eq!(h.crm.entity_reads() - before, 1, "the trigger read the CRM again");
}
