//! Byte searches over a message's text, eight bytes at a time: the line ends [`crate::mime::crlf`]
//! rewrites, the lines too long for `7bit`, and the dots that start a line, which SMTP doubles. Each email
//! sent passes tens of KB through them; the standard library's substring search took about 3.5
//! instructions per byte here, and splitting into lines with a search per line about as much.

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);

/// The high bit of the zero bytes of `w`: exact for the lowest one (lanes above it may be marked too).
fn zero_bytes(w: u64) -> u64 {
    w.wrapping_sub(ONES) & !w & HIGHS
}

/// The index of the first byte of `hay`, at `from` or after, that is `a` or `b`.
pub(crate) fn find_either(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    let (fill_a, fill_b) = (ONES * u64::from(a), ONES * u64::from(b));
    let mut i = from;
    while let Some(chunk) = hay.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        // The lowest marked lane of each mask is exact, so the lowest of both is the first match.
        let hits = zero_bytes(w ^ fill_a) | zero_bytes(w ^ fill_b);
        if hits != 0 {
            return Some(i + (hits.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let tail = hay.get(i..)?;
    tail.iter().position(|&c| c == a || c == b).map(|at| i + at)
}

/// The index of the first `byte` of `hay` at `from` or after.
pub(crate) fn find_byte(hay: &[u8], from: usize, byte: u8) -> Option<usize> {
    find_either(hay, from, byte, byte)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{find_byte, find_either};

    fn naive(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
        hay.get(from..)?
            .iter()
            .position(|&c| c == a || c == b)
            .map(|at| from + at)
    }

    #[test]
    fn finds_the_first_match_in_every_lane_and_the_tail() {
        for len in 0..20 {
            for at in 0..len {
                let mut hay = vec![b'x'; len];
                hay[at] = b'\n';
                if at + 2 < len {
                    // A later match and a byte one below the target (a borrow) must not move the answer.
                    hay[at + 2] = b'\r';
                    hay[at + 1] = b'\n' - 1;
                }
                assert_eq!(find_either(&hay, 0, b'\r', b'\n'), Some(at), "{len} {at}");
                assert_eq!(find_byte(&hay, 0, b'\n'), Some(at), "{len} {at}");
                assert_eq!(find_byte(&hay, at + 1, b'\n'), None, "{len} {at}");
            }
        }
        assert_eq!(find_byte(b"abc", 7, b'a'), None, "from past the end");
    }

    proptest! {
        #[test]
        fn is_the_naive_search(
            hay in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(0u8), Just(0x80u8), any::<u8>()], 0..80),
            from in 0usize..90,
        ) {
            prop_assert_eq!(find_either(&hay, from, b'\r', b'\n'), naive(&hay, from, b'\r', b'\n'));
            prop_assert_eq!(find_byte(&hay, from, b'.'), naive(&hay, from, b'.', b'.'));
            prop_assert_eq!(find_byte(&hay, from, 0), naive(&hay, from, 0, 0));
        }
    }
}
