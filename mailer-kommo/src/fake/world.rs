//! Seeding the standard CRM [`World`] of the conformance suite.

use mailer_core::model::{AccountId, CrmUserId, EntityKind, EnumId, FieldId, PipelineId, StageId};
use mailer_core::testkit::World;
use serde_json::json;

use super::FakeKommo;

impl FakeKommo {
    /// Seeds the standard [`World`] (see its docs for names and values) and reports its ids under
    /// `account`. Contacts carry their email in the system `EMAIL` multitext field.
    pub fn seed_world(&self, account: AccountId) -> World {
        let manager = self.add_user("Maria Manager", "maria@example.com");
        let (email, _) = self.add_field(EntityKind::Contact, "Email", "multitext", Some("EMAIL"), &[]);
        self.add_field(EntityKind::Contact, "Phone", "multitext", Some("PHONE"), &[]);
        let lead_field =
            |name: &str, kind: &str, enums: &[&str]| self.add_field(EntityKind::Lead, name, kind, None, enums);
        let (comment, _) = lead_field("Comment", "text", &[]);
        let (budget, _) = lead_field("Budget", "numeric", &[]);
        let (payment, payment_enums) = lead_field("Payment", "select", &["Cash", "Online"]);
        let (service, service_enums) = lead_field("Service", "multiselect", &["Cleaning", "Upgrade"]);
        let (delivery, _) = lead_field("Delivery", "checkbox", &[]);
        let (meeting, _) = lead_field("Meeting", "date", &[]);
        let (pipeline, stages) = self.add_pipeline("Sales", &["Qualified", "Offer sent", "Familiar with the offer"]);

        let company = self.add_entity(EntityKind::Company, "Acme LLC");
        self.write(company, &json!({ "responsible_user_id": manager }));
        let lead = self.add_entity(EntityKind::Lead, "Offer for Acme");
        self.write(
            lead,
            &json!({
                "price": 5000, "responsible_user_id": manager, "pipeline_id": pipeline, "status_id": stages[0],
                "tags_to_add": [{ "name": "vip" }],
                "custom_fields_values": [{ "field_id": comment, "values": [{ "value": "first call" }] }],
            }),
        );
        self.link_company(lead, company);
        let mut people = Vec::new();
        for (name, address) in [
            ("Anna Smith", "anna@example.com"),
            ("Boris Ivanov", "boris@example.com"),
        ] {
            let contact = self.add_entity(EntityKind::Contact, name);
            self.write(
                contact,
                &json!({
                    "responsible_user_id": manager,
                    "custom_fields_values": [{ "field_id": email, "values": [{ "value": address, "enum_code": "WORK" }] }],
                }),
            );
            self.link_contact(lead, contact);
            self.link_contact(company, contact);
            self.link_company(contact, company);
            people.push(contact);
        }
        let two = |ids: &[i64]| [EnumId(ids[0]), EnumId(ids[1])];
        World {
            account,
            manager: CrmUserId(manager),
            lead,
            anna: people[0],
            boris: people[1],
            company,
            pipeline: PipelineId(pipeline),
            stages: [StageId(stages[0]), StageId(stages[1]), StageId(stages[2])],
            comment: FieldId(comment),
            budget: FieldId(budget),
            payment: (FieldId(payment), two(&payment_enums)),
            service: (FieldId(service), two(&service_enums)),
            delivery: FieldId(delivery),
            meeting: FieldId(meeting),
        }
    }
}
