//! The engine's use cases over the in-memory doubles: compose and validate, send single, preview,
//! mailings (10,000 entities, idempotent start, pause and resume), retries and failures with their
//! triggers, tracking tokens, automated hits, forms and link attachments.

use std::time::Duration;

use mailer_core::engine::{Draft, EngineError, HitInfo, HitOutcome, MailingRequest, Outcome};
use mailer_core::error::ValidationError;
use mailer_core::model::{
    Action, AttachmentRef, Body, Content, CrmAction, EmailQuery, EmailStatus, EmailTriggers, EntityRef, EventKind,
    EventQuery, FileId, FileKind, MailingStatus, RecipientRule, Role, Template, TemplateId, Trigger, TriggerId, User,
    UserId,
};
use mailer_core::ports::{SendErrorKind, Store, StoreExt};
use mailer_core::testkit::{Harness, token_in};

const HUMAN: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36";

fn human() -> HitInfo {
    HitInfo {
        user_agent: Some(HUMAN.into()),
        honeypot: false,
    }
}

async fn offer(h: &Harness, body: &str, triggers: EmailTriggers) -> Template {
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

fn content(body: &str) -> Option<Content> {
    Some(Content {
        subject: "Hello".into(),
        body: Body::Html(body.into()),
        text: None,
    })
}

/// Sends the lead an email whose "opened" trigger adds the note "opened"; answers the HTML sent.
async fn sent_with_open_note(h: &Harness) -> String {
    let opened = h
        .store
        .insert(Trigger {
            id: TriggerId(0),
            account: h.account.id,
            name: "note".into(),
            action: Action::AddNote { text: "opened".into() },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let t = offer(
        h,
        "<p>x</p>",
        EmailTriggers {
            on_opened: vec![opened.id],
            ..EmailTriggers::default()
        },
    )
    .await;
    h.engine
        .send_single(&Draft {
            entity: Some(h.world.lead),
            template: Some(t.id),
            ..draft(h)
        })
        .await
        .expect("send");
    h.transport.sent()[0].message.html.clone()
}

#[tokio::test]
async fn bad_input_is_refused_before_anything_is_queued() {
    let h = Harness::new().await;
    let cases: Vec<(Draft, &str)> = vec![
        (
            Draft {
                to: vec!["not an address".into()],
                content: content("<p>x</p>"),
                ..draft(&h)
            },
            "invalid address",
        ),
        (
            Draft {
                content: content("<p>x</p>"),
                ..draft(&h)
            },
            "no recipient",
        ),
        (
            Draft {
                to: vec!["a@example.com".into()],
                ..draft(&h)
            },
            "missing content",
        ),
        (
            Draft {
                to: vec!["a@example.com".into()],
                content: content(&"x".repeat(8 * 1024 * 1024 + 1)),
                ..draft(&h)
            },
            "body too large",
        ),
        (
            Draft {
                to: vec!["a@example.com".into()],
                content: content("<p>x</p>"),
                attachments: vec![AttachmentRef::Stored {
                    file: FileId(1),
                    name: "big.zip".into(),
                    content_type: "application/zip".into(),
                    size: 101 * 1024 * 1024,
                    kind: FileKind::Attachment,
                }],
                ..draft(&h)
            },
            "attachments too large",
        ),
        (
            Draft {
                to: vec!["a@example.com".into()],
                content: content("<p>x</p>"),
                attachments: vec![AttachmentRef::Stored {
                    file: FileId(1),
                    name: "big.png".into(),
                    content_type: "image/png".into(),
                    size: 6 * 1024 * 1024,
                    kind: FileKind::InlineImage,
                }],
                ..draft(&h)
            },
            "image too large",
        ),
    ];
    for (d, what) in cases {
        let err = h.engine.send_single(&d).await.expect_err(what);
        assert!(matches!(err, EngineError::Invalid(_)), "{what}: {err:?}");
    }
    let err = h
        .engine
        .send_single(&Draft {
            to: vec!["x@@y".into()],
            content: content("x"),
            ..draft(&h)
        })
        .await
        .expect_err("bad");
    assert!(matches!(err, EngineError::Invalid(ValidationError::InvalidAddress(a)) if a == "x@@y"));
    assert!(
        h.store
            .list_emails(&EmailQuery::account(h.account.id, 10))
            .await
            .expect("list")
            .is_empty(),
        "something was queued"
    );
    let syntax = h
        .engine
        .send_single(&Draft {
            to: vec!["a@example.com".into()],
            content: content("{% if %}"),
            ..draft(&h)
        })
        .await;
    assert!(syntax.is_err(), "a template syntax error went out");
}

#[tokio::test]
async fn a_single_email_goes_out_at_once_with_signature_pixel_and_copy_in_sent() {
    let h = Harness::new().await;
    let d = Draft {
        entity: Some(h.world.lead),
        to_entity_contacts: Some(true),
        cc: vec!["Boss <boss@example.com>".into()],
        bcc: vec!["archive@example.com".into()],
        content: content("<p>Dear {{ contact.name }}, budget {{ lead.price }}</p>"),
        ..draft(&h)
    };
    let report = h.engine.send_single(&d).await.expect("send");
    assert_eq!(report.outcome, Some(Outcome::Sent));
    let sent = h.transport.sent();
    assert_eq!(sent.len(), 1);
    let m = &sent[0].message;
    assert_eq!(m.to.len(), 2);
    assert_eq!(m.cc[0].email, "boss@example.com");
    assert_eq!(m.bcc[0].email, "archive@example.com");
    assert!(m.html.contains("Dear Anna Smith, budget 5000"), "{}", m.html);
    assert!(m.html.contains("Maria Manager, Acme"), "signature missing: {}", m.html);
    assert!(
        m.html.contains("https://t.example.com/t/o/"),
        "pixel missing: {}",
        m.html
    );
    assert!(!m.text.is_empty());
    assert_eq!(h.transport.sent_copies().len(), 1, "no copy in Sent");
    let email = h.store.get_email(h.account.id, report.email).await.expect("email");
    assert_eq!(email.status, EmailStatus::Sent);
    // A second single email right away waits for the mailbox's 1 s spacing, at the head of the queue.
    let second = h
        .engine
        .send_single(&Draft {
            to: vec!["x@example.com".into()],
            content: content("<p>2</p>"),
            ..draft(&h)
        })
        .await
        .expect("second");
    assert_eq!(second.outcome, None);
    assert_eq!(second.expected_at, Some(h.now() + chrono::Duration::seconds(1)));
    h.clock.advance(Duration::from_secs(1));
    assert_eq!(h.engine.worker_step().await.expect("step").sent, 1);
}

#[tokio::test]
async fn crm_values_are_escaped_and_a_disabled_signature_stays_out() {
    let h = Harness::new().await;
    let mut anna = h.crm.current(h.account.id, h.world.anna).expect("anna");
    anna.name = "<script>alert(1)</script> & \"Co\"".into();
    h.crm.put_entity(h.account.id, anna);
    let d = Draft {
        entity: Some(h.world.anna),
        to_entity_contacts: Some(true),
        content: content("<p title=\"{{ contact.name }}\">{{ contact.name }}</p>"),
        signature_disabled: Some(true),
        ..draft(&h)
    };
    h.engine.send_single(&d).await.expect("send");
    let html = &h.transport.sent()[0].message.html;
    assert!(!html.contains("<script>"), "unescaped CRM value: {html}");
    assert!(html.contains("&lt;script&gt;"), "{html}");
    assert!(
        !html.contains("Maria Manager, Acme"),
        "signature despite being disabled: {html}"
    );
}

#[tokio::test]
async fn preview_is_what_is_sent_and_records_nothing() {
    let h = Harness::new().await;
    let t = offer(&h, "<p>Hi {{ contact.name }}</p>", EmailTriggers::default()).await;
    let d = Draft {
        entity: Some(h.world.anna),
        template: Some(t.id),
        ..draft(&h)
    };
    let preview = h.engine.preview(&d).await.expect("preview");
    assert_eq!(preview.subject, "Hi Anna Smith");
    assert!(preview.html.contains("Hi Anna Smith") && preview.html.contains("Maria Manager, Acme"));
    assert_eq!(h.transport.attempts(), 0, "preview sent something");
    let token = token_in(&preview.html, "/t/o/").expect("preview pixel");
    h.engine.record_hit(&token, &human()).await.expect("preview open");
    let events = h
        .store
        .list_events(&EventQuery {
            account: h.account.id,
            email: None,
            entity: None,
            since: None,
            limit: 100,
        })
        .await
        .expect("events");
    assert!(
        events.iter().all(|e| e.event.kind != EventKind::Opened),
        "a preview open was recorded: {events:?}"
    );
}

#[tokio::test]
async fn a_tampered_token_does_nothing() {
    let h = Harness::new().await;
    let html = sent_with_open_note(&h).await;
    let token = token_in(&html, "/t/o/").expect("pixel");
    let mut bytes = token.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).expect("utf8");
    h.clock.advance(Duration::from_secs(60));
    assert!(
        h.engine.record_hit(&tampered, &human()).await.is_err(),
        "a tampered token was accepted"
    );
    assert!(
        h.crm.notes(h.account.id, h.world.lead).is_empty(),
        "a tampered token fired a trigger"
    );
}

#[tokio::test]
async fn scanners_and_too_early_opens_are_recorded_as_automated_and_fire_nothing() {
    let h = Harness::new().await;
    let html = sent_with_open_note(&h).await;
    let token = token_in(&html, "/t/o/").expect("pixel");
    let early = h.engine.record_hit(&token, &human()).await.expect("early open");
    assert_eq!(
        early,
        HitOutcome::Recorded { automated: true },
        "an open 0 s after sending counted"
    );
    h.clock.advance(Duration::from_secs(60));
    // Apple Mail Privacy Protection fetches every image on delivery with a bare "Mozilla/5.0".
    let proxy = HitInfo {
        user_agent: Some("Mozilla/5.0".into()),
        honeypot: false,
    };
    assert_eq!(
        h.engine.record_hit(&token, &proxy).await.expect("proxy"),
        HitOutcome::Recorded { automated: true }
    );
    assert!(
        h.crm.notes(h.account.id, h.world.lead).is_empty(),
        "an automated open fired a trigger"
    );
    assert_eq!(
        h.engine.record_hit(&token, &human()).await.expect("human"),
        HitOutcome::Recorded { automated: false }
    );
    assert_eq!(h.crm.notes(h.account.id, h.world.lead), ["opened"]);
}

#[tokio::test]
async fn temporary_failures_retry_then_fail_and_failed_triggers_run_once() {
    let h = Harness::new().await;
    let failed = h
        .store
        .insert(Trigger {
            id: TriggerId(0),
            account: h.account.id,
            name: "Note on failure".into(),
            action: Action::AddNote {
                text: "Email subject: {subject} Date sent: {sended_at} email ID: {id}".into(),
            },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let t = offer(
        &h,
        "<p>x</p>",
        EmailTriggers {
            on_failed: vec![failed.id],
            ..EmailTriggers::default()
        },
    )
    .await;
    h.transport
        .fail_for("anna@example.com", SendErrorKind::Temporary, Some(451), None);
    let report = h
        .engine
        .send_single(&Draft {
            entity: Some(h.world.lead),
            template: Some(t.id),
            ..draft(&h)
        })
        .await
        .expect("send");
    assert_eq!(report.outcome, Some(Outcome::Retried));
    let total = h.run(Duration::from_secs(60), 200, 200).await;
    assert_eq!((total.retried, total.failed), (3, 1), "{total:?}");
    let email = h.store.get_email(h.account.id, report.email).await.expect("email");
    assert_eq!((email.status, email.attempts), (EmailStatus::Failed, 5));
    let notes = h.crm.notes(h.account.id, h.world.lead);
    assert_eq!(notes.len(), 1, "failed triggers: {notes:?}");
    assert!(
        notes[0].starts_with("Email subject: Hi Anna Smith Date sent: ")
            && notes[0].ends_with(&format!("email ID: {}", report.email)),
        "{}",
        notes[0]
    );
}

#[tokio::test]
async fn a_permanent_failure_fails_at_once() {
    let h = Harness::new().await;
    h.transport
        .fail_for("bad@example.com", SendErrorKind::InvalidAddress, Some(550), None);
    let report = h
        .engine
        .send_single(&Draft {
            to: vec!["bad@example.com".into()],
            content: content("x"),
            ..draft(&h)
        })
        .await
        .expect("send");
    assert_eq!(report.outcome, Some(Outcome::Failed));
    assert_eq!(h.transport.attempts(), 1);
}

#[tokio::test]
async fn a_mailing_of_10000_entities_is_queued_once_even_when_started_twice() {
    let h = Harness::new().await;
    let t = offer(&h, "<p>Hi {{ contact.name }}</p>", EmailTriggers::default()).await;
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: t.id,
        name: "Spring".into(),
    };
    let entities = (0..10_000).map(|i| EntityRef::lead(1_000_000 + i));
    let started = h.engine.start_mailing(&request, entities.clone()).await.expect("start");
    assert_eq!(started.queued, 10_000);
    let again = h
        .engine
        .continue_mailing(h.account.id, started.mailing.id, entities)
        .await
        .expect("retry start");
    assert_eq!(again.queued, 0, "a retried start queued duplicates");
    let progress = h
        .engine
        .mailing_progress(h.account.id, started.mailing.id)
        .await
        .expect("progress");
    assert_eq!((progress.total, progress.waiting), (10_000, 10_000));
    // At 1 per second and 2,000 per rolling 24 hours, the last one goes 4 days and 1,999 s from now.
    assert_eq!(
        progress.expected_finish,
        Some(h.now() + chrono::Duration::days(4) + chrono::Duration::seconds(1_999))
    );
}

#[tokio::test]
async fn pause_and_resume_neither_duplicate_nor_lose() {
    let h = Harness::new().await;
    let t = offer(&h, "<p>Hi {{ contact.name }}</p>", EmailTriggers::default()).await;
    let w = &h.world;
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: t.id,
        name: "Spring".into(),
    };
    let started = h
        .engine
        .start_mailing(&request, vec![w.anna, w.boris, w.lead, w.company])
        .await
        .expect("start");
    h.run(Duration::from_secs(1), 2, 1).await;
    let sent_before = h.transport.sent_count();
    assert_eq!(sent_before, 2);
    h.store
        .set_mailing_status(h.account.id, started.mailing.id, MailingStatus::Paused)
        .await
        .expect("pause");
    assert_eq!(
        h.run(Duration::from_secs(1), 10, 10).await.sent,
        0,
        "a paused mailing sent"
    );
    h.store
        .set_mailing_status(h.account.id, started.mailing.id, MailingStatus::Running)
        .await
        .expect("resume");
    h.run(Duration::from_secs(1), 10, 3).await;
    let ids: Vec<String> = h
        .transport
        .sent()
        .iter()
        .map(|c| c.message.message_id.clone())
        .collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!((ids.len(), unique.len()), (4, 4), "duplicates or losses: {ids:?}");
}

#[tokio::test]
async fn members_use_own_and_public_templates_only() {
    let h = Harness::new().await;
    let member = h
        .store
        .insert(User {
            id: UserId(0),
            account: h.account.id,
            crm_user: None,
            name: "Member".into(),
            role: Role::Member,
            signature_html: "<p>member sig</p>".into(),
        })
        .await
        .expect("member");
    let private = offer(&h, "<p>x</p>", EmailTriggers::default()).await;
    let mut public = private.clone();
    public.id = TemplateId(0);
    public.public = true;
    let public = h.engine.save_template(h.admin.id, public).await.expect("public");
    let visible: Vec<TemplateId> = h
        .engine
        .templates_for(h.account.id, member.id)
        .await
        .expect("list")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(visible, vec![public.id]);
    let mut stolen = private.clone();
    stolen.name = "Mine now".into();
    assert!(matches!(
        h.engine.save_template(member.id, stolen).await,
        Err(EngineError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_form_writes_crm_fields_and_always_leaves_a_note() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let body = format!(
        r#"<form action="{{formlink}}"><input name="lead[{}]"><input name="lead[{}][]"><input name="lead[{}]">
        <input name="field[Comment]"><input name="lead[{}]"></form><a href="{{weblink}}">web</a>"#,
        w.payment.0, w.service.0, w.delivery, w.budget
    );
    let t = offer(&h, &body, EmailTriggers::default()).await;
    h.engine
        .send_single(&Draft {
            entity: Some(w.lead),
            template: Some(t.id),
            ..draft(&h)
        })
        .await
        .expect("send");
    let html = h.transport.sent()[0].message.html.clone();
    let token = token_in(&html, "/f/").expect("form link");
    let answers = vec![
        (format!("lead[{}]", w.payment.0), "Online".to_owned()),
        (format!("lead[{}][]", w.service.0), "Cleaning".to_owned()),
        (format!("lead[{}][]", w.service.0), "Upgrade".to_owned()),
        (format!("lead[{}]", w.delivery), "1".to_owned()),
        ("field[Comment]".to_owned(), "Call after 5".to_owned()),
        (format!("lead[{}]", w.budget), "lots".to_owned()),
    ];
    let result = h.engine.submit_form(&token, &answers).await;
    assert!(result.is_err(), "a non-number in a numeric field was accepted");
    let lead = h.crm.current(h.account.id, w.lead).expect("lead");
    let values = |f| lead.field(f).map(|e| e.values.clone()).unwrap_or_default();
    assert_eq!(values(w.payment.0), ["Online"]);
    assert_eq!(values(w.service.0), ["Cleaning", "Upgrade"]);
    assert_eq!(values(w.delivery), ["1"]);
    assert_eq!(values(w.comment), ["Call after 5"]);
    let notes = h.crm.notes(h.account.id, w.lead);
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0].contains("Online") && notes[0].contains("Not saved: Budget"),
        "{}",
        notes[0]
    );
}

#[tokio::test]
async fn link_attachments_are_rendered_per_entity_and_fetched_at_send_time() {
    let h = Harness::new().await;
    let w = h.world.clone();
    let mut lead = h.crm.current(h.account.id, w.lead).expect("lead");
    lead.fields.push(mailer_core::model::FieldEntry {
        id: w.comment,
        name: "Comment".into(),
        values: vec!["https://docs.example.com/offer-42.pdf".into()],
    });
    lead.fields
        .retain(|f| f.id != w.comment || f.values[0].starts_with("https"));
    h.crm.put_entity(h.account.id, lead);
    h.fetcher.serve(
        "https://docs.example.com/offer-42.pdf",
        "offer-42.pdf",
        "application/pdf",
        b"%PDF-1.7 offer".to_vec(),
    );
    let mut t = offer(&h, "<p>see attached</p>", EmailTriggers::default()).await;
    t.attachments = vec![AttachmentRef::Link {
        url: "{{ lead.fields[\"Comment\"] }}".into(),
        name: None,
    }];
    let t = h.engine.save_template(h.admin.id, t).await.expect("save");
    h.engine
        .send_single(&Draft {
            entity: Some(w.lead),
            template: Some(t.id),
            ..draft(&h)
        })
        .await
        .expect("send");
    let sent = h.transport.sent();
    let files = &sent[0].message.attachments;
    assert_eq!(files.len(), 1);
    assert_eq!(
        (files[0].name.as_str(), files[0].bytes.as_slice()),
        ("offer-42.pdf", b"%PDF-1.7 offer".as_slice())
    );
    let _ = CrmAction::AddNote {
        entity: w.lead,
        text: String::new(),
    };
}

#[tokio::test]
async fn a_composed_email_saves_as_a_template_with_its_triggers() {
    let h = Harness::new().await;
    let note = h
        .store
        .insert(Trigger {
            id: TriggerId(0),
            account: h.account.id,
            name: "note".into(),
            action: Action::AddNote { text: "sent".into() },
            delay: Duration::ZERO,
        })
        .await
        .expect("trigger");
    let d = Draft {
        entity: Some(h.world.lead),
        to_entity_contacts: Some(true),
        content: content("<p>Hi {{ contact.name }}</p>"),
        triggers: Some(EmailTriggers {
            on_sent: vec![note.id],
            ..EmailTriggers::default()
        }),
        signature_disabled: Some(true),
        ..draft(&h)
    };
    let saved = h
        .engine
        .save_as_template(&d, "From the editor")
        .await
        .expect("save as template");
    let back: Template = h.store.get(h.account.id, saved.id).await.expect("read back");
    assert_eq!(back.name, "From the editor");
    assert_eq!(back.recipients, RecipientRule::EntityContacts);
    assert_eq!(back.triggers.on_sent, vec![note.id]);
    assert!(back.signature_disabled);
    assert_eq!(back.owner, h.admin.id);
    let sent = h
        .engine
        .send_single(&Draft {
            entity: Some(h.world.lead),
            template: Some(saved.id),
            ..draft(&h)
        })
        .await
        .expect("send from it");
    assert_eq!(sent.outcome, Some(Outcome::Sent));
    assert_eq!(h.crm.notes(h.account.id, h.world.lead), ["sent"]);
}

#[tokio::test]
async fn the_queue_view_lists_singles_first_then_mailings_alternating_with_expected_times() {
    let h = Harness::new().await;
    let t = offer(&h, "<p>Hi</p>", EmailTriggers::default()).await;
    let w = &h.world;
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: t.id,
        name: "A".into(),
    };
    let a = h
        .engine
        .start_mailing(&request, vec![w.anna, w.boris])
        .await
        .expect("a")
        .mailing
        .id;
    let b = h
        .engine
        .start_mailing(
            &MailingRequest {
                name: "B".into(),
                ..request.clone()
            },
            vec![w.lead, w.company],
        )
        .await
        .expect("b")
        .mailing
        .id;
    let single = h
        .engine
        .compose(&Draft {
            to: vec!["x@example.com".into()],
            content: content("x"),
            ..draft(&h)
        })
        .await
        .expect("compose");
    let single = h.store.enqueue(vec![single]).await.expect("enqueue")[0].id;
    let view = h.engine.queue_view(h.account.id, h.mailbox.id, 10).await.expect("view");
    let order: Vec<_> = view
        .iter()
        .map(|q| (q.email.id == single, q.email.spec.mailing))
        .collect();
    assert_eq!(
        order,
        vec![
            (true, None),
            (false, Some(a)),
            (false, Some(b)),
            (false, Some(a)),
            (false, Some(b))
        ]
    );
    let times: Vec<_> = view.iter().map(|q| q.expected_at.expect("time")).collect();
    assert_eq!(
        times,
        (0..5)
            .map(|s| h.now() + chrono::Duration::seconds(s))
            .collect::<Vec<_>>()
    );
}

/// A form submitted while the CRM is down is stored and written by a timer later (nothing lost, the note
/// left once); a re-submission before that replaces the stored answers; a write that reaches the CRM at
/// once leaves nothing to retry.
#[tokio::test]
async fn a_form_submitted_while_the_crm_is_down_is_written_later_and_a_resubmission_overwrites() {
    use mailer_core::engine::FORM_RETRY;
    use mailer_core::testkit::ScriptedError;
    let h = Harness::new().await;
    let w = h.world.clone();
    let body = format!(
        r#"<form action="{{formlink}}"><input name="lead[{}]"></form>"#,
        w.comment
    );
    let t = offer(&h, &body, EmailTriggers::default()).await;
    h.engine
        .send_single(&Draft {
            entity: Some(w.lead),
            template: Some(t.id),
            ..draft(&h)
        })
        .await
        .expect("send");
    let html = h.transport.sent()[0].message.html.clone();
    let token = token_in(&html, "/f/").expect("form link");
    let answer = |v: &str| vec![(format!("lead[{}]", w.comment), v.to_owned())];
    let comment = || {
        h.crm
            .current(h.account.id, w.lead)
            .and_then(|l| l.field(w.comment).map(|e| e.values.clone()))
            .unwrap_or_default()
    };

    // The CRM is down for both submissions: each is accepted, the second replaces the first.
    h.crm.fail_read(2, ScriptedError::Backend("Kommo is down".into()));
    h.engine
        .submit_form(&token, &answer("first"))
        .await
        .expect("stored, not lost");
    h.engine
        .submit_form(&token, &answer("second"))
        .await
        .expect("stored, not lost");
    assert!(h.crm.notes(h.account.id, w.lead).is_empty(), "written while down");
    assert_eq!(comment(), ["first call"]);

    h.clock.advance(FORM_RETRY);
    assert_eq!(
        h.engine.run_due_timers().await.expect("timers"),
        1,
        "one stored submission"
    );
    assert_eq!(comment(), ["second"], "the re-submission did not win");
    let notes = h.crm.notes(h.account.id, w.lead);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("second") && !notes[0].contains("first\n"),
        "{notes:?}"
    );
    h.clock.advance(FORM_RETRY * 100);
    assert_eq!(h.engine.run_due_timers().await.expect("timers"), 0, "written twice");

    // Down at the retry too: it is stored again for a later attempt.
    h.crm.fail_read(2, ScriptedError::Backend("Kommo is down".into()));
    h.engine.submit_form(&token, &answer("third")).await.expect("stored");
    h.clock.advance(FORM_RETRY);
    assert_eq!(h.engine.run_due_timers().await.expect("timers"), 1);
    assert_eq!(comment(), ["second"]);
    h.clock.advance(FORM_RETRY * 2);
    assert_eq!(h.engine.run_due_timers().await.expect("timers"), 1);
    assert_eq!(comment(), ["third"]);
    assert_eq!(h.crm.notes(h.account.id, w.lead).len(), 2, "one note per submission");

    // Written at once: nothing is left to retry.
    h.engine.submit_form(&token, &answer("fourth")).await.expect("written");
    assert_eq!(comment(), ["fourth"]);
    h.clock.advance(FORM_RETRY * 1000);
    assert_eq!(h.engine.run_due_timers().await.expect("timers"), 0);
    assert_eq!(h.crm.notes(h.account.id, w.lead).len(), 3);
}
