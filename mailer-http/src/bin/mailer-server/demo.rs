//! `mailer-server demo`: the whole loop on this machine with no outside service. SQLite under the demo
//! folder (made afresh each run), a fake Kommo on a loopback port (seeded with a pipeline, fields, a lead
//! and two contacts) that the real Kommo client talks to over HTTP, an `.eml` outbox, and the manual's
//! worked example: the "Offer" template with a trigger link, its triggers, a web page and a form. Every
//! record is made through the engine's admin use cases, as an operator's would be.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mailer_core::engine::admin::bounds::MIN_SPACING;
use mailer_core::engine::{Engine, MailingRequest};
use mailer_core::model::{
    Account, AccountId, Action, Assignee, Body, Content, Deadline, EmailQuery, EmailTriggers, EntityKind, EntityRef,
    NewAccount, NotOpened, PipelineRule, PipelineRuleId, RecipientRule, SendingLimits, StageEvent, Template,
    TemplateId, Timezone, Trigger, TriggerId, TriggerLink, TriggerLinkId, User, WebPage,
};
use mailer_core::template::{TokenKind, TrackingToken};
use mailer_core::testkit::World;
use mailer_core::testkit::fixture::{sample_mailbox, sample_page, sample_user};
use mailer_http::Metrics;
use mailer_kommo::fake::FakeKommo;
use mailer_kommo::{KommoClient, KommoCrm, MemoryTokenStore};
use mailer_store_sql::SecretKey;
use tokio::net::TcpListener;

use crate::BoxError;
use crate::config::Config;
use crate::{serve, wiring};

const HOUR: Duration = Duration::from_secs(3600);

/// Where the demo listens and keeps its files.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DemoArgs {
    /// The HTTP port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The demo's folder (database and outbox); its database is made afresh.
    #[arg(long, default_value = "mailer-demo")]
    dir: PathBuf,
    /// Requests per second one client may make to the public routes (0: no limit, for load tests).
    #[arg(long, default_value_t = 20.0)]
    rate_per_second: f64,
}

/// What the seeding made.
struct Seeded {
    user: User,
    mailbox: mailer_core::engine::admin::MailboxView,
    offer: Template,
    link: TriggerLink,
    page: WebPage,
}

pub(crate) async fn run(args: DemoArgs) -> Result<(), BoxError> {
    std::fs::create_dir_all(&args.dir)?;
    let db = args.dir.join("mailer.db");
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", db.display()));
        if file.exists() {
            std::fs::remove_file(&file)?;
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    let base = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let kommo = FakeKommo::start().await?;
    let outbox = args.dir.join("outbox");
    let mut config = Config {
        database_url: format!("sqlite://{}?mode=rwc", db.display()),
        secret_key: Some(SecretKey::generate().to_base64()),
        tracking_base_url: base.clone(),
        workers: 2,
        worker_idle_ms: 200,
        shutdown_grace_secs: 10,
        outbox: Some(outbox.clone()),
        message_id_domain: "demo.mailer.invalid".into(),
        worker_name: Some("demo".into()),
        ..Config::default()
    };
    config.http.rate_per_second = args.rate_per_second;
    config
        .signing_keys
        .insert("demo".into(), "demo-signing-key: change me in production".into());
    let store = wiring::store(&config).await?;
    let crm = Arc::new(KommoCrm::new());
    let transport = Arc::new(mailer_smtp::EmlTransport::new(outbox.clone()));
    let wired = wiring::wire(&config, store, transport, crm.clone(), Arc::new(Metrics::default()))?;
    let engine = wired.engine("setup");
    let (account, user) = engine
        .create_account(
            NewAccount {
                name: "Acme (demo)".into(),
                timezone: Timezone::UTC,
                signing_key_ref: "demo".into(),
            },
            sample_user(AccountId(0)),
        )
        .await?;
    // The fake Kommo's data and the client are made for the account's id.
    let world = kommo.seed_world(account.id);
    let tokens = Arc::new(MemoryTokenStore::with(account.id, kommo.issue_tokens()));
    let client = KommoClient::builder(kommo.base_url())
        .oauth(kommo.app(), tokens, account.id)
        .with_observer(wired.metrics.clone())
        .build()?;
    crm.add_account(account.id, client);
    let seeded = seed(&engine, &account, user, &world).await?;
    let more_leads = add_leads(&kommo, &world);
    let (_, ui_token) =
        mailer_http::api::tokens::create_token(&engine, account.id, seeded.user.id, seeded.user.id, "demo UI")
            .await
            .map_err(|e| BoxError::from(e.to_string()))?;
    let started = engine
        .start_mailing(
            &MailingRequest {
                account: account.id,
                sender: seeded.user.id,
                mailbox: seeded.mailbox.id,
                template: seeded.offer.id,
                name: "Offer".into(),
            },
            vec![world.lead],
        )
        .await?;
    let first = engine
        .history(&EmailQuery::account(account.id, 1))
        .await?
        .into_iter()
        .next()
        .ok_or("the mailing queued no email")?
        .email;
    let links = engine.links(&account)?;
    let token = |kind, email| TrackingToken {
        kind,
        account: account.id,
        email,
        recipient: "anna@example.com".into(),
        entity: world.lead,
        preview: false,
        issued_at: chrono::Utc::now(),
    };
    println!(
        "mailer demo: {} email(s) queued in the mailing \"Offer\"",
        started.queued
    );
    println!("  database        {}", db.display());
    println!("  outbox (.eml)   {}", outbox.display());
    println!(
        "  fake Kommo      {} (Kommo API v4; the lead is {})",
        kommo.base_url(),
        world.lead.id.0
    );
    println!(
        "  more leads      {} (for a mailing to several)",
        more_leads
            .iter()
            .map(|l| l.id.0.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("open, for the first email ({}):", first.id);
    println!(
        "  open pixel      {}",
        links.url(&token(TokenKind::Open, Some(first.id)))
    );
    println!(
        "  trigger link    {}",
        links.url(&token(TokenKind::Click(seeded.link.id), Some(first.id)))
    );
    println!(
        "  web version     {}",
        links.url(&token(TokenKind::WebVersion, Some(first.id)))
    );
    println!(
        "  web page        {}",
        links.url(&token(TokenKind::Page(seeded.page.id), None))
    );
    println!(
        "  unsubscribe     {}",
        links.url(&token(TokenKind::Unsubscribe, Some(first.id)))
    );
    println!("  metrics         {base}/metrics");
    println!("  operator UI     {base}/ui (sign in with {ui_token})");
    println!("a line follows per email sent and per CRM change; Ctrl-C stops.");
    serve::run(&config, &wired, Some(listener), None).await
}

/// Two more leads in the first stage, each with a contact, so a mailing can go to several leads.
fn add_leads(kommo: &FakeKommo, world: &World) -> Vec<EntityRef> {
    [("Offer for Globex", world.anna), ("Offer for Initech", world.boris)]
        .into_iter()
        .map(|(name, contact)| {
            let lead = kommo.add_entity(EntityKind::Lead, name);
            kommo.write(
                lead,
                &serde_json::json!({ "price": 3000, "pipeline_id": world.pipeline.0, "status_id": world.stages[0].0 }),
            );
            kommo.link_contact(lead, contact);
            lead
        })
        .collect()
}

async fn trigger(engine: &Engine, user: &User, name: &str, action: Action) -> Result<TriggerId, BoxError> {
    let t = Trigger {
        id: TriggerId(0),
        account: user.account,
        name: name.into(),
        action,
        delay: Duration::ZERO,
    };
    Ok(engine.save_trigger(user.id, t).await?.id)
}

/// A template named `name` whose subject is `subject` (the fake's leads are named "Offer for …", so a subject
/// made of the template's name and the lead's would say "Offer" twice).
fn template(
    account: &Account,
    owner: &User,
    name: &str,
    subject: &str,
    body: String,
    triggers: EmailTriggers,
) -> Template {
    Template {
        id: TemplateId(0),
        account: account.id,
        name: name.into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: subject.into(),
            body: Body::Html(body),
            text: None,
        },
        attachments: Vec::new(),
        triggers,
        owner: owner.id,
        public: false,
        signature_disabled: false,
    }
}

/// The manual's "Widget setup example": sent when a lead reaches "Qualified"; after sending the lead moves
/// to "Offer sent"; an open sets the task "Call the client"; the one-time trigger link moves the lead to
/// "Familiar with the offer"; not opened within 24 hours, a reminder goes out.
async fn seed(engine: &Engine, account: &Account, user: User, world: &World) -> Result<Seeded, BoxError> {
    let limits = SendingLimits {
        spacing: MIN_SPACING,
        ..SendingLimits::default()
    };
    let mailbox = engine
        .save_mailbox(user.id, sample_mailbox(account.id, user.id, limits))
        .await?;
    let stage = |i: usize| Action::ChangeStage {
        pipeline: world.pipeline,
        stage: world.stages[i],
    };
    let offer_sent = trigger(engine, &user, "Change stage to Offer sent", stage(1)).await?;
    let set_task = trigger(
        engine,
        &user,
        "Set task",
        Action::SetTask {
            task_type: 1,
            deadline: Deadline::After(HOUR),
            assignee: Assignee::Responsible,
            text: "Call the client that has opened the offer {subject}".into(),
        },
    )
    .await?;
    let familiar = trigger(engine, &user, "Change stage to Familiar with the offer", stage(2)).await?;
    let link = engine
        .save_trigger_link(
            user.id,
            TriggerLink {
                id: TriggerLinkId(0),
                account: account.id,
                name: "Link to the offer".into(),
                once: true,
                redirect: Some("https://example.com/offer.pdf".into()),
                triggers: vec![familiar],
            },
        )
        .await?;
    let mut page = sample_page(account.id);
    page.header = "Your offer".into();
    let page = engine.save_web_page(user.id, page).await?;
    let reminder_body = "<p>Did you see our offer, {{ contact.name }}?</p>".to_owned();
    let reminder = engine
        .save_template(
            user.id,
            template(
                account,
                &user,
                "Offer reminder",
                "Reminder: {{ lead.name }}",
                reminder_body,
                EmailTriggers::default(),
            ),
        )
        .await?;
    let resend = trigger(
        engine,
        &user,
        "Resend email",
        Action::SendEmail { template: reminder.id },
    )
    .await?;
    let body = format!(
        "<p>Hello {{{{ contact.name }}}}!</p>\
         <p><a href=\"{{triggerlink:{link}}}\">Read the offer</a> or <a href=\"{{web:{page}}}\">see it online</a>.</p>\
         <form action=\"{{formlink}}\" method=\"post\"><label>A comment <input name=\"lead[{comment}]\"></label>\
         <button type=\"submit\">Send</button></form>\
         <p><a href=\"{{unsubscribe}}\">Unsubscribe</a></p>",
        link = link.id,
        page = page.id,
        comment = world.comment.0,
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
    let offer = engine
        .save_template(
            user.id,
            template(account, &user, "Offer", "{{ lead.name }}", body, triggers),
        )
        .await?;
    engine
        .save_pipeline_rule(
            user.id,
            PipelineRule {
                id: PipelineRuleId(0),
                account: account.id,
                pipeline: world.pipeline,
                stage: world.stages[0],
                on: StageEvent::CreatedOrMovedIn,
                filter: Default::default(),
                template: offer.id,
                mailbox: mailbox.id,
                delay: Duration::ZERO,
            },
        )
        .await?;
    Ok(Seeded {
        user,
        mailbox,
        offer,
        link,
        page,
    })
}
