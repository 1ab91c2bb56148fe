//! The fields of an RFC 3464 `message/delivery-status` part: one block per recipient (`Action`,
//! `Status`, `Final-Recipient`, `Diagnostic-Code`), after the per-message block.

use super::Severity;

/// What one recipient block of a delivery-status report says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct RecipientStatus {
    /// `failed`, `delayed`, `delivered`, `relayed` or `expanded` (lowercase).
    pub(super) action: String,
    /// The enhanced status code (`5.1.1`).
    pub(super) status: Option<String>,
    /// The final (or original) recipient's address, lowercase.
    pub(super) recipient: Option<String>,
    /// The remote diagnostic (`550 5.1.1 … user unknown`), without its type (`smtp;`).
    pub(super) diagnostic: Option<String>,
}

impl RecipientStatus {
    /// Failed for good, failed for now, or not a failure at all.
    pub(super) fn severity(&self) -> Option<Severity> {
        match self.action.as_str() {
            "delayed" => Some(Severity::Soft),
            "failed" if self.status.as_deref().is_some_and(|s| s.starts_with('4')) => Some(Severity::Soft),
            "failed" => Some(Severity::Hard),
            _ => None,
        }
    }
}

/// The recipient blocks of a delivery-status part, in order. Folded lines are unfolded; blocks with
/// neither an action nor a status (the per-message block) are left out.
pub(super) fn recipients(text: &str) -> Vec<RecipientStatus> {
    let mut out = Vec::new();
    let mut current = RecipientStatus::default();
    let mut seen = false;
    let mut field: Option<(String, String)> = None;
    let finish_field = |field: &mut Option<(String, String)>, current: &mut RecipientStatus, seen: &mut bool| {
        if let Some((name, value)) = field.take() {
            *seen |= apply(current, &name, value.trim());
        }
    };
    for line in text.lines() {
        if line.trim().is_empty() {
            finish_field(&mut field, &mut current, &mut seen);
            if seen {
                out.push(std::mem::take(&mut current));
            }
            current = RecipientStatus::default();
            seen = false;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = field.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        finish_field(&mut field, &mut current, &mut seen);
        if let Some((name, value)) = line.split_once(':') {
            field = Some((name.trim().to_ascii_lowercase(), value.to_owned()));
        }
    }
    finish_field(&mut field, &mut current, &mut seen);
    if seen {
        out.push(current);
    }
    out
}

/// Applies one field; true when it makes the block a recipient block.
fn apply(block: &mut RecipientStatus, name: &str, value: &str) -> bool {
    match name {
        "action" => {
            block.action = value.split_whitespace().next().unwrap_or("").to_ascii_lowercase();
            true
        }
        "status" => {
            block.status = value.split_whitespace().next().map(ToOwned::to_owned);
            true
        }
        "final-recipient" => {
            block.recipient = Some(typed_address(value));
            false
        }
        "original-recipient" if block.recipient.is_none() => {
            block.recipient = Some(typed_address(value));
            false
        }
        "diagnostic-code" => {
            let text = value.split_once(';').map_or(value, |(_, t)| t).trim();
            block.diagnostic = Some(text.to_owned());
            false
        }
        _ => false,
    }
}

/// `rfc822; <Anna@Example.org>` → `anna@example.org`.
fn typed_address(value: &str) -> String {
    let address = value.split_once(';').map_or(value, |(_, a)| a).trim();
    address.trim_start_matches('<').trim_end_matches('>').to_lowercase()
}

/// The block a bounce is about: the first failed one, else the first delayed one.
pub(super) fn worst(blocks: &[RecipientStatus]) -> Option<&RecipientStatus> {
    blocks
        .iter()
        .find(|b| b.severity() == Some(Severity::Hard))
        .or_else(|| blocks.iter().find(|b| b.severity().is_some()))
}
