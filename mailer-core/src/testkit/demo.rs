//! A small sample account for examples and docs: an admin with a mailbox, a welcome template and three
//! leads with one contact each in a [`ScriptCrm`].

use std::time::Duration;

use crate::engine::MailingRequest;
use crate::model::{
    Body, Content, Entity, EntityRef, Mailbox, NewAccount, RecipientRule, Template, TemplateId, Timezone, User,
};
use crate::ports::{DynStore, StoreError, StoreExt};

use super::ScriptCrm;
use super::fixture::{sample_mailbox, sample_user};

/// What [`seed_demo`] made.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The admin who sends.
    pub user: User,
    /// Their mailbox (spacing 200 ms).
    pub mailbox: Mailbox,
    /// The welcome template (Markdown).
    pub template: Template,
    /// The three leads.
    pub leads: Vec<EntityRef>,
    /// A mailing request for the template from the mailbox.
    pub request: MailingRequest,
}

/// Seeds the sample account into `store` and its leads into `crm`; the account signs its links with the
/// key named `signing_key_ref`.
///
/// # Errors
/// When the store fails.
pub async fn seed_demo(store: &DynStore, crm: &ScriptCrm, signing_key_ref: &str) -> Result<Demo, StoreError> {
    let account = store
        .create_account(NewAccount {
            name: "acme".into(),
            timezone: Timezone::UTC,
            signing_key_ref: signing_key_ref.into(),
        })
        .await?;
    let user = store.insert(sample_user(account.id)).await?;
    let mut mailbox = sample_mailbox(account.id, user.id, Default::default());
    mailbox.limits.spacing = Duration::from_millis(200);
    let mailbox = store.insert(mailbox).await?;
    let body = "Hello **{{ contact.name }}**,\n\nyour deal *{{ lead.name }}* \
                ({{ lead.price | default: \"no budget yet\" }}) is with {{ user.name | default: \"our team\" }}.";
    let template = store
        .insert(Template {
            id: TemplateId(0),
            account: account.id,
            name: "Welcome".into(),
            recipients: RecipientRule::EntityContacts,
            content: Content {
                subject: "Welcome aboard, {{ contact.name }}".into(),
                body: Body::Markdown(body.into()),
                text: None,
            },
            attachments: Vec::new(),
            triggers: Default::default(),
            owner: user.id,
            public: false,
            signature_disabled: false,
        })
        .await?;
    let people = [
        ("Roof repair", "Anna Smith", "anna@example.com"),
        ("New kitchen", "Boris Ivanov", "boris@example.com"),
        ("Garden", "Chen Wei", "chen@example.com"),
    ];
    let mut leads = Vec::new();
    for (id, (deal, name, email)) in (0i64..).zip(people) {
        let lead = EntityRef::lead(100 + id);
        let contact = EntityRef::contact(200 + id);
        let mut c = Entity::new(contact, name);
        c.emails = vec![email.into()];
        crm.put_entity(account.id, c);
        let mut l = Entity::new(lead, deal);
        l.price = (id != 2).then_some(1_000 * (id + 1));
        crm.put_entity(account.id, l);
        crm.link_contact(account.id, lead, contact.id);
        leads.push(lead);
    }
    let request = MailingRequest {
        account: account.id,
        sender: user.id,
        mailbox: mailbox.id,
        template: template.id,
        name: "Welcome".into(),
    };
    Ok(Demo {
        user,
        mailbox,
        template,
        leads,
        request,
    })
}
