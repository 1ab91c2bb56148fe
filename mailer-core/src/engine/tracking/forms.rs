//! Form submissions (`/f/`): each answer named like a CRM field writes it; a note with every answer is left.

use crate::form_names::{FormField, form_field};
use crate::model::{EntityKind, EventKind, NewEvent};
use crate::template::TokenKind;
use crate::trigger;

use super::super::{Engine, EngineError};

impl Engine {
    /// Records a form submitted from an email or its web version: each `lead[ID]`, `contact[ID]`,
    /// `company[ID]` (and `…[ID][]` for several checkbox values) writes that CRM field of the email's
    /// entity, converted by the field's kind; `field[Name]` finds the field by name on the lead; a note
    /// with every submitted answer is always left.
    ///
    /// # Errors
    /// [`EngineError::Token`] for a bad token or one that is not a form token; [`EngineError::Store`]; a CRM write that fails is listed in the
    /// note and returned as the first error after the note is written.
    pub async fn submit_form(&self, token: &str, answers: &[(String, String)]) -> Result<(), EngineError> {
        let token = self.verify_kind(token, |k| k == TokenKind::Form).await?;
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
