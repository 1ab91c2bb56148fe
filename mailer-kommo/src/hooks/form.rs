//! PHP-style form bodies (`leads[status][0][id]=1`) decoded into a tree.

use std::collections::BTreeMap;

use super::HookError;

/// The deepest nesting accepted; Kommo's deepest keys have 7 levels.
const MAX_DEPTH: usize = 16;
/// The most fields accepted in one body.
const MAX_FIELDS: usize = 20_000;

/// A decoded form (or JSON) value: text at the leaves, maps of keys inside. Lists are maps with the keys
/// `0`, `1`, ….
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormValue {
    /// A leaf.
    Text(String),
    /// Nested keys.
    Map(BTreeMap<String, FormValue>),
}

impl FormValue {
    /// The value at a path of keys.
    pub fn get(&self, path: &[&str]) -> Option<&Self> {
        path.iter().try_fold(self, |node, key| match node {
            Self::Map(map) => map.get(*key),
            Self::Text(_) => None,
        })
    }

    /// The text at a path, if it is a leaf.
    pub fn text(&self, path: &[&str]) -> Option<&str> {
        match self.get(path)? {
            Self::Text(t) => Some(t),
            Self::Map(_) => None,
        }
    }

    /// The entries of a map, numeric keys in numeric order, then the others; empty for a leaf.
    pub fn entries(&self) -> Vec<(&str, &Self)> {
        let Self::Map(map) = self else {
            return Vec::new();
        };
        let mut entries: Vec<(&str, &Self)> = map.iter().map(|(k, v)| (k.as_str(), v)).collect();
        entries.sort_by_key(|(k, _)| (k.parse::<u64>().map_or(1, |_| 0), k.parse::<u64>().unwrap_or(0)));
        entries
    }

    /// A tree from JSON: objects and arrays become maps, scalars become text (`null` → empty).
    pub fn from_json(value: &serde_json::Value) -> Self {
        use serde_json::Value;
        match value {
            Value::Object(o) => Self::Map(o.iter().map(|(k, v)| (k.clone(), Self::from_json(v))).collect()),
            Value::Array(a) => Self::Map(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), Self::from_json(v)))
                    .collect(),
            ),
            Value::String(s) => Self::Text(s.clone()),
            Value::Null => Self::Text(String::new()),
            other => Self::Text(other.to_string()),
        }
    }
}

/// Splits `a[b][c]` into `["a","b","c"]` with the core's one parser of bracketed names; `[]` is kept as
/// an empty segment (append).
fn segments(key: &str) -> Result<Vec<&str>, HookError> {
    mailer_core::form_names::segments(key, MAX_DEPTH - 1).map_err(|e| match e {
        mailer_core::form_names::FormNameError::TooDeep => HookError::TooDeep { key: key.to_owned() },
        _ => HookError::MalformedKey { key: key.to_owned() },
    })
}

fn insert(root: &mut BTreeMap<String, FormValue>, key: &str, path: &[&str], value: String) -> Result<(), HookError> {
    let conflict = || HookError::Conflict { key: key.to_owned() };
    let Some((last, parents)) = path.split_last() else {
        return Err(HookError::MalformedKey { key: key.to_owned() });
    };
    let mut map = root;
    for segment in parents {
        let name = if segment.is_empty() {
            map.len().to_string()
        } else {
            (*segment).to_owned()
        };
        let node = map.entry(name).or_insert_with(|| FormValue::Map(BTreeMap::new()));
        map = match node {
            FormValue::Map(m) => m,
            FormValue::Text(_) => return Err(conflict()),
        };
    }
    let name = if last.is_empty() {
        map.len().to_string()
    } else {
        (*last).to_owned()
    };
    match map.get(&name) {
        Some(FormValue::Map(_)) => Err(conflict()),
        // a repeated scalar key: the last one wins, as in PHP
        _ => {
            map.insert(name, FormValue::Text(value));
            Ok(())
        }
    }
}

/// Decodes an `application/x-www-form-urlencoded` body with bracket keys into a map.
///
/// # Errors
/// [`HookError::MalformedKey`], [`HookError::Conflict`], [`HookError::TooDeep`] or
/// [`HookError::TooLarge`].
pub fn parse_form(body: &[u8]) -> Result<FormValue, HookError> {
    let mut root = BTreeMap::new();
    for (n, (key, value)) in form_urlencoded::parse(body).enumerate() {
        if n >= MAX_FIELDS {
            return Err(HookError::TooLarge { limit: MAX_FIELDS });
        }
        let path = segments(&key)?;
        insert(&mut root, &key, &path, value.into_owned())?;
    }
    Ok(FormValue::Map(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bracket_keys_nest_and_lists_keep_their_order() {
        let body = b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=15&leads[status][0][tags][1][name]=b+c&\
leads[status][0][tags][0][name]=a&leads[status][10][id]=2&leads[status][2][id]=3&x[]=p&x[]=q";
        let form = parse_form(body).expect("parse");
        assert_eq!(form.text(&["leads", "status", "0", "id"]), Some("15"));
        assert_eq!(form.text(&["leads", "status", "0", "tags", "1", "name"]), Some("b c"));
        let order: Vec<&str> = form
            .get(&["leads", "status"])
            .expect("list")
            .entries()
            .iter()
            .map(|(k, _)| *k)
            .collect();
        assert_eq!(order, ["0", "2", "10"]);
        assert_eq!(form.text(&["x", "0"]), Some("p"));
        assert_eq!(form.text(&["x", "1"]), Some("q"));
    }

    #[test]
    fn bad_keys_are_typed_errors() {
        assert!(matches!(parse_form(b"[a]=1"), Err(HookError::MalformedKey { .. })));
        assert!(matches!(parse_form(b"a[b=1"), Err(HookError::MalformedKey { .. })));
        assert!(matches!(parse_form(b"a[b]c=1"), Err(HookError::MalformedKey { .. })));
        assert!(matches!(parse_form(b"a=1&a[b]=2"), Err(HookError::Conflict { .. })));
        assert!(matches!(parse_form(b"a[b]=2&a=1"), Err(HookError::Conflict { .. })));
        let deep = format!("a{}=1", "[x]".repeat(40));
        assert!(matches!(parse_form(deep.as_bytes()), Err(HookError::TooDeep { .. })));
    }
}
