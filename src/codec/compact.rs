//! The array forms some stored values use instead of maps with field names (schema 2: the compute
//! log's references, `event.rs`, and compute history entries, `compute/history_rows.rs`). One reader
//! and one time encoding, so both forms check their input the same way; and (schema 3) the
//! compact form of Bacalhau's prefixed-UUID IDs the log's references use ([`IdRef`], [`Id`]).

use serde::de::{Error, IgnoredAny, SeqAccess};
use serde::ser::SerializeTuple;
use serde::Deserialize;

use crate::time::Timestamp;

/// Writes a time as two elements, seconds and nanoseconds: exact for every [`Timestamp`], unlike
/// nanoseconds in one `i64`, and a third of the RFC 3339 text.
pub(crate) fn write_time<T: SerializeTuple>(t: &mut T, time: Timestamp) -> Result<(), T::Error> {
    t.serialize_element(&time.unix_seconds())?;
    t.serialize_element(&time.subsec_nanos())
}

/// Reads an array of exactly `len` elements, described as `expecting` in errors.
pub(crate) struct Fields<A> {
    seq: A,
    read: usize,
    len: usize,
    expecting: &'static str,
}

impl<'de, A: SeqAccess<'de>> Fields<A> {
    pub fn new(seq: A, len: usize, expecting: &'static str) -> Self {
        Fields { seq, read: 0, len, expecting }
    }

    /// The next element; missing is an `invalid_length` error.
    pub fn next<T: Deserialize<'de>>(&mut self) -> Result<T, A::Error> {
        let v = self.seq.next_element()?.ok_or_else(|| A::Error::invalid_length(self.read, &self.expecting))?;
        self.read += 1;
        Ok(v)
    }

    /// The next element, or `None` at the end of the array (of repeated groups of elements).
    pub fn more<T: Deserialize<'de>>(&mut self) -> Result<Option<T>, A::Error> {
        let v = self.seq.next_element()?;
        self.read += usize::from(v.is_some());
        Ok(v)
    }

    /// The next two elements as a time written by [`write_time`].
    pub fn time(&mut self) -> Result<Timestamp, A::Error> {
        let secs = self.next()?;
        self.time_from(secs)
    }

    /// The rest of a time whose seconds were the element just read.
    pub fn time_from(&mut self, secs: i64) -> Result<Timestamp, A::Error> {
        let nanos = self.next()?;
        Timestamp::from_unix(secs, nanos)
            .ok_or_else(|| A::Error::custom(format_args!("invalid time {secs} s {nanos} ns")))
    }

    /// Refuses elements beyond `len`.
    pub fn end(mut self) -> Result<(), A::Error> {
        if self.seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(A::Error::invalid_length(self.len + 1, &self.expecting));
        }
        Ok(())
    }
}

/// Bacalhau's IDs are a short prefix and a lower-case UUID (`e-` and 36 characters). As a CBOR
/// byte string of the prefix and the UUID's 16 bytes such an ID takes 19 bytes instead of 39;
/// [`Id`] reads either form back to the same text. Other IDs, a longer prefix and upper-case
/// UUIDs (which would not read back as the same text) stay text.
pub(crate) struct IdRef<'a>(pub &'a str);

/// Prefixes longer than this stay text (the byte form is built on the stack).
const ID_PREFIX_MAX: usize = 16;
const UUID_LEN: usize = 36;

/// The prefix and 16 bytes of an ID ending in a lower-case hyphenated UUID.
fn split_uuid(id: &str) -> Option<(&[u8], [u8; 16])> {
    let bytes = id.as_bytes();
    let prefix_len = bytes.len().checked_sub(UUID_LEN)?;
    if prefix_len > ID_PREFIX_MAX {
        return None;
    }
    let (prefix, uuid) = bytes.split_at(prefix_len);
    let mut out = [0u8; 16];
    let mut nibbles = 0;
    for (i, &c) in uuid.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if c != b'-' {
                return None;
            }
            continue;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => return None,
        };
        out[nibbles / 2] |= v << (4 * (1 - nibbles % 2));
        nibbles += 1;
    }
    Some((prefix, out))
}

impl serde::Serialize for IdRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match split_uuid(self.0) {
            Some((prefix, uuid)) => {
                let mut buf = [0u8; ID_PREFIX_MAX + 16];
                buf[..prefix.len()].copy_from_slice(prefix);
                buf[prefix.len()..prefix.len() + 16].copy_from_slice(&uuid);
                s.serialize_bytes(&buf[..prefix.len() + 16])
            }
            None => s.serialize_str(self.0),
        }
    }
}

/// An ID as [`IdRef`] wrote it.
pub(crate) struct Id(pub alloc::string::String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(IdVisitor)
    }
}

struct IdVisitor;

impl<'de> serde::de::Visitor<'de> for IdVisitor {
    type Value = Id;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("an ID (text, or a prefix and a UUID as bytes)")
    }

    fn visit_str<E: Error>(self, v: &str) -> Result<Id, E> {
        Ok(Id(v.into()))
    }

    fn visit_string<E: Error>(self, v: alloc::string::String) -> Result<Id, E> {
        Ok(Id(v))
    }

    fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Id, E> {
        let Some(prefix_len) = v.len().checked_sub(16).filter(|&n| n <= ID_PREFIX_MAX) else {
            return Err(E::invalid_length(v.len(), &"a prefix of at most 16 bytes and 16 bytes of UUID"));
        };
        let (prefix, uuid) = v.split_at(prefix_len);
        let prefix = core::str::from_utf8(prefix).map_err(|_| E::custom("an ID prefix that is not UTF-8"))?;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = alloc::string::String::with_capacity(prefix.len() + UUID_LEN);
        id.push_str(prefix);
        for (i, b) in uuid.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                id.push('-');
            }
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 15)]));
        }
        Ok(Id(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn encode(id: &str) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(&IdRef(id), &mut out).unwrap();
        out
    }

    fn decode(bytes: &[u8]) -> Result<String, String> {
        ciborium::from_reader::<Id, _>(bytes).map(|Id(id)| id).map_err(|e| alloc::format!("{e}"))
    }

    #[test]
    fn a_prefixed_lower_case_uuid_is_stored_in_19_bytes_and_reads_back_as_the_same_text() {
        for id in ["e-0f8fad5b-d9cb-469f-a165-70867728950e", "0f8fad5b-d9cb-469f-a165-70867728950e"] {
            let bytes = encode(id);
            assert_eq!(bytes.len(), 1 + id.len() - 36 + 16, "{id}: {bytes:x?}");
            assert_eq!(decode(&bytes).unwrap(), id);
        }
    }

    #[test]
    fn any_other_id_stays_text() {
        for id in [
            "e-1",
            "",
            "e-0F8FAD5B-D9CB-469F-A165-70867728950E",
            "e-0f8fad5b-d9cb-469f-a165-70867728950g",
            "e-0f8fad5bxd9cb-469f-a165-70867728950e",
            "a-prefix-of-17-by0f8fad5b-d9cb-469f-a165-70867728950e",
            "é-0f8fad5b-d9cb-469f-a165-70867728950",
        ] {
            let mut text = Vec::new();
            ciborium::into_writer(&id, &mut text).unwrap();
            assert_eq!(encode(id), text, "{id}");
            assert_eq!(decode(&text).unwrap(), id);
        }
    }

    #[test]
    fn a_byte_string_that_is_no_prefixed_uuid_is_a_decoding_error() {
        for bytes in [&[][..], &[0u8; 15], &[0u8; 33], &[0xff; 17]] {
            let mut cbor = Vec::new();
            ciborium::into_writer(&ciborium::Value::Bytes(bytes.to_vec()), &mut cbor).unwrap();
            assert!(decode(&cbor).is_err(), "{bytes:x?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn every_id_reads_back_as_written(prefix in "\\PC{0,20}", raw in proptest::prelude::any::<[u8; 16]>(), upper: bool, tail in "\\PC{0,2}") {
            let mut uuid = String::new();
            for (i, b) in raw.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    uuid.push('-');
                }
                uuid.push_str(&alloc::format!("{b:02x}"));
            }
            if upper {
                uuid = uuid.to_uppercase();
            }
            for id in [alloc::format!("{prefix}{uuid}"), alloc::format!("{prefix}{uuid}{tail}"), prefix.clone()] {
                proptest::prop_assert_eq!(decode(&encode(&id)).unwrap(), id);
            }
        }
    }
}
