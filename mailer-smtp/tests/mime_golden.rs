//! Known answers for the wire form: each message below is built and compared byte for byte with
//! `tests/fixtures/mime/<name>.eml`. The files were written by the lettre-based builder of commit c7d2b13
//! (lettre 0.11.23 formatting every part), before the message was written in one buffer by our own
//! writer; they pin that the writer gives the same bytes: the same headers in the same order, the same
//! boundaries, the same transfer encoding for each part and the same encoded lines.
//!
//! `MAILER_BLESS=1 cargo test -p mailer-smtp --test mime_golden` writes the files again (only for a change
//! that is meant to change the bytes; say why in the commit).

use std::path::PathBuf;

use chrono::TimeZone;
use mailer_core::model::Address;
use mailer_core::ports::{OutgoingAttachment, OutgoingMessage};
use mailer_smtp::mime::build;

fn addr(name: Option<&str>, email: &str) -> Address {
    Address {
        name: name.map(Into::into),
        email: email.into(),
    }
}

fn base() -> OutgoingMessage {
    OutgoingMessage {
        message_id: "golden.1@mailer.test".into(),
        date: chrono::Utc
            .with_ymd_and_hms(2026, 12, 5, 1, 2, 3)
            .single()
            .expect("date"),
        from: addr(Some("Maria Manager"), "maria@example.com"),
        reply_to: None,
        to: vec![addr(Some("Anna Smith"), "anna@example.com")],
        cc: Vec::new(),
        bcc: Vec::new(),
        subject: "News for Anna".into(),
        html: "<p>Hello Anna</p>\n".into(),
        text: "Hello Anna\n".into(),
        attachments: Vec::new(),
        unsubscribe_url: None,
    }
}

fn png() -> OutgoingAttachment {
    OutgoingAttachment {
        name: "logo.png".into(),
        content_type: "image/png".into(),
        bytes: (0..=255u8).cycle().take(700).collect(),
        content_id: Some("logo".into()),
    }
}

fn pdf(name: &str) -> OutgoingAttachment {
    OutgoingAttachment {
        name: name.into(),
        content_type: "application/pdf".into(),
        bytes: b"%PDF-1.4 offer\n%%EOF\n".repeat(9),
        content_id: None,
    }
}

/// A newsletter like the pipeline bench's: long ASCII lines with `=` in attributes (quoted-printable).
fn newsletter() -> String {
    let mut html = String::from("<html><body><h1>Hello Anna!</h1>\n");
    for n in 1..=12 {
        html.push_str(&format!(
            "<p>Paragraph {n} of our newsletter for <b>Anna</b>: prices, news and offers that matter to you, \
             with a <a href=\"https://example.com/news/{n}\">link to read more</a>.</p>\n"
        ));
    }
    html.push_str(".a line that starts with a dot\n.\n..\nend \t \nlast line with a trailing space </body></html>");
    html
}

fn cases() -> Vec<(&'static str, OutgoingMessage)> {
    let mut all = Vec::new();
    all.push(("short_7bit", base()));
    all.push((
        "newsletter_qp",
        OutgoingMessage {
            html: newsletter(),
            text: format!("Hello Anna!\n\n{}\n", "Paragraph of our newsletter. ".repeat(12)),
            unsubscribe_url: Some("https://t.example.com/u/tok-1".into()),
            ..base()
        },
    ));
    all.push((
        "headers_every_kind",
        OutgoingMessage {
            from: addr(Some("Мария Manager"), "maria@example.com"),
            reply_to: Some(addr(None, "replies@example.com")),
            to: vec![
                addr(Some("Anna Smith"), "anna@example.com"),
                addr(Some("Ирина"), "irina@пример.испытание"),
                addr(None, "bare@example.com"),
            ],
            cc: vec![
                addr(None, "boris@example.com"),
                addr(Some("O'Brien, Pat"), "pat@example.com"),
            ],
            bcc: vec![addr(None, "hidden@example.com")],
            subject: format!("Offer: Привет, {}ünd more", "a long subject ".repeat(6)),
            unsubscribe_url: Some("http://localhost/u/1".into()),
            ..base()
        },
    ));
    all.push((
        "cyrillic_base64",
        OutgoingMessage {
            html: format!("<p>{}</p>\n", "Привет, мир! ".repeat(30)),
            text: "Привет, мир!\r\n".repeat(5),
            ..base()
        },
    ));
    all.push((
        "line_ends_mixed",
        OutgoingMessage {
            html: "<p>x</p>\n<p>y</p>\r<p>z</p>\r\n\n\r\r\n".into(),
            text: "a\nb\rc\r\nd\n\re\r".into(),
            ..base()
        },
    ));
    all.push((
        "thresholds",
        OutgoingMessage {
            // Lines around the 7bit limit of lettre's chooser, first, middle and last.
            html: format!("{}\n{}\n{}", "a".repeat(74), "b".repeat(73), "c".repeat(75)),
            text: format!("{}\n{}\n{}", "a".repeat(74), "b".repeat(74), "c".repeat(74)),
            ..base()
        },
    ));
    all.push((
        "single_long_line",
        OutgoingMessage {
            html: "h".repeat(75),
            text: "t".repeat(76),
            ..base()
        },
    ));
    all.push((
        "empty_parts",
        OutgoingMessage {
            html: String::new(),
            text: String::new(),
            ..base()
        },
    ));
    all.push((
        "inline_image",
        OutgoingMessage {
            html: "<p>Hello <img src=\"cid:logo\"></p>".into(),
            attachments: vec![png()],
            ..base()
        },
    ));
    all.push((
        "attachments",
        OutgoingMessage {
            attachments: vec![pdf("offer.pdf"), pdf("Предложение с длинным именем файла.pdf")],
            ..base()
        },
    ));
    all.push((
        "inline_and_attachments",
        OutgoingMessage {
            html: "<p>Hello <img src=\"cid:logo\"></p>".into(),
            attachments: vec![png(), pdf("offer.pdf")],
            unsubscribe_url: Some("https://t.example.com/u/tok-2".into()),
            ..base()
        },
    ));
    all
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mime")
        .join(format!("{name}.eml"))
}

#[test]
fn every_message_has_its_known_bytes() {
    let bless = std::env::var_os("MAILER_BLESS").is_some();
    let mut differ = Vec::new();
    for (name, message) in cases() {
        let bytes = build(&message, None).expect(name).bytes;
        let path = fixture(name);
        if bless {
            std::fs::create_dir_all(path.parent().expect("dir")).expect("fixtures dir");
            std::fs::write(&path, &bytes).expect("write fixture");
            continue;
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if bytes != want {
            let at = bytes.iter().zip(&want).take_while(|(a, b)| a == b).count();
            let around =
                |b: &[u8]| String::from_utf8_lossy(&b[at.saturating_sub(60)..(at + 60).min(b.len())]).into_owned();
            differ.push(format!(
                "{name}: first difference at byte {at} (built {} bytes, known {}):\n  built: {:?}\n  known: {:?}",
                bytes.len(),
                want.len(),
                around(&bytes),
                around(&want)
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn the_known_messages_parse_back_to_what_was_given() {
    for (name, message) in cases() {
        let bytes = std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let parsed = mail_parser::MessageParser::default().parse(&bytes).expect(name);
        let crlf = |s: &str| s.replace("\r\n", "\n").replace('\r', "\n").replace('\n', "\r\n");
        assert_eq!(
            parsed.body_html(0).as_deref().unwrap_or(""),
            crlf(&message.html),
            "{name}: html"
        );
        assert_eq!(
            parsed.body_text(0).as_deref().unwrap_or(""),
            crlf(&message.text),
            "{name}: text"
        );
        assert_eq!(parsed.subject(), Some(message.subject.as_str()), "{name}: subject");
        assert_eq!(
            parsed.attachment_count(),
            message.attachments.len(),
            "{name}: attachments"
        );
        for line in bytes.split(|&b| b == b'\n') {
            assert!(line.len() <= 999, "{name}: a line over 998 octets");
        }
    }
}
