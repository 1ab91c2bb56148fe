//! `/metrics` counts what the Kommo client does inside one call: the real client against the fake Kommo
//! answering 429, retried by the client within its policy (a call that ends well, yet a 429 and a retry to
//! count) or refused (a wait over the policy: the call ends rate limited).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use mailer_core::engine::{Engine, Ports};
use mailer_core::ports::Crm;
use mailer_core::testkit::Harness;
use mailer_http::{AppState, HttpConfig, LoggedCrm, Metrics, app};
use mailer_kommo::fake::{FakeKommo, Fault};
use mailer_kommo::{KommoClient, KommoCrm, RetryPolicy};
use tower::ServiceExt as _;

async fn metrics_text(state: &AppState) -> String {
    let request = Request::get("/metrics").body(Body::empty()).expect("request");
    let response = app(state.clone()).oneshot(request).await.expect("infallible");
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    String::from_utf8_lossy(&body).into_owned()
}

/// The value of the sample `name` (with its labels) in `text`, 0 when absent.
fn sample(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0, |v| v.trim().parse().expect("a number"))
}

#[tokio::test]
async fn the_clients_own_429_retries_show_in_metrics() {
    let h = Harness::new().await;
    let kommo = FakeKommo::start().await.expect("fake kommo");
    kommo.seed_world(h.account.id);
    let metrics = Arc::new(Metrics::default());
    let client = KommoClient::builder(kommo.base_url())
        .long_lived_token(kommo.issue_long_lived(86_400))
        .with_retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_rate_wait: Duration::from_secs(2),
        })
        .with_observer(metrics.clone())
        .build()
        .expect("client");
    let kommo_crm = KommoCrm::new();
    kommo_crm.add_account(h.account.id, client);
    let crm = Arc::new(LoggedCrm::new(Arc::new(kommo_crm), metrics.clone()));
    let engine = Arc::new(Engine::new(
        Ports {
            crm: crm.clone(),
            ..h.engine.ports().clone()
        },
        h.engine.config().clone(),
    ));
    let state = AppState::with_metrics(engine, HttpConfig::default(), metrics);

    // A 429 asking for 1 s: the client waits, retries, and the call succeeds.
    kommo.fail_next(Fault::TooManyRequests { retry_after: 1 });
    crm.pipelines(h.account.id).await.expect("pipelines after one retry");
    let text = metrics_text(&state).await;
    assert_eq!(
        sample(&text, "mailer_crm_requests_total{status=\"429\",retried=\"true\"}"),
        1,
        "{text}"
    );
    assert!(
        sample(&text, "mailer_crm_requests_total{status=\"200\",retried=\"false\"}") >= 1,
        "{text}"
    );
    assert_eq!(sample(&text, "mailer_crm_answers_429_total"), 1, "{text}");
    assert_eq!(sample(&text, "mailer_crm_retries_total"), 1, "{text}");
    // The call itself ended well: the CRM call counter alone would have shown nothing of the 429.
    assert_eq!(
        sample(&text, "mailer_crm_calls_total{op=\"pipelines\",result=\"ok\"}"),
        1,
        "{text}"
    );
    assert_eq!(sample(&text, "mailer_crm_rate_limited_total"), 0, "{text}");

    // A 429 asking for a minute, over the policy: not retried, the call ends rate limited.
    kommo.fail_next(Fault::TooManyRequests { retry_after: 60 });
    crm.pipelines(h.account.id).await.expect_err("rate limited");
    let text = metrics_text(&state).await;
    assert_eq!(
        sample(&text, "mailer_crm_requests_total{status=\"429\",retried=\"false\"}"),
        1,
        "{text}"
    );
    assert_eq!(sample(&text, "mailer_crm_answers_429_total"), 2, "{text}");
    assert_eq!(sample(&text, "mailer_crm_retries_total"), 1, "{text}");
    assert_eq!(
        sample(
            &text,
            "mailer_crm_calls_total{op=\"pipelines\",result=\"rate_limited\"}"
        ),
        1,
        "{text}"
    );
    assert_eq!(sample(&text, "mailer_crm_rate_limited_total"), 1, "{text}");

    // A 503 is retried with backoff and counted the same way.
    kommo.fail_next(Fault::ServerError(503));
    crm.pipelines(h.account.id).await.expect("pipelines after a 503");
    let text = metrics_text(&state).await;
    assert_eq!(
        sample(&text, "mailer_crm_requests_total{status=\"503\",retried=\"true\"}"),
        1,
        "{text}"
    );
    assert_eq!(sample(&text, "mailer_crm_retries_total"), 2, "{text}");
}
