//! Token refresh across processes: 4 clients, each over its own engine and its own connection pool to one
//! PostgreSQL schema (as 4 worker processes would be), call the fake Kommo, whose refresh tokens rotate
//! (a refresh token whose successor was used is refused). Each round the fake's clock jumps a day, so
//! every access token is refused at once and all 4 want a refresh: the store's refresh lease lets one
//! process spend the refresh token and the others take its new pair. Every call succeeds, Kommo sees one
//! refresh per round, and none is refused.

use std::sync::Arc;

use mailer_core::engine::{CrmInstall, Engine, Ports};
use mailer_core::model::{NewAccount, Secret, Timezone};
use mailer_core::testkit::{Harness, skip};
use mailer_http::kommo::EngineTokens;
use mailer_kommo::KommoClient;
use mailer_kommo::fake::FakeKommo;
use mailer_store_sql::testkit::pg_schema_url;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};

const CLIENTS: usize = 4;
const ROUNDS: usize = 5;
const CALLS_PER_ROUND: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_processes_on_one_postgres_never_spend_a_rotated_refresh_token_twice() {
    let Ok(base) = std::env::var("MAILER_TEST_PG_URL") else {
        skip("MAILER_TEST_PG_URL is not set");
        return;
    };
    let db = pg_schema_url(&base, "kommo_rot").await.expect("test schema");
    let key = SecretKey::generate();
    let kommo = FakeKommo::start().await.expect("fake kommo");
    // Kommo's 7 requests a second are per integration; the 4 clients here are not meant to test them.
    kommo.set_rate_limit(None, 1);
    let h = Harness::new().await;
    let mut engines = Vec::new();
    for _ in 0..CLIENTS {
        let store = Arc::new(
            SqlStore::connect(&SqlConfig::new(db.clone(), key.clone()))
                .await
                .expect("postgres store"),
        );
        let ports = Ports {
            store,
            ..h.engine.ports().clone()
        };
        engines.push(Arc::new(Engine::new(ports, h.engine.config().clone())));
    }
    let link = engines[0]
        .install_crm(CrmInstall {
            external_id: 31_000_001,
            domain: "acme.kommo.com".into(),
            tokens: Secret::new(serde_json::to_string(&kommo.issue_tokens()).expect("json")),
            account: NewAccount {
                name: "Acme".into(),
                timezone: Timezone::default(),
                signing_key_ref: "default".into(),
            },
            admin_name: "Admin".into(),
        })
        .await
        .expect("install");
    let clients: Vec<Arc<KommoClient>> = engines
        .iter()
        .map(|engine| {
            Arc::new(
                KommoClient::builder(kommo.base_url())
                    .oauth(kommo.app(), Arc::new(EngineTokens::new(engine)), link.account)
                    .build()
                    .expect("client"),
            )
        })
        .collect();
    let grants_before = kommo
        .requests()
        .iter()
        .filter(|r| r.path.contains("oauth2/access_token"))
        .count();
    for round in 0..ROUNDS {
        kommo.advance(86_400 + 60);
        let mut calls = Vec::new();
        for client in &clients {
            for _ in 0..CALLS_PER_ROUND {
                let client = Arc::clone(client);
                calls.push(tokio::spawn(async move { client.account_info().await }));
            }
        }
        let started = std::time::Instant::now();
        for call in calls {
            let answer = call.await.expect("task");
            assert!(answer.is_ok(), "round {round}: a call failed: {answer:?}");
        }
        eprintln!("round {round}: {:?}", started.elapsed());
    }
    let grants: Vec<_> = kommo
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("oauth2/access_token"))
        .collect();
    let refused = grants.iter().filter(|r| r.status >= 400).count();
    assert_eq!(refused, 0, "Kommo refused a refresh token: {grants:?}");
    assert_eq!(
        grants.len() - grants_before,
        ROUNDS,
        "one refresh per round across the 4 processes: {grants:?}"
    );
    // The check can fail: the fake refuses a refresh token spent again after its successor was used.
    let spend = |pair: mailer_kommo::TokenPair| {
        let mut pair = pair;
        pair.expires_at = 0;
        pair.previous_refresh_token = None;
        KommoClient::builder(kommo.base_url())
            .oauth(
                kommo.app(),
                Arc::new(mailer_kommo::MemoryTokenStore::with(link.account, pair)),
                link.account,
            )
            .build()
            .expect("client")
    };
    let p0 = kommo.issue_tokens();
    let first = Arc::new(mailer_kommo::MemoryTokenStore::with(link.account, {
        let mut p = p0.clone();
        p.expires_at = 0;
        p
    }));
    let a = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), first.clone(), link.account)
        .build()
        .expect("client");
    a.account_info().await.expect("p0 buys p1");
    let p1 = first.get(link.account).expect("p1");
    spend(p1).account_info().await.expect("p1 buys p2");
    assert!(
        spend(p0).account_info().await.is_err(),
        "a spent refresh token must be refused"
    );
    let last = kommo
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.path.contains("oauth2/access_token"))
        .expect("grant");
    assert_eq!(last.status, 401, "refused as Kommo does: {last:?}");
}
