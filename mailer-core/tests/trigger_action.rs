//! Action resolution: every action, every field kind, every error.

#![allow(
    clippy::unwrap_used,
    reason = "fixture helpers outside #[test] fns panic on bad fixtures"
)]

use std::convert::Infallible;
use std::time::Duration;

use chrono::NaiveDate;
use mailer_core::model::{
    Action, Assignee, CrmAction, CrmId, CrmUserId, Deadline, Entity, EntityKind, EntityRecord, EntityRef, EnumId,
    EnumValue, FieldDef, FieldId, FieldKind, FieldValue, PipelineId, StageId, TemplateId, Timestamp, Timezone,
};
use mailer_core::trigger::{ActionContext, ActionError, Resolved, Targets, end_of_day, resolve};

fn ts(s: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// 22:30 UTC on 10 March: already 11 March in Moscow (UTC+3).
fn now() -> Timestamp {
    ts("2024-03-10T22:30:00Z")
}

fn moscow() -> Timezone {
    Timezone::parse("Europe/Moscow").unwrap()
}

fn field(id: i64, entity: EntityKind, name: &str, kind: FieldKind, enums: &[(i64, &str)]) -> FieldDef {
    FieldDef {
        id: FieldId(id),
        entity,
        name: name.into(),
        kind,
        enums: enums
            .iter()
            .map(|(id, v)| EnumValue {
                id: EnumId(*id),
                value: (*v).into(),
            })
            .collect(),
    }
}

fn fields() -> Vec<FieldDef> {
    vec![
        field(1, EntityKind::Lead, "Comment", FieldKind::Text, &[]),
        field(2, EntityKind::Lead, "Budget", FieldKind::Numeric, &[]),
        field(
            3,
            EntityKind::Lead,
            "Source",
            FieldKind::List,
            &[(31, "Web"), (32, "Cold call")],
        ),
        field(
            4,
            EntityKind::Contact,
            "Interests",
            FieldKind::Multilist,
            &[(41, "Tea"), (42, "Coffee")],
        ),
        field(5, EntityKind::Contact, "Newsletter", FieldKind::Switch, &[]),
        field(6, EntityKind::Company, "Last offer", FieldKind::Date, &[]),
    ]
}

/// A lead with a contact and a company.
fn targets() -> Targets {
    Targets {
        entity: EntityRef::lead(100),
        lead: Some(CrmId(100)),
        contact: Some(CrmId(200)),
        company: Some(CrmId(300)),
    }
}

/// Renders `{subject}` as "Offer" and leaves the rest as is.
fn render(s: &str) -> Result<String, Infallible> {
    Ok(s.replace("{subject}", "Offer"))
}

fn run(action: &Action) -> Result<Resolved, ActionError> {
    run_with(action, targets())
}

fn run_with(action: &Action, targets: Targets) -> Result<Resolved, ActionError> {
    let fields = fields();
    let ctx = ActionContext {
        targets,
        fields: &fields,
        timezone: moscow(),
        now: now(),
    };
    resolve(action, &ctx, render)
}

fn crm(action: &Action) -> CrmAction {
    match run(action) {
        Ok(Resolved::Crm(a)) => a,
        other => panic!("expected a CRM action, got {other:?}"),
    }
}

fn change(entity: EntityKind, field: i64, value: &str) -> Action {
    Action::ChangeField {
        entity,
        field: FieldId(field),
        value: value.into(),
    }
}

fn written(entity: EntityKind, field: i64, value: &str) -> Result<FieldValue, ActionError> {
    match run(&change(entity, field, value))? {
        Resolved::Crm(CrmAction::ChangeField { value, .. }) => Ok(value),
        other => panic!("expected a field change, got {other:?}"),
    }
}

#[test]
fn set_task_with_relative_deadline_and_rendered_text() {
    let action = Action::SetTask {
        task_type: 1,
        deadline: Deadline::After(Duration::from_secs(3600)),
        assignee: Assignee::Responsible,
        text: "Call the client that has opened {subject}".into(),
    };
    assert_eq!(
        crm(&action),
        CrmAction::SetTask {
            entity: EntityRef::lead(100),
            task_type: 1,
            due: ts("2024-03-10T23:30:00Z"),
            assignee: Assignee::Responsible,
            text: "Call the client that has opened Offer".into(),
        }
    );
}

#[test]
fn set_task_with_absolute_deadline_and_chosen_user() {
    let action = Action::SetTask {
        task_type: 2,
        deadline: Deadline::At(ts("2024-04-01T09:00:00Z")),
        assignee: Assignee::User(CrmUserId(7)),
        text: "Meet".into(),
    };
    let CrmAction::SetTask { due, assignee, .. } = crm(&action) else {
        panic!()
    };
    assert_eq!(due, ts("2024-04-01T09:00:00Z"));
    assert_eq!(assignee, Assignee::User(CrmUserId(7)));
}

#[test]
fn set_task_end_of_day_is_in_the_account_timezone() {
    let action = Action::SetTask {
        task_type: 1,
        deadline: Deadline::EndOfDay,
        assignee: Assignee::Responsible,
        text: String::new(),
    };
    let CrmAction::SetTask { due, .. } = crm(&action) else {
        panic!()
    };
    // It is 11 March 01:30 in Moscow: the day ends at 23:59:59 Moscow = 20:59:59 UTC.
    assert_eq!(due, ts("2024-03-11T20:59:59Z"));
}

#[test]
fn end_of_day_follows_daylight_saving_changes() {
    let berlin = Timezone::parse("Europe/Berlin").unwrap();
    // 31 March 2024 is 23 hours long in Berlin (CET → CEST at 02:00); it ends 23:59:59 CEST = 21:59:59 UTC.
    assert_eq!(
        end_of_day(berlin, ts("2024-03-31T00:30:00Z")),
        Some(ts("2024-03-31T21:59:59Z"))
    );
    // 27 October 2024 is 25 hours long; it ends 23:59:59 CET = 22:59:59 UTC.
    assert_eq!(
        end_of_day(berlin, ts("2024-10-27T01:30:00Z")),
        Some(ts("2024-10-27T22:59:59Z"))
    );
    assert_eq!(
        end_of_day(Timezone::UTC, ts("2024-10-27T00:00:00Z")),
        Some(ts("2024-10-27T23:59:59Z"))
    );
}

#[test]
fn deadline_out_of_range_is_an_error() {
    let action = Action::SetTask {
        task_type: 1,
        deadline: Deadline::After(Duration::MAX),
        assignee: Assignee::Responsible,
        text: String::new(),
    };
    assert!(matches!(run(&action), Err(ActionError::DeadlineOutOfRange)));
}

#[test]
fn add_note_goes_on_the_entity_with_rendered_text() {
    let action = Action::AddNote {
        text: "Email subject: {subject}".into(),
    };
    assert_eq!(
        crm(&action),
        CrmAction::AddNote {
            entity: EntityRef::lead(100),
            text: "Email subject: Offer".into()
        }
    );
}

#[test]
fn change_stage_moves_the_lead() {
    let action = Action::ChangeStage {
        pipeline: PipelineId(1),
        stage: StageId(2),
    };
    assert_eq!(
        crm(&action),
        CrmAction::ChangeStage {
            lead: CrmId(100),
            pipeline: PipelineId(1),
            stage: StageId(2)
        }
    );
    let contact_only = Targets::of(EntityRef::contact(200));
    assert!(matches!(
        run_with(&action, contact_only),
        Err(ActionError::NoTarget { kind: EntityKind::Lead })
    ));
}

#[test]
fn send_email_is_not_a_crm_action() {
    let action = Action::SendEmail {
        template: TemplateId(9),
    };
    assert_eq!(run(&action).unwrap(), Resolved::SendTemplate(TemplateId(9)));
}

#[test]
fn create_lead_for_the_contact() {
    let action = Action::CreateLead {
        name: "Lead from {subject}".into(),
        pipeline: PipelineId(1),
        stage: StageId(3),
    };
    assert_eq!(
        crm(&action),
        CrmAction::CreateLead {
            contact: CrmId(200),
            name: "Lead from Offer".into(),
            pipeline: PipelineId(1),
            stage: StageId(3)
        }
    );
    let company_only = Targets::of(EntityRef::company(300));
    assert!(matches!(
        run_with(&action, company_only),
        Err(ActionError::NoTarget {
            kind: EntityKind::Contact
        })
    ));
}

#[test]
fn change_tags_adds_and_removes_rendered_trimmed_distinct_tags() {
    let action = Action::ChangeTags {
        entity: EntityKind::Contact,
        add: vec!["opened {subject}".into(), " hot ".into(), "hot".into(), "".into()],
        remove: vec!["cold".into()],
    };
    assert_eq!(
        crm(&action),
        CrmAction::ChangeTags {
            entity: EntityRef::contact(200),
            add: vec!["opened Offer".into(), "hot".into()],
            remove: vec!["cold".into()],
        }
    );
}

#[test]
fn text_field_replaces_with_the_rendered_text() {
    assert_eq!(
        written(EntityKind::Lead, 1, "Read {subject}").ok(),
        Some(FieldValue::Text("Read Offer".into()))
    );
    let CrmAction::ChangeField { entity, field, .. } = crm(&change(EntityKind::Lead, 1, "x")) else {
        panic!()
    };
    assert_eq!((entity, field), (EntityRef::lead(100), FieldId(1)));
}

#[test]
fn numeric_field_takes_a_number_only() {
    for ok in ["42", "-7", "3.25", " 10 ", "0"] {
        assert_eq!(
            written(EntityKind::Lead, 2, ok).ok(),
            Some(FieldValue::Numeric(ok.trim().into())),
            "{ok:?}"
        );
    }
    for bad in ["", "12 000", "1,5", "1e3", "+1", "$10", "ten", "1.", ".5", "--1"] {
        match written(EntityKind::Lead, 2, bad) {
            Err(ActionError::NotANumber { field, value }) => {
                assert_eq!(field, "Budget");
                assert_eq!(value, bad.trim());
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn numeric_error_message_names_field_and_value() {
    let err = written(EntityKind::Lead, 2, "ten").unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"field "Budget" is numeric and "ten" is not a number"#
    );
}

#[test]
fn list_field_takes_an_existing_value_exactly() {
    assert_eq!(
        written(EntityKind::Lead, 3, "Cold call").ok(),
        Some(FieldValue::List(EnumId(32)))
    );
    for bad in ["cold call", "Cold  call", "Mail"] {
        match written(EntityKind::Lead, 3, bad) {
            Err(ActionError::NotInList { field, value, allowed }) => {
                assert_eq!(field, "Source");
                assert_eq!(value, bad);
                assert_eq!(allowed, ["Web", "Cold call"]);
            }
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn multilist_field_adds_an_existing_value() {
    let CrmAction::ChangeField { entity, value, .. } = crm(&change(EntityKind::Contact, 4, "Coffee")) else {
        panic!()
    };
    assert_eq!(entity, EntityRef::contact(200));
    assert_eq!(value, FieldValue::MultilistAdd(EnumId(42)));
    assert!(matches!(
        written(EntityKind::Contact, 4, "Juice"),
        Err(ActionError::NotInList { .. })
    ));
}

#[test]
fn switch_field_takes_1_or_0() {
    assert_eq!(
        written(EntityKind::Contact, 5, "1").ok(),
        Some(FieldValue::Switch(true))
    );
    assert_eq!(
        written(EntityKind::Contact, 5, "0").ok(),
        Some(FieldValue::Switch(false))
    );
    for bad in ["yes", "true", "2", ""] {
        assert!(
            matches!(
                written(EntityKind::Contact, 5, bad),
                Err(ActionError::NotASwitch { .. })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn date_field_takes_iso_date_or_today_in_the_account_timezone() {
    assert_eq!(
        written(EntityKind::Company, 6, "2018-08-29").ok(),
        Some(FieldValue::Date(NaiveDate::from_ymd_opt(2018, 8, 29).unwrap()))
    );
    // 22:30 UTC on 10 March is 11 March in Moscow.
    assert_eq!(
        written(EntityKind::Company, 6, "{date}").ok(),
        Some(FieldValue::Date(NaiveDate::from_ymd_opt(2024, 3, 11).unwrap()))
    );
    for bad in ["2018-8-29", "29.08.2018", "2018-02-30", "2018-08-29T10:00", "today"] {
        assert!(
            matches!(written(EntityKind::Company, 6, bad), Err(ActionError::NotADate { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn reset_clears_every_kind() {
    for (entity, id) in [
        (EntityKind::Lead, 1),
        (EntityKind::Lead, 2),
        (EntityKind::Lead, 3),
        (EntityKind::Contact, 4),
        (EntityKind::Contact, 5),
        (EntityKind::Company, 6),
    ] {
        assert_eq!(
            written(entity, id, " {reset} ").ok(),
            Some(FieldValue::Reset),
            "field {id}"
        );
    }
}

#[test]
fn reset_and_date_are_not_sent_to_the_renderer() {
    let fields = fields();
    let ctx = ActionContext {
        targets: targets(),
        fields: &fields,
        timezone: Timezone::UTC,
        now: now(),
    };
    let refuse = |s: &str| Err::<String, _>(format!("renderer called with {s}"));
    assert!(resolve(&change(EntityKind::Lead, 2, "{reset}"), &ctx, refuse).is_ok());
    assert!(resolve(&change(EntityKind::Company, 6, "{date}"), &ctx, refuse).is_ok());
}

#[test]
fn unknown_field_or_field_of_another_entity_is_an_error() {
    assert!(matches!(
        written(EntityKind::Lead, 99, "x"),
        Err(ActionError::UnknownField {
            entity: EntityKind::Lead,
            field: FieldId(99)
        })
    ));
    // Field 5 is a contact field.
    assert!(matches!(
        written(EntityKind::Lead, 5, "1"),
        Err(ActionError::UnknownField { .. })
    ));
}

#[test]
fn field_of_a_missing_entity_is_an_error() {
    let lead_only = Targets::of(EntityRef::lead(100));
    assert!(matches!(
        run_with(&change(EntityKind::Company, 6, "2020-01-01"), lead_only),
        Err(ActionError::NoTarget {
            kind: EntityKind::Company
        })
    ));
}

#[test]
fn render_failure_is_reported_with_its_source() {
    let fields = fields();
    let ctx = ActionContext {
        targets: targets(),
        fields: &fields,
        timezone: Timezone::UTC,
        now: now(),
    };
    let err = resolve(&Action::AddNote { text: "{{ bad".into() }, &ctx, |_: &str| {
        Err::<String, _>("unclosed tag at 1:1")
    })
    .unwrap_err();
    assert_eq!(err.to_string(), "rendering the note text failed");
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("unclosed tag at 1:1"));
}

#[test]
fn targets_come_from_the_crm_record() {
    let mut record = EntityRecord {
        entity: Entity::new(EntityRef::contact(200), "Anna"),
        lead: Some(Entity::new(EntityRef::lead(100), "Deal")),
        contacts: vec![Entity::new(EntityRef::contact(200), "Anna")],
        company: Some(Entity::new(EntityRef::company(300), "Acme")),
        responsible: None,
    };
    assert_eq!(
        Targets::from_record(&record),
        Targets {
            entity: EntityRef::contact(200),
            ..targets()
        }
    );
    record.lead = None;
    record.company = None;
    let t = Targets::from_record(&record);
    assert_eq!((t.lead, t.contact, t.company), (None, Some(CrmId(200)), None));
}
