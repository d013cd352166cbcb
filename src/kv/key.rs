//! Order-preserving byte encoding of tuple keys.
//!
//! Tables use composite keys such as `(job_id, seq)` or `(namespace, create_time, job_id)`. The
//! encoding keeps tuple order equal to byte order, so ordered scans and prefix scans work on any
//! backend, and no component can be confused with a separator: IDs, namespaces and label keys may
//! contain `/` or any other character (SPEC W-J6).
//!
//! * a string is its UTF-8 bytes with `0x00` escaped as `0x00 0xFF`, then the terminator
//!   `0x00 0x01`; a string's escaped bytes without the terminator are a prefix of the encoding of
//!   every string that starts with it, which is what ID-prefix lookups scan;
//! * `u8` is one byte, `u64` is 8 bytes big-endian, `i64` is 8 bytes big-endian with the sign bit
//!   flipped (so negative values sort first).

use alloc::string::String;
use alloc::vec::Vec;

const ESCAPE: u8 = 0x00;
const ESCAPED_NUL: u8 = 0xFF;
const TERMINATOR: u8 = 0x01;

/// Builds an encoded key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyBuf(Vec<u8>);

impl KeyBuf {
    /// An empty key.
    pub fn new() -> Self {
        Self(Vec::with_capacity(48))
    }

    /// Appends a complete string component.
    pub fn str(mut self, s: &str) -> Self {
        self.push_escaped(s);
        self.0.extend_from_slice(&[ESCAPE, TERMINATOR]);
        self
    }

    /// Appends the beginning of a string component: the result is a prefix of every key whose
    /// component at this position starts with `s`.
    pub fn str_prefix(mut self, s: &str) -> Self {
        self.push_escaped(s);
        self
    }

    /// Appends one byte.
    pub fn u8(mut self, v: u8) -> Self {
        self.0.push(v);
        self
    }

    /// Appends an unsigned integer.
    pub fn u64(mut self, v: u64) -> Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Appends a signed integer.
    pub fn i64(mut self, v: i64) -> Self {
        self.0.extend_from_slice(&((v as u64) ^ (1 << 63)).to_be_bytes());
        self
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Takes the encoded bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }

    fn push_escaped(&mut self, s: &str) {
        for &b in s.as_bytes() {
            self.0.push(b);
            if b == ESCAPE {
                self.0.push(ESCAPED_NUL);
            }
        }
    }
}

/// The smallest key greater than every key that starts with `prefix`, or `None` when no such key
/// exists (the prefix is empty or all `0xFF`).
pub fn prefix_upper_bound(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last != 0xFF {
            upper.push(last + 1);
            return Some(upper);
        }
    }
    None
}

/// Decodes the components of a key in order. Every method returns `None` on malformed input
/// rather than panicking: keys come from files that may be corrupt.
#[derive(Clone, Debug)]
pub struct KeyReader<'a>(&'a [u8]);

impl<'a> KeyReader<'a> {
    /// Reads from the start of `key`.
    pub fn new(key: &'a [u8]) -> Self {
        Self(key)
    }

    /// Next string component.
    pub fn str(&mut self) -> Option<String> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let b = *self.0.get(i)?;
            if b == ESCAPE {
                match *self.0.get(i + 1)? {
                    ESCAPED_NUL => out.push(0),
                    TERMINATOR => {
                        self.0 = &self.0[i + 2..];
                        return String::from_utf8(out).ok();
                    }
                    _ => return None,
                }
                i += 2;
            } else {
                out.push(b);
                i += 1;
            }
        }
    }

    /// Next byte.
    pub fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    /// Next unsigned integer.
    pub fn u64(&mut self) -> Option<u64> {
        let bytes: [u8; 8] = self.0.get(..8)?.try_into().ok()?;
        self.0 = &self.0[8..];
        Some(u64::from_be_bytes(bytes))
    }

    /// Next signed integer.
    pub fn i64(&mut self) -> Option<i64> {
        self.u64().map(|v| (v ^ (1 << 63)) as i64)
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Vec<u8> {
        KeyBuf::new().str(v).into_vec()
    }

    #[test]
    fn string_tuples_sort_like_the_tuples() {
        let mut keys = [("ab", 1u64), ("a", 2), ("a\0", 0), ("a/b", 0), ("a", 1), ("", 5), ("b", 0)];
        let mut encoded: Vec<Vec<u8>> = keys.iter().map(|(a, n)| KeyBuf::new().str(a).u64(*n).into_vec()).collect();
        keys.sort();
        encoded.sort();
        let decoded: Vec<(String, u64)> = encoded
            .iter()
            .map(|k| {
                let mut r = KeyReader::new(k);
                (r.str().unwrap(), r.u64().unwrap())
            })
            .collect();
        let expected: Vec<(String, u64)> = keys.iter().map(|(a, n)| ((*a).into(), *n)).collect();
        assert_eq!(decoded, expected);
    }

    #[test]
    fn signed_integers_sort_numerically() {
        let values = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        let encoded: Vec<Vec<u8>> = values.iter().map(|v| KeyBuf::new().i64(*v).into_vec()).collect();
        assert!(encoded.windows(2).all(|w| w[0] < w[1]));
        for (v, k) in values.iter().zip(&encoded) {
            assert_eq!(KeyReader::new(k).i64(), Some(*v));
        }
    }

    #[test]
    fn a_string_prefix_is_a_byte_prefix_of_every_extension() {
        let p = KeyBuf::new().str_prefix("j-12").into_vec();
        assert!(s("j-12").starts_with(&p));
        assert!(s("j-123").starts_with(&p));
        assert!(!s("j-13").starts_with(&p));
        let upper = prefix_upper_bound(&p).unwrap();
        assert!(s("j-12ffff") < upper && s("j-13") >= upper);
    }

    #[test]
    fn malformed_keys_decode_to_none() {
        assert_eq!(KeyReader::new(b"abc").str(), None);
        assert_eq!(KeyReader::new(&[b'a', 0, 7]).str(), None);
        assert_eq!(KeyReader::new(&[1, 2]).u64(), None);
        assert_eq!(prefix_upper_bound(&[0xFF, 0xFF]), None);
    }
}
