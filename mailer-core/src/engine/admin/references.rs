//! Who refers to whom: the references a record names, checked on save, and the referrers of a record,
//! listed when it is about to be deleted.

use crate::model::{
    Action, AttachmentRef, MailboxId, PipelineRule, Template, TemplateId, Trigger, TriggerId, TriggerLink,
    TriggerLinkId, UserId, WebPage, WebPageId,
};
use crate::template::tokens::{self, TokenRef};

use super::Config;
use crate::engine::EngineError;

/// A record others may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    User(UserId),
    Mailbox(MailboxId),
    Template(TemplateId),
    Trigger(TriggerId),
    Link(TriggerLinkId),
    Page(WebPageId),
}

fn unknown(field: impl Into<String>, id: i64) -> EngineError {
    EngineError::UnknownReference {
        field: field.into(),
        id,
    }
}

impl Config {
    fn has_user(&self, id: UserId) -> bool {
        self.users.iter().any(|u| u.id == id)
    }

    fn has_template(&self, id: TemplateId) -> bool {
        self.templates.iter().any(|t| t.id == id)
    }

    fn has_mailbox(&self, id: MailboxId) -> bool {
        self.mailboxes.iter().any(|m| m.id == id)
    }

    /// Refuses the first of `ids` that is not a trigger of the account, naming it `field[i]`.
    pub(crate) fn check_trigger_ids(&self, field: &str, ids: &[TriggerId]) -> Result<(), EngineError> {
        for (i, id) in ids.iter().enumerate() {
            if !self.triggers.iter().any(|t| t.id == *id) {
                return Err(unknown(format!("{field}[{i}]"), id.0));
            }
        }
        Ok(())
    }

    /// Refuses a token in `text` that names a link or page the account does not have.
    pub(crate) fn check_tokens(&self, field: &str, text: &str) -> Result<(), EngineError> {
        for token in tokens::scan(text) {
            match token {
                TokenRef::TriggerLink(id) if !self.links.iter().any(|l| l.id == id) => {
                    return Err(unknown(field, id.0));
                }
                TokenRef::Web(id) if !self.pages.iter().any(|p| p.id == id) => return Err(unknown(field, id.0)),
                _ => {}
            }
        }
        Ok(())
    }

    /// The references of a template: its owner and the triggers of its four events. (Links and pages in
    /// its content are checked by compiling it, with line and column.)
    pub(crate) fn check_template_refs(&self, template: &Template) -> Result<(), EngineError> {
        if !self.has_user(template.owner) {
            return Err(unknown("owner", template.owner.0));
        }
        let on = &template.triggers;
        self.check_trigger_ids("triggers.on_sent", &on.on_sent)?;
        self.check_trigger_ids("triggers.on_opened", &on.on_opened)?;
        if let Some(n) = &on.not_opened {
            self.check_trigger_ids("triggers.not_opened.triggers", &n.triggers)?;
        }
        self.check_trigger_ids("triggers.on_failed", &on.on_failed)?;
        self.check_trigger_ids("triggers.on_replied", &on.on_replied)
    }

    /// The references of a trigger: the template it sends and the links and pages its texts name.
    pub(crate) fn check_trigger_refs(&self, trigger: &Trigger) -> Result<(), EngineError> {
        match &trigger.action {
            Action::SendEmail { template } if !self.has_template(*template) => {
                Err(unknown("action.template", template.0))
            }
            Action::SetTask { text, .. } | Action::AddNote { text } => self.check_tokens("action.text", text),
            Action::ChangeField { value, .. } => self.check_tokens("action.value", value),
            Action::CreateLead { name, .. } => self.check_tokens("action.name", name),
            _ => Ok(()),
        }
    }

    /// The references of a pipeline rule: its template and mailbox.
    pub(crate) fn check_rule_refs(&self, rule: &PipelineRule) -> Result<(), EngineError> {
        if !self.has_template(rule.template) {
            return Err(unknown("template", rule.template.0));
        }
        if !self.has_mailbox(rule.mailbox) {
            return Err(unknown("mailbox", rule.mailbox.0));
        }
        Ok(())
    }

    /// The owner of a mailbox.
    pub(crate) fn check_owner(&self, owner: UserId) -> Result<(), EngineError> {
        if self.has_user(owner) {
            Ok(())
        } else {
            Err(unknown("owner", owner.0))
        }
    }

    /// Every record that refers to `target`, named for people: `template 3 "Offer"`.
    pub(crate) fn referrers(&self, target: Target) -> Vec<String> {
        let mut out = Vec::new();
        let template = |t: &Template| format!("template {} {:?}", t.id, t.name);
        let trigger = |t: &Trigger| format!("trigger {} {:?}", t.id, t.name);
        let link = |l: &TriggerLink| format!("trigger link {} {:?}", l.id, l.name);
        let page = |p: &WebPage| format!("web page {} {:?}", p.id, p.header);
        let rule = |r: &PipelineRule| format!("pipeline rule {}", r.id);
        match target {
            Target::User(u) => {
                out.extend(self.templates.iter().filter(|t| t.owner == u).map(template));
                out.extend(
                    self.mailboxes
                        .iter()
                        .filter(|m| m.owner == u)
                        .map(|m| format!("mailbox {} {:?}", m.id, m.from.email)),
                );
            }
            Target::Mailbox(m) => out.extend(self.rules.iter().filter(|r| r.mailbox == m).map(rule)),
            Target::Template(id) => {
                out.extend(
                    self.triggers
                        .iter()
                        .filter(|t| matches!(t.action, Action::SendEmail { template } if template == id))
                        .map(trigger),
                );
                out.extend(self.rules.iter().filter(|r| r.template == id).map(rule));
            }
            Target::Trigger(id) => {
                out.extend(self.templates.iter().filter(|t| uses_trigger(t, id)).map(template));
                out.extend(self.links.iter().filter(|l| l.triggers.contains(&id)).map(link));
                out.extend(self.pages.iter().filter(|p| p.on_open.contains(&id)).map(page));
            }
            Target::Link(id) => {
                let named = |c| tokens::links_in(c).contains(&id);
                out.extend(self.templates.iter().filter(|t| named(&t.content)).map(template));
                out.extend(self.pages.iter().filter(|p| named(&p.content)).map(page));
            }
            Target::Page(id) => {
                let named = |c| tokens::pages_in(c).contains(&id);
                out.extend(self.templates.iter().filter(|t| named(&t.content)).map(template));
                out.extend(
                    self.triggers
                        .iter()
                        .filter(|t| action_names_page(&t.action, id))
                        .map(trigger),
                );
                out.extend(self.pages.iter().filter(|p| p.id != id && named(&p.content)).map(page));
            }
        }
        out
    }
}

fn uses_trigger(template: &Template, id: TriggerId) -> bool {
    let on = &template.triggers;
    on.on_sent.contains(&id)
        || on.on_opened.contains(&id)
        || on.on_failed.contains(&id)
        || on.on_replied.contains(&id)
        || on.not_opened.as_ref().is_some_and(|n| n.triggers.contains(&id))
}

fn action_names_page(action: &Action, id: WebPageId) -> bool {
    let text = match action {
        Action::SetTask { text, .. } | Action::AddNote { text } => text,
        Action::ChangeField { value, .. } => value,
        Action::CreateLead { name, .. } => name,
        _ => return false,
    };
    tokens::pages_in_text(text).contains(&id)
}

/// The stored files a template attaches, with the field that names each and the size it claims.
pub(crate) fn stored_files(
    attachments: &[AttachmentRef],
) -> impl Iterator<Item = (String, crate::model::FileId, u64)> + '_ {
    attachments.iter().enumerate().filter_map(|(i, a)| match a {
        AttachmentRef::Stored { file, size, .. } => Some((format!("attachments[{i}]"), *file, *size)),
        AttachmentRef::Link { .. } => None,
    })
}
