//! The operator UI through the router (`oneshot`, no sockets): sign-in and its cookie, the CSRF check on
//! every change, rights, the engine's refusals shown in words, files uploaded with the template editor, every
//! trigger action and the mailbox's limits set from their forms. The browser test (`ui_browser`) covers
//! the script and the whole loop.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use mailer_core::engine::Engine;
use mailer_core::model::{
    Action, Assignee, AttachmentRef, CapWindow, CrmUserId, Deadline, EntityKind, FieldId, PipelineId, Role, StageId,
    Timezone, UserId,
};
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

/// A multipart form body: text fields, then files as (field, file name, type, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "ui-test-boundary-41c2";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (name, file, content_type, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\n\
                 Content-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_multipart(
    fx: &Fx,
    token: &str,
    path: &str,
    (content_type, body): (String, Vec<u8>),
) -> (StatusCode, String, String) {
    let request = Request::post(path)
        .header(header::COOKIE, format!("mailer_ui={token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request");
    let response = fx.router.clone().oneshot(request).await.expect("response");
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 22).await.expect("body");
    let location = parts
        .headers
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (parts.status, location, String::from_utf8_lossy(&bytes).into_owned())
}

/// The values of every `<input … name="stored" value="…">` of a page, unescaped.
fn stored_values(page: &str) -> Vec<String> {
    page.split("name=\"stored\" value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(|v| {
            v.replace("&quot;", "\"")
                .replace("&amp;", "&")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .collect()
}

#[tokio::test]
async fn the_template_editor_uploads_files_keeps_them_through_a_refusal_and_removes_one() {
    let fx = fixture().await;
    let csrf = csrf(&fx, &fx.admin).await;
    let base = [
        ("csrf", csrf.as_str()),
        ("id", "0"),
        ("name", "With files"),
        ("subject", "Prices"),
        ("format", "html"),
        ("to", "contacts"),
        ("not_opened_hours", "24"),
        ("link_attachments", "https://example.com/{{ lead.id }}.pdf"),
    ];
    // A syntax error: the files are stored all the same, and the form shown again carries them.
    let mut broken = base.to_vec();
    broken.extend([("body", "<p>{{ lead.name | upcase2 }}</p>"), ("new_kind", "attachment")]);
    let files: [(&str, &str, &str, &[u8]); 3] = [
        ("new_files", "prices.txt", "text/plain", b"apples 3"),
        ("new_files", "terms.txt", "text/plain", b"pay in 30 days"),
        ("new_files", "", "application/octet-stream", b""),
    ];
    let (status, _, page) = post_multipart(&fx, &fx.admin, "/ui/templates/save", multipart(&broken, &files)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("upcase2") && page.contains("prices.txt") && page.contains("terms.txt"),
        "{page}"
    );
    let stored = stored_values(&page);
    assert_eq!(stored.len(), 2, "the empty file input adds nothing: {stored:?}");
    // Fixed, with one of the two removed and an inline image added: saved with the kept file, the image
    // and the link attachment.
    let terms: serde_json::Value = serde_json::from_str(&stored[1]).expect("a reference");
    assert_eq!(terms["name"], "terms.txt");
    let remove = terms["file"].to_string();
    let mut fixed = base.to_vec();
    fixed.extend([("body", "<p>Hello {{ lead.name }}</p>"), ("new_kind", "inline_image")]);
    fixed.extend(stored.iter().map(|s| ("stored", s.as_str())));
    fixed.push(("remove_file", remove.as_str()));
    let png: &[u8] = b"\x89PNG\r\n\x1a\nfake";
    let (status, location, page) = post_multipart(
        &fx,
        &fx.admin,
        "/ui/templates/save",
        multipart(&fixed, &[("new_files", "logo.png", "image/png", png)]),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let saved =
        fx.h.engine
            .templates_for(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("templates")
            .into_iter()
            .find(|t| t.name == "With files")
            .expect("saved");
    assert!(
        location.ends_with(&format!("/ui/templates/{}?saved=1", saved.id.0)),
        "{location}"
    );
    let shown: Vec<String> = saved
        .attachments
        .iter()
        .map(|a| match a {
            AttachmentRef::Stored { name, kind, size, .. } => format!("{name} {kind:?} {size}"),
            AttachmentRef::Link { url, .. } => url.clone(),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "prices.txt Attachment 8",
            "logo.png InlineImage 12",
            "https://example.com/{{ lead.id }}.pdf"
        ]
    );
    // The editor lists them, the image with the code that shows it in the body.
    let (_, _, page) = send(&fx.router, Method::GET, &location, Some(&fx.admin), None).await;
    let AttachmentRef::Stored { file: image, .. } = &saved.attachments[1] else {
        panic!("stored")
    };
    assert!(page.contains(&format!("cid:f{}@mailer", image.0)), "{page}");
    // An inline image that is not an image is refused with its reason, and nothing else changes.
    let mut again = fixed.clone();
    again.retain(|(k, _)| *k != "remove_file" && *k != "stored" && *k != "id");
    let id = saved.id.0.to_string();
    again.push(("id", id.as_str()));
    let (status, _, page) = post_multipart(
        &fx,
        &fx.admin,
        "/ui/templates/save",
        multipart(&again, &[("new_files", "offer.pdf", "application/pdf", b"%PDF")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("image/"), "{page}");
}

#[tokio::test]
async fn every_trigger_action_of_the_core_is_created_from_the_form() {
    let fx = fixture().await;
    let csrf = csrf(&fx, &fx.admin).await;
    let cases = [
        ("field", "field_entity=contact&field_id=657261&field_value=%7Bdate%7D"),
        (
            "lead",
            "lead_name=Follow-up+%7B%7B+contact.name+%7D%7D&lead_pipeline=3&lead_stage=30",
        ),
        (
            "task",
            "task_text=Call&task_type=2&task_due=end_of_day&task_hours=24&task_at=&task_user=77",
        ),
        (
            "task",
            "task_text=Meet&task_type=1&task_due=at&task_hours=24&task_at=2026-12-24T10%3A30&task_user=",
        ),
        ("tags", "tags_entity=company&tags_add=vip%2C+warm&tags_remove=cold"),
    ];
    for (i, (kind, fields)) in cases.iter().enumerate() {
        let form = format!("id=0&name=T{i}&delay_minutes=0&kind={kind}&{fields}&csrf={csrf}");
        let (status, _, body) = send(&fx.router, Method::POST, "/ui/triggers", Some(&fx.admin), Some(&form)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{kind}: {body}");
    }
    let triggers =
        fx.h.engine
            .triggers(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("triggers");
    let action = |name: &str| {
        triggers
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.action.clone())
            .expect("saved")
    };
    assert_eq!(
        action("T0"),
        Action::ChangeField {
            entity: EntityKind::Contact,
            field: FieldId(657_261),
            value: "{date}".into()
        }
    );
    assert_eq!(
        action("T1"),
        Action::CreateLead {
            name: "Follow-up {{ contact.name }}".into(),
            pipeline: PipelineId(3),
            stage: StageId(30)
        }
    );
    assert_eq!(
        action("T2"),
        Action::SetTask {
            task_type: 2,
            deadline: Deadline::EndOfDay,
            assignee: Assignee::User(CrmUserId(77)),
            text: "Call".into()
        }
    );
    let at = chrono::NaiveDate::from_ymd_opt(2026, 12, 24)
        .and_then(|d| d.and_hms_opt(10, 30, 0))
        .expect("a date")
        .and_utc();
    assert_eq!(
        action("T3"),
        Action::SetTask {
            task_type: 1,
            deadline: Deadline::At(at),
            assignee: Assignee::Responsible,
            text: "Meet".into()
        }
    );
    assert_eq!(
        action("T4"),
        Action::ChangeTags {
            entity: EntityKind::Company,
            add: vec!["vip".into(), "warm".into()],
            remove: vec!["cold".into()]
        }
    );
    // Each opens again in the form with its values.
    let t1 = triggers.iter().find(|t| t.name == "T1").expect("T1");
    let (_, _, page) = send(
        &fx.router,
        Method::GET,
        &format!("/ui/triggers?edit={}", t1.id.0),
        Some(&fx.admin),
        None,
    )
    .await;
    assert!(page.contains("value=\"Follow-up {{ contact.name }}\""), "{page}");
    let kind = page
        .split("id=\"f-kind\"")
        .nth(1)
        .and_then(|s| s.split("</select>").next())
        .unwrap_or_default();
    assert!(kind.contains("<option value=\"lead\" selected>"), "{kind}");
    // An action the core does not have is refused by name.
    let form = format!("id=0&name=X&delay_minutes=0&kind=explode&csrf={csrf}");
    let (status, _, body) = send(&fx.router, Method::POST, "/ui/triggers", Some(&fx.admin), Some(&form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("kind: must be one of the listed actions"), "{body}");
}

#[tokio::test]
async fn the_mailbox_form_sets_the_cap_window_the_per_minute_cap_and_the_timezone() {
    let fx = fixture().await;
    let csrf = csrf(&fx, &fx.admin).await;
    let form = |tz: &str| {
        format!(
            "id=0&owner={}&from_email=desk%40example.com&smtp_host=127.0.0.1&smtp_port=2525&smtp_security=plain\
             &imap_host=&imap_port=&imap_security=plain&login=desk&password=pw&daily_cap=300&spacing=2\
             &cap_window=calendar_day&per_minute_cap=30&timezone={tz}&csrf={csrf}",
            fx.h.admin.id.0
        )
    };
    let (status, _, body) = send(
        &fx.router,
        Method::POST,
        "/ui/mailboxes",
        Some(&fx.admin),
        Some(&form("Mars%2FOlympus")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("timezone") && body.contains("Mars/Olympus"), "{body}");
    let (status, _, body) = send(
        &fx.router,
        Method::POST,
        "/ui/mailboxes",
        Some(&fx.admin),
        Some(&form("Europe%2FBerlin")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let desk =
        fx.h.engine
            .mailboxes_for(fx.h.account.id, fx.h.admin.id)
            .await
            .expect("mailboxes")
            .into_iter()
            .find(|m| m.from.email == "desk@example.com")
            .expect("saved");
    assert_eq!(desk.limits.window, CapWindow::CalendarDay);
    assert_eq!(desk.limits.per_minute_cap, Some(30));
    assert_eq!(desk.limits.daily_cap, 300);
    assert_eq!(desk.timezone, Timezone::parse("Europe/Berlin").expect("tz"));
    // The form opens with them again.
    let (_, _, page) = send(
        &fx.router,
        Method::GET,
        &format!("/ui/mailboxes?edit={}", desk.id.0),
        Some(&fx.admin),
        None,
    )
    .await;
    assert!(
        page.contains("value=\"Europe/Berlin\"") && page.contains("<option value=\"calendar_day\" selected>"),
        "{page}"
    );
    assert!(
        page.contains("id=\"f-per_minute_cap\" type=\"number\" name=\"per_minute_cap\" value=\"30\""),
        "{page}"
    );
}
