//! Web versions (`/w/`) and public web pages (`/p/`) through the router, and the one-click unsubscribe
//! putting the address on the suppression list.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use mailer_core::engine::{Engine, MailingRequest};
use mailer_core::model::{
    Body as MailBody, Content, EmailTriggers, EventKind, EventQuery, RecipientRule, Template, TemplateId,
};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::template::{TokenKind, TrackingToken};
use mailer_core::testkit::fixture::sample_page;
use mailer_core::testkit::{Harness, token_in};
use mailer_http::{AppState, HttpConfig, app};
use tower::ServiceExt as _;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

async fn setup() -> (Harness, Router) {
    let h = Harness::new().await;
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let http = HttpConfig {
        base_domain: "pages.example.com".into(),
        analytics_origins: vec!["https://www.googletagmanager.com".into()],
        ..HttpConfig::default()
    };
    (h, app(AppState::new(engine, http)))
}

async fn get(router: &Router, path: &str, host: &str) -> Response<Body> {
    let request = Request::get(path)
        .header(header::USER_AGENT, BROWSER)
        .header(header::HOST, host)
        .body(Body::empty())
        .expect("request");
    router.clone().oneshot(request).await.expect("infallible")
}

async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn events(h: &Harness) -> Vec<EventKind> {
    let q = EventQuery {
        account: h.account.id,
        email: None,
        entity: None,
        since: None,
        limit: 1000,
    };
    h.store
        .list_events(&q)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event.kind)
        .collect()
}

/// Sends one email with a web-version link and an unsubscribe link; answers its HTML.
async fn send_one(h: &Harness) -> String {
    let template = h
        .engine
        .save_template(
            h.admin.id,
            Template {
                id: TemplateId(0),
                account: h.account.id,
                name: "Offer".into(),
                recipients: RecipientRule::EntityContacts,
                content: Content {
                    subject: "Offer for {{ lead.name }}".into(),
                    body: MailBody::Html(
                        "<p>Hello {{ contact.name }}</p><a href=\"{weblink}\">web</a> <a href=\"{unsubscribe}\">u</a>"
                            .into(),
                    ),
                    text: None,
                },
                attachments: Vec::new(),
                triggers: EmailTriggers::default(),
                owner: h.admin.id,
                public: false,
                signature_disabled: false,
            },
        )
        .await
        .expect("template");
    let request = MailingRequest {
        account: h.account.id,
        sender: h.admin.id,
        mailbox: h.mailbox.id,
        template: template.id,
        name: "Offer".into(),
    };
    h.engine
        .start_mailing(&request, vec![h.world.lead])
        .await
        .expect("mailing");
    assert_eq!(h.engine.worker_step().await.expect("step").sent, 1);
    h.transport.sent()[0].message.html.clone()
}

#[tokio::test]
async fn the_web_version_of_a_sent_email_and_bad_tokens() {
    let (h, router) = setup().await;
    let html = send_one(&h).await;
    let token = token_in(&html, "/w/").expect("web link");
    let response = get(&router, &format!("/w/{token}"), "t.example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.contains("https://www.googletagmanager.com"), "{csp}");
    assert!(text(response).await.contains("Hello"));
    let before = events(&h).await;
    let mut tampered = token.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).expect("ascii");
    let unsubscribe = token_in(&html, "/u/").expect("unsubscribe link");
    for bad in [tampered, token[..token.len() - 5].to_owned(), unsubscribe] {
        let response = get(&router, &format!("/w/{bad}"), "t.example.com").await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    assert_eq!(events(&h).await, before, "a bad token recorded something");
}

#[tokio::test]
async fn a_one_click_unsubscribe_suppresses_the_address() {
    let (h, router) = setup().await;
    let html = send_one(&h).await;
    let token = token_in(&html, "/u/").expect("unsubscribe link");
    let response = get(&router, &format!("/u/{token}"), "t.example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    let to: Vec<String> = h.transport.sent()[0]
        .message
        .to
        .iter()
        .map(|a| a.email.to_lowercase())
        .collect();
    assert!(
        h.store
            .suppressed(h.account.id, &to)
            .await
            .expect("suppressed")
            .is_empty(),
        "a GET suppressed"
    );
    let request = Request::post(format!("/u/{token}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("List-Unsubscribe=One-Click"))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let suppressed = h.store.suppressed(h.account.id, &to).await.expect("suppressed");
    assert_eq!(suppressed.len(), 1, "{suppressed:?} of {to:?}");
    assert!(events(&h).await.contains(&EventKind::Unsubscribed));
}

#[tokio::test]
async fn a_public_page_by_subdomain_is_served_recorded_and_gone_after_its_lifetime() {
    let (h, router) = setup().await;
    let mut page = sample_page(h.account.id);
    page.subdomain = Some("promo".into());
    let page = h.store.insert(page).await.expect("page");
    let token = h.engine.links(&h.account).expect("links").sign(&TrackingToken {
        kind: TokenKind::Page(page.id),
        account: h.account.id,
        email: None,
        recipient: String::new(),
        entity: h.world.lead,
        preview: false,
        issued_at: h.now(),
    });
    let path = format!("/p/{token}");
    let response = get(&router, &path, "other.pages.example.com").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "served on another subdomain");
    assert!(events(&h).await.is_empty());
    let response = get(&router, &path, "promo.pages.example.com").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(text(response).await.contains("Offer for Acme"));
    assert_eq!(events(&h).await, vec![EventKind::PageOpened { page: page.id }]);
    h.clock.advance(Duration::from_secs(31 * 24 * 3600));
    let response = get(&router, &path, "promo.pages.example.com").await;
    assert_eq!(response.status(), StatusCode::GONE);
}
