//! The admin use cases over the in-memory doubles: rights, validation, unknown references, the loop check
//! on every save that changes the automation graph, deletion of records in use, mailboxes (the password
//! never read back, the check kept on the record), users and roles, and the bounds on every duration.

use std::sync::Arc;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineError, Ports};
use mailer_core::error::ValidationError;
use mailer_core::model::{
    Action, Body, CheckStatus, Content, EmailTriggers, LeadFilter, Mailbox, MailboxId, NotOpened, PipelineId,
    PipelineRule, PipelineRuleId, RecipientRule, Role, Secret, StageEvent, StageId, Template, TemplateId, Trigger,
    TriggerId, TriggerLink, TriggerLinkId, User, UserId, WebPage,
};
use mailer_core::ports::{MailboxCheck, MockTransport, SendError, SendErrorKind, StoreExt, TransportCaps};
use mailer_core::testkit::Harness;
use mailer_core::testkit::fixture::{sample_mailbox, sample_page, sample_user};

const DAY: u64 = 86_400;

async fn member(h: &Harness, name: &str) -> User {
    let mut user = sample_user(h.account.id);
    user.name = name.into();
    user.role = Role::Member;
    h.engine.save_user(h.admin.id, user).await.expect("add member")
}

fn trigger(h: &Harness, name: &str, action: Action) -> Trigger {
    Trigger {
        id: TriggerId(0),
        account: h.account.id,
        name: name.into(),
        action,
        delay: Duration::ZERO,
    }
}

fn note(h: &Harness, name: &str) -> Trigger {
    trigger(h, name, Action::AddNote { text: "done".into() })
}

fn template(h: &Harness, name: &str, owner: UserId, body: &str, triggers: EmailTriggers) -> Template {
    Template {
        id: TemplateId(0),
        account: h.account.id,
        name: name.into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: "Hello {{ contact.name }}".into(),
            body: Body::Html(body.into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers,
        owner,
        public: false,
        signature_disabled: false,
    }
}

fn rule(h: &Harness, template: TemplateId, mailbox: MailboxId) -> PipelineRule {
    PipelineRule {
        id: PipelineRuleId(0),
        account: h.account.id,
        pipeline: PipelineId(1),
        stage: StageId(10),
        on: StageEvent::CreatedOrMovedIn,
        filter: LeadFilter::default(),
        template,
        mailbox,
        delay: Duration::ZERO,
    }
}

fn link(h: &Harness, name: &str, triggers: Vec<TriggerId>) -> TriggerLink {
    TriggerLink {
        id: TriggerLinkId(0),
        account: h.account.id,
        name: name.into(),
        once: true,
        redirect: Some("https://example.com/offer.pdf".into()),
        triggers,
    }
}

fn not_opened(after: Duration, triggers: Vec<TriggerId>) -> EmailTriggers {
    EmailTriggers {
        not_opened: Some(NotOpened { after, triggers }),
        ..EmailTriggers::default()
    }
}

fn unknown(err: EngineError) -> (String, i64) {
    match err {
        EngineError::UnknownReference { field, id } => (field, id),
        other => panic!("expected an unknown reference, got {other:?}"),
    }
}

fn referrers(err: EngineError) -> Vec<String> {
    match err {
        EngineError::InUse { referrers } => referrers,
        other => panic!("expected in use, got {other:?}"),
    }
}

fn out_of_range(err: EngineError) -> (&'static str, Duration, Duration, Duration) {
    match err {
        EngineError::Invalid(ValidationError::DurationOutOfRange { what, actual, min, max }) => {
            (what, actual, min, max)
        }
        other => panic!("expected a duration out of range, got {other:?}"),
    }
}

// --- rights -------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_member_cannot_edit_or_delete_an_admins_trigger() {
    let h = Harness::new().await;
    let anna = member(&h, "Anna").await;
    let saved = h
        .engine
        .save_trigger(h.admin.id, note(&h, "Note"))
        .await
        .expect("admin saves");
    let mut edit = saved.clone();
    edit.name = "Renamed by Anna".into();
    let err = h.engine.save_trigger(anna.id, edit).await.unwrap_err();
    assert!(matches!(err, EngineError::Forbidden(_)), "{err:?}");
    let err = h
        .engine
        .delete_trigger(h.account.id, anna.id, saved.id)
        .await
        .unwrap_err();
    assert!(matches!(err, EngineError::Forbidden(_)), "{err:?}");
    let err = h
        .engine
        .save_trigger(anna.id, note(&h, "Anna's own"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Forbidden(_)),
        "a member created a trigger: {err:?}"
    );
    let stored: Trigger = h.store.get(h.account.id, saved.id).await.expect("trigger");
    assert_eq!(stored, saved, "the refused edit changed the stored trigger");
    let seen = h
        .engine
        .triggers(h.account.id, anna.id)
        .await
        .expect("a member lists triggers");
    assert_eq!(seen, [saved], "a member uses the account's triggers");
}

#[tokio::test]
async fn a_member_cannot_publish_a_template_or_change_its_owner() {
    let h = Harness::new().await;
    let anna = member(&h, "Anna").await;
    let boris = member(&h, "Boris").await;
    let own = h
        .engine
        .save_template(
            anna.id,
            template(&h, "Anna's offer", anna.id, "<p>Hi</p>", EmailTriggers::default()),
        )
        .await
        .expect("a member saves their own template");
    let mut public = own.clone();
    public.public = true;
    let err = h.engine.save_template(anna.id, public.clone()).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Forbidden(ref m) if m.contains("public")),
        "{err:?}"
    );
    let mut given = own.clone();
    given.owner = boris.id;
    let err = h.engine.save_template(anna.id, given.clone()).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Forbidden(ref m) if m.contains("owner")),
        "{err:?}"
    );
    let err = h
        .engine
        .delete_template(h.account.id, boris.id, own.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Forbidden(_)),
        "another member deleted it: {err:?}"
    );
    h.engine
        .save_template(h.admin.id, public)
        .await
        .expect("an admin publishes");
    given.public = true;
    h.engine
        .save_template(h.admin.id, given)
        .await
        .expect("an admin changes the owner");
    let seen = h.engine.templates_for(h.account.id, anna.id).await.expect("templates");
    assert_eq!(seen.len(), 1, "Anna sees the public template");
    assert!(seen[0].public && seen[0].owner == boris.id);
}

// --- loops --------------------------------------------------------------------------------------------

#[tokio::test]
async fn saving_a_trigger_that_closes_a_not_opened_cycle_is_refused_with_the_cycle_spelled_out() {
    let h = Harness::new().await;
    let resend = h
        .engine
        .save_trigger(h.admin.id, note(&h, "Resend"))
        .await
        .expect("trigger");
    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(
                &h,
                "Offer",
                h.admin.id,
                "<p>Hi</p>",
                not_opened(Duration::from_secs(DAY), vec![resend.id]),
            ),
        )
        .await
        .expect("template: the trigger only adds a note so far");
    let mut closing = resend.clone();
    closing.action = Action::SendEmail { template: offer.id };
    let err = h.engine.save_trigger(h.admin.id, closing).await.unwrap_err();
    let EngineError::Loop(loop_err) = &err else {
        panic!("expected a loop error, got {err:?}")
    };
    assert!(
        loop_err
            .to_string()
            .ends_with("Offer --not opened 24h--> Resend --send email--> Offer"),
        "{loop_err}"
    );
    let stored: Trigger = h.store.get(h.account.id, resend.id).await.expect("trigger");
    assert_eq!(stored, resend, "the refused trigger was stored");
}

#[tokio::test]
async fn saving_a_pipeline_rule_that_closes_a_sent_cycle_is_refused() {
    let h = Harness::new().await;
    let advance = h
        .engine
        .save_trigger(
            h.admin.id,
            trigger(
                &h,
                "Move to Offer sent",
                Action::ChangeStage {
                    pipeline: PipelineId(1),
                    stage: StageId(10),
                },
            ),
        )
        .await
        .expect("trigger");
    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(
                &h,
                "Offer",
                h.admin.id,
                "<p>Hi</p>",
                EmailTriggers {
                    on_sent: vec![advance.id],
                    ..EmailTriggers::default()
                },
            ),
        )
        .await
        .expect("template");
    let err = h
        .engine
        .save_pipeline_rule(h.admin.id, rule(&h, offer.id, h.mailbox.id))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, EngineError::Loop(_)), "{err:?}");
    assert!(
        msg.contains("Offer --sent--> Move to Offer sent --change stage, pipeline rule 0--> Offer"),
        "{msg}"
    );
    assert!(
        h.engine
            .pipeline_rules(h.account.id, h.admin.id)
            .await
            .expect("rules")
            .is_empty()
    );
    let mut other_stage = rule(&h, offer.id, h.mailbox.id);
    other_stage.stage = StageId(11);
    h.engine
        .save_pipeline_rule(h.admin.id, other_stage)
        .await
        .expect("a rule on another stage is no loop");
}

#[tokio::test]
async fn a_trigger_link_whose_click_resends_is_allowed_it_needs_the_recipient() {
    let h = Harness::new().await;
    let resend = h
        .engine
        .save_trigger(h.admin.id, note(&h, "Resend"))
        .await
        .expect("trigger");
    let link = h
        .engine
        .save_trigger_link(h.admin.id, link(&h, "Again", vec![resend.id]))
        .await
        .expect("link");
    let body = format!("<a href=\"{{triggerlink:{}}}\">again</a>", link.id);
    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(&h, "Offer", h.admin.id, &body, EmailTriggers::default()),
        )
        .await
        .expect("template");
    let mut resend2 = resend.clone();
    resend2.action = Action::SendEmail { template: offer.id };
    h.engine
        .save_trigger(h.admin.id, resend2)
        .await
        .expect("a click cycle is capped at run time, not refused");
}

// --- references ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_references_are_refused_naming_the_field() {
    let h = Harness::new().await;
    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(&h, "Offer", h.admin.id, "<p>Hi</p>", EmailTriggers::default()),
        )
        .await
        .expect("template");
    let err = h
        .engine
        .save_pipeline_rule(h.admin.id, rule(&h, offer.id, MailboxId(999)))
        .await
        .unwrap_err();
    assert_eq!(unknown(err), ("mailbox".to_owned(), 999));
    let err = h
        .engine
        .save_pipeline_rule(h.admin.id, rule(&h, TemplateId(77), h.mailbox.id))
        .await
        .unwrap_err();
    assert_eq!(unknown(err), ("template".to_owned(), 77));

    let known = h
        .engine
        .save_trigger(h.admin.id, note(&h, "Note"))
        .await
        .expect("trigger");
    let err = h
        .engine
        .save_trigger_link(h.admin.id, link(&h, "Offer", vec![known.id, known.id, TriggerId(55)]))
        .await
        .unwrap_err();
    assert_eq!(unknown(err), ("triggers[2]".to_owned(), 55));

    let triggers = EmailTriggers {
        on_sent: vec![known.id],
        on_failed: vec![TriggerId(66)],
        ..EmailTriggers::default()
    };
    let err = h
        .engine
        .save_template(h.admin.id, template(&h, "Broken", h.admin.id, "<p>x</p>", triggers))
        .await
        .unwrap_err();
    assert_eq!(unknown(err), ("triggers.on_failed[0]".to_owned(), 66));

    let err = h
        .engine
        .save_trigger(
            h.admin.id,
            trigger(
                &h,
                "Send",
                Action::SendEmail {
                    template: TemplateId(88),
                },
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(unknown(err), ("action.template".to_owned(), 88));
    let field = Action::ChangeField {
        entity: mailer_core::model::EntityKind::Lead,
        field: mailer_core::model::FieldId(1),
        value: "{web:5}".into(),
    };
    let err = h
        .engine
        .save_trigger(h.admin.id, trigger(&h, "Page link", field))
        .await
        .unwrap_err();
    assert_eq!(unknown(err), ("action.value".to_owned(), 5));

    let mut page = sample_page(h.account.id);
    page.on_open = vec![TriggerId(44)];
    let err = h.engine.save_web_page(h.admin.id, page).await.unwrap_err();
    assert_eq!(unknown(err), ("on_open[0]".to_owned(), 44));

    let err = h
        .engine
        .save_template(
            h.admin.id,
            template(
                &h,
                "Link",
                h.admin.id,
                "<a href=\"{triggerlink:9}\">x</a>",
                EmailTriggers::default(),
            ),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Template(_)),
        "an unknown link in a body is a compile error with its position: {err:?}"
    );

    let mut mailbox = sample_mailbox(h.account.id, UserId(4242), Default::default());
    mailbox.from.email = "other@example.com".into();
    let err = h.engine.save_mailbox(h.admin.id, mailbox).await.unwrap_err();
    assert_eq!(unknown(err), ("owner".to_owned(), 4242));
}

#[tokio::test]
async fn deleting_a_used_trigger_lists_its_referrers_and_an_unused_one_goes() {
    let h = Harness::new().await;
    let t = h
        .engine
        .save_trigger(h.admin.id, note(&h, "Set task"))
        .await
        .expect("trigger");
    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(
                &h,
                "Offer",
                h.admin.id,
                "<p>Hi</p>",
                EmailTriggers {
                    on_opened: vec![t.id],
                    ..EmailTriggers::default()
                },
            ),
        )
        .await
        .expect("template");
    let l = h
        .engine
        .save_trigger_link(h.admin.id, link(&h, "Link to the offer", vec![t.id]))
        .await
        .expect("link");
    let err = h
        .engine
        .delete_trigger(h.account.id, h.admin.id, t.id)
        .await
        .unwrap_err();
    assert_eq!(
        referrers(err),
        [
            format!("template {} \"Offer\"", offer.id),
            format!("trigger link {} \"Link to the offer\"", l.id),
        ]
    );
    h.engine
        .delete_trigger_link(h.account.id, h.admin.id, l.id)
        .await
        .expect("unused link");
    let mut plain = offer.clone();
    plain.triggers = EmailTriggers::default();
    h.engine
        .save_template(h.admin.id, plain)
        .await
        .expect("template without the trigger");
    h.engine
        .delete_trigger(h.account.id, h.admin.id, t.id)
        .await
        .expect("now unused");
    assert!(
        h.engine
            .triggers(h.account.id, h.admin.id)
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn deleting_a_template_a_rule_sends_or_a_page_a_template_names_is_refused() {
    let h = Harness::new().await;
    let page = h
        .engine
        .save_web_page(h.admin.id, sample_page(h.account.id))
        .await
        .expect("page");
    let body = format!("<p>See {{web:{}}}</p>", page.id);
    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(&h, "Offer", h.admin.id, &body, EmailTriggers::default()),
        )
        .await
        .expect("template");
    let r = h
        .engine
        .save_pipeline_rule(h.admin.id, rule(&h, offer.id, h.mailbox.id))
        .await
        .expect("rule");
    let err = h
        .engine
        .delete_template(h.account.id, h.admin.id, offer.id)
        .await
        .unwrap_err();
    assert_eq!(referrers(err), [format!("pipeline rule {}", r.id)]);
    let err = h
        .engine
        .delete_web_page(h.account.id, h.admin.id, page.id)
        .await
        .unwrap_err();
    assert_eq!(referrers(err), [format!("template {} \"Offer\"", offer.id)]);
    let err = h
        .engine
        .delete_mailbox(h.account.id, h.admin.id, h.mailbox.id)
        .await
        .unwrap_err();
    assert_eq!(referrers(err), [format!("pipeline rule {}", r.id)]);
    h.engine
        .delete_pipeline_rule(h.account.id, h.admin.id, r.id)
        .await
        .expect("rule");
    h.engine
        .delete_template(h.account.id, h.admin.id, offer.id)
        .await
        .expect("unused template");
    h.engine
        .delete_web_page(h.account.id, h.admin.id, page.id)
        .await
        .expect("unused page");
}

// --- mailboxes ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_mailbox_read_never_carries_the_password() {
    let h = Harness::new().await;
    let anna = member(&h, "Anna").await;
    let mut input = sample_mailbox(h.account.id, anna.id, Default::default());
    input.from.email = "anna@example.com".into();
    input.password = Secret::new("hunter2-very-secret");
    let saved = h
        .engine
        .save_mailbox(anna.id, input)
        .await
        .expect("a member adds their own mailbox");
    assert!(saved.has_password);
    let reads = [
        serde_json::to_string(&saved).expect("json"),
        serde_json::to_string(
            &h.engine
                .mailbox_view(h.account.id, anna.id, saved.id)
                .await
                .expect("view"),
        )
        .expect("json"),
        serde_json::to_string(&h.engine.mailboxes_for(h.account.id, h.admin.id).await.expect("list")).expect("json"),
        format!(
            "{:?}",
            h.engine.mailboxes_for(h.account.id, anna.id).await.expect("list")
        ),
    ];
    for read in &reads {
        assert!(!read.contains("hunter2"), "a read carried the password: {read}");
        assert!(!read.contains("\"password\""), "a read has a password field: {read}");
    }
    let own = h.engine.mailboxes_for(h.account.id, anna.id).await.expect("list");
    assert_eq!(
        own.iter().map(|m| m.id).collect::<Vec<_>>(),
        [saved.id],
        "a member sees only their own"
    );
    // An update without a password keeps the stored one.
    let mut edit: Mailbox = h.store.get(h.account.id, saved.id).await.expect("record");
    edit.password = Secret::default();
    edit.from.name = Some("Anna A.".into());
    h.engine.save_mailbox(anna.id, edit).await.expect("update");
    let stored: Mailbox = h.store.get(h.account.id, saved.id).await.expect("record");
    assert_eq!(stored.password.expose(), "hunter2-very-secret");
    let err = h
        .engine
        .mailbox_view(h.account.id, anna.id, h.mailbox.id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Forbidden(_)),
        "a member read the admin's mailbox: {err:?}"
    );
    let mut give = stored.clone();
    give.owner = h.admin.id;
    assert!(matches!(
        h.engine.save_mailbox(anna.id, give).await,
        Err(EngineError::Forbidden(_))
    ));
}

#[tokio::test]
async fn a_check_is_kept_on_the_mailbox_green_gray_or_red_with_time_and_reason() {
    let h = Harness::new().await;
    let id = h.mailbox.id;
    let green = h
        .engine
        .check_mailbox(h.account.id, h.admin.id, id)
        .await
        .expect("check");
    let health = green.health.expect("health kept");
    assert_eq!(
        (health.status, health.checked_at, health.reason()),
        (CheckStatus::Green, h.now(), None)
    );

    h.clock.advance(Duration::from_secs(60));
    h.transport
        .set_check(id, MailboxCheck::from_results(None, Some("no IMAP server".into())));
    h.engine
        .check_mailbox(h.account.id, h.admin.id, id)
        .await
        .expect("check");
    let stored: Mailbox = h.store.get(h.account.id, id).await.expect("record");
    let health = stored.health.clone().expect("health");
    assert_eq!(health.status, CheckStatus::Gray);
    assert_eq!(health.checked_at, h.now());
    assert_eq!(health.reason().as_deref(), Some("IMAP: no IMAP server"));

    h.transport.reject_password("secret");
    let red = h
        .engine
        .check_mailbox(h.account.id, h.admin.id, id)
        .await
        .expect("check")
        .health
        .expect("health");
    assert_eq!(red.status, CheckStatus::Red);
    assert!(red.smtp_error.as_deref().is_some_and(|e| e.contains("535")), "{red:?}");

    // A save that does not touch the connection keeps the check; one that does clears it.
    let mut edit = stored.clone();
    edit.limits.daily_cap = 500;
    assert!(
        h.engine
            .save_mailbox(h.admin.id, edit.clone())
            .await
            .expect("save")
            .health
            .is_some()
    );
    edit.smtp.port = 2526;
    assert!(
        h.engine
            .save_mailbox(h.admin.id, edit)
            .await
            .expect("save")
            .health
            .is_none()
    );
}

#[tokio::test]
async fn a_check_that_cannot_run_is_kept_as_red_with_its_reason() {
    let h = Harness::new().await;
    let mut transport = MockTransport::new();
    transport.expect_capabilities().returning(|| TransportCaps {
        append_sent: true,
        verify: true,
    });
    transport
        .expect_verify()
        .returning(|_| Err(SendError::new(SendErrorKind::Temporary, "connection refused")));
    let ports = Ports {
        transport: Arc::new(transport),
        ..h.engine.ports().clone()
    };
    let engine = Engine::new(ports, h.engine.config().clone());
    let view = engine
        .check_mailbox(h.account.id, h.admin.id, h.mailbox.id)
        .await
        .expect("check");
    let health = view.health.expect("health");
    assert_eq!(health.status, CheckStatus::Red);
    assert!(
        health.reason().is_some_and(|r| r.contains("connection refused")),
        "{health:?}"
    );
}

// --- users --------------------------------------------------------------------------------------------

#[tokio::test]
async fn users_and_roles_admins_manage_members_edit_themselves() {
    let h = Harness::new().await;
    let anna = member(&h, "Anna").await;
    let mut other = sample_user(h.account.id);
    other.role = Role::Member;
    assert!(matches!(
        h.engine.save_user(anna.id, other).await,
        Err(EngineError::Forbidden(_))
    ));
    let mut renamed = anna.clone();
    renamed.signature_html = "<p>Anna</p>".into();
    h.engine
        .save_user(anna.id, renamed)
        .await
        .expect("a member edits their signature");
    let mut promoted = anna.clone();
    promoted.role = Role::Admin;
    assert!(matches!(
        h.engine.save_user(anna.id, promoted.clone()).await,
        Err(EngineError::Forbidden(_))
    ));
    let mut demoted = h.admin.clone();
    demoted.role = Role::Member;
    let err = h.engine.save_user(h.admin.id, demoted.clone()).await.unwrap_err();
    assert!(
        matches!(err, EngineError::Forbidden(ref m) if m.contains("one admin")),
        "{err:?}"
    );
    h.engine
        .save_user(h.admin.id, promoted)
        .await
        .expect("an admin promotes");
    h.engine
        .save_user(h.admin.id, demoted)
        .await
        .expect("with a second admin the first may step down");
    let err = h
        .engine
        .delete_user(h.account.id, anna.id, h.admin.id)
        .await
        .unwrap_err();
    assert_eq!(
        referrers(err),
        [format!("mailbox {} \"maria@example.com\"", h.mailbox.id)],
        "a user who owns a mailbox is not deleted"
    );
    let mut blank = anna.clone();
    blank.name = " ".into();
    assert!(matches!(
        h.engine.save_user(anna.id, blank).await,
        Err(EngineError::Invalid(_))
    ));
    assert_eq!(h.engine.users(h.account.id, anna.id).await.expect("users").len(), 2);
}

// --- bounds -------------------------------------------------------------------------------------------

#[tokio::test]
async fn out_of_range_durations_are_refused_with_their_bounds() {
    let h = Harness::new().await;
    let year = Duration::from_secs(365 * DAY);
    let mut slow = note(&h, "Slow");
    slow.delay = year + Duration::from_secs(1);
    let err = h.engine.save_trigger(h.admin.id, slow).await.unwrap_err();
    assert_eq!(
        out_of_range(err),
        (
            "trigger delay",
            year + Duration::from_secs(1),
            Duration::from_secs(1),
            year
        )
    );

    let t = h
        .engine
        .save_trigger(h.admin.id, note(&h, "Note"))
        .await
        .expect("trigger");
    let quick = template(
        &h,
        "Quick",
        h.admin.id,
        "<p>x</p>",
        not_opened(Duration::from_secs(30), vec![t.id]),
    );
    let err = h.engine.save_template(h.admin.id, quick).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "not-opened timer of 30s is out of range: from 1min to 365d"
    );
    let forever = template(
        &h,
        "Late",
        h.admin.id,
        "<p>x</p>",
        not_opened(Duration::from_secs(u64::MAX), vec![t.id]),
    );
    let (what, ..) = out_of_range(h.engine.save_template(h.admin.id, forever).await.unwrap_err());
    assert_eq!(what, "not-opened timer");

    let offer = h
        .engine
        .save_template(
            h.admin.id,
            template(&h, "Offer", h.admin.id, "<p>x</p>", EmailTriggers::default()),
        )
        .await
        .expect("template");
    let mut delayed = rule(&h, offer.id, h.mailbox.id);
    delayed.delay = Duration::from_secs(10);
    let (what, _, min, max) = out_of_range(
        h.engine
            .save_pipeline_rule(h.admin.id, delayed.clone())
            .await
            .unwrap_err(),
    );
    assert_eq!((what, min, max), ("pipeline delay", Duration::from_secs(60), year));
    delayed.delay = Duration::from_secs(3600);
    h.engine
        .save_pipeline_rule(h.admin.id, delayed)
        .await
        .expect("an hour is fine");

    let mut mailbox: Mailbox = h.store.get(h.account.id, h.mailbox.id).await.expect("mailbox");
    mailbox.limits.spacing = Duration::ZERO;
    let (what, _, min, max) = out_of_range(h.engine.save_mailbox(h.admin.id, mailbox).await.unwrap_err());
    assert_eq!(
        (what, min, max),
        ("mailbox spacing", Duration::from_secs(1), Duration::from_secs(DAY))
    );

    let mut page = sample_page(h.account.id);
    page.cache = Duration::from_secs(2 * DAY);
    let (what, ..) = out_of_range(h.engine.save_web_page(h.admin.id, page.clone()).await.unwrap_err());
    assert_eq!(what, "page cache");
    page.cache = Duration::from_secs(600);
    page.lifetime_days = 0;
    let err = h.engine.save_web_page(h.admin.id, page).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Invalid(ValidationError::OutOfRange {
                what: "page lifetime",
                ..
            })
        ),
        "{err:?}"
    );
}

// --- pages and links ----------------------------------------------------------------------------------

#[tokio::test]
async fn page_ids_and_subdomains_are_validated_and_links_redirect_to_the_web_only() {
    let h = Harness::new().await;
    let mut page = sample_page(h.account.id);
    page.gtm_id = Some("GTM-AB12\"><script>".into());
    let err = h.engine.save_web_page(h.admin.id, page.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Invalid(ValidationError::Malformed { field: "gtm_id", .. })
        ),
        "{err:?}"
    );
    page.gtm_id = Some("GTM-AB12CD".into());
    page.metric_counter = Some("12345;alert(1)".into());
    let err = h.engine.save_web_page(h.admin.id, page.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Invalid(ValidationError::Malformed {
                field: "metric_counter",
                ..
            })
        ),
        "{err:?}"
    );
    page.metric_counter = Some("12345678".into());
    for sub in ["promo", "news", "spring"] {
        let mut p = page.clone();
        p.subdomain = Some(sub.into());
        h.engine.save_web_page(h.admin.id, p).await.expect("three subdomains");
    }
    let mut fourth: WebPage = page.clone();
    fourth.subdomain = Some("autumn".into());
    let err = h.engine.save_web_page(h.admin.id, fourth).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Invalid(ValidationError::OutOfRange { what: "subdomains", .. })
        ),
        "{err:?}"
    );
    let anna = member(&h, "Anna").await;
    assert!(matches!(
        h.engine.save_web_page(anna.id, page).await,
        Err(EngineError::Forbidden(_))
    ));

    let mut js = link(&h, "Bad", Vec::new());
    js.redirect = Some("javascript:alert(1)".into());
    let err = h.engine.save_trigger_link(h.admin.id, js).await.unwrap_err();
    assert!(
        matches!(
            err,
            EngineError::Invalid(ValidationError::Malformed { field: "redirect", .. })
        ),
        "{err:?}"
    );
}
