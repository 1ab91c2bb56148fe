//! Loop safety: the save-time cycle check and the run-time budget.

#![allow(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] fns panic on bad fixtures"
)]

use std::time::Duration;

use mailer_core::loops::{AutoSend, Automation, Budget, BudgetDecision, Chain, Hop, LoopError, OverBudget, Via, check};
use mailer_core::model::{
    AccountId, Action, Body, Content, EmailId, EmailTriggers, EntityKind, EntityRef, FieldId, LeadFilter, MailboxId,
    MailingId, NotOpened, PipelineId, PipelineRule, PipelineRuleId, RecipientRule, StageEvent, StageId, Template,
    TemplateId, Timestamp, Trigger, TriggerId, TriggerLink, TriggerLinkId, UserId, WebPage, WebPageId,
};

const ACCOUNT: AccountId = AccountId(1);
const DAY: Duration = Duration::from_secs(24 * 3600);

fn template(id: i64, name: &str, body: &str, triggers: EmailTriggers) -> Template {
    Template {
        id: TemplateId(id),
        account: ACCOUNT,
        name: name.into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: name.into(),
            body: Body::Html(body.into()),
            text: None,
        },
        attachments: vec![],
        triggers,
        owner: UserId(1),
        public: true,
        signature_disabled: false,
    }
}

fn trigger(id: i64, name: &str, action: Action) -> Trigger {
    Trigger {
        id: TriggerId(id),
        account: ACCOUNT,
        name: name.into(),
        action,
        delay: Duration::ZERO,
    }
}

fn send(id: i64, name: &str, template: i64) -> Trigger {
    trigger(
        id,
        name,
        Action::SendEmail {
            template: TemplateId(template),
        },
    )
}

fn ids(v: &[i64]) -> Vec<TriggerId> {
    v.iter().copied().map(TriggerId).collect()
}

fn not_opened(after: Duration, triggers: &[i64]) -> Option<NotOpened> {
    Some(NotOpened {
        after,
        triggers: ids(triggers),
    })
}

fn refused(config: &Automation<'_>) -> String {
    match check(config) {
        Err(LoopError::RecipientFreeCycle(cycle)) => cycle.to_string(),
        Err(other) => panic!("unexpected error: {other}"),
        Ok(graph) => panic!("accepted: {:?}", graph.edges()),
    }
}

#[test]
fn resending_the_same_template_when_not_opened_is_refused_and_spelled_out() {
    let templates = [template(
        1,
        "Offer",
        "<p>offer</p>",
        EmailTriggers {
            not_opened: not_opened(DAY, &[2]),
            ..EmailTriggers::default()
        },
    )];
    let triggers = [send(2, "Resend", 1)];
    let config = Automation {
        templates: &templates,
        triggers: &triggers,
        ..Automation::default()
    };
    assert_eq!(
        refused(&config),
        "Offer --not opened 24h--> Resend --send email--> Offer"
    );
    let err = check(&config).unwrap_err();
    assert_eq!(
        err.to_string(),
        "this automation sends email in a loop without the recipient doing anything: \
         Offer --not opened 24h--> Resend --send email--> Offer"
    );
}

#[test]
fn loops_through_sent_or_failed_are_refused() {
    for (on, via) in [
        (
            EmailTriggers {
                on_sent: ids(&[2]),
                ..EmailTriggers::default()
            },
            "sent",
        ),
        (
            EmailTriggers {
                on_failed: ids(&[2]),
                ..EmailTriggers::default()
            },
            "failed",
        ),
    ] {
        let templates = [template(1, "News", "", on)];
        let triggers = [send(2, "Again", 1)];
        let config = Automation {
            templates: &templates,
            triggers: &triggers,
            ..Automation::default()
        };
        assert_eq!(refused(&config), format!("News --{via}--> Again --send email--> News"));
    }
}

#[test]
fn a_longer_cycle_is_spelled_step_by_step_with_delays() {
    let templates = [
        template(
            1,
            "A",
            "",
            EmailTriggers {
                on_sent: ids(&[10]),
                ..EmailTriggers::default()
            },
        ),
        template(
            2,
            "B",
            "",
            EmailTriggers {
                not_opened: not_opened(Duration::from_secs(90 * 60), &[20]),
                ..EmailTriggers::default()
            },
        ),
        template(
            3,
            "C",
            "",
            EmailTriggers {
                on_failed: ids(&[30]),
                ..EmailTriggers::default()
            },
        ),
    ];
    let mut to_c = send(20, "Send C", 3);
    to_c.delay = Duration::from_secs(3600);
    let triggers = [send(10, "Send B", 2), to_c, send(30, "Send A", 1)];
    let config = Automation {
        templates: &templates,
        triggers: &triggers,
        ..Automation::default()
    };
    assert_eq!(
        refused(&config),
        "A --sent--> Send B --send email--> B --not opened 90min--> Send C --send email after 1h--> C \
         --failed--> Send A --send email--> A"
    );
}

#[test]
fn a_chain_without_a_cycle_is_accepted() {
    let templates = [
        template(
            1,
            "A",
            "",
            EmailTriggers {
                on_sent: ids(&[10]),
                not_opened: not_opened(DAY, &[10, 20]),
                ..EmailTriggers::default()
            },
        ),
        template(
            2,
            "B",
            "",
            EmailTriggers {
                on_sent: ids(&[20]),
                ..EmailTriggers::default()
            },
        ),
        template(3, "C", "", EmailTriggers::default()),
    ];
    let triggers = [send(10, "Send B", 2), send(20, "Send C", 3)];
    let graph = check(&Automation {
        templates: &templates,
        triggers: &triggers,
        ..Automation::default()
    })
    .unwrap();
    let edges: Vec<(i64, Via, i64)> = graph.edges().iter().map(|e| (e.from.0, e.via, e.to.0)).collect();
    assert_eq!(
        edges,
        [
            (1, Via::Sent, 2),
            (1, Via::NotOpened(DAY), 2),
            (1, Via::NotOpened(DAY), 3),
            (2, Via::Sent, 3)
        ]
    );
}

#[test]
fn cycles_that_need_the_recipient_are_accepted() {
    // Opened → same template; a link click → same template; a page open → same template.
    let templates = [template(
        1,
        "Offer",
        r#"<a href="{triggerlink:8}">Read</a> <a href="{web:5}">page</a>"#,
        EmailTriggers {
            on_opened: ids(&[2]),
            ..EmailTriggers::default()
        },
    )];
    let triggers = [send(2, "Again", 1)];
    let links = [TriggerLink {
        id: TriggerLinkId(8),
        account: ACCOUNT,
        name: "Link".into(),
        once: false,
        redirect: None,
        triggers: ids(&[2]),
    }];
    let pages = [page(5, &[2], "")];
    let graph = check(&Automation {
        templates: &templates,
        triggers: &triggers,
        links: &links,
        pages: &pages,
        ..Automation::default()
    })
    .unwrap();
    let vias: Vec<Via> = graph.edges().iter().map(|e| e.via).collect();
    assert_eq!(
        vias,
        [
            Via::Opened,
            Via::LinkClicked(TriggerLinkId(8)),
            Via::PageOpened(WebPageId(5))
        ]
    );
    assert!(vias.iter().all(|v| v.needs_recipient()));
}

#[test]
fn a_cycle_with_one_recipient_step_is_accepted() {
    let templates = [
        template(
            1,
            "A",
            "",
            EmailTriggers {
                on_sent: ids(&[10]),
                ..EmailTriggers::default()
            },
        ),
        template(
            2,
            "B",
            "",
            EmailTriggers {
                on_opened: ids(&[20]),
                ..EmailTriggers::default()
            },
        ),
    ];
    let triggers = [send(10, "Send B", 2), send(20, "Send A", 1)];
    assert!(
        check(&Automation {
            templates: &templates,
            triggers: &triggers,
            ..Automation::default()
        })
        .is_ok()
    );
}

fn page(id: i64, on_open: &[i64], body: &str) -> WebPage {
    WebPage {
        id: WebPageId(id),
        account: ACCOUNT,
        header: "Page".into(),
        slug: "page".into(),
        content: Content {
            subject: String::new(),
            body: Body::Html(body.into()),
            text: None,
        },
        lifetime_days: 30,
        cache: Duration::from_secs(60),
        subdomain: None,
        on_open: ids(on_open),
        metric_counter: None,
        gtm_id: None,
    }
}

#[test]
fn pages_are_reached_from_field_writes_and_their_links_count() {
    // The template's sent trigger writes {web:5} into a field; the page holds link 9, which sends A.
    let templates = [template(
        1,
        "A",
        "",
        EmailTriggers {
            on_sent: ids(&[10]),
            ..EmailTriggers::default()
        },
    )];
    let triggers = [
        trigger(
            10,
            "Write page link",
            Action::ChangeField {
                entity: EntityKind::Lead,
                field: FieldId(1),
                value: "{web:5}".into(),
            },
        ),
        send(20, "Send A", 1),
    ];
    let links = [TriggerLink {
        id: TriggerLinkId(9),
        account: ACCOUNT,
        name: "On page".into(),
        once: true,
        redirect: None,
        triggers: ids(&[20]),
    }];
    let pages = [page(5, &[], r#"<a href="{triggerlink:9}">go</a>"#)];
    let graph = check(&Automation {
        templates: &templates,
        triggers: &triggers,
        links: &links,
        pages: &pages,
        ..Automation::default()
    })
    .unwrap();
    let edges: Vec<(Via, i64)> = graph.edges().iter().map(|e| (e.via, e.to.0)).collect();
    assert_eq!(edges, [(Via::LinkClicked(TriggerLinkId(9)), 1)]);
}

fn rule(id: i64, stage: i64, on: StageEvent, template: i64) -> PipelineRule {
    PipelineRule {
        id: PipelineRuleId(id),
        account: ACCOUNT,
        pipeline: PipelineId(1),
        stage: StageId(stage),
        on,
        filter: LeadFilter::default(),
        template: TemplateId(template),
        mailbox: MailboxId(1),
        delay: Duration::ZERO,
    }
}

#[test]
fn a_loop_through_a_pipeline_rule_is_refused() {
    let templates = [template(
        1,
        "Offer",
        "",
        EmailTriggers {
            on_sent: ids(&[2]),
            ..EmailTriggers::default()
        },
    )];
    let triggers = [trigger(
        2,
        "To Offer sent",
        Action::ChangeStage {
            pipeline: PipelineId(1),
            stage: StageId(7),
        },
    )];
    for on in [StageEvent::MovedIn, StageEvent::CreatedOrMovedIn] {
        let rules = [rule(5, 7, on, 1)];
        let config = Automation {
            templates: &templates,
            triggers: &triggers,
            rules: &rules,
            ..Automation::default()
        };
        assert_eq!(
            refused(&config),
            "Offer --sent--> To Offer sent --change stage, pipeline rule 5--> Offer"
        );
    }
    // A rule for leads created in the stage does not fire on a move; a rule of another stage neither.
    for rules in [
        [rule(5, 7, StageEvent::Created, 1)],
        [rule(5, 8, StageEvent::MovedIn, 1)],
    ] {
        assert!(
            check(&Automation {
                templates: &templates,
                triggers: &triggers,
                rules: &rules,
                ..Automation::default()
            })
            .is_ok()
        );
    }
}

#[test]
fn a_loop_through_created_leads_is_refused() {
    let templates = [template(
        1,
        "Offer",
        "",
        EmailTriggers {
            on_failed: ids(&[2]),
            ..EmailTriggers::default()
        },
    )];
    let triggers = [trigger(
        2,
        "New lead",
        Action::CreateLead {
            name: "x".into(),
            pipeline: PipelineId(1),
            stage: StageId(7),
        },
    )];
    let rules = [rule(5, 7, StageEvent::Created, 1)];
    let config = Automation {
        templates: &templates,
        triggers: &triggers,
        rules: &rules,
        ..Automation::default()
    };
    let graph_err = check(&config).unwrap_err();
    let LoopError::RecipientFreeCycle(cycle) = &graph_err else {
        panic!("unexpected error: {graph_err}")
    };
    assert_eq!(cycle.steps[0].edge.hop, Hop::NewLeadRule(PipelineRuleId(5)));
    assert_eq!(
        refused(&config),
        "Offer --failed--> New lead --create lead, pipeline rule 5--> Offer"
    );
}

#[test]
fn a_loop_through_a_rule_on_tag_changes_is_refused_in_any_stage() {
    let templates = [template(
        1,
        "Offer",
        "",
        EmailTriggers {
            on_sent: ids(&[2]),
            ..EmailTriggers::default()
        },
    )];
    let tag = |entity| {
        [trigger(
            2,
            "Tag sent",
            Action::ChangeTags {
                entity,
                add: vec!["sent".into()],
                remove: Vec::new(),
            },
        )]
    };
    // the lead may be in any stage when its tags change
    let rules = [rule(5, 99, StageEvent::TagsChanged, 1)];
    let lead = tag(EntityKind::Lead);
    let config = Automation {
        templates: &templates,
        triggers: &lead,
        rules: &rules,
        ..Automation::default()
    };
    assert_eq!(
        refused(&config),
        "Offer --sent--> Tag sent --change tags, pipeline rule 5--> Offer"
    );
    // a contact's tags, or a rule on responsible changes, make no loop
    let contact = tag(EntityKind::Contact);
    let responsible = [rule(5, 99, StageEvent::ResponsibleChanged, 1)];
    for (triggers, rules) in [(&contact, &rules), (&lead, &responsible)] {
        assert!(
            check(&Automation {
                templates: &templates,
                triggers,
                rules,
                ..Automation::default()
            })
            .is_ok()
        );
    }
}

#[test]
fn references_to_missing_records_lead_nowhere() {
    let templates = [template(
        1,
        "A",
        "{triggerlink:77} {web:78}",
        EmailTriggers {
            on_sent: ids(&[99, 2]),
            ..EmailTriggers::default()
        },
    )];
    let triggers = [send(2, "To a deleted template", 42)];
    let graph = check(&Automation {
        templates: &templates,
        triggers: &triggers,
        ..Automation::default()
    })
    .unwrap();
    assert!(graph.edges().is_empty(), "{:?}", graph.edges());
}

// ---- budget ----

fn t(hours: i64) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339("2024-03-10T00:00:00Z")
        .unwrap()
        .to_utc()
        + chrono::Duration::hours(hours)
}

const LEAD: EntityRef = EntityRef {
    kind: EntityKind::Lead,
    id: mailer_core::model::CrmId(1),
};
const CHAIN: Chain = Chain::Email(EmailId(1));

fn sends(hours: &[i64]) -> Vec<AutoSend> {
    hours
        .iter()
        .map(|h| AutoSend {
            entity: LEAD,
            chain: CHAIN,
            at: t(*h),
        })
        .collect()
}

#[test]
fn budget_allows_three_automatic_sends_in_24_hours_by_default() {
    let budget = Budget::default();
    assert_eq!((budget.max_sends, budget.window), (3, DAY));
    assert_eq!(
        budget.check(LEAD, CHAIN, t(0), &[]),
        BudgetDecision::Allowed { used: 0 }
    );
    assert_eq!(
        budget.check(LEAD, CHAIN, t(5), &sends(&[0, 1])),
        BudgetDecision::Allowed { used: 2 }
    );
    assert_eq!(
        budget.check(LEAD, CHAIN, t(5), &sends(&[0, 1, 2])),
        BudgetDecision::OverBudget(OverBudget {
            used: 3,
            limit: 3,
            window: DAY,
            allowed_again_at: t(24) + chrono::Duration::nanoseconds(1),
        })
    );
}

#[test]
fn budget_window_slides_and_includes_its_edge() {
    let budget = Budget::default();
    let recent = sends(&[0, 1, 2]);
    // Exactly 24 h after the first send it still counts; just after, it has left.
    assert!(matches!(
        budget.check(LEAD, CHAIN, t(24), &recent),
        BudgetDecision::OverBudget(_)
    ));
    let later = t(24) + chrono::Duration::seconds(1);
    assert_eq!(
        budget.check(LEAD, CHAIN, later, &recent),
        BudgetDecision::Allowed { used: 2 }
    );
}

#[test]
fn budget_counts_only_this_entity_and_chain() {
    let budget = Budget::default();
    let mut recent = sends(&[0, 1]);
    recent.push(AutoSend {
        entity: EntityRef::lead(2),
        chain: CHAIN,
        at: t(1),
    });
    recent.push(AutoSend {
        entity: LEAD,
        chain: Chain::Mailing(MailingId(3)),
        at: t(1),
    });
    recent.push(AutoSend {
        entity: LEAD,
        chain: Chain::Email(EmailId(2)),
        at: t(1),
    });
    assert_eq!(
        budget.check(LEAD, CHAIN, t(2), &recent),
        BudgetDecision::Allowed { used: 2 }
    );
}

#[test]
fn budget_limit_and_window_are_configurable() {
    let budget = Budget {
        max_sends: 1,
        window: Duration::from_secs(3600),
    };
    let recent = sends(&[0]);
    assert!(matches!(
        budget.check(LEAD, CHAIN, t(1), &recent),
        BudgetDecision::OverBudget(_)
    ));
    assert_eq!(
        budget.check(LEAD, CHAIN, t(2), &recent),
        BudgetDecision::Allowed { used: 0 }
    );
    let none = Budget {
        max_sends: 0,
        ..Budget::default()
    };
    assert!(matches!(
        none.check(LEAD, CHAIN, t(0), &[]),
        BudgetDecision::OverBudget(_)
    ));
}

#[test]
fn over_budget_says_when_sending_is_allowed_again() {
    let budget = Budget::default();
    // Four in the window (the store may hold more than the limit, e.g. manual resends): two must leave.
    let BudgetDecision::OverBudget(over) = budget.check(LEAD, CHAIN, t(10), &sends(&[3, 1, 2, 4])) else {
        panic!()
    };
    assert_eq!(over.used, 4);
    assert_eq!(over.allowed_again_at, t(26) + chrono::Duration::nanoseconds(1));
    assert_eq!(
        budget.check(LEAD, CHAIN, over.allowed_again_at, &sends(&[3, 1, 2, 4])),
        BudgetDecision::Allowed { used: 2 }
    );
    assert!(over.to_string().starts_with("loop budget spent: 4 automatic sends"));
}
