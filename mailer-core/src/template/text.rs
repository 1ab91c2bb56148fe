//! The text/plain part derived from rendered HTML: block elements break lines, links are kept as
//! "text (url)", `<style>`, `<script>`, `<head>` and comments are dropped, entities are decoded.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::RwLock;

/// The most (piece, entry) pairs one template remembers: every literal piece of a template in each of
/// its 12 possible entries fits many times over; the bound is for pieces cut at a place a value decides
/// (a signature put before a `</body>` that a raw value wrote).
const MEMO_MAX: usize = 16 * 1024;

/// Where the renderer wrote a literal piece of the template: its bytes in the HTML, and where the same
/// bytes are in the part's arena of literal pieces (see `literal.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Piece {
    /// The bytes in the rendered HTML.
    pub(crate) html: Range<usize>,
    /// Where they start in the arena.
    pub(crate) arena: usize,
}

/// Converts rendered HTML to readable plain text (what [`html_to_text_with`] must equal).
#[cfg(test)]
pub(crate) fn html_to_text(html: &str) -> String {
    html_to_text_with(html, &[], None)
}

/// Converts rendered HTML to readable plain text, reusing what `memo` remembers of the `pieces` of `html`
/// (in order): the literal parts of a template are the same for every recipient, so their text is derived
/// once and then copied. The result is the same as converting the whole at once.
pub(crate) fn html_to_text_with(html: &str, pieces: &[Piece], memo: Option<&TextMemo>) -> String {
    let mut t = TextOut {
        // The text is (nearly always) shorter than the HTML: one allocation.
        out: String::with_capacity(html.len()),
        started: false,
        space: false,
        newlines: 0,
    };
    let mut links: Vec<(String, usize)> = Vec::new();
    convert(html, &mut t, &mut links, pieces, memo, false);
    t.out.truncate(t.out.trim_end().len());
    t.out
}

/// How the next text is joined to what came before: the whole state of the converter between two tokens
/// (outside a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Joint {
    started: bool,
    space: bool,
    newlines: u8,
}

/// What a remembered piece gives, entered at one joint: its text and the joint it leaves, or `None` when
/// it does not convert on its own (a token runs past its ends, or a link crosses them).
type Learnt = Option<(Box<str>, Joint)>;

/// A piece's place in the arena, its length and the joint it is entered at.
type MemoKey = (usize, usize, Joint);

/// The text of a template's literal pieces, learnt on its first renders (bounded, shared by all renders),
/// keyed by the piece's place in the arena, its length and the joint it is entered at: the same key is
/// always the same bytes, so nothing is compared again.
#[derive(Debug, Default)]
pub(crate) struct TextMemo {
    pieces: RwLock<HashMap<MemoKey, Learnt, BuildHasherDefault<KeyHasher>>>,
}

/// A hasher for the memo's small integer keys (the standard one is built to resist chosen keys; these
/// come from the template, not from outside).
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl TextMemo {
    /// Appends to `t` the text of `source` (the piece at `arena` in the arena) entered at `t`'s joint and
    /// takes the joint it leaves, converting and remembering it the first time; false (and `t` untouched)
    /// when it does not convert on its own.
    fn append_to(&self, source: &str, arena: usize, t: &mut TextOut) -> bool {
        let key = (arena, source.len(), t.joint());
        {
            let list = self.pieces.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(found) = list.get(&key) {
                // Copied straight from the memo into the text, under the read lock.
                return match found {
                    Some((text, exit)) => {
                        t.append(text, *exit);
                        true
                    }
                    None => false,
                };
            }
        }
        let entry = key.2;
        let mut alone_out = TextOut {
            out: String::new(),
            started: entry.started,
            space: entry.space,
            newlines: entry.newlines,
        };
        let mut links = Vec::new();
        let alone = convert(source, &mut alone_out, &mut links, &[], None, true) && links.is_empty();
        let exit = alone_out.joint();
        let result = alone.then(|| (alone_out.out.into_boxed_str(), exit));
        if let Some((text, exit)) = &result {
            t.append(text, *exit);
        }
        let converted = result.is_some();
        let mut list = self.pieces.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if list.len() < MEMO_MAX {
            list.insert(key, result);
        }
        converted
    }
}

/// Converts `html` into `t`. With `alone` (a piece converted on its own), answers false as soon as a token
/// would need bytes past the end or a link closes that opened before: the piece's text then depends on what
/// surrounds it.
fn convert(
    html: &str,
    t: &mut TextOut,
    links: &mut Vec<(String, usize)>,
    pieces: &[Piece],
    memo: Option<&TextMemo>,
    alone: bool,
) -> bool {
    let bytes = html.as_bytes();
    let mut next_piece = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(memo) = memo {
            while pieces.get(next_piece).is_some_and(|p| p.html.start < i) {
                next_piece += 1;
            }
            if let Some(piece) = pieces
                .get(next_piece)
                .filter(|p| p.html.start == i && p.html.end <= bytes.len())
            {
                next_piece += 1;
                if html
                    .get(piece.html.clone())
                    .is_some_and(|src| memo.append_to(src, piece.arena, t))
                {
                    i = piece.html.end;
                    continue;
                }
            }
        }
        match bytes[i] {
            b'<' => {
                if html[i..].starts_with("<!--") {
                    match html[i + 4..].find("-->") {
                        Some(e) => i = i + 4 + e + 3,
                        None if alone => return false,
                        None => i = bytes.len(),
                    }
                    continue;
                }
                if alone && (i + 4 >= bytes.len() && "<!--".starts_with(&html[i..]) || i + 1 == bytes.len()) {
                    return false;
                }
                let Some(end) = tag_end(bytes, i + 1) else {
                    if alone
                        && bytes
                            .get(i + 1)
                            .is_some_and(|&b| b.is_ascii_alphabetic() || b == b'/' || b == b'!')
                    {
                        return false;
                    }
                    t.text("<");
                    i += 1;
                    continue;
                };
                let tag = &html[i + 1..end];
                i = end + 1;
                let closing = tag.starts_with('/');
                let name_src = tag.trim_start_matches('/');
                let name_len = name_src
                    .find(|c: char| !c.is_ascii_alphanumeric())
                    .unwrap_or(name_src.len());
                let mut lower = [0u8; 12];
                let name = match name_src.as_bytes().get(..name_len).filter(|n| n.len() <= lower.len()) {
                    Some(n) => {
                        lower[..n.len()].copy_from_slice(n);
                        lower[..n.len()].make_ascii_lowercase();
                        std::str::from_utf8(&lower[..n.len()]).unwrap_or("")
                    }
                    None => "",
                };
                match name {
                    "style" | "script" | "head" | "title" if !closing => match skip_element(html, i, name) {
                        Some(end) => i = end,
                        None if alone => return false,
                        None => i = html.len(),
                    },
                    "br" => t.newline(1),
                    "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "table" | "ul" | "ol" | "blockquote" | "hr" => {
                        t.newline(2);
                    }
                    "div" | "tr" | "section" | "article" | "header" | "footer" | "center" | "form" => t.newline(1),
                    "li" if !closing => {
                        t.newline(1);
                        t.text("- ");
                    }
                    "td" | "th" if closing => t.space = true,
                    "img" if !closing => {
                        if let Some(alt) = attr(tag, "alt").filter(|a| !a.trim().is_empty()) {
                            t.text(&alt);
                        }
                    }
                    "a" if !closing => {
                        links.push((attr(tag, "href").unwrap_or_default(), t.out.len()));
                    }
                    "a" => match links.pop() {
                        Some((href, start)) => {
                            let label = t.out.get(start..).unwrap_or("").trim();
                            let keep = !href.is_empty() && !href.starts_with('#') && label != href;
                            if keep && !label.is_empty() {
                                t.text(" (");
                                t.text(&href);
                                t.text(")");
                            } else if keep {
                                t.text(&href);
                            }
                        }
                        None if alone => return false,
                        None => {}
                    },
                    _ => {}
                }
            }
            b'&' => {
                let rest = &html[i..];
                if alone && rest.len() < 12 && !rest.contains(';') {
                    return false;
                }
                let (decoded, used) = entity(rest);
                t.text(decoded.encode_utf8(&mut [0u8; 4]));
                i += used;
            }
            b if b.is_ascii_whitespace() => {
                t.space = true;
                i += 1;
            }
            _ => {
                // Words joined by single spaces come out as they are: the run is copied in one piece, and
                // the spaces it ends with become the pending separator.
                // A run stops where the next remembered piece starts, so that the piece is found there.
                let stop = match memo {
                    Some(_) => pieces
                        .get(next_piece)
                        .filter(|p| p.html.start > i)
                        .map_or(bytes.len(), |p| p.html.start.min(bytes.len())),
                    None => bytes.len(),
                };
                let end = bytes[i..stop]
                    .iter()
                    .position(|&b| matches!(b, b'<' | b'&') || (b.is_ascii_whitespace() && b != b' '))
                    .map_or(stop, |n| i + n);
                let run = &html[i..end];
                let words = run.trim_end_matches(' ');
                if words.as_bytes().windows(2).any(|w| w == b"  ") {
                    let next = run.find(' ').map_or(end, |n| i + n);
                    t.text(&html[i..next]);
                    i = next;
                } else {
                    t.text(words);
                    t.space |= words.len() < run.len();
                    i = end;
                }
            }
        }
    }
    true
}

struct TextOut {
    out: String,
    /// Some text was written (the first text gets no separator before it).
    started: bool,
    space: bool,
    newlines: u8,
}

impl TextOut {
    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if self.started {
            if self.newlines > 0 {
                for _ in 0..self.newlines {
                    self.out.push('\n');
                }
            } else if self.space {
                self.out.push(' ');
            }
        }
        self.started = true;
        self.newlines = 0;
        self.space = false;
        self.out.push_str(s);
    }

    fn newline(&mut self, n: u8) {
        self.newlines = self.newlines.max(n);
        self.space = false;
    }

    fn joint(&self) -> Joint {
        Joint {
            started: self.started,
            space: self.space,
            newlines: self.newlines,
        }
    }

    /// Appends a remembered piece's text and takes the joint it leaves.
    fn append(&mut self, text: &str, exit: Joint) {
        self.out.push_str(text);
        self.started = exit.started;
        self.space = exit.space;
        self.newlines = exit.newlines;
    }
}

/// The index of the `>` closing a tag that starts at `from`, skipping quoted attribute values.
fn tag_end(bytes: &[u8], from: usize) -> Option<usize> {
    let first = *bytes.get(from)?;
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'!') {
        return None;
    }
    let mut quote = None;
    for (k, &b) in bytes.iter().enumerate().skip(from) {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some(k),
            None => {}
        }
    }
    None
}

/// Skips to just past `</name>`, case-insensitively; `None` when it does not close.
fn skip_element(html: &str, from: usize, name: &str) -> Option<usize> {
    let bytes = html.as_bytes();
    let mut i = from;
    while let Some(rel) = html[i..].find("</") {
        let at = i + rel;
        let end = at + 2 + name.len();
        if bytes
            .get(at + 2..end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return html[end..].find('>').map(|e| end + e + 1);
        }
        i = at + 2;
    }
    None
}

/// The decoded value of attribute `name` (lowercase) in a tag's inside.
fn attr(tag: &str, name: &str) -> Option<String> {
    let bytes = tag.as_bytes();
    let name = name.as_bytes();
    // The name, in any case, after whitespace and before `=` (compared in place: no lowercased copy).
    let at = (1..(bytes.len() + 1).saturating_sub(name.len())).find(|&at| {
        bytes[at - 1].is_ascii_whitespace()
            && bytes[at..at + name.len()].eq_ignore_ascii_case(name)
            && tag[at + name.len()..].trim_start().starts_with('=')
    })?;
    let rest = tag[at + name.len()..].trim_start();
    let value = rest[1..].trim_start();
    let raw = match value.as_bytes().first() {
        Some(&q @ (b'"' | b'\'')) => value[1..].split(q as char).next().unwrap_or(""),
        _ => value
            .split(|c: char| c.is_whitespace() || c == '>')
            .next()
            .unwrap_or(""),
    };
    Some(decode(raw))
}

/// Decodes entities in `s`.
pub(crate) fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(rel) = s[i..].find('&') {
        out.push_str(&s[i..i + rel]);
        let (d, used) = entity(&s[i + rel..]);
        out.push(d);
        i += rel + used;
    }
    out.push_str(&s[i..]);
    out
}

/// Decodes the entity at the start of `s` (which starts with `&`); unknown ones stay as `&`.
fn entity(s: &str) -> (char, usize) {
    // What escaping writes, first.
    let b = s.as_bytes();
    match b.get(1..4) {
        Some(b"lt;") => return ('<', 4),
        Some(b"gt;") => return ('>', 4),
        Some(b"amp") if b.get(4) == Some(&b';') => return ('&', 5),
        _ => {}
    }
    let end = s.as_bytes().iter().take(12).position(|&b| b == b';');
    let Some(end) = end else {
        return ('&', 1);
    };
    let name = &s[1..end];
    let c = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        "mdash" => Some('—'),
        "ndash" => Some('–'),
        "laquo" => Some('«'),
        "raquo" => Some('»'),
        "copy" => Some('©'),
        _ => name.strip_prefix('#').and_then(|num| {
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse().ok(),
            };
            code.and_then(char::from_u32)
        }),
    };
    match c {
        Some(c) => (c, end + 1),
        None => ('&', 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLES: &[&str] = &[
        "<html><head><title>T</title><style>p{}</style></head><body><h1>Hi, Anna &amp; Bob!</h1>\
         <p>One <b>two</b>\n three &lt;x&gt; &#39;q&#39; &nope <a href=\"https://x.test/a?b=1&amp;c=2\">Read</a></p>\
         <ul><li>a</li><li>b</li></ul><!-- note --><table><tr><td>A</td><td>B</td></tr></table>\
         <p><a href=\"#top\">top</a> <a href=\"https://y.test\">https://y.test</a> <a href=\"https://z.test\"></a>\
         <img src=\"i.png\" alt=\"Logo &amp; co\"><br>end < 3 <script>x<y</script> done</p></body></html>",
        "text first<p>then a paragraph</p>  <div>and a div</div>&copy; 2026 &mdash; <a href='u'>l",
    ];

    #[test]
    fn pieces_remembered_give_exactly_the_text_of_the_whole() {
        for html in SAMPLES {
            let whole = html_to_text(html);
            let cuts: Vec<usize> = (0..=html.len()).filter(|&i| html.is_char_boundary(i)).collect();
            for w in [1usize, 3, 7, 16, 40] {
                for from in 0..w.min(html.len()) {
                    let mut pieces = Vec::new();
                    let mut at = from;
                    while at < html.len() {
                        let end = cuts.iter().copied().find(|&c| c >= at + w).unwrap_or(html.len());
                        // The HTML is its own arena here: a piece's bytes are at its own offset.
                        pieces.push(Piece {
                            html: at..end,
                            arena: at,
                        });
                        at = end;
                    }
                    let memo = TextMemo::default();
                    for round in 0..2 {
                        assert_eq!(
                            html_to_text_with(html, &pieces, Some(&memo)),
                            whole,
                            "width {w}, from {from}, round {round}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn attributes_are_found_in_any_case_and_quoting() {
        assert_eq!(attr("A HREF = 'x&amp;y'", "href").as_deref(), Some("x&y"));
        assert_eq!(attr("a data-href=\"no\" href=yes", "href").as_deref(), Some("yes"));
        assert_eq!(attr("img\tALT=logo>", "alt").as_deref(), Some("logo"));
        assert_eq!(attr("img alt", "alt"), None);
        assert_eq!(attr("a xhref=\"no\"", "href"), None);
        assert_eq!(
            attr("alt=\"first word\"", "alt"),
            None,
            "a tag's name is not an attribute"
        );
    }

    #[test]
    fn runs_of_words_keep_one_space_between_words() {
        assert_eq!(
            html_to_text("<p>one two  three \t four\n five </p> six&amp;seven  <b>eight</b> nine  "),
            "one two three four five\n\nsix&seven eight nine"
        );
        assert_eq!(html_to_text("a b"), "a b");
        assert_eq!(html_to_text("  a  "), "a");
    }

    #[test]
    fn a_literal_piece_is_converted_once_and_reused() {
        let html = format!("<p>Hi NAME</p>{}", "<p>The same words for everyone.</p>".repeat(20));
        let memo = TextMemo::default();
        let piece = Piece {
            html: 14..html.len(),
            arena: 3,
        };
        let first = html_to_text_with(&html, std::slice::from_ref(&piece), Some(&memo));
        assert_eq!(first, html_to_text(&html));
        {
            let list = memo.pieces.read().expect("lock");
            assert_eq!(list.len(), 1);
            assert!(list.values().all(Option::is_some), "the piece converts on its own");
        }
        // The memo answers by the piece's place in the arena, not by its bytes: a render that wrote the
        // same arena bytes gets the remembered text (here, a changed copy shows that it was not converted).
        let again = html_to_text_with(&html.replace("everyone", "nobody!!"), &[piece], Some(&memo));
        assert_eq!(again, first);
        assert!(!again.contains("nobody"));
    }
}
