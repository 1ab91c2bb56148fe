//! Recording what recipients do: opens, trigger-link clicks, web page views, form submissions and
//! unsubscribes, from verified tokens only. Automated hits are recorded as such and fire nothing.

use serde::{Deserialize, Serialize};

use crate::model::{
    AccountId, Email, EntityKind, EventKind, EventQuery, FieldId, NewEvent, Timestamp, TriggerLink, TriggerLinkId,
    WebPage,
};
use crate::ports::StoreExt;
use crate::template::{TokenKind, TokenKindTag, TrackingToken};
use crate::trigger::{self, Fired, Hit, HitKind, Occurrence, Verdict};

use super::{Engine, EngineError};

/// The link id under which honeypot (hidden) link hits are recorded.
pub const HONEYPOT_LINK: TriggerLinkId = TriggerLinkId(0);

/// What the host learned about a request besides its token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitInfo {
    /// The User-Agent header.
    pub user_agent: Option<String>,
    /// The request came through a hidden honeypot link.
    pub honeypot: bool,
}

/// What a hit led to, for the host's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HitOutcome {
    /// Recorded (or ignored as a preview); answer with the pixel, the page or "Thank you!".
    Recorded {
        /// It looked automated and fired nothing.
        automated: bool,
    },
    /// A click: redirect here, or show the thank-you page when `None`.
    Redirect(Option<String>),
}

impl Engine {
    /// Verifies a token of any kind with its account's key; routes use [`Engine::verify_kind`].
    ///
    /// # Errors
    /// As [`Engine::verify_kind`].
    pub async fn verify_token(&self, token: &str) -> Result<TrackingToken, EngineError> {
        self.verify_kind(token, TokenKindTag::ALL).await
    }

    /// Records a hit on a tracking URL (`/t/o`, `/t/l`, `/p`, `/u`) and runs what it triggers. A preview
    /// token records nothing; a tampered token does nothing and is an error.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token; [`EngineError::Store`].
    pub async fn record_hit(&self, token: &str, info: &HitInfo) -> Result<HitOutcome, EngineError> {
        let token = self.verify_token(token).await?;
        let account = token.account;
        let link: Option<TriggerLink> = match token.kind {
            TokenKind::Click(id) if id != HONEYPOT_LINK => Some(self.ports.store.get(account, id).await?),
            _ => None,
        };
        let redirect = || HitOutcome::Redirect(link.as_ref().and_then(|l| l.redirect.clone()));
        if token.preview {
            return Ok(match token.kind {
                TokenKind::Click(_) => redirect(),
                _ => HitOutcome::Recorded { automated: false },
            });
        }
        let email = match token.email {
            Some(id) => Some(self.ports.store.get_email(account, id).await?),
            None => None,
        };
        let now = self.now();
        let (hit_kind, event_kind) = match token.kind {
            TokenKind::Open => (HitKind::Open, EventKind::Opened),
            TokenKind::Click(id) => (HitKind::Click, EventKind::Clicked { link: id }),
            TokenKind::Page(page) => (HitKind::PageOpen, EventKind::PageOpened { page }),
            TokenKind::Unsubscribe => (HitKind::Click, EventKind::Unsubscribed),
            TokenKind::WebVersion | TokenKind::Form => return Ok(HitOutcome::Recorded { automated: false }),
        };
        let honeypot_hits = self.honeypot_hits(account, email.as_ref()).await?;
        let verdict = trigger::classify(
            &self.config.automated,
            &Hit {
                kind: hit_kind,
                at: now,
                sent_at: email.as_ref().and_then(|e| e.sent_at),
                user_agent: info.user_agent.as_deref(),
                honeypot: info.honeypot || token.kind == TokenKind::Click(HONEYPOT_LINK),
                honeypot_hits: &honeypot_hits,
            },
        );
        let automated = matches!(verdict, Verdict::Automated(_));
        let entity = Some(token.entity).filter(|e| e.id.0 != 0);
        let event = NewEvent {
            account,
            email: token.email,
            entity,
            at: now,
            kind: event_kind,
            automated,
        };
        self.ports.store.append_events(vec![event]).await?;
        if !automated {
            self.fire_hit(&token, email.as_ref(), link.as_ref(), now).await?;
        }
        Ok(match token.kind {
            TokenKind::Click(_) => redirect(),
            _ => HitOutcome::Recorded { automated },
        })
    }

    async fn honeypot_hits(&self, account: AccountId, email: Option<&Email>) -> Result<Vec<Timestamp>, EngineError> {
        let Some(email) = email else { return Ok(Vec::new()) };
        let q = EventQuery {
            account,
            email: Some(email.id),
            entity: None,
            since: None,
            limit: 1_000,
        };
        Ok(self
            .ports
            .store
            .list_events(&q)
            .await?
            .into_iter()
            .filter(|e| e.event.kind == EventKind::Clicked { link: HONEYPOT_LINK })
            .map(|e| e.event.at)
            .collect())
    }

    async fn fire_hit(
        &self,
        token: &TrackingToken,
        email: Option<&Email>,
        link: Option<&TriggerLink>,
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let account = token.account;
        let entity = token.entity;
        let page: Option<WebPage> = match token.kind {
            TokenKind::Page(id) => Some(self.ports.store.get(account, id).await?),
            _ => None,
        };
        let occurrence = match (token.kind, email, link, &page) {
            (TokenKind::Open, Some(e), _, _) => Occurrence::Opened {
                email: e.id,
                triggers: &e.spec.triggers,
            },
            (TokenKind::Click(_), _, Some(l), _) => Occurrence::LinkClicked { link: l, entity },
            (TokenKind::Page(_), _, _, Some(p)) => Occurrence::PageOpened { page: p, entity },
            _ => return Ok(()),
        };
        let first = match trigger::once_key(&occurrence) {
            Some(key) => self.ports.store.mark_once(account, &key, now).await?,
            None => true,
        };
        let fired = Fired::from_mark_once(&occurrence, first);
        let target = Some(entity).filter(|e| e.id.0 != 0);
        self.launch(account, &occurrence, now, fired, email, target).await
    }

    /// Records a form submitted from an email or its web version: each `lead[ID]`, `contact[ID]`,
    /// `company[ID]` (and `…[ID][]` for several checkbox values) writes that CRM field of the email's
    /// entity, converted by the field's kind; `field[Name]` finds the field by name on the lead; a note
    /// with every submitted answer is always left.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token; [`EngineError::Store`]; a CRM write that fails is listed in the
    /// note and returned as the first error after the note is written.
    pub async fn submit_form(&self, token: &str, answers: &[(String, String)]) -> Result<(), EngineError> {
        let token = self.verify_token(token).await?;
        if token.preview {
            return Ok(());
        }
        let account = token.account;
        let now = self.now();
        let record = self.ports.crm.entity(account, token.entity).await?;
        let targets = trigger::Targets::from_record(&record);
        let mut problems = Vec::new();
        let mut first_error = None;
        for (kind, field, values) in group_answers(answers) {
            let Some(target) = targets.get(kind) else { continue };
            let defs = self.ports.crm.fields(account, kind).await?;
            let def = match &field {
                FormField::Id(id) => defs.iter().find(|d| d.id == *id),
                FormField::Name(name) => defs.iter().find(|d| d.name == *name),
            };
            let Some(def) = def else {
                problems.push(format!("unknown field {field:?}"));
                continue;
            };
            let entity = crate::model::EntityRef { kind, id: target };
            for value in values {
                let result = match trigger::field_value(def, &value) {
                    Ok(v) => self
                        .ports
                        .crm
                        .apply(
                            account,
                            &crate::model::CrmAction::ChangeField {
                                entity,
                                field: def.id,
                                value: v,
                            },
                        )
                        .await
                        .map(drop)
                        .map_err(EngineError::from),
                    Err(e) => Err(EngineError::from(e)),
                };
                if let Err(e) = result {
                    problems.push(format!("{}: {e}", def.name));
                    first_error.get_or_insert(e);
                }
            }
        }
        let mut note = String::from("Form submitted:\n");
        for (name, value) in answers {
            note.push_str(&format!("{name}: {value}\n"));
        }
        if !problems.is_empty() {
            note.push_str(&format!("Not saved: {}\n", problems.join("; ")));
        }
        let note_target = record.lead.as_ref().map_or(token.entity, |l| l.entity);
        self.ports
            .crm
            .apply(
                account,
                &crate::model::CrmAction::AddNote {
                    entity: note_target,
                    text: note,
                },
            )
            .await?;
        let event = NewEvent {
            account,
            email: token.email,
            entity: Some(token.entity),
            at: now,
            kind: EventKind::FormSubmitted {
                fields: answers.to_vec(),
            },
            automated: false,
        };
        self.ports.store.append_events(vec![event]).await?;
        first_error.map_or(Ok(()), Err)
    }
}

/// A form input's field: by id (`lead[657261]`) or by name (`field[Home address]`, on the lead).
#[derive(Debug, Clone, PartialEq, Eq)]
enum FormField {
    Id(FieldId),
    Name(String),
}

/// Groups answers by field: `lead[1][]=a&lead[1][]=b` gives the values a and b of lead field 1. A
/// multilist's values each add to it; for other kinds the last value wins.
fn group_answers(answers: &[(String, String)]) -> Vec<(EntityKind, FormField, Vec<String>)> {
    let mut out: Vec<(EntityKind, FormField, Vec<String>)> = Vec::new();
    for (name, value) in answers {
        let Some((kind, field)) = parse_input_name(name) else {
            continue;
        };
        match out.iter_mut().find(|(k, f, _)| *k == kind && *f == field) {
            Some((_, _, values)) => values.push(value.clone()),
            None => out.push((kind, field, vec![value.clone()])),
        }
    }
    out
}

fn parse_input_name(name: &str) -> Option<(EntityKind, FormField)> {
    let name = name.strip_suffix("[]").unwrap_or(name);
    let (prefix, rest) = name.split_once('[')?;
    let inner = rest.strip_suffix(']')?;
    let kind = match prefix {
        "lead" => EntityKind::Lead,
        "contact" => EntityKind::Contact,
        "company" => EntityKind::Company,
        "field" => return Some((EntityKind::Lead, FormField::Name(inner.to_owned()))),
        _ => return None,
    };
    inner.parse::<i64>().ok().map(|id| (kind, FormField::Id(FieldId(id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names_follow_the_manual() {
        assert_eq!(
            parse_input_name("lead[657261]"),
            Some((EntityKind::Lead, FormField::Id(FieldId(657_261))))
        );
        assert_eq!(
            parse_input_name("contact[11973]"),
            Some((EntityKind::Contact, FormField::Id(FieldId(11_973))))
        );
        assert_eq!(
            parse_input_name("company[624637]"),
            Some((EntityKind::Company, FormField::Id(FieldId(624_637))))
        );
        assert_eq!(
            parse_input_name("lead[620103][]"),
            Some((EntityKind::Lead, FormField::Id(FieldId(620_103))))
        );
        assert_eq!(
            parse_input_name("field[Home address]"),
            Some((EntityKind::Lead, FormField::Name("Home address".into())))
        );
        for bad in ["lead", "lead[x]", "deal[1]", "lead[1", ""] {
            assert_eq!(parse_input_name(bad), None, "{bad}");
        }
        let grouped = group_answers(&[
            ("lead[1][]".into(), "Cleaning".into()),
            ("lead[1][]".into(), "Upgrade".into()),
            ("comment".into(), "ignored".into()),
        ]);
        assert_eq!(
            grouped,
            vec![(
                EntityKind::Lead,
                FormField::Id(FieldId(1)),
                vec!["Cleaning".into(), "Upgrade".into()]
            )]
        );
    }
}
