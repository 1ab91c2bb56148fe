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

mod contents {
    use mailer_core::model::{Body, EmailId, EmailQuery, EmailSpec, WorkerId};
    use mailer_core::ports::Store;
    use mailer_core::testkit::StoreFixture;
    use std::time::Duration;

    /// A mailing's emails share one content: SQLite stores it once per account (`email_contents`), the
    /// specs stay small, and every read (get, list, claim, by Message-ID) gives each email its whole content
    /// back. An email queued before migration 0008, whose spec holds its own content, still reads.
    #[tokio::test]
    async fn a_content_is_stored_once_and_every_read_gives_it_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::common::connect(&super::common::sqlite_file_url(dir.path(), "contents.db")).await;
        let fx = StoreFixture::new(&store).await;
        let newsletter = "<p>News for you, with \"quotes\" and é.</p>\n".repeat(500);
        let spec = |n: usize, body: &str, subject: &str| {
            let mut spec = fx.email(&fx.mailbox, &format!("r{n}@example.com"));
            spec.content.body = Body::Html(body.into());
            spec.content.subject = subject.into();
            spec
        };
        let mut specs: Vec<EmailSpec> = (0..30).map(|n| spec(n, &newsletter, "News")).collect();
        specs.extend((30..35).map(|n| spec(n, "<p>Other</p>", "Other")));
        // Two enqueues: the second finds the first one's content by its digest.
        let mut ids: Vec<EmailId> = Vec::new();
        for batch in [&specs[..20], &specs[20..]] {
            ids.extend(
                store
                    .enqueue(batch.to_vec())
                    .await
                    .expect("enqueue")
                    .iter()
                    .map(|e| e.id),
            );
        }
        let pool = store.pool();
        let contents: i64 = sqlx::query_scalar("SELECT count(*) FROM email_contents")
            .fetch_one(pool)
            .await
            .expect("count");
        assert_eq!(contents, 2, "one row per distinct content");
        let largest: i64 = sqlx::query_scalar("SELECT max(length(spec)) FROM email_specs")
            .fetch_one(pool)
            .await
            .expect("size");
        assert!(
            largest < 2_000,
            "a spec keeps no body: {largest} bytes (the body is {})",
            newsletter.len()
        );

        for (id, want) in ids.iter().zip(&specs) {
            assert_eq!(&store.get_email(fx.account.id, *id).await.expect("get").spec, want);
        }
        let listed = store
            .list_emails(&EmailQuery::account(fx.account.id, 100))
            .await
            .expect("list");
        assert_eq!(listed.iter().map(|e| e.spec.clone()).collect::<Vec<_>>(), specs);
        let found = store
            .find_email_by_message_id(fx.account.id, &specs[3].message_id)
            .await
            .expect("find")
            .expect("found");
        assert_eq!(found.spec, specs[3]);
        let claimed = store
            .claim_due(&WorkerId::new("w"), fx.now, 10, Duration::from_secs(60))
            .await
            .expect("claim");
        assert!(!claimed.is_empty(), "the mailbox's first email is due");
        for c in &claimed {
            let at = ids.iter().position(|id| *id == c.email.id).expect("one of ours");
            assert_eq!(c.email.spec, specs[at], "claimed email {at}");
        }

        // An email written before 0008: its spec holds its content, and no content id.
        let old = ids[7];
        sqlx::query("UPDATE email_specs SET spec = $1, content = NULL WHERE id = $2")
            .bind(serde_json::to_string(&specs[7]).expect("json"))
            .bind(old.0)
            .execute(pool)
            .await
            .expect("old row");
        assert_eq!(store.get_email(fx.account.id, old).await.expect("get").spec, specs[7]);
    }

    /// The same content queued for two accounts in one batch is kept once per account, and each email
    /// reads it back.
    #[tokio::test]
    async fn one_content_for_two_accounts_is_kept_once_each() {
        let store = super::common::connect("sqlite::memory:").await;
        let first = StoreFixture::new(&store).await;
        let second = StoreFixture::new(&store).await;
        assert_ne!(first.account.id, second.account.id);
        let specs = vec![
            first.email(&first.mailbox, "a@example.com"),
            second.email(&second.mailbox, "b@example.com"),
            second.email(&second.mailbox, "c@example.com"),
            first.email(&first.mailbox, "d@example.com"),
        ];
        assert!(
            specs.windows(2).all(|w| w[0].content == w[1].content),
            "one content for all"
        );
        let ids = store.enqueue(specs.clone()).await.expect("enqueue");
        let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM email_contents")
            .fetch_one(store.pool())
            .await
            .expect("count");
        assert_eq!(rows, 2, "one row per account");
        for (enqueued, spec) in ids.iter().zip(&specs) {
            assert_eq!(
                &store.get_email(spec.account, enqueued.id).await.expect("get").spec,
                spec
            );
        }
    }
}

mod queue_index {
    use mailer_core::model::{EmailId, SendingLimits};
    use mailer_core::ports::{Store, StoreExt};
    use mailer_core::testkit::StoreFixture;

    async fn in_queue(store: &mailer_store_sql::SqlStore, id: EmailId) -> Option<i64> {
        sqlx::query_scalar("SELECT in_queue FROM emails WHERE id = $1")
            .bind(id.0)
            .fetch_one(store.pool())
            .await
            .expect("in_queue")
    }

    /// The details of `EXPLAIN QUERY PLAN` for `sql` (its parameters unbound: NULL).
    async fn explain(store: &mailer_store_sql::SqlStore, sql: &str) -> Vec<String> {
        use sqlx::Row;
        sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
            .fetch_all(store.pool())
            .await
            .expect("plan")
            .iter()
            .map(|r| r.try_get::<String, _>(3).expect("detail"))
            .collect()
    }

    /// `in_queue` (migration 0009) is 1 exactly while the email is queued or being sent, whatever changes
    /// the status: the claims look at the emails through the index on it.
    #[tokio::test]
    async fn in_queue_follows_the_status_through_every_change() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::common::connect(&super::common::sqlite_file_url(dir.path(), "queue.db")).await;
        let fx = StoreFixture::new(&store).await;
        let mailbox = fx
            .add_mailbox(SendingLimits {
                spacing: std::time::Duration::ZERO,
                ..SendingLimits::default()
            })
            .await;
        let worker = StoreFixture::worker(1);

        let queued = store
            .enqueue_one(fx.email(&mailbox, "q@example.com"))
            .await
            .expect("enqueue")
            .id;
        assert_eq!(in_queue(&store, queued).await, Some(1), "queued");

        let sent = fx.claimed_email(&mailbox, "s@example.com", &worker).await;
        assert_eq!(in_queue(&store, sent).await, Some(1), "claimed (sending)");
        store
            .complete_with_events(fx.account.id, sent, &worker, fx.now, Vec::new())
            .await
            .expect("complete");
        assert_eq!(in_queue(&store, sent).await, None, "sent");

        let retried = fx.claimed_email(&mailbox, "r@example.com", &worker).await;
        store
            .retry_at(fx.account.id, retried, &worker, fx.now, "try again")
            .await
            .expect("retry");
        assert_eq!(in_queue(&store, retried).await, Some(1), "back in the queue");

        let failed = fx.claimed_email(&mailbox, "f@example.com", &worker).await;
        store
            .fail(fx.account.id, failed, &worker, "refused")
            .await
            .expect("fail");
        assert_eq!(in_queue(&store, failed).await, None, "failed");

        // A row written with a status outside the queue (as a restore or another tool would) is not in it.
        sqlx::query("UPDATE emails SET status = 'cancelled' WHERE id = $1")
            .bind(queued.0)
            .execute(store.pool())
            .await
            .expect("cancel");
        assert_eq!(in_queue(&store, queued).await, None, "cancelled");

        // The claim reads each mailbox's queue through the index (a scan of `emails` would read every email
        // ever sent).
        let claim = include_str!("../queries/sqlite/claim_candidates.sql");
        let plan = explain(&store, claim).await;
        let queue_reads = plan
            .iter()
            .filter(|d| d.contains("INDEX emails_queue (mailbox=?)"))
            .count();
        assert!(queue_reads >= 3, "{plan:#?}");
        assert!(
            !plan.iter().any(|d| d.starts_with("SCAN q") || d.starts_with("SCAN e")),
            "{plan:#?}"
        );
    }
}
