//! The manual's "Widget setup example" over HTTP, end to end: the host's router on SQLite, the fake Kommo,
//! Dovecot submission relaying to smtp-sink and Dovecot IMAP for the copies in Sent, and a manual clock.
//!
//! The account installs the widget through the OAuth redirect; a digital-pipeline hook (delivered 4 times)
//! for a lead entering "Qualified" sends the "Offer" once, its copy lands in Sent and the fake shows the
//! lead in "Offer sent"; fetching the pixel of the received message sets the task "Call the client" once
//! although both contacts open; the trigger link moves the lead to "Familiar with the offer" once however
//! often it is clicked; a second lead that never opens gets the reminder after 24 hours, exactly once.
//! Also: install failures shown to the operator, revoke with good and forged signatures, hooks of unknown
//! and disabled accounts refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use mailer_core::engine::{Engine, EngineConfig, Ports};
use mailer_core::model::{
    AccountId, Action, Address, Assignee, Body as MailBody, Content, CrmLink, Deadline, EmailQuery, EmailStatus,
    EmailTriggers, EntityKind, EntityRef, LinkStatus, Mailbox, MailboxId, NotOpened, PipelineRule, PipelineRuleId,
    RecipientRule, Secret, Security, SendingLimits, ServerSettings, StageEvent, Template, TemplateId, Timezone,
    Trigger, TriggerId, TriggerLink, TriggerLinkId, User,
};
use mailer_core::ports::{DynStore, Store as _, StoreExt};
use mailer_core::testkit::{ManualClock, StaticFetcher, World, default_start, fixture, skip, token_in};
use mailer_http::kommo::KommoHost;
use mailer_http::{AppState, HttpConfig, app};
use mailer_kommo::KommoCrm;
use mailer_kommo::fake::FakeKommo;
use mailer_kommo::hooks::sign_disable_hook;
use mailer_smtp::SmtpTransport;
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};
use serde_json::json;
use tower::ServiceExt as _;

const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36";
const HOUR: Duration = Duration::from_secs(3600);
const BASE: &str = "https://t.example.com";
/// The fake's Kommo account id.
const KOMMO_ACCOUNT: i64 = 31_000_001;

/// The mail services `scripts/test-services.sh` starts.
struct Mail {
    submission: ServerSettings,
    imaps: ServerSettings,
    sink_dir: PathBuf,
    mail_dir: PathBuf,
    cert_pem: Vec<u8>,
    user: String,
    password: String,
}

fn server(var: &str, security: Security) -> Option<ServerSettings> {
    let value = std::env::var(var).ok()?;
    let (host, port) = value.rsplit_once(':')?;
    Some(ServerSettings {
        host: host.to_owned(),
        port: port.parse().ok()?,
        security,
    })
}

impl Mail {
    fn get() -> Option<Self> {
        let found = (|| {
            Some(Self {
                submission: server("MAILER_TEST_SUBMISSION", Security::StartTls)?,
                imaps: server("MAILER_TEST_IMAPS", Security::Tls)?,
                sink_dir: std::env::var("MAILER_TEST_SMTP_SINK_DIR").ok()?.into(),
                mail_dir: std::env::var("MAILER_TEST_MAIL_DIR").ok()?.into(),
                cert_pem: std::fs::read(std::env::var("MAILER_TEST_TLS_CERT").ok()?).ok()?,
                user: std::env::var("MAILER_TEST_MAIL_USER").ok()?,
                password: std::env::var("MAILER_TEST_MAIL_PASS").ok()?,
            })
        })();
        if found.is_none() {
            skip("mail services not running: eval \"$(cat /tmp/services.env)\" or scripts/test-services.sh");
        }
        found
    }

    /// The messages smtp-sink received with this Message-ID, as text.
    fn received(&self, message_id: &str) -> Vec<String> {
        let needle = format!("message-id: <{}>", message_id.to_ascii_lowercase());
        let Ok(entries) = std::fs::read_dir(&self.sink_dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter(|text| text.to_ascii_lowercase().contains(&needle))
            .collect()
    }

    /// The copies in the user's Sent folder with this Message-ID.
    fn in_sent(&self, message_id: &str) -> usize {
        let dir = self.mail_dir.join(&self.user).join(".Sent");
        let needle = format!("message-id: <{}>", message_id.to_ascii_lowercase());
        ["cur", "new"]
            .iter()
            .flat_map(|sub| std::fs::read_dir(dir.join(sub)).into_iter().flatten().flatten())
            .filter(|e| {
                std::fs::read(e.path())
                    .map(|b| String::from_utf8_lossy(&b).to_ascii_lowercase().contains(&needle))
                    .unwrap_or(false)
            })
            .count()
    }
}

/// Undoes quoted-printable (soft line breaks and `=XX`), leaving 7-bit text as it is.
fn unquote(raw: &str) -> String {
    let joined = raw.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

struct Host {
    router: Router,
    engine: Arc<Engine>,
    store: Arc<SqlStore>,
    clock: Arc<ManualClock>,
    kommo: FakeKommo,
    world: World,
    _dir: tempfile::TempDir,
}

async fn host(mail: Option<&Mail>) -> Host {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/mailer.db?mode=rwc", dir.path().display());
    let store = Arc::new(
        SqlStore::connect(&SqlConfig::new(url, SecretKey::generate()))
            .await
            .expect("sqlite store"),
    );
    let kommo = FakeKommo::start().await.expect("fake kommo");
    let world = kommo.seed_world(AccountId(0));
    let crm = Arc::new(KommoCrm::new());
    // Message-IDs carry the clock's time: start each run at its own moment, so smtp-sink's and Dovecot's
    // folders (shared by every run) never hold another run's message with the same id.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() % 1_000_000_000_000);
    let start = default_start() + chrono::Duration::microseconds(i64::try_from(run).unwrap_or_default());
    let clock = Arc::new(ManualClock::new(start));
    let transport: Arc<mailer_core::ports::DynTransport> = match mail {
        Some(m) => Arc::new(
            SmtpTransport::builder()
                .timeout(Duration::from_secs(10))
                .add_root_certificate_pem(&m.cert_pem)
                .expect("test certificate")
                .build()
                .expect("transport"),
        ),
        None => Arc::new(mailer_core::testkit::CaptureTransport::new()),
    };
    let mut config = EngineConfig {
        tracking_base_url: BASE.into(),
        ..EngineConfig::default()
    };
    config
        .signing_keys
        .insert("k1".into(), Secret::new("a signing key of enough length"));
    let ports = Ports {
        store: store.clone(),
        transport,
        crm: crm.clone(),
        clock: clock.clone(),
        fetcher: Arc::new(StaticFetcher::default()),
    };
    let engine = Arc::new(Engine::new(ports, config));
    let kommo_host = KommoHost::new(kommo.app(), crm)
        .with_base_url(kommo.base_url())
        .with_signing_key_ref("k1");
    let state = AppState::new(engine.clone(), HttpConfig::default()).with_kommo(Arc::new(kommo_host));
    Host {
        router: app(state),
        engine,
        store,
        clock,
        kommo,
        world,
        _dir: dir,
    }
}

impl Host {
    async fn call(&self, request: Request<Body>) -> (StatusCode, String) {
        let response = self.router.clone().oneshot(request).await.expect("router");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A GET from a person's browser.
    async fn get(&self, path: &str) -> (StatusCode, String) {
        let request = Request::get(path)
            .header(header::USER_AGENT, BROWSER)
            .body(Body::empty())
            .expect("request");
        self.call(request).await
    }

    async fn post_form(&self, path: &str, form: &str) -> (StatusCode, String) {
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .expect("request");
        self.call(request).await
    }

    async fn install(&self) -> CrmLink {
        let code = self.kommo.issue_code();
        let (status, body) = self
            .get(&format!(
                "/kommo/oauth?code={code}&referer=fake.kommo.com&from_widget=1"
            ))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.link().await.expect("no link after the install")
    }

    async fn link(&self) -> Option<CrmLink> {
        self.engine.crm_link_by_external(KOMMO_ACCOUNT).await.expect("link")
    }

    /// The digital-pipeline hook Kommo posts when `lead` enters `stage`.
    fn dp_hook(&self, lead: i64, stage: i64, time: i64) -> String {
        format!(
            "account_id={KOMMO_ACCOUNT}&subdomain=fake&event%5Btype%5D=14&event%5Btype_code%5D=lead_status_changed\
             &event%5Bdata%5D%5Bid%5D={lead}&event%5Bdata%5D%5Belement_type%5D=2\
             &event%5Bdata%5D%5Bstatus_id%5D={stage}&event%5Bdata%5D%5Bpipeline_id%5D={}\
             &event%5Btime%5D={time}&action%5Bsettings%5D%5Bwidget%5D%5Bsettings%5D%5Btemplate%5D=Offer",
            self.world.pipeline.0
        )
    }

    /// Runs due timers and worker steps until nothing is due, moving the clock by a second each round.
    async fn work(&self) -> u32 {
        let mut sent = 0;
        for _ in 0..20 {
            let timers = self.engine.run_due_timers().await.expect("timers");
            let step = self.engine.worker_step().await.expect("worker step");
            sent += step.sent;
            if timers == 0 && step.claimed == 0 {
                break;
            }
            self.clock.advance(Duration::from_secs(1));
        }
        sent
    }

    /// The lead's stage as the (fake) Kommo has it now.
    async fn stage(&self, account: AccountId, lead: EntityRef) -> Option<i64> {
        let record = self.engine.ports().crm.entity(account, lead).await.expect("lead");
        record.entity.stage.map(|(_, s)| s.0)
    }

    /// How often the lead was moved to `stage` through the API.
    fn moves_to(&self, lead: EntityRef, stage: i64) -> usize {
        self.kommo
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.contains("/leads"))
            .filter(|r| {
                let Ok(body) = serde_json::from_str::<serde_json::Value>(&r.body) else {
                    return false;
                };
                let items = body.as_array().cloned().unwrap_or_else(|| vec![body.clone()]);
                items.iter().any(|i| {
                    i.get("status_id").and_then(serde_json::Value::as_i64) == Some(stage)
                        && (i.get("id").and_then(serde_json::Value::as_i64) == Some(lead.id.0)
                            || r.path.ends_with(&format!("/{}", lead.id.0)))
                })
            })
            .count()
    }
}

async fn trigger(store: &DynStore, account: AccountId, name: &str, action: Action) -> TriggerId {
    let t = Trigger {
        id: TriggerId(0),
        account,
        name: name.into(),
        action,
        delay: Duration::ZERO,
    };
    store.insert(t).await.expect("trigger").id
}

fn template(account: AccountId, owner: &User, name: &str, body: &str, triggers: EmailTriggers) -> Template {
    Template {
        id: TemplateId(0),
        account,
        name: name.into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: format!("{name} for {{{{ lead.name }}}}"),
            body: MailBody::Html(body.into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers,
        owner: owner.id,
        public: false,
        signature_disabled: true,
    }
}

/// The manual's setup in the installed account: the four triggers, the one-time link, "Offer" and its
/// reminder, and the digital-pipeline action at "Qualified" (as a pipeline rule).
async fn configure(h: &Host, account: AccountId, mail: Option<&Mail>) {
    let store: &DynStore = &*h.store;
    let w = &h.world;
    let admin: User = store.list::<User>(account).await.expect("users").remove(0);
    let mut mailbox: Mailbox = fixture::sample_mailbox(
        account,
        admin.id,
        SendingLimits {
            spacing: Duration::ZERO,
            ..SendingLimits::default()
        },
    );
    mailbox.id = MailboxId(0);
    mailbox.timezone = Timezone::UTC;
    if let Some(m) = mail {
        mailbox.from = Address {
            name: Some("Maria Manager".into()),
            email: m.user.clone(),
        };
        mailbox.smtp = m.submission.clone();
        mailbox.imap = Some(m.imaps.clone());
        mailbox.login = m.user.clone();
        mailbox.password = Secret::new(m.password.clone());
    }
    let mailbox = store.insert(mailbox).await.expect("mailbox");
    let stage = |i: usize| Action::ChangeStage {
        pipeline: w.pipeline,
        stage: w.stages[i],
    };
    let offer_sent = trigger(store, account, "Change stage to Offer sent", stage(1)).await;
    let set_task = Action::SetTask {
        task_type: 1,
        deadline: Deadline::After(HOUR),
        assignee: Assignee::Responsible,
        text: "Call the client that has opened the offer".into(),
    };
    let set_task = trigger(store, account, "Set task", set_task).await;
    let familiar = trigger(store, account, "Change stage to Familiar with the offer", stage(2)).await;
    let link = store
        .insert(TriggerLink {
            id: TriggerLinkId(0),
            account,
            name: "Link to the offer".into(),
            once: true,
            redirect: Some("https://example.com/offer.pdf".into()),
            triggers: vec![familiar],
        })
        .await
        .expect("link");
    let reminder = template(
        account,
        &admin,
        "Offer reminder",
        "<p>Did you see our offer, {{ contact.name }}?</p>",
        EmailTriggers::default(),
    );
    let reminder = h.engine.save_template(admin.id, reminder).await.expect("reminder");
    let resend = trigger(
        store,
        account,
        "Resend email",
        Action::SendEmail { template: reminder.id },
    )
    .await;
    let body = format!(
        "<p>Hello {{{{ contact.name }}}}!</p><a href=\"{{triggerlink:{}}}\">Read the offer</a>",
        link.id
    );
    let triggers = EmailTriggers {
        on_sent: vec![offer_sent],
        on_opened: vec![set_task],
        not_opened: Some(NotOpened {
            after: 24 * HOUR,
            triggers: vec![resend],
        }),
        on_failed: Vec::new(),
        on_replied: Vec::new(),
    };
    let offer = template(account, &admin, "Offer", &body, triggers);
    let offer = h.engine.save_template(admin.id, offer).await.expect("offer");
    store
        .insert(PipelineRule {
            id: PipelineRuleId(0),
            account,
            pipeline: w.pipeline,
            stage: w.stages[0],
            on: StageEvent::CreatedOrMovedIn,
            filter: Default::default(),
            template: offer.id,
            mailbox: mailbox.id,
            delay: Duration::ZERO,
        })
        .await
        .expect("rule");
}

/// A second lead in "Qualified" with one contact.
fn second_lead(h: &Host) -> EntityRef {
    let lead = h.kommo.add_entity(EntityKind::Lead, "Offer for Beta");
    h.kommo.write(
        lead,
        &json!({ "pipeline_id": h.world.pipeline.0, "status_id": h.world.stages[0].0,
                 "responsible_user_id": h.world.manager.0 }),
    );
    let carl = h.kommo.add_entity(EntityKind::Contact, "Carl Beta");
    h.kommo.write(
        carl,
        &json!({ "custom_fields_values": [{ "field_code": "EMAIL", "values": [{ "value": "carl@example.com" }] }] }),
    );
    h.kommo.link_contact(lead, carl);
    lead
}

async fn sent_emails(h: &Host, account: AccountId) -> Vec<mailer_core::model::Email> {
    let mut query = EmailQuery::account(account, 100);
    query.statuses = vec![EmailStatus::Sent];
    h.store.list_emails(&query).await.expect("emails")
}

#[tokio::test]
async fn the_manual_setup_example_over_http_with_real_mail_servers() {
    let Some(mail) = Mail::get() else { return };
    let h = host(Some(&mail)).await;
    let w = h.world.clone();

    // Install: the code is exchanged, the tenant made, the tokens kept sealed.
    let link = h.install().await;
    assert_eq!(link.status, LinkStatus::Active);
    let account = link.account;
    let tokens = link.tokens.clone().expect("tokens kept");
    let access = serde_json::from_str::<serde_json::Value>(tokens.expose()).expect("token json")["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    let raw: String = sqlx::query_scalar("SELECT body FROM crm_links")
        .fetch_one(h.store.pool())
        .await
        .expect("raw link");
    assert!(!raw.contains(&access), "the access token is stored in clear: {raw}");
    configure(&h, account, Some(&mail)).await;
    let beta = second_lead(&h);

    // Kommo posts the digital-pipeline hook for the lead entering "Qualified" 4 times: one email.
    let hook = h.dp_hook(w.lead.id.0, w.stages[0].0, 1_767_000_000);
    for _ in 0..4 {
        let (status, body) = h.post_form("/kommo/hooks/dp", &hook).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let beta_hook = h.dp_hook(beta.id.0, w.stages[0].0, 1_767_000_001);
    assert_eq!(h.post_form("/kommo/hooks/dp", &beta_hook).await.0, StatusCode::OK);
    assert_eq!(
        h.work().await,
        2,
        "the redelivered hook sent more than one email per lead"
    );
    // A redelivery after the email went out sends nothing either.
    assert_eq!(h.post_form("/kommo/hooks/dp", &hook).await.0, StatusCode::OK);
    assert_eq!(h.work().await, 0, "a hook redelivered after sending sent again");

    let sent = sent_emails(&h, account).await;
    assert_eq!(sent.len(), 2);
    let offer = sent
        .iter()
        .find(|e| e.spec.entity == Some(w.lead))
        .expect("the offer to the first lead");
    let message_id = offer.spec.message_id.clone();
    let received = {
        let mut got = Vec::new();
        for _ in 0..100 {
            got = mail.received(&message_id);
            if !got.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        got
    };
    assert_eq!(received.len(), 1, "smtp-sink did not get the offer exactly once");
    let message = unquote(&received[0]);
    assert!(message.contains("anna@example.com") && message.contains("boris@example.com"));
    assert_eq!(mail.in_sent(&message_id), 1, "the copy is not in Dovecot's Sent");
    assert_eq!(
        h.stage(account, w.lead).await,
        Some(w.stages[1].0),
        "the lead is not in \"Offer sent\""
    );

    // A minute later both contacts open the received message: the task is set once.
    h.clock.advance(Duration::from_secs(60));
    let pixel = token_in(&message, "/t/o/").expect("pixel in the received message");
    h.engine
        .verify_token(&pixel)
        .await
        .expect("the received pixel's token is valid");
    for _ in 0..2 {
        assert_eq!(h.get(&format!("/t/o/{pixel}")).await.0, StatusCode::OK);
    }
    let tasks = h.kommo.tasks(w.lead);
    assert_eq!(tasks.len(), 1, "opens set {tasks:?}");
    assert!(tasks[0].contains("Call the client"), "{tasks:?}");

    // The trigger link moves the lead once, however often it is clicked.
    let link_token = token_in(&message, "/t/l/").expect("trigger link in the received message");
    for _ in 0..3 {
        let (status, _) = h.get(&format!("/t/l/{link_token}")).await;
        assert!(status.is_redirection(), "{status}");
    }
    assert_eq!(
        h.stage(account, w.lead).await,
        Some(w.stages[2].0),
        "not in \"Familiar with the offer\""
    );
    let moves = h.moves_to(w.lead, w.stages[2].0);
    assert_eq!(moves, 1, "the one-time link moved the lead {moves} times");

    // 24 hours later only the lead that never opened gets the reminder, once.
    h.clock.advance(23 * HOUR);
    assert_eq!(h.work().await, 0, "a reminder before 24 hours");
    h.clock.advance(HOUR);
    assert_eq!(h.work().await, 1, "not exactly one reminder after 24 hours");
    h.clock.advance(48 * HOUR);
    assert_eq!(h.work().await, 0, "the reminder repeated");
    let reminders: Vec<_> = sent_emails(&h, account)
        .await
        .into_iter()
        .filter(|e| e.spec.content.subject.starts_with("Offer reminder"))
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].spec.entity, Some(beta));
    assert_eq!(mail.received(&reminders[0].spec.message_id).len(), 1);
}

#[tokio::test]
async fn install_failures_show_in_the_admin_view_and_reinstall_keeps_the_tenant() {
    let h = host(None).await;
    let (status, body) = h
        .get("/kommo/oauth?code=not-a-code&referer=fake.kommo.com&from_widget=1")
        .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert!(h.link().await.is_none(), "a failed first install made a link");
    assert_eq!(
        h.get("/kommo/oauth?referer=fake.kommo.com").await.0,
        StatusCode::BAD_REQUEST
    );

    let link = h.install().await;
    // A failed re-install is recorded on the link (tokens kept) for the operator.
    let (status, _) = h.get("/kommo/oauth?code=used-up&referer=fake.kommo.com&state=x").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let failed = h.link().await.expect("link");
    assert_eq!(failed.status, LinkStatus::Failed);
    assert!(
        failed.detail.as_deref().unwrap_or_default().contains("install failed"),
        "{failed:?}"
    );
    assert!(failed.tokens.is_some(), "a failed re-install wiped the tokens");
    let admin: User = h.store.list::<User>(link.account).await.expect("users").remove(0);
    let view = h
        .engine
        .crm_link_view(link.account, admin.id)
        .await
        .expect("view")
        .expect("a view");
    assert_eq!(view.status, LinkStatus::Failed);
    // Installing again works and keeps the same tenant.
    let again = h.install().await;
    assert_eq!(again.account, link.account);
    assert_eq!(again.status, LinkStatus::Active);
}

#[tokio::test]
async fn revoke_disables_wipes_and_holds_forged_changes_nothing() {
    let h = host(None).await;
    let link = h.install().await;
    configure(&h, link.account, None).await;
    let app = h.kommo.app();

    // Forged: wrong signature, another integration's uuid, another account's signature.
    let good = sign_disable_hook(&app, KOMMO_ACCOUNT);
    let forged = [
        format!(
            "client_uuid={}&account_id={KOMMO_ACCOUNT}&signature={}",
            app.client_id,
            "0".repeat(64)
        ),
        format!("client_uuid=someone-else&account_id={KOMMO_ACCOUNT}&signature={good}"),
        format!("client_uuid={}&account_id=1&signature={good}", app.client_id),
        format!("client_uuid={}&account_id={KOMMO_ACCOUNT}", app.client_id),
    ];
    for query in &forged {
        assert_eq!(
            h.get(&format!("/kommo/disable?{query}")).await.0,
            StatusCode::FORBIDDEN,
            "{query}"
        );
    }
    let still = h.link().await.expect("link");
    assert_eq!(
        (still.status, still.tokens.is_some()),
        (LinkStatus::Active, true),
        "a forged hook changed the link"
    );

    // Genuine: disabled, tokens wiped, hooks refused, the queue held.
    let hook = h.dp_hook(h.world.lead.id.0, h.world.stages[0].0, 1_767_000_100);
    assert_eq!(h.post_form("/kommo/hooks/dp", &hook).await.0, StatusCode::OK);
    assert_eq!(
        h.engine.run_due_timers().await.expect("timers"),
        1,
        "the hook queued nothing"
    );
    let beta = second_lead(&h);
    let (status, body) = h
        .get(&format!(
            "/kommo/disable?client_uuid={}&account_id={KOMMO_ACCOUNT}&signature={good}",
            app.client_id
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let revoked = h.link().await.expect("link");
    assert_eq!(revoked.status, LinkStatus::Disabled);
    assert!(revoked.tokens.is_none(), "tokens not wiped");
    let raw: String = sqlx::query_scalar("SELECT body FROM crm_links")
        .fetch_one(h.store.pool())
        .await
        .expect("raw link");
    assert!(raw.contains("\"tokens\":null"), "{raw}");
    let hook2 = h.dp_hook(beta.id.0, h.world.stages[0].0, 1_767_000_200);
    assert_eq!(h.post_form("/kommo/hooks/dp", &hook2).await.0, StatusCode::FORBIDDEN);
    // The email queued before the revocation waits in the queue: neither sent nor failed.
    assert_eq!(h.work().await, 0, "an email of a revoked account went out");
    let all = h
        .store
        .list_emails(&EmailQuery::account(link.account, 10))
        .await
        .expect("emails");
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].status, EmailStatus::Queued, "{all:?}");
    assert_eq!(all[0].last_error.as_deref(), Some(mailer_core::engine::REVOKED));
    // Installed again, the held email goes out.
    h.install().await;
    h.clock.advance(HOUR);
    assert_eq!(h.work().await, 1, "the held email did not go out after the re-install");
}

#[tokio::test]
async fn hooks_of_unknown_accounts_and_malformed_hooks_are_refused() {
    let h = host(None).await;
    let hook = h.dp_hook(h.world.lead.id.0, h.world.stages[0].0, 1);
    assert_eq!(h.post_form("/kommo/hooks/dp", &hook).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        h.post_form("/kommo/hooks/dp", "account_id=x&event%5Btype%5D=14")
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
    let webhook = format!(
        "leads%5Bstatus%5D%5B0%5D%5Bid%5D=5&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=7\
         &leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=8&account%5Bid%5D={KOMMO_ACCOUNT}&account%5Bsubdomain%5D=fake"
    );
    assert_eq!(
        h.post_form("/kommo/hooks/webhook", &webhook).await.0,
        StatusCode::FORBIDDEN
    );
    h.install().await;
    assert_eq!(h.post_form("/kommo/hooks/webhook", &webhook).await.0, StatusCode::OK);
}

#[tokio::test]
async fn salesbot_sends_the_chosen_template_then_continues_the_bot() {
    let h = host(None).await;
    let link = h.install().await;
    configure(&h, link.account, None).await;
    let offer = h
        .store
        .list::<Template>(link.account)
        .await
        .expect("templates")
        .into_iter()
        .find(|t| t.name == "Offer")
        .expect("offer");
    let lead = h.world.lead.id.0;
    let post = |body: Vec<u8>| {
        Request::post("/kommo/salesbot")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("request")
    };
    let body = h
        .kommo
        .widget_request(lead, &json!({ "template_id": offer.id.0.to_string() }));
    assert_eq!(h.call(post(body)).await.0, StatusCode::OK);
    let answers = async {
        for _ in 0..100 {
            let got = h.kommo.bot_answers();
            if !got.is_empty() {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Vec::new()
    };
    let got = answers.await;
    assert_eq!(got.len(), 1, "the bot was not continued once: {got:?}");
    assert!(got[0].0.ends_with(&format!("/salesbot/321/continue/{lead}")), "{got:?}");
    assert_eq!(got[0].1["data"]["status"], "sent", "{got:?}");
    let mut query = EmailQuery::account(link.account, 10);
    query.entity = Some(h.world.lead);
    assert_eq!(h.store.list_emails(&query).await.expect("emails").len(), 1);

    // An unknown template: the bot is continued with the error.
    let body = h.kommo.widget_request(lead, &json!({ "template_id": 999_999 }));
    assert_eq!(h.call(post(body)).await.0, StatusCode::OK);
    let mut errors = Vec::new();
    for _ in 0..100 {
        errors = h.kommo.bot_answers();
        if errors.len() > 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[1].1["data"]["status"], "error", "{errors:?}");

    // A token signed with another secret is refused, and nothing is continued.
    let mut forged: serde_json::Value =
        serde_json::from_slice(&h.kommo.widget_request(lead, &json!({ "template_id": offer.id.0 }))).expect("json");
    forged["token"] = json!("eyJhbGciOiJIUzI1NiJ9.eyJhY2NvdW50X2lkIjozMTAwMDAwMX0.c2lnbmF0dXJl");
    assert_eq!(
        h.call(post(forged.to_string().into_bytes())).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn responsible_and_tag_webhooks_fire_their_pipeline_rules_once_however_often_redelivered() {
    let h = host(None).await;
    let link = h.install().await;
    configure(&h, link.account, None).await;
    let account = link.account;
    let store: &DynStore = &*h.store;
    let admin: User = store.list::<User>(account).await.expect("users").remove(0);
    let mailbox = store.list::<Mailbox>(account).await.expect("mailboxes").remove(0);
    let w = &h.world;
    let handed_over = tag_rule(
        &h,
        &admin,
        mailbox.id,
        "Your new manager",
        StageEvent::ResponsibleChanged,
        Vec::new(),
    )
    .await;
    let hot = tag_rule(
        &h,
        &admin,
        mailbox.id,
        "Hot offer",
        StageEvent::TagsChanged,
        vec!["hot".into()],
    )
    .await;
    let lead = second_lead(&h);
    let (pipeline, stage) = (w.pipeline.0, w.stages[0].0);
    let templates = |emails: &[mailer_core::model::Email]| -> Vec<TemplateId> {
        let mut ids: Vec<TemplateId> = emails.iter().filter_map(|e| e.spec.template).collect();
        ids.sort_unstable_by_key(|t| t.0);
        ids
    };

    // Responsible changed, delivered 3 times: one email from the rule on responsible changes.
    let responsible = format!(
        "leads[responsible][0][id]={}&leads[responsible][0][responsible_user_id]=77\
         &leads[responsible][0][old_responsible_user_id]={}&leads[responsible][0][status_id]={stage}\
         &leads[responsible][0][pipeline_id]={pipeline}&leads[responsible][0][updated_at]=1767000100\
         &account[id]={KOMMO_ACCOUNT}&account[subdomain]=fake",
        lead.id.0, w.manager.0
    );
    for _ in 0..3 {
        assert_eq!(
            h.post_form("/kommo/hooks/webhook", &responsible).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(h.work().await, 1, "one email for one responsible change");
    assert_eq!(templates(&sent_emails(&h, account).await), [handed_over]);

    // Tags: an update with the tag set {hot}, delivered twice and then again with another edit: one email.
    let update = |tags: &[&str], at: i64| {
        let mut body = format!(
            "leads[update][0][id]={}&leads[update][0][status_id]={stage}&leads[update][0][pipeline_id]={pipeline}\
             &leads[update][0][updated_at]={at}&account[id]={KOMMO_ACCOUNT}",
            lead.id.0
        );
        for (i, t) in tags.iter().enumerate() {
            body.push_str(&format!(
                "&leads[update][0][tags][{i}][id]={i}&leads[update][0][tags][{i}][name]={t}"
            ));
        }
        body
    };
    assert_eq!(
        h.post_form("/kommo/hooks/webhook", &update(&[], 1_767_000_150)).await.0,
        StatusCode::OK
    );
    assert_eq!(h.work().await, 0, "an update without tags is no tags event");
    // the lead in Kommo has no tag "hot" yet: the rule's filter holds the email back
    assert_eq!(
        h.post_form("/kommo/hooks/webhook", &update(&["cold"], 1_767_000_160))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(h.work().await, 0, "the filter wants the tag hot");
    h.kommo.write(lead, &json!({ "tags_to_add": [{ "name": "hot" }] }));
    for at in [1_767_000_200, 1_767_000_200, 1_767_000_300] {
        assert_eq!(
            h.post_form("/kommo/hooks/webhook", &update(&["hot"], at)).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(h.work().await, 1, "one email for the tag set {{hot}}");
    let mut both = [handed_over, hot];
    both.sort_unstable_by_key(|t| t.0);
    assert_eq!(templates(&sent_emails(&h, account).await), both);
    // the rule on stage events did not fire for these
    assert_eq!(sent_emails(&h, account).await.len(), 2);
}

/// A rule in "Qualified" on `on`, sending its own template `name` to leads with `tags_all`.
async fn tag_rule(
    h: &Host,
    admin: &User,
    mailbox: MailboxId,
    name: &str,
    on: StageEvent,
    tags_all: Vec<String>,
) -> TemplateId {
    let account = admin.account;
    let t = template(
        account,
        admin,
        name,
        "<p>Hello {{ contact.name }}</p>",
        EmailTriggers::default(),
    );
    let t = h.engine.save_template(admin.id, t).await.expect("template");
    let store: &DynStore = &*h.store;
    store
        .insert(PipelineRule {
            id: PipelineRuleId(0),
            account,
            pipeline: h.world.pipeline,
            stage: h.world.stages[0],
            on,
            filter: mailer_core::model::LeadFilter {
                tags_all,
                tags_none: Vec::new(),
            },
            template: t.id,
            mailbox,
            delay: Duration::ZERO,
        })
        .await
        .expect("rule");
    t.id
}
