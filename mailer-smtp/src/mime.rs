//! The wire form of an [`OutgoingMessage`]: built once, deterministically, so the copy in Sent (and an
//! `.eml` file) has the same bytes as the message that was sent.
//!
//! Layout: `multipart/alternative` (text, HTML); with inline images the HTML becomes
//! `multipart/related; type="text/html"` (HTML + images by Content-ID, RFC 2387); with attachments
//! everything is wrapped in `multipart/mixed`. Boundaries are derived from the Message-ID, never random.
//!
//! The message is written once, into one buffer: lettre encodes and folds the header fields, and its
//! `Attachment` writes the attachments, but the structure and the text parts are written here (encoded as
//! they are copied in, `text_body.rs`), instead of lettre building each part and copying every part again
//! into the message (about 5 % of a worker's CPU for 20 KB bodies). The bytes are those lettre's builder
//! gave: `tests/mime_golden.rs` holds messages it built.
//!
//! - Line ends in the text and HTML parts are made CRLF (a bare CR or LF is one line end) before their
//!   transfer encoding is picked (by lettre's rules, encoded in `text_body.rs`), so no bare CR or LF goes
//!   out in a 7bit part and no server rewrites the body after it was signed.
//! - Domains of addresses go as A-labels (punycode, `xn--…`): every server takes them, with or without
//!   SMTPUTF8. A non-ASCII local part cannot be written that way; it needs a server that offers
//!   SMTPUTF8, and fails as [`SendErrorKind::InvalidAddress`] (not retried) against one that does not.
//! - With an unsubscribe URL the message gets `List-Unsubscribe` (and `List-Unsubscribe-Post` for https)
//!   and `List-Id: <local.domain>` made from the From address (`maria@example.com` →
//!   `<maria.example.com>`; RFC 2919): each sending mailbox is one list.
//! - A DKIM signature (feature `dkim`) is computed over the finished bytes and its header put on top of
//!   them: what is signed is exactly what is sent.

use std::io::Write as _;
use std::time::SystemTime;

use lettre::message::header::{self, ContentType, HeaderName, HeaderValue, Headers};
use lettre::message::{Attachment, Mailbox as LettreMailbox, Mailboxes, SinglePart};
use lettre::{Address as LettreAddress, address::Envelope};
use mailer_core::model::Address;
use mailer_core::ports::{OutgoingAttachment, OutgoingMessage, SendError, SendErrorKind};

use crate::error::invalid;
use crate::text_body::write_text_part;

/// A message ready for the wire: the SMTP envelope and the bytes.
#[derive(Debug, Clone)]
pub struct WireMessage {
    /// Envelope sender and every recipient (To, Cc, Bcc).
    pub envelope: Envelope,
    /// The message: headers, empty line, body (CRLF line ends).
    pub bytes: Vec<u8>,
}

/// Signs the finished message (DKIM): given its bytes, returns the header field to put on top of them.
pub(crate) type Signer<'a> = &'a dyn Fn(&[u8]) -> Result<Vec<u8>, SendError>;

/// Builds the wire form of `message`, optionally signed by `sign`: given the finished bytes, it returns
/// a header field (ending in CRLF) that is put on top of them unchanged.
///
/// # Errors
/// [`SendErrorKind::InvalidAddress`] for an address lettre cannot use, [`SendErrorKind::Other`] for a
/// message that cannot be built (a bad content type, an unsubscribe URL with line breaks, no recipient).
pub fn build(message: &OutgoingMessage, sign: Option<Signer<'_>>) -> Result<WireMessage, SendError> {
    let from = mailbox(&message.from)?;
    let recipients = message
        .envelope_recipients()
        .map(|a| address(&a.email))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(from.email.clone()), recipients)
        .map_err(|e| invalid(SendErrorKind::InvalidAddress, format!("no envelope: {e}")))?;
    let list = list_id(&from.email);

    // The header fields in the order lettre's message builder gave them; lettre still encodes and folds
    // each value (RFC 2047 words for non-ASCII names and subjects).
    let mut headers = Headers::new();
    headers.set(header::From::from(Mailboxes::from(from)));
    headers.set(header::Subject::from(one_line(&message.subject)));
    headers.set(header::Date::new(SystemTime::from(message.date)));
    headers.set(header::MessageId::from(format!("<{}>", message.message_id)));
    if !message.to.is_empty() {
        headers.set(header::To::from(mailboxes(&message.to)?));
    }
    if !message.cc.is_empty() {
        headers.set(header::Cc::from(mailboxes(&message.cc)?));
    }
    if let Some(reply_to) = &message.reply_to {
        headers.set(header::ReplyTo::from(Mailboxes::from(mailbox(reply_to)?)));
    }
    if let Some(url) = &message.unsubscribe_url {
        if url.is_empty()
            || url
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
        {
            return Err(invalid(
                SendErrorKind::Other,
                format!("unsubscribe URL is not a URL: {url:?}"),
            ));
        }
        headers.insert_raw(HeaderValue::new(HeaderName::new_from_ascii_str("List-Id"), list));
        headers.insert_raw(HeaderValue::new(
            HeaderName::new_from_ascii_str("List-Unsubscribe"),
            format!("<{url}>"),
        ));
        // RFC 8058: one-click needs an https URI.
        if url.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("https://")) {
            headers.insert_raw(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ));
        }
    }
    headers.set(header::MIME_VERSION_1_0);

    let mut bytes = Vec::with_capacity(size_hint(message));
    // Writing to a Vec cannot fail.
    let _ = write!(bytes, "{headers}");
    write_body(&mut bytes, message)?;
    if let Some(sign) = sign {
        let mut signed = sign(&bytes)?;
        signed.append(&mut bytes);
        bytes = signed;
    }
    Ok(WireMessage { envelope, bytes })
}

/// About the size of the finished message: its parts grow by a little in quoted-printable and by a third
/// in base64; the headers take a few hundred bytes.
fn size_hint(message: &OutgoingMessage) -> usize {
    let text = message.html.len() + message.text.len();
    let files: usize = message.attachments.iter().map(|a| a.bytes.len()).sum();
    2_048 + text + text / 16 + files + files / 3 + files / 38
}

/// `<label.domain>` from the sender's address: the local part with anything but letters, digits and
/// `-` as `-`, lower case.
fn list_id(from: &LettreAddress) -> String {
    let label: String = from
        .user()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let label = label.trim_matches('-');
    let label = if label.is_empty() { "mail" } else { label };
    format!("<{label}.{}>", from.domain().to_ascii_lowercase())
}

/// Writes the body's parts after the header fields: the `Content-Type` of the outer multipart, then each
/// part between its boundaries (the text part, then the HTML alone or in `multipart/related` with its
/// images; the attachments after them in `multipart/mixed`).
fn write_body(out: &mut Vec<u8>, message: &OutgoingMessage) -> Result<(), SendError> {
    let seed = boundary_seed(&message.message_id);
    let boundary = |part: &str| format!("=_mailer_{seed:016x}_{part}");
    let (inline, attached): (Vec<&OutgoingAttachment>, Vec<&OutgoingAttachment>) =
        message.attachments.iter().partition(|a| a.content_id.is_some());

    let mixed = (!attached.is_empty()).then(|| boundary("mix"));
    if let Some(mixed) = &mixed {
        multipart(out, "mixed", mixed, "");
        part_start(out, mixed);
    }
    let alternative = boundary("alt");
    multipart(out, "alternative", &alternative, "");
    part_start(out, &alternative);
    write_text_part(out, "text/plain; charset=utf-8", &message.text);
    part_start(out, &alternative);
    if inline.is_empty() {
        write_text_part(out, "text/html; charset=utf-8", &message.html);
    } else {
        let related = boundary("rel");
        multipart(out, "related", &related, "; type=\"text/html\"");
        part_start(out, &related);
        write_text_part(out, "text/html; charset=utf-8", &message.html);
        for image in inline {
            part_start(out, &related);
            out.extend_from_slice(&attachment(image)?.formatted());
        }
        parts_end(out, &related);
    }
    parts_end(out, &alternative);
    if let Some(mixed) = &mixed {
        for file in attached {
            part_start(out, mixed);
            out.extend_from_slice(&attachment(file)?.formatted());
        }
        parts_end(out, mixed);
    }
    Ok(())
}

/// A multipart's `Content-Type` field (folded by lettre as it folds every field) and the empty line
/// after it.
fn multipart(out: &mut Vec<u8>, kind: &str, boundary: &str, more: &str) {
    let mut field = Headers::new();
    field.insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str("Content-Type"),
        format!("multipart/{kind}; boundary=\"{boundary}\"{more}"),
    ));
    let _ = write!(out, "{field}\r\n");
}

fn part_start(out: &mut Vec<u8>, boundary: &str) {
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn parts_end(out: &mut Vec<u8>, boundary: &str) {
    out.extend_from_slice(b"--");
    out.extend_from_slice(boundary.as_bytes());
    out.extend_from_slice(b"--\r\n");
}

fn attachment(file: &OutgoingAttachment) -> Result<SinglePart, SendError> {
    let content_type = ContentType::parse(&file.content_type).map_err(|e| {
        invalid(
            SendErrorKind::Other,
            format!(
                "attachment {:?} has a bad content type {:?}: {e}",
                file.name, file.content_type
            ),
        )
    })?;
    let name = one_line(&file.name);
    let part = match &file.content_id {
        Some(cid) => Attachment::new_inline_with_name(one_line(cid), name),
        None => Attachment::new(name),
    };
    Ok(part.body(file.bytes.clone(), content_type))
}

fn mailboxes(addrs: &[Address]) -> Result<Mailboxes, SendError> {
    addrs.iter().map(mailbox).collect()
}

fn mailbox(addr: &Address) -> Result<LettreMailbox, SendError> {
    Ok(LettreMailbox::new(
        addr.name.as_deref().map(one_line),
        address(&addr.email)?,
    ))
}

/// The address with its domain as A-labels (punycode).
fn address(email: &str) -> Result<LettreAddress, SendError> {
    let bad =
        |e: &dyn std::fmt::Display| invalid(SendErrorKind::InvalidAddress, format!("invalid address {email:?}: {e}"));
    let (user, domain) = email.rsplit_once('@').ok_or_else(|| bad(&"no @"))?;
    let domain = if domain.is_ascii() {
        domain.to_owned()
    } else {
        idna::domain_to_ascii(domain).map_err(|e| bad(&e))?
    };
    LettreAddress::new(user, domain).map_err(|e| bad(&e))
}

/// No line breaks in a header value (CR, LF, NEL, LS, PS become spaces).
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}'], " ")
}

/// FNV-1a of the Message-ID: stable across runs and builds, so the boundaries are too.
fn boundary_seed(message_id: &str) -> u64 {
    message_id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::text_body::crlf;

    fn addr(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(Into::into),
            email: email.into(),
        }
    }

    fn sample() -> OutgoingMessage {
        OutgoingMessage {
            message_id: "abc.123@mailer.test".into(),
            date: chrono::Utc
                .with_ymd_and_hms(2026, 3, 4, 5, 6, 7)
                .single()
                .expect("date"),
            from: addr(Some("Мария Manager"), "maria@example.com"),
            reply_to: Some(addr(None, "replies@example.com")),
            to: vec![addr(Some("Anna Smith"), "anna@example.com")],
            cc: vec![addr(None, "boris@example.com")],
            bcc: vec![addr(None, "hidden@example.com")],
            subject: "Offer: Привет".into(),
            html: "<p>Hello <img src=\"cid:logo\"></p>".into(),
            text: "Hello".into(),
            attachments: vec![
                OutgoingAttachment {
                    name: "logo.png".into(),
                    content_type: "image/png".into(),
                    bytes: vec![0x89, b'P', b'N', b'G', 0, 1, 2],
                    content_id: Some("logo".into()),
                },
                OutgoingAttachment {
                    name: "offer.pdf".into(),
                    content_type: "application/pdf".into(),
                    bytes: b"%PDF-1.4 offer".to_vec(),
                    content_id: None,
                },
            ],
            unsubscribe_url: Some("https://t.example.com/u/tok".into()),
        }
    }

    fn text(msg: &OutgoingMessage) -> String {
        String::from_utf8(build(msg, None).expect("build").bytes).expect("utf-8")
    }

    #[test]
    fn the_same_message_gives_the_same_bytes() {
        let msg = sample();
        assert_eq!(build(&msg, None).expect("a").bytes, build(&msg, None).expect("b").bytes);
        let other = OutgoingMessage {
            message_id: "other@mailer.test".into(),
            ..msg.clone()
        };
        assert_ne!(
            build(&msg, None).expect("a").bytes,
            build(&other, None).expect("c").bytes
        );
    }

    #[test]
    fn headers_carry_id_date_from_reply_to_and_unsubscribe() {
        let wire = text(&sample());
        let headers = &wire[..wire.find("\r\n\r\n").expect("header end")];
        assert!(headers.contains("Message-ID: <abc.123@mailer.test>"), "{headers}");
        assert!(headers.contains("Date: Wed, 04 Mar 2026 05:06:07 +0000"), "{headers}");
        assert!(headers.contains("Reply-To: replies@example.com"), "{headers}");
        assert!(headers.contains("<maria@example.com>"), "{headers}");
        assert!(
            headers.contains("=?utf-8?"),
            "display name and subject are encoded: {headers}"
        );
        assert!(
            headers.contains("List-Unsubscribe: <https://t.example.com/u/tok>"),
            "{headers}"
        );
        assert!(
            headers.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
            "{headers}"
        );
        assert!(!headers.to_ascii_lowercase().contains("bcc"), "{headers}");
        assert!(!headers.contains("hidden@example.com"), "{headers}");
    }

    #[test]
    fn the_envelope_has_every_recipient() {
        let wire = build(&sample(), None).expect("build");
        let to: Vec<String> = wire.envelope.to().iter().map(ToString::to_string).collect();
        assert_eq!(to, ["anna@example.com", "boris@example.com", "hidden@example.com"]);
        assert_eq!(
            wire.envelope.from().map(ToString::to_string).as_deref(),
            Some("maria@example.com")
        );
    }

    #[test]
    fn parts_nest_as_mixed_alternative_related() {
        let wire = text(&sample());
        let at = |needle: &str| {
            wire.find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in {wire}"))
        };
        assert!(at("multipart/mixed") < at("multipart/alternative"));
        assert!(at("multipart/alternative") < at("text/plain"));
        assert!(at("text/plain") < at("multipart/related"));
        assert!(at("multipart/related") < at("text/html"));
        assert!(at("Content-ID: <logo>") > at("text/html"));
        assert!(at("Content-Disposition: attachment; filename=\"offer.pdf\"") > at("Content-ID: <logo>"));
    }

    #[test]
    fn a_plain_message_is_just_alternative() {
        let msg = OutgoingMessage {
            attachments: Vec::new(),
            unsubscribe_url: Some("http://localhost/u/1".into()),
            ..sample()
        };
        let wire = text(&msg);
        assert!(wire.contains("multipart/alternative"));
        assert!(!wire.contains("multipart/mixed") && !wire.contains("multipart/related"));
        assert!(wire.contains("List-Unsubscribe: <http://localhost/u/1>"));
        assert!(!wire.contains("List-Unsubscribe-Post"), "one-click only for https");
    }

    #[test]
    fn text_parts_have_only_crlf_line_ends() {
        let msg = OutgoingMessage {
            text: "a\nb\rc\r\nd\n\re".into(),
            html: "<p>x</p>\n<p>y</p>\r".into(),
            ..sample()
        };
        let wire = build(&msg, None).expect("build").bytes;
        for (i, b) in wire.iter().enumerate() {
            match b {
                b'\r' => assert_eq!(wire.get(i + 1), Some(&b'\n'), "bare CR at {i}"),
                b'\n' => assert_eq!(wire[i - 1], b'\r', "bare LF at {i}"),
                _ => {}
            }
        }
        let text = String::from_utf8(wire).expect("utf-8");
        assert!(text.contains("a\r\nb\r\nc\r\nd\r\n\r\ne"), "{text}");
        assert_eq!(crlf("\r\r\n\n"), "\r\n\r\n\r\n");
        assert_eq!(crlf("é\nü\r"), "é\r\nü\r\n");
        assert_eq!(crlf("\n\r\nx"), "\r\n\r\nx");
        assert_eq!(crlf(""), "");
        assert_eq!(crlf("a\nb\n\nc"), "a\r\nb\r\n\r\nc");
        assert_eq!(crlf("\n"), "\r\n");
        assert_eq!(crlf("no line end"), "no line end");
    }

    proptest::proptest! {
        #[test]
        fn crlf_makes_every_cr_lf_and_crlf_one_crlf(text in "([a-zé ]|\r|\n){0,40}") {
            // The rule, one character at a time.
            let mut want = String::new();
            let mut chars = text.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '\r' => {
                        if chars.peek() == Some(&'\n') {
                            chars.next();
                        }
                        want.push_str("\r\n");
                    }
                    '\n' => want.push_str("\r\n"),
                    c => want.push(c),
                }
            }
            proptest::prop_assert_eq!(crlf(&text), want);
        }
    }

    #[test]
    fn long_and_non_ascii_bodies_decode_to_what_was_rendered() {
        let html = format!(
            "<p style=\"a=b\">{} Grüße, 100 € </p>\n<p>{}</p>",
            "word ".repeat(60),
            "x".repeat(300)
        );
        let text = format!("Grüße {}\nend\t", "a ".repeat(90));
        let msg = OutgoingMessage {
            html: html.clone(),
            text: text.clone(),
            attachments: Vec::new(),
            ..sample()
        };
        let wire = build(&msg, None).expect("build").bytes;
        let wire_text = String::from_utf8(wire.clone()).expect("ascii on the wire");
        assert!(
            wire_text.contains("Content-Transfer-Encoding: quoted-printable"),
            "{wire_text}"
        );
        assert!(
            wire_text.split("\r\n").all(|line| line.len() <= 998),
            "a line over 998 octets"
        );
        let parsed = mail_parser::MessageParser::default().parse(&wire).expect("parse");
        assert_eq!(parsed.body_html(0).as_deref(), Some(crlf(&html).as_str()));
        assert_eq!(parsed.body_text(0).as_deref(), Some(crlf(&text).as_str()));
    }

    #[test]
    fn related_names_its_root_type_and_lists_have_an_id() {
        let wire = text(&sample());
        let related = wire
            .split("Content-Type: multipart/related;")
            .nth(1)
            .and_then(|r| r.split("\r\n\r\n").next())
            .expect("related");
        assert!(related.contains("type=\"text/html\""), "{related}");
        assert!(wire.contains("\r\nList-Id: <maria.example.com>\r\n"), "{wire}");
        let odd = OutgoingMessage {
            from: addr(None, "Sales.Team+2026@Example.COM"),
            ..sample()
        };
        assert!(text(&odd).contains("List-Id: <sales-team-2026.example.com>"));
        let none = OutgoingMessage {
            unsubscribe_url: None,
            ..sample()
        };
        assert!(!text(&none).contains("List-Id"));
    }

    #[test]
    fn idn_domains_go_as_punycode_everywhere() {
        let msg = OutgoingMessage {
            to: vec![addr(Some("Ирина"), "irina@пример.испытание")],
            ..sample()
        };
        let wire = build(&msg, None).expect("build");
        let to: Vec<String> = wire.envelope.to().iter().map(ToString::to_string).collect();
        assert_eq!(to[0], "irina@xn--e1afmkfd.xn--80akhbyknj4f");
        let text = String::from_utf8(wire.bytes).expect("utf-8");
        assert!(text.contains("<irina@xn--e1afmkfd.xn--80akhbyknj4f>"), "{text}");
        assert!(text.is_ascii());
    }

    #[test]
    fn unicode_line_separators_do_not_break_headers() {
        let msg = OutgoingMessage {
            subject: "a\u{2028}Bcc: x@y.z\u{85}b".into(),
            ..sample()
        };
        let wire = text(&msg);
        let headers = &wire[..wire.find("\r\n\r\n").expect("header end")];
        assert!(!headers.lines().any(|l| l.starts_with("Bcc")), "{headers}");
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let bad_to = OutgoingMessage {
            to: vec![addr(None, "not an address")],
            ..sample()
        };
        assert_eq!(
            build(&bad_to, None).expect_err("bad to").kind(),
            SendErrorKind::InvalidAddress
        );
        let bad_url = OutgoingMessage {
            unsubscribe_url: Some("https://x\r\nBcc: a@b.c".into()),
            ..sample()
        };
        assert_eq!(build(&bad_url, None).expect_err("bad url").kind(), SendErrorKind::Other);
        let mut bad_type = sample();
        bad_type.attachments[1].content_type = "not a type".into();
        assert_eq!(
            build(&bad_type, None).expect_err("bad type").kind(),
            SendErrorKind::Other
        );
    }
}
