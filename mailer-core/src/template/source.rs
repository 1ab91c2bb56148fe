//! The pre-compiler: reads a part's source once, before Liquid does, and rewrites it.
//!
//! - The widget's `{tokens}` become outputs of `__sys.<name>`; any other `{…}` (CSS, JSON) stays literal.
//! - Every `{{ … }}` gets the escaping filter of its context appended (`__esc` in HTML text and quoted
//!   attributes, `__esc_unq` in unquoted attributes, `__line` in the subject, nothing in text parts),
//!   unless its last filter is `raw` (the trusted opt-out) or, in HTML, `escape`/`escape_once`.
//!   `newline_to_br` at the end keeps working: the escaping goes before it.
//! - `lead.cf.657261` becomes `lead.cf["657261"]` (Liquid names cannot start with a digit).
//! - `for`/`tablerow` bodies start with `{% __tick %}`; ranges must have literal bounds within the limit.
//! - `include`, `render` and `cycle` are refused.
//! - The variable paths read are collected, for strict mode.

use std::collections::BTreeSet;

use super::engine::TICK_TAG;
use super::{ErrorKind, PartName, TemplateError};
use crate::model::{TriggerLinkId, WebPageId};

/// How values are escaped in a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// HTML body.
    Html,
    /// Subject: one line, no escaping.
    Subject,
    /// Plain text: no escaping.
    Text,
}

/// A widget token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum SysToken {
    Subject,
    SendedAt,
    Id,
    Date,
    Reset,
    TriggerLink(i64),
    Web(i64),
    FormLink,
    WebLink,
    Unsubscribe,
}

impl SysToken {
    /// The key under `__sys`.
    pub(crate) fn key(self) -> String {
        match self {
            Self::Subject => "subject".into(),
            Self::SendedAt => "sended_at".into(),
            Self::Id => "id".into(),
            Self::Date => "date".into(),
            Self::Reset => "reset".into(),
            Self::TriggerLink(n) => format!("triggerlink_{n}"),
            Self::Web(n) => format!("web_{n}"),
            Self::FormLink => "formlink".into(),
            Self::WebLink => "weblink".into(),
            Self::Unsubscribe => "unsubscribe".into(),
        }
    }
}

/// What the pre-compiler made of a source.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rewritten {
    /// Liquid source.
    pub(crate) liquid: String,
    /// Variable paths read, rooted at data (not at locals).
    pub(crate) paths: Vec<Vec<String>>,
    /// Widget tokens used.
    pub(crate) tokens: BTreeSet<SysToken>,
    /// (output offset, source offset, exact) anchors to map Liquid's positions back to the source.
    anchors: Vec<(usize, usize, bool)>,
}

impl Rewritten {
    /// The source offset of an offset in [`Rewritten::liquid`].
    pub(crate) fn source_offset(&self, out: usize) -> usize {
        let i = self.anchors.partition_point(|a| a.0 <= out);
        match i.checked_sub(1).and_then(|i| self.anchors.get(i)) {
            Some(&(o, s, true)) => s + (out - o),
            Some(&(_, s, false)) => s,
            None => 0,
        }
    }
}

/// What the checks need to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) part: PartName,
    pub(crate) flavor: Flavor,
    pub(crate) max_range: u32,
    pub(crate) known_links: Option<&'a BTreeSet<TriggerLinkId>>,
    pub(crate) known_pages: Option<&'a BTreeSet<WebPageId>>,
}

const KEYWORDS: &[&str] = &[
    "and", "or", "contains", "in", "true", "false", "nil", "null", "empty", "blank", "reversed", "limit", "offset",
    "cols", "with", "as", "for",
];

/// Rewrites `src`.
pub(crate) fn rewrite(src: &str, rules: &Rules<'_>) -> Result<Rewritten, TemplateError> {
    let mut w = Writer {
        src,
        rules,
        out: Rewritten {
            liquid: String::with_capacity(src.len() + src.len() / 8),
            ..Rewritten::default()
        },
        locals: BTreeSet::from(["forloop".to_owned(), "tablerowloop".to_owned()]),
        html: HtmlState::Text,
    };
    w.run()?;
    let Writer { mut out, locals, .. } = w;
    out.paths
        .retain(|p| p.first().is_some_and(|root| !locals.contains(root)));
    out.paths.sort();
    out.paths.dedup();
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HtmlState {
    Text,
    Lt,
    InTag,
    AfterEq,
    Unquoted,
    Quoted(u8),
}

struct Writer<'s, 'r> {
    src: &'s str,
    rules: &'r Rules<'r>,
    out: Rewritten,
    locals: BTreeSet<String>,
    html: HtmlState,
}

impl Writer<'_, '_> {
    fn err(&self, kind: ErrorKind, at: usize) -> TemplateError {
        TemplateError::at(self.rules.part, kind, self.src, at)
    }

    fn literal(&mut self, from: usize, to: usize) {
        if from >= to {
            return;
        }
        let text = &self.src[from..to];
        self.out.anchors.push((self.out.liquid.len(), from, true));
        self.out.liquid.push_str(text);
        if self.rules.flavor == Flavor::Html {
            for &b in text.as_bytes() {
                self.html = step_html(self.html, b);
            }
        }
    }

    fn run(&mut self) -> Result<(), TemplateError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let mut lit = 0;
        let mut i = 0;
        while let Some(rel) = src[i..].find('{') {
            let j = i + rel;
            match bytes.get(j + 1) {
                Some(b'{') => {
                    self.literal(lit, j);
                    let end = find_close(src, j + 2, "}}").ok_or_else(|| self.err(ErrorKind::Unclosed("{{"), j))?;
                    self.output(j, &src[j + 2..end])?;
                    i = end + 2;
                    lit = i;
                }
                Some(b'%') => {
                    self.literal(lit, j);
                    let end = find_close(src, j + 2, "%}").ok_or_else(|| self.err(ErrorKind::Unclosed("{%"), j))?;
                    i = self.tag(j, end)?;
                    lit = i;
                }
                _ => match parse_token(&src[j..]) {
                    Some((token, len)) => {
                        self.literal(lit, j);
                        self.token(token, j)?;
                        i = j + len;
                        lit = i;
                    }
                    None => i = j + 1,
                },
            }
        }
        self.literal(lit, src.len());
        Ok(())
    }

    fn escape_filter(&self, unquoted: bool) -> Option<&'static str> {
        match self.rules.flavor {
            Flavor::Html if unquoted => Some("__esc_unq"),
            Flavor::Html => Some("__esc"),
            Flavor::Subject => Some("__line"),
            Flavor::Text => None,
        }
    }

    fn token(&mut self, token: SysToken, at: usize) -> Result<(), TemplateError> {
        match token {
            SysToken::Subject if self.rules.flavor == Flavor::Subject => {
                return Err(self.err(ErrorKind::SubjectInSubject, at));
            }
            SysToken::TriggerLink(n) if self.rules.known_links.is_some_and(|k| !k.contains(&TriggerLinkId(n))) => {
                return Err(self.err(ErrorKind::UnknownTriggerLink(n), at));
            }
            SysToken::Web(n) if self.rules.known_pages.is_some_and(|k| !k.contains(&WebPageId(n))) => {
                return Err(self.err(ErrorKind::UnknownWebPage(n), at));
            }
            _ => {}
        }
        self.out.tokens.insert(token);
        self.out.anchors.push((self.out.liquid.len(), at, false));
        let unquoted = matches!(self.html, HtmlState::AfterEq | HtmlState::Unquoted);
        self.out.liquid.push_str("{{ __sys.");
        self.out.liquid.push_str(&token.key());
        if let Some(f) = self.escape_filter(unquoted) {
            self.out.liquid.push_str(" | ");
            self.out.liquid.push_str(f);
        }
        self.out.liquid.push_str(" }}");
        if self.html == HtmlState::AfterEq {
            self.html = HtmlState::Unquoted;
        }
        Ok(())
    }

    fn output(&mut self, at: usize, inner: &str) -> Result<(), TemplateError> {
        let (lead, body, trail) = split_dashes(inner);
        let expr = rewrite_expr(body, &mut self.out.paths);
        let filters = top_level_split(&expr, b'|');
        let last = filters.last().map(|f| first_word(f)).unwrap_or_default();
        let unquoted = matches!(self.html, HtmlState::AfterEq | HtmlState::Unquoted);
        let escape = match self.escape_filter(unquoted) {
            _ if filters.len() > 1 && last == "raw" => None,
            Some("__esc" | "__esc_unq") if filters.len() > 1 && matches!(last, "escape" | "escape_once") => None,
            other => other,
        };
        self.out.anchors.push((self.out.liquid.len(), at, false));
        let l = &mut self.out.liquid;
        l.push_str(if lead { "{{-" } else { "{{" });
        l.push(' ');
        match escape {
            None => l.push_str(expr.trim()),
            Some(f) => {
                // `newline_to_br` makes HTML: escape before it.
                let mut keep = filters.len();
                while keep > 1 && first_word(filters[keep - 1]) == "newline_to_br" {
                    keep -= 1;
                }
                let joined_head = filters[..keep].join("|");
                l.push_str(joined_head.trim());
                l.push_str(" | ");
                l.push_str(f);
                for tail in &filters[keep..] {
                    l.push_str(" |");
                    l.push_str(tail);
                }
            }
        }
        l.push(' ');
        l.push_str(if trail { "-}}" } else { "}}" });
        if self.html == HtmlState::AfterEq {
            self.html = HtmlState::Unquoted;
        }
        Ok(())
    }

    /// Handles the tag `{% … %}` at `at` whose `%}` is at `end`; returns where scanning resumes.
    fn tag(&mut self, at: usize, end: usize) -> Result<usize, TemplateError> {
        let src = self.src;
        let (_, body, _) = split_dashes(&src[at + 2..end]);
        let body = body.trim_start();
        let name = first_word(body);
        let rest = &body[name.len()..];
        let after = end + 2;
        match name {
            "raw" | "comment" => {
                let closer = if name == "raw" { "endraw" } else { "endcomment" };
                let stop = find_end_tag(src, after, closer).ok_or_else(|| self.err(ErrorKind::Unclosed("{%"), at))?;
                self.out.anchors.push((self.out.liquid.len(), at, true));
                self.out.liquid.push_str(&src[at..stop]);
                return Ok(stop);
            }
            "include" | "render" | "cycle" => return Err(self.err(ErrorKind::ForbiddenTag(name.to_owned()), at)),
            TICK_TAG => return Err(self.err(ErrorKind::ForbiddenTag(name.to_owned()), at)),
            _ => {}
        }
        let rewritten_rest = match name {
            "for" | "tablerow" => {
                let var = first_word(rest.trim_start());
                if !var.is_empty() {
                    self.locals.insert(var.to_owned());
                }
                let coll = rest.trim_start()[var.len()..].trim_start();
                let coll = coll.strip_prefix("in").unwrap_or(coll).trim_start();
                if coll.starts_with('(') {
                    self.check_range(coll, at)?;
                }
                format!(" {var} in {}", rewrite_expr(coll, &mut self.out.paths))
            }
            "assign" | "capture" | "increment" | "decrement" => {
                let var = first_word(rest.trim_start());
                if !var.is_empty() {
                    self.locals.insert(var.to_owned());
                }
                let tail = &rest.trim_start()[var.len()..];
                format!(" {var}{}", rewrite_expr(tail, &mut self.out.paths))
            }
            _ => rewrite_expr(rest, &mut self.out.paths),
        };
        let (lead, _, trail) = split_dashes(&src[at + 2..end]);
        self.out.anchors.push((self.out.liquid.len(), at, false));
        let l = &mut self.out.liquid;
        l.push_str(if lead { "{%- " } else { "{% " });
        l.push_str(name);
        l.push_str(&rewritten_rest);
        l.push_str(if trail { " -%}" } else { " %}" });
        if matches!(name, "for" | "tablerow") {
            l.push_str("{% ");
            l.push_str(TICK_TAG);
            l.push_str(" %}");
        }
        Ok(after)
    }

    fn check_range(&self, coll: &str, at: usize) -> Result<(), TemplateError> {
        let close = coll.find(')').unwrap_or(coll.len());
        let range = &coll[..close.saturating_add(1).min(coll.len())];
        let inner = range.trim_start_matches('(').trim_end_matches(')');
        let bounds = inner.split_once("..").and_then(|(a, b)| {
            let a: i64 = a.trim().parse().ok()?;
            let b: i64 = b.trim().parse().ok()?;
            Some((a, b))
        });
        match bounds {
            Some((a, b)) if b.saturating_sub(a) < i64::from(self.rules.max_range) => Ok(()),
            _ => Err(self.err(ErrorKind::UnboundedRange(range.to_owned()), at)),
        }
    }
}

fn step_html(state: HtmlState, b: u8) -> HtmlState {
    match state {
        HtmlState::Text if b == b'<' => HtmlState::Lt,
        HtmlState::Text => HtmlState::Text,
        HtmlState::Lt if b.is_ascii_alphabetic() || b == b'/' => HtmlState::InTag,
        HtmlState::Lt if b == b'<' => HtmlState::Lt,
        HtmlState::Lt => HtmlState::Text,
        HtmlState::InTag => match b {
            b'>' => HtmlState::Text,
            b'=' => HtmlState::AfterEq,
            _ => HtmlState::InTag,
        },
        HtmlState::AfterEq => match b {
            b'"' | b'\'' => HtmlState::Quoted(b),
            b'>' => HtmlState::Text,
            b if b.is_ascii_whitespace() => HtmlState::AfterEq,
            _ => HtmlState::Unquoted,
        },
        HtmlState::Unquoted => match b {
            b'>' => HtmlState::Text,
            b if b.is_ascii_whitespace() => HtmlState::InTag,
            _ => HtmlState::Unquoted,
        },
        HtmlState::Quoted(q) if b == q => HtmlState::InTag,
        HtmlState::Quoted(q) => HtmlState::Quoted(q),
    }
}

/// Finds `close` from `from`, skipping quoted strings; returns its offset.
fn find_close(src: &str, from: usize, close: &str) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if bytes[i..].starts_with(close.as_bytes()) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// Finds the `{% <closer> %}` tag after `from`; returns the offset just past it.
fn find_end_tag(src: &str, from: usize, closer: &str) -> Option<usize> {
    let mut i = from;
    while let Some(rel) = src[i..].find("{%") {
        let j = i + rel;
        let end = src[j + 2..].find("%}")? + j + 2;
        let (_, body, _) = split_dashes(&src[j + 2..end]);
        if body.trim() == closer {
            return Some(end + 2);
        }
        i = j + 2;
    }
    None
}

/// Splits whitespace-control dashes off an output's or tag's inside.
fn split_dashes(inner: &str) -> (bool, &str, bool) {
    let lead = inner.starts_with('-');
    let body = if lead { &inner[1..] } else { inner };
    let trail = body.ends_with('-') && !body.is_empty();
    let body = if trail { &body[..body.len() - 1] } else { body };
    (lead, body, trail)
}

fn first_word(s: &str) -> &str {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Splits `s` at `sep` outside quoted strings.
fn top_level_split(s: &str, sep: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<u8> = None;
    let mut start = 0;
    for (i, &b) in s.as_bytes().iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == sep => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            None => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Parses a widget token at the start of `s` (which starts with `{`); returns it and its length.
pub(crate) fn parse_token(s: &str) -> Option<(SysToken, usize)> {
    let close = s[1..].find('}')? + 1;
    if close > 32 {
        return None;
    }
    let inner = &s[1..close];
    let num = |prefix: &str| -> Option<i64> {
        let digits = inner.strip_prefix(prefix)?;
        if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let token = match inner {
        "subject" => SysToken::Subject,
        "sended_at" => SysToken::SendedAt,
        "id" => SysToken::Id,
        "date" => SysToken::Date,
        "reset" => SysToken::Reset,
        "formlink" => SysToken::FormLink,
        "weblink" => SysToken::WebLink,
        "unsubscribe" => SysToken::Unsubscribe,
        _ => {
            if let Some(n) = num("triggerlink:") {
                SysToken::TriggerLink(n)
            } else if let Some(n) = num("web:") {
                SysToken::Web(n)
            } else {
                return None;
            }
        }
    };
    Some((token, close + 1))
}

/// Rewrites a Liquid expression: `a.123` becomes `a["123"]`; the variable paths it reads are pushed to
/// `paths`.
fn rewrite_expr(expr: &str, paths: &mut Vec<Vec<String>>) -> String {
    let bytes = expr.as_bytes();
    let mut out = String::with_capacity(expr.len() + 8);
    let mut i = 0;
    let mut prev_sig: u8 = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' || b == b'\'' {
            let end = expr[i + 1..].find(b as char).map_or(expr.len(), |e| i + 1 + e + 1);
            out.push_str(&expr[i..end]);
            i = end;
            prev_sig = b'"';
            continue;
        }
        if b.is_ascii_digit() || ((b == b'-' || b == b'+') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            out.push_str(&expr[start..i]);
            prev_sig = b'0';
            continue;
        }
        if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            i = ident_end(bytes, i);
            let word = &expr[start..i];
            let next = expr[i..].trim_start().as_bytes().first().copied();
            let is_path = prev_sig != b'|' && next != Some(b':') && !KEYWORDS.contains(&word);
            if !is_path {
                out.push_str(word);
                prev_sig = b'a';
                continue;
            }
            let mut path = vec![word.to_owned()];
            let mut static_path = true;
            out.push_str(word);
            loop {
                if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1] != b'.' {
                    let seg_start = i + 1;
                    if bytes[seg_start].is_ascii_digit() {
                        let mut e = seg_start;
                        while e < bytes.len() && bytes[e].is_ascii_digit() {
                            e += 1;
                        }
                        let seg = &expr[seg_start..e];
                        out.push_str("[\"");
                        out.push_str(seg);
                        out.push_str("\"]");
                        if static_path {
                            path.push(seg.to_owned());
                        }
                        i = e;
                    } else if bytes[seg_start].is_ascii_alphabetic() || bytes[seg_start] == b'_' {
                        let e = ident_end(bytes, seg_start);
                        let seg = &expr[seg_start..e];
                        out.push('.');
                        out.push_str(seg);
                        if static_path {
                            path.push(seg.to_owned());
                        }
                        i = e;
                    } else {
                        break;
                    }
                } else if i < bytes.len() && bytes[i] == b'[' {
                    let Some(close) = find_close(expr, i + 1, "]") else {
                        break;
                    };
                    let inner = expr[i + 1..close].trim();
                    let quoted = inner.len() >= 2
                        && (inner.starts_with('"') && inner.ends_with('"')
                            || inner.starts_with('\'') && inner.ends_with('\''));
                    if quoted {
                        if static_path {
                            path.push(inner[1..inner.len() - 1].to_owned());
                        }
                        out.push('[');
                        out.push_str(inner);
                        out.push(']');
                    } else if !inner.is_empty() && inner.bytes().all(|c| c.is_ascii_digit() || c == b'-') {
                        if static_path {
                            path.push(inner.to_owned());
                        }
                        out.push('[');
                        out.push_str(inner);
                        out.push(']');
                    } else {
                        static_path = false;
                        out.push('[');
                        out.push_str(&rewrite_expr(inner, paths));
                        out.push(']');
                    }
                    i = close + 1;
                } else {
                    break;
                }
            }
            paths.push(path);
            prev_sig = b'a';
            continue;
        }
        if !b.is_ascii_whitespace() {
            prev_sig = b;
        }
        let ch_len = expr[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&expr[i..i + ch_len]);
        i += ch_len;
    }
    out
}

fn ident_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'-') {
        i += 1;
    }
    i
}
