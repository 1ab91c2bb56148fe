//! Sample records and a per-test fixture: a fresh account with a user and a mailbox.

use std::time::Duration;

use crate::model::{
    Account, AccountId, Action, Address, Body, Content, EmailId, EmailSpec, EmailTriggers, Mailbox, MailboxId, Mailing,
    MailingId, MailingStatus, NewAccount, PipelineRule, Priority, RecipientRule, Role, Secret, Security, SendingLimits,
    ServerSettings, StageEvent, Template, TemplateId, Timestamp, Timezone, Trigger, TriggerId, TriggerLink,
    TriggerLinkId, User, UserId, WebPage, WebPageId, WorkerId,
};
use crate::ports::{DynStore, StoreExt};

use super::default_start;

/// How long [`StoreFixture::claimed_email`] and the store conformance cases hold a claimed email.
pub(crate) const LEASE: Duration = Duration::from_secs(60);

/// A user (admin) of `account`; the store assigns the id on insert.
pub fn sample_user(account: AccountId) -> User {
    User {
        id: UserId(0),
        account,
        crm_user: None,
        name: "Maria Manager".into(),
        role: Role::Admin,
        signature_html: "<p>--<br>Maria Manager, Acme</p>".into(),
    }
}

/// A mailbox of `owner` on a local server with `limits`.
pub fn sample_mailbox(account: AccountId, owner: UserId, limits: SendingLimits) -> Mailbox {
    Mailbox {
        id: MailboxId(0),
        account,
        owner,
        from: Address {
            name: Some("Maria Manager".into()),
            email: "maria@example.com".into(),
        },
        smtp: ServerSettings {
            host: "127.0.0.1".into(),
            port: 2525,
            security: Security::Plain,
        },
        imap: Some(ServerSettings {
            host: "127.0.0.1".into(),
            port: 1143,
            security: Security::Plain,
        }),
        login: "maria@example.com".into(),
        password: Secret::new("secret"),
        sent_folder: None,
        limits,
        timezone: Timezone::UTC,
        health: None,
    }
}

/// A small HTML template owned by `owner`.
pub fn sample_template(account: AccountId, owner: UserId) -> Template {
    Template {
        id: TemplateId(0),
        account,
        name: "Offer".into(),
        recipients: RecipientRule::EntityContacts,
        content: Content {
            subject: "Offer for {{ lead.name }}".into(),
            body: Body::Html("<p>Hello {{ contact.name }}, <a href=\"{triggerlink:1}\">read the offer</a></p>".into()),
            text: None,
        },
        attachments: Vec::new(),
        triggers: EmailTriggers::default(),
        owner,
        public: false,
        signature_disabled: false,
    }
}

/// A trigger that adds a note.
pub fn sample_trigger(account: AccountId) -> Trigger {
    Trigger {
        id: TriggerId(0),
        account,
        name: "Add note".into(),
        action: Action::AddNote {
            text: "Email {subject} sent {sended_at}".into(),
        },
        delay: Duration::ZERO,
    }
}

/// A one-time trigger link.
pub fn sample_link(account: AccountId) -> TriggerLink {
    TriggerLink {
        id: TriggerLinkId(0),
        account,
        name: "Link to the offer".into(),
        once: true,
        redirect: Some("https://example.com/offer.pdf".into()),
        triggers: Vec::new(),
    }
}

/// A web page.
pub fn sample_page(account: AccountId) -> WebPage {
    WebPage {
        id: WebPageId(0),
        account,
        header: "Your offer".into(),
        slug: "offer".into(),
        content: Content {
            subject: String::new(),
            body: Body::Markdown("# Hello {{ lead.name }}".into()),
            text: None,
        },
        lifetime_days: 30,
        cache: Duration::from_secs(600),
        subdomain: None,
        on_open: Vec::new(),
        metric_counter: None,
        gtm_id: None,
    }
}

/// A digital-pipeline rule.
pub fn sample_rule(account: AccountId, template: TemplateId, mailbox: MailboxId) -> PipelineRule {
    PipelineRule {
        id: crate::model::PipelineRuleId(0),
        account,
        pipeline: crate::model::PipelineId(1),
        stage: crate::model::StageId(10),
        on: StageEvent::CreatedOrMovedIn,
        filter: crate::model::LeadFilter::default(),
        template,
        mailbox,
        delay: Duration::ZERO,
    }
}

/// A running mailing.
pub fn sample_mailing(
    account: AccountId,
    template: TemplateId,
    mailbox: MailboxId,
    sender: UserId,
    now: Timestamp,
) -> Mailing {
    Mailing {
        id: MailingId(0),
        account,
        name: "Spring offer".into(),
        template,
        mailbox,
        sender,
        status: MailingStatus::Running,
        total: 0,
        created_at: now,
    }
}

/// A fresh account with an admin user and one mailbox, in a shared store: each test makes its own, so tests
/// never see each other's data.
#[derive(Debug)]
pub struct StoreFixture<'a> {
    /// The store.
    pub store: &'a DynStore,
    /// The account.
    pub account: Account,
    /// Its admin user.
    pub user: User,
    /// Its mailbox (default limits: 1 s spacing, 2,000 a day).
    pub mailbox: Mailbox,
    /// The test's "now".
    pub now: Timestamp,
}

impl<'a> StoreFixture<'a> {
    /// Creates the account, user and mailbox.
    ///
    /// # Panics
    /// When the store fails: this is test support.
    pub async fn new(store: &'a DynStore) -> Self {
        let account = store
            .create_account(NewAccount {
                name: "acme".into(),
                timezone: Timezone::UTC,
                signing_key_ref: "default".into(),
            })
            .await
            .expect("create account");
        let user = store.insert(sample_user(account.id)).await.expect("insert user");
        let mailbox = store
            .insert(sample_mailbox(account.id, user.id, SendingLimits::default()))
            .await
            .expect("insert mailbox");
        Self {
            store,
            account,
            user,
            mailbox,
            now: default_start(),
        }
    }

    /// Adds another mailbox with these limits.
    ///
    /// # Panics
    /// When the store fails.
    pub async fn add_mailbox(&self, limits: SendingLimits) -> Mailbox {
        self.store
            .insert(sample_mailbox(self.account.id, self.user.id, limits))
            .await
            .expect("insert mailbox")
    }

    /// Queues a single email from `mailbox` to `to` (as [`StoreFixture::email`]) and claims it for `worker`
    /// now; answers its id.
    ///
    /// # Panics
    /// When the store fails or the email cannot be claimed now (the mailbox's spacing or caps hold it back).
    pub async fn claimed_email(&self, mailbox: &Mailbox, to: &str, worker: &WorkerId) -> EmailId {
        let id = self
            .store
            .enqueue_one(self.email(mailbox, to))
            .await
            .expect("enqueue")
            .id;
        let claimed = self
            .store
            .claim_email(self.account.id, id, worker, self.now, LEASE)
            .await
            .expect("claim");
        assert!(claimed.is_some(), "the email to {to} could not be claimed now");
        id
    }

    /// A single email from `mailbox` to `to@example.com`, due now.
    pub fn email(&self, mailbox: &Mailbox, to: &str) -> EmailSpec {
        EmailSpec {
            account: self.account.id,
            mailbox: mailbox.id,
            sender: self.user.id,
            entity: None,
            template: None,
            to_entity_contacts: false,
            to: vec![Address {
                name: None,
                email: to.into(),
            }],
            cc: Vec::new(),
            bcc: Vec::new(),
            content: Content {
                subject: "Hello".into(),
                body: Body::Html("<p>Hi</p>".into()),
                text: None,
            },
            attachments: Vec::new(),
            triggers: EmailTriggers::default(),
            signature_disabled: false,
            message_id: format!("{to}.{}@mailer.test", self.account.id),
            idempotency_key: None,
            mailing: None,
            priority: Priority::Single,
            seq: 0,
            not_before: self.now,
            created_at: self.now,
            override_suppression: false,
        }
    }

    /// The `seq`-th email of `mailing`.
    pub fn mailing_email(&self, mailbox: &Mailbox, mailing: MailingId, seq: i64) -> EmailSpec {
        let mut spec = self.email(mailbox, &format!("m{}-{seq}@example.com", mailing.0));
        spec.mailing = Some(mailing);
        spec.priority = Priority::Mailing;
        spec.seq = seq;
        spec.idempotency_key = Some(format!("mailing:{}:{seq}", mailing.0));
        spec
    }

    /// The worker named `w<n>`.
    pub fn worker(n: u32) -> WorkerId {
        WorkerId(format!("w{n}"))
    }

    /// `now` plus `d`.
    pub fn at(&self, d: Duration) -> Timestamp {
        self.now + chrono::Duration::from_std(d).unwrap_or_default()
    }
}
