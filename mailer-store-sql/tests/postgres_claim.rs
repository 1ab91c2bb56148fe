//! The one-call claim on PostgreSQL (`mailer_claim`, migrations/postgres/0006_claim_function.sql): a
//! mailbox whose send reaches its daily or per-minute cap goes through the fallback transaction, the
//! others through the function, and one claim hands both back best first, with every limit holding.
#![cfg(feature = "postgres")]

mod common;

use std::time::Duration;

use mailer_core::model::{EmailId, MailboxId, SendingLimits};
use mailer_core::ports::Store;
use mailer_core::testkit::StoreFixture;

const LEASE: Duration = Duration::from_secs(300);

/// Claims at `at` and completes what it got; answers the mailboxes claimed from, in the claim's order.
async fn claim(store: &dyn Store, fx: &StoreFixture<'_>, at: Duration) -> Vec<MailboxId> {
    let w = StoreFixture::worker(1);
    let now = fx.at(at);
    let claimed = store.claim_due(&w, now, 100, LEASE).await.expect("claim");
    let mut order = Vec::new();
    for c in claimed {
        assert_eq!(c.lease_until, now + chrono::Duration::from_std(LEASE).expect("lease"));
        store
            .complete(fx.account.id, c.email.id, &w, now)
            .await
            .expect("complete");
        order.push(c.email.spec.mailbox);
    }
    order
}

#[tokio::test]
async fn caps_take_the_fallback_and_the_order_holds() {
    let Some(base) = common::pg_url() else { return };
    let store = common::connect(
        &mailer_store_sql::testkit::pg_schema_url(&base, "claimfn")
            .await
            .expect("test schema"),
    )
    .await;
    let fx = StoreFixture::new(&store).await;
    let limits = |daily_cap, per_minute_cap| SendingLimits {
        spacing: Duration::ZERO,
        daily_cap,
        per_minute_cap,
        ..SendingLimits::default()
    };
    let one_a_day = fx.add_mailbox(limits(1, None)).await;
    let free = fx.add_mailbox(limits(1_000, None)).await;
    let two_a_minute = fx.add_mailbox(limits(1_000, Some(2))).await;
    // No cap at all: its sends are not counted (migration 0008), and with no spacing either its limits are
    // lifted: the first claim takes all five of its emails, after every mailbox's first (migration 0009).
    let uncapped = fx.add_mailbox(limits(SendingLimits::NO_DAILY_CAP, None)).await;
    let mut specs = Vec::new();
    for mb in [&one_a_day, &free, &two_a_minute, &uncapped] {
        for i in 0..5 {
            specs.push(fx.email(mb, &format!("{}-{i}@example.com", mb.id.0)));
        }
    }
    let ids: Vec<EmailId> = store
        .enqueue(specs)
        .await
        .expect("enqueue")
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids.len(), 20);

    // The first send of `one_a_day` reaches its cap: the fallback claims it, still first in the answer.
    assert_eq!(
        claim(&store, &fx, Duration::ZERO).await,
        vec![
            one_a_day.id,
            free.id,
            two_a_minute.id,
            uncapped.id,
            uncapped.id,
            uncapped.id,
            uncapped.id,
            uncapped.id
        ]
    );
    // The second send in the minute reaches the per-minute cap (fallback); `one_a_day` is held.
    assert_eq!(
        claim(&store, &fx, Duration::from_secs(1)).await,
        vec![free.id, two_a_minute.id]
    );
    assert_eq!(claim(&store, &fx, Duration::from_secs(2)).await, vec![free.id]);
    // A minute after its first two, `two_a_minute` sends again; `one_a_day` waits for the next day, when
    // `free` sends its fifth and last.
    assert_eq!(
        claim(&store, &fx, Duration::from_secs(61)).await,
        vec![free.id, two_a_minute.id]
    );
    assert_eq!(
        claim(&store, &fx, Duration::from_secs(24 * 3600 + 1)).await,
        vec![one_a_day.id, free.id, two_a_minute.id]
    );
}

/// A claim that comes back short marks the mailboxes without work idle and later claims pass them by;
/// enqueueing wakes a mailbox, so its new email is claimed at once.
#[tokio::test]
async fn an_idle_mailbox_wakes_when_an_email_is_queued() {
    let Some(base) = common::pg_url() else { return };
    let store = common::connect(
        &mailer_store_sql::testkit::pg_schema_url(&base, "idle")
            .await
            .expect("test schema"),
    )
    .await;
    let fx = StoreFixture::new(&store).await;
    let fast = SendingLimits {
        spacing: Duration::ZERO,
        ..SendingLimits::default()
    };
    let a = fx.add_mailbox(fast.clone()).await;
    let b = fx.add_mailbox(fast).await;
    store
        .enqueue(vec![fx.email(&a, "a@example.com")])
        .await
        .expect("enqueue");
    assert_eq!(claim(&store, &fx, Duration::ZERO).await, vec![a.id]);
    // Short claims: every mailbox of the fixture is now without work, and marked idle.
    assert!(claim(&store, &fx, Duration::from_secs(1)).await.is_empty());
    let idle: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM mailboxes WHERE idle")
        .fetch_one(store.pool())
        .await
        .expect("count idle");
    assert!(idle >= 2, "the mailboxes without work were not marked idle ({idle})");
    store
        .enqueue(vec![fx.email(&b, "b@example.com"), fx.email(&a, "a2@example.com")])
        .await
        .expect("enqueue again");
    assert_eq!(claim(&store, &fx, Duration::from_secs(2)).await, vec![b.id, a.id]);
    assert!(claim(&store, &fx, Duration::from_secs(3)).await.is_empty());
}

/// The claim function plans without bitmap scans (migration 0009): with them, its cached plan read every
/// queued email of each mailbox and sorted them to find the first. A later `CREATE OR REPLACE` that drops
/// the setting fails here.
#[tokio::test]
async fn the_claim_function_plans_without_bitmap_scans() {
    let Some(base) = common::pg_url() else { return };
    let store = common::connect(
        &mailer_store_sql::testkit::pg_schema_url(&base, "claimplan")
            .await
            .expect("test schema"),
    )
    .await;
    let config: Vec<String> = sqlx::query_scalar(
        "SELECT unnest(p.proconfig) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
         WHERE p.proname = 'mailer_claim' AND n.nspname = current_schema()",
    )
    .fetch_all(store.pool())
    .await
    .expect("read the function's settings");
    assert_eq!(config, vec!["enable_bitmapscan=off".to_owned()]);
}
