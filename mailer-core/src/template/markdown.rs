//! Markdown bodies: Liquid and `{tokens}` are set aside, the rest goes through pulldown-cmark, then they
//! are put back, so that `{{ lead.fields["Budget"] }}` survives Markdown's escaping.

use pulldown_cmark::{Options, Parser, html};

const OPEN: &str = "xMLQ";
const CLOSE: &str = "Qx";

/// Renders Markdown to HTML, keeping Liquid outputs, tags and widget tokens as they were.
pub(crate) fn to_html(src: &str) -> String {
    let mut kept: Vec<&str> = Vec::new();
    let mut protected = String::with_capacity(src.len());
    let mut i = 0;
    let mut lit = 0;
    // Once a closer is not found after some offset, it is not found after any later one: remembering
    // that keeps this pass linear.
    let mut no_output_close = false;
    let mut no_tag_close = false;
    while let Some(rel) = src[i..].find('{') {
        let j = i + rel;
        let end = if src[j..].starts_with("{{") {
            let found = if no_output_close { None } else { src[j + 2..].find("}}") };
            no_output_close = found.is_none();
            found.map(|e| j + 2 + e + 2)
        } else if src[j..].starts_with("{%") {
            let found = if no_tag_close { None } else { src[j + 2..].find("%}") };
            no_tag_close = found.is_none();
            found.map(|e| j + 2 + e + 2)
        } else {
            src.as_bytes()[j + 1..]
                .iter()
                .take(32)
                .position(|&b| b == b'}')
                .filter(|e| {
                    src[j + 1..j + 1 + e]
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
                })
                .map(|e| j + 1 + e + 1)
        };
        match end {
            Some(end) => {
                protected.push_str(&src[lit..j]);
                protected.push_str(OPEN);
                protected.push_str(&kept.len().to_string());
                protected.push_str(CLOSE);
                kept.push(&src[j..end]);
                i = end;
                lit = end;
            }
            None => i = j + 1,
        }
    }
    protected.push_str(&src[lit..]);
    let mut rendered = String::with_capacity(protected.len() + protected.len() / 4);
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    html::push_html(&mut rendered, Parser::new_ext(&protected, options));
    if kept.is_empty() {
        return rendered;
    }
    let mut out = String::with_capacity(rendered.len() + src.len() / 4);
    let mut i = 0;
    while let Some(rel) = rendered[i..].find(OPEN) {
        let j = i + rel;
        let digits_start = j + OPEN.len();
        let digits_len = rendered[digits_start..].bytes().take_while(u8::is_ascii_digit).count();
        let after = digits_start + digits_len;
        let index = rendered[digits_start..after].parse::<usize>().ok();
        match (index.and_then(|n| kept.get(n)), rendered[after..].starts_with(CLOSE)) {
            (Some(orig), true) => {
                out.push_str(&rendered[i..j]);
                out.push_str(orig);
                i = after + CLOSE.len();
            }
            _ => {
                out.push_str(&rendered[i..digits_start]);
                i = digits_start;
            }
        }
    }
    out.push_str(&rendered[i..]);
    out
}
