//! Embedding mailer: SQLite as the store, the `.eml` transport (each message becomes a file), a few CRM
//! entities, one templated mailing, and the worker run until the queue is empty. The part a user writes is
//! the 15 lines of `main_job`; `setup` below only seeds the sample account and CRM (a real host has them).
//!
//! Run with:
//! ```sh
//! cargo run --example embed --features sql,smtp,http,testkit
//! ```

use std::sync::Arc;
use std::time::Duration;

use mailer::engine::{Engine, EngineConfig, MailingRequest, Ports};
use mailer::model::{AccountId, Body, Content, EmailQuery, EntityRef, NewAccount, RecipientRule, Secret, Template, TemplateId, Timezone, UserId, MailboxId};
use mailer::ports::{Store, StoreExt};
use mailer::smtp::EmlTransport;
use mailer::store::{SecretKey, SqlConfig, SqlStore};
use mailer::testkit::fixture::{sample_mailbox, sample_user};
use mailer::http::HttpFetcher;
use mailer::testkit::ScriptCrm;
use mailer::{SystemClock, worker};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mailer-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    main_job(&dir).await
}

/// What a user writes: open the store, pick the transport, wire the engine, start a mailing, run the worker.
async fn main_job(dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let db = format!("sqlite://{}?mode=rwc", dir.join("mailer.db").display());
    let store = Arc::new(SqlStore::connect(&SqlConfig::new(db, SecretKey::generate())).await?);
    let transport = Arc::new(EmlTransport::new(dir.join("outbox")));
    let crm = Arc::new(ScriptCrm::new());
    let (account, user, mailbox, template, leads) = setup(&store, &crm).await?;
    let mut config = EngineConfig { tracking_base_url: "https://mailer.example.com".into(), ..EngineConfig::default() };
    config.signing_keys.insert("main".into(), Secret::new("change me: a signing key of 16+ bytes"));
    let ports = Ports { store, transport, crm, clock: Arc::new(SystemClock), fetcher: Arc::new(HttpFetcher::new()?) };
    let engine = Engine::new(ports, config);
    let request = MailingRequest { account, sender: user, mailbox, template, name: "Welcome".into() };
    let started = engine.start_mailing(&request, leads).await?;
    let report = worker::drain(&engine, account, Duration::from_millis(200)).await?;
    print_summary(&engine, account, started.queued, &report, dir).await
}

/// Seeds the sample account: an admin with a mailbox (spacing lowered to 200 ms), a template, and three
/// leads with contacts in the CRM.
async fn setup(store: &SqlStore, crm: &ScriptCrm) -> Result<(AccountId, UserId, MailboxId, TemplateId, Vec<EntityRef>), Box<dyn std::error::Error>> {
    let account = store.create_account(NewAccount { name: "acme".into(), timezone: Timezone::UTC, signing_key_ref: "main".into() }).await?;
    let user = store.insert(sample_user(account.id)).await?;
    let mut mailbox = sample_mailbox(account.id, user.id, Default::default());
    mailbox.limits.spacing = Duration::from_millis(200);
    let mailbox = store.insert(mailbox).await?;
    let template = store
        .insert(Template {
            id: TemplateId(0),
            account: account.id,
            name: "Welcome".into(),
            recipients: RecipientRule::EntityContacts,
            content: Content {
                subject: "Welcome aboard, {{ contact.name }}".into(),
                body: Body::Markdown("Hello **{{ contact.name }}**,\n\nyour deal *{{ lead.name }}* ({{ lead.price | default: \"no budget yet\" }}) is with {{ user.name | default: \"our team\" }}.".into()),
                text: None,
            },
            attachments: Vec::new(),
            triggers: Default::default(),
            owner: user.id,
            public: false,
            signature_disabled: false,
        })
        .await?;
    let mut leads = Vec::new();
    for (i, (name, contact, email)) in [("Roof repair", "Anna Smith", "anna@example.com"), ("New kitchen", "Boris Ivanov", "boris@example.com"), ("Garden", "Chen Wei", "chen@example.com")].into_iter().enumerate() {
        let id = i64::try_from(i).unwrap_or_default();
        let lead = EntityRef::lead(100 + id);
        let person = EntityRef::contact(200 + id);
        let mut c = mailer::model::Entity::new(person, contact);
        c.emails = vec![email.into()];
        crm.put_entity(account.id, c);
        let mut l = mailer::model::Entity::new(lead, name);
        l.price = (i != 2).then_some(1_000 * (id + 1));
        crm.put_entity(account.id, l);
        crm.link_contact(account.id, lead, person.id);
        leads.push(lead);
    }
    Ok((account.id, user.id, mailbox.id, template.id, leads))
}

async fn print_summary(engine: &Engine, account: AccountId, queued: u64, report: &mailer::engine::StepReport, dir: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("queued {queued} emails; the worker sent {}, retried {}, failed {}", report.sent, report.retried, report.failed);
    for entry in engine.history(&EmailQuery::account(account, 100)).await? {
        let sent_at = entry.email.sent_at.map(|t| t.format("%H:%M:%S%.3f").to_string());
        let events: Vec<String> = entry.events.iter().map(|e| format!("{:?}", e.event.kind)).collect();
        let lead = entry.email.spec.entity.map(|e| e.id.0).unwrap_or_default();
        println!("  email {} to the contacts of lead {lead}: {:?} at {sent_at:?}; events {events:?}", entry.email.id, entry.email.status);
    }
    println!("messages written to {}", dir.join("outbox").display());
    for file in std::fs::read_dir(dir.join("outbox"))? {
        println!("  {}", file?.file_name().to_string_lossy());
    }
    Ok(())
}
