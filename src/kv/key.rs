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

/// Keys up to this many bytes are built on the stack; every key of a single record fits.
const INLINE: usize = 64;

/// Builds an encoded key. Short keys (all but `(job ID, execution ID)` pairs of long IDs) never
/// touch the allocator: a store operation builds about ten of them.
#[derive(Clone)]
pub struct KeyBuf(Buf);

#[derive(Clone)]
enum Buf {
    Inline(u8, [u8; INLINE]),
    Heap(Vec<u8>),
}

impl Default for KeyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for KeyBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("KeyBuf").field(&self.as_bytes()).finish()
    }
}

impl PartialEq for KeyBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for KeyBuf {}

impl KeyBuf {
    /// An empty key.
    pub fn new() -> Self {
        Self(Buf::Inline(0, [0; INLINE]))
    }

    /// Appends a complete string component.
    pub fn str(mut self, s: &str) -> Self {
        self.push_escaped(s);
        self.extend(&[ESCAPE, TERMINATOR]);
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
        self.extend(&[v]);
        self
    }

    /// Appends an unsigned integer.
    pub fn u64(mut self, v: u64) -> Self {
        self.extend(&v.to_be_bytes());
        self
    }

    /// Appends a signed integer.
    pub fn i64(mut self, v: i64) -> Self {
        self.extend(&((v as u64) ^ (1 << 63)).to_be_bytes());
        self
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Buf::Inline(len, buf) => &buf[..usize::from(*len)],
            Buf::Heap(v) => v,
        }
    }

    /// Takes the encoded bytes.
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Buf::Inline(len, buf) => buf[..usize::from(len)].to_vec(),
            Buf::Heap(v) => v,
        }
    }

    /// [`prefix_upper_bound`] of this key, built without allocating.
    pub(crate) fn upper_bound(&self) -> Option<KeyBuf> {
        let bytes = self.as_bytes();
        let keep = bytes.iter().rposition(|&b| b != 0xFF)?;
        let mut upper = KeyBuf::new();
        upper.extend(&bytes[..keep]);
        upper.extend(&[bytes[keep] + 1]);
        Some(upper)
    }

    fn extend(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Buf::Inline(len, buf) => {
                let at = usize::from(*len);
                match buf.get_mut(at..at + bytes.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(bytes);
                        *len += bytes.len() as u8;
                    }
                    None => {
                        let mut v = Vec::with_capacity((at + bytes.len()) * 2);
                        v.extend_from_slice(&buf[..at]);
                        v.extend_from_slice(bytes);
                        self.0 = Buf::Heap(v);
                    }
                }
            }
            Buf::Heap(v) => v.extend_from_slice(bytes),
        }
    }

    fn push_escaped(&mut self, s: &str) {
        let mut rest = s.as_bytes();
        if !has_nul(rest) {
            self.extend(rest);
            return;
        }
        while let Some(i) = rest.iter().position(|&b| b == ESCAPE) {
            self.extend(&rest[..i]);
            self.extend(&[ESCAPE, ESCAPED_NUL]);
            rest = &rest[i + 1..];
        }
        self.extend(rest);
    }
}

/// Whether `bytes` holds a NUL, eight bytes at a time (strings almost never do, and every key
/// component is checked).
fn has_nul(bytes: &[u8]) -> bool {
    const LOW: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        if x.wrapping_sub(LOW) & !x & HIGH != 0 {
            return true;
        }
    }
    chunks.remainder().contains(&0)
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
    fn long_keys_spill_to_the_heap_unchanged() {
        let id = "x\0y".repeat(40);
        let mut expected = Vec::new();
        for &b in id.as_bytes() {
            expected.push(b);
            if b == 0 {
                expected.push(0xFF);
            }
        }
        expected.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0, 0, 7]);
        let k = KeyBuf::new().str(&id).u64(7);
        assert_eq!(k.as_bytes(), expected.as_slice());
        assert_eq!(k.clone().into_vec(), expected);
        let mut r = KeyReader::new(k.as_bytes());
        assert_eq!((r.str().as_deref(), r.u64()), (Some(id.as_str()), Some(7)));
    }

    #[test]
    fn nul_bytes_are_found_at_every_position() {
        for len in 0..20 {
            assert!(
                !has_nul(&alloc::vec![0x80; len])
                    && !has_nul(&alloc::vec![0xFF; len])
                    && !has_nul(&alloc::vec![1; len])
            );
            for at in 0..len {
                let mut v = alloc::vec![0x81; len];
                v[at] = 0;
                assert!(has_nul(&v), "{len} {at}");
            }
        }
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
        assert_eq!(KeyBuf::new().str_prefix("j-12").upper_bound().unwrap().as_bytes(), upper);
    }

    #[test]
    fn malformed_keys_decode_to_none() {
        assert_eq!(KeyReader::new(b"abc").str(), None);
        assert_eq!(KeyReader::new(&[b'a', 0, 7]).str(), None);
        assert_eq!(KeyReader::new(&[1, 2]).u64(), None);
        assert_eq!(prefix_upper_bound(&[0xFF, 0xFF]), None);
        assert!(KeyBuf::new().u8(0xFF).upper_bound().is_none());
    }
}
