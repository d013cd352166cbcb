//! Frames: how one transaction's changes are laid out in the journal, checksummed, found again
//! and applied.
//!
//! A frame (version 2, [`FRAME_HEAD`] = 32 bytes of head, then the body):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0..8 | `seq: u64 LE`, the frame's sequence number (never 0) |
//! | 8..16 | `salt: u64 LE`, the journal generation's salt |
//! | 16..20 | `len: u32 LE`, body bytes |
//! | 20..24 | zero |
//! | 24..32 | `checksum: u64 LE`, CRC-64/XZ of (the journal ID, bytes 0..24, the body) |
//!
//! The body is a sequence of changes: `1, table_len: u8, table, key_len: u32 LE, key,
//! value_len: u32 LE, value` (put; the value exactly as stored in redb) or `2, table_len: u8,
//! table, key_len: u32 LE, key` (delete). Every frame is written together with [`FRAME_HEAD`]
//! zero bytes after it, so the byte after the last frame of a write reads as "no frame".
//!
//! A frame is valid only if its sequence number is the next one expected, its salt is the
//! current generation's, the reserved bytes are zero, it lies inside the file, its checksum
//! matches and its body parses into changes of the store's own tables (never `meta`). The first
//! frame that is not valid is the end of the log, whatever follows it.

use ::redb::{TableDefinition, WriteTransaction};

use super::file::JournalFile;
use super::{HEADER_LEN, ID_LEN};

/// Frames found by a scan: sequence numbers and bodies, in order.
pub(super) type Frames = Vec<(u64, Vec<u8>)>;

/// Bytes of a frame's head.
pub const FRAME_HEAD: usize = 32;
const PUT: u8 = 1;
const DELETE: u8 = 2;

/// Version-1 frames (`len: u32, crc32: u32, seq: u64`, then the body), read only to recover a
/// journal left by a crash of a writer that used them.
const V1_HEAD: usize = 16;

/// Appends changes of one transaction in the frame body encoding.
#[derive(Default)]
pub(in crate::kv::redb) struct Changes {
    body: Vec<u8>,
}

impl Changes {
    pub fn put(&mut self, table: &str, key: &[u8], value: &[u8]) {
        self.head(PUT, table, key);
        self.body.extend_from_slice(&len32(value.len()).to_le_bytes());
        self.body.extend_from_slice(value);
    }

    pub fn delete(&mut self, table: &str, key: &[u8]) {
        self.head(DELETE, table, key);
    }

    fn head(&mut self, op: u8, table: &str, key: &[u8]) {
        debug_assert!(
            !table.is_empty() && table.len() <= usize::from(u8::MAX),
            "table names are the store's constants"
        );
        debug_assert!(table != super::super::META_TABLE, "meta is written only by durable redb commits");
        self.body.push(op);
        self.body.push(table.len() as u8);
        self.body.extend_from_slice(table.as_bytes());
        self.body.extend_from_slice(&len32(key.len()).to_le_bytes());
        self.body.extend_from_slice(key);
    }

    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }

    /// Bytes this transaction's frame takes in the journal, with the zeros written after it.
    pub fn frame_len(&self) -> u64 {
        (2 * FRAME_HEAD + self.body.len()) as u64
    }
}

/// Keys and values are bounded by the store's limits (src/limits.rs) and by redb's far below
/// 4 GiB; a transaction holds at most a few thousand of them.
fn len32(len: usize) -> u32 {
    u32::try_from(len).expect("a key or value of 4 GiB or more never reaches the journal")
}

/// What makes a frame belong to one journal generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Generation<'a> {
    pub id: &'a [u8; ID_LEN],
    pub salt: u64,
}

/// Writes the frame of `changes` with sequence number `seq`, and [`FRAME_HEAD`] zeros after it,
/// into `out` (cleared first).
pub(super) fn encode(out: &mut Vec<u8>, generation: Generation<'_>, seq: u64, changes: &Changes) {
    debug_assert!(seq > 0 && !changes.is_empty());
    out.clear();
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&generation.salt.to_le_bytes());
    out.extend_from_slice(&len32(changes.body.len()).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    let sum = checksum(generation.id, &out[..24], &changes.body);
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(&changes.body);
    out.extend_from_slice(&[0; FRAME_HEAD]);
    debug_assert_eq!(out.len() as u64, changes.frame_len());
}

const CRC64: crc::Crc<u64, crc::Table<16>> = crc::Crc::<u64, crc::Table<16>>::new(&crc::CRC_64_XZ);

fn checksum(id: &[u8; ID_LEN], head: &[u8], body: &[u8]) -> u64 {
    let mut digest = CRC64.digest();
    digest.update(id);
    digest.update(head);
    digest.update(body);
    digest.finalize()
}

/// The valid frames of `generation` after sequence number `applied`, in order, with their
/// bodies.
pub(super) fn scan(file: &dyn JournalFile, generation: Generation<'_>, applied: u64) -> std::io::Result<Frames> {
    let size = file.size()?;
    let mut frames = Vec::new();
    let (mut pos, mut expect) = (HEADER_LEN, applied + 1);
    let mut head = [0u8; FRAME_HEAD];
    while pos + FRAME_HEAD as u64 <= size {
        file.read_at(pos, &mut head)?;
        let seq = u64::from_le_bytes(head[0..8].try_into().expect("8 bytes"));
        let salt = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes"));
        let len = u64::from(u32::from_le_bytes(head[16..20].try_into().expect("4 bytes")));
        let sum = u64::from_le_bytes(head[24..32].try_into().expect("8 bytes"));
        let end = pos + FRAME_HEAD as u64 + len;
        if seq != expect || salt != generation.salt || head[20..24] != [0; 4] || len == 0 || end > size {
            break;
        }
        let mut body = vec![0u8; len as usize];
        file.read_at(pos + FRAME_HEAD as u64, &mut body)?;
        if checksum(generation.id, &head[..24], &body) != sum || !parses(&body) {
            break;
        }
        frames.push((seq, body));
        pos = end;
        expect += 1;
    }
    Ok(frames)
}

/// [`scan`] for a version-1 journal: frames checksummed with an unkeyed CRC-32 of (seq, body).
pub(super) fn scan_v1(file: &dyn JournalFile, applied: u64) -> std::io::Result<Frames> {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let size = file.size()?;
    let mut frames = Vec::new();
    let (mut pos, mut expect) = (HEADER_LEN, applied + 1);
    let mut head = [0u8; V1_HEAD];
    while pos + V1_HEAD as u64 <= size {
        file.read_at(pos, &mut head)?;
        let len = u64::from(u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")));
        let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
        let seq = u64::from_le_bytes(head[8..16].try_into().expect("8 bytes"));
        if seq != expect || pos + V1_HEAD as u64 + len > size {
            break;
        }
        let mut body = vec![0u8; len as usize];
        file.read_at(pos + V1_HEAD as u64, &mut body)?;
        let mut digest = CRC32.digest();
        digest.update(&seq.to_le_bytes());
        digest.update(&body);
        if digest.finalize() != crc || !parses(&body) {
            break;
        }
        frames.push((seq, body));
        pos += V1_HEAD as u64 + len;
        expect += 1;
    }
    Ok(frames)
}

/// One change of a frame body.
enum Change<'a> {
    Put { table: &'a str, key: &'a [u8], value: &'a [u8] },
    Delete { table: &'a str, key: &'a [u8] },
}

/// Splits the first change off `body`; `None` if it does not parse.
fn next_change(body: &[u8]) -> Option<(Change<'_>, &[u8])> {
    let (&op, rest) = body.split_first()?;
    let (table, rest) = take_prefixed(rest, 1)?;
    let table = std::str::from_utf8(table).ok().filter(|t| !t.is_empty() && *t != super::super::META_TABLE)?;
    let (key, rest) = take_prefixed(rest, 4)?;
    match op {
        PUT => {
            let (value, rest) = take_prefixed(rest, 4)?;
            Some((Change::Put { table, key, value }, rest))
        }
        DELETE => Some((Change::Delete { table, key }, rest)),
        _ => None,
    }
}

/// Whether `body` is a non-empty sequence of well-formed changes.
fn parses(mut body: &[u8]) -> bool {
    if body.is_empty() {
        return false;
    }
    while !body.is_empty() {
        match next_change(body) {
            Some((_, rest)) => body = rest,
            None => return false,
        }
    }
    true
}

/// Applies a body that [`scan`] accepted.
pub(super) fn apply(txn: &WriteTransaction, mut body: &[u8]) -> Result<(), ::redb::Error> {
    while !body.is_empty() {
        let (change, rest) = next_change(body).expect("scan accepts only bodies that parse");
        match change {
            Change::Put { table, key, value } => {
                txn.open_table(TableDefinition::<&[u8], &[u8]>::new(table))?.insert(key, value)?;
            }
            Change::Delete { table, key } => {
                txn.open_table(TableDefinition::<&[u8], &[u8]>::new(table))?.remove(key)?;
            }
        }
        body = rest;
    }
    Ok(())
}

/// Splits off a length-prefixed field (`width` = 1 or 4 bytes of little-endian length).
fn take_prefixed(bytes: &[u8], width: usize) -> Option<(&[u8], &[u8])> {
    let (len, rest) = bytes.split_at_checked(width)?;
    let len = match width {
        1 => usize::from(len[0]),
        _ => u32::from_le_bytes(len.try_into().ok()?) as usize,
    };
    rest.split_at_checked(len)
}
