//! A record's custom fields as Liquid objects read in place: `cf` by id and `fields` by name, without a
//! map entry (and an id written as a string) per field on every render.

use liquid_core::model::KStringCow;

use crate::model::FieldEntry;

use super::data::{Keyed, Node, joined, object_views};

/// Which name a field is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum By {
    /// `cf.657200`: the field's id, written as Liquid writes the number.
    Id,
    /// `fields["Budget"]`: the field's name.
    Name,
}

/// The fields of one entity, read by id or by name; an unknown one reads as empty.
#[derive(Debug)]
pub(crate) struct Fields<'a> {
    entries: &'a [FieldEntry],
    by: By,
    /// Each field's value (its values joined by `, `), in the order of `entries`.
    values: Vec<Node<'a>>,
}

impl<'a> Fields<'a> {
    /// The fields of `entries`, read `by` id or name.
    pub(crate) fn new(entries: &'a [FieldEntry], by: By) -> Self {
        Self {
            entries,
            by,
            values: entries.iter().map(|f| joined(&f.values)).collect(),
        }
    }

    /// The value of the field named `key` (the first one, if two have it).
    pub(crate) fn find(&self, key: &str) -> Option<&Node<'a>> {
        let at = match self.by {
            By::Id => {
                let id: i64 = key.parse().ok()?;
                // Only the way the id is written: `657200`, not `+657200` or `0657200`.
                if key.starts_with('+') || key.starts_with("-0") || (key.len() > 1 && key.starts_with('0')) {
                    return None;
                }
                self.entries.iter().position(|f| f.id.0 == id)
            }
            By::Name => self.entries.iter().position(|f| f.name == key),
        }?;
        self.values.get(at)
    }

    fn key(&self, entry: &'a FieldEntry) -> KStringCow<'a> {
        match self.by {
            By::Id => KStringCow::from_string(entry.id.0.to_string()),
            By::Name => KStringCow::from_ref(&entry.name),
        }
    }
}

impl<'a> Keyed<'a> for Fields<'a> {
    fn len(&self) -> usize {
        self.entries.len()
    }
    fn find(&self, key: &str) -> Option<&Node<'a>> {
        Fields::find(self, key)
    }
    fn entries<'s>(&'s self) -> impl Iterator<Item = (KStringCow<'s>, &'s Node<'a>)>
    where
        'a: 's,
    {
        self.entries.iter().map(|f| self.key(f)).zip(&self.values)
    }
}

object_views!(Fields);

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use liquid_core::model::{ObjectView, ValueView};

    use super::{By, Fields};
    use crate::model::{FieldEntry, FieldId};
    use crate::template::data::{Map, joined};
    use crate::template::stable;

    /// The map the fields used to be built as, one entry per field: what `Fields` must read like.
    fn as_map(entries: &[FieldEntry], by: By) -> Map<'_> {
        Map(entries
            .iter()
            .map(|f| {
                let key = match by {
                    By::Id => Cow::Owned(f.id.0.to_string()),
                    By::Name => Cow::Borrowed(f.name.as_str()),
                };
                (key, joined(&f.values))
            })
            .collect())
    }

    #[test]
    fn fields_read_as_the_map_of_their_entries() {
        let entry = |id: i64, name: &str, values: &[&str]| FieldEntry {
            id: FieldId(id),
            name: name.into(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        };
        let entries = vec![
            entry(657_200, "Budget", &["10"]),
            entry(7, "Tags", &["a", "b"]),
            entry(-3, "Empty", &[]),
            entry(9, "Budget", &["second"]),
            entry(0, "Zero", &["z"]),
        ];
        let keys = [
            "657200", "0657200", "+657200", "7", "07", "-3", "-03", "9", "0", "-0", "00", "Budget", "Tags", "Empty",
            "Zero", "size", "nope", "", "657200 ",
        ];
        for by in [By::Id, By::Name] {
            let fields = Fields::new(&entries, by);
            let map = as_map(&entries, by);
            for key in keys {
                let (a, b) = (ObjectView::get(&fields, key), ObjectView::get(&map, key));
                assert_eq!(a.is_some(), b.is_some(), "{by:?} {key}");
                if let (Some(a), Some(b)) = (a, b) {
                    assert_eq!(a.to_kstr(), b.to_kstr(), "{by:?} {key}");
                    assert_eq!(a.is_nil(), b.is_nil(), "{by:?} {key}");
                }
            }
            assert_eq!(stable::Text(&fields).to_string(), stable::Text(&map).to_string());
            assert_eq!(fields.to_value(), map.to_value());
            assert_eq!(fields.size(), map.size());
            assert_eq!(fields.keys().collect::<Vec<_>>(), map.keys().collect::<Vec<_>>());
        }
    }
}
