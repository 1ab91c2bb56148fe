//! Templates: save (with every check the widget makes on save), save a draft as a template, list the ones
//! a user may use, delete.

use crate::model::{AccountId, RecipientRule, Template, TemplateId, UserId};
use crate::ports::StoreExt;
use crate::template::CompiledTemplate;

use super::references::{Target, stored_files};
use super::{Config, actor, bounds, check_name, put, refuse_in_use, store_record};
use crate::engine::{Draft, Engine, EngineError, rights};

impl Engine {
    /// Saves a template for `user` (new when its id is 0): checks rights (a member saves their own, only
    /// an admin changes the owner or makes it public), compiles it against the account's trigger links and
    /// web pages (unknown `{triggerlink:N}` / `{web:N}` are refused with line and column), checks that its
    /// owner, triggers and stored attachments exist (each of the size it claims), bounds its not-opened timer, and refuses it when it
    /// would close an automation loop that runs without the recipient.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`], [`EngineError::Invalid`], [`EngineError::Template`],
    /// [`EngineError::Trigger`], [`EngineError::UnknownReference`], [`EngineError::Loop`],
    /// [`EngineError::Store`] (`NotFound` for an unknown user or template id).
    pub async fn save_template(&self, user: UserId, template: Template) -> Result<Template, EngineError> {
        let store = &*self.ports.store;
        let account = template.account;
        let user = actor(store, account, user).await?;
        let old: Option<Template> = if template.id.0 == 0 {
            None
        } else {
            Some(store.get(account, template.id).await?)
        };
        rights::check_save(&user, old.as_ref(), &template)?;
        check_name("name", &template.name, 200)?;
        let mut config = Config::load(store, account).await?;
        CompiledTemplate::compile(&template.content, &config.compile_options())?;
        bounds::check_email_triggers(&template.triggers)?;
        config.check_template_refs(&template)?;
        for (field, file, size) in stored_files(&template.attachments) {
            let Ok(stored) = self.ports.store.get_file(account, file).await else {
                return Err(EngineError::UnknownReference { field, id: file.0 });
            };
            // The limits below add the sizes the references claim: a claim must be the file's own.
            let actual = stored.file.bytes.len() as u64;
            if actual != size {
                return Err(crate::error::ValidationError::Malformed {
                    field: "attachments",
                    reason: format!("file {file} has {actual} bytes, not {size}"),
                }
                .into());
            }
        }
        let limits = &self.config.limits;
        limits.check_files(&template.attachments, limits.template_attachments)?;
        put(&mut config.templates, template.clone());
        config.check_loops()?;
        store_record(store, template).await
    }

    /// Saves a composed email, with its attachments and triggers, as a new template of the sender.
    ///
    /// # Errors
    /// As [`Engine::compose`] and [`Engine::save_template`].
    pub async fn save_as_template(&self, draft: &Draft, name: &str) -> Result<Template, EngineError> {
        let spec = self.compose(draft).await?;
        let template = Template {
            id: TemplateId(0),
            account: draft.account,
            name: name.to_owned(),
            recipients: match spec.to.first() {
                Some(address) if !spec.to_entity_contacts => RecipientRule::Fixed {
                    address: address.clone(),
                },
                _ => RecipientRule::EntityContacts,
            },
            content: spec.content,
            attachments: spec.attachments,
            triggers: spec.triggers,
            owner: draft.sender,
            public: false,
            signature_disabled: spec.signature_disabled,
        };
        self.save_template(draft.sender, template).await
    }

    /// The templates `user` may see and use: their own and public ones (all of the account's for an admin).
    ///
    /// # Errors
    /// [`EngineError::Store`].
    pub async fn templates_for(&self, account: AccountId, user: UserId) -> Result<Vec<Template>, EngineError> {
        let user = actor(&*self.ports.store, account, user).await?;
        let all: Vec<Template> = self.ports.store.list(account).await?;
        Ok(all.into_iter().filter(|t| rights::can_use(&user, t)).collect())
    }

    /// Deletes a template `user` may edit, unless a trigger or pipeline rule sends it.
    ///
    /// # Errors
    /// [`EngineError::Forbidden`]; [`EngineError::InUse`] listing the triggers and rules that send it;
    /// [`EngineError::Store`] (`NotFound`).
    pub async fn delete_template(&self, account: AccountId, user: UserId, id: TemplateId) -> Result<(), EngineError> {
        let store = &*self.ports.store;
        let user = actor(store, account, user).await?;
        let template: Template = store.get(account, id).await?;
        if !rights::can_edit(&user, &template) {
            return Err(EngineError::Forbidden(
                "only the owner or an admin deletes a template".into(),
            ));
        }
        let config = Config::load(store, account).await?;
        refuse_in_use(config.referrers(Target::Template(id)))?;
        Ok(store.delete::<Template>(account, id).await?)
    }
}
