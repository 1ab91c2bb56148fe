//! The CRM conformance suite, run against the real client talking HTTP to the fake Kommo.

mod support;

async fn setup() -> Option<Box<support::Fixture>> {
    Some(Box::default())
}

mailer_core::crm_conformance_tests!(setup);
