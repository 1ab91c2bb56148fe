//! Property tests: rendering never panics, CRM values never reach HTML unescaped, signed links verify and
//! any one-byte change fails.

use mailer_core::model::{
    AccountId, Address, Body, Content, EmailId, Entity, EntityRecord, EntityRef, FieldEntry, FieldId,
};
use mailer_core::template::{
    CompileOptions, CompiledTemplate, EmailInfo, ErrorKind, LinkBuilder, RenderContext, TokenKind, TrackingToken,
};
use proptest::prelude::*;

fn links() -> LinkBuilder {
    LinkBuilder::new(
        "https://t.example.com",
        AccountId(3),
        b"property-test-signing-key-000000",
    )
    .expect("key")
}

fn record(name: &str, field: &str, tags: Vec<String>) -> EntityRecord {
    let mut lead = Entity::new(EntityRef::lead(1), name);
    lead.tags = tags;
    lead.fields = vec![FieldEntry {
        id: FieldId(657261),
        name: "Budget".into(),
        values: vec![field.to_owned()],
    }];
    let mut contact = Entity::new(EntityRef::contact(2), field);
    contact.emails = vec!["c@example.com".into()];
    EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![contact],
        company: None,
        responsible: None,
    }
}

fn now() -> mailer_core::model::Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

/// Pieces of template: markup without CRM data, and outputs of CRM values through filters.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 .,!?\n]{0,12}",
        Just("<p>".to_owned()),
        Just("</p>".to_owned()),
        Just("<a href=\"".to_owned()),
        Just("\">".to_owned()),
        Just("<td title=".to_owned()),
        Just(" class='".to_owned()),
        Just("'>".to_owned()),
        Just("{{ lead.name }}".to_owned()),
        Just("{{ lead.cf.657261 }}".to_owned()),
        Just("{{ lead.fields[\"Budget\"] | upcase }}".to_owned()),
        Just("{{ contact.name | append: lead.name }}".to_owned()),
        Just("{{ lead.tags | join: ', ' }}".to_owned()),
        Just("{{ lead.name | truncate: 5 }}".to_owned()),
        Just("{{ lead.name | escape_once }}".to_owned()),
        Just("{{ lead.name | newline_to_br }}".to_owned()),
        Just("{% for t in lead.tags %}{{ t }}{% endfor %}".to_owned()),
        Just("{% if lead.name contains 'a' %}{{ lead.name }}{% endif %}".to_owned()),
        Just("{subject}".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn rendering_arbitrary_text_never_panics(
        subject in "\\PC{0,40}",
        body in "(\\PC|[{}%<>\"'|])*",
        name in "\\PC{0,20}",
    ) {
        let links = links();
        let rec = record(&name, &name, vec![name.clone()]);
        let content = Content { subject, body: Body::Html(body.clone()), text: None };
        if let Ok(c) = CompiledTemplate::compile(&content, &CompileOptions::permissive()) {
            let _ = c.render(&RenderContext::new(&rec, &links, now()));
        }
        let md = Content { subject: String::new(), body: Body::Markdown(body), text: Some(name) };
        if let Ok(c) = CompiledTemplate::compile(&md, &CompileOptions::permissive()) {
            let _ = c.render(&RenderContext::new(&rec, &links, now()).with_strict(true));
        }
    }

    #[test]
    fn crm_values_never_reach_html_unescaped(
        pieces in prop::collection::vec(piece(), 0..12),
        name in "[a-z<>\"'& \n]{0,16}",
        field in "[A-Z<>\"'&=` ]{0,16}",
        tags in prop::collection::vec("[<>\"&a-z]{0,6}", 0..4),
    ) {
        let links = links();
        let rec = record(&name, &field, tags);
        let to = Address::parse("c@example.com").expect("addr");
        let body = pieces.concat();
        let content = Content { subject: "{{ lead.name }}".into(), body: Body::Html(body.clone()), text: None };
        // A value in a tag or attribute name is refused when compiling (issue 12); nothing to render then.
        let c = match CompiledTemplate::compile(&content, &CompileOptions::permissive()) {
            Ok(c) => c,
            Err(e) => {
                prop_assert!(matches!(e.kind, ErrorKind::UnsafeContext(_)), "{:?}", e);
                return Ok(());
            }
        };
        let ctx = RenderContext::new(&rec, &links, now()).with_recipient(&to).with_email(EmailInfo {
            id: Some(EmailId(1)),
            ..EmailInfo::default()
        });
        let mut out = c.render(&ctx).expect("renders");
        // `newline_to_br` is the template asking for line breaks: its `<br />` is markup, not data.
        out.html = out.html.replace("<br />", "");
        // Render the same template with harmless data: every <, >, " and ' must come from the template.
        // Harmless data of the same shape: a value empty here is empty there too, so an attribute the template
        // itself quotes (`href="{{ … }}"`) renders `=""` in both and the normalisation below treats them alike.
        let harmless = |v: &str, with: &str| if v.is_empty() { String::new() } else { with.to_owned() };
        let safe_tags = rec.entity.tags.iter().map(|t| harmless(t, "t")).collect();
        // The name keeps whether it contains 'a', so `{% if lead.name contains 'a' %}` takes the same branch.
        let safe_name = harmless(&name, if name.contains('a') { "a" } else { "n" });
        let safe = record(&safe_name, &harmless(&field, "F"), safe_tags);
        let reference = c.render(&RenderContext::new(&safe, &links, now()).with_recipient(&to).with_email(EmailInfo {
            id: Some(EmailId(1)),
            ..EmailInfo::default()
        })).expect("renders");
        // An empty value that starts an unquoted attribute renders as `""` (the compiler's quotes, issue
        // 12): count quotes without them; a value's own `"` and `=` are always escaped.
        out.html = out.html.replace("=\"\"", "=");
        let reference_html = reference.html.replace("=\"\"", "=");
        for ch in ['<', '>', '"'] {
            prop_assert_eq!(
                out.html.matches(ch).count(),
                reference_html.matches(ch).count(),
                "{:?} leaked for body {:?}: {}", ch, body, out.html
            );
        }
        // Every & starts an entity.
        for (i, _) in out.html.match_indices('&') {
            let rest = &out.html[i..];
            let ok = ["&amp;", "&lt;", "&gt;", "&quot;", "&#"].iter().any(|e| rest.starts_with(e));
            prop_assert!(ok, "bare & in {}", out.html);
        }
    }

    #[test]
    fn signed_links_verify_and_any_byte_change_fails(
        kind in 0u8..6,
        target in any::<i64>(),
        email in proptest::option::of(any::<i64>()),
        entity in any::<i64>(),
        recipient in "\\PC{0,30}",
        preview in any::<bool>(),
        at in 0i64..4_000_000_000,
        flip_at in any::<prop::sample::Index>(),
        flip_to in 1u8..=255,
    ) {
        let links = links();
        let kind = match kind {
            0 => TokenKind::Open,
            1 => TokenKind::Click(mailer_core::model::TriggerLinkId(target)),
            2 => TokenKind::WebVersion,
            3 => TokenKind::Form,
            4 => TokenKind::Page(mailer_core::model::WebPageId(target)),
            _ => TokenKind::Unsubscribe,
        };
        let token = TrackingToken {
            kind,
            account: AccountId(3),
            email: email.map(EmailId),
            recipient,
            entity: EntityRef::contact(entity),
            preview,
            issued_at: chrono::DateTime::from_timestamp(at, 0).unwrap_or_default(),
        };
        let signed = links.sign(&token);
        prop_assert_eq!(links.verify(&signed), Ok(token));
        // Change one character of the URL-safe text to another URL-safe character.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut bytes = signed.clone().into_bytes();
        let i = flip_at.index(bytes.len());
        let pos = alphabet.iter().position(|&c| c == bytes[i]).unwrap_or(0);
        bytes[i] = alphabet[(pos + usize::from(flip_to)) % alphabet.len()];
        if bytes[i] != signed.as_bytes()[i] {
            let changed = String::from_utf8(bytes).expect("ascii");
            prop_assert!(links.verify(&changed).is_err(), "{} accepted", changed);
        }
        // And a change to one byte of the decoded token, re-encoded.
        use base64::Engine as _;
        let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&signed).expect("b64");
        let j = flip_at.index(raw.len());
        raw[j] ^= flip_to;
        let changed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
        prop_assert!(links.verify(&changed).is_err());
    }
}
