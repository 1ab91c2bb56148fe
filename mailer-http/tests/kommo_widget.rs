//! The widget's own calls from Kommo's UI through the router: a good one-time `X-Auth-Token` reads the
//! account's status and sends a template; a bad signature, an expired or not-yet-valid token, a foreign
//! `aud` or `iss`, and a reused `jti` get 401 and send nothing; CORS answers only the account's own Kommo
//! page, preflight included. A token spent at one server process is refused at another on the same SQLite
//! file or PostgreSQL schema (the spent `jti` are kept in the store).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use mailer_core::engine::Engine;
use mailer_core::model::{Body as MailBody, CrmLink, EmailQuery, LinkStatus, Secret, Template};
use mailer_core::ports::{Store as _, StoreExt as _};
use mailer_core::testkit::{Harness, fixture};
use mailer_http::kommo::KommoHost;
use mailer_http::{AppState, HttpConfig, app};
use mailer_kommo::hooks::sign_hs256;
use mailer_kommo::{KommoCrm, OAuthApp};
use mailer_store_sql::testkit::pg_schema_url;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const SECRET: &str = "integration-secret";
const AUD: &str = "https://mailer.example.com";
const KOMMO_ACCOUNT: i64 = 31_000_007;
const PAGE: &str = "https://acme.kommo.com";

struct Setup {
    h: Harness,
    router: Router,
    template: i64,
}

async fn setup() -> Setup {
    let h = Harness::new().await;
    h.store
        .put_crm_link(CrmLink {
            account: h.account.id,
            external_id: KOMMO_ACCOUNT,
            domain: "acme.kommo.com".into(),
            status: LinkStatus::Active,
            detail: None,
            tokens: Some(Secret::new("{}".to_owned())),
            version: 0,
            updated_at: h.now(),
        })
        .await
        .expect("link");
    let mut template: Template = fixture::sample_template(h.account.id, h.admin.id);
    template.content.body = MailBody::Html("<p>Hello {{ contact.name }}</p>".into());
    let template = h.store.insert(template).await.expect("template");
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let app_keys = OAuthApp {
        client_id: "integration".into(),
        client_secret: Secret::new(SECRET.to_owned()),
        redirect_uri: format!("{AUD}/kommo/oauth"),
    };
    let host = KommoHost::new(app_keys, Arc::new(KommoCrm::new()));
    let router = app(AppState::new(engine, HttpConfig::default()).with_kommo(Arc::new(host)));
    Setup {
        h,
        router,
        template: template.id.0,
    }
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("seconds")
}

fn claims(jti: &str) -> Value {
    let t = now();
    json!({"iss": PAGE, "aud": AUD, "jti": jti, "iat": t, "nbf": t, "exp": t + 1800,
           "account_id": KOMMO_ACCOUNT, "user_id": 55, "subdomain": "acme", "client_uuid": "integration"})
}

fn token(jti: &str) -> String {
    sign_hs256(&claims(jti), SECRET.as_bytes())
}

fn token_with(jti: &str, key: &str, value: Value) -> String {
    let mut c = claims(jti);
    c[key] = value;
    sign_hs256(&c, SECRET.as_bytes())
}

async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    origin: Option<&str>,
    body: &Value,
) -> Response<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        request = request.header("X-Auth-Token", t);
    }
    if let Some(o) = origin {
        request = request.header(header::ORIGIN, o);
    }
    router
        .clone()
        .oneshot(request.body(Body::from(body.to_string())).expect("request"))
        .await
        .expect("answer")
}

async fn json_of(response: Response<Body>) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    serde_json::from_slice(&bytes).expect("json")
}

fn allow_origin(response: &Response<Body>) -> Option<String> {
    response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().expect("ascii").to_owned())
}

async fn emails(s: &Setup) -> usize {
    s.h.store
        .list_emails(&EmailQuery::account(s.h.account.id, 1_000))
        .await
        .expect("emails")
        .len()
}

fn send_body(s: &Setup) -> Value {
    json!({"template_id": s.template, "entity_type": "leads", "entity_id": s.h.world.lead.id.0})
}

#[tokio::test]
async fn a_good_token_reads_the_status_and_sends_once_with_cors_for_the_account_page_only() {
    let s = setup().await;
    let status = call(
        &s.router,
        Method::GET,
        "/kommo/widget/status",
        Some(&token("s1")),
        Some(PAGE),
        &json!(null),
    )
    .await;
    assert_eq!(status.status(), StatusCode::OK);
    assert_eq!(allow_origin(&status).as_deref(), Some(PAGE));
    let body = json_of(status).await;
    assert_eq!(body["account_id"], json!(KOMMO_ACCOUNT));
    assert_eq!(body["domain"], json!("acme.kommo.com"));
    assert!(body.get("tokens").is_none());

    let sent = call(
        &s.router,
        Method::POST,
        "/kommo/widget/send",
        Some(&token("s2")),
        Some(PAGE),
        &send_body(&s),
    )
    .await;
    assert_eq!(sent.status(), StatusCode::OK);
    assert_eq!(allow_origin(&sent).as_deref(), Some(PAGE));
    assert!(json_of(sent).await["email_id"].as_i64().is_some());
    let after_good = emails(&s).await;
    assert!(after_good >= 1, "the template was sent");

    // Server-to-server (no Origin): works, no CORS grant.
    let plain = call(
        &s.router,
        Method::GET,
        "/kommo/widget/status",
        Some(&token("s3")),
        None,
        &json!(null),
    )
    .await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(allow_origin(&plain), None);

    // Another Kommo account's page with a good token: refused, nothing sent, no grant.
    let foreign = call(
        &s.router,
        Method::POST,
        "/kommo/widget/send",
        Some(&token("s4")),
        Some("https://evil.kommo.com"),
        &send_body(&s),
    )
    .await;
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert_eq!(allow_origin(&foreign), None);
    assert_eq!(emails(&s).await, after_good);
}

#[tokio::test]
async fn bad_expired_early_foreign_and_reused_tokens_get_401_and_send_nothing() {
    let s = setup().await;
    let t = now();
    let reused = token("once");
    let first = call(
        &s.router,
        Method::POST,
        "/kommo/widget/send",
        Some(&reused),
        Some(PAGE),
        &send_body(&s),
    )
    .await;
    assert_eq!(first.status(), StatusCode::OK);
    let baseline = emails(&s).await;
    let cases = [
        ("bad signature", sign_hs256(&claims("b1"), b"not-the-secret")),
        ("expired", token_with("b2", "exp", json!(t - 10))),
        ("not yet valid", token_with("b3", "nbf", json!(t + 3600))),
        ("wrong aud", token_with("b4", "aud", json!("https://other.example.com"))),
        ("wrong iss", token_with("b5", "iss", json!("https://evil.kommo.com"))),
        ("reused jti", reused),
    ];
    for (what, bad) in cases {
        let r = call(
            &s.router,
            Method::POST,
            "/kommo/widget/send",
            Some(&bad),
            Some(PAGE),
            &send_body(&s),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(allow_origin(&r), None, "{what}");
        let r = call(
            &s.router,
            Method::GET,
            "/kommo/widget/status",
            Some(&bad),
            Some(PAGE),
            &json!(null),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{what}");
    }
    let none = call(
        &s.router,
        Method::POST,
        "/kommo/widget/send",
        None,
        Some(PAGE),
        &send_body(&s),
    )
    .await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    // A token of an account never installed: refused too.
    let unknown = token_with("u1", "account_id", json!(99));
    let r = call(
        &s.router,
        Method::POST,
        "/kommo/widget/send",
        Some(&unknown),
        Some(PAGE),
        &send_body(&s),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(emails(&s).await, baseline, "nothing was sent by a refused call");
}

#[tokio::test]
async fn the_preflight_grants_only_the_account_page() {
    let s = setup().await;
    for path in ["/kommo/widget/status", "/kommo/widget/send"] {
        let ok = call(&s.router, Method::OPTIONS, path, None, Some(PAGE), &json!(null)).await;
        assert_eq!(ok.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(allow_origin(&ok).as_deref(), Some(PAGE));
        let allowed = ok.headers()[header::ACCESS_CONTROL_ALLOW_HEADERS]
            .to_str()
            .expect("ascii")
            .to_ascii_lowercase();
        assert!(allowed.contains("x-auth-token"), "{allowed}");
        for other in [
            "https://evil.kommo.com",
            "http://acme.kommo.com",
            "https://acme.kommo.com.evil.io",
        ] {
            let refused = call(&s.router, Method::OPTIONS, path, None, Some(other), &json!(null)).await;
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{other}");
            assert_eq!(allow_origin(&refused), None, "{other}");
        }
    }
}

/// A server process's router over its own connection to the store at `url`.
async fn process_router(url: &str, key: &mailer_store_sql::SecretKey) -> (Router, Arc<mailer_store_sql::SqlStore>) {
    let h = Harness::new().await;
    let store = Arc::new(
        mailer_store_sql::SqlStore::connect(&mailer_store_sql::SqlConfig::new(url, key.clone()))
            .await
            .expect("sql store"),
    );
    let ports = mailer_core::engine::Ports {
        store: store.clone(),
        ..h.engine.ports().clone()
    };
    let engine = Arc::new(Engine::new(ports, h.engine.config().clone()));
    let app_keys = OAuthApp {
        client_id: "integration".into(),
        client_secret: Secret::new(SECRET.to_owned()),
        redirect_uri: format!("{AUD}/kommo/oauth"),
    };
    let host = KommoHost::new(app_keys, Arc::new(KommoCrm::new()));
    (
        app(AppState::new(engine, HttpConfig::default()).with_kommo(Arc::new(host))),
        store,
    )
}

async fn a_token_spent_at_one_process_is_refused_at_another(url: &str) {
    let key = mailer_store_sql::SecretKey::generate();
    let (first, store) = process_router(url, &key).await;
    let (second, _) = process_router(url, &key).await;
    let fx = mailer_core::testkit::StoreFixture::new(&*store).await;
    // each run its own Kommo account, as the PostgreSQL schema may be shared
    let kommo_account = 32_000_000 + fx.account.id.0;
    store
        .put_crm_link(CrmLink {
            account: fx.account.id,
            external_id: kommo_account,
            domain: "acme.kommo.com".into(),
            status: LinkStatus::Active,
            detail: None,
            tokens: Some(Secret::new("{}".to_owned())),
            version: 0,
            updated_at: fx.now,
        })
        .await
        .expect("link");
    let token = |jti: &str| {
        let mut c = claims(jti);
        c["account_id"] = json!(kommo_account);
        sign_hs256(&c, SECRET.as_bytes())
    };
    let status = |router: &Router, token: String| {
        let router = router.clone();
        async move {
            call(
                &router,
                Method::GET,
                "/kommo/widget/status",
                Some(&token),
                None,
                &Value::Null,
            )
            .await
            .status()
        }
    };
    assert_eq!(status(&first, token("cross-1")).await, StatusCode::OK);
    assert_eq!(
        status(&second, token("cross-1")).await,
        StatusCode::UNAUTHORIZED,
        "a token spent at the first process was accepted by the second"
    );
    assert_eq!(status(&first, token("cross-1")).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status(&second, token("cross-2")).await, StatusCode::OK);
    assert_eq!(status(&first, token("cross-2")).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn on_one_sqlite_file_a_spent_token_is_refused_by_every_process() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/mailer.db?mode=rwc", dir.path().display());
    a_token_spent_at_one_process_is_refused_at_another(&url).await;
}

#[tokio::test]
async fn on_one_postgres_schema_a_spent_token_is_refused_by_every_process() {
    let Ok(base) = std::env::var("MAILER_TEST_PG_URL") else {
        mailer_core::testkit::skip("MAILER_TEST_PG_URL is not set");
        return;
    };
    a_token_spent_at_one_process_is_refused_at_another(&pg_schema_url(&base, "kommo_jti").await.expect("test schema"))
        .await;
}
