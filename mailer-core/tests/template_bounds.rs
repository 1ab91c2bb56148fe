//! Issue 12, item 2: a template is a user's input and never takes the process down. Depth and size bombs
//! run on a thread with a 256 KiB stack and end with a typed error; the pre-compile pass is linear; a
//! fuzz loop over templates and values finds no panic.

// These tests measure how long compiling takes, on the wall clock: that is what they check.
#![allow(clippy::disallowed_methods)]

use std::time::{Duration, Instant};

use mailer_core::model::{AccountId, Body, Content, Entity, EntityRecord, EntityRef, Timestamp};
use mailer_core::template::{
    CompileOptions, CompiledTemplate, ErrorKind, LinkBuilder, PartName, RenderContext, TemplateError,
};
use proptest::prelude::*;

const SMALL_STACK: usize = 256 * 1024;

fn record(name: &str, tags: Vec<String>, price: Option<i64>) -> EntityRecord {
    let mut lead = Entity::new(EntityRef::lead(1), name);
    lead.tags = tags;
    lead.price = price;
    EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![],
        company: None,
        responsible: None,
    }
}

fn now() -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

/// Compiles `body` as HTML and renders it for `rec`, on a thread with a 256 KiB stack.
fn run_small(body: String, rec: EntityRecord) -> Result<String, TemplateError> {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(move || {
            let content = Content {
                subject: "S".into(),
                body: Body::Html(body),
                text: None,
            };
            let compiled = CompiledTemplate::compile(&content, &CompileOptions::permissive())?;
            let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7u8; 32]).expect("key");
            compiled
                .render(&RenderContext::new(&rec, &links, now()))
                .map(|r| r.html)
        })
        .expect("thread")
        .join()
        .expect("no panic, no overflow")
}

fn plain() -> EntityRecord {
    record("Anna", vec!["a".into()], Some(5))
}

#[test]
fn deep_nesting_is_refused_before_liquid_parses_it() {
    for n in [30, 1_300, 20_000] {
        let body = format!("{}x{}", "{% if lead.name %}".repeat(n), "{% endif %}".repeat(n));
        let err = run_small(body, plain()).expect_err("too deep");
        assert_eq!(err.kind, ErrorKind::TooDeep { limit: 24 }, "{n}: {err}");
        assert_eq!(err.position.as_ref().map(|p| p.line), Some(1));
    }
    let mixed = "{% for t in lead.tags %}{% capture c %}{% unless x %}{% case y %}{% when 1 %}".repeat(10);
    let err = run_small(mixed, plain()).expect_err("too deep");
    assert!(matches!(err.kind, ErrorKind::TooDeep { .. }), "{err}");
    // The limit itself renders fine on the small stack.
    let ok = format!("{}x{}", "{% if lead.name %}".repeat(24), "{% endif %}".repeat(24));
    assert!(run_small(ok, plain()).expect("renders").starts_with('x'));
}

#[test]
fn deep_brackets_are_refused_before_liquid_parses_them() {
    for n in [9, 3_000, 50_000] {
        for body in [
            format!("{{{{ lead{}0{} }}}}", "[".repeat(n), "]".repeat(n)),
            format!("{{% if {}1{} %}}x{{% endif %}}", "(".repeat(n), ")".repeat(n)),
            format!("{{% assign a = lead{}\"a\"{} %}}", "[".repeat(n), "]".repeat(n)),
            format!("{{{{ lead.name | append: x{} }}}}", "[".repeat(n)),
        ] {
            let err = run_small(body, plain()).expect_err("too deep");
            assert_eq!(err.kind, ErrorKind::TooDeep { limit: 8 }, "{n}: {err}");
        }
    }
    assert_eq!(
        run_small("{{ lead.tags[0] }}".into(), plain())
            .expect("renders")
            .split('<')
            .next(),
        Some("a")
    );
}

#[test]
fn captures_and_filter_results_count_against_the_output_limit() {
    let big = "x".repeat(600 * 1024);
    let too_large = ErrorKind::OutputTooLarge { limit: 8 * 1024 * 1024 };
    for body in [
        // Captured, never printed.
        "{% capture a %}{% for i in (1..9999) %}{{ lead.name }}{% endfor %}{% endcapture %}",
        // Many captures, each under the limit.
        "{% for i in (1..9999) %}{% capture a %}{{ lead.name }}{% endcapture %}{% endfor %}",
        // Filter results assigned and dropped.
        "{% for i in (1..9999) %}{% assign a = lead.name | append: i %}{% endfor %}",
        // Nested captures.
        "{% capture a %}{% capture b %}{% for i in (1..20) %}{{ lead.name }}{% endfor %}{% endcapture %}{% endcapture %}",
    ] {
        let started = Instant::now();
        let err = run_small(body.into(), record(&big, vec![], None)).expect_err(body);
        assert_eq!(err.kind, too_large, "{body}: {err}");
        assert_eq!(err.part, PartName::Body);
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{body}: {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn multiplying_filters_are_sized_before_they_build() {
    let a10k = "a".repeat(10_000);
    let value_limit = ErrorKind::ValueTooLarge { limit: 1024 * 1024 };
    let tags: Vec<String> = (0..2_000).map(|i| i.to_string()).collect();
    for body in [
        "{{ lead.name | replace: 'a', lead.name }}",
        "{{ lead.name | replace: '', lead.name }}",
        "{{ lead.tags | join: lead.name }}",
    ] {
        let err = run_small(body.into(), record(&a10k, tags.clone(), None)).expect_err(body);
        assert_eq!(err.kind, value_limit, "{body}: {err}");
    }
    let out = run_small(
        "{{ lead.name | replace: 'n', 'N' | replace_first: 'A', 'a' }}".into(),
        plain(),
    )
    .expect("ok");
    assert!(out.starts_with("aNNa"), "{out}");
}

#[test]
fn arithmetic_on_extreme_numbers_is_an_error_not_a_panic() {
    let min = record("n", vec![], Some(i64::MIN));
    let max = record("n", vec![], Some(i64::MAX));
    for (body, rec) in [
        ("{{ lead.price | divided_by: -1 }}", &min),
        ("{{ lead.price | modulo: -1 }}", &min),
        ("{{ lead.price | abs }}", &min),
        ("{{ lead.price | minus: 1 }}", &min),
        ("{{ lead.price | times: -1 }}", &min),
        ("{{ lead.price | plus: 1 }}", &max),
        ("{{ lead.price | times: 2 }}", &max),
        ("{{ lead.price | divided_by: 0 }}", &max),
        ("{{ lead.price | modulo: 0 }}", &max),
        ("{{ 1.5 | divided_by: 0.0 }}", &max),
    ] {
        let err = run_small(body.into(), rec.clone()).expect_err(body);
        assert!(matches!(err.kind, ErrorKind::Render(_)), "{body}: {err}");
    }
    for (body, expected) in [
        ("{{ lead.price | divided_by: 2 }}", "4611686018427387903"),
        ("{{ 7 | modulo: 3 }}", "1"),
        ("{{ -3 | abs }}", "3"),
        ("{{ 1.5 | times: 2 }}", "3"),
        ("{{ 10 | divided_by: 4.0 }}", "2.5"),
        ("{{ 2 | plus: 3 | minus: 1 }}", "4"),
    ] {
        let out = run_small(body.into(), max.clone()).expect(body);
        assert!(out.starts_with(expected), "{body}: {out}");
    }
    // Integer literals Liquid cannot hold are refused before it parses them (it panics on them).
    for body in [
        "{{ 99999999999999999999 }}",
        "{% assign v = 10000000000000000000 %}",
        "{% if (1..99999999999999999999) contains 3 %}x{% endif %}",
        "{{ lead.tags[18446744073709551616] }}",
    ] {
        let err = run_small(body.into(), plain()).expect_err(body);
        assert!(
            matches!(err.kind, ErrorKind::Syntax(ref m) if m.contains("out of range")),
            "{body}: {err}"
        );
    }
    // Library filters with extreme arguments do not panic either.
    for body in [
        "{{ lead.name | slice: 1, 9223372036854775807 }}",
        "{{ lead.name | slice: -9223372036854775807, 3 }}",
        "{{ lead.name | truncate: 0 }}",
        "{{ lead.name | truncate: -5 }}",
        "{{ lead.name | truncatewords: 0 }}",
        "{{ 1.5 | round: 400 }}",
        "{{ 1.5 | round: -400 }}",
        "{{ lead.name | at_least: 9223372036854775807 }}",
    ] {
        let _ = run_small(body.into(), plain());
    }
}

#[test]
fn an_unknown_filter_names_itself_its_line_and_column() {
    let body = "<p>Hello</p>\n<p>{{ lead.name | upcase | shout: 3 }}</p>";
    let err = run_small(body.into(), plain()).expect_err("unknown");
    assert_eq!(err.kind, ErrorKind::UnknownFilter("shout".into()));
    let p = err.position.as_ref().expect("position");
    assert_eq!((p.line, p.column, p.snippet.as_str()), (2, 28, "shout: 3 }}</p>"));
    assert!(
        err.to_string().contains("unknown filter `shout` at line 2, column 28"),
        "{err}"
    );
    let err = run_small("{% assign x = lead.name | nope %}".into(), plain()).expect_err("unknown");
    assert_eq!(err.kind, ErrorKind::UnknownFilter("nope".into()));
    // The compiler's own filters cannot be named by a template.
    let err = run_small("{{ lead.name | __esc_unq }}".into(), plain()).expect_err("internal");
    assert_eq!(err.kind, ErrorKind::UnknownFilter("__esc_unq".into()));
}

/// Compiles `input` as HTML and as Markdown; answers the slower time.
fn compile_time(input: &str) -> Duration {
    let mut worst = Duration::ZERO;
    for markdown in [false, true] {
        let content = Content {
            subject: "S".into(),
            body: if markdown {
                Body::Markdown(input.to_owned())
            } else {
                Body::Html(input.to_owned())
            },
            text: None,
        };
        let started = Instant::now();
        let _ = CompiledTemplate::compile(&content, &CompileOptions::permissive());
        worst = worst.max(started.elapsed());
    }
    worst
}

#[test]
fn the_pre_compile_pass_is_linear() {
    let shapes: [fn(usize) -> String; 8] = [
        |n| "{".repeat(n),
        |n| "{a".repeat(n / 2),
        |n| format!("{}x", "{{".repeat(n / 2)),
        |n| format!("{}x", "{%".repeat(n / 2)),
        |n| format!("{{% raw %}}{}%}}", "{%".repeat(n / 2)),
        |n| "<a ".repeat(n / 3),
        |n| "<a href=\"".repeat(n / 9),
        |n| "{{x}}".repeat(n / 5),
    ];
    for shape in shapes {
        let small = compile_time(&shape(40_000));
        let large = compile_time(&shape(160_000));
        let sample = shape(12);
        // Four times the input: linear takes about four times as long, quadratic sixteen.
        assert!(
            large < small * 8 + Duration::from_millis(300),
            "{sample}…: {small:?} for 40 KB, {large:?} for 160 KB"
        );
    }
}

fn piece() -> impl Strategy<Value = String> {
    let number = prop_oneof![
        Just("9223372036854775807".to_owned()),
        Just("-9223372036854775807".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1e308".to_owned()),
        Just("lead.price".to_owned()),
        "-?[0-9]{1,20}",
    ];
    let filter = prop_oneof![
        number.clone().prop_map(|n| format!("plus: {n}")),
        number.clone().prop_map(|n| format!("minus: {n}")),
        number.clone().prop_map(|n| format!("times: {n}")),
        number.clone().prop_map(|n| format!("divided_by: {n}")),
        number.clone().prop_map(|n| format!("modulo: {n}")),
        number.clone().prop_map(|n| format!("slice: {n}")),
        (number.clone(), number.clone()).prop_map(|(a, b)| format!("slice: {a}, {b}")),
        number.clone().prop_map(|n| format!("truncate: {n}")),
        number.clone().prop_map(|n| format!("truncatewords: {n}")),
        number.clone().prop_map(|n| format!("round: {n}")),
        number.clone().prop_map(|n| format!("at_least: {n}")),
        Just("abs".to_owned()),
        Just("ceil".to_owned()),
        Just("floor".to_owned()),
        Just("date: '%Y %s %%'".to_owned()),
        Just("split: ''".to_owned()),
        Just("join: lead.name".to_owned()),
        Just("replace: '', 'ab'".to_owned()),
        Just("url_decode".to_owned()),
        Just("escape_once".to_owned()),
        Just("newline_to_br".to_owned()),
        Just("sort".to_owned()),
        Just("where: 'a'".to_owned()),
        Just("map: 'name'".to_owned()),
        Just("first".to_owned()),
        Just("size".to_owned()),
    ];
    let subject = prop_oneof![
        number,
        Just("lead.name".to_owned()),
        Just("lead.tags".to_owned()),
        Just("lead.cf.1".to_owned()),
        Just("'text'".to_owned()),
        Just("nil".to_owned()),
    ];
    prop_oneof![
        (subject.clone(), prop::collection::vec(filter, 0..4)).prop_map(|(s, f)| format!(
            "{{{{ {s}{} }}}}",
            f.iter().map(|f| format!(" | {f}")).collect::<String>()
        )),
        "[a-z<>\"'=/ {}%|]{0,8}",
        Just("{% if lead.name %}".to_owned()),
        Just("{% endif %}".to_owned()),
        Just("{% for t in lead.tags %}".to_owned()),
        Just("{% endfor %}".to_owned()),
        Just("{% capture c %}".to_owned()),
        Just("{% endcapture %}{{ c }}".to_owned()),
        subject.prop_map(|s| format!("{{% assign v = {s} %}}{{{{ v }}}}")),
        Just("<a href=\"".to_owned()),
        Just("<p title=".to_owned()),
        Just("<style>".to_owned()),
        Just("\">".to_owned()),
        Just("{triggerlink:1}".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    /// Whatever the template and the values: an answer, never a panic.
    #[test]
    fn arbitrary_templates_and_values_never_panic(
        pieces in prop::collection::vec(piece(), 0..10),
        name in "\\PC{0,12}",
        tags in prop::collection::vec("\\PC{0,4}", 0..3),
        price in proptest::option::of(any::<i64>()),
        markdown in any::<bool>(),
    ) {
        let src = pieces.concat();
        let rec = record(&name, tags, price);
        let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7u8; 32]).expect("key");
        let body = if markdown { Body::Markdown(src.clone()) } else { Body::Html(src.clone()) };
        let content = Content { subject: src.clone(), body, text: Some(src) };
        if let Ok(c) = CompiledTemplate::compile(&content, &CompileOptions::permissive()) {
            let _ = c.render(&RenderContext::new(&rec, &links, now()));
        }
    }
}
