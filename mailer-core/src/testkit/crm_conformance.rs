//! Behaviour every [`Crm`](crate::ports::Crm) adapter must have, on the standard [`World`]. Not
//! semver-stable; for tests only.

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::model::{Assignee, CrmAction, EntityKind, EntityRef, FieldValue};
use crate::ports::{CrmError, DynCrm};

use super::World;

/// What a CRM conformance run needs from an adapter: the adapter, a way to seed the standard world in a
/// fresh account, and a look at the notes and tasks the adapter made (the `Crm` port does not read them).
#[async_trait]
pub trait CrmFixture: Send + Sync {
    /// The adapter under test.
    fn crm(&self) -> &DynCrm;
    /// Seeds the standard [`World`] in a fresh account.
    async fn seed_world(&self) -> World;
    /// The texts of the notes on an entity.
    async fn notes(&self, world: &World, entity: EntityRef) -> Vec<String>;
    /// The texts of the tasks on an entity.
    async fn task_texts(&self, world: &World, entity: EntityRef) -> Vec<String>;
}

async fn lead_values(fx: &dyn CrmFixture, w: &World, field: crate::model::FieldId) -> Vec<String> {
    let rec = fx.crm().entity(w.account, w.lead).await.expect("read lead");
    rec.entity.field(field).map(|f| f.values.clone()).unwrap_or_default()
}

async fn set(fx: &dyn CrmFixture, w: &World, field: crate::model::FieldId, value: FieldValue) -> Result<(), CrmError> {
    fx.crm()
        .apply(
            w.account,
            &CrmAction::ChangeField {
                entity: w.lead,
                field,
                value,
            },
        )
        .await
        .map(drop)
}

/// A lead reads with its name, price, tags, fields, contacts, company, stage and responsible user.
pub async fn reads_lead_with_links(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let rec = fx.crm().entity(w.account, w.lead).await.expect("read lead");
    assert_eq!(rec.entity.name, "Offer for Acme");
    assert_eq!(rec.entity.price, Some(5000));
    assert_eq!(rec.entity.tags, vec!["vip".to_owned()]);
    assert_eq!(rec.entity.stage, Some((w.pipeline, w.stages[0])));
    assert_eq!(
        rec.entity.field(w.comment).map(|f| f.values.clone()),
        Some(vec!["first call".to_owned()])
    );
    let mut emails: Vec<String> = rec.contacts.iter().flat_map(|c| c.emails.clone()).collect();
    emails.sort();
    assert_eq!(
        emails,
        vec!["anna@example.com".to_owned(), "boris@example.com".to_owned()]
    );
    assert_eq!(rec.company.map(|c| c.name), Some("Acme LLC".to_owned()));
    assert_eq!(rec.responsible.map(|u| u.name), Some("Maria Manager".to_owned()));
    assert_eq!(rec.lead.map(|l| l.entity), Some(w.lead));
}

/// A contact reads with itself as the contact, its lead and its company.
pub async fn reads_contact_with_lead(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let rec = fx.crm().entity(w.account, w.anna).await.expect("read contact");
    assert_eq!(rec.entity.emails, vec!["anna@example.com".to_owned()]);
    assert_eq!(rec.contacts.iter().map(|c| c.entity).collect::<Vec<_>>(), vec![w.anna]);
    assert_eq!(rec.lead.map(|l| l.entity), Some(w.lead));
    assert_eq!(rec.company.map(|c| c.entity), Some(w.company));
}

/// An unknown entity is `NotFound`.
pub async fn unknown_entity_is_not_found(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let err = fx
        .crm()
        .entity(w.account, EntityRef::lead(987_654_321))
        .await
        .expect_err("read a missing lead");
    assert!(matches!(err, CrmError::NotFound { .. }), "{err:?}");
}

/// Field definitions list every kind with their list values.
pub async fn lists_fields_and_pipelines(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let defs = fx.crm().fields(w.account, EntityKind::Lead).await.expect("fields");
    let payment = defs.iter().find(|d| d.id == w.payment.0).expect("payment field listed");
    assert_eq!(
        payment.enums.iter().map(|e| e.value.as_str()).collect::<Vec<_>>(),
        ["Cash", "Online"]
    );
    for id in [w.comment, w.budget, w.service.0, w.delivery, w.meeting] {
        assert!(defs.iter().any(|d| d.id == id), "field {id} not listed");
    }
    let pipelines = fx.crm().pipelines(w.account).await.expect("pipelines");
    let sales = pipelines.iter().find(|p| p.id == w.pipeline).expect("pipeline listed");
    assert_eq!(sales.stages.iter().map(|s| s.id).collect::<Vec<_>>(), w.stages.to_vec());
}

/// Text replaces, numeric takes numbers only.
pub async fn text_and_numeric_fields(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    set(fx, &w, w.comment, FieldValue::Text("called back".into()))
        .await
        .expect("text");
    assert_eq!(lead_values(fx, &w, w.comment).await, ["called back"]);
    set(fx, &w, w.budget, FieldValue::Numeric("1500.5".into()))
        .await
        .expect("numeric");
    assert_eq!(lead_values(fx, &w, w.budget).await, ["1500.5"]);
    let err = set(fx, &w, w.budget, FieldValue::Text("lots".into()))
        .await
        .expect_err("text into numeric");
    assert!(matches!(err, CrmError::InvalidValue { .. }), "{err:?}");
    assert_eq!(
        lead_values(fx, &w, w.budget).await,
        ["1500.5"],
        "a refused value changed the field"
    );
}

/// A list takes one value; a multilist adds values.
pub async fn list_and_multilist_fields(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    set(fx, &w, w.payment.0, FieldValue::List(w.payment.1[1]))
        .await
        .expect("list");
    assert_eq!(lead_values(fx, &w, w.payment.0).await, ["Online"]);
    set(fx, &w, w.service.0, FieldValue::MultilistAdd(w.service.1[0]))
        .await
        .expect("multi 1");
    set(fx, &w, w.service.0, FieldValue::MultilistAdd(w.service.1[1]))
        .await
        .expect("multi 2");
    let mut got = lead_values(fx, &w, w.service.0).await;
    got.sort();
    assert_eq!(got, ["Cleaning", "Upgrade"]);
}

/// A switch turns on and off; a date is set to the day.
pub async fn switch_and_date_fields(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    set(fx, &w, w.delivery, FieldValue::Switch(true)).await.expect("on");
    assert_eq!(lead_values(fx, &w, w.delivery).await, ["1"]);
    set(fx, &w, w.delivery, FieldValue::Switch(false)).await.expect("off");
    assert!(
        lead_values(fx, &w, w.delivery).await.iter().all(|v| v != "1"),
        "switch still on"
    );
    let day = NaiveDate::from_ymd_opt(2018, 8, 29).expect("date");
    set(fx, &w, w.meeting, FieldValue::Date(day)).await.expect("date");
    assert_eq!(lead_values(fx, &w, w.meeting).await, ["2018-08-29"]);
}

/// `Reset` clears any kind of field.
pub async fn reset_clears_every_kind(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    set(fx, &w, w.budget, FieldValue::Numeric("10".into()))
        .await
        .expect("numeric");
    set(fx, &w, w.payment.0, FieldValue::List(w.payment.1[0]))
        .await
        .expect("list");
    set(fx, &w, w.service.0, FieldValue::MultilistAdd(w.service.1[0]))
        .await
        .expect("multi");
    set(fx, &w, w.delivery, FieldValue::Switch(true)).await.expect("switch");
    for field in [w.comment, w.budget, w.payment.0, w.service.0, w.delivery] {
        set(fx, &w, field, FieldValue::Reset).await.expect("reset");
        let left = lead_values(fx, &w, field).await;
        assert!(
            left.iter().all(|v| v.is_empty() || v == "0"),
            "field {field} not cleared: {left:?}"
        );
    }
}

/// Change stage moves the lead; an unknown stage is refused.
pub async fn change_stage(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let action = CrmAction::ChangeStage {
        lead: w.lead.id,
        pipeline: w.pipeline,
        stage: w.stages[1],
    };
    fx.crm().apply(w.account, &action).await.expect("change stage");
    let rec = fx.crm().entity(w.account, w.lead).await.expect("read");
    assert_eq!(rec.entity.stage, Some((w.pipeline, w.stages[1])));
    let bad = CrmAction::ChangeStage {
        lead: w.lead.id,
        pipeline: w.pipeline,
        stage: crate::model::StageId(987_654_321),
    };
    assert!(
        fx.crm().apply(w.account, &bad).await.is_err(),
        "an unknown stage was accepted"
    );
}

/// Tags are added and removed.
pub async fn change_tags(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let action = CrmAction::ChangeTags {
        entity: w.lead,
        add: vec!["opened".into()],
        remove: vec!["vip".into()],
    };
    fx.crm().apply(w.account, &action).await.expect("tags");
    let rec = fx.crm().entity(w.account, w.lead).await.expect("read");
    assert_eq!(rec.entity.tags, vec!["opened".to_owned()]);
}

/// A created lead is linked to the contact and sits in the chosen stage.
pub async fn create_lead_for_contact(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let action = CrmAction::CreateLead {
        contact: w.boris.id,
        name: "Follow-up".into(),
        pipeline: w.pipeline,
        stage: w.stages[0],
    };
    let outcome = fx.crm().apply(w.account, &action).await.expect("create lead");
    let crate::model::ActionOutcome::Created(id) = outcome else {
        panic!("no lead id: {outcome:?}")
    };
    let rec = fx
        .crm()
        .entity(
            w.account,
            EntityRef {
                kind: EntityKind::Lead,
                id,
            },
        )
        .await
        .expect("read new lead");
    assert_eq!(rec.entity.name, "Follow-up");
    assert_eq!(rec.entity.stage, Some((w.pipeline, w.stages[0])));
    assert!(
        rec.contacts.iter().any(|c| c.entity == w.boris),
        "new lead not linked to the contact"
    );
}

/// Notes and tasks land on the entity with their texts.
pub async fn notes_and_tasks(fx: &dyn CrmFixture) {
    let w = fx.seed_world().await;
    let note = CrmAction::AddNote {
        entity: w.lead,
        text: "Email <b>Offer</b> opened".into(),
    };
    fx.crm().apply(w.account, &note).await.expect("note");
    assert_eq!(fx.notes(&w, w.lead).await, ["Email <b>Offer</b> opened"]);
    let due = chrono::DateTime::parse_from_rfc3339("2026-01-06T18:00:00Z")
        .expect("time")
        .to_utc();
    let task = CrmAction::SetTask {
        entity: w.lead,
        task_type: 1,
        due,
        assignee: Assignee::Responsible,
        text: "Call the client".into(),
    };
    fx.crm().apply(w.account, &task).await.expect("task");
    assert_eq!(fx.task_texts(&w, w.lead).await, ["Call the client"]);
}

/// Generates one `#[test]` per CRM conformance case. `$setup` is an async fn returning `Option<F>`
/// where `F` derefs to a [`CrmFixture`]; `None` skips.
#[macro_export]
macro_rules! crm_conformance_tests {
    ($setup:path) => {
        $crate::__conformance_tests!($setup, crm_conformance;
            reads_lead_with_links, reads_contact_with_lead, unknown_entity_is_not_found,
            lists_fields_and_pipelines, text_and_numeric_fields, list_and_multilist_fields,
            switch_and_date_fields, reset_clears_every_kind, change_stage, change_tags,
            create_lead_for_contact, notes_and_tasks);
    };
}
