//! One function per fuzz target: each takes the fuzzer's bytes, runs them through the product's own parser
//! or verifier and panics only when a property the product promises is broken. The cargo-fuzz binaries in
//! `fuzz/fuzz_targets/` call these, and so does the plain test `mailer-http/tests/fuzz_corpus.rs`, which
//! replays the kept corpus and every crash found (this file is included there with `#[path]`). The config
//! loader's target is in `config_target.rs`: it builds the whole server library, so the fuzz crate builds it
//! only with the feature `config`.

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mailer_core::model::{
    AccountId, Body, Content, EmailId, Entity, EntityRecord, EntityRef, FieldEntry, FieldId, Secret, Timestamp,
    TriggerLinkId, WebPageId,
};
use mailer_core::template::{
    CompileOptions, CompiledTemplate, EmailInfo, LinkBuilder, Mode, RenderContext, TokenKind, TokenKindTag,
    TrackingToken,
};
use sha2::{Digest, Sha256};

/// Every target's name but `config` (in `config_target.rs`), as the folders under `fuzz/corpus/` are named.
pub const TARGETS: &[&str] = &["template", "token", "form", "kommo_hooks", "dsn"];

/// Runs the target `name` (one of [`TARGETS`]) on `data`; `false` for an unknown name.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "template" => template(data),
        "token" => token(data),
        "form" => form(data),
        "kommo_hooks" => kommo_hooks(data),
        "dsn" => dsn(data),
        _ => return false,
    }
    true
}

const KEY: &[u8] = b"fuzz-signing-key-0123456789abcdef";

fn links() -> &'static LinkBuilder {
    static LINKS: OnceLock<LinkBuilder> = OnceLock::new();
    LINKS.get_or_init(|| LinkBuilder::new("https://t.example.com", AccountId(7), KEY).expect("a long key"))
}

fn now() -> Timestamp {
    chrono::DateTime::from_timestamp(1_750_000_000, 0).unwrap_or_default()
}

/// Splits `data` at NUL bytes into at most `n` UTF-8 (lossy) pieces; missing pieces are empty.
pub(crate) fn pieces(data: &[u8], n: usize) -> Vec<String> {
    let mut out: Vec<String> = data
        .splitn(n, |b| *b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    out.resize(n, String::new());
    out
}

/// Template parse and render: byte 0 picks HTML or Markdown, strict or lenient, live or preview; then
/// subject, body, text part and a CRM value, separated by NUL. Compiling may fail with an error; a
/// template that compiles renders (or fails with an error) without a panic, twice the same.
pub fn template(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let [subject, body, text, value]: [String; 4] = pieces(rest, 4).try_into().expect("four pieces");
    let content = Content {
        subject,
        body: if flags & 1 == 0 {
            Body::Html(body)
        } else {
            Body::Markdown(body)
        },
        text: (flags & 2 != 0).then_some(text),
    };
    let opts = if flags & 4 == 0 {
        CompileOptions::permissive()
    } else {
        CompileOptions::new([TriggerLinkId(1)], [WebPageId(1)])
    };
    let Ok(compiled) = CompiledTemplate::compile(&content, &opts) else {
        return;
    };
    let mut lead = Entity::new(EntityRef::lead(1), value.clone());
    lead.tags = vec![value.clone(), "vip".into()];
    lead.fields = vec![FieldEntry {
        id: FieldId(657_261),
        name: "Budget".into(),
        values: vec![value.clone()],
    }];
    let mut contact = Entity::new(EntityRef::contact(2), value.clone());
    contact.emails = vec!["c@example.com".into()];
    let record = EntityRecord {
        entity: lead.clone(),
        lead: Some(lead),
        contacts: vec![contact],
        company: None,
        responsible: None,
    };
    let mode = if flags & 8 == 0 { Mode::Live } else { Mode::Preview };
    let ctx = RenderContext::new(&record, links(), now())
        .with_mode(mode)
        .with_strict(flags & 16 != 0)
        .with_sender(&value, "s@example.com")
        .with_signature((flags & 32 != 0).then_some(value.as_str()))
        .with_email(EmailInfo {
            id: Some(EmailId(9)),
            subject: None,
            sent_at: None,
        });
    let first = compiled.render(&ctx);
    let second = compiled.render(&ctx);
    match (first, second) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.html, b.html, "two renders of one context differ");
            assert!(
                !a.subject.contains('\n'),
                "a subject with a line break: {:?}",
                a.subject
            );
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("one render failed and the other did not: {a:?} / {b:?}"),
    }
}

/// The longest address `Address::parse` accepts, in bytes.
const LONGEST_ADDRESS: usize = 64 + 1 + 253;

/// The token verifier: any string is refused or decoded without a panic; a token signed from fuzzed
/// fields verifies to the same fields, and any one changed character is refused.
pub fn token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let links = links();
    if let Ok(decoded) = links.verify(&text) {
        // Only a token this key signed can verify: signing what it decoded gives a token that verifies alike.
        assert_eq!(links.verify(&links.sign(&decoded)).ok(), Some(decoded));
    }
    let _ = links.verify_kind(&text, &[TokenKindTag::Form]);
    let _ = mailer_core::template::token_key_id(&text);
    if data.len() < 12 {
        return;
    }
    let n = |i: usize| i64::from(u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]));
    let kind = match data[0] % 6 {
        0 => TokenKind::Open,
        1 => TokenKind::Click(TriggerLinkId(n(1))),
        2 => TokenKind::WebVersion,
        3 => TokenKind::Form,
        4 => TokenKind::Page(WebPageId(n(1))),
        _ => TokenKind::Unsubscribe,
    };
    // A token's recipient is an address: at most 318 bytes (64 local, `@`, 253 domain); a longer token is
    // refused by the verifier's length bound (found by this target: it is not a token the mailer makes).
    let mut recipient = String::from_utf8_lossy(&data[12..]).into_owned();
    let mut cut = recipient.len().min(LONGEST_ADDRESS);
    while !recipient.is_char_boundary(cut) {
        cut -= 1;
    }
    recipient.truncate(cut);
    let token = TrackingToken {
        kind,
        account: AccountId(7),
        email: (data[5] & 1 == 1).then(|| EmailId(n(5))),
        recipient,
        entity: EntityRef::lead(n(8)),
        preview: data[5] & 2 == 2,
        issued_at: now(),
    };
    let signed = links.sign(&token);
    assert_eq!(
        links.verify(&signed).as_ref(),
        Ok(&token),
        "a signed token does not verify"
    );
    let other = LinkBuilder::new("https://t.example.com", AccountId(8), KEY).expect("key");
    assert!(other.verify(&signed).is_err(), "another account accepted the token");
    let at = usize::from(data[1]) % signed.len();
    let mut changed: Vec<char> = signed.chars().collect();
    changed[at] = if changed[at] == 'A' { 'B' } else { 'A' };
    let changed: String = changed.into_iter().collect();
    assert!(links.verify(&changed).is_err(), "a changed token verified: {changed}");
    assert!(
        links.verify(&signed[..signed.len() - 1]).is_err(),
        "a truncated token verified"
    );
}

/// The form-name parser and the form writer: each line `name=value` is one answer; every name goes
/// through the parser, then the whole submission through [`mailer_core::engine::Engine::submit_form`]
/// on the in-memory harness with a valid form token for its lead. Errors are fine; panics are not.
pub fn form(data: &[u8]) {
    use mailer_core::testkit::{Harness, block_on};
    let text = String::from_utf8_lossy(data);
    let answers: Vec<(String, String)> = text
        .lines()
        .take(300)
        .map(|line| match line.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (line.to_owned(), String::new()),
        })
        .collect();
    for (name, _) in &answers {
        if let Some(field) = mailer_core::form_names::form_field(name) {
            let _ = field.kind();
        }
        for depth in [1, 3, 8] {
            if let Ok(segments) = mailer_core::form_names::segments(name, depth) {
                assert!(
                    segments.len() <= depth + 1,
                    "{name:?} gave {segments:?} past depth {depth}"
                );
                let rebuilt: String = segments
                    .iter()
                    .enumerate()
                    .map(|(i, s)| if i == 0 { (*s).to_owned() } else { format!("[{s}]") })
                    .collect();
                assert_eq!(&rebuilt, name, "the segments do not spell the name");
            }
        }
    }
    block_on(async {
        let h = Harness::new().await;
        let key =
            LinkBuilder::new("https://t.example.com", h.account.id, mailer_core::testkit::HARNESS_KEY).expect("key");
        let token = key.sign(&TrackingToken {
            kind: TokenKind::Form,
            account: h.account.id,
            email: None,
            recipient: String::new(),
            entity: h.world.lead,
            preview: false,
            issued_at: h.now(),
        });
        let _ = h.engine.submit_form(&token, &answers).await;
        let _ = h.engine.submit_form(&text, &answers).await;
    });
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// An HS256 JWT over `payload` (any bytes) signed with `secret`, as Kommo would sign it.
fn signed_jwt(payload: &[u8], secret: &[u8]) -> String {
    let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(payload);
    let signed = format!("{head}.{body}");
    let mac = URL_SAFE_NO_PAD.encode(hmac_sha256(secret, signed.as_bytes()));
    format!("{signed}.{mac}")
}

/// The Kommo hook parsers: byte 0 picks the account webhook, the digital-pipeline hook (JSON or form),
/// the form decoder, a raw JWT, a JWT signed over fuzzed claims, or a Salesbot request (raw, or with a
/// signed token over fuzzed claims). Every input is parsed or refused with an error; a token signed with
/// another secret is always refused.
pub fn kommo_hooks(data: &[u8]) {
    use mailer_kommo::hooks;
    const SECRET: &[u8] = b"fuzz-client-secret";
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let now = 1_750_000_000;
    match pick % 8 {
        0 => drop(hooks::parse_account_webhook(body)),
        1 => drop(hooks::parse_dp_hook(Some("application/json"), body)),
        2 => drop(hooks::parse_dp_hook(Some("application/x-www-form-urlencoded"), body)),
        3 => drop(hooks::parse_form(body)),
        4 => {
            let text = String::from_utf8_lossy(body);
            if let Ok(claims) = hooks::verify_hs(&text, SECRET, now) {
                // Forged: the same token must fail under another secret.
                assert!(hooks::verify_hs(&text, b"another-secret", now).is_err(), "{claims:?}");
            }
        }
        5 => {
            let jwt = signed_jwt(body, SECRET);
            let _ = hooks::verify_hs(&jwt, SECRET, now);
            assert!(
                hooks::verify_hs(&jwt, b"another-secret", now).is_err(),
                "a forged JWT verified"
            );
        }
        6 => drop(hooks::parse_widget_request(
            body,
            &Secret::new("fuzz-client-secret"),
            now,
        )),
        _ => {
            let jwt = signed_jwt(body, SECRET);
            let request = serde_json::json!({
                "token": jwt,
                "data": {"a": String::from_utf8_lossy(body)},
                "return_url": "https://acme.kommo.com/api/v4/salesbot/1/continue/2",
            });
            let bytes = serde_json::to_vec(&request).expect("json");
            let _ = hooks::parse_widget_request(&bytes, &Secret::new("fuzz-client-secret"), now);
            assert!(
                hooks::parse_widget_request(&bytes, &Secret::new("another-secret"), now).is_err(),
                "a forged Salesbot request was accepted"
            );
        }
    }
}

/// The classifier of received mail (bounces, auto-replies, replies): byte 0 picks the raw bytes as one
/// message, the bytes as the parts of an RFC 3464 report (human text, `message/delivery-status` fields,
/// returned message; separated by NUL), or as the subject and body of a mailer daemon's text bounce.
/// Classifying never panics, gives the same answer twice, and every Message-ID it returns is bare
/// (non-empty, trimmed, no `>`) and listed once; the answer survives a JSON round trip.
///
/// `classify` contains a panic inside mail-parser (0.11 asserts on some broken MIME in builds with debug
/// assertions, as the fuzzers are): the panic hook lets such a panic unwind to it instead of reporting a
/// crash. Any other panic — in mailer's own code — is still a crash.
pub fn dsn(data: &[u8]) {
    use mailer_core::inbox::{Incoming, Received, classify};
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let crash = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info.location().is_some_and(|l| l.file().contains("/mail-parser-"));
            if !in_parser {
                crash(info);
            }
        }));
    });
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let raw: Vec<u8> = match pick % 3 {
        0 => rest.to_vec(),
        1 => {
            let [human, fields, returned]: [String; 3] = pieces(rest, 3).try_into().expect("three pieces");
            format!(
                "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>\r\n\
                 Subject: Returned mail\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/report; report-type=delivery-status; boundary=\"b0\"\r\n\r\n\
                 --b0\r\n\r\n{human}\r\n--b0\r\nContent-Type: message/delivery-status\r\n\r\n\
                 Reporting-MTA: dns; mx.example.net\r\n\r\n{fields}\r\n\
                 --b0\r\nContent-Type: message/rfc822\r\n\r\n{returned}\r\n--b0--\r\n"
            )
            .into_bytes()
        }
        _ => {
            let [subject, body]: [String; 2] = pieces(rest, 2).try_into().expect("two pieces");
            format!("From: MAILER-DAEMON@mx.example.org\r\nSubject: {subject}\r\n\r\n{body}").into_bytes()
        }
    };
    let received = classify(&raw);
    assert_eq!(classify(&raw), received, "two classifications differ");
    let bare = |ids: &[String]| {
        for id in ids {
            assert!(
                !id.is_empty() && id.trim() == id && !id.contains('>'),
                "not a bare Message-ID: {id:?}"
            );
        }
        let mut unique = ids.to_vec();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "a Message-ID listed twice: {ids:?}");
    };
    bare(received.message_id.as_slice());
    match &received.kind {
        Incoming::Bounce(bounce) => bare(&bounce.original),
        Incoming::AutoReply { refers_to } | Incoming::Reply { refers_to } => bare(refers_to),
        Incoming::Other => {}
    }
    let json = serde_json::to_string(&received).expect("serialize");
    let back: Received = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, received, "a JSON round trip changed it");
}
