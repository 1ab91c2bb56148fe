//! Bad input at the host, each refused and recorded nowhere (no event, no CRM change): every one-byte change,
//! truncation, padding and re-encoding of tracking tokens, other accounts' tokens, replayed preview tokens;
//! open redirects through the link route; SSRF through link attachments in numeric, mapped and dotted
//! forms; hostile CRM values in the email, its web version and a public page; oversized bodies and paths;
//! forged Kommo JWTs and Salesbot requests (the parsers of `mailer-kommo/src/hooks`, called directly).

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mailer_core::engine::{Engine, MailingRequest};
use mailer_core::model::{
    Body as MailBody, Content, CrmAction, CrmUser, EmailTriggers, Event, EventQuery, FieldEntry, RecipientRule, Secret,
    Template, TemplateId, TriggerLinkId,
};
use mailer_core::ports::{FetchError, Fetcher, Store, StoreExt};
use mailer_core::template::{TokenKind, TrackingToken};
use mailer_core::testkit::fixture::{sample_link, sample_page};
use mailer_core::testkit::{Harness, token_in};
use mailer_http::{AppState, HttpConfig, HttpFetcher, app};
use mailer_kommo::hooks::{TokenError, parse_widget_request, verify_hs};
use sha2::{Digest, Sha256, Sha512};
use tower::ServiceExt as _;

const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0";

/// Strings that break out of HTML text, attributes, URLs, scripts and styles.
const HOSTILE: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "'><svg onload=alert(3)>",
    "</style><script>alert(4)</script>",
    "</title><script>alert(5)</script>",
    "javascript:alert(6)",
];

/// What must never appear in a page built from [`HOSTILE`] values.
fn assert_inert(what: &str, html: &str) {
    for needle in [
        "<script>alert",
        "<img src=x",
        "<svg onload",
        "href=\"javascript:",
        "src=\"javascript:",
    ] {
        assert!(!html.contains(needle), "{what} carries {needle:?}:\n{html}");
    }
}

struct Host {
    h: Arc<Harness>,
    router: Router,
}

async fn host_with(http: HttpConfig) -> Host {
    let h = Harness::new().await;
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let router = app(AppState::new(engine, http));
    Host { h: Arc::new(h), router }
}

async fn host() -> Host {
    host_with(HttpConfig {
        base_domain: "pages.example.com".into(),
        rate_per_second: 1e9,
        rate_burst: 1e9,
        ..HttpConfig::default()
    })
    .await
}

impl Host {
    async fn send(&self, request: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(request).await.expect("infallible")
    }

    async fn get(&self, path: &str) -> Response<Body> {
        let request = Request::get(path)
            .header(header::USER_AGENT, BROWSER)
            .header(header::HOST, "t.example.com")
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    async fn post(&self, path: &str, content_type: &str, body: impl Into<Body>) -> Response<Body> {
        let request = Request::post(path)
            .header(header::USER_AGENT, BROWSER)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .expect("request");
        self.send(request).await
    }

    fn sign(&self, kind: TokenKind, preview: bool) -> String {
        let links = self.h.engine.links(&self.h.account).expect("links");
        links.sign(&TrackingToken {
            kind,
            account: self.h.account.id,
            email: None,
            recipient: "anna@example.com".into(),
            entity: self.h.world.lead,
            preview,
            issued_at: self.h.now(),
        })
    }

    async fn events(&self) -> Vec<Event> {
        let q = EventQuery {
            account: self.h.account.id,
            email: None,
            entity: None,
            since: None,
            limit: 10_000,
        };
        self.h.store.list_events(&q).await.expect("events")
    }

    fn crm_changes(&self) -> Vec<CrmAction> {
        self.h.crm.applied(self.h.account.id)
    }

    /// Nothing recorded: no event, no CRM change.
    async fn assert_nothing_recorded(&self, what: &str) {
        assert!(self.events().await.is_empty(), "{what}: {:?}", self.events().await);
        assert!(self.crm_changes().is_empty(), "{what}: {:?}", self.crm_changes());
    }
}

async fn text(response: Response<Body>) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 22).await.expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Every variant of a good token that must not verify: each one-byte change, truncations, padding,
/// trailing bytes, case changes, percent-encoding of every character.
fn mangled(good: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = good.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'_', b'-', b'z'] {
            if bytes[i] != replacement {
                let mut b = bytes.to_vec();
                b[i] = replacement;
                out.push(String::from_utf8(b).expect("ascii"));
            }
        }
    }
    for cut in [1, 2, 5, good.len() / 2, good.len() - 1] {
        out.push(good[..good.len() - cut].to_owned());
        out.push(good[cut..].to_owned());
    }
    out.push(format!("{good}="));
    out.push(format!("{good}=="));
    out.push(format!("{good}A"));
    out.push(good.to_ascii_uppercase());
    out.push(good.to_ascii_lowercase());
    out.push(good.replace('-', "+").replace('_', "/"));
    out.retain(|t| t != good);
    out
}

#[tokio::test]
async fn mangled_tokens_are_refused_on_every_route_and_record_nothing() {
    let f = host().await;
    let link = f.h.store.insert(sample_link(f.h.account.id)).await.expect("link");
    let routes = [
        ("/t/o/", TokenKind::Open),
        ("/t/l/", TokenKind::Click(link.id)),
        ("/w/", TokenKind::WebVersion),
        ("/u/", TokenKind::Unsubscribe),
    ];
    let mut tried = 0;
    for (route, kind) in routes {
        let good = f.sign(kind, false);
        for bad in mangled(&good) {
            let bad: String = bad.chars().filter(|c| !matches!(c, '/' | '+')).collect();
            let response = f.get(&format!("{route}{bad}")).await;
            if route == "/t/o/" {
                // The pixel answers the same GIF whatever the token, so it tells nothing.
                assert_eq!(response.status(), StatusCode::OK);
            } else {
                assert!(
                    response.status().is_client_error(),
                    "{route}{bad}: {}",
                    response.status()
                );
            }
            tried += 1;
        }
    }
    let good = f.sign(TokenKind::Form, false);
    for bad in mangled(&good).into_iter().take(200) {
        let bad: String = bad.chars().filter(|c| !matches!(c, '/' | '+')).collect();
        let response = f
            .post(&format!("/f/{bad}"), "application/x-www-form-urlencoded", "comment=hi")
            .await;
        assert!(response.status().is_client_error(), "/f/{bad}");
        tried += 1;
    }
    eprintln!("hostile: {tried} mangled tokens refused");
    assert!(tried > 1000);
    f.assert_nothing_recorded("mangled tokens").await;
}

#[tokio::test]
async fn tokens_of_another_account_or_kind_and_replayed_previews_record_nothing() {
    let f = host().await;
    let link = f.h.store.insert(sample_link(f.h.account.id)).await.expect("link");
    // Another account's key and id.
    let other = mailer_core::template::LinkBuilder::new(
        "https://t.example.com",
        mailer_core::model::AccountId(f.h.account.id.0 + 1),
        "another-accounts-signing-key-0001",
    )
    .expect("key");
    let foreign = |kind| {
        other.sign(&TrackingToken {
            kind,
            account: other.account(),
            email: None,
            recipient: "anna@example.com".into(),
            entity: f.h.world.lead,
            preview: false,
            issued_at: f.h.now(),
        })
    };
    for (route, kind) in [("/t/l/", TokenKind::Click(link.id)), ("/w/", TokenKind::WebVersion)] {
        let response = f.get(&format!("{route}{}", foreign(kind))).await;
        assert!(response.status().is_client_error(), "{route}: {}", response.status());
        // A good token of another kind, on the wrong route.
        let response = f
            .get(&format!("{route}{}", f.sign(TokenKind::Unsubscribe, false)))
            .await;
        assert!(response.status().is_client_error(), "{route}: {}", response.status());
    }
    // Preview tokens (made by the editor's preview) replayed many times: nothing recorded, nothing fired.
    for _ in 0..5 {
        assert_eq!(
            f.get(&format!("/t/o/{}", f.sign(TokenKind::Open, true))).await.status(),
            StatusCode::OK
        );
        let click = f
            .get(&format!("/t/l/{}", f.sign(TokenKind::Click(link.id), true)))
            .await;
        assert!(
            click.status().is_redirection() || click.status().is_success(),
            "{}",
            click.status()
        );
        let form = f
            .post(
                &format!("/f/{}", f.sign(TokenKind::Form, true)),
                "application/x-www-form-urlencoded",
                "comment=replayed",
            )
            .await;
        assert!(!form.status().is_server_error(), "{}", form.status());
        let one_click = f
            .post(
                &format!("/u/{}", f.sign(TokenKind::Unsubscribe, true)),
                "application/x-www-form-urlencoded",
                "List-Unsubscribe=One-Click",
            )
            .await;
        assert!(!one_click.status().is_server_error(), "{}", one_click.status());
    }
    f.assert_nothing_recorded("foreign, wrong-kind and preview tokens")
        .await;
    let suppressed =
        f.h.store
            .suppressed(f.h.account.id, &["anna@example.com".to_owned()])
            .await
            .expect("suppressed");
    assert!(suppressed.is_empty(), "a preview unsubscribed: {suppressed:?}");
}

#[tokio::test]
async fn the_link_route_redirects_only_to_the_links_own_http_target() {
    let f = host().await;
    // A valid token whose link's target is hostile: no redirect to it.
    for target in [
        "javascript:alert(1)",
        "//evil.example/",
        "data:text/html,<script>alert(1)</script>",
        "https://ok.example/\r\nSet-Cookie: a=b",
        "vbscript:msgbox(1)",
        " https://evil.example/",
    ] {
        let mut link = sample_link(f.h.account.id);
        link.redirect = Some(target.into());
        link.once = false;
        let link = f.h.store.insert(link).await.expect("link");
        let response = f
            .get(&format!("/t/l/{}", f.sign(TokenKind::Click(link.id), true)))
            .await;
        let location = response
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        assert_eq!(location, None, "{target:?} redirected");
        assert!(response.headers().get(header::SET_COOKIE).is_none());
    }
    // The attacker's URL in the query, the path or instead of the token: never followed.
    let good = f.sign(TokenKind::Click(sample_link_id(&f).await), true);
    for path in [
        format!("/t/l/{good}?url=https://evil.example/"),
        format!("/t/l/{good}?redirect=https%3A%2F%2Fevil.example%2F"),
        format!("/t/l/{good}/https://evil.example/"),
        format!("/t/l/{good}%2F..%2F..%2Fevil.example"),
        "/t/l/https:%2F%2Fevil.example".into(),
        "/t/l//evil.example".into(),
        "/t/l/%2F%2Fevil.example".into(),
    ] {
        let response = f.get(&path).await;
        if let Some(location) = response.headers().get(header::LOCATION) {
            let location = location.to_str().expect("ascii");
            assert_eq!(location, "https://example.com/offer.pdf", "{path} went to {location}");
        }
    }
    f.assert_nothing_recorded("previewed clicks").await;
}

async fn sample_link_id(f: &Host) -> TriggerLinkId {
    f.h.store.insert(sample_link(f.h.account.id)).await.expect("link").id
}

#[tokio::test]
async fn link_attachments_cannot_reach_private_addresses_in_any_spelling() {
    let fetcher = HttpFetcher::new().expect("fetcher");
    let urls = [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://127.0.1/",
        "http://0/",
        "http://0.0.0.0/",
        "http://localhost/",
        "http://LOCALHOST/",
        "http://127.0.0.1.:80/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://0xa9fea9fe/",
        "http://10.0.0.1/",
        "http://012.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[0:0:0:0:0:0:0:1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:10.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::127.0.0.1]/",
        "http://[2002:7f00:1::]/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[fd00:ec2::254]/",
        "https://127.0.0.1:8443/",
        "http://user:pass@127.0.0.1/",
        "http://example.com@127.0.0.1/",
    ];
    for url in urls {
        let err = fetcher.fetch(url, 1_000).await.expect_err(url);
        assert!(matches!(err, FetchError::PrivateAddress(_)), "{url}: {err:?}");
    }
    for url in [
        "file:///etc/passwd",
        "gopher://127.0.0.1:25/",
        "dict://127.0.0.1:11211/",
        "ftp://127.0.0.1/",
    ] {
        let err = fetcher.fetch(url, 1_000).await.expect_err(url);
        assert!(matches!(err, FetchError::InvalidUrl(_)), "{url}: {err:?}");
    }
    eprintln!("hostile: {} private and {} scheme URLs refused", urls.len(), 4);
}

#[tokio::test]
async fn hostile_crm_values_are_inert_in_the_email_its_web_version_and_a_page() {
    for (n, value) in HOSTILE.iter().enumerate() {
        let f = host().await;
        let h = &f.h;
        let account = h.account.id;
        let w = h.world.clone();
        for entity in [w.lead, w.anna, w.company] {
            let mut e = h.crm.current(account, entity).expect("entity");
            e.name = format!("{value} {n}");
            e.tags = vec![(*value).to_owned()];
            e.phones = vec![(*value).to_owned()];
            e.fields.push(FieldEntry {
                id: w.comment,
                name: "Comment".into(),
                values: vec![(*value).to_owned()],
            });
            h.crm.put_entity(account, e);
        }
        h.crm.put_user(
            account,
            CrmUser {
                id: w.manager,
                name: (*value).to_owned(),
                email: Some("m@example.com".into()),
            },
        );
        let markup = format!(
            "<p title=\"{{{{ lead.name }}}}\" class='{{{{ contact.name }}}}'>{{{{ lead.name }}}} {{{{ contact.name }}}} \
             {{{{ company.name }}}} {{{{ user.name }}}} {{{{ lead.tags | join: ', ' }}}} {{{{ contact.phone }}}} \
             {{{{ lead.cf.{c} }}}} {{{{ lead.fields[\"Comment\"] }}}} {{{{ lead.name | upcase }}}}</p>\
             <a href=\"{{{{ lead.cf.{c} }}}}\">x</a><img src=\"{{{{ lead.cf.{c} }}}}\">",
            c = w.comment.0
        );
        let mut page = sample_page(account);
        page.content.body = MailBody::Html(markup.clone());
        page.subdomain = None;
        let page = h.store.insert(page).await.expect("page");
        let body = format!(
            "{markup}<a href=\"{{weblink}}\">web</a><a href=\"{{web:{}}}\">page</a>",
            page.id.0
        );
        let template = h
            .engine
            .save_template(
                h.admin.id,
                Template {
                    id: TemplateId(0),
                    account,
                    name: "Offer".into(),
                    recipients: RecipientRule::EntityContacts,
                    content: Content {
                        subject: "Offer for {{ lead.name }}".into(),
                        body: MailBody::Html(body),
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
            account,
            sender: h.admin.id,
            mailbox: h.mailbox.id,
            template: template.id,
            name: "Offer".into(),
        };
        h.engine.start_mailing(&request, vec![w.lead]).await.expect("mailing");
        assert!(h.engine.worker_step().await.expect("step").sent >= 1);
        let sent = h.transport.sent();
        let html = &sent[0].message.html;
        assert_inert("the email", html);
        assert!(!sent[0].message.subject.contains('\n'));
        let web = token_in(html, "/w/").expect("web link");
        let response = f.get(&format!("/w/{web}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_inert("the web version", &text(response).await);
        let page_token = token_in(html, "/p/").expect("page link");
        let response = f.get(&format!("/p/{page_token}")).await;
        assert_eq!(response.status(), StatusCode::OK, "page");
        assert_inert("the public page", &text(response).await);
    }
}

#[tokio::test]
async fn oversized_bodies_and_paths_are_refused_and_record_nothing() {
    let f = host_with(HttpConfig {
        body_limit: 4096,
        ..HttpConfig::default()
    })
    .await;
    let form = format!("/f/{}", f.sign(TokenKind::Form, false));
    let big = format!("comment={}", "x".repeat(64 * 1024));
    for (path, content_type, body) in [
        (
            form.clone(),
            "application/x-www-form-urlencoded",
            big.clone().into_bytes(),
        ),
        (form.clone(), "multipart/form-data; boundary=XyZ", {
            let mut b = b"--XyZ\r\nContent-Disposition: form-data; name=\"comment\"\r\n\r\n".to_vec();
            b.extend(std::iter::repeat_n(b'x', 64 * 1024));
            b.extend(b"\r\n--XyZ--\r\n");
            b
        }),
        (
            format!("/u/{}", f.sign(TokenKind::Unsubscribe, false)),
            "application/x-www-form-urlencoded",
            format!("List-Unsubscribe=One-Click&pad={}", "x".repeat(64 * 1024)).into_bytes(),
        ),
    ] {
        let response = f.post(&path, content_type, body).await;
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{path} {content_type}"
        );
    }
    // Many small answers under the body limit of a roomier host: the engine's caps refuse them.
    let roomy = host_with(HttpConfig {
        body_limit: 4 << 20,
        ..HttpConfig::default()
    })
    .await;
    let many: String = (0..5_000).map(|i| format!("f{i}=v&")).collect();
    let response = roomy
        .post(
            &format!("/f/{}", roomy.sign(TokenKind::Form, false)),
            "application/x-www-form-urlencoded",
            many,
        )
        .await;
    assert!(response.status().is_client_error(), "{}", response.status());
    roomy.assert_nothing_recorded("5,000 answers").await;
    // A path of 16 KiB.
    let response = f.get(&format!("/t/l/{}", "A".repeat(16 * 1024))).await;
    assert!(response.status().is_client_error(), "{}", response.status());
    f.assert_nothing_recorded("oversized input").await;
}

/// HMAC over a hash whose block is `block_size` bytes (64 for SHA-256, 128 for SHA-512).
fn hmac<D: Digest>(block_size: usize, key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = vec![0u8; block_size];
    if key.len() > block_size {
        let digest = D::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = D::new().chain_update(pad(0x36)).chain_update(message).finalize();
    D::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

fn jwt(header: &str, claims: &str, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sign(signed.as_bytes())))
}

#[test]
fn forged_kommo_jwts_and_salesbot_requests_are_refused() {
    const SECRET: &[u8] = b"integration-secret-key";
    const NOW: i64 = 1_750_000_000;
    let hs256 = |m: &[u8]| hmac::<Sha256>(64, SECRET, m);
    let claims = r#"{"account_id":7,"subdomain":"acme","exp":1750000600,"iat":1750000000}"#;
    let good = jwt(r#"{"alg":"HS256","typ":"JWT"}"#, claims, hs256);
    assert!(verify_hs(&good, SECRET, NOW).is_ok(), "the control token must verify");
    let good_512 = jwt(r#"{"alg":"HS512"}"#, claims, |m| hmac::<Sha512>(128, SECRET, m));
    assert!(verify_hs(&good_512, SECRET, NOW).is_ok());
    let parts: Vec<&str> = good.split('.').collect();
    let forged: Vec<(&str, String)> = vec![
        (
            "another secret",
            jwt(r#"{"alg":"HS256"}"#, claims, |m| hmac::<Sha256>(64, b"guessed", m)),
        ),
        (
            "empty secret",
            jwt(r#"{"alg":"HS256"}"#, claims, |m| hmac::<Sha256>(64, b"", m)),
        ),
        ("alg none", jwt(r#"{"alg":"none"}"#, claims, |_| Vec::new())),
        ("alg None", jwt(r#"{"alg":"None"}"#, claims, |_| Vec::new())),
        ("alg nOnE signed", jwt(r#"{"alg":"nOnE"}"#, claims, hs256)),
        ("alg hs256 lower case", jwt(r#"{"alg":"hs256"}"#, claims, hs256)),
        (
            "alg RS256 signed with the secret",
            jwt(r#"{"alg":"RS256"}"#, claims, hs256),
        ),
        ("alg HS384", jwt(r#"{"alg":"HS384"}"#, claims, hs256)),
        ("no alg", jwt(r#"{"typ":"JWT"}"#, claims, hs256)),
        ("alg as a list", jwt(r#"{"alg":["HS256"]}"#, claims, hs256)),
        (
            "expired",
            jwt(r#"{"alg":"HS256"}"#, r#"{"account_id":7,"exp":1749999999}"#, hs256),
        ),
        ("no exp", jwt(r#"{"alg":"HS256"}"#, r#"{"account_id":7}"#, hs256)),
        (
            "exp as text",
            jwt(r#"{"alg":"HS256"}"#, r#"{"account_id":7,"exp":"9999999999"}"#, hs256),
        ),
        (
            "exp null",
            jwt(r#"{"alg":"HS256"}"#, r#"{"account_id":7,"exp":null}"#, hs256),
        ),
        (
            "nbf ahead",
            jwt(
                r#"{"alg":"HS256"}"#,
                r#"{"account_id":7,"exp":1750009999,"nbf":1750001000}"#,
                hs256,
            ),
        ),
        ("claims not an object", jwt(r#"{"alg":"HS256"}"#, "[1,2]", hs256)),
        ("claims not JSON", jwt(r#"{"alg":"HS256"}"#, "account_id=7", hs256)),
        ("header not JSON", jwt("HS256", claims, hs256)),
        ("swapped claims", {
            let other = URL_SAFE_NO_PAD.encode(r#"{"account_id":8,"exp":1750000600}"#);
            format!("{}.{other}.{}", parts[0], parts[2])
        }),
        ("no signature", format!("{}.{}.", parts[0], parts[1])),
        ("two parts", format!("{}.{}", parts[0], parts[1])),
        ("four parts", format!("{good}.{}", parts[2])),
        ("truncated signature", good[..good.len() - 3].to_owned()),
        ("signature not base64", format!("{}.{}.!!!!", parts[0], parts[1])),
        ("empty", String::new()),
        ("dots", "..".into()),
        ("huge", format!("{}.{}.{}", "A".repeat(100_000), parts[1], parts[2])),
    ];
    for (what, token) in &forged {
        assert!(verify_hs(token, SECRET, NOW).is_err(), "{what} verified: {token}");
        let request = serde_json::json!({
            "token": token,
            "data": {"lead": 1},
            "return_url": "https://acme.kommo.com/api/v4/salesbot/1/continue/2",
        });
        let body = serde_json::to_vec(&request).expect("json");
        let secret = Secret::new(String::from_utf8_lossy(SECRET).into_owned());
        assert!(
            parse_widget_request(&body, &secret, NOW).is_err(),
            "{what}: a forged Salesbot request"
        );
    }
    assert_eq!(
        verify_hs(&forged[0].1, SECRET, NOW),
        Err(TokenError::Signature),
        "a wrong secret is a signature error"
    );
    // A valid token under the secret of another integration is refused by the Salesbot parser too.
    let request = serde_json::json!({"token": good, "data": {}, "return_url": "https://acme.kommo.com/x"});
    let body = serde_json::to_vec(&request).expect("json");
    assert!(parse_widget_request(&body, &Secret::new("another-integration"), NOW).is_err());
    eprintln!("hostile: {} forged JWTs refused", forged.len());
}

#[tokio::test]
async fn a_link_attachment_that_redirects_to_a_private_address_is_refused() {
    use axum::response::Redirect;
    use axum::routing::get;
    let app = Router::new()
        .route("/ok.pdf", get(|| async { b"%PDF-1.7".to_vec() }))
        .route(
            "/to-metadata",
            get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/to-mapped",
            get(|| async { Redirect::temporary("http://[::ffff:127.0.0.1]:9/") }),
        )
        .route(
            "/to-decimal",
            get(|| async { Redirect::temporary("http://2130706433:9/") }),
        )
        .route(
            "/to-loopback-port",
            get(|| async { Redirect::temporary("http://127.0.0.1:9/") }),
        )
        .route("/to-file", get(|| async { Redirect::temporary("file:///etc/passwd") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    // This one server (and only it) counts as public, as a CDN on the internet would.
    let fetcher = HttpFetcher::new().expect("fetcher").allow_only_for_tests(addr);
    let ok = fetcher
        .fetch(&format!("http://{addr}/ok.pdf"), 1_000)
        .await
        .expect("the control fetch");
    assert_eq!(ok.bytes, b"%PDF-1.7");
    for path in ["/to-metadata", "/to-mapped", "/to-decimal", "/to-loopback-port"] {
        let err = fetcher
            .fetch(&format!("http://{addr}{path}"), 1_000)
            .await
            .expect_err(path);
        assert!(matches!(err, FetchError::PrivateAddress(_)), "{path}: {err:?}");
    }
    let err = fetcher
        .fetch(&format!("http://{addr}/to-file"), 1_000)
        .await
        .expect_err("file");
    assert!(matches!(err, FetchError::InvalidUrl(_)), "{err:?}");
}
