//! A user who submits a job cannot make the store's crash recovery write anything: bytes that
//! parse as a journal frame, planted inside a label, are never replayed.
//!
//! The attack, through the public `JobStore` API only, as someone with a copy of the software
//! would rehearse it: a job's label is copied verbatim into the journal frame that makes its
//! creation durable; after a checkpoint the journal is reused from its start, so the label's
//! bytes stay behind the next, shorter frame. If they sit exactly where that frame ends and
//! carry the next sequence number and a valid checksum, a recovery that trusted them would
//! apply their changes: here, delete another user's job and put a row into the store. The test
//! learns the offsets from a rehearsal run, builds the label for the journal format it finds
//! (an unsalted version-1 frame where that format is used; salted version-2 frames with guessed
//! salts otherwise, both where the next frame would start and past the zeros written after the
//! last frame), crashes the store and reopens it.
#![cfg(feature = "redb")]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use bacalhau_state::kv::redb::{journal_path, RedbBackend, RedbOptions};
use bacalhau_state::kv::StoreKind;
use bacalhau_state::model::{Job, Task};
use bacalhau_state::{JobStore, StoreBuilder};

/// The label's length: one value, under the 16 KiB limit for a label value.
const LABEL: usize = 6_000;

fn open(path: &Path) -> JobStore<RedbBackend> {
    StoreBuilder::new().jobs(RedbBackend::open(path, StoreKind::Requester, &RedbOptions::default()).unwrap())
}

fn job(id: &str, label: &str) -> Job {
    Job {
        id: id.into(),
        name: id.into(),
        namespace: "default".into(),
        job_type: "batch".into(),
        count: 1,
        tasks: vec![Task::new("main", "docker")],
        labels: BTreeMap::from([("note".to_string(), label.to_string())]),
        ..Default::default()
    }
}

/// What a killed process leaves: copies of the store file and its journal.
fn crash_copy(path: &Path, to: &Path, name: &str) -> PathBuf {
    let copy = to.join(name);
    fs::copy(path, &copy).unwrap();
    fs::copy(journal_path(path), journal_path(&copy)).unwrap();
    copy
}

/// The attack's steps: the attacker's job, a checkpoint, the victim's job, a crash.
fn run(dir: &Path, name: &str, label: &str) -> (PathBuf, PathBuf) {
    let path = dir.join(format!("{name}.redb"));
    let store = open(&path);
    store.create_job(job("attacker", label)).unwrap();
    let after_attacker = crash_copy(&path, dir, &format!("{name}-a.redb"));
    // Any checkpoint will do (a full journal, compaction, an integrity check).
    store.backend().check_integrity().unwrap();
    store.create_job(job("victim", "harmless")).unwrap();
    let crashed = crash_copy(&path, dir, &format!("{name}-crash.redb"));
    drop(store);
    (after_attacker, crashed)
}

/// Format, sequence number and body length of the first frame of a journal.
fn first_frame(journal: &[u8]) -> (u8, u64, usize) {
    let word = |at: usize| u32::from_le_bytes(journal[at..at + 4].try_into().unwrap()) as usize;
    let long = |at: usize| u64::from_le_bytes(journal[at..at + 8].try_into().unwrap());
    match &journal[..8] {
        b"BSJRNL01" => (1, long(64 + 8), word(64)),
        b"BSJRNL02" => (2, long(64), word(64 + 16)),
        other => panic!("unknown journal magic {other:?}"),
    }
}

/// A frame body: delete the victim's job record, put a row into a table of our own.
fn body(nonce: usize) -> Vec<u8> {
    let mut b = Vec::new();
    let mut change = |op: u8, table: &str, key: &[u8], value: Option<&[u8]>| {
        b.push(op);
        b.push(table.len() as u8);
        b.extend_from_slice(table.as_bytes());
        b.extend_from_slice(&(key.len() as u32).to_le_bytes());
        b.extend_from_slice(key);
        if let Some(v) = value {
            b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            b.extend_from_slice(v);
        }
    };
    change(2, "jobs", b"victim\x00\x01", None);
    change(1, "pwned", b"k", Some(format!("owned {nonce:04}").as_bytes()));
    b
}

/// A version-1 frame (`len, crc32(seq, body), seq`) whose every byte is ASCII, so that it is
/// valid UTF-8 inside a label: the nonce is varied until the checksum's bytes are.
fn forged_v1(seq: u64) -> Vec<u8> {
    const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    (0..)
        .map(|nonce| {
            let body = body(nonce);
            let mut d = CRC32.digest();
            d.update(&seq.to_le_bytes());
            d.update(&body);
            let mut f = (body.len() as u32).to_le_bytes().to_vec();
            f.extend_from_slice(&d.finalize().to_le_bytes());
            f.extend_from_slice(&seq.to_le_bytes());
            f.extend_from_slice(&body);
            f
        })
        .find(|f| f.is_ascii())
        .unwrap()
}

/// A version-2 frame with a guessed salt (the attacker never sees the real one) and a guessed
/// journal ID under its CRC-64, ASCII throughout.
fn forged_v2(seq: u64, salt: u64, id: &[u8; 16]) -> Vec<u8> {
    const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);
    (0..)
        .map(|nonce| {
            let body = body(nonce);
            let mut f = seq.to_le_bytes().to_vec();
            f.extend_from_slice(&salt.to_le_bytes());
            f.extend_from_slice(&(body.len() as u32).to_le_bytes());
            f.extend_from_slice(&[0; 4]);
            let mut d = CRC64.digest();
            d.update(id);
            d.update(&f);
            d.update(&body);
            f.extend_from_slice(&d.finalize().to_le_bytes());
            f.extend_from_slice(&body);
            f
        })
        .find(|f| f.is_ascii())
        .unwrap()
}

#[test]
fn a_label_shaped_as_the_next_journal_frame_is_never_replayed_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // Rehearsal: where the label lands in the attacker's frame, where the victim's frame ends.
    let marker = format!("MARK{}", "q".repeat(LABEL - 4));
    let (after_attacker, crashed) = run(dir.path(), "rehearsal", &marker);
    let first = fs::read(journal_path(&after_attacker)).unwrap();
    let label_at = first.windows(4).position(|w| w == b"MARK").expect("the label is in the frame");
    let (format, victim_seq, victim_len) = first_frame(&fs::read(journal_path(&crashed)).unwrap());
    let head = if format == 1 { 16 } else { 32 };
    let victim_end = 64 + head + victim_len;
    assert!(label_at < victim_end, "the label starts before the victim's frame ends ({label_at} vs {victim_end})");

    // The label: filler, with forged frames where the recovery would look for the next one.
    let mut label = vec![b'z'; LABEL];
    let mut plant = |at: usize, frame: &[u8]| {
        let k = at - label_at;
        label[k..k + frame.len()].copy_from_slice(frame);
    };
    if format == 1 {
        plant(victim_end, &forged_v1(victim_seq + 1));
    } else {
        let id: [u8; 16] = first[8..24].try_into().unwrap();
        let guess = u64::from_le_bytes(*b"saltsalt");
        plant(victim_end, &forged_v2(victim_seq + 1, guess, &id));
        // Past the zeros written after the victim's frame (as if they were torn away).
        plant(victim_end + 32, &forged_v2(victim_seq + 1, guess ^ 1, &id));
    }
    let label = String::from_utf8(label).expect("ASCII");

    let (_, crashed) = run(dir.path(), "attack", &label);
    let store = open(&crashed);
    assert!(store.get_job("victim").is_ok(), "the victim's job survived the recovery");
    assert!(store.get_job("attacker").is_ok());
    let report = store.check().unwrap();
    assert!(report.problems.is_empty(), "check after recovery: {:?}", report.problems);
    drop(store);
    // Nothing outside the store's own tables was written.
    let db = redb::Database::open(&crashed).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    use redb::TableHandle;
    let tables: Vec<String> = txn.list_tables().unwrap().map(|t| t.name().to_string()).collect();
    assert!(!tables.iter().any(|t| t == "pwned"), "a planted frame was replayed: tables {tables:?}");
}
