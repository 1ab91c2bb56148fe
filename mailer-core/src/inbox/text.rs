//! Reading bounce texts that are not RFC 3464 reports (Exim, qmail, Microsoft, Gmail, old Postfix): where
//! the copy of the original message starts, status codes, the failed address, the diagnostic line.

use super::{BounceForm, Severity};

/// Lines after which a bounce text quotes the original message (its headers, often the whole message).
const ORIGINAL_MARKERS: &[&str] = &[
    "------ This is a copy of the message",
    "--- Below this line is a copy of the message",
    "Original message headers:",
    "----- Original message -----",
    "----- Original Message -----",
    "------ Original message ------",
    "--- The header of the original message is following. ---",
    "The original message was received",
];

/// Subjects of bounce texts (lowercase parts).
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "delivery status notification",
    "failure notice",
    "mail delivery failed",
    "returned mail",
    "delivery has failed",
    "delivery failure",
    "could not be delivered",
    "non remis",
    "unzustellbar",
];

/// Local parts and display names of the senders of bounces (lowercase).
const DAEMONS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "mail delivery system",
    "mail delivery subsystem",
];

/// Words of temporary failures (lowercase).
const SOFT_WORDS: &[&str] = &[
    "temporary",
    "temporarily",
    "delayed",
    "will be retried",
    "will retry",
    "not yet been delivered",
    "still trying",
    "try again later",
];

/// The text before the quoted original, and the quoted original (from the line after the marker).
pub(super) fn split_original(body: &str) -> (&str, Option<&str>) {
    let found = ORIGINAL_MARKERS
        .iter()
        .filter_map(|m| body.find(m).map(|at| (at, m.len())))
        .min_by_key(|(at, _)| *at);
    match found {
        Some((at, len)) => {
            let rest = &body[at + len..];
            let next_line = rest.find('\n').map_or(rest.len(), |n| n + 1);
            (&body[..at], Some(rest[next_line..].trim_start_matches(['\r', '\n'])))
        }
        None => (body, None),
    }
}

/// True when a sender (address and display name) looks like a mail system's.
pub(super) fn is_daemon(address: &str, name: &str) -> bool {
    let local = address.split('@').next().unwrap_or("").to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    DAEMONS.iter().any(|d| local == *d || name.contains(d))
}

/// True when a subject reads like a bounce.
pub(super) fn bounce_subject(subject: &str) -> bool {
    let subject = subject.to_lowercase();
    BOUNCE_SUBJECTS.iter().any(|s| subject.contains(s))
}

/// Which mail system wrote a bounce text, by its tell-tale words.
pub(super) fn form_of(from: &str, subject: &str, body: &str) -> Option<BounceForm> {
    let from = from.to_ascii_lowercase();
    let subject = subject.to_lowercase();
    if body.contains("qmail-send program") || subject == "failure notice" {
        Some(BounceForm::Qmail)
    } else if body.contains("This message was created automatically by mail delivery software")
        || subject.starts_with("mail delivery failed")
    {
        Some(BounceForm::Exim)
    } else if body.contains("This is the mail system at host") || body.contains("X-Postfix") {
        Some(BounceForm::Postfix)
    } else if from.ends_with("googlemail.com") || from.ends_with("google.com") || body.contains("Gmail team") {
        Some(BounceForm::Gmail)
    } else if body.contains("Delivery has failed to these recipients")
        || (body.contains("Your message to") && body.contains("couldn't be delivered"))
        || body.contains("Diagnostic information for administrators")
        || body.contains("Microsoft")
    {
        Some(BounceForm::Microsoft)
    } else {
        None
    }
}

/// The first enhanced status code (`5.1.1`, RFC 3463) in `text`: class 2, 4 or 5, then one to three
/// digits, a dot and one to three digits, standing alone.
pub(super) fn enhanced_status(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let alone_before = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.');
        if alone_before
            && matches!(bytes[i], b'2' | b'4' | b'5')
            && let Some(len) = status_len(&bytes[i..])
        {
            return Some(text[i..i + len].to_owned());
        }
        i += 1;
    }
    None
}

/// The length of `d.ddd.ddd` at the start of `b`, when it stands alone.
fn status_len(b: &[u8]) -> Option<usize> {
    if b.get(1) != Some(&b'.') {
        return None;
    }
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let first = digits(2);
    if !(1..=3).contains(&first) || b.get(2 + first) != Some(&b'.') {
        return None;
    }
    let second = digits(3 + first);
    if !(1..=3).contains(&second) {
        return None;
    }
    let end = 3 + first + second;
    match b.get(end) {
        Some(c) if c.is_ascii_alphanumeric() || (*c == b'.' && b.get(end + 1).is_some_and(u8::is_ascii_digit)) => None,
        _ => Some(end),
    }
}

/// The first line holding an SMTP reply code (4xx or 5xx standing alone, then a space or `-`), with
/// the code's first digit.
pub(super) fn smtp_code_line(text: &str) -> Option<(&str, u8)> {
    text.lines().find_map(|line| {
        let b = line.as_bytes();
        (0..b.len().saturating_sub(3)).find_map(|i| {
            let alone = i == 0 || (!b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'.');
            let code = matches!(b[i], b'4' | b'5') && b[i + 1].is_ascii_digit() && b[i + 2].is_ascii_digit();
            (alone && code && matches!(b[i + 3], b' ' | b'-')).then(|| (line.trim(), b[i] - b'0'))
        })
    })
}

/// The line holding `needle`, trimmed.
pub(super) fn line_with<'a>(text: &'a str, needle: &str) -> Option<&'a str> {
    text.lines().find(|l| l.contains(needle)).map(str::trim)
}

/// Microsoft's `Remote Server returned '550 5.1.10 …'`: the quoted answer.
pub(super) fn microsoft_returned(text: &str) -> Option<&str> {
    let at = text.find("Remote Server returned '")? + "Remote Server returned '".len();
    let rest = &text[at..];
    rest.find('\'').map(|end| rest[..end].trim())
}

/// Temporary or permanent by the words of the text (when it gives no code).
pub(super) fn severity_by_words(text: &str) -> Severity {
    let text = text.to_lowercase();
    if SOFT_WORDS.iter().any(|w| text.contains(w)) && !text.contains("permanent") {
        Severity::Soft
    } else {
        Severity::Hard
    }
}

/// The first address in `text` (in angle brackets or standing alone) that is not a mail system's.
pub(super) fn first_address(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';'))
        .map(|w| w.trim_end_matches([':', '.']))
        .find(|w| {
            let mut parts = w.split('@');
            let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
                return false;
            };
            !local.is_empty() && domain.contains('.') && !is_daemon(w, "")
        })
        .map(str::to_lowercase)
}

/// Message-IDs named in `Message-ID:` lines of `text` (the headers of a quoted original).
pub(super) fn message_ids_in(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim().eq_ignore_ascii_case("message-id").then(|| bare_id(value))?
        })
        .collect()
}

/// `<id@host>` (or a bare id) → `id@host`; `None` when empty.
pub(super) fn bare_id(value: &str) -> Option<String> {
    let v = value.trim().trim_start_matches('<');
    let v = v.split('>').next().unwrap_or("").trim();
    (!v.is_empty()).then(|| v.to_owned())
}
