//! The one classification function: bounce, auto-reply, reply or other.

use std::borrow::Cow;

use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use super::dsn;
use super::text::{self, bare_id};
use super::{Bounce, BounceForm, Incoming, Received, Severity};

/// Subjects of automatic answers (lowercase beginnings).
const AUTO_SUBJECTS: &[&str] = &[
    "automatic reply",
    "auto:",
    "autoreply",
    "auto-reply",
    "auto reply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
];

/// Classifies one received message from its raw bytes. Never fails and never panics: bytes that are not
/// a message are [`Incoming::Other`].
///
/// Order: a delivery status report (RFC 3464) or a bounce text is a bounce; else `Auto-Submitted` (other
/// than `no`), `X-Autoreply`/`X-Autorespond`, `Precedence: auto_reply` or an out-of-office subject make
/// an auto-reply; else `In-Reply-To`/`References` make a reply; else it is other.
pub fn classify(raw: &[u8]) -> Received {
    let Some(message) = contained(|| MessageParser::default().parse(raw)) else {
        return Received {
            message_id: None,
            from: None,
            kind: Incoming::Other,
        };
    };
    let message_id = message.message_id().and_then(bare_id);
    let sender = message.from().and_then(|a| a.first());
    let from = sender.and_then(|a| a.address()).map(str::to_lowercase);
    let from_name = sender.and_then(|a| a.name()).unwrap_or("");
    let refers_to = references(&message);
    let kind = match report(&message, from.as_deref().unwrap_or(""), &refers_to) {
        Report::Bounce(bounce) => Incoming::Bounce(bounce),
        Report::NotAFailure => Incoming::Other,
        Report::None => match text_bounce(&message, from.as_deref().unwrap_or(""), from_name, &refers_to) {
            Some(bounce) => Incoming::Bounce(bounce),
            None if is_auto_reply(&message) => Incoming::AutoReply { refers_to },
            None if !refers_to.is_empty() => Incoming::Reply { refers_to },
            None => Incoming::Other,
        },
    };
    Received { message_id, from, kind }
}

/// Runs one `mail-parser` parse of received bytes; a panic inside it is contained and means "not a
/// message". mail-parser 0.11 asserts in builds with debug assertions on some broken MIME (a multipart
/// whose delimiter line carries text after the boundary, found by the `dsn` fuzz target; its 1.0 keeps
/// such content as a part), and received mail is anyone's bytes: one hostile message must not stop the
/// inbox.
fn contained<T>(parse: impl FnOnce() -> Option<T> + std::panic::UnwindSafe) -> Option<T> {
    std::panic::catch_unwind(parse).ok().flatten()
}

/// What a `multipart/report` says.
enum Report {
    /// A failure or delay.
    Bounce(Bounce),
    /// A report of success (delivered, relayed, expanded).
    NotAFailure,
    /// No delivery-status part.
    None,
}

/// An RFC 3464 report: the `message/delivery-status` part decides.
fn report(message: &Message<'_>, from: &str, refers_to: &[String]) -> Report {
    let status_part = message.parts.iter().find(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status") || s.eq_ignore_ascii_case("global-delivery-status")
                })
        })
    });
    let Some(part) = status_part else { return Report::None };
    let fields = String::from_utf8_lossy(part.contents());
    let blocks = dsn::recipients(&fields);
    let Some(block) = dsn::worst(&blocks) else {
        return Report::NotAFailure;
    };
    let Some(severity) = block.severity() else {
        return Report::NotAFailure;
    };
    let human = message.body_text(0).unwrap_or(Cow::Borrowed(""));
    let subject = message.subject().unwrap_or("");
    let form = text::form_of(from, subject, &format!("{human}\n{fields}")).unwrap_or(BounceForm::Dsn);
    let diagnostic = block
        .diagnostic
        .clone()
        .or_else(|| text::smtp_code_line(&human).map(|(l, _)| l.to_owned()))
        .unwrap_or_else(|| format!("{} ({})", block.action, block.status.as_deref().unwrap_or("no status")));
    let mut original = returned_ids(message);
    original.extend(text::message_ids_in(&human));
    original.extend(refers_to.iter().cloned());
    dedup(&mut original);
    Report::Bounce(Bounce {
        form,
        severity,
        status: block.status.clone().or_else(|| text::enhanced_status(&diagnostic)),
        recipient: block.recipient.clone(),
        diagnostic,
        original,
    })
}

/// A bounce written as text by a mail system (Exim, qmail, Microsoft, Gmail, old Postfix).
fn text_bounce(message: &Message<'_>, from: &str, from_name: &str, refers_to: &[String]) -> Option<Bounce> {
    let subject = message.subject().unwrap_or("");
    let failed_header = message
        .header("X-Failed-Recipients")
        .and_then(HeaderValue::as_text)
        .map(|s| s.trim().to_lowercase());
    let body = message.body_text(0).unwrap_or(Cow::Borrowed(""));
    let (before, quoted) = text::split_original(&body);
    let daemon = text::is_daemon(from, from_name) || failed_header.is_some();
    let status = text::enhanced_status(before);
    let code = text::smtp_code_line(before);
    if !daemon && !(text::bounce_subject(subject) && (status.is_some() || code.is_some())) {
        return None;
    }
    let form = text::form_of(from, subject, &body).unwrap_or(BounceForm::Unknown);
    let severity = match (&status, code) {
        (Some(s), _) => {
            if s.starts_with('4') {
                Severity::Soft
            } else if s.starts_with('5') {
                Severity::Hard
            } else {
                // 2.x.x is success: a mail system's notice, not a failure.
                return None;
            }
        }
        (None, Some((_, 4))) => Severity::Soft,
        (None, Some(_)) => Severity::Hard,
        (None, None) => text::severity_by_words(before),
    };
    let diagnostic = text::microsoft_returned(before)
        .map(ToOwned::to_owned)
        .or_else(|| {
            status
                .as_deref()
                .and_then(|s| text::line_with(before, s))
                .map(ToOwned::to_owned)
        })
        .or_else(|| code.map(|(l, _)| l.to_owned()))
        .unwrap_or_else(|| subject.trim().to_owned());
    let recipient = failed_header
        .and_then(|h| h.split(',').next().map(|a| a.trim().to_owned()))
        .filter(|a| !a.is_empty())
        .or_else(|| text::first_address(before));
    let mut original = returned_ids(message);
    if let Some(quoted) = quoted {
        original.extend(
            contained(|| MessageParser::default().parse_headers(quoted)).and_then(|m| m.message_id().and_then(bare_id)),
        );
    }
    original.extend(text::message_ids_in(&body));
    original.extend(refers_to.iter().cloned());
    dedup(&mut original);
    Some(Bounce {
        form,
        severity,
        status,
        recipient,
        diagnostic,
        original,
    })
}

/// Message-IDs of returned messages and headers: `message/rfc822` parts and `text/rfc822-headers` parts.
fn returned_ids(message: &Message<'_>) -> Vec<String> {
    let mut ids = Vec::new();
    for part in message.parts.iter().skip(1) {
        match &part.body {
            PartType::Message(inner) => ids.extend(inner.message_id().and_then(bare_id)),
            _ if part
                .content_type()
                .and_then(|ct| ct.subtype())
                .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers")) =>
            {
                let headers = part.contents();
                ids.extend(
                    contained(|| MessageParser::default().parse_headers(headers))
                        .and_then(|m| m.message_id().and_then(bare_id)),
                );
            }
            _ => {}
        }
    }
    ids
}

/// True for an automatic answer (RFC 3834 and the common vacation markers).
fn is_auto_reply(message: &Message<'_>) -> bool {
    let header = |name: &str| message.header_raw(name).map(|v| v.trim().to_ascii_lowercase());
    if header("Auto-Submitted").is_some_and(|v| !v.starts_with("no")) {
        return true;
    }
    if header("X-Autoreply").is_some() || header("X-Autorespond").is_some() || header("X-Autoresponder").is_some() {
        return true;
    }
    if header("Precedence").is_some_and(|v| v == "auto_reply") {
        return true;
    }
    let subject = message.subject().unwrap_or("").trim().to_lowercase();
    AUTO_SUBJECTS.iter().any(|s| subject.starts_with(s))
}

/// `In-Reply-To`, then `References` newest first, without duplicates.
fn references(message: &Message<'_>) -> Vec<String> {
    let list = |v: &HeaderValue<'_>| -> Vec<String> {
        v.as_text_list()
            .map(|l| l.iter().filter_map(|s| bare_id(s)).collect())
            .unwrap_or_default()
    };
    let mut ids = list(message.in_reply_to());
    let mut refs = list(message.references());
    refs.reverse();
    ids.extend(refs);
    dedup(&mut ids);
    ids
}

/// Removes repeats, keeping the first of each.
fn dedup(ids: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
}
