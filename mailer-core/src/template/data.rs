//! The data a template reads, as Liquid views borrowed from the CRM record: no copy of the strings, and
//! lenient lookups (an unknown key or index gives an empty value instead of an error).

use std::borrow::Cow;
use std::fmt;

use liquid_core::model::{ArrayView, DisplayCow, KStringCow, ObjectView, ScalarCow, State, Value, ValueView};

use crate::model::{Entity, EntityKind, EntityRecord};

use super::RenderContext;
use super::fields::{By, Fields};

/// A value: a text, another scalar, a list, a map or nil.
#[derive(Debug)]
pub(crate) enum Node<'a> {
    /// A string, kept as a plain `str` so that printing it makes no `KStringCow` chain (Liquid's
    /// `ScalarCow::to_kstr` goes through two dynamic calls and copies the 32-byte string form twice).
    Text(Cow<'a, str>),
    Scalar(ScalarCow<'a>),
    List(List<'a>),
    Map(Map<'a>),
    /// `cf` or `fields` of an entity, read in place.
    Fields(Fields<'a>),
    Nil,
}

impl<'a> Node<'a> {
    pub(crate) fn str(s: &'a str) -> Self {
        Self::Text(Cow::Borrowed(s))
    }
    pub(crate) fn string(s: String) -> Self {
        Self::Text(Cow::Owned(s))
    }
    fn int(i: i64) -> Self {
        Self::Scalar(ScalarCow::new(i))
    }
    fn view(&self) -> &dyn ValueView {
        match self {
            Self::Text(Cow::Borrowed(s)) => s,
            Self::Text(Cow::Owned(s)) => s,
            Self::Scalar(s) => s,
            Self::List(l) => l,
            Self::Map(m) => m,
            Self::Fields(f) => f,
            Self::Nil => &NIL,
        }
    }
}

static NIL: Value = Value::Nil;
/// What an unknown key reads as.
pub(crate) static MISSING: Missing = Missing;

impl ValueView for Node<'_> {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        self.view().render()
    }
    fn source(&self) -> DisplayCow<'_> {
        self.view().source()
    }
    fn type_name(&self) -> &'static str {
        self.view().type_name()
    }
    fn query_state(&self, state: State) -> bool {
        self.view().query_state(state)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        match self {
            Self::Text(text) => KStringCow::from_ref(text),
            _ => self.view().to_kstr(),
        }
    }
    fn to_value(&self) -> Value {
        self.view().to_value()
    }
    fn as_scalar(&self) -> Option<ScalarCow<'_>> {
        self.view().as_scalar()
    }
    fn as_array(&self) -> Option<&dyn ArrayView> {
        self.view().as_array()
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        self.view().as_object()
    }
    fn is_nil(&self) -> bool {
        self.view().is_nil()
    }
}

/// A map with string keys, searched in order (maps here are small).
#[derive(Debug, Default)]
pub(crate) struct Map<'a>(pub(crate) Vec<(Cow<'a, str>, Node<'a>)>);

impl<'a> Map<'a> {
    pub(crate) fn with(mut self, key: impl Into<Cow<'a, str>>, value: Node<'a>) -> Self {
        self.0.push((key.into(), value));
        self
    }
    pub(crate) fn set(&mut self, key: &'a str, value: Node<'a>) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((Cow::Borrowed(key), value)),
        }
    }
    pub(crate) fn entry_mut(&mut self, key: &str) -> Option<&mut Node<'a>> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Looks `path` up as Liquid's `find` does over these views, for the common steps only (a key of a
    /// map, an index inside a list) and without its dynamic dispatch; `None` for any other step (`size`,
    /// `first`, a scalar…), which the caller leaves to Liquid. A path that leaves the data at an unknown key
    /// reads as [`MISSING`], as the views answer Liquid at any key but `size` (so a path with a later
    /// `size` is left to Liquid too).
    pub(crate) fn lookup(&self, path: &[ScalarCow<'_>]) -> Option<&dyn ValueView> {
        let (first, rest) = path.split_first()?;
        let mut at = match self.find(&key_of(first)) {
            Some(node) => node,
            None => return missing(first, rest),
        };
        for (i, step) in rest.iter().enumerate() {
            let found = match at {
                Node::Map(map) => map.find(&key_of(step)),
                Node::Fields(fields) => fields.find(&key_of(step)),
                Node::List(list) => Some(list.index(step.to_integer()?)?),
                Node::Text(_) | Node::Scalar(_) | Node::Nil => return None,
            };
            at = match found {
                Some(node) => node,
                None => return missing(step, &rest[i + 1..]),
            };
        }
        Some(at)
    }
}

/// [`MISSING`] for the unknown key `step` of a map and the `rest` of the path after it, unless one of them
/// is `size` (Liquid answers that itself).
fn missing(step: &ScalarCow<'_>, rest: &[ScalarCow<'_>]) -> Option<&'static dyn ValueView> {
    let size = |s: &ScalarCow<'_>| key_of(s) == "size";
    (!size(step) && !rest.iter().any(size)).then_some(&MISSING as &dyn ValueView)
}

/// A path step as a key: borrowed for a string step (Liquid's `to_kstr` makes a new `KStringCow` through
/// two dynamic calls), written out for an index.
pub(crate) fn key_of<'s>(step: &'s ScalarCow<'_>) -> Cow<'s, str> {
    step.as_ref().into_cow_str()
}

struct Joined<'v, I>(&'v I, &'static str);

impl fmt::Display for Joined<'_, List<'_>> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            write!(f, "{}", v.render())?;
        }
        Ok(())
    }
}

/// An object of string keys, searched in order: a [`Map`], or an entity's [`Fields`] read in place. The
/// Liquid views of both are written once, by [`object_views`].
pub(crate) trait Keyed<'a> {
    /// How many entries.
    fn len(&self) -> usize;
    /// The value of `key` (the first entry with it).
    fn find(&self, key: &str) -> Option<&Node<'a>>;
    /// The entries in order.
    fn entries<'s>(&'s self) -> impl Iterator<Item = (KStringCow<'s>, &'s Node<'a>)>
    where
        'a: 's;
}

/// `ValueView` and `ObjectView` for a [`Keyed`] type: printed with its keys sorted (see `stable.rs`), empty
/// when it has no entries, every key "present" (an unknown one reads as empty) except `size`, which
/// Liquid answers itself.
macro_rules! object_views {
    ($t:ident) => {
        impl liquid_core::model::ValueView for $t<'_> {
            fn as_debug(&self) -> &dyn std::fmt::Debug {
                self
            }
            fn render(&self) -> liquid_core::model::DisplayCow<'_> {
                liquid_core::model::DisplayCow::Owned(Box::new($crate::template::stable::Text(self)))
            }
            fn source(&self) -> liquid_core::model::DisplayCow<'_> {
                liquid_core::model::DisplayCow::Owned(Box::new($crate::template::stable::Text(self)))
            }
            fn type_name(&self) -> &'static str {
                "object"
            }
            fn query_state(&self, state: liquid_core::model::State) -> bool {
                use liquid_core::model::State;
                match state {
                    State::Truthy => true,
                    State::DefaultValue | State::Empty | State::Blank => $crate::template::data::Keyed::len(self) == 0,
                }
            }
            fn to_kstr(&self) -> liquid_core::model::KStringCow<'_> {
                liquid_core::model::KStringCow::from_string($crate::template::stable::Text(self).to_string())
            }
            fn to_value(&self) -> liquid_core::model::Value {
                liquid_core::model::Value::Object(
                    $crate::template::data::Keyed::entries(self)
                        .map(|(k, v)| (k.into_owned(), v.to_value()))
                        .collect(),
                )
            }
            fn as_object(&self) -> Option<&dyn liquid_core::model::ObjectView> {
                Some(self)
            }
        }

        impl liquid_core::model::ObjectView for $t<'_> {
            fn as_value(&self) -> &dyn liquid_core::model::ValueView {
                self
            }
            fn size(&self) -> i64 {
                i64::try_from($crate::template::data::Keyed::len(self)).unwrap_or(i64::MAX)
            }
            fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = liquid_core::model::KStringCow<'k>> + 'k> {
                Box::new($crate::template::data::Keyed::entries(self).map(|(k, _)| k))
            }
            fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn liquid_core::model::ValueView> + 'k> {
                Box::new(
                    $crate::template::data::Keyed::entries(self).map(|(_, v)| v as &dyn liquid_core::model::ValueView),
                )
            }
            fn iter<'k>(
                &'k self,
            ) -> Box<
                dyn Iterator<
                        Item = (
                            liquid_core::model::KStringCow<'k>,
                            &'k dyn liquid_core::model::ValueView,
                        ),
                    > + 'k,
            > {
                Box::new(
                    $crate::template::data::Keyed::entries(self)
                        .map(|(k, v)| (k, v as &dyn liquid_core::model::ValueView)),
                )
            }
            fn contains_key(&self, _index: &str) -> bool {
                // Every key "exists": unknown ones read as empty.
                true
            }
            fn get<'s>(&'s self, index: &str) -> Option<&'s dyn liquid_core::model::ValueView> {
                match $crate::template::data::Keyed::find(self, index) {
                    Some(v) => Some(v),
                    // Let Liquid answer `.size` itself.
                    None if index == "size" => None,
                    None => Some(&$crate::template::data::MISSING),
                }
            }
        }
    };
}
pub(crate) use object_views;

impl<'a> Keyed<'a> for Map<'a> {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn find(&self, key: &str) -> Option<&Node<'a>> {
        // The length and the last byte (ids differ at the end) rule out most keys before the bytes are
        // compared.
        let last = key.as_bytes().last();
        self.0
            .iter()
            .find(|(k, _)| k.len() == key.len() && k.as_bytes().last() == last && k == key)
            .map(|(_, v)| v)
    }
    fn entries<'s>(&'s self) -> impl Iterator<Item = (KStringCow<'s>, &'s Node<'a>)>
    where
        'a: 's,
    {
        self.0.iter().map(|(k, v)| (KStringCow::from_ref(k), v))
    }
}

object_views!(Map);

/// A list; out-of-range indexes and `first`/`last` of an empty list read as empty.
#[derive(Debug, Default)]
pub(crate) struct List<'a>(pub(crate) Vec<Node<'a>>);

impl ValueView for List<'_> {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(Joined(self, "")))
    }
    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Owned(Box::new(Joined(self, ", ")))
    }
    fn type_name(&self) -> &'static str {
        "array"
    }
    fn query_state(&self, state: State) -> bool {
        match state {
            State::Truthy => true,
            State::DefaultValue | State::Empty | State::Blank => self.0.is_empty(),
        }
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        KStringCow::from_string(Joined(self, "").to_string())
    }
    fn to_value(&self) -> Value {
        Value::Array(self.0.iter().map(ValueView::to_value).collect())
    }
    fn as_array(&self) -> Option<&dyn ArrayView> {
        Some(self)
    }
}

impl ArrayView for List<'_> {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        i64::try_from(self.0.len()).unwrap_or(i64::MAX)
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(self.0.iter().map(|v| v as &dyn ValueView))
    }
    fn contains_key(&self, index: i64) -> bool {
        self.index(index).is_some()
    }
    fn get(&self, index: i64) -> Option<&dyn ValueView> {
        Some(
            self.index(index)
                .map_or(&MISSING as &dyn ValueView, |v| v as &dyn ValueView),
        )
    }
}

impl<'a> List<'a> {
    fn index(&self, index: i64) -> Option<&Node<'a>> {
        let len = i64::try_from(self.0.len()).ok()?;
        let i = if index < 0 { len + index } else { index };
        usize::try_from(i).ok().and_then(|i| self.0.as_slice().get(i))
    }
}

/// What an unknown variable reads as: empty, nil-like, and itself again at any key.
#[derive(Debug)]
pub(crate) struct Missing;

impl ValueView for Missing {
    fn as_debug(&self) -> &dyn fmt::Debug {
        self
    }
    fn render(&self) -> DisplayCow<'_> {
        DisplayCow::Borrowed(&"")
    }
    fn source(&self) -> DisplayCow<'_> {
        DisplayCow::Borrowed(&"nil")
    }
    fn type_name(&self) -> &'static str {
        "nil"
    }
    fn query_state(&self, state: State) -> bool {
        !matches!(state, State::Truthy)
    }
    fn to_kstr(&self) -> KStringCow<'_> {
        KStringCow::from_static("")
    }
    fn to_value(&self) -> Value {
        Value::Nil
    }
    fn as_object(&self) -> Option<&dyn ObjectView> {
        Some(self)
    }
    fn is_nil(&self) -> bool {
        true
    }
}

impl ObjectView for Missing {
    fn as_value(&self) -> &dyn ValueView {
        self
    }
    fn size(&self) -> i64 {
        0
    }
    fn keys<'k>(&'k self) -> Box<dyn Iterator<Item = KStringCow<'k>> + 'k> {
        Box::new(std::iter::empty())
    }
    fn values<'k>(&'k self) -> Box<dyn Iterator<Item = &'k dyn ValueView> + 'k> {
        Box::new(std::iter::empty())
    }
    fn iter<'k>(&'k self) -> Box<dyn Iterator<Item = (KStringCow<'k>, &'k dyn ValueView)> + 'k> {
        Box::new(std::iter::empty())
    }
    fn contains_key(&self, _index: &str) -> bool {
        true
    }
    fn get<'s>(&'s self, index: &str) -> Option<&'s dyn ValueView> {
        (index != "size").then_some(&MISSING as &dyn ValueView)
    }
}

/// Whether `path` names a value in `root`, without the lenient fallbacks.
pub(crate) fn resolves(root: &Map<'_>, path: &[String]) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return true;
    };
    let mut node = match root.find(first) {
        Some(n) => n,
        None => return false,
    };
    for seg in rest {
        node = match node {
            Node::Map(m) => match m.find(seg) {
                Some(n) => n,
                None => return seg == "size",
            },
            Node::Fields(f) => match f.find(seg) {
                Some(n) => n,
                None => return seg == "size",
            },
            Node::List(l) => {
                let hit = match seg.as_str() {
                    "first" => l.0.as_slice().first(),
                    "last" => l.0.as_slice().last(),
                    "size" => return true,
                    s => s.parse::<i64>().ok().and_then(|i| l.index(i)),
                };
                match hit {
                    Some(n) => n,
                    None => return false,
                }
            }
            Node::Text(_) | Node::Scalar(_) => return seg == "size",
            Node::Nil => return false,
        };
    }
    true
}

fn list<'a>(items: &'a [String]) -> Node<'a> {
    Node::List(List(items.iter().map(|s| Node::str(s)).collect()))
}

/// A field's values as one value: nil, the one value, or the values joined by `, `.
pub(crate) fn joined(values: &[String]) -> Node<'_> {
    match values {
        [] => Node::Nil,
        [one] => Node::str(one),
        many => Node::string(many.join(", ")),
    }
}

/// `lead`, `contact`, `company`: id, name, standard fields, tags, `cf` by id and `fields` by name.
pub(crate) fn entity(e: &Entity) -> Node<'_> {
    let kind = match e.entity.kind {
        EntityKind::Lead => "lead",
        EntityKind::Contact => "contact",
        EntityKind::Company => "company",
    };
    let mut m = Map(Vec::with_capacity(16))
        .with("id", Node::int(e.entity.id.0))
        .with("kind", Node::str(kind))
        .with("name", Node::str(&e.name))
        .with("email", e.emails.as_slice().first().map_or(Node::Nil, |s| Node::str(s)))
        .with("emails", list(&e.emails))
        .with("phone", e.phones.as_slice().first().map_or(Node::Nil, |s| Node::str(s)))
        .with("phones", list(&e.phones))
        .with("tags", list(&e.tags))
        .with("cf", Node::Fields(Fields::new(&e.fields, By::Id)))
        .with("fields", Node::Fields(Fields::new(&e.fields, By::Name)));
    if let Some(price) = e.price {
        m = m.with("price", Node::int(price));
    }
    if let Some((pipeline, stage)) = e.stage {
        m = m
            .with("pipeline_id", Node::int(pipeline.0))
            .with("status_id", Node::int(stage.0));
    }
    if let Some(user) = e.responsible {
        m = m.with("responsible_user_id", Node::int(user.0));
    }
    Node::Map(m)
}

/// The recipient's contact, else the first.
fn contact<'a>(record: &'a EntityRecord, ctx: &RenderContext<'_>) -> Option<&'a Entity> {
    ctx.recipient
        .and_then(|to| {
            record
                .contacts
                .iter()
                .find(|c| c.emails.iter().any(|e| e.eq_ignore_ascii_case(&to.email)))
        })
        .or_else(|| record.contacts.as_slice().first())
}

/// The root object of a render, without `__sys` and the rendered subject.
pub(crate) fn root<'a>(ctx: &RenderContext<'a>) -> Map<'a> {
    let record = ctx.record;
    let mut root = Map(Vec::with_capacity(12));
    if let Some(lead) = &record.lead {
        root.0.push((Cow::Borrowed("lead"), entity(lead)));
    }
    if let Some(c) = contact(record, ctx) {
        root.0.push((Cow::Borrowed("contact"), entity(c)));
    }
    root.0.push((
        Cow::Borrowed("contacts"),
        Node::List(List(record.contacts.iter().map(entity).collect())),
    ));
    if let Some(company) = &record.company {
        root.0.push((Cow::Borrowed("company"), entity(company)));
    }
    if let Some(user) = &record.responsible {
        let u = Map(Vec::with_capacity(3))
            .with("id", Node::int(user.id.0))
            .with("name", Node::str(&user.name))
            .with("email", user.email.as_deref().map_or(Node::Nil, Node::str));
        root.0.push((Cow::Borrowed("user"), Node::Map(u)));
    }
    if let Some(sender) = ctx.sender {
        let s = Map(Vec::with_capacity(2))
            .with("name", Node::str(sender.name))
            .with("email", Node::str(sender.email));
        root.0.push((Cow::Borrowed("sender"), Node::Map(s)));
    }
    if let Some(to) = ctx.recipient {
        let r = Map(Vec::with_capacity(2))
            .with("name", to.name.as_deref().map_or(Node::Nil, Node::str))
            .with("email", Node::str(&to.email));
        root.0.push((Cow::Borrowed("recipient"), Node::Map(r)));
    }
    let mut email = Map(Vec::with_capacity(3));
    if let Some(id) = ctx.email.id {
        email = email.with("id", Node::int(id.0));
    }
    if let Some(subject) = ctx.email.subject {
        email = email.with("subject", Node::str(subject));
    }
    if let Some(at) = ctx.email.sent_at {
        email = email.with("sent_at", Node::string(super::compiled::format_time(ctx, at)));
    }
    root.0.push((Cow::Borrowed("email"), Node::Map(email)));
    root
}

#[cfg(test)]
mod tests {
    use liquid_core::model::{ObjectView, ScalarCow, find};
    use proptest::prelude::*;

    use super::root;
    use crate::model::{AccountId, Address, Entity, EntityRecord, EntityRef, FieldEntry, FieldId};
    use crate::template::{LinkBuilder, RenderContext};

    const STEPS: &[&str] = &[
        "lead",
        "contact",
        "contacts",
        "company",
        "email",
        "recipient",
        "name",
        "cf",
        "fields",
        "tags",
        "emails",
        "657200",
        "Budget",
        "id",
        "price",
        "0",
        "1",
        "-1",
        "7",
        "first",
        "last",
        "size",
        "nope",
        "#0",
        "#1",
        "#-1",
        "#-2",
        "#2",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// Wherever the direct lookup answers, it answers what Liquid's `find` answers: the same value.
        #[test]
        fn the_direct_lookup_is_liquids_find(path in prop::collection::vec(prop::sample::select(STEPS), 1..5)) {
            let mut lead = Entity::new(EntityRef::lead(1), "Deal");
            lead.tags = vec!["a".into(), "b".into()];
            lead.price = Some(5);
            lead.fields = vec![
                FieldEntry { id: FieldId(657_200), name: "Budget".into(), values: vec!["10".into(), "20".into()] },
            ];
            let mut contact = Entity::new(EntityRef::contact(2), "Anna");
            contact.emails = vec!["anna@example.com".into()];
            let record = EntityRecord {
                entity: lead.clone(),
                lead: Some(lead),
                contacts: vec![contact.clone(), contact],
                company: None,
                responsible: None,
            };
            let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7u8; 32]).expect("key");
            let now = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("time");
            let to = Address::parse("anna@example.com").expect("address");
            let ctx = RenderContext::new(&record, &links, now).with_recipient(&to);
            let data = root(&ctx);
            // `#n` is the integer index `[n]`.
            let path: Vec<ScalarCow<'_>> = path
                .iter()
                .map(|s| match s.strip_prefix('#').and_then(|n| n.parse::<i64>().ok()) {
                    Some(n) => ScalarCow::new(n),
                    None => ScalarCow::new(*s),
                })
                .collect();
            if let Some(direct) = data.lookup(&path) {
                let liquid = find(data.as_value(), &path).expect("Liquid finds what the lookup found");
                prop_assert!(std::ptr::addr_eq(direct, liquid.as_view()), "{path:?}");
            }
        }
    }
}
