//! The template table: each token, each escaping context, each error, limits, preview and strict mode.

use chrono::TimeZone;
use mailer_core::model::{
    AccountId, Address, Body, Content, CrmUser, CrmUserId, EmailId, Entity, EntityRecord, EntityRef, FieldEntry,
    FieldId, Timestamp, Timezone, TriggerLinkId, WebPageId,
};
use mailer_core::template::{
    CompileOptions, CompiledTemplate, EmailInfo, ErrorKind, Limits, LinkBuilder, Mode, PartName, RESET, RenderContext,
    TemplateError, TextTemplate, TokenKind, render_text,
};

const BASE: &str = "https://t.example.com";

fn record() -> EntityRecord {
    let mut lead = Entity::new(EntityRef::lead(101), "Deal <A&B> \"Q\"");
    lead.tags = vec!["vip".into(), "<b>".into()];
    lead.price = Some(5000);
    lead.fields = vec![
        FieldEntry {
            id: FieldId(657261),
            name: "Budget".into(),
            values: vec!["1 000 <USD>".into()],
        },
        FieldEntry {
            id: FieldId(11),
            name: "Html block".into(),
            values: vec!["<b>trusted</b>".into()],
        },
        FieldEntry {
            id: FieldId(12),
            name: "doc_pdf_download_link".into(),
            values: vec!["https://docs.example.com/a.pdf?x=1&y=2".into()],
        },
        FieldEntry {
            id: FieldId(13),
            name: "Services".into(),
            values: vec!["Cleaning".into(), "Upgrade".into()],
        },
    ];
    let mut anna = Entity::new(EntityRef::contact(201), "Anna");
    anna.emails = vec!["anna@example.com".into()];
    let mut boris = Entity::new(EntityRef::contact(202), "Boris");
    boris.emails = vec!["boris@example.com".into()];
    EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![anna, boris],
        company: Some(Entity::new(EntityRef::company(301), "Acme")),
        responsible: Some(CrmUser {
            id: CrmUserId(5),
            name: "Manager Max".into(),
            email: Some("max@example.com".into()),
        }),
    }
}

fn links() -> LinkBuilder {
    LinkBuilder::new(BASE, AccountId(9), b"a-signing-key-of-32-bytes-000000").expect("key")
}

fn now() -> Timestamp {
    chrono::Utc
        .with_ymd_and_hms(2026, 3, 4, 21, 30, 0)
        .single()
        .expect("time")
}

fn html(body: &str) -> Content {
    Content {
        subject: "S".into(),
        body: Body::Html(body.into()),
        text: None,
    }
}

fn opts() -> CompileOptions {
    CompileOptions::new([TriggerLinkId(8)], [WebPageId(1028)])
}

fn compile(content: &Content) -> CompiledTemplate {
    CompiledTemplate::compile(content, &opts()).expect("compiles")
}

fn compile_err(content: &Content) -> TemplateError {
    CompiledTemplate::compile(content, &opts()).expect_err("refused")
}

struct Env {
    record: EntityRecord,
    links: LinkBuilder,
    to: Address,
}

impl Env {
    fn new() -> Self {
        Self {
            record: record(),
            links: links(),
            to: Address::parse("Boris B <boris@example.com>").expect("addr"),
        }
    }
    fn ctx(&self) -> RenderContext<'_> {
        RenderContext::new(&self.record, &self.links, now())
            .with_recipient(&self.to)
            .with_sender("Sam Sender", "sam@example.com")
            .with_email(EmailInfo {
                id: Some(EmailId(77)),
                subject: Some("Stored subject"),
                sent_at: None,
            })
            .with_timezone(Timezone::parse("Europe/Moscow").expect("tz"))
    }
}

/// The body without the pixel (which is always last).
fn body_of(html: &str) -> &str {
    html.rfind("<img src=\"https://t.example.com/t/o/")
        .map_or(html, |i| &html[..i])
}

fn render_body(src: &str) -> String {
    let env = Env::new();
    let out = compile(&html(src)).render(&env.ctx()).expect("renders");
    body_of(&out.html).to_owned()
}

fn token_of<'u>(url: &'u str, route: &str) -> &'u str {
    let prefix = format!("{BASE}{route}");
    url.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url} is not under {prefix}"))
}

// ---- CRM variables ----

#[test]
fn crm_variables_render_with_escaping_table() {
    let cases: &[(&str, &str)] = &[
        ("{{ lead.name }}", "Deal &lt;A&amp;B&gt; &quot;Q&quot;"),
        ("{{ lead.id }}", "101"),
        ("{{ lead.price }}", "5000"),
        ("{{ lead.cf.657261 }}", "1 000 &lt;USD&gt;"),
        ("{{ lead.fields[\"Budget\"] }}", "1 000 &lt;USD&gt;"),
        ("{{ lead.fields['Services'] }}", "Cleaning, Upgrade"),
        (
            "{{ lead.fields.doc_pdf_download_link }}",
            "https://docs.example.com/a.pdf?x=1&amp;y=2",
        ),
        ("{{ lead.tags | join: \", \" }}", "vip, &lt;b&gt;"),
        ("{{ contact.name }}", "Boris"),
        ("{{ contacts.first.name }}", "Anna"),
        ("{{ company.name }}", "Acme"),
        ("{{ user.name }}", "Manager Max"),
        ("{{ sender.name }} {{ sender.email }}", "Sam Sender sam@example.com"),
        ("{{ recipient.email }}", "boris@example.com"),
        ("{{ email.id }}", "77"),
        ("{{ email.subject }}", "S"),
        ("{{ lead.missing | default: \"n/a\" }}", "n/a"),
        ("[{{ nothing.at.all }}]", "[]"),
        ("[{{ lead.tags[7] }}]", "[]"),
        ("{% if lead.price > 1000 %}big{% else %}small{% endif %}", "big"),
        (
            "{% for t in lead.tags %}<i>{{ t }}</i>{% endfor %}",
            "<i>vip</i><i>&lt;b&gt;</i>",
        ),
        (
            "{{ lead.name | upcase | escape }}",
            "DEAL &lt;A&amp;B&gt; &quot;Q&quot;",
        ),
        ("{{ lead.fields[\"Html block\"] | raw }}", "<b>trusted</b>"),
        ("{{ 'a<b' | newline_to_br }}", "a&lt;b"),
    ];
    for (src, want) in cases {
        assert_eq!(render_body(src), *want, "template {src:?}");
    }
}

#[test]
fn attribute_contexts_are_escaped() {
    let cases: &[(&str, &str)] = &[
        (
            r#"<a title="{{ lead.name }}">x</a>"#,
            r#"<a title="Deal &lt;A&amp;B&gt; &quot;Q&quot;">x</a>"#,
        ),
        (
            r#"<a title='{{ lead.name }}'>x</a>"#,
            "<a title='Deal &lt;A&amp;B&gt; &quot;Q&quot;'>x</a>",
        ),
        (
            "<a title={{ lead.name }}>x</a>",
            "<a title=Deal&#32;&lt;A&amp;B&gt;&#32;&quot;Q&quot;>x</a>",
        ),
    ];
    for (src, want) in cases {
        assert_eq!(render_body(src), *want, "template {src:?}");
    }
}

#[test]
fn subject_loses_line_breaks_and_is_not_html_escaped() {
    let env = Env::new();
    let mut rec = record();
    rec.lead.as_mut().expect("lead").name = "Evil\r\nBcc: x@y.z <b>".into();
    let ctx = RenderContext::new(&rec, &env.links, now());
    let c = Content {
        subject: "Hi {{ lead.name }}\n {id}".into(),
        body: Body::Html("<p>{subject}</p>".into()),
        text: None,
    };
    let out = compile(&c).render(&ctx).expect("renders");
    assert!(!out.subject.contains(['\r', '\n']), "subject {:?}", out.subject);
    assert_eq!(out.subject, "Hi Evil  Bcc: x@y.z <b>");
    assert_eq!(body_of(&out.html), "<p>Hi Evil  Bcc: x@y.z &lt;b&gt;</p>");
}

// ---- widget tokens ----

#[test]
fn time_and_id_tokens() {
    let env = Env::new();
    let c = Content {
        subject: "{id} {date}".into(),
        body: Body::Html("{subject}|{id}|{date}|{sended_at}".into()),
        text: None,
    };
    let out = compile(&c).render(&env.ctx()).expect("renders");
    // 21:30 UTC is 00:30 the next day in Moscow.
    assert_eq!(out.subject, "77 2026-03-05");
    assert_eq!(body_of(&out.html), "77 2026-03-05|77|2026-03-05|2026-03-05 00:30");
}

#[test]
fn link_tokens_are_signed_urls_for_this_recipient() {
    let env = Env::new();
    let c = html("{triggerlink:8}|{web:1028}|{formlink}|{weblink}|{unsubscribe}");
    let out = compile(&c).render(&env.ctx()).expect("renders");
    let body = body_of(&out.html).to_owned();
    let urls: Vec<&str> = body.split('|').collect();
    let want = [
        ("/t/l/", TokenKind::Click(TriggerLinkId(8))),
        ("/p/", TokenKind::Page(WebPageId(1028))),
        ("/f/", TokenKind::Form),
        ("/w/", TokenKind::WebVersion),
        ("/u/", TokenKind::Unsubscribe),
    ];
    assert_eq!(urls.len(), want.len(), "{body}");
    for (url, (route, kind)) in urls.iter().zip(want) {
        let token = env.links.verify(token_of(url, route)).expect("verifies");
        assert_eq!(token.kind, kind);
        assert_eq!(token.recipient, "boris@example.com");
        assert_eq!(token.email, Some(EmailId(77)));
        assert_eq!(token.entity, EntityRef::lead(101));
        assert!(!token.preview);
    }
}

#[test]
fn pixel_is_last_in_body_or_before_body_end_and_signature_precedes_it() {
    let env = Env::new();
    let ctx = env.ctx().with_signature(Some("<p>Best, Sam</p>"));
    let out = compile(&html("<html><body><p>Hi</p></body></html>"))
        .render(&ctx)
        .expect("renders");
    let sig = out.html.find("Best, Sam").expect("signature");
    let pixel = out.html.find("<img src=\"https://t.example.com/t/o/").expect("pixel");
    assert!(
        sig < pixel && pixel < out.html.find("</body>").expect("body end"),
        "{}",
        out.html
    );
    let token = &out.html[pixel + "<img src=\"https://t.example.com/t/o/".len()..];
    let token = &token[..token.find('"').expect("quote")];
    assert_eq!(env.links.verify(token).expect("verifies").kind, TokenKind::Open);

    let out = compile(&html("<p>Hi</p>")).render(&env.ctx()).expect("renders");
    assert!(out.html.ends_with("height:1px\">"), "{}", out.html);
    assert!(!out.html.contains("signature"), "no signature when None");
}

#[test]
fn other_braces_stay_literal() {
    let cases = [
        "<style>p { color: red; } .a{b:c}</style>",
        r#"<script>var x = {"id": 1, "subject": 2};</script>"#,
        "{ id } {Subject} {triggerlink:x} {web:} {unknown} {",
    ];
    for src in cases {
        assert_eq!(render_body(src), src, "template {src:?}");
    }
}

#[test]
fn reset_is_kept_literally_in_texts() {
    let env = Env::new();
    assert_eq!(render_text("{reset}", &env.ctx()).expect("renders"), RESET);
    let text = render_text(
        "Email subject: {subject} Date sent: {sended_at} email ID: {id} {{ lead.name }}",
        &env.ctx(),
    )
    .expect("renders");
    assert_eq!(
        text,
        "Email subject: Stored subject Date sent: 2026-03-05 00:30 email ID: 77 Deal <A&B> \"Q\""
    );
    let page = render_text("{web:5}", &env.ctx()).expect("renders");
    let token = env.links.verify(token_of(&page, "/p/")).expect("verifies");
    assert_eq!(token.kind, TokenKind::Page(WebPageId(5)));
}

// ---- text part and Markdown ----

#[test]
fn text_part_is_derived_with_links_as_text_and_url() {
    let env = Env::new();
    let c = html(
        "<html><head><style>p{color:red}</style><title>T</title></head><body>\
         <h1>Hello&nbsp;{{ contact.name }}</h1><p>Read <a href=\"{triggerlink:8}\">the offer</a> &amp; more.</p>\
         <ul><li>one</li><li>two</li></ul></body></html>",
    );
    let out = compile(&c).render(&env.ctx()).expect("renders");
    let link = out
        .html
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("link");
    assert_eq!(
        out.text,
        format!("Hello Boris\n\nRead the offer ({link}) & more.\n\n- one\n- two")
    );
}

#[test]
fn own_text_part_wins_and_is_not_escaped() {
    let env = Env::new();
    let c = Content {
        subject: "S".into(),
        body: Body::Html("<p>x</p>".into()),
        text: Some("Hi {{ lead.name }} {unsubscribe}".into()),
    };
    let out = compile(&c).render(&env.ctx()).expect("renders");
    assert!(
        out.text.starts_with("Hi Deal <A&B> \"Q\" https://t.example.com/u/"),
        "{}",
        out.text
    );
}

#[test]
fn markdown_body_goes_through_pulldown_cmark_keeping_liquid() {
    let env = Env::new();
    let c = Content {
        subject: "S".into(),
        body: Body::Markdown(
            "# Hi {{ contact.name }}\n\n*Budget*: {{ lead.fields[\"Budget\"] }}\n\n[offer]({triggerlink:8})".into(),
        ),
        text: None,
    };
    let out = compile(&c).render(&env.ctx()).expect("renders");
    let body = body_of(&out.html);
    assert!(
        body.starts_with(
            "<h1>Hi Boris</h1>\n<p><em>Budget</em>: 1 000 &lt;USD&gt;</p>\n<p><a href=\"https://t.example.com/t/l/"
        ),
        "{body}"
    );
}

// ---- errors ----

#[test]
fn compile_errors_table() {
    type Case = (Content, ErrorKind, Option<(u32, u32, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            html("ok\n  {{ lead.name "),
            ErrorKind::Unclosed("{{"),
            Some((2, 3, "{{ lead.name ")),
        ),
        (html("{% if x %}"), ErrorKind::Syntax(String::new()), None),
        (
            html("a\n<p>{{ lead.name | | }}</p>"),
            ErrorKind::Syntax(String::new()),
            Some((2, 4, "")),
        ),
        (
            html("x {% include 'a' %}"),
            ErrorKind::ForbiddenTag("include".into()),
            Some((1, 3, "{% include 'a' %}")),
        ),
        (
            html("{% cycle 'a', 'b' %}"),
            ErrorKind::ForbiddenTag("cycle".into()),
            Some((1, 1, "")),
        ),
        (
            // The compiler's own output tag would let a value choose its escaping.
            html("<p>\n {%- __out __txt 0 lead.name %}</p>"),
            ErrorKind::ForbiddenTag("__out".into()),
            Some((2, 2, "")),
        ),
        (
            html("{% __tick %}"),
            ErrorKind::ForbiddenTag("__tick".into()),
            Some((1, 1, "")),
        ),
        (
            html("{% for i in (1..100000000) %}{% endfor %}"),
            ErrorKind::UnboundedRange("(1..100000000)".into()),
            Some((1, 1, "")),
        ),
        (
            html("{% for i in (1..lead.price) %}{% endfor %}"),
            ErrorKind::UnboundedRange("(1..lead.price)".into()),
            Some((1, 1, "")),
        ),
        (
            html("<a href=\"{triggerlink:9}\">"),
            ErrorKind::UnknownTriggerLink(9),
            Some((1, 10, "{triggerlink:9}")),
        ),
        (
            html("\n\n   {web:7}"),
            ErrorKind::UnknownWebPage(7),
            Some((3, 4, "{web:7}")),
        ),
        (
            Content {
                subject: "Re: {subject}".into(),
                body: Body::Html(String::new()),
                text: None,
            },
            ErrorKind::SubjectInSubject,
            Some((1, 5, "{subject}")),
        ),
    ];
    for (content, kind, pos) in cases {
        let err = compile_err(&content);
        match (&kind, &err.kind) {
            (ErrorKind::Syntax(_), ErrorKind::Syntax(msg)) => assert!(!msg.is_empty(), "{err}"),
            _ => assert_eq!(err.kind, kind, "{content:?}: {err}"),
        }
        if let Some((line, column, snippet)) = pos {
            let p = err.position.as_ref().unwrap_or_else(|| panic!("no position: {err}"));
            assert_eq!((p.line, p.column), (line, column), "{content:?}: {err}");
            assert!(p.snippet.starts_with(snippet), "{content:?}: snippet {:?}", p.snippet);
        }
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn syntax_error_positions_point_into_the_source() {
    let err = compile_err(&html("line one\n<p>{{ lead.name }} {% if %}</p>"));
    assert!(matches!(err.kind, ErrorKind::Syntax(_)), "{err}");
    assert_eq!(err.part, PartName::Body);
    let p = err.position.expect("position");
    assert_eq!(p.line, 2, "{p:?}");
    assert_eq!(p.column, 20, "{p:?}");
    assert!(p.snippet.starts_with("{% if %}"), "{p:?}");
}

#[test]
fn strict_mode_lists_unknown_variables() {
    let env = Env::new();
    let c = Content {
        subject: "{{ lead.nope }}".into(),
        body: Body::Html(
            "{{ lead.name }} {{ email.subject }} {{ lead.fields[\"Nope field\"] }} {{ ghost }} {% assign x = 1 %}{{ x }} \
             {% for t in lead.tags %}{{ t }}{{ forloop.index }}{% endfor %} {{ lead.cf.999 }}"
                .into(),
        ),
        text: None,
    };
    let compiled = compile(&c);
    let err = compiled.render(&env.ctx().with_strict(true)).expect_err("strict");
    assert_eq!(
        err.kind,
        ErrorKind::UnknownVariables(vec![
            "lead.nope".into(),
            "ghost".into(),
            "lead.cf.999".into(),
            "lead.fields[\"Nope field\"]".into(),
        ]),
        "{err}"
    );
    let lenient = compiled.render(&env.ctx()).expect("lenient renders");
    assert_eq!(lenient.subject, "");
}

#[test]
fn limits_are_typed_errors() {
    let env = Env::new();
    let limits = Limits {
        max_output_bytes: 1000,
        max_loop_iterations: 50,
        max_value_size: 100,
    };
    let opts = CompileOptions { limits, ..opts() };
    let run = |src: &str| CompiledTemplate::compile(&html(src), &opts).and_then(|c| c.render(&env.ctx()));
    let cases = [
        (
            "{% for i in (1..40) %}{% for j in (1..40) %}{% endfor %}{% endfor %}",
            ErrorKind::LoopLimit { limit: 50 },
        ),
        (
            "{% assign s = 'xxxxxxxxxx' %}{% for i in (1..10) %}{% assign s = s | append: s %}{% endfor %}",
            ErrorKind::ValueTooLarge { limit: 100 },
        ),
        (
            "{% for i in (1..45) %}0123456789012345678901234567890{% endfor %}",
            ErrorKind::OutputTooLarge { limit: 1000 },
        ),
    ];
    for (src, kind) in cases {
        let err = run(src).expect_err(src);
        assert_eq!(err.kind, kind, "{src}: {err}");
    }
    // The default body limit is 8 MB.
    let big = format!("{{% for i in (1..9000) %}}{}{{% endfor %}}", "x".repeat(1000));
    let err = compile(&html(&big)).render(&env.ctx()).expect_err("over 8 MB");
    assert_eq!(err.kind, ErrorKind::OutputTooLarge { limit: 8 * 1024 * 1024 });
}

#[test]
fn preview_marks_pixel_and_links() {
    let env = Env::new();
    let out = compile(&html("<a href=\"{triggerlink:8}\">x</a>"))
        .render(&env.ctx().with_mode(Mode::Preview))
        .expect("renders");
    let link = out
        .html
        .split("href=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("link");
    assert!(
        env.links
            .verify(token_of(link, "/t/l/"))
            .expect("link verifies")
            .preview
    );
    let pixel = out
        .html
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("pixel");
    assert!(
        env.links
            .verify(token_of(pixel, "/t/o/"))
            .expect("pixel verifies")
            .preview
    );
}

#[test]
fn compiled_template_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<CompiledTemplate>();
    assert_send_sync::<TextTemplate>();
}

#[test]
fn whole_objects_print_the_same_on_every_render_with_keys_sorted() {
    // Found by the `template` fuzz target: a copied CRM object is a hash map whose order changed per render.
    let env = Env::new();
    let c = Content {
        subject: "{{ company }}".into(),
        body: Body::Html(
            "<p>{{ lead }}|{% assign l = company %}{{ l }}|{% for c in contacts %}{{ c }};{% endfor %}|\
             {{ lead | upcase }}|{{ contacts | join: \",\" }}|{{ company | raw }}</p>"
                .into(),
        ),
        text: Some("{{ lead }}|{% for c in contacts %}{{ c }}{% endfor %}".into()),
    };
    let t = compile(&c);
    let first = t.render(&env.ctx()).expect("renders");
    for _ in 0..8 {
        let again = t.render(&env.ctx()).expect("renders");
        assert_eq!(again.subject, first.subject);
        assert_eq!(body_of(&again.html), body_of(&first.html));
        assert_eq!(again.text, first.text);
    }
    // The company prints its keys in sorted order, the same whether read directly or through a copy.
    let company = first.subject.clone();
    assert!(company.contains("Acme"), "{company}");
    let keys: Vec<usize> = ["id", "name"]
        .iter()
        .map(|k| company.find(k).unwrap_or_else(|| panic!("{k} in {company}")))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{company}");
    let body = body_of(&first.html);
    let parts: Vec<&str> = body.split('|').collect();
    assert_eq!(
        parts[1],
        parts[5].trim_end_matches("</p>"),
        "assigned copy and raw print alike: {body}"
    );
    assert!(parts[4].contains("Anna") && parts[4].contains(','), "{body}");
}
