//! base64url without padding (RFC 4648 §5), for page tokens: 40 lines instead of the `base64`
//! crate, whose generic engine was 4 KB of the wasm package for these two calls; the tests
//! compare the two on random input.

use alloc::string::String;
use alloc::vec::Vec;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5).
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The inverse of [`encode`], as strict as the `base64` crate's `URL_SAFE_NO_PAD`:
/// `None` for a character outside the alphabet, padding, a length of 1 mod 4, or unused
/// trailing bits that are not zero (so every token has exactly one spelling).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            let v = ALPHABET.iter().position(|a| a == c)? as u32;
            n |= v << (18 - 6 * i);
        }
        let len = chunk.len() * 6 / 8;
        if n << (8 * len) & 0xFF_FFFF != 0 {
            return None;
        }
        out.extend((0..len).map(|i| (n >> (16 - 8 * i)) as u8));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_codec_encodes_as_the_base64_crate_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let text = encode(&bytes);
            prop_assert_eq!(&text, &URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(decode(&text), Some(bytes));
        }

        #[test]
        fn the_codec_accepts_and_refuses_what_the_base64_crate_does(text in "[A-Za-z0-9_=+/.-]{0,24}") {
            prop_assert_eq!(decode(&text), URL_SAFE_NO_PAD.decode(&text).ok());
        }
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        // "AB" encodes one byte with four unused bits; "AA" is the canonical spelling of 0x00.
        assert_eq!(decode("AA"), Some(alloc::vec![0]));
        assert_eq!(decode("AB"), None);
        assert_eq!(URL_SAFE_NO_PAD.decode("AB").ok(), None);
    }
}
