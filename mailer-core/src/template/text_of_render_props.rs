//! The text part of a render, made from the remembered text of the template's literal pieces, is exactly
//! the text of the rendered HTML converted at once, whatever the template, the values and the signature.

use proptest::prelude::*;

use super::text::html_to_text;
use super::{CompileOptions, CompiledTemplate, LinkBuilder, RenderContext};
use crate::model::{AccountId, Body, Content, Entity, EntityRecord, EntityRef};

/// Pieces of templates: literal HTML (entities, comments, links, trims, a `</body>`) and outputs, loops,
/// branches and captures.
const FRAGMENTS: &[&str] = &[
    "<p>",
    "</p>",
    "Hello, ",
    " ",
    "\n  ",
    "<br>",
    "<b>bold</b> words  two",
    "&amp; &lt;x&gt; &nope ",
    "<!-- note -->",
    "<style>p { color: red }</style>",
    "<li>",
    "</li>",
    "</body>",
    "</html>",
    "<a href=\"https://x.test/?a=1&amp;b=2\">",
    "</a>",
    "<img alt=\"logo &amp; co\" src=\"i.png\">",
    "«ünï»",
    "<td>",
    "</td>",
    "<div>",
    "{{ lead.name }}",
    "{{ contact.name }}",
    "{{ lead.name | upcase }}",
    "{{- lead.name -}}",
    "  {%- if lead.name -%}  yes  {%- endif -%}  ",
    "{{ lead.name | raw }}",
    "<a href=\"{{ lead.name }}\">",
    "<a href=\"{triggerlink:8}\">",
    "{% for t in lead.tags %}<li>{{ t }}</li>{% endfor %}",
    "{% if lead.price %}<p>price {{ lead.price }}</p>{% else %}none{% endif %}",
    "{% capture c %}<b>{{ lead.name }}</b> {% endcapture %}{{ c }}",
];

const NAMES: &[&str] = &[
    "Anna",
    "",
    "  spaced   out ",
    "a<b>&c",
    "line\nbreak",
    "</body>",
    "ünï",
    "https://y.test/z",
];

fn record(name: &str, tags: &[&str], price: Option<i64>) -> EntityRecord {
    let mut lead = Entity::new(EntityRef::lead(1), name);
    lead.tags = tags.iter().map(|t| (*t).to_owned()).collect();
    lead.price = price;
    EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![Entity::new(EntityRef::contact(2), "Bob  B")],
        company: None,
        responsible: None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_text_part_is_the_text_of_the_html(
        fragments in prop::collection::vec(prop::sample::select(FRAGMENTS), 1..24),
        names in prop::collection::vec(prop::sample::select(NAMES), 1..4),
        signature in prop::option::of(prop::sample::select(&["<p>Best,<br>Sam</p>", "  ", "Sam &amp; co"][..])),
        tags in prop::collection::vec(prop::sample::select(&["a", " b ", "<c>"][..]), 0..3),
        price in prop::option::of(0i64..3),
    ) {
        let content = Content {
            subject: "s".into(),
            body: Body::Html(fragments.concat()),
            text: None,
        };
        let Ok(compiled) = CompiledTemplate::compile(&content, &CompileOptions::permissive()) else {
            // Some mixes put a value where no escaping makes it safe; those are refused, not rendered.
            return Ok(());
        };
        let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7u8; 32]).expect("key");
        let now = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("time");
        // Several recipients, then the first again: the memo learnt on one is used on the others.
        for name in names.iter().chain(names.first()) {
            let record = record(name, &tags, price);
            let ctx = RenderContext::new(&record, &links, now).with_signature(signature);
            let out = compiled.render(&ctx).expect("renders");
            prop_assert_eq!(&out.text, &html_to_text(&out.html), "html: {:?}", out.html);
        }
    }
}
