//! The standard CRM world the CRM conformance suite runs on, and its seeding in [`ScriptCrm`].

use crate::model::{
    AccountId, CrmUser, CrmUserId, Entity, EntityKind, EntityRef, EnumId, EnumValue, FieldDef, FieldEntry, FieldId,
    FieldKind, Pipeline, PipelineId, Stage, StageId,
};

use super::ScriptCrm;

/// The ids a CRM gave the standard world when it was seeded. Every adapter's fixture seeds the same
/// world (names and values below) in a fresh account and reports the ids here.
///
/// The world: user "Maria Manager" (maria@example.com); company "Acme LLC"; contacts "Anna Smith"
/// (anna@example.com) and "Boris Ivanov" (boris@example.com), both linked to the lead and the company;
/// lead "Offer for Acme" (price 5000, tag `vip`, responsible Maria, in pipeline "Sales" at "Qualified",
/// lead field "Comment" = "first call"); lead fields "Comment" (text), "Budget" (numeric), "Payment" (list:
/// Cash, Online), "Service" (multilist: Cleaning, Upgrade), "Delivery" (switch), "Meeting" (date); pipeline
/// "Sales" with stages "Qualified", "Offer sent", "Familiar with the offer".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct World {
    /// The account it lives in.
    pub account: AccountId,
    /// The responsible user.
    pub manager: CrmUserId,
    /// The lead.
    pub lead: EntityRef,
    /// The first contact (Anna).
    pub anna: EntityRef,
    /// The second contact (Boris).
    pub boris: EntityRef,
    /// The company.
    pub company: EntityRef,
    /// The pipeline "Sales".
    pub pipeline: PipelineId,
    /// Stages "Qualified", "Offer sent", "Familiar with the offer".
    pub stages: [StageId; 3],
    /// Lead field "Comment" (text).
    pub comment: FieldId,
    /// Lead field "Budget" (numeric).
    pub budget: FieldId,
    /// Lead field "Payment" (list) and its values Cash, Online.
    pub payment: (FieldId, [EnumId; 2]),
    /// Lead field "Service" (multilist) and its values Cleaning, Upgrade.
    pub service: (FieldId, [EnumId; 2]),
    /// Lead field "Delivery" (switch).
    pub delivery: FieldId,
    /// Lead field "Meeting" (date).
    pub meeting: FieldId,
}

impl ScriptCrm {
    /// Seeds the standard [`World`] into `account`.
    pub fn seed_world(&self, account: AccountId) -> World {
        let id = || self.next_id();
        let manager = CrmUserId(id().0);
        let (lead, anna, boris, company) = (
            EntityRef {
                kind: EntityKind::Lead,
                id: id(),
            },
            EntityRef {
                kind: EntityKind::Contact,
                id: id(),
            },
            EntityRef {
                kind: EntityKind::Contact,
                id: id(),
            },
            EntityRef {
                kind: EntityKind::Company,
                id: id(),
            },
        );
        let (pipeline, stages) = (PipelineId(id().0), [StageId(id().0), StageId(id().0), StageId(id().0)]);
        let field = |name: &str, kind: FieldKind, values: &[&str]| {
            let def = FieldDef {
                id: FieldId(self.next_id().0),
                entity: EntityKind::Lead,
                name: name.into(),
                kind,
                enums: values
                    .iter()
                    .map(|v| EnumValue {
                        id: EnumId(self.next_id().0),
                        value: (*v).into(),
                    })
                    .collect(),
            };
            self.put_field(account, def.clone());
            def
        };
        let comment = field("Comment", FieldKind::Text, &[]);
        let budget = field("Budget", FieldKind::Numeric, &[]);
        let payment = field("Payment", FieldKind::List, &["Cash", "Online"]);
        let service = field("Service", FieldKind::Multilist, &["Cleaning", "Upgrade"]);
        let delivery = field("Delivery", FieldKind::Switch, &[]);
        let meeting = field("Meeting", FieldKind::Date, &[]);
        let enum_ids = |d: &FieldDef| [d.enums[0].id, d.enums[1].id];

        self.put_user(
            account,
            CrmUser {
                id: manager,
                name: "Maria Manager".into(),
                email: Some("maria@example.com".into()),
            },
        );
        self.put_pipeline(
            account,
            Pipeline {
                id: pipeline,
                name: "Sales".into(),
                stages: ["Qualified", "Offer sent", "Familiar with the offer"]
                    .iter()
                    .zip(stages)
                    .map(|(name, id)| Stage {
                        id,
                        name: (*name).into(),
                    })
                    .collect(),
            },
        );
        let mut c = Entity::new(company, "Acme LLC");
        c.responsible = Some(manager);
        self.put_entity(account, c);
        for (who, name, email) in [
            (anna, "Anna Smith", "anna@example.com"),
            (boris, "Boris Ivanov", "boris@example.com"),
        ] {
            let mut e = Entity::new(who, name);
            e.emails = vec![email.into()];
            e.responsible = Some(manager);
            self.put_entity(account, e);
            self.link_contact(account, lead, who.id);
            self.link_contact(account, company, who.id);
            self.link_company(account, who, company.id);
        }
        let mut l = Entity::new(lead, "Offer for Acme");
        l.price = Some(5000);
        l.tags = vec!["vip".into()];
        l.responsible = Some(manager);
        l.stage = Some((pipeline, stages[0]));
        l.fields = vec![FieldEntry {
            id: comment.id,
            name: "Comment".into(),
            values: vec!["first call".into()],
        }];
        self.put_entity(account, l);
        self.link_company(account, lead, company.id);
        World {
            account,
            manager,
            lead,
            anna,
            boris,
            company,
            pipeline,
            stages,
            comment: comment.id,
            budget: budget.id,
            payment: (payment.id, enum_ids(&payment)),
            service: (service.id, enum_ids(&service)),
            delivery: delivery.id,
            meeting: meeting.id,
        }
    }
}
