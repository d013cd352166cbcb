//! Size limits on everything a caller can store. JS callers and network peers can send anything,
//! and a store must not let one request grow a node's file without bound: an oversized record or
//! argument is refused with a typed error (`Validation` for records, `InvalidArgument` for
//! request fields) before anything is written.
//!
//! | What | Limit |
//! |---|---|
//! | IDs (job, execution, evaluation, node), namespaces, checkpoint names | 512 bytes |
//! | job and execution names, label and meta keys | 1 KiB |
//! | label and meta values | 16 KiB |
//! | labels or meta entries per record | 1,024 |
//! | comments and state messages | 64 KiB |
//! | a whole record, encoded | 4 MiB |

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use serde::Serialize;

/// Bytes in an ID, namespace or checkpoint name.
pub const MAX_ID: usize = 512;
/// Bytes in a name, label key or meta key.
pub const MAX_NAME: usize = 1024;
/// Bytes in a label or meta value.
pub const MAX_VALUE: usize = 16 * 1024;
/// Entries in a labels or meta map.
pub const MAX_ENTRIES: usize = 1024;
/// Bytes in a comment or state message.
pub const MAX_MESSAGE: usize = 64 * 1024;
/// Bytes of a whole record in the store's encoding.
pub const MAX_RECORD: usize = 4 * 1024 * 1024;

/// Appends a problem when `value` is longer than `max`.
pub(crate) fn check_len(problems: &mut Vec<String>, what: &str, value: &str, max: usize) {
    if value.len() > max {
        problems.push(format!("{what} is {} bytes; the limit is {max}", value.len()));
    }
}

/// Appends problems for an oversized string map.
pub(crate) fn check_map(problems: &mut Vec<String>, what: &str, map: &alloc::collections::BTreeMap<String, String>) {
    if map.len() > MAX_ENTRIES {
        problems.push(format!("{what} has {} entries; the limit is {MAX_ENTRIES}", map.len()));
        return;
    }
    for (k, v) in map {
        check_len(problems, &format!("{what} key"), k, MAX_NAME);
        check_len(problems, &format!("{what} value of {:.40}", k), v, MAX_VALUE);
    }
}

/// The one CBOR writer of the core: it counts bytes, keeps them when asked to, and stops the
/// encoder once past its limit, so a 100 MB record costs about `MAX_RECORD` bytes of work to
/// refuse. Size checks and snapshot export share this type so every record's encoder is compiled
/// once (that matters for the wasm package).
pub(crate) struct CborSink {
    pub n: usize,
    pub limit: usize,
    pub buf: Option<Vec<u8>>,
}

impl CborSink {
    fn take(&mut self, data: &[u8]) -> bool {
        self.n += data.len();
        if let Some(buf) = self.buf.as_mut() {
            // Most writes are a header's one byte; in the size-optimised wasm build
            // `extend_from_slice` is three calls deep for them.
            match data {
                [b] => buf.push(*b),
                _ => buf.extend_from_slice(data),
            }
        }
        self.n <= self.limit
    }
}

#[derive(Debug)]
pub(crate) struct TooLarge;

impl core::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("record too large")
    }
}

#[cfg(feature = "std")]
impl std::io::Write for CborSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.take(buf) {
            return Err(std::io::Error::other(TooLarge.to_string()));
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(not(feature = "std"))]
impl ciborium_io::Write for CborSink {
    type Error = TooLarge;
    fn write_all(&mut self, data: &[u8]) -> Result<(), TooLarge> {
        if !self.take(data) {
            return Err(TooLarge);
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<(), TooLarge> {
        Ok(())
    }
}

/// Appends a problem when the record encodes to more than [`MAX_RECORD`] bytes.
pub(crate) fn check_record<T: Serialize>(problems: &mut Vec<String>, record: &T) {
    let mut c = CborSink { n: 0, limit: MAX_RECORD, buf: None };
    if ciborium::into_writer(record, &mut c).is_err() || c.n > MAX_RECORD {
        problems.push(format!("the record encodes to more than {MAX_RECORD} bytes (the limit)"));
    }
}
