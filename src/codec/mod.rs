//! Encodings written by hand, each for a measured reason (see README.md beside this file): the
//! CBOR slice decoder every core read goes through, the compact array and ID forms of stored
//! values, and the base64url codec of page tokens.

use serde::de::DeserializeOwned;

pub(crate) mod base64url;
mod cbor;
pub(crate) mod compact;

/// The error of [`from_cbor`]: the variants of ciborium's decoding error for a byte slice, with a
/// readable message (see `cbor.rs`).
pub type CborError = cbor::Error;

/// CRC-32 (IEEE, as zlib and crc32fast compute it) with a single 1 KiB table: snapshots and
/// page tokens are not hot paths, and the 16 KiB slice-by-16 tables would weigh on the wasm
/// package.
pub(crate) const CRC32: crc::Crc<u32, crc::Table<1>> = crc::Crc::<u32, crc::Table<1>>::new(&crc::CRC_32_ISO_HDLC);

/// Decodes one CBOR item as a `T`, exactly as `ciborium::from_reader(bytes)` does (same values,
/// same errors but for how a non-integral float is named in a message, see [`CborError`];
/// trailing bytes are ignored), with a decoder built for code size: every CBOR the
/// core reads goes through it (snapshot bodies, and the wasm bindings' arguments), so each type's
/// deserializer is compiled once and small. See `cbor.rs`.
pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CborError> {
    T::deserialize(&mut cbor::Decoder::new(bytes))
}
