//! A CRM other than Kommo, end to end: `JsonCrm` (in `custom_crm/adapter.rs`) keeps leads, contacts and
//! companies in one JSON file per account and implements the `Crm` port in about 250 lines. This example
//! seeds a sample account, sends it a templated email through the engine with the in-memory store and
//! the capturing transport, and fires an "opened" trigger that adds a note back into the JSON file.
//! `tests/custom_crm.rs` runs the CRM conformance suite against the same adapter, unchanged — do the same
//! for yours: `mailer::crm_conformance_tests!(setup);`.
//!
//! Run with:
//! ```sh
//! cargo run --example custom_crm --features testkit
//! ```

#[path = "custom_crm/adapter.rs"]
mod adapter;

use std::sync::Arc;
use std::time::Duration;

use adapter::JsonCrm;
use mailer::engine::{Draft, Engine, EngineConfig, HitInfo, Ports};
use mailer::model::{
    Action, Body, Content, EmailTriggers, NewAccount, Secret, Template, TemplateId, Timezone, Trigger, TriggerId,
};
use mailer::ports::{Store, StoreExt};
use mailer::testkit::fixture::{sample_mailbox, sample_user};
use mailer::testkit::{CaptureTransport, ManualClock, MemoryStore, StaticFetcher, block_on};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("mailer-custom-crm-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let crm = Arc::new(JsonCrm::open(&dir));
    let store = Arc::new(MemoryStore::new());
    let transport = Arc::new(CaptureTransport::new());
    let clock = Arc::new(ManualClock::at_default_start());
    let account = store
        .create_account(NewAccount {
            name: "tiny".into(),
            timezone: Timezone::UTC,
            signing_key_ref: "k".into(),
        })
        .await?;
    let world = adapter::seed_world(&crm, account.id)?;
    println!(
        "CRM data: {}",
        dir.join(format!("account-{}.json", account.id)).display()
    );

    let mut config = EngineConfig {
        tracking_base_url: "https://t.example.com".into(),
        ..EngineConfig::default()
    };
    config
        .signing_keys
        .insert("k".into(), Secret::new("an example signing key, 16+ bytes"));
    let ports = Ports {
        store: store.clone(),
        transport: transport.clone(),
        crm: crm.clone(),
        clock: clock.clone(),
        fetcher: Arc::new(StaticFetcher::default()),
    };
    let engine = Engine::new(ports, config);

    let user = store.insert(sample_user(account.id)).await?;
    // Every record after the first admin goes through the engine's admin use cases (rights, references,
    // the loop check), never straight into the store; a mailbox is read back without its password.
    let mailbox = engine
        .save_mailbox(user.id, sample_mailbox(account.id, user.id, Default::default()))
        .await?;
    let note = engine
        .save_trigger(
            user.id,
            Trigger {
                id: TriggerId(0),
                account: account.id,
                name: "Note on open".into(),
                action: Action::AddNote {
                    text: "{{ contact.name }} opened \"{subject}\"".into(),
                },
                delay: Duration::ZERO,
            },
        )
        .await?;
    let template = Template {
        id: TemplateId(0),
        account: account.id,
        name: "Welcome".into(),
        recipients: mailer::model::RecipientRule::EntityContacts,
        content: Content {
            subject: "Welcome, {{ company.name }}".into(),
            body: Body::Markdown("Hello **{{ contact.name }}**, your deal *{{ lead.name }}* is in good hands.".into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers: EmailTriggers {
            on_opened: vec![note.id],
            ..EmailTriggers::default()
        },
        owner: user.id,
        public: false,
        signature_disabled: false,
    };
    let template = engine.save_template(user.id, template).await?;
    let draft = Draft {
        account: account.id,
        sender: user.id,
        mailbox: mailbox.id,
        entity: Some(world.lead),
        template: Some(template.id),
        ..Draft::default()
    };
    let report = engine.send_single(&draft).await?;
    let sent = transport.sent();
    let message = &sent[0].message;
    println!(
        "email {} {:?}: \"{}\" to {:?}",
        report.email,
        report.outcome,
        message.subject,
        message.to.iter().map(|a| a.email.as_str()).collect::<Vec<_>>()
    );

    // The recipient opens it a minute later: the pixel's token is verified and the trigger writes a note.
    clock.advance(Duration::from_secs(60));
    let token = mailer::testkit::token_in(&message.html, "/t/o/").ok_or("no pixel")?;
    engine
        .record_hit(
            &token,
            &HitInfo {
                user_agent: Some("Mozilla/5.0 (Macintosh) Safari/605".into()),
                honeypot: false,
            },
        )
        .await?;
    let data = crm.load(account.id)?;
    println!("notes now in the JSON CRM: {:?}", data.notes);
    Ok(())
}
