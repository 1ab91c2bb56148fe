//! The text/plain part derived from rendered HTML: block elements break lines, links are kept as
//! "text (url)", `<style>`, `<script>`, `<head>` and comments are dropped, entities are decoded.

/// Converts rendered HTML to readable plain text.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut t = TextOut {
        out: String::with_capacity(html.len() / 2),
        space: false,
        newlines: 0,
    };
    let bytes = html.as_bytes();
    let mut links: Vec<(String, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => {
                if html[i..].starts_with("<!--") {
                    i = html[i + 4..].find("-->").map_or(bytes.len(), |e| i + 4 + e + 3);
                    continue;
                }
                let Some(end) = tag_end(bytes, i + 1) else {
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
                    "style" | "script" | "head" | "title" if !closing => {
                        i = skip_element(html, i, name);
                    }
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
                    "a" => {
                        if let Some((href, start)) = links.pop() {
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
                    }
                    _ => {}
                }
            }
            b'&' => {
                let (decoded, used) = entity(&html[i..]);
                t.text(decoded.as_str());
                i += used;
            }
            b if b.is_ascii_whitespace() => {
                t.space = true;
                i += 1;
            }
            _ => {
                let next = bytes[i..]
                    .iter()
                    .position(|&b| matches!(b, b'<' | b'&') || b.is_ascii_whitespace())
                    .map_or(bytes.len(), |n| i + n);
                t.text(&html[i..next]);
                i = next;
            }
        }
    }
    t.out.truncate(t.out.trim_end().len());
    t.out
}

struct TextOut {
    out: String,
    space: bool,
    newlines: u8,
}

impl TextOut {
    fn text(&mut self, s: &str) {
        if s.is_empty() {
            return;
        }
        if !self.out.is_empty() {
            if self.newlines > 0 {
                for _ in 0..self.newlines {
                    self.out.push('\n');
                }
            } else if self.space {
                self.out.push(' ');
            }
        }
        self.newlines = 0;
        self.space = false;
        self.out.push_str(s);
    }

    fn newline(&mut self, n: u8) {
        self.newlines = self.newlines.max(n);
        self.space = false;
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

/// Skips to just past `</name>`, case-insensitively.
fn skip_element(html: &str, from: usize, name: &str) -> usize {
    let bytes = html.as_bytes();
    let mut i = from;
    while let Some(rel) = html[i..].find("</") {
        let at = i + rel;
        let end = at + 2 + name.len();
        if bytes
            .get(at + 2..end)
            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
        {
            return html[end..].find('>').map_or(html.len(), |e| end + e + 1);
        }
        i = at + 2;
    }
    html.len()
}

/// The decoded value of attribute `name` in a tag's inside.
fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut search = 0;
    while let Some(rel) = lower[search..].find(name) {
        let at = search + rel;
        search = at + name.len();
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[search..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = tag.len() - rest.len() + 1;
        let value = tag[value_start..].trim_start();
        let raw = match value.as_bytes().first() {
            Some(&q @ (b'"' | b'\'')) => value[1..].split(q as char).next().unwrap_or(""),
            _ => value
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or(""),
        };
        return Some(decode(raw));
    }
    None
}

/// Decodes entities in `s`.
pub(crate) fn decode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(rel) = s[i..].find('&') {
        out.push_str(&s[i..i + rel]);
        let (d, used) = entity(&s[i + rel..]);
        out.push_str(&d);
        i += rel + used;
    }
    out.push_str(&s[i..]);
    out
}

/// Decodes the entity at the start of `s` (which starts with `&`); unknown ones stay as `&`.
fn entity(s: &str) -> (String, usize) {
    let end = s.as_bytes().iter().take(12).position(|&b| b == b';');
    let Some(end) = end else {
        return ("&".into(), 1);
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
        Some(c) => (c.to_string(), end + 1),
        None => ("&".into(), 1),
    }
}
