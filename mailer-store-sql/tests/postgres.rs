//! The store conformance suite on the shared test PostgreSQL (`MAILER_TEST_PG_URL`), one schema per case.
#![cfg(feature = "postgres")]

mod common;

async fn setup() -> Option<Box<mailer_core::ports::DynStore>> {
    let base = common::pg_url()?;
    let url = mailer_store_sql::testkit::pg_schema_url(&base, "conf")
        .await
        .expect("test schema");
    Some(Box::new(common::connect(&url).await))
}

mailer_core::store_conformance_tests!(setup);
