//! Issue 12, item 1: a CRM value is escaped for the place it lands in, decided when the template is
//! compiled. One table per class, several payloads each, asserting the rendered HTML (and text), and a
//! property: no CRM value brings a `<script`, an `on…=` attribute or a refused URL scheme into the HTML,
//! whatever the template (templates from a set of shapes with the value in every context; `raw`, the
//! author's explicit opt-out, is left out).

use mailer_core::model::{AccountId, Body, Content, Entity, EntityRecord, EntityRef, FieldEntry, FieldId, Timestamp};
use mailer_core::template::{CompileOptions, CompiledTemplate, ErrorKind, LinkBuilder, RenderContext, TemplateError};
use proptest::prelude::*;

const INVALID: &str = "about:invalid#mailer";

fn record(value: &str) -> EntityRecord {
    let mut lead = Entity::new(EntityRef::lead(1), value);
    lead.fields = vec![FieldEntry {
        id: FieldId(7),
        name: "Url".into(),
        values: vec![value.to_owned()],
    }];
    EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![],
        company: None,
        responsible: None,
    }
}

fn links() -> LinkBuilder {
    LinkBuilder::new(
        "https://t.example.com",
        AccountId(1),
        b"context-test-signing-key-0000000",
    )
    .expect("key")
}

fn now() -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

fn content(body: Body) -> Content {
    Content {
        subject: "S".into(),
        body,
        text: None,
    }
}

fn compile(body: Body) -> Result<CompiledTemplate, TemplateError> {
    CompiledTemplate::compile(&content(body), &CompileOptions::permissive())
}

/// The rendered HTML body (without the pixel) and text part, `value` as `lead.name` and `lead.cf.7`.
fn render(body: Body, value: &str) -> (String, String) {
    let c = compile(body).expect("compiles");
    let rec = record(value);
    let links = links();
    let out = c.render(&RenderContext::new(&rec, &links, now())).expect("renders");
    let html = out
        .html
        .rfind("<img src=\"https://t.example.com/t/o/")
        .map_or(out.html.clone(), |i| out.html[..i].to_owned());
    (html, out.text)
}

fn html(src: &str, value: &str) -> String {
    render(Body::Html(src.into()), value).0
}

const BAD_URLS: &[&str] = &[
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "JavaScript:alert(1)",
    "  javascript:alert(1)",
    "\tjavascript:alert(1)",
    "java\tscript:alert(1)",
    "java\nscript:alert(1)",
    "java\rscript:alert(1)",
    "java\u{0}script:alert(1)",
    "java\u{1b}script:alert(1)",
    "javascript&colon;alert(1)",
    "javascript&#58;alert(1)",
    "javascript&#x3a;alert(1)",
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#0000106&#0000097vascript:alert(1)",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "DATA:text/html,<script>alert(1)</script>",
    " data:image/svg+xml,<svg onload=alert(1)>",
];

const GOOD_URLS: &[(&str, &str)] = &[
    ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&amp;c=2"),
    ("HTTP://EXAMPLE.COM", "HTTP://EXAMPLE.COM"),
    ("mailto:anna@example.com", "mailto:anna@example.com"),
    ("tel:+1 555 0100", "tel:+1 555 0100"),
    ("/offers/1", "/offers/1"),
    ("offer.html?x=javascript:1", "offer.html?x=javascript:1"),
    ("#top", "#top"),
];

#[test]
fn url_attributes_refuse_dangerous_schemes() {
    let shapes = [
        "<a href=\"{{ lead.name }}\">x</a>",
        "<a href='{{ lead.name }}'>x</a>",
        "<a HREF=\"  {{ lead.name }}\">x</a>",
        "<img src=\"{{ lead.cf.7 }}\">",
        "<form action=\"{{ lead.name }}\"></form>",
        "<button formaction=\"{{ lead.name }}\">b</button>",
        "<td background=\"{{ lead.name }}\"></td>",
        "<video poster=\"{{ lead.name }}\"></video>",
        "<blockquote cite=\"{{ lead.name }}\"></blockquote>",
        "<iframe src=\"{{ lead.name | escape }}\"></iframe>",
        "<a href=\"{{ lead.name | escape_once }}\">x</a>",
        "<a href=\"{{ lead.name | strip }}\">x</a>",
        "<svg><a xlink:href=\"{{ lead.name }}\">x</a></svg>",
    ];
    for shape in shapes {
        for bad in BAD_URLS {
            let out = html(shape, bad);
            assert!(out.contains(INVALID), "{shape} with {bad:?}: {out}");
            let lower = out.to_lowercase();
            assert!(
                !lower.contains("script:") && !lower.contains("data:"),
                "{shape} {bad:?}: {out}"
            );
        }
        for (good, shown) in GOOD_URLS {
            let out = html(shape, good);
            assert!(out.contains(shown), "{shape} with {good:?}: {out}");
            assert!(!out.contains(INVALID), "{shape} with {good:?}: {out}");
        }
    }
}

#[test]
fn unquoted_url_attributes_and_markdown_link_targets_are_checked_too() {
    for bad in BAD_URLS {
        let out = html("<a href={{ lead.name }}>x</a>", bad);
        assert!(out.starts_with(&format!("<a href={INVALID}>")), "{bad:?}: {out}");
        let (md, text) = render(
            Body::Markdown("[offer]({{ lead.name }}) ![i]({{ lead.cf.7 }})".into()),
            bad,
        );
        assert_eq!(md.matches(INVALID).count(), 2, "{bad:?}: {md}");
        assert!(!text.to_lowercase().contains("script:"), "{bad:?}: {text}");
    }
    let out = html("<a href={{ lead.name }}>x</a>", "https://example.com/a b");
    assert_eq!(out, "<a href=https://example.com/a&#32;b>x</a>");
    let (md, text) = render(
        Body::Markdown("[offer]({{ lead.name }})".into()),
        "https://example.com/o",
    );
    assert_eq!(md.trim(), "<p><a href=\"https://example.com/o\">offer</a></p>");
    assert_eq!(text.trim(), "offer (https://example.com/o)");
}

#[test]
fn a_literal_scheme_or_path_before_the_value_fixes_the_url() {
    // The template chose the scheme: the value is only escaped.
    let out = html(
        "<a href=\"https://example.com/?q={{ lead.name }}\">x</a>",
        "javascript:alert(1)",
    );
    assert_eq!(out, "<a href=\"https://example.com/?q=javascript:alert(1)\">x</a>");
    let out = html("<a href=\"/search/{{ lead.name }}\">x</a>", "javascript:1");
    assert_eq!(out, "<a href=\"/search/javascript:1\">x</a>");
    // Two values: each may choose the scheme, so each is checked.
    let out = html("<a href=\"{{ lead.name }}{{ lead.cf.7 }}\">x</a>", "javascript:1");
    assert_eq!(out, format!("<a href=\"{INVALID}{INVALID}\">x</a>"));
    // A literal `:` after a value would let the value be the scheme: refused when compiling.
    let err = compile(Body::Html("<p>\n<a href=\"{{ lead.name }}:alert(1)\">x</a>".into())).expect_err("refused");
    assert!(matches!(err.kind, ErrorKind::UnsafeContext(_)), "{err}");
    assert_eq!(err.position.as_ref().map(|p| p.line), Some(2), "{err}");
}

#[test]
fn attribute_names_and_tag_names_cannot_be_values() {
    for (src, line, column) in [
        ("<p {{ lead.name }}>", 1, 4),
        ("<p class=\"a\" {{ lead.name }}>", 1, 14),
        ("<p\n  title=x {{ lead.name }}>", 2, 11),
        ("<{{ lead.name }}>", 1, 2),
        ("<p{{ lead.name }}>", 1, 3),
        ("<a on{{ lead.name }}=\"x\">", 1, 6),
        ("<p title {{ lead.name }}>", 1, 10),
        ("<p {subject}>", 1, 4),
    ] {
        let err = compile(Body::Html(src.into())).expect_err(src);
        assert!(matches!(err.kind, ErrorKind::UnsafeContext(_)), "{src}: {err}");
        let p = err.position.as_ref().expect("position");
        assert_eq!((p.line, p.column), (line, column), "{src}: {err}");
    }
    // `raw` is the author's explicit trust and still works.
    assert_eq!(html("<p {{ lead.name | raw }}>", "hidden"), "<p hidden>");
}

#[test]
fn unquoted_values_cannot_start_another_attribute() {
    let payloads = [
        ("x onmouseover=alert(1)", "<td title=x&#32;onmouseover&#61;alert(1)>"),
        ("x\tonclick=y", "<td title=x&#9;onclick&#61;y>"),
        ("x\nonclick=y", "<td title=x&#10;onclick&#61;y>"),
        ("\"><script>", "<td title=&quot;&gt;&lt;script&gt;>"),
        ("a`b'c", "<td title=a&#96;b&#39;c>"),
        ("x\u{a0}onclick=y", "<td title=x&#160;onclick&#61;y>"),
    ];
    for (value, expected) in payloads {
        assert_eq!(html("<td title={{ lead.name }}>", value), expected, "{value:?}");
        // `| escape` does not weaken the unquoted context.
        assert_eq!(
            html("<td title={{ lead.name | escape }}>", value),
            expected,
            "{value:?}"
        );
        let after = html("<td class=a title={{ lead.name }} id=b>", value);
        assert!(after.ends_with(" id=b>"), "{value:?}: {after}");
    }
}

#[test]
fn quoted_values_and_text_are_escaped_once() {
    for (value, text, attr) in [
        ("A & B", "A &amp; B", "A &amp; B"),
        (
            "<b>\"q\"</b>",
            "&lt;b&gt;&quot;q&quot;&lt;/b&gt;",
            "&lt;b&gt;&quot;q&quot;&lt;/b&gt;",
        ),
        ("it's", "it&#39;s", "it&#39;s"),
        ("&amp;", "&amp;amp;", "&amp;amp;"),
    ] {
        assert_eq!(html("<p>{{ lead.name }}</p>", value), format!("<p>{text}</p>"));
        assert_eq!(html("<p>{{ lead.name | escape }}</p>", value), format!("<p>{text}</p>"));
        assert_eq!(
            html("<p title=\"{{ lead.name }}\"></p>", value),
            format!("<p title=\"{attr}\"></p>")
        );
        assert_eq!(
            html("<p title='{{ lead.name | escape }}'></p>", value),
            format!("<p title='{attr}'></p>")
        );
        // A captured value printed again is not escaped a second time.
        let captured = html(
            "{% capture c %}<i>{{ lead.name }}</i>{% endcapture %}<p>{{ c }}</p>",
            value,
        );
        assert_eq!(captured, format!("<p><i>{text}</i></p>"), "{value:?}");
        let in_attr = html(
            "{% capture c %}{{ lead.name }}{% endcapture %}<p title=\"{{ c }}\"></p>",
            value,
        );
        assert_eq!(in_attr, format!("<p title=\"{attr}\"></p>"), "{value:?}");
    }
    // `escape_once` keeps entities the value already has, in every context.
    assert_eq!(
        html("<p>{{ lead.name | escape_once }}</p>", "&amp; <"),
        "<p>&amp; &lt;</p>"
    );
    // A capture that something else also assigns is escaped as any value.
    let out = html(
        "{% capture c %}x{% endcapture %}{% for i in (1..2) %}<p>{{ c }}</p>{% assign c = lead.name %}{% endfor %}",
        "<b>",
    );
    assert_eq!(out, "<p>x</p><p>&lt;b&gt;</p>");
    // newline_to_br still makes line breaks in text, after the escaping.
    assert_eq!(
        html("<p>{{ lead.name | newline_to_br }}</p>", "a<\nb"),
        "<p>a&lt;<br />\nb</p>"
    );
}

#[test]
fn css_values_are_allow_listed_and_script_is_refused() {
    for (value, kept) in [
        ("red", true),
        ("#ff0000", true),
        ("12px", true),
        ("Arial, sans-serif", true),
        ("red; background: url(javascript:alert(1))", false),
        ("expression(alert(1))", false),
        ("red\" onclick=\"alert(1)", false),
        ("</style><script>alert(1)</script>", false),
        ("\\72 ed", false),
        ("red/**/;x:y", false),
    ] {
        let expected = if kept { value } else { "" };
        assert_eq!(
            html("<p style=\"color: {{ lead.name }}\">x</p>", value),
            format!("<p style=\"color: {expected}\">x</p>"),
            "{value:?}"
        );
        assert_eq!(
            html("<style>p { color: {{ lead.name }}; }</style>", value),
            format!("<style>p {{ color: {expected}; }}</style>"),
            "{value:?}"
        );
        let unquoted = html("<p style=color:{{ lead.name }}>x</p>", value);
        assert!(
            !unquoted.contains(" onclick") && !unquoted.contains("<script"),
            "{unquoted}"
        );
    }
    for (src, line) in [
        ("<p>a</p>\n<script>var n = \"{{ lead.name }}\";</script>", 2),
        (
            "<SCRIPT type=\"application/ld+json\">{\"n\": \"{{ lead.name }}\"}</SCRIPT>",
            1,
        ),
        ("\n\n<a onclick=\"go('{{ lead.name }}')\">x</a>", 3),
        ("<a ONMOUSEOVER={{ lead.name }}>x</a>", 1),
        ("<iframe srcdoc=\"{{ lead.name }}\"></iframe>", 1),
    ] {
        let err = compile(Body::Html(src.into())).expect_err(src);
        assert!(matches!(err.kind, ErrorKind::UnsafeContext(_)), "{src}: {err}");
        assert_eq!(err.position.as_ref().map(|p| p.line), Some(line), "{src}: {err}");
        assert!(err.to_string().contains(&format!("line {line}")), "{err}");
    }
    // After </script> values are text again.
    assert_eq!(
        html("<script>var a = 1;</script><p>{{ lead.name }}</p>", "<"),
        "<script>var a = 1;</script><p>&lt;</p>"
    );
}

#[test]
fn branches_must_end_in_the_context_they_started_in() {
    let ok = "<td {% if lead.name %}class=\"a\"{% else %}class=\"b\"{% endif %}>{% for t in lead.tags %}<b>{{ t }}</b>{% endfor %}</td>";
    assert!(compile(Body::Html(ok.into())).is_ok());
    let url = "<a href=\"{% if lead.name %}https://a.example{% else %}{{ lead.name }}{% endif %}\">x</a>";
    assert_eq!(html(url, "javascript:x"), "<a href=\"https://a.example\">x</a>");
    for bad in [
        "<a href=\"{% if lead.name %}\">{% endif %}{{ lead.name }}",
        "<p {% if lead.name %}title=\"{% endif %}{{ lead.name }}\">",
        "{% for t in lead.tags %}<a href=\"{% endfor %}\">",
        "{% capture c %}<a href=\"{% endcapture %}\">",
    ] {
        let err = compile(Body::Html(bad.into())).expect_err(bad);
        assert!(matches!(err.kind, ErrorKind::UnsafeContext(_)), "{bad}: {err}");
    }
}

#[test]
fn form_fields_are_derived_when_compiling() {
    let src = r#"<form method="post" action="{formlink}">
  <input type="text" name="lead[657261]" value="{{ lead.name }}">
  <input type=checkbox name=lead[620103][] value=a>
  <select name='contact[11973]'><option>x</option></select>
  <textarea name="field[Home address]"></textarea>
  <button name="send">Go</button>
  <input name="{{ lead.name }}">
</form>
<input name="outside">"#;
    let c = compile(Body::Html(src.into())).expect("compiles");
    let names: Vec<&str> = c.form_fields().iter().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "contact[11973]",
            "field[Home address]",
            "lead[620103][]",
            "lead[657261]",
            "send"
        ]
    );
    let md = compile(Body::Markdown(
        "Hello\n\n<form><input name=\"lead[1]\"></form>\n".into(),
    ))
    .expect("md");
    assert_eq!(md.form_fields().iter().collect::<Vec<_>>(), ["lead[1]"]);
}

// ---- the property ----

/// Shapes with the value (`V`) in every context: text, attributes quoted both ways and unquoted, URL
/// attributes, CSS, Markdown link targets, after `escape`, `escape_once`, `newline_to_br`, a capture, a
/// loop and a branch.
const SHAPES: &[&str] = &[
    "<p>V</p>",
    "<p title=\"V\">x</p>",
    "<p title='V'>x</p>",
    "<p title=V>x</p>",
    "<p class=a title=V id=b>x</p>",
    "<a href=\"V\">x</a>",
    "<a href='V'>x</a>",
    "<a href=V>x</a>",
    "<a href=\"VV\">x</a>",
    "<a href=\"  V\">x</a>",
    "<img src=\"V\" alt=\"V\">",
    "<form action=V><button formaction=\"V\">b</button></form>",
    "<table background=\"V\"><tr><td>V</td></tr></table>",
    "<p style=\"color: V\">x</p>",
    "<p style=color:V>x</p>",
    "<style>p { color: V; }</style><p>V</p>",
    "<textarea>V</textarea><title>V</title>",
    "<!-- V --><p>V</p>",
    "<svg><a xlink:href=\"V\">x</a></svg>",
    "<meta http-equiv=\"refresh\" content=\"V\">",
];

fn fill(shape: &str, filter: &str) -> String {
    shape.replace('V', &format!("{{{{ lead.name{filter} }}}}"))
}

/// A tiny HTML tokenizer: the start tags with their attribute names and values (values decoded).
fn tags(html: &str) -> Vec<(String, Vec<(String, String)>)> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' && b.get(i + 1).is_some_and(u8::is_ascii_alphabetic) {
            let mut j = i + 1;
            while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' && b[j] != b'/' {
                j += 1;
            }
            let name = html[i + 1..j].to_ascii_lowercase();
            let mut attrs = Vec::new();
            loop {
                while j < b.len() && (b[j].is_ascii_whitespace() || b[j] == b'/') {
                    j += 1;
                }
                if j >= b.len() || b[j] == b'>' {
                    break;
                }
                let start = j;
                while j < b.len() && !b[j].is_ascii_whitespace() && !matches!(b[j], b'>' | b'/' | b'=') {
                    j += 1;
                }
                if j == start {
                    j += 1;
                    continue;
                }
                let attr = html[start..j].to_ascii_lowercase();
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                let mut value = String::new();
                if j < b.len() && b[j] == b'=' {
                    j += 1;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if j < b.len() && (b[j] == b'"' || b[j] == b'\'') {
                        let q = b[j];
                        let vs = j + 1;
                        j = vs;
                        while j < b.len() && b[j] != q {
                            j += 1;
                        }
                        value = html[vs..j.min(b.len())].to_owned();
                        j += 1;
                    } else {
                        let vs = j;
                        while j < b.len() && !b[j].is_ascii_whitespace() && b[j] != b'>' {
                            j += 1;
                        }
                        value = html[vs..j].to_owned();
                    }
                }
                attrs.push((attr, decode(&value)));
            }
            let raw = matches!(name.as_str(), "script" | "style" | "textarea" | "title");
            out.push((name.clone(), attrs));
            i = j + 1;
            if raw {
                let close = format!("</{name}");
                let rest = html[i.min(html.len())..].to_ascii_lowercase();
                i += rest.find(&close).unwrap_or(rest.len());
            }
        } else {
            i += 1;
        }
    }
    out
}

fn decode(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|e| *e < 12);
        let Some(end) = end else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let ent = &rest[1..end];
        let c = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "colon" => Some(':'),
            _ => ent.strip_prefix('#').and_then(|n| {
                let code = match n.strip_prefix(['x', 'X']) {
                    Some(h) => u32::from_str_radix(h, 16).ok(),
                    None => n.parse().ok(),
                };
                code.and_then(char::from_u32)
            }),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn scheme(url: &str) -> Option<String> {
    let cleaned: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let cut = cleaned.find([':', '/', '?', '#'])?;
    (cleaned.as_bytes()[cut] == b':').then(|| cleaned[..cut].to_owned())
}

fn hostile() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("javascript:".to_owned()),
        Just("JaVa\tScRiPt:".to_owned()),
        Just("vbscript:".to_owned()),
        Just("data:".to_owned()),
        Just("&#106;".to_owned()),
        Just("&colon;".to_owned()),
        Just("<script>".to_owned()),
        Just("</style>".to_owned()),
        Just("\" onclick=\"x".to_owned()),
        Just("' onerror='x".to_owned()),
        Just(" onmouseover=x ".to_owned()),
        Just("><svg onload=x>".to_owned()),
        Just("`=".to_owned()),
        Just("url(".to_owned()),
        Just("expression(".to_owned()),
        Just("\n".to_owned()),
        "[a-z:;()<>\"'=& /\\\\#-]{0,6}",
    ];
    prop::collection::vec(pieces, 0..6).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn no_crm_value_adds_script_handlers_or_schemes(
        shape in prop::sample::select(SHAPES),
        filter in prop::sample::select(&["", " | escape", " | escape_once", " | strip", " | newline_to_br", " | upcase", " | append: lead.name"][..]),
        value in hostile(),
        markdown in any::<bool>(),
    ) {
        let src = fill(shape, filter);
        let body = if markdown { Body::Markdown(format!("Hi\n\n{src}\n")) } else { Body::Html(src.clone()) };
        let Ok(compiled) = compile(body.clone()) else {
            // A refused template renders nothing.
            return Ok(());
        };
        let links = links();
        let rec = record(&value);
        let out = compiled.render(&RenderContext::new(&rec, &links, now())).expect("renders").html;
        let safe = record("v");
        let reference = compiled.render(&RenderContext::new(&safe, &links, now())).expect("renders").html;
        let got = tags(&out);
        let want = tags(&reference);
        let names = |t: &[(String, Vec<(String, String)>)]| -> Vec<(String, Vec<String>)> {
            // `newline_to_br` is the template asking for `<br />`: markup, not data.
            t.iter()
                .filter(|(n, _)| n != "br")
                .map(|(n, a)| (n.clone(), a.iter().map(|(k, _)| k.clone()).collect()))
                .collect()
        };
        prop_assert_eq!(names(&got), names(&want), "value {:?} in {:?}: {}", value, src, out);
        prop_assert_eq!(
            out.to_ascii_lowercase().matches("<script").count(),
            reference.to_ascii_lowercase().matches("<script").count(),
            "{}", out
        );
        for (tag, attrs) in &got {
            for (name, v) in attrs {
                prop_assert!(!name.starts_with("on"), "{} in <{}>: {}", name, tag, out);
                if ["href", "src", "action", "formaction", "background", "xlink:href", "content"].contains(&name.as_str()) {
                    let s = scheme(v);
                    let allowed = s.as_deref().is_none_or(|s| ["http", "https", "mailto", "tel", "about"].contains(&s));
                    prop_assert!(allowed, "scheme {:?} in {}={:?}: {}", s, name, v, out);
                }
                if name == "style" {
                    let lower = v.to_ascii_lowercase();
                    prop_assert!(!lower.contains("url(") && !lower.contains("expression("), "{}", out);
                }
            }
        }
    }
}
