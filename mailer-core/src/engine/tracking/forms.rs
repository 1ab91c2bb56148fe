//! Form submissions (`/f/`): each answer named like a CRM field writes it; a note with every answer is left.
//! Only the inputs the email's form names are taken, each value and the whole submission capped in size.
//! A submission is stored (as a [`TimerAction::FormWrite`] timer) before the CRM is written; the timer is
//! removed when a write reaches the CRM and otherwise writes it again later, so a CRM outage loses nothing.
//! A re-submission replaces the stored one (one timer key per email or entity): the last answers win.

use std::time::Duration;

use std::collections::BTreeSet;

use crate::error::ValidationError;
use crate::form_names::{FormField, form_field};
use crate::model::{AccountId, EmailId, EntityKind, EntityRef, EventKind, NewEvent, NewTimer, TimerAction};
use crate::template::TokenKindTag;
use crate::trigger;

use super::super::{Engine, EngineError};

/// The longest answer accepted, in bytes.
pub const MAX_FORM_VALUE: usize = 10_000;
/// The most bytes of names and values one submission may carry.
pub const MAX_FORM_TOTAL: usize = 100_000;
/// The most answers one submission may carry.
pub const MAX_FORM_ANSWERS: usize = 200;
/// How long after a failed CRM write a stored submission is written again (doubling with each attempt).
pub const FORM_RETRY: Duration = Duration::from_secs(60);
/// The attempts a stored submission gets after the first write (about 4 hours in all), then it is dropped
/// (its answers stay in the history's `FormSubmitted` event).
pub const FORM_ATTEMPTS: u32 = 8;

/// A submission on its way to the CRM.
pub(crate) struct Submission<'a> {
    pub(crate) account: AccountId,
    pub(crate) email: Option<EmailId>,
    pub(crate) entity: EntityRef,
    pub(crate) answers: &'a [(String, String)],
}

impl Submission<'_> {
    /// One stored submission per email (or per entity for a page's form): a re-submission replaces it.
    fn key(&self) -> String {
        match self.email {
            Some(email) => format!("form:{email}"),
            None => format!("form:{:?}:{}", self.entity.kind, self.entity.id.0),
        }
    }

    /// The timer that writes this submission at attempt `attempt` (the wait doubles each time).
    pub(crate) fn timer(&self, now: crate::model::Timestamp, attempt: u32) -> NewTimer {
        let wait = FORM_RETRY.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        NewTimer {
            account: self.account,
            key: self.key(),
            due_at: crate::model::saturating_after(now, wait),
            action: TimerAction::FormWrite {
                email: self.email,
                entity: self.entity,
                answers: self.answers.to_vec(),
                attempt,
            },
        }
    }
}

/// Checks the sizes of a submission before anything is written.
fn check_sizes(answers: &[(String, String)]) -> Result<(), ValidationError> {
    let too_large = |detail: String| ValidationError::OutOfRange {
        what: "form submission",
        detail,
    };
    if answers.len() > MAX_FORM_ANSWERS {
        return Err(too_large(format!(
            "{} answers, at most {MAX_FORM_ANSWERS}",
            answers.len()
        )));
    }
    if let Some((name, value)) = answers.iter().find(|(n, v)| n.len().max(v.len()) > MAX_FORM_VALUE) {
        let name: String = name.chars().take(40).collect();
        return Err(too_large(format!(
            "{name:?} has {} bytes, at most {MAX_FORM_VALUE}",
            value.len().max(name.len())
        )));
    }
    let total: usize = answers.iter().map(|(n, v)| n.len() + v.len()).sum();
    if total > MAX_FORM_TOTAL {
        return Err(too_large(format!("{total} bytes, at most {MAX_FORM_TOTAL}")));
    }
    Ok(())
}

/// The input names (`name="…"`) of the forms in a template's body; `None` when a name is made by the
/// template itself (`{{ … }}`), which cannot be known before rendering: then every name is taken.
pub(crate) fn form_input_names(body: &str) -> Option<BTreeSet<String>> {
    let lower = body.to_ascii_lowercase();
    let bytes = body.as_bytes();
    let mut names = BTreeSet::new();
    let mut from = 0;
    while let Some(found) = lower[from..].find("name=") {
        let at = from + found;
        from = at + 5;
        if at == 0 || !bytes[at - 1].is_ascii_whitespace() {
            continue;
        }
        let rest = &body[from..];
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => rest[1..].split(q).next().unwrap_or(""),
            _ => rest.split(|c: char| c.is_whitespace() || c == '>').next().unwrap_or(""),
        };
        if value.contains("{{") || value.contains("{%") {
            return None;
        }
        names.insert(value.to_owned());
    }
    Some(names)
}

impl Engine {
    /// Records a form submitted from an email or its web version: each `lead[ID]`, `contact[ID]`,
    /// `company[ID]` (and `…[ID][]` for several checkbox values) writes that CRM field of the email's
    /// entity, converted by the field's kind; `field[Name]` finds the field by name on the lead; a note
    /// with every submitted answer is always left. Only answers to inputs the email's form names are taken
    /// (a forged POST cannot write other fields); each value is at most [`MAX_FORM_VALUE`] bytes, a
    /// submission at most [`MAX_FORM_ANSWERS`] answers and [`MAX_FORM_TOTAL`] bytes.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token or one that is not a form token; [`EngineError::Invalid`] for
    /// a submission over the size caps (nothing is written); [`EngineError::Store`] (nothing is stored or
    /// written); a field the CRM refuses is listed in the note and returned as the first error after the
    /// note is written. A CRM that cannot be reached is no error: the stored submission is written later.
    pub async fn submit_form(&self, token: &str, answers: &[(String, String)]) -> Result<(), EngineError> {
        let token = self.verify_kind(token, &[TokenKindTag::Form]).await?;
        if token.preview {
            return Ok(());
        }
        check_sizes(answers)?;
        let account = token.account;
        let kept: Vec<(String, String)>;
        let answers = match token.email {
            Some(id) => {
                let email = self.ports.store.get_email(account, id).await?;
                match form_input_names(email.spec.content.body.source()) {
                    Some(names) => {
                        kept = answers.iter().filter(|(n, _)| names.contains(n)).cloned().collect();
                        &kept[..]
                    }
                    None => answers,
                }
            }
            None => answers,
        };
        let submission = Submission {
            account,
            email: token.email,
            entity: token.entity,
            answers,
        };
        let now = self.now();
        // Stored first: if the process or the CRM fails from here on, the timer writes the answers later.
        self.ports.store.schedule_timer(submission.timer(now, 1)).await?;
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
        match self.write_form(&submission).await {
            Ok(field_error) => {
                self.ports.store.cancel_timer(account, &submission.key()).await?;
                field_error.map_or(Ok(()), Err)
            }
            // The CRM could not be written (down, rate limited, …): the stored submission is retried.
            Err(_) => Ok(()),
        }
    }

    /// Runs a stored submission's timer: writes it; when the CRM still fails, stores it again for a later
    /// attempt (until [`FORM_ATTEMPTS`], then it is dropped). True when the timer was replaced by the next
    /// attempt's.
    pub(crate) async fn retry_form(&self, submission: &Submission<'_>, attempt: u32) -> Result<bool, EngineError> {
        match self.write_form(submission).await {
            // Field errors were listed in the note: the submission is done.
            Ok(_) => Ok(false),
            Err(_) if attempt < FORM_ATTEMPTS => {
                let now = self.now();
                self.ports
                    .store
                    .schedule_timer(submission.timer(now, attempt + 1))
                    .await?;
                Ok(true)
            }
            // Given up: the answers stay in the history's `FormSubmitted` event.
            Err(_) => Ok(false),
        }
    }

    /// Writes a submission's answers to the CRM and leaves the note. `Err` when the note could not be left
    /// (nothing is known to be done: write again later); `Ok(Some(e))` when the note was left but a field
    /// was refused (listed in the note, `e` is the first such error).
    async fn write_form(&self, submission: &Submission<'_>) -> Result<Option<EngineError>, EngineError> {
        let account = submission.account;
        let answers = submission.answers;
        let record = self.ports.crm.entity(account, submission.entity).await?;
        let targets = trigger::Targets::from_record(&record);
        let mut problems = Vec::new();
        let mut first_error = None;
        for (kind, field, values) in group_answers(answers) {
            let Some(target) = targets.get(kind) else { continue };
            let defs = self.ports.crm.fields(account, kind).await?;
            let def = match &field {
                FormField::Id(_, id) => defs.iter().find(|d| d.id == *id),
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
        let note_target = record.lead.as_ref().map_or(submission.entity, |l| l.entity);
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
        Ok(first_error)
    }
}

/// Groups answers by field: `lead[1][]=a&lead[1][]=b` gives the values a and b of lead field 1. A
/// multilist's values each add to it; for other kinds the last value wins.
fn group_answers(answers: &[(String, String)]) -> Vec<(EntityKind, FormField, Vec<String>)> {
    let mut out: Vec<(EntityKind, FormField, Vec<String>)> = Vec::new();
    for (name, value) in answers {
        let Some(field) = form_field(name) else {
            continue;
        };
        let kind = field.kind();
        match out.iter_mut().find(|(k, f, _)| *k == kind && *f == field) {
            Some((_, _, values)) => values.push(value.clone()),
            None => out.push((kind, field, vec![value.clone()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldId;

    #[test]
    fn form_names_are_read_from_the_body() {
        let body = r#"<form action="{formlink}"><input name="lead[1]" type=text><select NAME='lead[2][]'>
            <textarea name=comment></textarea><input data-name="x" name="field[Home address]"></form>"#;
        let names = form_input_names(body).expect("static names");
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(names, ["comment", "field[Home address]", "lead[1]", "lead[2][]"]);
        assert_eq!(form_input_names(r#"<input name="lead[{{ lead.cf.1 }}]">"#), None);
    }

    #[test]
    fn sizes_are_capped() {
        assert!(check_sizes(&[("a".into(), "x".repeat(MAX_FORM_VALUE))]).is_ok());
        assert!(check_sizes(&[("a".into(), "x".repeat(MAX_FORM_VALUE + 1))]).is_err());
        let many: Vec<(String, String)> = (0..=MAX_FORM_ANSWERS)
            .map(|i| (format!("f{i}"), String::new()))
            .collect();
        assert!(check_sizes(&many).is_err());
        let big: Vec<(String, String)> = (0..11).map(|i| (format!("f{i}"), "x".repeat(MAX_FORM_VALUE))).collect();
        assert!(check_sizes(&big).is_err());
    }

    #[test]
    fn answers_group_by_field() {
        let grouped = group_answers(&[
            ("lead[1][]".into(), "Cleaning".into()),
            ("lead[1][]".into(), "Upgrade".into()),
            ("comment".into(), "ignored".into()),
        ]);
        assert_eq!(
            grouped,
            vec![(
                EntityKind::Lead,
                FormField::Id(EntityKind::Lead, FieldId(1)),
                vec!["Cleaning".into(), "Upgrade".into()]
            )]
        );
    }
}
