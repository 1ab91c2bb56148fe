//! The operator UI through the router (`oneshot`, no sockets): sign-in and its cookie, the CSRF check on
//! every change, rights, and the engine's refusals shown in words. The browser test (`ui_browser`) covers
//! the script and the whole loop.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use mailer_core::engine::Engine;
use mailer_core::model::{Role, UserId};
use mailer_core::ports::StoreExt;
use mailer_core::testkit::Harness;
use mailer_core::testkit::fixture::sample_user;
use mailer_http::{AppState, HttpConfig, app};
use tower::ServiceExt as _;

struct Fx {
    h: Harness,
    router: Router,
    admin: String,
    member: String,
    member_id: UserId,
}

async fn fixture() -> Fx {
    let h = Harness::new().await;
    let mut member = sample_user(h.account.id);
    member.name = "Anna Member".into();
    member.role = Role::Member;
    let member = h.store.insert(member).await.expect("member");
    let admin = h
        .engine
        .create_api_token(h.account.id, h.admin.id, h.admin.id, "ui", [1; 32])
        .await
        .expect("token")
        .1;
    let member_token = h
        .engine
        .create_api_token(h.account.id, member.id, member.id, "ui", [2; 32])
        .await
        .expect("token")
        .1;
    let engine = Arc::new(Engine::new(h.engine.ports().clone(), h.engine.config().clone()));
    let router = app(AppState::new(engine, HttpConfig::default()));
    Fx {
        h,
        router,
        admin,
        member: member_token,
        member_id: member.id,
    }
}

/// Status, headers and body of one request; `token` goes in the cookie.
async fn send(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    form: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::COOKIE, format!("mailer_ui={token}"));
    }
    if form.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let request = request
        .body(Body::from(form.unwrap_or_default().to_owned()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 22).await.expect("body");
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The CSRF token a signed-in page carries.
async fn csrf(fx: &Fx, token: &str) -> String {
    let (_, _, page) = send(&fx.router, Method::GET, "/ui", Some(token), None).await;
    let start = page.find("data-csrf=\"").expect("the page carries its CSRF token") + "data-csrf=\"".len();
    page[start..start + 64].to_owned()
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn signed_out_every_screen_sends_to_the_sign_in_form() {
    let fx = fixture().await;
    for path in ["/ui", "/ui/templates", "/ui/mailings/1", "/ui/history"] {
        let (status, headers, _) = send(&fx.router, Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/ui/login", "{path}");
    }
    let (status, headers, _) = send(&fx.router, Method::GET, "/ui", Some("mk_1_1_not-a-token"), None).await;
    assert_eq!(
        (status, &headers[header::LOCATION]),
        (StatusCode::SEE_OTHER, &"/ui/login".parse().unwrap())
    );
}

/// A sign-in POST with the form's pairing cookie and field.
async fn sign_in(router: &Router, cookie: &str, form: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let request = Request::post("/ui/login")
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 22).await.expect("body");
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn sign_in_keeps_the_token_in_an_httponly_strict_cookie_and_refuses_an_unknown_one() {
    let fx = fixture().await;
    let (status, headers, page) = send(&fx.router, Method::GET, "/ui/login", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let pairing_cookie = headers[header::SET_COOKIE].to_str().expect("ascii").to_owned();
    assert!(
        pairing_cookie.contains("SameSite=Strict") && pairing_cookie.contains("HttpOnly"),
        "{pairing_cookie}"
    );
    let value = pairing_cookie
        .strip_prefix("mailer_ui_login=")
        .and_then(|rest| rest.split(';').next())
        .expect("the pairing cookie")
        .to_owned();
    assert!(
        page.contains(&format!("name=\"pairing\" value=\"{value}\"")),
        "the form lacks its pairing field"
    );
    let cookie = format!("mailer_ui_login={value}");
    let good = format!("token={}", enc(&fx.admin));

    // Login CSRF: a form posted from elsewhere has no pairing cookie (SameSite=Strict), so it is refused.
    let (status, headers, _) = sign_in(&fx.router, "", &format!("{good}&pairing={value}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        !headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap_or("").starts_with("mailer_ui="))
    );

    let (status, headers, body) = sign_in(&fx.router, &cookie, &format!("token=mk_1_1_wrong&pairing={value}")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        !headers
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap_or("").starts_with("mailer_ui="))
    );
    assert!(body.contains("not known"), "{body}");

    let (status, headers, _) = sign_in(&fx.router, &cookie, &format!("{good}&pairing={value}")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(cookie.starts_with(&format!("mailer_ui={};", fx.admin)), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(flag), "{flag} missing from {cookie}");
    }
    let (status, headers, body) = send(&fx.router, Method::GET, "/ui", Some(&fx.admin), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<h1>Dashboard</h1>"));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}

#[tokio::test]
async fn a_change_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let fx = fixture().await;
    let before =
        fx.h.engine
            .triggers(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("triggers")
            .len();
    let fields = "id=0&name=Note&delay_minutes=0&kind=note&note_text=hello";
    for csrf_field in ["", "&csrf=0000", &format!("&csrf={}", csrf(&fx, &fx.member).await)] {
        let form = format!("{fields}{csrf_field}");
        let (status, _, _) = send(&fx.router, Method::POST, "/ui/triggers", Some(&fx.admin), Some(&form)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "accepted with {csrf_field:?}");
    }
    let after =
        fx.h.engine
            .triggers(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("triggers");
    assert_eq!(after.len(), before, "a refused form saved a trigger");
    let form = format!("{fields}&csrf={}", csrf(&fx, &fx.admin).await);
    let (status, headers, _) = send(&fx.router, Method::POST, "/ui/triggers", Some(&fx.admin), Some(&form)).await;
    assert_eq!(
        (status, headers[header::LOCATION].to_str().ok()),
        (StatusCode::SEE_OTHER, Some("/ui/triggers"))
    );
    let after =
        fx.h.engine
            .triggers(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("triggers");
    assert_eq!(after.len(), before + 1);
    // The preview script sends the token in a header.
    let (status, _, body) = send(
        &fx.router,
        Method::POST,
        "/ui/templates/preview",
        Some(&fx.admin),
        Some("subject=x"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_template_with_a_syntax_error_is_shown_again_with_line_and_column() {
    let fx = fixture().await;
    let form = format!(
        "id=0&name=Broken&subject=Hi&format=html&body={}&to=contacts&not_opened_hours=24&csrf={}",
        enc("<p>one</p>\n<p>{{ lead.name | upcase2 }}</p>"),
        csrf(&fx, &fx.admin).await
    );
    let (status, _, body) = send(
        &fx.router,
        Method::POST,
        "/ui/templates/save",
        Some(&fx.admin),
        Some(&form),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.contains("line 2") && body.contains("column") && body.contains("upcase2"),
        "{body}"
    );
    assert!(body.contains("lead.name | upcase2"), "the form lost what was typed");
    let saved =
        fx.h.engine
            .templates_for(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("templates");
    assert!(saved.iter().all(|t| t.name != "Broken"), "a broken template was saved");
}

#[tokio::test]
async fn a_member_sees_only_their_own_mailboxes_and_cannot_check_anothers() {
    let fx = fixture().await;
    let (status, _, body) = send(&fx.router, Method::GET, "/ui/mailboxes", Some(&fx.member), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !body.contains(&format!("mailbox-{}", fx.h.mailbox.id.0)),
        "a member sees the admin's mailbox"
    );
    let form = format!("csrf={}", csrf(&fx, &fx.member).await);
    let path = format!("/ui/mailboxes/{}/check", fx.h.mailbox.id.0);
    let (status, _, _) = send(&fx.router, Method::POST, &path, Some(&fx.member), Some(&form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A member's new mailbox is their own whatever owner the form names.
    let form = format!(
        "id=0&owner={}&from_email=anna%40example.com&smtp_host=127.0.0.1&smtp_port=2525&smtp_security=plain\
         &imap_host=&imap_port=&imap_security=plain&login=anna&password=pw&daily_cap=100&spacing=1&csrf={}",
        fx.h.admin.id.0,
        csrf(&fx, &fx.member).await
    );
    let (status, _, body) = send(&fx.router, Method::POST, "/ui/mailboxes", Some(&fx.member), Some(&form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let own = form.replace(
        &format!("owner={}", fx.h.admin.id.0),
        &format!("owner={}", fx.member_id.0),
    );
    let (status, _, _) = send(&fx.router, Method::POST, "/ui/mailboxes", Some(&fx.member), Some(&own)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let theirs =
        fx.h.engine
            .mailboxes_for(fx.h.account.id, fx.member_id)
            .await
            .expect("mailboxes");
    assert_eq!(theirs.len(), 1);
    assert!(
        theirs[0].health.is_some(),
        "saving checks the mailbox, as the widget does"
    );
}
