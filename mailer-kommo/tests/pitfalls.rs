//! One test per pitfall of the Kommo reference (§8), plus the client's auth and retry rules, all against
//! the fake Kommo over HTTP.

mod support;

use std::sync::Arc;
use std::time::Duration;

use mailer_core::model::{
    AccountId, ActionOutcome, CrmAction, EntityKind, EntityRef, FieldValue, PipelineId, Secret, StageId,
};
use mailer_core::ports::{Crm, CrmError};
use mailer_kommo::fake::{FakeKommo, Fault, LOST, WON};
use mailer_kommo::{KommoClient, KommoCrm, KommoError, MemoryTokenStore, TokenPair};
use serde_json::json;

fn count(kommo: &FakeKommo, path_start: &str) -> usize {
    kommo
        .requests()
        .iter()
        .filter(|r| r.path.starts_with(path_start))
        .count()
}

fn statuses(kommo: &FakeKommo, path_start: &str) -> Vec<u16> {
    kommo
        .requests()
        .iter()
        .filter(|r| r.path.starts_with(path_start))
        .map(|r| r.status)
        .collect()
}

// ---------- 1, 2: refresh-token rotation, single flight, refresh on 401 ----------

#[tokio::test]
async fn concurrent_requests_with_an_expired_token_refresh_once() {
    let a = support::account().await;
    a.kommo.add_pipeline("Sales", &["New"]);
    let before = a.store.get(a.id).expect("stored pair");
    a.kommo.advance(2 * 86_400); // the access token expired at Kommo; the client does not know yet
    let crm = Arc::new(a.crm);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let crm = Arc::clone(&crm);
            tokio::spawn(async move { crm.pipelines(AccountId(1)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("join").expect("pipelines").len(), 1);
    }
    assert_eq!(count(&a.kommo, "/oauth2/access_token"), 1, "{:#?}", a.kommo.requests());
    let after = a.store.get(a.id).expect("stored pair");
    assert_ne!(after.refresh_token, before.refresh_token, "refresh token not rotated");
    assert_eq!(
        after.previous_refresh_token,
        Some(before.refresh_token),
        "old refresh token not kept"
    );
}

#[tokio::test]
async fn an_expiring_stored_token_is_refreshed_before_the_request() {
    let kommo = FakeKommo::start().await.expect("fake");
    kommo.add_pipeline("Sales", &["New"]);
    let account = AccountId(5);
    let mut pair = kommo.issue_tokens();
    pair.expires_at = 0;
    let store = Arc::new(MemoryTokenStore::with(account, pair));
    let client = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), store.clone(), account)
        .build()
        .expect("client");
    let crm = KommoCrm::new();
    crm.add_account(account, client);
    crm.pipelines(account).await.expect("pipelines");
    let log = kommo.requests();
    assert_eq!(log[0].path, "/oauth2/access_token");
    assert!(
        log.iter().all(|r| r.status != 401),
        "a request went out with the stale token: {log:#?}"
    );
    assert!(store.get(account).expect("pair").expires_at > 0);
}

#[tokio::test]
async fn a_refused_refresh_token_falls_back_to_the_previous_one() {
    let kommo = FakeKommo::start().await.expect("fake");
    kommo.add_pipeline("Sales", &["New"]);
    let account = AccountId(6);
    let good = kommo.issue_tokens();
    // the stored pair's own refresh token is unknown to Kommo (e.g. a save that half happened)
    let pair = TokenPair {
        refresh_token: Secret::new("lost"),
        previous_refresh_token: Some(good.refresh_token.clone()),
        expires_at: 0,
        ..good
    };
    let store = Arc::new(MemoryTokenStore::with(account, pair));
    let client = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), store.clone(), account)
        .build()
        .expect("client");
    let crm = KommoCrm::new();
    crm.add_account(account, client);
    crm.pipelines(account).await.expect("pipelines after fallback");
    assert_eq!(statuses(&kommo, "/oauth2/access_token"), [401, 200]);
    assert_eq!(
        store.get(account).expect("pair").previous_refresh_token,
        Some(good.refresh_token)
    );
}

#[tokio::test]
async fn revoked_tokens_are_unauthorized_after_one_refresh_attempt() {
    let a = support::account().await;
    a.kommo.revoke_all();
    let err = a.crm.pipelines(a.id).await.expect_err("revoked");
    assert!(matches!(err, CrmError::Unauthorized), "{err:?}");
    assert_eq!(count(&a.kommo, "/oauth2/access_token"), 1);
    assert_eq!(
        count(&a.kommo, "/api/v4/"),
        1,
        "the API call was retried without a new token"
    );
}

#[tokio::test]
async fn the_old_refresh_token_works_until_the_new_one_is_used() {
    // the fake's side of pitfall 1, straight over HTTP
    let kommo = FakeKommo::start().await.expect("fake");
    let app = kommo.app();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let refresh = |rt: String| {
        let body = json!({ "client_id": app.client_id, "client_secret": app.client_secret.expose(),
            "grant_type": "refresh_token", "refresh_token": rt, "redirect_uri": app.redirect_uri });
        let request = http
            .post(format!("{}/oauth2/access_token", kommo.base_url()))
            .json(&body);
        async move {
            let answer = request.send().await.expect("post");
            let status = answer.status().as_u16();
            (status, answer.json::<serde_json::Value>().await.expect("json"))
        }
    };
    let first = kommo.issue_tokens().refresh_token.expose().to_owned();
    let (status, second) = refresh(first.clone()).await;
    assert_eq!(status, 200);
    let (status, _) = refresh(first.clone()).await;
    assert_eq!(status, 200, "the old token must work until the new one is used");
    let (status, _) = refresh(second["refresh_token"].as_str().expect("rt").to_owned()).await;
    assert_eq!(status, 200);
    let (status, problem) = refresh(first).await;
    assert_eq!(status, 401);
    assert_eq!(problem["hint"], "Token has been revoked");
    // Kommo's OAuth problem JSON, not an RFC 6749 `error: invalid_grant`
    assert_eq!(
        problem["type"],
        "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
    );
    assert_eq!(problem["status"], 401);
    assert!(problem.get("error").is_none(), "{problem}");
    assert_eq!(
        kommo.refresh_spends(),
        [2, 1],
        "the first token bought two pairs, the second one"
    );
}

#[tokio::test]
async fn a_refresh_token_rotated_by_another_process_is_replaced_by_the_stores_newer_pair() {
    use mailer_kommo::TokenStore as _;
    let kommo = FakeKommo::start().await.expect("fake");
    // this test is about tokens, not Kommo's 7 requests a second
    kommo.set_rate_limit(None, 1);
    kommo.add_pipeline("Sales", &["New"]);
    let account = AccountId(4);
    let p0 = kommo.issue_tokens();
    let shared = Arc::new(MemoryTokenStore::with(account, p0.clone()));
    let client = |store: Arc<MemoryTokenStore>| {
        KommoClient::builder(kommo.base_url())
            .oauth(kommo.app(), store, account)
            .build()
            .expect("client")
    };
    // this process reads p0 and keeps it in memory
    let stale = client(shared.clone());
    stale.account_info().await.expect("with p0");
    // another process on the same store spends p0's refresh token, then p1's (which kills p0's)
    let other = client(shared.clone());
    let mut due = p0.clone();
    due.expires_at = 0;
    shared.save(account, &due).await.expect("save");
    other.account_info().await.expect("p0 buys p1");
    kommo.advance(86_400 + 60);
    other.account_info().await.expect("p1 buys p2 after a 401");
    let p2 = shared.get(account).expect("p2");
    // this process's access token is dead and its refresh token revoked: it takes p2 from the store
    stale
        .account_info()
        .await
        .expect("the stale process carries on with the store's pair");
    assert_eq!(shared.get(account), Some(p2), "the stale process bought nothing");
    assert_eq!(statuses(&kommo, "/oauth2/access_token"), [200, 200, 401]);
    assert_eq!(kommo.refresh_spends(), [1, 1], "each refresh token spent once");

    // nothing newer in the store: a typed refusal, which the CRM port reports as unauthorised
    let lone = Arc::new(MemoryTokenStore::with(account, due));
    let err = client(lone).account_info().await.expect_err("revoked");
    assert!(
        matches!(&err, KommoError::RefreshRefused(hint) if hint == "Token has been revoked"),
        "{err:?}"
    );
    assert!(matches!(CrmError::from(err), CrmError::Unauthorized));
}

/// A store shared by processes, with the host's lease rule: whoever holds an older pair than the stored
/// one is handed the stored one instead of spending its refresh token.
#[derive(Debug)]
struct LeasingStore(MemoryTokenStore);

#[async_trait::async_trait]
impl mailer_kommo::TokenStore for LeasingStore {
    async fn load(&self, account: AccountId) -> Result<Option<TokenPair>, mailer_kommo::BoxError> {
        Ok(self.0.get(account))
    }

    async fn save(&self, account: AccountId, tokens: &TokenPair) -> Result<(), mailer_kommo::BoxError> {
        self.0.save(account, tokens).await
    }

    async fn lease_refresh(
        &self,
        account: AccountId,
        held: &TokenPair,
        _until: i64,
        _now: i64,
    ) -> Result<mailer_kommo::RefreshLease, mailer_kommo::BoxError> {
        Ok(match self.0.get(account) {
            Some(stored) if stored.refresh_token != held.refresh_token => mailer_kommo::RefreshLease::Refreshed(stored),
            _ => mailer_kommo::RefreshLease::Granted,
        })
    }
}

#[tokio::test]
async fn a_pair_taken_from_another_process_that_is_already_dead_is_refreshed_not_given_up() {
    use mailer_kommo::TokenStore as _;
    let kommo = FakeKommo::start().await.expect("fake");
    kommo.set_rate_limit(None, 1);
    let account = AccountId(5);
    let p0 = kommo.issue_tokens();
    let shared = Arc::new(LeasingStore(MemoryTokenStore::with(account, p0.clone())));
    let client = || {
        KommoClient::builder(kommo.base_url())
            .oauth(kommo.app(), shared.clone(), account)
            .build()
            .expect("client")
    };
    // this process reads p0 and keeps it in memory
    let stale = client();
    stale.account_info().await.expect("with p0");
    // another process buys p1 (p0 is due in its eyes) and stores it
    let other = client();
    let mut due = p0.clone();
    due.expires_at = 0;
    shared.save(account, &due).await.expect("save");
    other.account_info().await.expect("p0 buys p1");
    let p1 = shared.0.get(account).expect("p1");
    assert_ne!(p1.refresh_token, p0.refresh_token);
    // then Kommo refuses every access token issued so far (a day passes): p0's and p1's are both dead
    kommo.advance(86_400 + 60);
    // the stale process: 401 with p0, takes p1 from the store, 401 again, so it buys p2 with p1's token
    stale
        .account_info()
        .await
        .expect("a second 401 with a pair taken from the store is refreshed, not final");
    let p2 = shared.0.get(account).expect("p2");
    assert_ne!(
        p2.refresh_token, p1.refresh_token,
        "the stale process bought a new pair"
    );
    assert_eq!(p2.previous_refresh_token, Some(p1.refresh_token.clone()));
    assert_eq!(statuses(&kommo, "/oauth2/access_token"), [200, 200]);
    assert_eq!(kommo.refresh_spends(), [1, 1], "each refresh token spent once");
    assert_eq!(
        statuses(&kommo, "/api/v4/account"),
        [200, 200, 401, 401, 200],
        "p0, p1 (other), p0 and p1 refused (stale), p2"
    );
}

#[tokio::test]
async fn long_lived_tokens_work_and_are_never_refreshed() {
    let kommo = FakeKommo::start().await.expect("fake");
    kommo.add_pipeline("Sales", &["New"]);
    let token = kommo.issue_long_lived(3_600);
    let client = KommoClient::builder(kommo.base_url())
        .long_lived_token(token)
        .build()
        .expect("client");
    let crm = KommoCrm::new();
    crm.add_account(AccountId(1), client);
    crm.pipelines(AccountId(1)).await.expect("pipelines");
    kommo.advance(7_200);
    let err = crm.pipelines(AccountId(1)).await.expect_err("expired");
    assert!(matches!(err, CrmError::Unauthorized), "{err:?}");
    assert_eq!(count(&kommo, "/oauth2/"), 0);
}

#[tokio::test]
async fn an_authorization_code_is_exchanged_once_and_the_pair_saved() {
    let kommo = FakeKommo::start().await.expect("fake");
    kommo.add_pipeline("Sales", &["New"]);
    let account = AccountId(3);
    let store = Arc::new(MemoryTokenStore::new());
    let client = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), store.clone(), account)
        .build()
        .expect("client");
    let crm = KommoCrm::new();
    let client = crm.add_account(account, client);
    assert!(matches!(crm.pipelines(account).await, Err(CrmError::Unauthorized)));
    let code = kommo.issue_code();
    let pair = client.exchange_code(&code).await.expect("exchange");
    assert_eq!(store.get(account), Some(pair));
    crm.pipelines(account).await.expect("pipelines with the new pair");
    let again = client.exchange_code(&code).await.expect_err("a code works once");
    assert!(matches!(again, KommoError::Grant(_)), "{again:?}");
}

// ---------- 3: 429 (JSON or HTML), 403 blocks, 5xx ----------

#[tokio::test]
async fn json_and_html_429_are_waited_out_and_retried() {
    let a = support::account().await;
    a.kommo.add_pipeline("Sales", &["New"]);
    a.kommo.fail_next(Fault::TooManyRequests { retry_after: 1 });
    a.kommo.fail_next(Fault::TooManyRequestsHtml);
    assert_eq!(a.crm.pipelines(a.id).await.expect("pipelines").len(), 1);
    assert_eq!(statuses(&a.kommo, "/api/v4/"), [429, 429, 200]);
}

#[tokio::test]
async fn a_429_asking_too_long_a_wait_is_reported() {
    let a = support::account().await;
    a.kommo.fail_next(Fault::TooManyRequests { retry_after: 300 });
    let err = a.crm.pipelines(a.id).await.expect_err("rate limited");
    assert!(
        matches!(err, CrmError::RateLimited { retry_after } if retry_after == Duration::from_secs(300)),
        "{err:?}"
    );
    assert!(err.is_temporary());
}

#[tokio::test]
async fn forbidden_pages_block_the_account_without_retrying() {
    for fault in [Fault::ForbiddenHtml, Fault::Forbidden] {
        let a = support::account().await;
        a.kommo.fail_next(fault.clone());
        let err = a.crm.pipelines(a.id).await.expect_err("blocked");
        assert!(matches!(err, CrmError::Blocked), "{fault:?}: {err:?}");
        assert_eq!(count(&a.kommo, "/api/v4/"), 1, "{fault:?} was retried");
    }
}

#[tokio::test]
async fn server_errors_back_off_and_retry_then_give_up() {
    let a = support::account().await;
    a.kommo.add_pipeline("Sales", &["New"]);
    a.kommo.fail_next(Fault::ServerError(500));
    a.kommo.fail_next(Fault::ServerError(504));
    a.crm.pipelines(a.id).await.expect("after two server errors");
    assert_eq!(statuses(&a.kommo, "/api/v4/"), [500, 504, 200]);

    for _ in 0..4 {
        a.kommo.fail_next(Fault::ServerError(502));
    }
    let err = a.crm.pipelines(a.id).await.expect_err("persistent 502");
    assert!(matches!(err, CrmError::Backend(_)) && err.is_temporary(), "{err:?}");
    assert_eq!(count(&a.kommo, "/api/v4/"), 3 + 4, "1 try + 3 retries");
}

#[tokio::test]
async fn payment_required_is_not_retried() {
    let a = support::account().await;
    a.kommo.fail_next(Fault::PaymentRequired);
    let err = a.crm.pipelines(a.id).await.expect_err("402");
    let CrmError::Backend(source) = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(
        source.downcast_ref::<KommoError>(),
        Some(KommoError::PaymentRequired)
    ));
    assert_eq!(count(&a.kommo, "/api/v4/"), 1);
}

#[tokio::test]
async fn the_client_keeps_under_seven_requests_per_second() {
    let a = support::account().await;
    a.kommo.add_pipeline("Sales", &["New"]);
    let crm = Arc::new(a.crm);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let crm = Arc::clone(&crm);
            tokio::spawn(async move { crm.pipelines(AccountId(1)).await })
        })
        .collect();
    for call in calls {
        call.await.expect("join").expect("pipelines");
    }
    assert_eq!(
        statuses(&a.kommo, "/api/v4/"),
        vec![200; 20],
        "the fake limited a request"
    );
}

#[tokio::test]
async fn a_client_over_the_limit_gets_429_and_recovers() {
    let kommo = FakeKommo::start().await.expect("fake");
    kommo.add_pipeline("Sales", &["New"]);
    kommo.set_html_errors(true); // rate-limit answers as HTML pages
    let account = AccountId(1);
    let client = KommoClient::builder(kommo.base_url())
        .long_lived_token(kommo.issue_long_lived(3_600))
        .with_requests_per_second(100)
        .with_retry(support::quick_retry())
        .build()
        .expect("client");
    let crm = Arc::new(KommoCrm::new());
    crm.add_account(account, client);
    let calls: Vec<_> = (0..10)
        .map(|_| {
            let crm = Arc::clone(&crm);
            tokio::spawn(async move { crm.pipelines(account).await })
        })
        .collect();
    for call in calls {
        call.await.expect("join").expect("pipelines after waiting");
    }
    let codes = statuses(&kommo, "/api/v4/");
    assert!(
        codes.contains(&429),
        "the fake never limited 10 requests at once: {codes:?}"
    );
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 10);
}

// ---------- 4, 12: pagination ignores `next`; links to shard hosts are not followed ----------

#[tokio::test]
async fn pages_stop_on_a_short_page_or_204_whatever_next_says() {
    for (n, expected_requests) in [(120, 3), (100, 3), (49, 1)] {
        let a = support::account().await;
        for i in 0..n {
            a.kommo.add_field(EntityKind::Lead, &format!("F{i}"), "text", None, &[]);
        }
        let defs = a.crm.fields(a.id, EntityKind::Lead).await.expect("fields");
        assert_eq!(defs.len(), n);
        let pages: Vec<u16> = statuses(&a.kommo, "/api/v4/leads/custom_fields");
        assert_eq!(pages.len(), expected_requests, "{n} fields: {pages:?}");
        // cached per account: no second round
        a.crm.fields(a.id, EntityKind::Lead).await.expect("fields again");
        assert_eq!(count(&a.kommo, "/api/v4/leads/custom_fields"), expected_requests);
    }
}

#[tokio::test]
async fn linked_contacts_are_read_in_batches_and_shard_links_are_not_followed() {
    let a = support::account().await;
    let (email, _) = a
        .kommo
        .add_field(EntityKind::Contact, "Email", "multitext", Some("EMAIL"), &[]);
    let lead = a.kommo.add_entity(EntityKind::Lead, "Big deal");
    for i in 0..60 {
        let c = a.kommo.add_entity(EntityKind::Contact, &format!("C{i}"));
        a.kommo.write(
            c,
            &json!({ "custom_fields_values": [{ "field_id": email, "values": [{ "value": format!("c{i}@x.test") }] }] }),
        );
        a.kommo.link_contact(lead, c);
    }
    let rec = a.crm.entity(a.id, lead).await.expect("lead");
    assert_eq!(rec.contacts.len(), 60);
    assert_eq!(rec.contacts[59].emails, ["c59@x.test"]);
    let lists: Vec<String> = a
        .kommo
        .requests()
        .into_iter()
        .filter(|r| r.path == "/api/v4/contacts")
        .map(|r| r.query)
        .collect();
    assert_eq!(lists.len(), 2, "{lists:#?}");
    assert_eq!(lists[0].matches("filter%5Bid%5D%5B%5D=").count(), 50);

    // the fake's answers point at a shard host, which does not resolve here: every request reached the fake
    let one = reqwest_get(&a.kommo, &format!("/api/v4/leads/{}", lead.id)).await;
    assert!(one.contains("https://shard152.amocrm.ru/api/v4/leads/"), "{one}");
    assert!(a.kommo.requests().iter().all(|r| r.status < 400));
}

async fn reqwest_get(kommo: &FakeKommo, path: &str) -> String {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let token = kommo.issue_long_lived(60);
    reqwest::Client::new()
        .get(format!("{}{path}", kommo.base_url()))
        .bearer_auth(token.expose())
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text")
}

// ---------- 5, 14: 204 and empty 200/202 bodies ----------

#[tokio::test]
async fn empty_success_bodies_count_as_done() {
    let a = support::account().await;
    let w = a.kommo.seed_world(a.id);
    a.kommo.fail_next(Fault::EmptySuccess(200));
    let tags = CrmAction::ChangeTags {
        entity: w.lead,
        add: vec!["hot".into()],
        remove: vec![],
    };
    assert_eq!(a.crm.apply(a.id, &tags).await.expect("tags"), ActionOutcome::Done);
    assert_eq!(a.kommo.tags(w.lead), ["vip", "hot"]);

    a.kommo.fail_next(Fault::EmptySuccess(202));
    let note = CrmAction::AddNote {
        entity: w.lead,
        text: "sent".into(),
    };
    assert_eq!(a.crm.apply(a.id, &note).await.expect("note"), ActionOutcome::Done);
    assert_eq!(a.kommo.notes(w.lead), ["sent"]);
    let with_id = a.crm.apply(a.id, &note).await.expect("note with an answer");
    assert!(matches!(with_id, ActionOutcome::Created(_)), "{with_id:?}");
}

#[tokio::test]
async fn a_204_for_a_missing_entity_is_not_found_and_a_missing_user_is_none() {
    let a = support::account().await;
    let lead = a.kommo.add_entity(EntityKind::Lead, "Orphan");
    a.kommo.write(lead, &json!({ "custom_fields_values": [] }));
    let rec = a.crm.entity(a.id, lead).await.expect("lead without links");
    assert!(rec.responsible.is_none() && rec.contacts.is_empty() && rec.company.is_none());
    let err = a.crm.entity(a.id, EntityRef::contact(1)).await.expect_err("missing");
    assert!(matches!(err, CrmError::NotFound { what: "contact", .. }), "{err:?}");
    assert!(statuses(&a.kommo, "/api/v4/contacts/1").contains(&204));
}

// ---------- 6, 7: enums, multitext, replace-whole-field ----------

#[tokio::test]
async fn lists_are_written_by_enum_id_and_multilists_resend_the_whole_selection() {
    let a = support::account().await;
    let w = a.kommo.seed_world(a.id);
    let change = |field, value| CrmAction::ChangeField {
        entity: w.lead,
        field,
        value,
    };
    a.crm
        .apply(a.id, &change(w.payment.0, FieldValue::List(w.payment.1[0])))
        .await
        .expect("list");
    a.crm
        .apply(a.id, &change(w.service.0, FieldValue::MultilistAdd(w.service.1[0])))
        .await
        .expect("multi 1");
    a.crm
        .apply(a.id, &change(w.service.0, FieldValue::MultilistAdd(w.service.1[1])))
        .await
        .expect("multi 2");
    let patches: Vec<serde_json::Value> = a
        .kommo
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| serde_json::from_str(&r.body).expect("json body"))
        .collect();
    assert_eq!(
        patches[0]["custom_fields_values"][0]["values"],
        json!([{ "enum_id": w.payment.1[0].0 }])
    );
    assert_eq!(
        patches[2]["custom_fields_values"][0]["values"],
        json!([{ "enum_id": w.service.1[0].0 }, { "enum_id": w.service.1[1].0 }]),
        "the second add did not re-send the first value"
    );
    let err = a
        .crm
        .apply(
            a.id,
            &change(w.payment.0, FieldValue::List(mailer_core::model::EnumId(1))),
        )
        .await
        .expect_err("unknown option");
    assert!(matches!(err, CrmError::InvalidValue { .. }), "{err:?}");
}

#[tokio::test]
async fn kommo_refuses_the_enum_key_and_unknown_choices_with_paths() {
    let a = support::account().await;
    let w = a.kommo.seed_world(a.id);
    let token = a.kommo.issue_long_lived(60);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let patch = |body: serde_json::Value| {
        http.patch(format!("{}/api/v4/contacts/{}", a.kommo.base_url(), w.anna.id))
            .bearer_auth(token.expose())
            .json(&body)
            .send()
    };
    let email_field = a.crm.entity(a.id, w.anna).await.expect("anna").entity.fields[0].id;
    let answer = patch(json!({ "custom_fields_values": [{ "field_id": email_field.0,
        "values": [{ "value": "a@b.c", "enum": "WORK" }] }] }))
    .await
    .expect("patch");
    assert_eq!(answer.status(), 400);
    let body: serde_json::Value = answer.json().await.expect("problem json");
    assert_eq!(body["validation-errors"][0]["errors"][0]["code"], "FieldNotExpected");
    assert_eq!(
        body["validation-errors"][0]["errors"][0]["path"],
        "custom_fields_values.0.values.0.enum"
    );
    // with enum_code, the whole multitext field is replaced
    let ok = patch(json!({ "custom_fields_values": [{ "field_id": email_field.0,
        "values": [{ "value": "new@b.c", "enum_code": "PRIV" }] }] }))
    .await
    .expect("patch");
    assert_eq!(ok.status(), 200);
    let anna = a.crm.entity(a.id, w.anna).await.expect("anna");
    assert_eq!(anna.entity.emails, ["new@b.c"]);
}

// ---------- 8: dates and the account's timezone ----------

#[tokio::test]
async fn dates_are_the_accounts_local_midnight_in_any_timezone() {
    let day = chrono::NaiveDate::from_ymd_opt(2018, 8, 29).expect("day");
    for tz in ["America/New_York", "Asia/Tokyo", "Europe/Moscow", "Pacific/Kiritimati"] {
        let a = support::account().await;
        a.kommo.set_timezone(tz);
        let w = a.kommo.seed_world(a.id);
        let set = CrmAction::ChangeField {
            entity: w.lead,
            field: w.meeting,
            value: FieldValue::Date(day),
        };
        a.crm.apply(a.id, &set).await.expect("date");
        let zone: chrono_tz::Tz = tz.parse().expect("tz");
        let midnight = day
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_local_timezone(zone)
            .earliest()
            .expect("exists")
            .timestamp();
        assert_eq!(
            a.kommo.raw_values(w.lead, w.meeting.0),
            Some(vec![json!({ "value": midnight })]),
            "{tz}"
        );
        let rec = a.crm.entity(a.id, w.lead).await.expect("read");
        assert_eq!(
            rec.entity.field(w.meeting).expect("meeting").values,
            ["2018-08-29"],
            "{tz}"
        );
    }
}

// ---------- 11: 142/143 exist in every pipeline ----------

#[tokio::test]
async fn won_and_lost_are_told_apart_by_their_pipeline() {
    let a = support::account().await;
    let w = a.kommo.seed_world(a.id);
    let first = a.kommo.add_pipeline_with(
        "Retail",
        &[(7001, "New"), (WON, "Closed - won"), (LOST, "Closed - lost")],
    );
    let second = a.kommo.add_pipeline_with(
        "Wholesale",
        &[(7002, "New"), (WON, "Closed - won"), (LOST, "Closed - lost")],
    );
    let close = |pipeline: i64| CrmAction::ChangeStage {
        lead: w.lead.id,
        pipeline: PipelineId(pipeline),
        stage: StageId(WON),
    };
    a.crm.apply(a.id, &close(second)).await.expect("won in wholesale");
    let rec = a.crm.entity(a.id, w.lead).await.expect("read");
    assert_eq!(rec.entity.stage, Some((PipelineId(second), StageId(WON))));
    a.crm.apply(a.id, &close(first)).await.expect("won in retail");
    let rec = a.crm.entity(a.id, w.lead).await.expect("read");
    assert_eq!(rec.entity.stage, Some((PipelineId(first), StageId(WON))));
    let wrong = CrmAction::ChangeStage {
        lead: w.lead.id,
        pipeline: PipelineId(first),
        stage: StageId(7002),
    };
    let err = a
        .crm
        .apply(a.id, &wrong)
        .await
        .expect_err("a stage of another pipeline");
    assert!(matches!(err, CrmError::NotFound { what: "stage", .. }), "{err:?}");
}

// ---------- tasks go to the responsible user ----------

#[tokio::test]
async fn a_task_for_the_responsible_goes_to_the_entitys_responsible_user() {
    let a = support::account().await;
    let w = a.kommo.seed_world(a.id);
    let task = CrmAction::SetTask {
        entity: w.anna,
        task_type: 2,
        due: chrono::DateTime::from_timestamp(1_767_722_400, 0).expect("time"),
        assignee: mailer_core::model::Assignee::Responsible,
        text: "Meet".into(),
    };
    a.crm.apply(a.id, &task).await.expect("task");
    let body = &a.kommo.task_bodies(w.anna)[0];
    assert_eq!(body["responsible_user_id"], json!(w.manager.0));
    assert_eq!(body["complete_till"], json!(1_767_722_400));
    assert_eq!(body["entity_type"], "contacts");
    assert_eq!(body["task_type_id"], 2);
}

// ---------- Salesbot continue ----------

#[tokio::test]
async fn a_bot_answer_goes_to_the_continue_path_on_our_base_url() {
    let a = support::account().await;
    let answer = json!({ "data": { "status": "success" }, "execute_handlers": [] });
    a.client
        .continue_bot("https://shard152.amocrm.ru/api/v4/salesbot/321/continue/55", &answer)
        .await
        .expect("continue");
    assert_eq!(
        a.kommo.bot_answers(),
        [("/api/v4/salesbot/321/continue/55".to_owned(), answer.clone())]
    );
    let err = a
        .client
        .continue_bot("https://evil.example/api/v4/leads", &answer)
        .await
        .expect_err("not a bot URL");
    assert!(matches!(err, KommoError::Config(_)), "{err:?}");
}
