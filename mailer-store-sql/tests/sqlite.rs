//! The store conformance suite and SQL-only checks on SQLite, in memory and in a file.
#![cfg(feature = "sqlite")]

mod common;

mod memory {
    async fn setup() -> Option<Box<mailer_core::ports::DynStore>> {
        Some(Box::new(super::common::connect("sqlite::memory:").await))
    }

    mailer_core::store_conformance_tests!(setup);
}

mod file {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh database file per case: `claim_due` is not scoped to an account, so cases sharing one
    /// queue would take each other's emails.
    fn url() -> String {
        static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"));
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        super::common::sqlite_file_url(dir.path(), &format!("conformance-{n}.db"))
    }

    async fn setup() -> Option<Box<mailer_core::ports::DynStore>> {
        Some(Box::new(super::common::connect(&url()).await))
    }

    mailer_core::store_conformance_tests!(setup);
}

mod secrets {
    use mailer_core::model::{Mailbox, Secret};
    use mailer_core::ports::StoreExt;
    use mailer_core::testkit::StoreFixture;
    use mailer_store_sql::{Error, SecretKey, SqlConfig, SqlStore};

    /// The mailbox password is sealed in the database, opens with the key, and a wrong key is refused.
    #[tokio::test]
    async fn passwords_are_sealed_and_a_wrong_key_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = super::common::sqlite_file_url(dir.path(), "secrets.db");
        let store = super::common::connect(&url).await;
        let fx = StoreFixture::new(&store).await;
        let mut mailbox = fx.mailbox.clone();
        mailbox.password = Secret::new("correct horse battery staple");
        store.update(&mailbox).await.expect("update");
        let raw: Vec<String> = sqlx::query_scalar("SELECT body FROM records WHERE kind = 'mailbox'")
            .fetch_all(store.pool())
            .await
            .expect("raw rows");
        assert!(!raw.is_empty());
        for body in &raw {
            assert!(!body.contains("correct horse"), "password stored in clear: {body}");
            assert!(body.contains("\"password\":\"enc:v1:"), "password not sealed: {body}");
        }
        let back: Mailbox = store.get(fx.account.id, mailbox.id).await.expect("get");
        assert_eq!(back.password.expose(), "correct horse battery staple");
        store.close().await;

        let err = SqlStore::connect(&SqlConfig::new(&url, SecretKey::generate()))
            .await
            .expect_err("connected with a wrong key");
        assert!(matches!(err, Error::WrongKey), "{err:?}");
    }
}

mod batches {
    use mailer_core::model::EmailQuery;
    use mailer_core::ports::Store;
    use mailer_core::testkit::StoreFixture;

    /// A batch larger than one INSERT (1,000 rows) with repeated keys answers every email in order.
    #[tokio::test]
    async fn large_batches_keep_order_and_idempotency() {
        let store = super::common::connect("sqlite::memory:").await;
        let fx = StoreFixture::new(&store).await;
        let specs: Vec<_> = (0..2_500)
            .map(|i| {
                let mut spec = fx.email(&fx.mailbox, &format!("b{i}@example.com"));
                // every 7th email repeats the key of the email 1,100 places earlier (in another INSERT)
                let key = if i % 7 == 0 && i >= 1_100 { i - 1_100 } else { i };
                spec.idempotency_key = Some(format!("k{key}"));
                spec
            })
            .collect();
        let answers = store.enqueue(specs).await.expect("enqueue");
        assert_eq!(answers.len(), 2_500);
        for (i, a) in answers.iter().enumerate() {
            if i % 7 == 0 && i >= 1_100 {
                assert!(!a.created, "{i} was created again");
                assert_eq!(a.id, answers[i - 1_100].id, "{i} did not get the first email's id");
            } else {
                assert!(a.created, "{i} not created");
            }
        }
        let created = answers.iter().filter(|a| a.created).count();
        let stored = store
            .list_emails(&EmailQuery::account(fx.account.id, 10_000))
            .await
            .expect("list");
        assert_eq!(stored.len(), created);
    }
}
