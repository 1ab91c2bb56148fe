//! Fills a SQLite store with a queued mailing for the pipeline and memory benchmarks
//! (`benches/pipeline_throughput.sh`, `benches/memory_flat.sh`), which then run `mailer-server worker` on it.
//!
//! It makes an account, `MAILBOXES` mailboxes sending to an SMTP sink with their limits lifted, and one
//! mailing per mailbox, `EMAILS` emails in all, each to its own address, the same HTML body of about
//! `BODY_BYTES` with a few Liquid outputs (rendered at send time, text part derived, tracking pixel and
//! unsubscribe link added). The emails carry their recipients (no CRM entity), so the worker needs no CRM.
//!
//! Two things are done past the engine on purpose, because a benchmark needs what the product refuses:
//! the mailboxes' limits are written to the store directly (the admin accepts no spacing under 1 s), and
//! the emails are queued with `Store::enqueue` in batches of 10,000 (a mailing's start reads its entities
//! from the CRM). Everything else is made through the engine's admin use cases.
//!
//! Usage: `MAILER_SECRET_KEY=<base64 of 32 bytes> bench_queue <database_url> <EMAILS> <MAILBOXES>
//! <sink host:port> <BODY_BYTES>`; prints `queued=<n>` when done.

use std::sync::Arc;
use std::time::Duration;

use mailer_core::engine::{Engine, EngineConfig, Ports};
use mailer_core::model::{
    AccountId, Address, AttachmentRef, Body, CapWindow, Content, EmailSpec, EmailTriggers, Mailbox, Mailing, MailingId,
    MailingStatus, NewAccount, Priority, Secret, Security, SendingLimits, ServerSettings, Template, Timezone,
};
use mailer_core::ports::{DynStore, StoreExt, SystemClock};
use mailer_core::testkit::fixture::{sample_mailbox, sample_template, sample_user};
use mailer_core::testkit::{CaptureTransport, ScriptCrm, StaticFetcher};
use mailer_store_sql::{SecretKey, SqlConfig, SqlStore};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const BATCH: usize = 10_000;

struct Args {
    url: String,
    emails: usize,
    mailboxes: usize,
    sink: ServerSettings,
    body_bytes: usize,
}

fn args() -> Result<Args, BoxError> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let [url, emails, mailboxes, sink, body_bytes] = a.as_slice() else {
        return Err("usage: bench_queue <database_url> <EMAILS> <MAILBOXES> <sink host:port> <BODY_BYTES>".into());
    };
    let (host, port) = sink.rsplit_once(':').ok_or("the sink is host:port")?;
    Ok(Args {
        url: url.clone(),
        emails: emails.parse()?,
        mailboxes: mailboxes.parse::<usize>()?.max(1),
        sink: ServerSettings {
            host: host.to_owned(),
            port: port.parse()?,
            security: Security::Plain,
        },
        body_bytes: body_bytes.parse()?,
    })
}

/// An HTML newsletter of about `bytes`: paragraphs with a few outputs, like a real mailing.
fn body(bytes: usize) -> String {
    let mut html = String::from("<html><body><h1>Hello {{ contact.name }}!</h1>\n");
    let mut n = 0;
    while html.len() < bytes {
        n += 1;
        html.push_str(&format!(
            "<p>Paragraph {n} of our newsletter for <b>{{{{ contact.name }}}}</b>: prices, news and offers \
             that matter to you, with a <a href=\"https://example.com/news/{n}\">link to read more</a>.</p>\n"
        ));
    }
    html.push_str("<p>Sent on {{ 'now' | date: '%Y-%m-%d' }}.</p></body></html>\n");
    html
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let args = args()?;
    let key = SecretKey::from_base64(&std::env::var("MAILER_SECRET_KEY")?)?;
    let store = Arc::new(SqlStore::connect(&SqlConfig::new(args.url.clone(), key)).await?);
    let dyn_store: Arc<DynStore> = store.clone();
    let ports = Ports {
        store: dyn_store.clone(),
        transport: Arc::new(CaptureTransport::new()),
        crm: Arc::new(ScriptCrm::new()),
        clock: Arc::new(SystemClock),
        fetcher: Arc::new(StaticFetcher::default()),
    };
    let engine = Engine::new(ports, EngineConfig::default());
    let (account, user) = engine
        .create_account(
            NewAccount {
                name: "Bench".into(),
                timezone: Timezone::UTC,
                signing_key_ref: "bench".into(),
            },
            sample_user(AccountId(0)),
        )
        .await?;
    let mut template: Template = sample_template(account.id, user.id);
    template.content = Content {
        subject: "News for {{ contact.name }}".into(),
        body: Body::Html(body(args.body_bytes)),
        text: None,
    };
    let template = engine.save_template(user.id, template).await?;
    let lifted = SendingLimits {
        spacing: Duration::ZERO,
        daily_cap: SendingLimits::NO_DAILY_CAP,
        window: CapWindow::Rolling24h,
        per_minute_cap: None,
    };
    let mut mailboxes = Vec::with_capacity(args.mailboxes);
    for m in 0..args.mailboxes {
        let mut mailbox = sample_mailbox(account.id, user.id, SendingLimits::default());
        mailbox.from = Address {
            name: Some(format!("Sender {m}").into()),
            email: format!("sender{m}@bench.test"),
        };
        mailbox.smtp = args.sink.clone();
        mailbox.imap = None;
        mailbox.login = format!("sender{m}@bench.test");
        mailbox.password = Secret::new("bench");
        let saved = engine.save_mailbox(user.id, mailbox).await?;
        let mut mailbox: Mailbox = dyn_store.get(account.id, saved.id).await?;
        mailbox.limits = lifted.clone();
        dyn_store.update(&mailbox).await?;
        let mailing = dyn_store
            .insert(Mailing {
                id: MailingId(0),
                account: account.id,
                name: format!("Bench mailing {m}"),
                template: template.id,
                mailbox: mailbox.id,
                sender: user.id,
                status: MailingStatus::Running,
                total: 0,
                created_at: chrono::Utc::now(),
            })
            .await?;
        mailboxes.push((mailbox.id, mailing.id));
    }
    let now = chrono::Utc::now();
    let mut queued = 0usize;
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..args.emails {
        let (mailbox, mailing) = mailboxes[i % mailboxes.len()];
        batch.push(EmailSpec {
            account: account.id,
            mailbox,
            sender: user.id,
            entity: None,
            template: Some(template.id),
            to_entity_contacts: false,
            to: vec![Address {
                name: Some(format!("Reader {i}").into()),
                email: format!("reader{i}@example.test"),
            }],
            cc: Vec::new(),
            bcc: Vec::new(),
            content: template.content.clone(),
            attachments: Vec::<AttachmentRef>::new(),
            triggers: EmailTriggers::default(),
            signature_disabled: false,
            message_id: format!("bench-{i}.a{}@bench.test", account.id.0),
            idempotency_key: None,
            mailing: Some(mailing),
            priority: Priority::Mailing,
            seq: i64::try_from(i / mailboxes.len())?,
            not_before: now,
            created_at: now,
            override_suppression: false,
        });
        if batch.len() == BATCH {
            queued += dyn_store.enqueue(std::mem::take(&mut batch)).await?.len();
        }
    }
    if !batch.is_empty() {
        queued += dyn_store.enqueue(batch).await?.len();
    }
    println!("queued={queued}");
    Ok(())
}
