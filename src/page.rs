//! Paging: opaque next-page tokens.
//!
//! A token is base64url (no padding) of `[version, scope, crc32(query fingerprint), last key]`.
//! The codec is the 40 lines below rather than the `base64` crate, whose generic engine was 4 KB
//! of the wasm package for these two calls; tests compare the two on random input.
//! The key is the index key of the last item returned, so the next page starts strictly after it
//! (key-set paging: stable under concurrent inserts, O(log n) to resume; SPEC W-J5). The scope and
//! fingerprint reject a token replayed against a different query instead of returning a wrong
//! page.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

const TOKEN_VERSION: u8 = 1;

/// One page of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The items, in order.
    pub items: Vec<T>,
    /// Pass this back to get the next page; `None` when there is no more.
    pub next_token: Option<String>,
}

/// Options for paged reads.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PageRequest {
    /// Maximum items per page; 0 means no limit.
    pub limit: u32,
    /// A token from the previous page.
    pub next_token: Option<String>,
}

pub(crate) fn encode(scope: u8, fingerprint: u32, key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(6 + key.len());
    raw.push(TOKEN_VERSION);
    raw.push(scope);
    raw.extend_from_slice(&fingerprint.to_be_bytes());
    raw.extend_from_slice(key);
    base64url_encode(&raw)
}

/// The key a token resumes after, or a reason why it does not belong to this query.
pub(crate) fn decode(token: &str, scope: u8, fingerprint: u32) -> Result<Vec<u8>, String> {
    let raw = base64url_decode(token.trim()).ok_or_else(|| String::from("not a page token (bad encoding)"))?;
    if raw.len() < 6 || raw[0] != TOKEN_VERSION {
        return Err("not a page token (bad header)".into());
    }
    if raw[1] != scope || raw[2..6] != fingerprint.to_be_bytes() {
        return Err("token belongs to a different query (filters, sort order or record changed)".into());
    }
    Ok(raw[6..].to_vec())
}

/// A stable fingerprint of the parts of a query a token must not outlive.
pub(crate) fn fingerprint(parts: &[&[u8]]) -> u32 {
    let mut h = crate::snapshot::CRC32.digest();
    for p in parts {
        h.update(&(p.len() as u32).to_be_bytes());
        h.update(p);
    }
    h.finalize()
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (RFC 4648 §5).
fn base64url_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// The inverse of [`base64url_encode`], as strict as the `base64` crate's `URL_SAFE_NO_PAD`:
/// `None` for a character outside the alphabet, padding, a length of 1 mod 4, or unused
/// trailing bits that are not zero (so every token has exactly one spelling).
fn base64url_decode(text: &str) -> Option<Vec<u8>> {
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
            let text = base64url_encode(&bytes);
            prop_assert_eq!(&text, &URL_SAFE_NO_PAD.encode(&bytes));
            prop_assert_eq!(base64url_decode(&text), Some(bytes));
        }

        #[test]
        fn the_codec_accepts_and_refuses_what_the_base64_crate_does(text in "[A-Za-z0-9_=+/.-]{0,24}") {
            prop_assert_eq!(base64url_decode(&text), URL_SAFE_NO_PAD.decode(&text).ok());
        }
    }

    #[test]
    fn non_canonical_trailing_bits_are_refused() {
        // "AB" encodes one byte with four unused bits; "AA" is the canonical spelling of 0x00.
        assert_eq!(base64url_decode("AA"), Some(alloc::vec![0]));
        assert_eq!(base64url_decode("AB"), None);
        assert_eq!(URL_SAFE_NO_PAD.decode("AB").ok(), None);
    }
}
