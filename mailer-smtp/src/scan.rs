//! The byte search over a message's text that finds its line ends (to make them CRLF and to find the lines
//! too long for `7bit`). Each email sent passes tens of KB through it, so it is `memchr`'s vectorised
//! search (16 or 32 bytes at a time) rather than a loop over bytes.

/// The index of the first byte of `hay`, at `from` or after, that is `a` or `b`.
pub(crate) fn find_either(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
    memchr::memchr2(a, b, hay.get(from..)?).map(|at| from + at)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::find_either;

    fn naive(hay: &[u8], from: usize, a: u8, b: u8) -> Option<usize> {
        hay.get(from..)?
            .iter()
            .position(|&c| c == a || c == b)
            .map(|at| from + at)
    }

    #[test]
    fn finds_the_first_match_at_every_position() {
        for len in 0..20 {
            for at in 0..len {
                let mut hay = vec![b'x'; len];
                hay[at] = b'\n';
                if at + 2 < len {
                    // A later match and the byte just below the target must not move the answer.
                    hay[at + 2] = b'\r';
                    hay[at + 1] = b'\n' - 1;
                }
                assert_eq!(find_either(&hay, 0, b'\r', b'\n'), Some(at), "{len} {at}");
                assert_eq!(find_either(&hay, 0, b'\n', b'\n'), Some(at), "{len} {at}");
                assert_eq!(find_either(&hay, at + 1, b'\n', b'\n'), None, "{len} {at}");
            }
        }
        assert_eq!(find_either(b"abc", 7, b'a', b'a'), None, "from past the end");
    }

    proptest! {
        #[test]
        fn is_the_naive_search(
            hay in proptest::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'.'), Just(0u8), Just(0x80u8), any::<u8>()], 0..80),
            from in 0usize..90,
        ) {
            prop_assert_eq!(find_either(&hay, from, b'\r', b'\n'), naive(&hay, from, b'\r', b'\n'));
            prop_assert_eq!(find_either(&hay, from, b'.', b'.'), naive(&hay, from, b'.', b'.'));
            prop_assert_eq!(find_either(&hay, from, 0, 0), naive(&hay, from, 0, 0));
        }
    }
}
