//! The portable snapshot format: a store's records, history, event log and checkpoints, in a
//! byte layout that is identical on every platform for the same contents.
//!
//! ```text
//! magic "BACSNAP\0" (8) | format version u8 (= 1) | store kind u8 (1 compute, 2 requester)
//! | body: CBOR | crc32 (IEEE) of everything before it, u32 big-endian
//! ```
//! Only primary data is in the body; indexes and counts are derived and rebuilt on import, so a
//! snapshot cannot carry an inconsistent index. Every table is read in key order and every map is
//! a `BTreeMap`, so the encoding is deterministic: wasm and native exports of equal stores are
//! byte-identical.

use alloc::vec::Vec;

use serde::{de::DeserializeOwned, Serialize};

use crate::kv::StoreKind;

use crate::codec::CRC32;
pub use crate::codec::{from_cbor, CborError};

/// The first bytes of every snapshot.
pub const MAGIC: [u8; 8] = *b"BACSNAP\0";
/// The format version written (and the newest one read).
pub const FORMAT_VERSION: u8 = crate::error::SNAPSHOT_FORMAT_VERSION;

const HEADER: usize = MAGIC.len() + 2;
const TRAILER: usize = 4;

pub use crate::error::SnapshotError;

// The error's messages quote the framing's size; it is defined beside the error.
const _: () = assert!(HEADER + TRAILER == crate::error::SNAPSHOT_FRAMING);

const fn kind_byte(kind: StoreKind) -> u8 {
    match kind {
        StoreKind::Compute => 1,
        StoreKind::Requester => 2,
    }
}

/// Frames an encoded body.
pub(crate) fn encode<T: Serialize>(kind: StoreKind, body: &T) -> Result<Vec<u8>, crate::error::StorageError> {
    let mut head = Vec::with_capacity(4096);
    head.extend_from_slice(&MAGIC);
    head.push(FORMAT_VERSION);
    head.push(kind_byte(kind));
    let mut sink = crate::limits::CborSink { n: 0, limit: usize::MAX, buf: Some(head) };
    ciborium::into_writer(body, &mut sink).map_err(encode_error)?;
    let mut out = sink.buf.unwrap_or_default();
    let crc = CRC32.checksum(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    Ok(out)
}

/// The message of an encoding error. ciborium's `Display` is its `Debug`, which would link
/// `Debug`-quoting of strings (Unicode tables) into the wasm package for this one message.
#[cold]
fn encode_error<E>(e: ciborium::ser::Error<E>) -> crate::error::StorageError {
    let detail = match e {
        ciborium::ser::Error::Value(msg) => msg,
        ciborium::ser::Error::Io(_) => "the value is too large".into(),
    };
    crate::error::StorageError::Encode { detail }
}

/// `value` as CBOR, written by the same encoder instantiation as size checks and snapshot export
/// ([`crate::limits::CborSink`]), so a caller that needs a record's bytes (the wasm bindings
/// hand them to JavaScript) adds no second copy of any record's serializer to a binary.
pub fn to_cbor<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, crate::error::StorageError> {
    let mut sink = crate::limits::CborSink { n: 0, limit: usize::MAX, buf: Some(Vec::with_capacity(1024)) };
    ciborium::into_writer(value, &mut sink).map_err(encode_error)?;
    Ok(sink.buf.unwrap_or_default())
}

/// `Deserialize` for a snapshot body: a map holding every one of these fields (unknown keys
/// skipped, a duplicate or missing field refused, with serde's messages), decoded in place
/// through [`crate::model::visit_fields`]. serde's derive also reads a sequence positionally and
/// keeps each field in its own optional local, dropped separately on every error path: for two
/// bodies of Vec fields that was most of the wasm package's snapshot import code. Bodies are only
/// ever written as maps. Tests compare it with a derived twin on map input (`$twin`).
macro_rules! body_deserialize {
    ($ty:ident, $name:literal, $twin:ident { $($i:literal $field:ident: $fty:ty = $key:literal),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const FIELDS: &[&str] = &[$($key),+];
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                        f.write_str(concat!("struct ", $name))
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        use serde::de::Error as _;
                        let mut out = <$ty as Default>::default();
                        let seen = crate::model::visit_fields(&mut map, FIELDS, |i, map| {
                            match i {
                                $($i => out.$field = map.next_value::<$fty>()?,)+
                                _ => {}
                            }
                            Ok(())
                        })?;
                        match (0..FIELDS.len()).find(|i| seen & (1 << i) == 0) {
                            Some(i) => Err(A::Error::missing_field(FIELDS[i])),
                            None => Ok(out),
                        }
                    }
                }
                d.deserialize_struct($name, FIELDS, V)
            }
        }

        /// The derived deserializer of the same fields, which the hand-written one must match
        /// on map input.
        #[cfg(test)]
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename = $name)]
        #[allow(dead_code)]
        pub(crate) struct $twin {
            $(#[serde(rename = $key)] $field: $fty,)+
        }
    };
}
pub(crate) use body_deserialize;

/// Checks the frame and decodes the body.
pub(crate) fn decode<T: DeserializeOwned>(kind: StoreKind, bytes: &[u8]) -> Result<T, SnapshotError> {
    if bytes.len() < HEADER + TRAILER {
        return Err(SnapshotError::Truncated { len: bytes.len() });
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err(SnapshotError::BadMagic);
    }
    let (framed, trailer) = bytes.split_at(bytes.len() - TRAILER);
    let recorded = u32::from_be_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let computed = CRC32.checksum(framed);
    if recorded != computed {
        return Err(SnapshotError::ChecksumMismatch { recorded, computed });
    }
    let version = bytes[MAGIC.len()];
    if version > FORMAT_VERSION || version == 0 {
        return Err(SnapshotError::UnsupportedVersion { found: version });
    }
    let found = bytes[MAGIC.len() + 1];
    if found != kind_byte(kind) {
        return Err(SnapshotError::WrongKind { expected: kind.as_str(), found });
    }
    from_cbor(&framed[HEADER..]).map_err(|e| SnapshotError::Decode { detail: alloc::format!("{e}") })
}

/// Checks a [`body_deserialize!`] type: `snap` encodes and decodes back to itself, and the
/// decoder matches its derived twin on `snap`'s body (a map) and on variations of it: each field
/// missing, duplicated, of the wrong type, an unknown key added, the keys reversed; and a
/// sequence is refused.
#[cfg(test)]
pub(crate) fn assert_body_matches_twin<T, Twin>(name: &str, twin: &str, snap: &T)
where
    T: Serialize + DeserializeOwned + core::fmt::Debug + PartialEq,
    Twin: DeserializeOwned + core::fmt::Debug,
{
    use ciborium::Value;
    let encoded = to_cbor(snap).unwrap();
    assert_eq!(&from_cbor::<T>(&encoded).unwrap(), snap);
    let body: Value = from_cbor(&encoded).unwrap();
    let body = &body;
    let same = |v: &Value| {
        let bytes = to_cbor(v).unwrap();
        let ours = alloc::format!("{:?}", from_cbor::<T>(&bytes));
        let derived = alloc::format!("{:?}", from_cbor::<Twin>(&bytes)).replace(twin, name);
        assert_eq!(ours, derived, "{name} from {v:?}");
    };
    let Value::Map(entries) = body else { panic!("a body is a map") };
    same(body);
    let mut reversed = entries.clone();
    reversed.reverse();
    same(&Value::Map(reversed));
    let mut unknown = entries.clone();
    unknown.insert(1, (Value::Text("later".into()), Value::Bool(true)));
    same(&Value::Map(unknown));
    for i in 0..entries.len() {
        let mut missing = entries.clone();
        missing.remove(i);
        same(&Value::Map(missing));
        let mut twice = entries.clone();
        twice.push(entries[i].clone());
        same(&Value::Map(twice));
        for wrong in [Value::Text("x".into()), Value::Integer(7.into()), Value::Array(alloc::vec![Value::Null])] {
            let mut typed = entries.clone();
            typed[i].1 = wrong;
            same(&Value::Map(typed));
        }
    }
    let values = entries.iter().map(|(_, v)| v.clone()).collect();
    let bytes = to_cbor(&Value::Array(values)).unwrap();
    let err = from_cbor::<T>(&bytes).unwrap_err().to_string();
    assert!(err.contains("invalid type: sequence"), "{err}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn a_framed_body_round_trips_and_any_altered_byte_is_refused() {
        let body = vec![(String::from("a"), 1u64), (String::from("b"), 2)];
        let bytes = encode(StoreKind::Compute, &body).unwrap();
        let back: Vec<(String, u64)> = decode(StoreKind::Compute, &bytes).unwrap();
        assert_eq!(back, body);
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(decode::<Vec<(String, u64)>>(StoreKind::Compute, &bad).is_err(), "byte {i}");
        }
        for len in 0..bytes.len() {
            assert!(decode::<Vec<(String, u64)>>(StoreKind::Compute, &bytes[..len]).is_err(), "len {len}");
        }
        assert!(matches!(
            decode::<Vec<(String, u64)>>(StoreKind::Requester, &bytes),
            Err(SnapshotError::WrongKind { .. })
        ));
    }
}
