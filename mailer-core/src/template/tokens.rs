//! The one scanner of the widget's reference tokens, `{triggerlink:N}` and `{web:N}`.
//!
//! The compiler, the loop check ([`loops`](crate::loops)) and the reference check on save all read these
//! tokens the same way, through the compiler's own token parser: a text names exactly the links and pages
//! the compiler would turn into URLs (or refuse as unknown).

use crate::model::{Content, TriggerLinkId, WebPageId};

use super::source::{SysToken, parse_token};

/// A record a text refers to through a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenRef {
    /// `{triggerlink:N}`.
    TriggerLink(TriggerLinkId),
    /// `{web:N}`.
    Web(WebPageId),
}

/// The references of `text`, first appearance first, each once.
pub fn scan(text: &str) -> Vec<TokenRef> {
    let mut found = Vec::new();
    scan_into(text, &mut found);
    found
}

fn scan_into(text: &str, found: &mut Vec<TokenRef>) {
    let mut i = 0;
    while let Some(at) = text.get(i..).and_then(|rest| rest.find('{')) {
        let start = i + at;
        let (token, len) = match parse_token(&text[start..]) {
            Some((SysToken::TriggerLink(n), len)) => (Some(TokenRef::TriggerLink(TriggerLinkId(n))), len),
            Some((SysToken::Web(n), len)) => (Some(TokenRef::Web(WebPageId(n))), len),
            Some((_, len)) => (None, len),
            None => (None, 1),
        };
        if let Some(token) = token
            && !found.contains(&token)
        {
            found.push(token);
        }
        i = start + len;
    }
}

/// The references of a content's subject, body and text part, first appearance first, each once.
pub fn scan_content(content: &Content) -> Vec<TokenRef> {
    let mut found = Vec::new();
    for text in [
        Some(content.subject.as_str()),
        Some(content.body.source()),
        content.text.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        scan_into(text, &mut found);
    }
    found
}

/// The trigger links of a content, first appearance first.
pub fn links_in(content: &Content) -> Vec<TriggerLinkId> {
    scan_content(content)
        .into_iter()
        .filter_map(|t| match t {
            TokenRef::TriggerLink(id) => Some(id),
            TokenRef::Web(_) => None,
        })
        .collect()
}

/// The web pages of a text, first appearance first.
pub fn pages_in_text(text: &str) -> Vec<WebPageId> {
    pages(scan(text))
}

/// The web pages of a content, first appearance first.
pub fn pages_in(content: &Content) -> Vec<WebPageId> {
    pages(scan_content(content))
}

fn pages(refs: Vec<TokenRef>) -> Vec<WebPageId> {
    refs.into_iter()
        .filter_map(|t| match t {
            TokenRef::Web(id) => Some(id),
            TokenRef::TriggerLink(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Body;

    #[test]
    fn finds_links_and_pages_once_in_order_and_ignores_lookalikes() {
        let text = "{web:3} <a href=\"{triggerlink:8}\">x</a> {triggerlink:8} {triggerlink:x} {triggerlink:} \
                    {{ web }} {web:3} { web:4 } {triggerlink:12}";
        assert_eq!(
            scan(text),
            [
                TokenRef::Web(WebPageId(3)),
                TokenRef::TriggerLink(TriggerLinkId(8)),
                TokenRef::TriggerLink(TriggerLinkId(12)),
            ]
        );
    }

    #[test]
    fn a_content_is_read_in_subject_body_text_order() {
        let content = Content {
            subject: "{web:2}".into(),
            body: Body::Markdown("[a]({triggerlink:5})".into()),
            text: Some("{web:1} {web:2}".into()),
        };
        assert_eq!(links_in(&content), [TriggerLinkId(5)]);
        assert_eq!(pages_in(&content), [WebPageId(2), WebPageId(1)]);
    }
}
