//! Escaping of values by output context.

use std::borrow::Cow;

/// How a value is made safe for the place it is printed in; the compiler picks it from the HTML around an
/// output and writes its [`Escape::name`] into the output's tag (see `output.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Escape {
    /// `__esc`: HTML text and quoted attribute values.
    Html,
    /// `__esc1`: as `__esc`, keeping character references already there (captures, `escape_once`).
    HtmlOnce,
    /// `__esc_unq`: unquoted attribute values (also encodes whitespace, `=` and backquote).
    Unquoted,
    /// `__esc_unq1`: as `__esc_unq`, keeping character references.
    UnquotedOnce,
    /// `__url`: the start of a URL attribute: a refused scheme becomes `about:invalid#mailer`, then `__esc`.
    Url,
    /// `__url1`: as `__url` with `__esc1`.
    UrlOnce,
    /// `__url_unq`: as `__url`, in an unquoted attribute.
    UrlUnquoted,
    /// `__url_unq1`: as `__url_unq`, keeping character references.
    UrlUnquotedOnce,
    /// `__css`: a value in CSS, emptied unless it is made of safe characters.
    Css,
    /// `__line`: subject values lose CR and LF.
    Line,
    /// `__txt`: a text part's value, as is (an object's keys in sorted order).
    Plain,
}

impl Escape {
    /// Every escaping, for parsing the names back.
    pub(crate) const ALL: &'static [Self] = &[
        Self::Html,
        Self::HtmlOnce,
        Self::Unquoted,
        Self::UnquotedOnce,
        Self::Url,
        Self::UrlOnce,
        Self::UrlUnquoted,
        Self::UrlUnquotedOnce,
        Self::Css,
        Self::Line,
        Self::Plain,
    ];

    /// The name the compiler writes (`__…`: a template cannot spell it as a filter).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Html => "__esc",
            Self::HtmlOnce => "__esc1",
            Self::Unquoted => "__esc_unq",
            Self::UnquotedOnce => "__esc_unq1",
            Self::Url => "__url",
            Self::UrlOnce => "__url1",
            Self::UrlUnquoted => "__url_unq",
            Self::UrlUnquotedOnce => "__url_unq1",
            Self::Css => "__css",
            Self::Line => "__line",
            Self::Plain => "__txt",
        }
    }

    /// `s` made safe; borrowed when nothing in it needed a change (most CRM values).
    pub(crate) fn apply(self, s: Cow<'_, str>) -> Cow<'_, str> {
        let mut out = String::new();
        if self.escape_into(&s, &mut out) {
            Cow::Owned(out)
        } else {
            s
        }
    }

    /// Appends `s` made safe to `out` and answers true, or answers false (and leaves `out` as it was)
    /// when `s` is safe as it is.
    pub(crate) fn escape_into(self, s: &str, out: &mut String) -> bool {
        match self {
            Self::Html => html(s, false, out),
            Self::HtmlOnce => html(s, true, out),
            Self::Unquoted => unquoted(s, false, out),
            Self::UnquotedOnce => unquoted(s, true, out),
            Self::Url | Self::UrlOnce | Self::UrlUnquoted | Self::UrlUnquotedOnce if !url_is_safe(s) => {
                out.push_str(INVALID_URL);
                true
            }
            Self::Url => html(s, false, out),
            Self::UrlOnce => html(s, true, out),
            Self::UrlUnquoted => unquoted(s, false, out),
            Self::UrlUnquotedOnce => unquoted(s, true, out),
            // A refused value is emptied.
            Self::Css => css_value(s).len() != s.len(),
            Self::Line if s.contains(char::is_control) => {
                out.push_str(&one_line(s));
                true
            }
            Self::Line | Self::Plain => false,
        }
    }
}

/// The bytes HTML escaping changes.
fn html_special(b: u8) -> bool {
    matches!(b, b'&' | b'<' | b'>' | b'"' | b'\'')
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each zero byte of `v` (and possibly of bytes above the first zero: only the lowest
/// flag is exact).
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGHS
}

/// The index of the first byte HTML escaping changes at or after `from`: eight bytes are tested at a time.
fn next_special(bytes: &[u8], mut from: usize) -> Option<usize> {
    while let Some(chunk) = bytes.get(from..from + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let v = u64::from_le_bytes(word);
        let found = [b'&', b'<', b'>', b'"', b'\'']
            .iter()
            .fold(0, |m, &b| m | zero_bytes(v ^ (ONES * u64::from(b))));
        if found != 0 {
            // The lowest flag of any of the five is exact: it is the first special byte.
            return Some(from + (found.trailing_zeros() / 8) as usize);
        }
        from += 8;
    }
    bytes
        .get(from..)?
        .iter()
        .position(|&b| html_special(b))
        .map(|n| from + n)
}

/// Appends `s` escaped for HTML text and quoted attributes; false when it has nothing to escape.
fn html(s: &str, once: bool, out: &mut String) -> bool {
    let Some(first) = next_special(s.as_bytes(), 0) else {
        return false;
    };
    out.reserve(s.len() + 16);
    out.push_str(&s[..first]);
    if once {
        push_html_once(out, &s[first..]);
    } else {
        push_html(out, &s[first..]);
    }
    true
}

/// Appends `s` escaped for an unquoted attribute value (also encodes whitespace, `=` and backquote; keeps
/// character references already in `s` when `once`); false (and `out` as it was) when it has nothing to
/// escape.
fn unquoted(s: &str, once: bool, out: &mut String) -> bool {
    let start = out.len();
    let bytes = s.as_bytes();
    let mut changed = false;
    for (i, c) in s.char_indices() {
        let rep = match c {
            '&' if once && entity_len(&bytes[i..]).is_some() => None,
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' => Some("&quot;"),
            '\'' => Some("&#39;"),
            '=' => Some("&#61;"),
            '`' => Some("&#96;"),
            c if c.is_whitespace() || c.is_control() => {
                out.push_str("&#");
                out.push_str(&u32::from(c).to_string());
                out.push(';');
                changed = true;
                continue;
            }
            _ => None,
        };
        match rep {
            Some(rep) => {
                out.push_str(rep);
                changed = true;
            }
            None => out.push(c),
        }
    }
    if !changed {
        out.truncate(start);
    }
    changed
}

/// Appends `s` escaped for HTML text and quoted attribute values.
pub(crate) fn push_html(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut last = 0;
    while let Some(i) = next_special(bytes, last) {
        let rep = match bytes[i] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// Replaces CR and LF (and other control characters) with spaces: header values stay on one line.
pub(crate) fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The length of the character reference (`&amp;`, `&#39;`, `&#x27;`) at the start of `s`, if it is one.
fn entity_len(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'&') {
        return None;
    }
    let (start, ok): (usize, fn(u8) -> bool) = match (s.get(1), s.get(2)) {
        (Some(b'#'), Some(b'x' | b'X')) => (3, |b: u8| b.is_ascii_hexdigit()),
        (Some(b'#'), _) => (2, |b: u8| b.is_ascii_digit()),
        (Some(b), _) if b.is_ascii_alphabetic() => (1, |b: u8| b.is_ascii_alphanumeric()),
        _ => return None,
    };
    let body = s[start..].iter().take(32).take_while(|b| ok(**b)).count();
    (body > 0 && s.get(start + body) == Some(&b';')).then_some(start + body + 1)
}

/// As [`push_html`], but a character reference already in `s` is kept (`&amp;` stays `&amp;`): for values
/// that were escaped before (a `capture`, `| escape_once`).
pub(crate) fn push_html_once(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    let mut last = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let rep = match b {
            b'&' if entity_len(&bytes[i..]).is_some() => continue,
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(rep);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// What a URL value that is refused becomes: a URL that goes nowhere and says why.
pub(crate) const INVALID_URL: &str = "about:invalid#mailer";

/// The URL schemes a value may bring into a URL attribute; relative URLs pass too.
const ALLOWED_SCHEMES: &[&str] = &["http", "https", "mailto", "tel"];

/// Decodes the character references a browser would decode in an attribute (numeric ones, with or
/// without `;`, and the named ones that can spell a scheme: `&colon;`, `&Tab;`, `&NewLine;`), for checking.
fn decode_for_check(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'&' {
            let rest = &bytes[i + 1..];
            let named = [
                ("colon", ':'),
                ("tab", '\t'),
                ("newline", '\n'),
                ("sol", '/'),
                ("num", '#'),
            ];
            if let Some((name, c)) = named
                .iter()
                // Compared as bytes: the text after `&` may start with a character of several bytes.
                .find(|(n, _)| {
                    rest.get(..n.len())
                        .is_some_and(|r| r.eq_ignore_ascii_case(n.as_bytes()))
                })
            {
                out.push(*c);
                i += 1 + name.len();
                if bytes.get(i) == Some(&b';') {
                    i += 1;
                }
                continue;
            }
            if bytes.get(i + 1) == Some(&b'#') {
                let hex = matches!(bytes.get(i + 2), Some(b'x' | b'X'));
                let start = i + 2 + usize::from(hex);
                let digits = bytes[start..]
                    .iter()
                    .take(16)
                    .take_while(|b| if hex { b.is_ascii_hexdigit() } else { b.is_ascii_digit() })
                    .count();
                if digits > 0 {
                    let text = &s[start..start + digits];
                    let code = u32::from_str_radix(text, if hex { 16 } else { 10 }).unwrap_or(0xfffd);
                    out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                    i = start + digits;
                    if bytes.get(i) == Some(&b';') {
                        i += 1;
                    }
                    continue;
                }
            }
        }
        let c = s[i..].chars().next().unwrap_or('\u{fffd}');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// True when `s`, put at the start of a URL attribute, is a relative URL or one of the allowed schemes;
/// entities are decoded and whitespace and control characters dropped first, as a browser would.
pub(crate) fn url_is_safe(s: &str) -> bool {
    // A scheme written out in plain letters is the scheme a browser reads: nothing to decode before it.
    if let Some((scheme, _)) = s.split_once(':')
        && !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphabetic())
    {
        return ALLOWED_SCHEMES.iter().any(|a| a.eq_ignore_ascii_case(scheme));
    }
    let decoded = decode_for_check(s);
    let mut scheme = String::new();
    for c in decoded.chars() {
        if c <= ' ' || c == '\u{7f}' || c.is_control() || c.is_whitespace() {
            continue;
        }
        match c {
            ':' => {
                let scheme = scheme.to_ascii_lowercase();
                return ALLOWED_SCHEMES.contains(&scheme.as_str());
            }
            '/' | '?' | '#' => return true,
            c => {
                if scheme.len() > 16 {
                    // No allowed scheme is this long: a scheme here would be refused anyway.
                    return !decoded.contains(':') && !decoded.contains('&');
                }
                scheme.push(c);
            }
        }
    }
    true
}

/// A value for CSS (a `style` attribute or a `<style>` element): kept only when it is made of letters,
/// digits, spaces and `# . , % - + _ /`, enough for colours, lengths and font names; anything else (quotes,
/// parentheses, `:`, `;`, `\`, `*`, braces, `<`, `&`) empties it, so that it cannot leave its declaration,
/// open a `url(…)` or `expression(…)`, or close the element.
pub(crate) fn css_value(s: &str) -> &str {
    let ok = s
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '#' | '.' | ',' | '%' | '-' | '+' | '_' | '/'));
    if ok && !s.contains("/*") && !s.contains("*/") {
        s
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eight_byte_search_finds_the_first_special_byte() {
        // Every special byte at every place of texts longer and shorter than eight bytes, after bytes that
        // differ from a special one by one bit or are just below and above it.
        let near = "%(=?!#;@ a\u{7f}";
        for len in 0..20 {
            for at in 0..len {
                for special in ['&', '<', '>', '"', '\''] {
                    let text: String = (0..len)
                        .map(|i| {
                            if i == at {
                                special
                            } else {
                                near.chars().nth(i % near.len()).unwrap_or('a')
                            }
                        })
                        .collect();
                    let expected = text.bytes().position(html_special);
                    assert_eq!(next_special(text.as_bytes(), 0), expected, "{text:?}");
                }
            }
            let plain: String = near.chars().cycle().take(len).collect();
            assert_eq!(next_special(plain.as_bytes(), 0), None, "{plain:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn escaping_is_the_byte_by_byte_rule(s in "[a&<>\"' é\u{0}-\u{7f}]{0,40}") {
            let mut out = String::new();
            push_html(&mut out, &s);
            let expected: String = s.chars().map(|c| match c {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&#39;".to_owned(),
                c => c.to_string(),
            }).collect();
            proptest::prop_assert_eq!(out, expected);
        }
    }

    #[test]
    fn entities_are_kept_once() {
        let mut out = String::new();
        push_html_once(&mut out, "a &amp; b &#39; &#x27; & c < \"&nope");
        assert_eq!(out, "a &amp; b &#39; &#x27; &amp; c &lt; &quot;&amp;nope");
    }

    #[test]
    fn an_ampersand_before_a_character_of_several_bytes_is_checked_without_a_panic() {
        // Found by `template_bounds`: the named-reference lookup sliced the text after `&` inside `꼊`.
        for value in ["/'\"&꼊", "&꼊", "&co꼊", "&\u{1F600}colon;x", "javascript&꼊:x"] {
            let checked = std::panic::catch_unwind(|| url_is_safe(value));
            assert!(checked.is_ok(), "{value:?} panicked");
        }
        assert!(url_is_safe("/'\"&꼊"), "a relative URL");
        assert!(
            !url_is_safe("&꼊javascript:alert(1)"),
            "still a scheme after the character"
        );
    }

    #[test]
    fn urls_are_checked_as_a_browser_reads_them() {
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "java\u{0}script:alert(1)",
            "javascript&colon;alert(1)",
            "&#106;avascript:alert(1)",
            "&#x6A;avascript:alert(1)",
            "&#0000106avascript:alert(1)",
            "vbscript:msgbox(1)",
            "data:text/html,<script>",
            "DATA:image/svg+xml;base64,PHN2Zz4=",
            ":alert(1)",
            "file:///etc/passwd",
        ] {
            assert!(!url_is_safe(bad), "{bad:?} passed");
            assert_eq!(Escape::Url.apply(bad.into()), INVALID_URL);
        }
        for good in [
            "https://example.com/a?b=c:d",
            "http://example.com",
            "HTTPS://EXAMPLE.COM",
            "mailto:anna@example.com",
            "tel:+1-555",
            "/relative/path:x",
            "relative?x=javascript:y",
            "#anchor",
            "",
        ] {
            assert!(url_is_safe(good), "{good:?} refused");
        }
    }

    #[test]
    fn css_values_are_allow_listed() {
        for good in ["red", "#ff0000", "12px", "Arial, sans-serif", "50%", "1.5em"] {
            assert_eq!(css_value(good), good);
        }
        for bad in [
            "red;background:url(x)",
            "expression(alert(1))",
            "</style>",
            "a\\62",
            "\"",
            "a/**/b",
        ] {
            assert_eq!(css_value(bad), "", "{bad:?}");
        }
    }
}
