//! The body of a text part (plain text or HTML), encoded here in one pass instead of by lettre byte by byte.
//!
//! The transfer encoding is the one lettre would choose for the same text (`email-encoding`'s rules, for a
//! server without SMTPUTF8): `7bit` for ASCII whose lines are under 76 bytes, `quoted-printable` when at
//! most a third of the bytes need escaping, `base64` otherwise. The first two are written here; base64,
//! rare for text, is left to lettre. Quoted-printable (RFC 2045, section 6.7) is written with whole runs
//! of plain bytes copied at once: every line is at most 76 characters (soft line breaks end in `=`), `=`
//! and every byte outside printable ASCII and tab are `=XX`, and a space or tab before a line end is
//! encoded so that no server strips it. Hard line breaks stay CRLF.
//!
//! Measured on the whole pipeline (`benches/pipeline_throughput.sh`): lettre's quoted-printable encoder,
//! its encoding chooser and its second CRLF pass took 17 % of the worker's CPU for 20 KB bodies.

use lettre::message::Body;
use lettre::message::header::ContentTransferEncoding;

/// The longest encoded line, without its CRLF (RFC 2045).
const LINE: usize = 76;

/// `text`, whose line ends are all CRLF already, as a body with its transfer encoding.
pub(crate) fn text_body(text: String) -> Body {
    let bytes = text.as_bytes();
    if bytes.is_ascii() && !line_too_long(bytes) {
        return Body::dangerous_pre_encoded(text.into_bytes(), ContentTransferEncoding::SevenBit);
    }
    let (encoded, escaped) = encode(bytes);
    if escaped <= bytes.len() / 3 {
        return Body::dangerous_pre_encoded(encoded, ContentTransferEncoding::QuotedPrintable);
    }
    Body::new(text)
}

/// Whether a line of `b` (counting from one LF to the next) is 76 bytes or longer: the rule of lettre's
/// chooser, kept so that the same text gets the same encoding as before.
fn line_too_long(b: &[u8]) -> bool {
    let mut last = 0;
    let mut from = 0;
    while let Some(i) = crate::scan::find_byte(b, from, b'\n') {
        if i - last >= LINE {
            return true;
        }
        last = i;
        from = i + 1;
    }
    b.len() - last >= LINE
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

/// `bytes` (CRLF line ends) in quoted-printable (a CR or LF that is not part of a CRLF is encoded), and
/// how many of the bytes are not printable ASCII or tab (CR and LF count, as in lettre's chooser).
fn encode(bytes: &[u8]) -> (Vec<u8>, usize) {
    // Room for content on an encoded line that goes on: one character is kept for the soft break's `=`.
    const ROOM: usize = LINE - 1;
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16 + 16);
    let mut escaped = 0;
    let mut col = 0;
    let mut i = 0;
    // Whether the input line ends at `at`: a CRLF or the end of the input.
    let line_ends_at = |at: usize| at == bytes.len() || bytes[at..].starts_with(b"\r\n");
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
        if b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            out.extend_from_slice(b"\r\n");
            escaped += 2;
            col = 0;
            i += 2;
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
    (out, escaped)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
        encode(bytes).0
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
        assert_eq!(quoted_printable_decode(&encoded), input, "round trip of {input:?}");
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
        let ascii = "short line\r\nanother\r\n".to_owned();
        assert_eq!(
            text_body(ascii.clone()).encoding(),
            lettre::message::Body::new(ascii).encoding()
        );
        let long = format!("<p>{}</p>", "word ".repeat(40));
        assert_eq!(
            text_body(long.clone()).encoding(),
            ContentTransferEncoding::QuotedPrintable
        );
        assert_eq!(
            lettre::message::Body::new(long).encoding(),
            ContentTransferEncoding::QuotedPrintable
        );
        let cyrillic = "Привет, мир! ".repeat(20);
        assert_eq!(text_body(cyrillic.clone()).encoding(), ContentTransferEncoding::Base64);
        assert_eq!(
            lettre::message::Body::new(cyrillic).encoding(),
            ContentTransferEncoding::Base64
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
        let (_, escaped) = encode("a=b\r\nü\t".as_bytes());
        assert_eq!(
            escaped, 4,
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
    }
}
