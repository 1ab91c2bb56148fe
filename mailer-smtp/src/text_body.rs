//! A text part (plain text or HTML) written straight into the message's buffer: its headers, its body in
//! its transfer encoding, and the CRLF that ends it. The text's line ends (CRLF, a bare CR or a bare LF)
//! become CRLF while it is encoded, in the same pass.
//!
//! The transfer encoding is the one lettre would choose for the same text with CRLF line ends
//! (`email-encoding`'s rules, for a server without SMTPUTF8): `7bit` for ASCII whose lines are under 76
//! bytes, `quoted-printable` when at most a third of the bytes need escaping, `base64` otherwise. The first
//! two are written here; base64, rare for text, is left to lettre. Quoted-printable (RFC 2045, section
//! 6.7) is written with whole runs of plain bytes copied at once: every line is at most 76 characters
//! (soft line breaks end in `=`), `=` and every byte outside printable ASCII and tab are `=XX`, and a space
//! or tab before a line end is encoded so that no server strips it.
//!
//! Measured on the whole pipeline (`benches/pipeline_throughput.sh`): lettre's quoted-printable encoder,
//! its encoding chooser and its second CRLF pass took 17 % of the worker's CPU for 20 KB bodies; the
//! separate CRLF pass and lettre copying each part into the message took 5 % more.

use lettre::message::Body;

use crate::scan::find_either;

/// The longest encoded line, without its CRLF (RFC 2045).
const LINE: usize = 76;

/// Writes the part of `content_type` (`text/plain; charset=utf-8`, `text/html; charset=utf-8`) holding
/// `text` to `out`: `Content-Type`, `Content-Transfer-Encoding`, an empty line, the encoded text, CRLF.
pub(crate) fn write_text_part(out: &mut Vec<u8>, content_type: &str, text: &str) {
    let part_headers = |out: &mut Vec<u8>, encoding: &str| {
        out.extend_from_slice(b"Content-Type: ");
        out.extend_from_slice(content_type.as_bytes());
        out.extend_from_slice(b"\r\nContent-Transfer-Encoding: ");
        out.extend_from_slice(encoding.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
    };
    let bytes = text.as_bytes();
    if bytes.is_ascii() && !line_too_long(bytes) {
        part_headers(out, "7bit");
        write_crlf(out, bytes);
    } else {
        let start = out.len();
        part_headers(out, "quoted-printable");
        let counts = encode(out, bytes);
        if counts.escaped > counts.crlf_len / 3 {
            out.truncate(start);
            let body = Body::new(crlf(text));
            part_headers(out, &body.encoding().to_string());
            out.extend_from_slice(body.as_ref());
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// The length of the line end (CRLF, CR or LF) at `at`, which is a CR or an LF.
fn line_end_len(b: &[u8], at: usize) -> usize {
    if b[at] == b'\r' && b.get(at + 1) == Some(&b'\n') {
        2
    } else {
        1
    }
}

/// Every line end as CRLF: CRLF stays, a bare CR or a bare LF becomes CRLF.
pub(crate) fn crlf(text: &str) -> String {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    write_crlf(&mut out, text.as_bytes());
    // Only ASCII line ends were written between whole runs of `text`.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Writes `b` with every line end (CRLF, a bare CR, a bare LF) as CRLF, copying the text between them in
/// whole runs.
fn write_crlf(out: &mut Vec<u8>, b: &[u8]) {
    out.reserve(b.len() + b.len() / 32);
    let mut from = 0;
    while let Some(at) = find_either(b, from, b'\r', b'\n') {
        out.extend_from_slice(&b[from..at]);
        out.extend_from_slice(b"\r\n");
        from = at + line_end_len(b, at);
    }
    out.extend_from_slice(&b[from..]);
}

/// Whether lettre's chooser finds a line of 76 bytes or more in `b` with its line ends made CRLF. It
/// measures from one LF to the next, so a line's CR counts, and after the first line the LF before it
/// too; the first measure starts at 0. The positions below are those of that CRLF text.
fn line_too_long(b: &[u8]) -> bool {
    let mut last_lf = 0;
    let mut line_start = 0;
    let mut from = 0;
    while let Some(at) = find_either(b, from, b'\r', b'\n') {
        // The line's text, then its CR, then the LF.
        let lf = line_start + (at - from) + 1;
        if lf - last_lf >= LINE {
            return true;
        }
        last_lf = lf;
        line_start = lf + 1;
        from = at + line_end_len(b, at);
    }
    line_start + (b.len() - from) - last_lf >= LINE
}

/// Whether `b` may stand for itself inside an encoded line.
fn plain(b: u8) -> bool {
    matches!(b, b'\t' | b' '..=b'<' | b'>'..=b'~')
}

const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);

/// Whether all 8 bytes of `w` are printable ASCII other than `=` (a tab is left to the byte-wise test).
fn plain_word(w: u64) -> bool {
    let below_space = w.wrapping_sub(ONES * 0x20) & !w;
    // Adding 1 sets the high bit of 0x7f; bytes above it have it already.
    let above_tilde = w.wrapping_add(ONES) | w;
    let eq = w ^ (ONES * u64::from(b'='));
    let is_eq = eq.wrapping_sub(ONES) & !eq;
    (below_space | above_tilde | is_eq) & HIGHS == 0
}

/// How many bytes from the start of `b` may stand for themselves.
fn plain_run(b: &[u8]) -> usize {
    let mut n = 0;
    while let Some(word) = b.get(n..n + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        if !plain_word(u64::from_ne_bytes(w)) {
            break;
        }
        n += 8;
    }
    n + b[n..].iter().take_while(|&&c| plain(c)).count()
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// What [`encode`] counted, for lettre's choice between quoted-printable and base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    /// The bytes that are not printable ASCII or tab (a line end's CR and LF count), as lettre counts them.
    escaped: usize,
    /// The text's length with its line ends made CRLF.
    crlf_len: usize,
}

/// Appends `bytes` in quoted-printable to `out`; each line end (CRLF, a bare CR, a bare LF) is written as
/// a hard line break, CRLF.
fn encode(out: &mut Vec<u8>, bytes: &[u8]) -> Counts {
    // Room for content on an encoded line that goes on: one character is kept for the soft break's `=`.
    const ROOM: usize = LINE - 1;
    out.reserve(bytes.len() + bytes.len() / 16 + 16);
    let mut escaped = 0;
    let mut bare_ends = 0;
    let mut col = 0;
    let mut i = 0;
    // Whether the input line ends at `at`: a line end or the end of the input.
    let line_ends_at = |at: usize| at == bytes.len() || matches!(bytes[at], b'\r' | b'\n');
    while i < bytes.len() {
        let run = plain_run(&bytes[i..]);
        if run > 0 {
            let ends_line = line_ends_at(i + run);
            // A space or tab that ends the line is encoded below, not copied.
            let take = if ends_line && matches!(bytes[i + run - 1], b' ' | b'\t') {
                run - 1
            } else {
                run
            };
            let mut left = &bytes[i..i + take];
            while !left.is_empty() {
                // The last piece of a line needs no room for a soft break.
                let fits_to_end = take == run && ends_line && col + left.len() <= LINE;
                let room = if fits_to_end {
                    LINE - col
                } else {
                    ROOM.saturating_sub(col)
                };
                if room == 0 {
                    out.extend_from_slice(b"=\r\n");
                    col = 0;
                    continue;
                }
                let n = room.min(left.len());
                out.extend_from_slice(&left[..n]);
                col += n;
                left = &left[n..];
            }
            i += take;
            if take == run {
                continue;
            }
        }
        let b = bytes[i];
        if matches!(b, b'\r' | b'\n') {
            out.extend_from_slice(b"\r\n");
            escaped += 2;
            col = 0;
            let len = line_end_len(bytes, i);
            bare_ends += 2 - len;
            i += len;
            continue;
        }
        if !matches!(b, b'\t' | b' '..=b'~') {
            escaped += 1;
        }
        // `=XX`, and a soft break first when it would not fit (at the end of the line it needs no `=`).
        let limit = if line_ends_at(i + 1) { LINE } else { ROOM };
        if col + 3 > limit {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]]);
        col += 3;
        i += 1;
    }
    Counts {
        escaped,
        crlf_len: bytes.len() + bare_ends,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(&mut out, bytes);
        out
    }

    /// The rule, one byte at a time: CRLF, a bare CR and a bare LF each become CRLF.
    fn crlf_bytes(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\r' | b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    i += if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                        2
                    } else {
                        1
                    };
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        out
    }

    /// lettre's rule for `7bit`, as it reads a text with CRLF line ends.
    fn lettre_line_too_long(b: &[u8]) -> bool {
        let mut last = 0;
        for (i, _) in b.iter().enumerate().filter(|(_, c)| **c == b'\n') {
            if i - last >= LINE {
                return true;
            }
            last = i;
        }
        b.len() - last >= LINE
    }

    /// The transfer encoding `write_text_part` picks for `text`.
    fn encoding_of(text: &str) -> String {
        let mut out = Vec::new();
        write_text_part(&mut out, "text/plain; charset=utf-8", text);
        let out = String::from_utf8(out).expect("ascii");
        out.lines()
            .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
            .expect("an encoding")
            .to_owned()
    }

    /// RFC 2045 decoding, written out for the test: soft breaks removed, `=XX` turned back into bytes.
    fn quoted_printable_decode(encoded: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < encoded.len() {
            if encoded[i] == b'=' {
                if encoded[i + 1..].starts_with(b"\r\n") {
                    i += 3;
                    continue;
                }
                let hex = std::str::from_utf8(&encoded[i + 1..i + 3]).expect("hex");
                out.push(u8::from_str_radix(hex, 16).expect("hex digits"));
                i += 3;
            } else {
                out.push(encoded[i]);
                i += 1;
            }
        }
        out
    }

    fn check(input: &[u8]) {
        let encoded = quoted_printable(input);
        assert_eq!(
            quoted_printable_decode(&encoded),
            crlf_bytes(input),
            "round trip of {input:?}"
        );
        for line in encoded.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            assert!(
                line.len() <= LINE,
                "line of {} > 76: {:?}",
                line.len(),
                String::from_utf8_lossy(line)
            );
            assert!(!line.contains(&b'\r'), "bare CR in {line:?}");
            assert!(
                !matches!(line.last(), Some(b' ' | b'\t')),
                "whitespace at the end of {:?}",
                String::from_utf8_lossy(line)
            );
            assert!(line.iter().all(|&b| matches!(b, b'\t' | b' '..=b'~')), "{line:?}");
        }
    }

    #[test]
    fn plain_ascii_lines_stay_as_they_are() {
        assert_eq!(quoted_printable(b"Hello, world.\r\nBye."), b"Hello, world.\r\nBye.");
    }

    #[test]
    fn equals_signs_non_ascii_and_trailing_spaces_are_encoded() {
        assert_eq!(
            quoted_printable("a=b €  \r\nend\t".as_bytes()),
            b"a=3Db =E2=82=AC =20\r\nend=09"
        );
    }

    #[test]
    fn long_lines_get_soft_breaks_within_76_characters() {
        let long = "x".repeat(200);
        let encoded = quoted_printable(long.as_bytes());
        let lines: Vec<&[u8]> = encoded.split(|&b| b == b'\n').collect();
        assert_eq!(lines.len(), 3, "{}", String::from_utf8_lossy(&encoded));
        assert_eq!(lines[0].len(), 77, "75 characters, the soft break's = and CR");
        check(long.as_bytes());
        // Exactly 76 characters fit on one line; 77 do not.
        assert_eq!(quoted_printable("y".repeat(76).as_bytes()), "y".repeat(76).as_bytes());
        check("y".repeat(77).as_bytes());
    }

    #[test]
    fn an_escape_is_never_split_by_a_soft_break() {
        for n in 70..80 {
            let input = format!("{}é{}", "a".repeat(n), "b".repeat(n));
            check(input.as_bytes());
        }
    }

    #[test]
    fn the_encoding_is_the_one_lettre_would_choose() {
        let lettre = |text: &str| lettre::message::Body::new(text.to_owned()).encoding().to_string();
        let ascii = "short line\r\nanother\r\n";
        assert_eq!(encoding_of(ascii), "7bit");
        assert_eq!(encoding_of(ascii), lettre(ascii));
        let long = format!("<p>{}</p>", "word ".repeat(40));
        assert_eq!(encoding_of(&long), "quoted-printable");
        assert_eq!(encoding_of(&long), lettre(&long));
        let cyrillic = "Привет, мир! ".repeat(20);
        assert_eq!(encoding_of(&cyrillic), "base64");
        assert_eq!(encoding_of(&cyrillic), lettre(&cyrillic));
    }

    #[test]
    fn bare_line_ends_become_crlf_in_every_encoding() {
        let mut out = Vec::new();
        write_crlf(&mut out, b"a\nb\rc\r\nd\n\re");
        assert_eq!(out, b"a\r\nb\r\nc\r\nd\r\n\r\ne");
        assert_eq!(quoted_printable(b"x=\ny\r"), b"x=3D\r\ny\r\n");
        let mut part = Vec::new();
        write_text_part(&mut part, "text/plain; charset=utf-8", "a\nb");
        assert!(
            part.ends_with(b"\r\n\r\na\r\nb\r\n"),
            "{:?}",
            String::from_utf8_lossy(&part)
        );
    }

    #[test]
    fn the_word_test_agrees_with_the_byte_test() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut w = [b'a'; 8];
                w[at] = b;
                let want = w.iter().all(|&c| plain(c) && c != b'\t');
                assert_eq!(plain_word(u64::from_ne_bytes(w)), want, "byte {b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn escapes_are_counted_as_lettre_counts_them() {
        let counts = encode(&mut Vec::new(), "a=b\r\nü\t".as_bytes());
        assert_eq!(counts.crlf_len, 8);
        assert_eq!(
            counts.escaped, 4,
            "CR, LF and the two bytes of ü; = and tab are printable for the count"
        );
    }

    proptest! {
        #[test]
        fn any_text_round_trips_in_lines_of_76(s in "(\\PC|[ \t=.]|\r\n){0,400}") {
            check(s.as_bytes());
        }

        #[test]
        fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            check(&bytes);
        }

        #[test]
        fn the_line_rule_reads_bare_line_ends_as_lettre_reads_crlf(
            text in proptest::collection::vec(prop_oneof![1 => Just(b'\r'), 1 => Just(b'\n'), 120 => Just(b'a')], 0..600),
        ) {
            prop_assert_eq!(line_too_long(&text), lettre_line_too_long(&crlf_bytes(&text)));
            let mut out = Vec::new();
            write_crlf(&mut out, &text);
            prop_assert_eq!(out, crlf_bytes(&text));
        }
    }
}
