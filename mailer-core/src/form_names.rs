//! Bracketed form names, one parser for the core (form answers: `lead[657261]`, `lead[620103][]`,
//! `field[Home address]`) and for `mailer-kommo` (PHP-style webhook bodies: `leads[status][0][id]`).

use crate::model::{EntityKind, FieldId};

/// Why a bracketed name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormNameError {
    /// Empty head, a `[` without `]`, or text after a `]` that does not open another `[`.
    #[error("malformed bracketed name")]
    Malformed,
    /// More segments than allowed.
    #[error("bracketed name nested too deep")]
    TooDeep,
}

/// Splits `a[b][c]` into `["a", "b", "c"]`; `[]` is kept as an empty segment (append). At most
/// `max_depth` segments after the head.
///
/// # Errors
/// [`FormNameError::Malformed`] or [`FormNameError::TooDeep`].
///
/// # Example
/// ```
/// use mailer_core::form_names::segments;
/// assert_eq!(segments("lead[620103][]", 8), Ok(vec!["lead", "620103", ""]));
/// assert!(segments("lead[1", 8).is_err());
/// ```
pub fn segments(name: &str, max_depth: usize) -> Result<Vec<&str>, FormNameError> {
    let (head, mut rest) = match name.find('[') {
        Some(i) => (&name[..i], &name[i..]),
        None => (name, ""),
    };
    if head.is_empty() {
        return Err(FormNameError::Malformed);
    }
    let mut out = vec![head];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or(FormNameError::Malformed)?;
        let close = inner.find(']').ok_or(FormNameError::Malformed)?;
        out.push(&inner[..close]);
        rest = &inner[close + 1..];
        if out.len() > max_depth + 1 {
            return Err(FormNameError::TooDeep);
        }
    }
    Ok(out)
}

/// Which CRM field a form input writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormField {
    /// By id, on the lead, contact or company: `lead[657261]`, `contact[11973]`, `company[624637]`.
    Id(EntityKind, FieldId),
    /// By name, on the lead: `field[Home address]`.
    Name(String),
}

impl FormField {
    /// The entity kind whose field it is.
    pub fn kind(&self) -> EntityKind {
        match self {
            Self::Id(kind, _) => *kind,
            Self::Name(_) => EntityKind::Lead,
        }
    }
}

/// The field a form input's name writes, following the widget's manual: `lead[ID]`, `contact[ID]`,
/// `company[ID]`, each optionally with `[]` (several checkbox values), and `field[Name]`. Anything else
/// (`comment`, `lead[x]`, `deal[1]`) writes no field.
///
/// # Example
/// ```
/// use mailer_core::form_names::{FormField, form_field};
/// use mailer_core::model::{EntityKind, FieldId};
/// assert_eq!(form_field("lead[620103][]"), Some(FormField::Id(EntityKind::Lead, FieldId(620_103))));
/// assert_eq!(form_field("field[Budget]"), Some(FormField::Name("Budget".into())));
/// assert_eq!(form_field("comment"), None);
/// ```
pub fn form_field(name: &str) -> Option<FormField> {
    let parts = segments(name, 2).ok()?;
    let inner = match parts.as_slice() {
        [_, inner] | [_, inner, ""] if !inner.is_empty() => *inner,
        _ => return None,
    };
    let kind = match parts[0] {
        "lead" => EntityKind::Lead,
        "contact" => EntityKind::Contact,
        "company" => EntityKind::Company,
        "field" => return Some(FormField::Name(inner.to_owned())),
        _ => return None,
    };
    inner.parse::<i64>().ok().map(|id| FormField::Id(kind, FieldId(id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_names_follow_the_manual() {
        assert_eq!(
            form_field("lead[657261]"),
            Some(FormField::Id(EntityKind::Lead, FieldId(657_261)))
        );
        assert_eq!(
            form_field("contact[11973]"),
            Some(FormField::Id(EntityKind::Contact, FieldId(11_973)))
        );
        assert_eq!(
            form_field("company[624637]"),
            Some(FormField::Id(EntityKind::Company, FieldId(624_637)))
        );
        assert_eq!(
            form_field("lead[620103][]"),
            Some(FormField::Id(EntityKind::Lead, FieldId(620_103)))
        );
        assert_eq!(form_field("field[Home address]"), Some(FormField::Name("Home address".into())));
        for bad in ["lead", "lead[x]", "deal[1]", "lead[1", "", "lead[]", "lead[1][2]", "[1]"] {
            assert_eq!(form_field(bad), None, "{bad}");
        }
    }

    #[test]
    fn segments_split_and_limit() {
        assert_eq!(segments("a", 4), Ok(vec!["a"]));
        assert_eq!(segments("leads[status][0][id]", 4), Ok(vec!["leads", "status", "0", "id"]));
        assert_eq!(segments("a[b]c", 4), Err(FormNameError::Malformed));
        assert_eq!(segments("[b]", 4), Err(FormNameError::Malformed));
        assert_eq!(segments("a[1][2][3]", 2), Err(FormNameError::TooDeep));
    }
}
