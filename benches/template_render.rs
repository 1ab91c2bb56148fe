//! Template rendering: our full render against the `liquid` crate alone, on the same HTML and values.
//!
//! `render/mailer`: `CompiledTemplate::render` of a realistic 20 KB HTML newsletter with 30 variables,
//! 3 trigger links (signed per recipient), a loop over 5 tags, the signature, the open pixel and the text
//! part derived from the HTML. `render/liquid_bare`: `liquid::Template::render` of the same HTML, with the
//! same values in a prebuilt object and the three link URLs as plain variables, and nothing else.
//!
//! Run with `cargo bench --bench template_render --all-features`; results go to BENCHMARKS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mailer_core::model::{
    AccountId, Address, Body, Content, CrmUser, CrmUserId, EmailId, Entity, EntityRecord, EntityRef, FieldEntry,
    FieldId, TriggerLinkId,
};
use mailer_core::template::{CompileOptions, CompiledTemplate, EmailInfo, LinkBuilder, RenderContext};

const LINKS: [i64; 3] = [8, 9, 10];

/// The template source; `link` writes a trigger link the way each engine spells it.
fn source(link: impl Fn(i64) -> String, cf: impl Fn(i64) -> String) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Offer</title><style>\
         body { margin: 0; font-family: Arial, sans-serif; } .wrap { width: 600px; margin: 0 auto; }\
         td { padding: 8px 12px; } .btn { display: inline-block; background: #2a7ae2; color: #fff; }\
         </style></head><body><div class=\"wrap\">",
    );
    s.push_str("<h1>Hello, {{ contact.name }}!</h1><p>Your manager {{ user.name }} ({{ user.email }}) prepared an offer for {{ company.name }}.</p>");
    s.push_str(
        "<table><tr><td>Deal</td><td>{{ lead.name }}</td></tr><tr><td>Budget</td><td>{{ lead.price }}</td></tr>",
    );
    for (i, id) in (1..=20).zip(657_200..) {
        s.push_str(&format!("<tr><td>Field {i}</td><td>{}</td></tr>", cf(id)));
    }
    s.push_str("</table><ul>{% for t in lead.tags %}<li>{{ t | upcase }}</li>{% endfor %}</ul>");
    for (n, id) in LINKS.iter().enumerate() {
        s.push_str(&format!(
            "<p><a class=\"btn\" href=\"{}\">Action {n}</a></p>",
            link(*id)
        ));
    }
    s.push_str("<p>{{ contact.email }} · {{ contact.phone }} · {{ sender.name }} &lt;{{ sender.email }}&gt;</p>");
    let filler = "<p style=\"color:#333;line-height:1.5\">We build reliable things and we like to explain them \
                  plainly: this paragraph is the body of a real newsletter, with enough words to look like one.</p>";
    while s.len() < 20_000 {
        s.push_str(filler);
    }
    s.push_str("</div></body></html>");
    s
}

fn record() -> EntityRecord {
    let mut lead = Entity::new(EntityRef::lead(1001), "Cleaning contract & service");
    lead.price = Some(125_000);
    lead.tags = ["vip", "spring", "b2b", "renewal", "north"].map(String::from).to_vec();
    lead.fields = (657_200..657_220)
        .map(|id| FieldEntry {
            id: FieldId(id),
            name: format!("Field {id}"),
            values: vec![format!("value <{id}>")],
        })
        .collect();
    let mut contact = Entity::new(EntityRef::contact(2001), "Anna Smith");
    contact.emails = vec!["anna@example.com".into()];
    contact.phones = vec!["+1 555 0100".into()];
    EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![contact],
        company: Some(Entity::new(EntityRef::company(3001), "Acme Ltd")),
        responsible: Some(CrmUser {
            id: CrmUserId(5),
            name: "Max Manager".into(),
            email: Some("max@example.com".into()),
        }),
    }
}

fn bench(c: &mut Criterion) {
    let ours = source(
        |n| format!("{{triggerlink:{n}}}"),
        |id| format!("{{{{ lead.cf.{id} }}}}"),
    );
    let bare = source(
        |n| format!("{{{{ links.l{n} }}}}"),
        |id| format!("{{{{ lead.cf[\"{id}\"] }}}}"),
    );
    let content = Content {
        subject: "Offer for {{ lead.name }}".into(),
        body: Body::Html(ours),
        text: None,
    };
    let compiled = CompiledTemplate::compile(&content, &CompileOptions::new(LINKS.map(TriggerLinkId), []))
        .expect("template compiles");
    let record = record();
    let links = LinkBuilder::new("https://t.example.com", AccountId(1), [7u8; 32]).expect("key");
    let to = Address::parse("Anna Smith <anna@example.com>").expect("address");
    let now = chrono::DateTime::from_timestamp(1_750_000_000, 0).expect("time");
    let ctx = RenderContext::new(&record, &links, now)
        .with_recipient(&to)
        .with_sender("Sam Sender", "sam@example.com")
        .with_signature(Some("<p>Best regards,<br>Sam Sender<br>Acme Ltd</p>"))
        .with_email(EmailInfo {
            id: Some(EmailId(42)),
            ..EmailInfo::default()
        });
    let sample = compiled.render(&ctx).expect("renders");
    assert!(sample.html.len() > 20_000 && !sample.text.is_empty());

    let parser = liquid::ParserBuilder::with_stdlib().build().expect("parser");
    let template = parser.parse(&bare).expect("liquid parses");
    let lead = record.lead.as_ref().expect("lead");
    let contact = &record.contacts[0];
    let cf: liquid::Object = lead
        .fields
        .iter()
        .map(|f| {
            (
                f.id.0.to_string().into(),
                liquid::model::Value::scalar(f.values[0].clone()),
            )
        })
        .collect();
    let globals = liquid::object!({
        "lead": { "name": lead.name, "price": 125_000, "tags": lead.tags, "cf": cf },
        "contact": { "name": contact.name, "email": contact.emails[0], "phone": contact.phones[0] },
        "company": { "name": "Acme Ltd" },
        "user": { "name": "Max Manager", "email": "max@example.com" },
        "sender": { "name": "Sam Sender", "email": "sam@example.com" },
        "links": {
            "l8": "https://t.example.com/t/l/AQIAAAAAAAAAAAEAAAAAAAAAKgAAAAAAAAAIAQAAAAAAAAfRAAAAAGhO4YBhbm5hQGV4YW1wbGUuY29t",
            "l9": "https://t.example.com/t/l/AQIAAAAAAAAAAAEAAAAAAAAAKgAAAAAAAAAJAQAAAAAAAAfRAAAAAGhO4YBhbm5hQGV4YW1wbGUuY29t",
            "l10": "https://t.example.com/t/l/AQIAAAAAAAAAAAEAAAAAAAAAKgAAAAAAAAAKAQAAAAAAAAfRAAAAAGhO4YBhbm5hQGV4YW1wbGUuY29t",
        },
    });
    let bare_out = template.render(&globals).expect("liquid renders");
    assert!(bare_out.len() > 20_000);

    let mut group = c.benchmark_group("render");
    group.bench_function("mailer", |b| {
        b.iter(|| compiled.render(black_box(&ctx)).expect("renders"))
    });
    group.bench_function("liquid_bare", |b| {
        b.iter(|| template.render(black_box(&globals)).expect("renders"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
