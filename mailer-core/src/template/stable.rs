//! Whole objects printed as text, the same on every render.
//!
//! Liquid prints an object as its keys and values run together, and a list as its items run together. A
//! Liquid object is a hash map, so a copy of a CRM object (`{% assign l = lead %}`, a loop variable, a filter's
//! answer) would print its keys in a different order on each render. Every place where a value becomes text
//! (our escaping filters, `raw`, the text part's output and the input of any string filter) prints objects
//! through here, keys sorted.

use std::fmt;

use liquid_core::model::{ArrayView, DisplayCow, KStringCow, ObjectView, ScalarCow, State, Value, ValueView};

/// How deep lists and objects are followed (values are built from CRM records and filters: far shallower).
const MAX_DEPTH: usize = 32;

/// Whether printing `value` prints an object (itself or inside a list).
pub(crate) fn holds_object(value: &dyn ValueView) -> bool {
    holds_object_at(value, 0)
}

fn holds_object_at(value: &dyn ValueView, depth: usize) -> bool {
    if value.as_object().is_some() {
        // An unknown variable reads as an empty object that is nil: it prints as nothing either way, without
        // a string made for it.
        return !value.is_nil();
    }
    match value.as_array() {
        Some(items) if depth < MAX_DEPTH => items.values().any(|v| holds_object_at(v, depth + 1)),
        _ => false,
    }
}

/// `value` as text, the keys of every object in it in sorted order.
pub(crate) fn text(value: &dyn ValueView) -> KStringCow<'_> {
    object_text(value).map_or_else(|| value.to_kstr(), KStringCow::from_string)
}

/// [`text`] of a value that holds an object; `None` (nothing written) for any other value, whose own text
/// is already stable.
pub(crate) fn object_text(value: &dyn ValueView) -> Option<String> {
    holds_object(value).then(|| Text(value).to_string())
}

/// Displays a value as [`text`] does.
pub(crate) struct Text<'v>(pub(crate) &'v dyn ValueView);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self.0, 0)
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &dyn ValueView, depth: usize) -> fmt::Result {
    if depth >= MAX_DEPTH {
        return Ok(());
    }
    if let Some(object) = value.as_object() {
        let mut entries: Vec<(KStringCow<'_>, &dyn ValueView)> = object.iter().collect();
        entries.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (key, v) in entries {
            f.write_str(key.as_str())?;
            write_value(f, v, depth + 1)?;
        }
        Ok(())
    } else if let Some(items) = value.as_array() {
        items.values().try_for_each(|v| write_value(f, v, depth + 1))
    } else {
        write!(f, "{}", value.render())
    }
}

/// A filter's input that holds an object, seen through [`text`] when the filter reads it as a string; its
/// items, keys and copy are the value's own.
#[derive(Debug)]
pub(crate) struct Stable<'v>(pub(crate) &'v dyn ValueView);

impl ValueView for Stable<'_> {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(Text(self.0)))
    }
    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(Text(self.0)))
    }
    fn type_name(&self) -> &'static str {
        self.0.type_name()
    }
    fn query_state(&self, state: State) -> bool {
        self.0.query_state(state)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        text(self.0)
    }
    fn to_value(&self) -> Value {
        self.0.to_value()
    }
    fn as_scalar(&self) -> Option<ScalarCow<'_>> {
        self.0.as_scalar()
    }
    fn as_array(&self) -> Option<&dyn ArrayView> {
        self.0.as_array()
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        self.0.as_object()
    }
    fn is_nil(&self) -> bool {
        self.0.is_nil()
    }
}

#[cfg(test)]
mod tests {
    use liquid_core::model::{Object, Value};

    use super::*;

    fn object(pairs: &[(&str, &str)]) -> Value {
        let mut o = Object::new();
        for (k, v) in pairs {
            o.insert((*k).to_owned().into(), Value::scalar((*v).to_owned()));
        }
        Value::Object(o)
    }

    #[test]
    fn objects_print_their_keys_sorted_at_every_depth() {
        let inner = object(&[("z", "1"), ("a", "2")]);
        let mut outer = Object::new();
        outer.insert("m".into(), inner);
        outer.insert("b".into(), Value::scalar("3"));
        let list = Value::Array(vec![Value::Object(outer), Value::scalar("!")]);
        assert_eq!(text(&list).as_str(), "b3ma2z1!");
        assert_eq!(Stable(&list).to_kstr().as_str(), "b3ma2z1!");
        assert!(holds_object(&list));
    }

    #[test]
    fn scalars_and_plain_lists_print_as_liquid_prints_them() {
        let list = Value::Array(vec![Value::scalar("a"), Value::scalar(2)]);
        assert!(!holds_object(&list));
        assert_eq!(text(&list).as_str(), "a2");
        assert_eq!(text(&Value::scalar("x")).as_str(), "x");
    }
}
