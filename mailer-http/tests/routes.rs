//! Every public route through the router (`tower::ServiceExt::oneshot`) over the in-memory harness: good
//! tokens record what they should; tampered, truncated, other-account and wrong-kind tokens record nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use mailer_core::engine::{Engine, EngineConfig};
use mailer_core::model::{
    AccountId, CrmAction, EntityRef, Event, EventKind, EventQuery, NewAccount, Secret, SendingLimits, Timezone,
    TriggerLinkId,
};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::template::{LinkBuilder, TokenKind, TrackingToken};
use mailer_core::testkit::fixture::sample_link;
use mailer_core::testkit::{HARNESS_KEY, Harness};
use mailer_http::{AppState, DEFAULT_LINGER, HitRecorder, HttpConfig, PIXEL_GIF, app};
use tower::ServiceExt as _;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

struct Fixture {
    h: Arc<Harness>,
    /// The engine the router serves (its own, over the harness's doubles).
    engine: Arc<Engine>,
    router: Router,
    links: LinkBuilder,
    other: LinkBuilder,
}

async fn fixture_with(http: HttpConfig) -> Fixture {
    fixture_over(http, None).await
}

/// A fixture whose pixel and trigger-link hits go through a hit recorder (a queue of `capacity`, batches
/// of `batch`, the default linger), as `mailer-server` serves them.
async fn fixture_recorded(capacity: usize, batch: usize) -> (Fixture, Arc<HitRecorder>) {
    fixture_lingering(capacity, batch, DEFAULT_LINGER).await
}

/// As [`fixture_recorded`], with a partial batch waiting `linger`.
async fn fixture_lingering(capacity: usize, batch: usize, linger: Duration) -> (Fixture, Arc<HitRecorder>) {
    let mut recorder = None;
    let f = fixture_over(HttpConfig::default(), Some((capacity, batch, linger, &mut recorder))).await;
    (f, recorder.expect("recorder"))
}

/// A recorder's queue size, batch size, linger, and where the fixture puts it.
type Recorded<'a> = (usize, usize, Duration, &'a mut Option<Arc<HitRecorder>>);

async fn fixture_over(http: HttpConfig, recorded: Option<Recorded<'_>>) -> Fixture {
    let mut config = EngineConfig::default();
    config
        .signing_keys
        .insert("k2".into(), Secret::new("another-accounts-signing-key-42"));
    let h = Harness::with(config, SendingLimits::default()).await;
    let second = h
        .store
        .create_account(NewAccount {
            name: "other".into(),
            timezone: Timezone::UTC,
            signing_key_ref: "k2".into(),
        })
        .await
        .expect("account");
    let links = h.engine.links(&h.account).expect("links");
    // A token for the second account, signed with the first account's key.
    let other = LinkBuilder::new("https://t.example.com", second.id, HARNESS_KEY).expect("builder");
    let h = Arc::new(h);
    // The state holds the engine by Arc; the harness keeps its own handles to the doubles.
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let state = AppState::new(engine.clone(), http);
    let state = match recorded {
        Some((capacity, batch, linger, slot)) => {
            let recorder = Arc::new(HitRecorder::spawn_lingering(
                engine.clone(),
                state.metrics().clone(),
                capacity,
                batch,
                linger,
            ));
            *slot = Some(recorder.clone());
            state.with_hit_recorder(recorder)
        }
        None => state,
    };
    let router = app(state);
    Fixture {
        h,
        engine,
        router,
        links,
        other,
    }
}

async fn fixture() -> Fixture {
    fixture_with(HttpConfig::default()).await
}

fn token(account: AccountId, kind: TokenKind, entity: EntityRef) -> TrackingToken {
    TrackingToken {
        kind,
        account,
        email: None,
        recipient: "anna@example.com".into(),
        entity,
        preview: false,
        issued_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time"),
    }
}

impl Fixture {
    fn sign(&self, kind: TokenKind) -> String {
        self.links.sign(&token(self.h.account.id, kind, self.h.world.lead))
    }

    /// The bad variants of a good token: tampered, truncated, another account's, garbage.
    fn bad(&self, kind: TokenKind) -> Vec<String> {
        let good = self.sign(kind);
        let mut tampered = good.clone().into_bytes();
        let i = tampered.len() / 2;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        vec![
            String::from_utf8(tampered).expect("ascii"),
            good[..good.len() - 6].to_owned(),
            self.other.sign(&token(self.other.account(), kind, self.h.world.lead)),
            "not-a-token".into(),
        ]
    }

    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.expect("infallible")
    }

    async fn get(&self, path: &str) -> Response<Body> {
        let request = Request::get(path).header(header::USER_AGENT, BROWSER);
        self.send(request.body(Body::empty()).expect("request")).await
    }

    async fn post(&self, path: &str, content_type: &str, body: impl Into<Body>) -> Response<Body> {
        let request = Request::post(path)
            .header(header::USER_AGENT, BROWSER)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .expect("request");
        self.send(request).await
    }

    async fn events(&self) -> Vec<Event> {
        let mut all = Vec::new();
        for account in [self.h.account.id, self.other.account()] {
            let q = EventQuery {
                account,
                email: None,
                entity: None,
                since: None,
                limit: 1000,
            };
            all.extend(self.h.store.list_events(&q).await.expect("events"));
        }
        all
    }

    fn crm_changes(&self) -> Vec<CrmAction> {
        self.h.crm.applied(self.h.account.id)
    }
}

async fn bytes(response: Response<Body>) -> Vec<u8> {
    axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body")
        .to_vec()
}

async fn body(response: Response<Body>) -> String {
    String::from_utf8_lossy(&bytes(response).await).into_owned()
}

fn assert_pixel(response: &Response<Body>) {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/gif");
    assert!(
        response.headers()[header::CACHE_CONTROL]
            .to_str()
            .expect("ascii")
            .contains("no-store")
    );
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
}

#[tokio::test]
async fn the_pixel_records_an_open_and_answers_the_same_gif_for_bad_tokens() {
    let f = fixture().await;
    for bad in f
        .bad(TokenKind::Open)
        .into_iter()
        .chain([f.sign(TokenKind::Unsubscribe)])
    {
        let response = f.get(&format!("/t/o/{bad}")).await;
        assert_pixel(&response);
        assert_eq!(bytes(response).await, PIXEL_GIF);
    }
    assert!(
        f.events().await.is_empty(),
        "a bad or wrong-kind token recorded something"
    );

    let response = f.get(&format!("/t/o/{}", f.sign(TokenKind::Open))).await;
    assert_pixel(&response);
    assert_eq!(bytes(response).await, PIXEL_GIF);
    let events = f.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind, EventKind::Opened);
    assert!(!events[0].event.automated);
    assert_eq!(events[0].event.account, f.h.account.id);
}

#[tokio::test]
async fn a_trigger_link_redirects_and_bad_tokens_get_a_404_page_and_record_nothing() {
    let f = fixture().await;
    let link = f.h.store.insert(sample_link(f.h.account.id)).await.expect("link");
    let kind = TokenKind::Click(link.id);
    for bad in f.bad(kind).into_iter().chain([f.sign(TokenKind::Open)]) {
        let response = f.get(&format!("/t/l/{bad}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(response.headers()[header::CONTENT_SECURITY_POLICY].to_str().is_ok());
        assert!(body(response).await.contains("Link not found"));
    }
    assert!(f.events().await.is_empty());

    let response = f.get(&format!("/t/l/{}", f.sign(kind))).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "https://example.com/offer.pdf");
    let events = f.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind, EventKind::Clicked { link: link.id });

    // A link without a redirect thanks the reader.
    let mut bare = sample_link(f.h.account.id);
    bare.redirect = None;
    let bare = f.h.store.insert(bare).await.expect("link");
    let response = f.get(&format!("/t/l/{}", f.sign(TokenKind::Click(bare.id)))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body(response).await.contains("Thank you!"));
    // An unknown link id in a validly signed token is a 404 too.
    let response = f
        .get(&format!("/t/l/{}", f.sign(TokenKind::Click(TriggerLinkId(999)))))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_the_hit_recorder_the_pixel_answers_first_and_records_good_tokens_only() {
    let (f, recorder) = fixture_recorded(100, 10).await;
    for bad in f
        .bad(TokenKind::Open)
        .into_iter()
        .chain([f.sign(TokenKind::Unsubscribe)])
    {
        let response = f.get(&format!("/t/o/{bad}")).await;
        assert_pixel(&response);
        assert_eq!(bytes(response).await, PIXEL_GIF);
    }
    recorder.flush().await;
    assert!(
        f.events().await.is_empty(),
        "a bad, other-account or wrong-kind token recorded something"
    );

    // Twelve opens, more than one batch: each is recorded, as a human open.
    let good = format!("/t/o/{}", f.sign(TokenKind::Open));
    for _ in 0..12 {
        assert_pixel(&f.get(&good).await);
    }
    recorder.flush().await;
    let events = f.events().await;
    assert_eq!(events.len(), 12);
    assert!(
        events
            .iter()
            .all(|e| e.event.kind == EventKind::Opened && !e.event.automated)
    );
    let metrics = body(f.get("/metrics").await).await;
    assert!(
        metrics.contains("mailer_hits_total{kind=\"open\",automated=\"false\"} 12"),
        "{metrics}"
    );

    // Closed (the server stopping): nothing queued is lost, and a late hit is recorded before its answer.
    assert_pixel(&f.get(&good).await);
    recorder.close().await;
    assert_eq!(f.events().await.len(), 13, "a queued hit was lost on close");
    assert_pixel(&f.get(&good).await);
    assert_eq!(f.events().await.len(), 14, "a hit after close was not recorded");
}

#[tokio::test]
async fn a_partial_batch_waits_for_the_linger_and_a_flush_does_not() {
    // Three hits, fewer than a batch: nothing is recorded while the recorder lingers (it cannot record before
    // the linger has passed since it woke to the first hit), and a flush records them without waiting.
    let (f, recorder) = fixture_lingering(100, 10, Duration::from_secs(30)).await;
    let good = format!("/t/o/{}", f.sign(TokenKind::Open));
    for _ in 0..3 {
        assert_pixel(&f.get(&good).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(f.events().await.is_empty(), "recorded before the linger was over");
    tokio::time::timeout(Duration::from_secs(10), recorder.flush())
        .await
        .expect("a flush waited for the linger");
    assert_eq!(f.events().await.len(), 3);

    // Closing while it lingers records what is queued at once, too.
    assert_pixel(&f.get(&good).await);
    tokio::time::timeout(Duration::from_secs(10), recorder.close())
        .await
        .expect("closing waited for the linger");
    assert_eq!(f.events().await.len(), 4);
}

#[tokio::test]
async fn with_the_hit_recorder_a_trigger_link_redirects_first_and_bad_tokens_get_a_404() {
    let (f, recorder) = fixture_recorded(100, 10).await;
    let link = f.h.store.insert(sample_link(f.h.account.id)).await.expect("link");
    let kind = TokenKind::Click(link.id);
    for bad in f.bad(kind).into_iter().chain([f.sign(TokenKind::Open)]) {
        let response = f.get(&format!("/t/l/{bad}")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
        assert!(body(response).await.contains("Link not found"));
    }
    let response = f
        .get(&format!("/t/l/{}", f.sign(TokenKind::Click(TriggerLinkId(999)))))
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    recorder.flush().await;
    assert!(f.events().await.is_empty());

    let response = f.get(&format!("/t/l/{}", f.sign(kind))).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(response.headers()[header::LOCATION], "https://example.com/offer.pdf");
    recorder.flush().await;
    let events = f.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind, EventKind::Clicked { link: link.id });
}

#[tokio::test]
async fn metrics_show_the_hits_waiting_in_the_recorder() {
    let (f, recorder) = fixture_recorded(100, 10).await;
    let queued = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("mailer_hits_queued "))
            .map(str::to_owned)
    };
    let metrics = body(f.get("/metrics").await).await;
    assert!(metrics.contains("# TYPE mailer_hits_queued gauge"), "{metrics}");
    assert_eq!(queued(&metrics).as_deref(), Some("0"), "{metrics}");
    // The test runtime has one thread and nothing here waits, so the recorder's task cannot run between
    // these requests: the three hits are answered and wait in the queue.
    let good = format!("/t/o/{}", f.sign(TokenKind::Open));
    for _ in 0..3 {
        assert_pixel(&f.get(&good).await);
    }
    let metrics = body(f.get("/metrics").await).await;
    assert_eq!(queued(&metrics).as_deref(), Some("3"), "{metrics}");
    recorder.flush().await;
    let metrics = body(f.get("/metrics").await).await;
    assert_eq!(queued(&metrics).as_deref(), Some("0"), "{metrics}");
    assert_eq!(f.events().await.len(), 3);
}

#[tokio::test]
async fn a_link_saved_through_the_engine_redirects_to_its_new_target_at_once() {
    let (f, recorder) = fixture_recorded(100, 10).await;
    let link = f.h.store.insert(sample_link(f.h.account.id)).await.expect("link");
    let path = format!("/t/l/{}", f.sign(TokenKind::Click(link.id)));
    let response = f.get(&path).await;
    assert_eq!(response.headers()[header::LOCATION], "https://example.com/offer.pdf");
    // The click path keeps the link for a moment; an edit through the engine drops it.
    let mut moved = link.clone();
    moved.redirect = Some("https://example.com/new-offer.pdf".into());
    f.engine.save_trigger_link(f.h.admin.id, moved).await.expect("save");
    let response = f.get(&path).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response.headers()[header::LOCATION],
        "https://example.com/new-offer.pdf"
    );
    recorder.flush().await;
    assert_eq!(f.events().await.len(), 2);
    f.engine
        .delete_trigger_link(f.h.account.id, f.h.admin.id, link.id)
        .await
        .expect("delete");
    assert_eq!(
        f.get(&path).await.status(),
        StatusCode::NOT_FOUND,
        "a deleted link still answered"
    );
}

#[tokio::test]
async fn a_form_is_written_to_the_crm_urlencoded_or_multipart_and_the_honeypot_drops_it() {
    let f = fixture().await;
    let path = format!("/f/{}", f.sign(TokenKind::Form));
    let urlencoded = "application/x-www-form-urlencoded";
    for bad in f.bad(TokenKind::Form).into_iter().chain([f.sign(TokenKind::Open)]) {
        let response = f.post(&format!("/f/{bad}"), urlencoded, "comment=x").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let response = f.post(&path, urlencoded, "comment=bot&_hp=http%3A%2F%2Fspam").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        f.events().await.is_empty() && f.crm_changes().is_empty(),
        "honeypot recorded"
    );

    let response = f.post(&path, urlencoded, "comment=Call+me+%3Cplease%3E&_hp=").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body(response).await.contains("Thank you!"));
    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\nsecond answer\r\n--XyZ--\r\n";
    let response = f.post(&path, "multipart/form-data; boundary=XyZ", multipart).await;
    assert_eq!(response.status(), StatusCode::OK);

    let forms: Vec<Vec<(String, String)>> = f
        .events()
        .await
        .into_iter()
        .filter_map(|e| match e.event.kind {
            EventKind::FormSubmitted { fields } => Some(fields),
            _ => None,
        })
        .collect();
    assert_eq!(
        forms,
        vec![
            vec![("comment".to_owned(), "Call me <please>".to_owned())],
            vec![("comment".to_owned(), "second answer".to_owned())],
        ]
    );
    let notes = f.h.crm.notes(f.h.account.id, f.h.world.lead);
    assert!(notes.iter().any(|n| n.contains("second answer")), "{notes:?}");
}

#[tokio::test]
async fn get_unsubscribe_changes_nothing_and_a_one_click_post_unsubscribes() {
    let f = fixture().await;
    let token = f.sign(TokenKind::Unsubscribe);
    let path = format!("/u/{token}");
    let response = f.get(&path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = body(response).await;
    assert!(page.contains("<form method=\"post\"") && page.contains(&path), "{page}");
    assert!(f.events().await.is_empty(), "a GET changed something");

    for bad in f
        .bad(TokenKind::Unsubscribe)
        .into_iter()
        .chain([f.sign(TokenKind::Open)])
    {
        let response = f
            .post(
                &format!("/u/{bad}"),
                "application/x-www-form-urlencoded",
                "List-Unsubscribe=One-Click",
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(f.get(&format!("/u/{bad}")).await.status(), StatusCode::NOT_FOUND);
    }
    assert!(f.events().await.is_empty());

    let response = f
        .post(&path, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let events = f.events().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event.kind, EventKind::Unsubscribed);
}

#[tokio::test]
async fn health_readiness_metrics_and_unknown_paths() {
    let f = fixture().await;
    assert_eq!(f.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(f.get("/readyz").await.status(), StatusCode::OK);
    f.get(&format!("/t/o/{}", f.sign(TokenKind::Open))).await;
    let response = f.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = body(response).await;
    assert!(
        text.contains("mailer_hits_total{kind=\"open\",automated=\"false\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("mailer_http_request_duration_seconds_count{route=\"/t/o/{token}\"} 1"),
        "{text}"
    );
    let response = f.get("/nothing/here").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(response.headers()[header::REFERRER_POLICY], "no-referrer");
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after() {
    let f = fixture_with(HttpConfig {
        rate_per_second: 1.0,
        rate_burst: 2.0,
        ..HttpConfig::default()
    })
    .await;
    let path = format!("/t/o/{}", f.sign(TokenKind::Open));
    assert_eq!(f.get(&path).await.status(), StatusCode::OK);
    assert_eq!(f.get(&path).await.status(), StatusCode::OK);
    let limited = f.get(&path).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        limited.headers()[header::RETRY_AFTER]
            .to_str()
            .expect("ascii")
            .parse::<u64>()
            .expect("secs")
            >= 1
    );
    assert_eq!(
        f.get("/healthz").await.status(),
        StatusCode::OK,
        "health is not limited"
    );
    assert_eq!(f.events().await.len(), 2);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused() {
    let f = fixture_with(HttpConfig {
        body_limit: 64,
        ..HttpConfig::default()
    })
    .await;
    let path = format!("/f/{}", f.sign(TokenKind::Form));
    let big = format!("comment={}", "x".repeat(200));
    let response = f.post(&path, "application/x-www-form-urlencoded", big).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(f.events().await.is_empty());
}

/// The forms and unsubscribe routes leave the token to the engine: each request verifies it once (one read
/// of the account per verification), and a bad token is refused by that one check, honeypot or not.
#[tokio::test]
async fn forms_and_unsubscribe_verify_the_token_once_in_the_engine() {
    let f = fixture().await;
    let urlencoded = "application/x-www-form-urlencoded";
    let honeypot = HttpConfig::default().honeypot_field;
    let requests = [
        ("GET", format!("/u/{}", f.sign(TokenKind::Unsubscribe)), String::new()),
        ("POST", format!("/u/{}", f.sign(TokenKind::Unsubscribe)), String::new()),
        (
            "POST",
            format!("/f/{}", f.sign(TokenKind::Form)),
            "comment=x".to_owned(),
        ),
        (
            "POST",
            format!("/f/{}", f.sign(TokenKind::Form)),
            format!("{honeypot}=bot"),
        ),
    ];
    for (method, path, form) in requests {
        let before = f.h.store.account_reads();
        let response = if method == "GET" {
            f.get(&path).await
        } else {
            f.post(&path, urlencoded, form.clone()).await
        };
        assert!(response.status().is_success(), "{method} {path}: {}", response.status());
        assert_eq!(
            f.h.store.account_reads() - before,
            1,
            "{method} {path} {form}: the token was not verified exactly once"
        );
    }
    for bad in f.bad(TokenKind::Form) {
        let response = f
            .post(&format!("/f/{bad}"), urlencoded, format!("{honeypot}=bot"))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "honeypot with {bad}");
    }
}
