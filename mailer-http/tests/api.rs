//! The admin API through the router (`tower::ServiceExt::oneshot`) over the in-memory harness: per resource
//! the happy path, a validation error with its field path, a member's forbidden edit (403), a read from
//! another account (404), a revoked token (401); the OpenAPI document against the routes; and the manual's
//! "Widget setup example" done through the API alone.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use mailer_core::engine::{Engine, EngineConfig};
use mailer_core::model::{
    AccountId, Action, Assignee, Deadline, EmailTriggers, Entity, EntityKind, EntityRef, NewAccount, NotOpened,
    PipelineRule, Role, Secret, SendingLimits, StageEvent, Template, Timezone, Trigger, TriggerLink, User, UserId,
};
use mailer_core::ports::{Store, StoreExt};
use mailer_core::testkit::Harness;
use mailer_core::testkit::fixture::{sample_mailbox, sample_page, sample_template, sample_trigger, sample_user};
use mailer_http::{AppState, HttpConfig, app};
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Fx {
    h: Arc<Harness>,
    router: Router,
    admin: String,
    member: String,
    member_id: UserId,
    other: String,
}

async fn token(h: &Harness, account: AccountId, user: UserId, seed: u8) -> String {
    h.engine
        .create_api_token(account, user, user, "test", [seed; 32])
        .await
        .expect("token")
        .1
}

async fn fixture() -> Fx {
    let mut config = EngineConfig::default();
    config
        .signing_keys
        .insert("k2".into(), Secret::new("another-accounts-signing-key-42"));
    let h = Harness::with(config, SendingLimits::default()).await;
    let mut member = sample_user(h.account.id);
    member.name = "Anna Member".into();
    member.role = Role::Member;
    let member = h.store.insert(member).await.expect("member");
    let second = h
        .store
        .create_account(NewAccount {
            name: "other".into(),
            timezone: Timezone::UTC,
            signing_key_ref: "k2".into(),
        })
        .await
        .expect("account");
    let other_admin = h.store.insert(sample_user(second.id)).await.expect("other admin");
    let admin = token(&h, h.account.id, h.admin.id, 1).await;
    let member_token = token(&h, h.account.id, member.id, 2).await;
    let other = token(&h, second.id, other_admin.id, 3).await;
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let router = app(AppState::new(engine, HttpConfig::default()));
    Fx {
        h: Arc::new(h),
        router,
        admin,
        member: member_token,
        member_id: member.id,
        other,
    }
}

impl Fx {
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, text) = self.raw(method, path, token, body).await;
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut req = Request::builder().method(method).uri(format!("/api/v1{path}"));
        if !token.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let response = self.router.clone().oneshot(req).await.expect("response");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        (status, headers, String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// A multipart body with one part `field` holding `bytes` as file `name` of type `content_type`.
fn multipart(field: &str, name: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "mailer-test-boundary-7d3f";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

impl Fx {
    async fn upload(&self, query: &str, token: &str, (content_type, body): (String, Vec<u8>)) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/files{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        let response = self.router.clone().oneshot(req).await.expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1024 * 1024)
            .await
            .expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

#[tokio::test]
async fn files_are_uploaded_as_multipart_and_refused_over_their_limit_before_storing() {
    let fx = fixture().await;
    // A member uploads an attachment for a template; the answer is the reference a template carries.
    let (status, file) = fx
        .upload(
            "",
            &fx.member,
            multipart("file", "price list.txt", "text/plain; charset=utf-8", b"apples 3"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    assert_eq!(
        (
            &file["source"],
            &file["name"],
            &file["content_type"],
            &file["size"],
            &file["kind"]
        ),
        (
            &json!("stored"),
            &json!("price list.txt"),
            &json!("text/plain"),
            &json!(8),
            &json!("attachment")
        )
    );
    let id = file["file"].as_i64().expect("file id");
    let stored =
        fx.h.store
            .get_file(fx.h.account.id, mailer_core::model::FileId(id))
            .await
            .expect("stored");
    assert_eq!(stored.file.bytes, b"apples 3");
    // A template of the member carries it; another account cannot name it.
    let mut sample = sample_template(fx.h.account.id, fx.member_id);
    sample.content.body = mailer_core::model::Body::Html("<p>Prices attached.</p>".into());
    let mut template = body_of(&sample);
    template["attachments"] = json!([file]);
    let (status, saved) = fx
        .call(Method::POST, "/templates", &fx.member, Some(template.clone()))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["attachments"][0]["file"], json!(id));
    template.as_object_mut().expect("object").remove("owner");
    let (status, problem) = fx.call(Method::POST, "/templates", &fx.other, Some(template)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    // An inline image over 5 MB is refused with the limit, and so is one that is not an image.
    let big = vec![0u8; 5 * 1024 * 1024 + 1];
    let (status, problem) = fx
        .upload(
            "?kind=inline_image",
            &fx.admin,
            multipart("file", "logo.png", "image/png", &big),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("over the limit of 5242880 bytes"),
        "{problem}"
    );
    let (status, problem) = fx
        .upload(
            "?kind=inline_image",
            &fx.admin,
            multipart("file", "offer.pdf", "application/pdf", b"%PDF"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(
        problem["errors"][0]["pointer"],
        json!("/body/content_type"),
        "{problem}"
    );
    // The same 5 MB file is a fine attachment of an email written by hand.
    let (status, file) = fx
        .upload(
            "?kind=attachment&use=email",
            &fx.admin,
            multipart("file", "scan.bin", "application/octet-stream", &big),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{file}");
    // No part named `file`, an unknown kind, no token.
    let (status, problem) = fx
        .upload("", &fx.admin, multipart("other", "a.txt", "text/plain", b"x"))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["pointer"], json!("/body/file"), "{problem}");
    let (status, _) = fx
        .upload("?kind=movie", &fx.admin, multipart("file", "a.txt", "text/plain", b"x"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = fx.upload("", "", multipart("file", "a.txt", "text/plain", b"x")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A record's JSON as a request body: without the server's `id` and `account`.
fn body_of<T: serde::Serialize>(record: &T) -> Value {
    let mut v = serde_json::to_value(record).expect("json");
    let map = v.as_object_mut().expect("object");
    map.remove("id");
    map.remove("account");
    v
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_i64().unwrap_or_else(|| panic!("no id in {v}"))
}

fn assert_problem(v: &Value, kind: &str, pointer: Option<&str>) {
    assert_eq!(v["type"], format!("https://mailer.dev/problems/{kind}"), "{v}");
    if let Some(p) = pointer {
        assert_eq!(v["errors"][0]["pointer"], p, "{v}");
    }
}

/// One resource's five checks: create (201) and read back, a validation error with its pointer, a
/// member's forbidden create or edit (403), another account's read (404).
async fn resource(fx: &Fx, path: &str, valid: Value, invalid: Value, pointer: &str, member_edit: Method) -> i64 {
    let (status, created) = fx.call(Method::POST, path, &fx.admin, Some(valid.clone())).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {created}");
    let id = id_of(&created);
    let (status, read) = fx.call(Method::GET, &format!("{path}/{id}"), &fx.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {read}");
    assert_eq!(id_of(&read), id);
    let (status, list) = fx.call(Method::GET, &format!("{path}?limit=1"), &fx.admin, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {list}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");

    let (status, problem) = fx.call(Method::POST, path, &fx.admin, Some(invalid)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
    assert_problem(&problem, "validation", Some(pointer));

    let mut unknown = valid.clone();
    unknown["colour"] = json!("red");
    let (status, problem) = fx.call(Method::POST, path, &fx.admin, Some(unknown)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {problem}");
    assert_problem(&problem, "validation", Some("/body/colour"));

    let target = if member_edit == Method::PUT {
        format!("{path}/{id}")
    } else {
        path.to_owned()
    };
    let (status, problem) = fx.call(member_edit, &target, &fx.member, Some(valid)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {problem}");
    assert_problem(&problem, "forbidden", None);

    let (status, problem) = fx.call(Method::GET, &format!("{path}/{id}"), &fx.other, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "{path}: another account's record was readable: {problem}"
    );
    assert_problem(&problem, "not-found", None);
    id
}

#[tokio::test]
async fn mailboxes_never_return_the_password_and_are_scoped() {
    let fx = fixture().await;
    let mut valid = body_of(&sample_mailbox(
        fx.h.account.id,
        fx.h.admin.id,
        SendingLimits::default(),
    ));
    valid["password"] = json!("s3cret-password");
    let mut invalid = valid.clone();
    invalid["smtp"]["port"] = json!("twenty-five");
    let id = resource(
        &fx,
        "/mailboxes",
        valid.clone(),
        invalid,
        "/body/smtp/port",
        Method::PUT,
    )
    .await;
    let (_, read) = fx.call(Method::GET, &format!("/mailboxes/{id}"), &fx.admin, None).await;
    assert_eq!(read["has_password"], true);
    assert!(!read.to_string().contains("s3cret-password"), "{read}");
    let (status, checked) = fx
        .call(Method::POST, &format!("/mailboxes/{id}/check"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{checked}");
    assert!(checked["health"]["status"].is_string(), "{checked}");
    let (status, queue) = fx
        .call(Method::GET, &format!("/mailboxes/{id}/queue"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{queue}");
    let (status, _) = fx
        .call(Method::GET, &format!("/mailboxes/{id}/queue"), &fx.other, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, counts) = fx
        .call(Method::GET, &format!("/mailboxes/{id}/reactions"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{counts}");
    assert_eq!(
        counts,
        json!({"hard_bounces": 0, "soft_bounces": 0, "replies": 0, "auto_replies": 0})
    );
    let (status, _) = fx
        .call(Method::GET, &format!("/mailboxes/{id}/reactions"), &fx.other, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn templates_validate_with_line_and_column_and_preview_for_an_entity() {
    let fx = fixture().await;
    let mut t = sample_template(fx.h.account.id, fx.h.admin.id);
    t.content.body = mailer_core::model::Body::Html("<p>Hello {{ contact.name }}</p>".into());
    let valid = body_of(&t);
    let mut invalid = valid.clone();
    invalid["content"]["body"]["source"] = json!("<p>a</p>\n<p>b</p>\n<p>{{ lead.name | upcase2 }}</p>");
    let id = resource(
        &fx,
        "/templates",
        valid.clone(),
        invalid.clone(),
        "/body/content/body",
        Method::PUT,
    )
    .await;
    let (_, problem) = fx.call(Method::POST, "/templates", &fx.admin, Some(invalid)).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("/body/content/body: line 3, column 19: unknown filter `upcase2`"),
        "{detail}"
    );
    let mut unknown_link = valid;
    unknown_link["content"]["body"]["source"] = json!("<p>a</p>\n<p>b</p>\n<p><a href=\"{triggerlink:999}\">x</a></p>");
    let (_, problem) = fx.call(Method::POST, "/templates", &fx.admin, Some(unknown_link)).await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("/body/content/body: line 3, column 13: unknown trigger link {triggerlink:999}"),
        "{detail}"
    );
    let (status, preview) = fx
        .call(
            Method::POST,
            &format!("/templates/{id}/preview"),
            &fx.admin,
            Some(json!({"entity": fx.h.world.lead})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    assert!(
        preview["html"].as_str().unwrap_or_default().contains("Hello"),
        "{preview}"
    );
    // A member does not see the admin's private template: 404, as if it did not exist.
    let (status, _) = fx
        .call(Method::GET, &format!("/templates/{id}"), &fx.member, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn triggers_links_pages_and_rules_are_admin_settings() {
    let fx = fixture().await;
    let trigger = body_of(&sample_trigger(fx.h.account.id));
    let mut bad = trigger.clone();
    bad["name"] = json!(" ");
    let trigger_id = resource(&fx, "/triggers", trigger, bad, "/body/name", Method::POST).await;

    let link = json!({"name": "Link to the offer", "once": true, "redirect": "https://example.com/offer.pdf",
                      "triggers": [trigger_id]});
    let mut bad = link.clone();
    bad["redirect"] = json!("ftp://example.com/x");
    let link_id = resource(&fx, "/trigger-links", link, bad, "/body/redirect", Method::POST).await;
    let (_, read) = fx
        .call(Method::GET, &format!("/trigger-links/{link_id}"), &fx.member, None)
        .await;
    assert_eq!(read["variable"], format!("{{triggerlink:{link_id}}}"), "{read}");

    let page = body_of(&sample_page(fx.h.account.id));
    let mut bad = page.clone();
    bad["slug"] = json!("not a slug");
    let page_id = resource(&fx, "/pages", page, bad, "/body/slug", Method::POST).await;
    let (_, read) = fx
        .call(Method::GET, &format!("/pages/{page_id}"), &fx.admin, None)
        .await;
    assert_eq!(read["mask"], format!("{{web:{page_id}}}"), "{read}");

    let rule = body_of(&mailer_core::testkit::fixture::sample_rule(
        fx.h.account.id,
        mailer_core::model::TemplateId(0),
        fx.h.mailbox.id,
    ));
    let (status, t) = fx
        .call(
            Method::POST,
            "/templates",
            &fx.admin,
            Some(json!({"name": "Plain", "content": {"subject": "Hi", "body": {"format": "html", "source": "<p>Hi</p>"}, "text": null}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{t}");
    let mut rule = rule;
    rule["template"] = json!(id_of(&t));
    let mut bad = rule.clone();
    bad["mailbox"] = json!(999_999);
    let (status, problem) = fx
        .call(Method::POST, "/pipeline-rules", &fx.admin, Some(bad.clone()))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_problem(&problem, "unknown-reference", Some("/body/mailbox"));
    bad["delay"] = json!("soon");
    resource(&fx, "/pipeline-rules", rule, bad, "/body/delay", Method::POST).await;
}

#[tokio::test]
async fn tokens_are_revocable_and_users_are_for_admins() {
    let fx = fixture().await;
    let (status, me) = fx
        .call(Method::GET, &format!("/users/{}", fx.member_id), &fx.member, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    let (status, _) = fx.call(Method::GET, "/users", &fx.member, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, problem) = fx
        .call(
            Method::POST,
            "/users",
            &fx.member,
            Some(json!({"name": "Eve", "role": "admin"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, created) = fx
        .call(
            Method::POST,
            "/users",
            &fx.admin,
            Some(json!({"name": "Boris", "role": "member"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, problem) = fx
        .call(
            Method::POST,
            "/users",
            &fx.admin,
            Some(json!({"name": "Boris", "role": "owner"})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_problem(&problem, "validation", Some("/body/role"));
    let (status, _) = fx
        .call(Method::GET, &format!("/users/{}", id_of(&created)), &fx.other, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A new token works until it is revoked; the list never shows secrets.
    let (status, made) = fx
        .call(Method::POST, "/tokens", &fx.member, Some(json!({"name": "ci"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().expect("token").to_owned();
    assert_eq!(fx.call(Method::GET, "/templates", &token, None).await.0, StatusCode::OK);
    let (_, list) = fx.call(Method::GET, "/tokens", &fx.admin, None).await;
    assert!(
        !list.to_string().contains(&token) && !list.to_string().contains("hash"),
        "{list}"
    );
    let (status, _) = fx
        .call(Method::DELETE, &format!("/tokens/{}", id_of(&made)), &fx.other, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another account revoked a token");
    let (status, _) = fx
        .call(Method::DELETE, &format!("/tokens/{}", id_of(&made)), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/templates", "/mailboxes", "/triggers", "/history", "/tokens"] {
        let (status, problem) = fx.call(Method::GET, path, &token, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: a revoked token was accepted");
        assert_problem(&problem, "unauthorized", None);
    }
    let (status, _) = fx.call(Method::GET, "/templates", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = fx.call(Method::GET, "/templates", "mk_1_1_forged", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bodies_are_limited_and_must_be_json() {
    let fx = fixture().await;
    let (status, h, _) = fx
        .raw(
            Method::POST,
            "/triggers",
            &fx.admin,
            Some(json!({"name": "x".repeat(3 * 1024 * 1024)})),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
    let (status, problem) = fx.call(Method::GET, "/triggers?cursor=x", &fx.admin, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_problem(&problem, "validation", Some("/query/cursor"));
    let (status, problem) = fx.call(Method::GET, "/nothing-here", &fx.admin, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
}

#[tokio::test]
async fn every_route_is_in_the_openapi_document_and_every_documented_route_answers() {
    let fx = fixture().await;
    let (status, doc) = fx.call(Method::GET, "/openapi.json", "", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.1")),
        Some(true),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    let mut expected = vec![
        ("get", "/mailboxes"),
        ("post", "/mailboxes"),
        ("get", "/mailboxes/{id}"),
        ("put", "/mailboxes/{id}"),
        ("delete", "/mailboxes/{id}"),
        ("post", "/mailboxes/{id}/check"),
        ("get", "/mailboxes/{id}/queue"),
        ("get", "/mailboxes/{id}/reactions"),
        ("get", "/templates"),
        ("post", "/templates"),
        ("get", "/templates/{id}"),
        ("put", "/templates/{id}"),
        ("delete", "/templates/{id}"),
        ("post", "/templates/{id}/preview"),
        ("post", "/templates/from-draft"),
        ("post", "/files"),
        ("get", "/triggers"),
        ("post", "/triggers"),
        ("get", "/triggers/{id}"),
        ("put", "/triggers/{id}"),
        ("delete", "/triggers/{id}"),
        ("get", "/trigger-links"),
        ("post", "/trigger-links"),
        ("get", "/trigger-links/{id}"),
        ("put", "/trigger-links/{id}"),
        ("delete", "/trigger-links/{id}"),
        ("get", "/pages"),
        ("post", "/pages"),
        ("get", "/pages/{id}"),
        ("put", "/pages/{id}"),
        ("delete", "/pages/{id}"),
        ("get", "/pipeline-rules"),
        ("post", "/pipeline-rules"),
        ("get", "/pipeline-rules/{id}"),
        ("put", "/pipeline-rules/{id}"),
        ("delete", "/pipeline-rules/{id}"),
        ("post", "/send"),
        ("get", "/mailings"),
        ("post", "/mailings"),
        ("get", "/mailings/{id}"),
        ("post", "/mailings/{id}/pause"),
        ("post", "/mailings/{id}/resume"),
        ("post", "/mailings/{id}/cancel"),
        ("get", "/mailings/{id}/events"),
        ("get", "/history"),
        ("get", "/history/{id}"),
        ("get", "/suppression"),
        ("delete", "/suppression/{address}"),
        ("get", "/users"),
        ("post", "/users"),
        ("get", "/users/{id}"),
        ("put", "/users/{id}"),
        ("delete", "/users/{id}"),
        ("get", "/tokens"),
        ("post", "/tokens"),
        ("delete", "/tokens/{id}"),
        ("get", "/openapi.json"),
    ];
    if cfg!(feature = "kommo") {
        expected.push(("get", "/crm-link"));
    }
    let mut documented = Vec::new();
    for (path, item) in paths {
        for method in ["get", "post", "put", "delete", "patch"] {
            if item.get(method).is_some() {
                documented.push((method.to_owned(), path.clone()));
            }
        }
    }
    for &(method, path) in &expected {
        assert!(
            documented.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is missing from the document"
        );
    }
    let extra: Vec<_> = documented
        .iter()
        .filter(|(m, p)| !expected.contains(&(m.as_str(), p.as_str())))
        .collect();
    assert!(
        extra.is_empty(),
        "documented routes missing from the test's list: {extra:?}"
    );
    // Every body is typed: each request body and each answer's content has a real schema, not a bare object.
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let at = format!("{method} {path}");
            if let Some(body) = op.get("requestBody") {
                assert_typed_content(&doc, &body["content"], &format!("{at} request"));
            }
            for (status, response) in op["responses"].as_object().expect("responses") {
                match response.get("content") {
                    Some(content) => assert_typed_content(&doc, content, &format!("{at} {status}")),
                    None => assert_eq!(status, "204", "{at} answers {status} without a body schema"),
                }
            }
        }
    }
    // Every documented route is routed: without a token it answers 401 (or the document), never 404/405.
    for (method, path) in &documented {
        let concrete = path.replace("{id}", "1").replace("{address}", "a@example.com");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (status, _, _) = fx.raw(m, &concrete, "", None).await;
        let expect = if path == "/openapi.json" {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expect, "{method} {path} is documented but not routed");
    }
}

/// Each media type of `content` has a schema that says what is in it (see [`assert_typed`]).
fn assert_typed_content(doc: &Value, content: &Value, at: &str) {
    let content = content.as_object().expect("content");
    assert!(!content.is_empty(), "{at}: no media type");
    for (media, c) in content {
        assert_typed(doc, &c["schema"], &format!("{at} {media}"));
    }
}

/// A schema is typed unless it is, after its `$ref`, an object that names no field: `{}`, `{"type": "object"}`
/// (what `body = Object` gives). Arrays and compositions are typed when their parts are.
fn assert_typed(doc: &Value, schema: &Value, at: &str) {
    let schema = match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().expect("ref");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    assert!(schema.is_object(), "{at}: no schema ({schema})");
    if let Some(items) = schema.get("items") {
        return assert_typed(doc, items, &format!("{at} items"));
    }
    for composition in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema[composition].as_array() {
            for part in parts {
                if part.get("type").and_then(Value::as_str) != Some("null") {
                    assert_typed(doc, part, &format!("{at} {composition}"));
                }
            }
            return;
        }
    }
    let kind = &schema["type"];
    let object = kind.is_null() || kind == "object" || kind.as_array().is_some_and(|k| k.contains(&json!("object")));
    if object {
        let named = schema["properties"].as_object().is_some_and(|p| !p.is_empty())
            || schema["additionalProperties"].is_object();
        assert!(named, "{at}: an untyped object ({schema})");
    }
}

fn trigger(name: &str, action: Action) -> Trigger {
    Trigger {
        id: mailer_core::model::TriggerId(0),
        account: AccountId(0),
        name: name.into(),
        action,
        delay: Duration::ZERO,
    }
}

/// The manual's "Widget setup example", through the API alone.
#[tokio::test]
async fn the_widget_setup_example_through_the_api() {
    let fx = fixture().await;
    let (h, w) = (&fx.h, &fx.h.world);
    let post = |path: &'static str, body: Value| {
        let fx = &fx;
        async move {
            let (status, v) = fx.call(Method::POST, path, &fx.admin, Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{path}: {v}");
            v
        }
    };
    let change = |stage| Action::ChangeStage {
        pipeline: w.pipeline,
        stage,
    };
    let offer_sent = post(
        "/triggers",
        body_of(&trigger("Change stage to Offer sent", change(w.stages[1]))),
    )
    .await;
    let task = post(
        "/triggers",
        body_of(&trigger(
            "Set task",
            Action::SetTask {
                task_type: 1,
                deadline: Deadline::EndOfDay,
                assignee: Assignee::Responsible,
                text: "Call the client that has opened the offer".into(),
            },
        )),
    )
    .await;
    let familiar = post(
        "/triggers",
        body_of(&trigger("Change stage to Familiar with the offer", change(w.stages[2]))),
    )
    .await;
    let link = post(
        "/trigger-links",
        body_of(&TriggerLink {
            id: mailer_core::model::TriggerLinkId(0),
            account: AccountId(0),
            name: "Link to the offer".into(),
            once: true,
            redirect: Some("https://example.com/offer.pdf".into()),
            triggers: vec![mailer_core::model::TriggerId(id_of(&familiar))],
        }),
    )
    .await;
    let variable = link["variable"].as_str().expect("variable").to_owned();
    let mut offer: Template = sample_template(h.account.id, h.admin.id);
    offer.content.body = mailer_core::model::Body::Html(format!(
        "<p>Hello {{{{ contact.name }}}}</p><a href=\"{variable}\">Read the offer</a>"
    ));
    let offer = post("/templates", body_of(&offer)).await;
    // "If the email is not opened within 24 hours, send a second email": a reminder template. (Resending
    // the "Offer" itself would loop without the recipient, which the engine refuses.)
    let mut reminder: Template = sample_template(h.account.id, h.admin.id);
    reminder.name = "Offer reminder".into();
    reminder.content.body = mailer_core::model::Body::Html(format!(
        "<p>Did you see it?</p><a href=\"{variable}\">Read the offer</a>"
    ));
    let reminder = post("/templates", body_of(&reminder)).await;
    let resend = post(
        "/triggers",
        body_of(&trigger(
            "Resend email",
            Action::SendEmail {
                template: mailer_core::model::TemplateId(id_of(&reminder)),
            },
        )),
    )
    .await;
    let mut with_triggers = offer.clone();
    with_triggers["triggers"] = serde_json::to_value(EmailTriggers {
        on_sent: vec![mailer_core::model::TriggerId(id_of(&offer_sent))],
        on_opened: vec![mailer_core::model::TriggerId(id_of(&task))],
        not_opened: Some(NotOpened {
            after: Duration::from_secs(24 * 3600),
            triggers: vec![mailer_core::model::TriggerId(id_of(&resend))],
        }),
        on_failed: Vec::new(),
        on_replied: Vec::new(),
    })
    .expect("json");
    let offer_id = id_of(&offer);
    let with_triggers = body_of(&with_triggers);
    let (status, saved) = fx
        .call(
            Method::PUT,
            &format!("/templates/{offer_id}"),
            &fx.admin,
            Some(with_triggers),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert!(
        saved["content"]["body"]["source"]
            .as_str()
            .unwrap_or_default()
            .contains(&variable)
    );
    post(
        "/pipeline-rules",
        body_of(&PipelineRule {
            id: mailer_core::model::PipelineRuleId(0),
            account: AccountId(0),
            pipeline: w.pipeline,
            stage: w.stages[0],
            on: StageEvent::CreatedOrMovedIn,
            filter: mailer_core::model::LeadFilter::default(),
            template: mailer_core::model::TemplateId(offer_id),
            mailbox: h.mailbox.id,
            delay: Duration::ZERO,
        }),
    )
    .await;

    // Three leads, each with a contact, then a mailing to them.
    let mut leads = Vec::new();
    for n in 0..3 {
        let lead = EntityRef {
            kind: EntityKind::Lead,
            id: h.crm.next_id(),
        };
        let contact = EntityRef {
            kind: EntityKind::Contact,
            id: h.crm.next_id(),
        };
        let mut l = Entity::new(lead, format!("Lead {n}"));
        l.stage = Some((w.pipeline, w.stages[0]));
        l.responsible = Some(w.manager);
        h.crm.put_entity(h.account.id, l);
        let mut c = Entity::new(contact, format!("Client {n}"));
        c.emails = vec![format!("client{n}@example.com")];
        h.crm.put_entity(h.account.id, c);
        h.crm.link_contact(h.account.id, lead, contact.id);
        leads.push(lead);
    }
    let (status, started) = fx
        .call(
            Method::POST,
            "/mailings",
            &fx.admin,
            Some(json!({"name": "Offers", "template": offer_id, "entities": leads})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["queued"], 3, "{started}");
    let mailing = started["progress"]["mailing"]["id"].as_i64().expect("mailing id");
    let (status, queue) = fx
        .call(
            Method::GET,
            &format!("/mailboxes/{}/queue", h.mailbox.id),
            &fx.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(queue["items"].as_array().map(Vec::len), Some(3), "{queue}");
    assert!(queue["items"][2]["expected_at"].is_string(), "{queue}");

    h.run(Duration::from_secs(2), 50, 3).await;
    let (status, progress) = fx
        .call(Method::GET, &format!("/mailings/{mailing}"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (progress["sent"].as_u64(), progress["waiting"].as_u64()),
        (Some(3), Some(0)),
        "{progress}"
    );
    let (status, headers, events) = fx
        .raw(Method::GET, &format!("/mailings/{mailing}/events"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/event-stream");
    assert!(
        events.contains("event: progress") && events.contains("\"sent\":3"),
        "{events}"
    );

    for (n, lead) in leads.iter().enumerate() {
        let (status, history) = fx
            .call(
                Method::GET,
                &format!("/history?entity_kind=lead&entity_id={}&mailing={mailing}", lead.id),
                &fx.admin,
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{history}");
        let items = history["items"].as_array().expect("items");
        assert_eq!(items.len(), 1, "{history}");
        assert_eq!(items[0]["email"]["status"], "sent", "{history}");
        let kinds: Vec<&str> = items[0]["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter_map(|e| e["event"]["kind"]["event"].as_str())
            .collect();
        assert!(
            kinds.contains(&"sent") && kinds.contains(&"trigger_fired"),
            "lead {n}: {kinds:?}"
        );
        // The "Offer sent" trigger moved the lead.
        let current = h.crm.current(h.account.id, *lead).expect("lead");
        assert_eq!(current.stage, Some((w.pipeline, w.stages[1])), "lead {n}");
    }
    let (status, other) = fx
        .call(Method::GET, &format!("/mailings/{mailing}"), &fx.other, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{other}");
    let (status, _) = fx
        .call(Method::POST, &format!("/mailings/{mailing}/cancel"), &fx.member, None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = fx
        .call(Method::POST, &format!("/mailings/{mailing}/pause"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn send_suppression_and_history_filters() {
    let fx = fixture().await;
    let h = &fx.h;
    let (status, report) = fx
        .call(
            Method::POST,
            "/send",
            &fx.admin,
            Some(json!({"to": ["x@example.com"], "content": {"subject": "Hi", "body": {"format": "html", "source": "<p>Hi</p>"}, "text": null}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (status, problem) = fx
        .call(Method::POST, "/send", &fx.admin, Some(json!({"to": ["not an address"], "content": {"subject": "Hi", "body": {"format": "html", "source": "<p>Hi</p>"}, "text": null}})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    let (status, problem) = fx
        .call(Method::POST, "/send", &fx.admin, Some(json!({"sender": 1})))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_problem(&problem, "validation", Some("/body/sender"));

    h.store
        .suppress(h.account.id, "gone@example.com", "unsubscribed", h.now())
        .await
        .expect("suppress");
    let (status, problem) = fx
        .call(Method::POST, "/send", &fx.admin, Some(json!({"to": ["gone@example.com"], "content": {"subject": "Hi", "body": {"format": "html", "source": "<p>Hi</p>"}, "text": null}})))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_problem(&problem, "suppressed", None);
    let (status, list) = fx.call(Method::GET, "/suppression", &fx.admin, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"][0]["address"], "gone@example.com", "{list}");
    assert_eq!(
        fx.call(Method::GET, "/suppression", &fx.member, None).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        fx.call(Method::GET, "/suppression", &fx.other, None).await.1["items"],
        json!([])
    );
    assert_eq!(
        fx.call(Method::DELETE, "/suppression/gone@example.com", &fx.other, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        fx.call(Method::DELETE, "/suppression/gone@example.com", &fx.admin, None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );

    let draft = json!({"to": ["x@example.com"], "content": {"subject": "Kept", "body": {"format": "html", "source": "<p>Kept</p>"}, "text": null}});
    let (status, saved) = fx
        .call(
            Method::POST,
            "/templates/from-draft",
            &fx.member,
            Some(json!({"name": "From a draft", "draft": draft})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the member has no mailbox: {saved}"
    );
    assert_problem(&saved, "validation", Some("/body/mailbox"));
    let (status, saved) = fx
        .call(
            Method::POST,
            "/templates/from-draft",
            &fx.admin,
            Some(json!({"name": "From a draft", "draft": draft})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{saved}");
    assert_eq!(
        (saved["name"].as_str(), saved["owner"].as_i64()),
        (Some("From a draft"), Some(h.admin.id.0))
    );
    let email = report["email"].as_i64().expect("email id");
    let (status, one) = fx
        .call(Method::GET, &format!("/history/{email}"), &fx.admin, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(
        fx.call(Method::GET, &format!("/history/{email}"), &fx.other, None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (_, sent) = fx.call(Method::GET, "/history?status=sent", &fx.admin, None).await;
    let (_, failed) = fx.call(Method::GET, "/history?status=failed", &fx.admin, None).await;
    assert_eq!(sent["items"].as_array().map(Vec::len), Some(1), "{sent}");
    assert_eq!(failed["items"], json!([]), "{failed}");
    let (_, later) = fx
        .call(Method::GET, "/history?since=2100-01-01T00:00:00Z", &fx.admin, None)
        .await;
    assert_eq!(later["items"], json!([]), "{later}");
    let (status, problem) = fx.call(Method::GET, "/history?status=lost", &fx.admin, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_problem(&problem, "malformed-request", None);
    let _ = User::clone;
}
