//! Unit tests of the journal's failure handling; recovery, power loss and forged frames are in
//! tests/journal.rs and tests/power_loss.rs.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::super::{RedbBackend, RedbOptions};
use super::*;
use crate::kv::{Backend, Durability, ReadTxn, StoreKind, Table, WriteTxn};

const T: Table<String> = Table::new(0, "t");

fn put(b: &RedbBackend, key: &str) -> Result<(), StorageError> {
    let mut w = b.begin_write(Durability::Immediate)?;
    w.put(T, key.as_bytes(), key.to_string())?;
    w.commit()
}

fn get(b: &RedbBackend, key: &str) -> Option<String> {
    b.begin_read().unwrap().get(T, key.as_bytes()).unwrap()
}

/// A journal file in memory whose writes or syncs can be made to fail or slow, counting syncs.
#[derive(Debug, Default, Clone)]
struct Flaky {
    inner: MemoryJournal,
    fail_writes: Arc<AtomicBool>,
    fail_syncs: Arc<AtomicBool>,
    /// Milliseconds each sync takes (a disk whose flush is slow).
    sync_ms: u64,
    syncs: Arc<std::sync::atomic::AtomicU64>,
}

impl JournalFile for Flaky {
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_at(at, buf)
    }
    fn write_at(&self, at: u64, data: &[u8]) -> io::Result<()> {
        if self.fail_writes.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected write failure"));
        }
        self.inner.write_at(at, data)
    }
    fn sync(&self) -> io::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(std::time::Duration::from_millis(self.sync_ms));
        if self.fail_syncs.load(Ordering::SeqCst) {
            return Err(io::Error::other("injected sync failure"));
        }
        Ok(())
    }
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        self.inner.replace(bytes)
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.inner.truncate(len)
    }
}

/// The store file in memory; `fail` makes every write and sync fail.
#[derive(Debug, Default, Clone)]
struct MemFile {
    bytes: Arc<std::sync::RwLock<Vec<u8>>>,
    fail: Arc<AtomicBool>,
}

impl MemFile {
    fn check(&self) -> io::Result<()> {
        match self.fail.load(Ordering::SeqCst) {
            true => Err(io::Error::other("injected store file failure")),
            false => Ok(()),
        }
    }
}

impl ::redb::StorageBackend for MemFile {
    fn len(&self) -> io::Result<u64> {
        Ok(self.bytes.read().unwrap().len() as u64)
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let b = self.bytes.read().unwrap();
        out.copy_from_slice(b.get(offset as usize..offset as usize + out.len()).ok_or(io::ErrorKind::UnexpectedEof)?);
        Ok(())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.check()?;
        self.bytes.write().unwrap().resize(len as usize, 0);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        self.check()
    }
    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.check()?;
        let mut b = self.bytes.write().unwrap();
        b.get_mut(offset as usize..offset as usize + data.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?
            .copy_from_slice(data);
        Ok(())
    }
}

fn open(store: &MemFile, journal: &Flaky) -> RedbBackend {
    RedbBackend::open_with_backend(store.clone(), journal.clone(), StoreKind::Compute, &RedbOptions::default()).unwrap()
}

#[test]
fn a_failed_frame_write_is_uncertain_poisons_the_handle_and_a_reopen_keeps_what_came_before() {
    let (store, journal) = (Default::default(), Flaky::default());
    let b = open(&store, &journal);
    put(&b, "a").unwrap();
    journal.fail_writes.store(true, Ordering::SeqCst);
    let err = put(&b, "b").unwrap_err();
    assert!(matches!(err, StorageError::CommitUncertain { .. }), "{err:?}");
    // The handle refuses every later write instead of guessing what the disk holds.
    journal.fail_writes.store(false, Ordering::SeqCst);
    let again = put(&b, "c").unwrap_err();
    assert_eq!(again.code(), "Storage");
    assert!(again.to_string().contains("reopen the store"), "{again}");
    assert_eq!(get(&b, "a").as_deref(), Some("a"), "reads go on");
    drop(b);

    let r = open(&store, &journal);
    assert_eq!(get(&r, "a").as_deref(), Some("a"));
    assert_eq!(get(&r, "b"), None, "the frame was never written, so the commit did not happen");
    assert_eq!(get(&r, "c"), None, "refused after the poisoning");
    put(&r, "d").unwrap();
    assert_eq!(get(&r, "d").as_deref(), Some("d"), "the reopened store writes again");
}

#[test]
fn a_failed_sync_is_uncertain_and_poisons_the_handle() {
    let (store, journal) = (Default::default(), Flaky::default());
    let b = open(&store, &journal);
    put(&b, "a").unwrap();
    journal.fail_syncs.store(true, Ordering::SeqCst);
    let err = put(&b, "b").unwrap_err();
    assert_eq!(err.code(), "CommitUncertain", "{err}");
    journal.fail_syncs.store(false, Ordering::SeqCst);
    assert_eq!(put(&b, "c").unwrap_err().code(), "Storage", "poisoned");
    // The frame was written (the in-memory file keeps it), so recovery replays it: "uncertain"
    // was the truth.
    drop(b);
    let r = open(&store, &journal);
    assert_eq!(get(&r, "b").as_deref(), Some("b"));
    assert_eq!(get(&r, "c"), None);
}

#[test]
fn a_failed_checkpoint_poisons_the_journal() {
    let (store, journal) = (MemFile::default(), Flaky::default());
    let b = open(&store, &journal);
    put(&b, "a").unwrap();
    store.fail.store(true, Ordering::SeqCst);
    // check_integrity checkpoints first: the durable redb commit fails.
    assert!(b.check_integrity().is_err());
    store.fail.store(false, Ordering::SeqCst);
    // The journal itself refuses further writes, whether or not redb still would.
    let why = b.journal.as_ref().unwrap().lock().poisoned.clone();
    assert!(why.as_deref().is_some_and(|w| w.contains("checkpoint")), "{why:?}");
    let err = put(&b, "b").unwrap_err();
    assert_eq!(err.code(), "Storage", "{err}");
}

#[test]
fn after_a_crash_redb_finds_the_checkpoints_allocator_state_and_runs_no_full_repair() {
    let (store, journal) = (MemFile::default(), Flaky::default());
    let options = RedbOptions { checkpoint_bytes: 8 << 10, ..RedbOptions::default() };
    let b = RedbBackend::open_with_backend(store.clone(), journal.clone(), StoreKind::Compute, &options).unwrap();
    for i in 0..40 {
        put(&b, &format!("key-{i:03}-{}", "x".repeat(400))).unwrap();
    }
    // What a killed process leaves: the bytes as written so far, with checkpoints and frames.
    let image =
        MemFile { bytes: Arc::new(std::sync::RwLock::new(store.bytes.read().unwrap().clone())), ..Default::default() };
    let journal_image = Flaky::default();
    journal_image.replace(&journal.inner.bytes()).unwrap();
    drop(b);

    let repairs = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = repairs.clone();
    let mut builder = ::redb::Builder::new();
    builder.set_repair_callback(move |_| {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    drop(builder.create_with_backend(image.clone()).unwrap());
    assert_eq!(repairs.load(Ordering::SeqCst), 0, "a full repair walked the file");
    let r = RedbBackend::open_with_backend(image, journal_image, StoreKind::Compute, &options).unwrap();
    let last = format!("key-039-{}", "x".repeat(400));
    assert_eq!(get(&r, &last).as_deref(), Some(last.as_str()), "the frames after the last checkpoint were replayed");
}

#[test]
fn every_open_and_journal_error_code_is_distinct_and_documented() {
    use std::path::PathBuf;
    let p = PathBuf::new;
    let journal = [
        JournalError::Missing { store: p(), journal: p() },
        JournalError::NotAJournal { store: p(), journal: p(), store_clean: true },
        JournalError::Foreign { store: p(), journal: p(), found: String::new(), expected: String::new() },
        JournalError::Io { journal: p(), op: "read", source: io::Error::other("x") },
        JournalError::Meta { detail: String::new() },
        JournalError::Replay { journal: p(), detail: String::new() },
    ];
    let mut codes: Vec<&str> = journal.iter().map(JournalError::code).collect();
    for e in &journal {
        match e {
            JournalError::Missing { .. }
            | JournalError::NotAJournal { .. }
            | JournalError::Foreign { .. }
            | JournalError::Io { .. }
            | JournalError::Meta { .. }
            | JournalError::Replay { .. } => {}
        }
    }
    use super::super::OpenError;
    let open = [
        OpenError::InUse { path: p() },
        OpenError::NewerSchema { path: p(), found: 9, supported: 3 },
        OpenError::WrongKind { path: p(), expected: StoreKind::Compute, found: String::new() },
        OpenError::NotAStore { path: p(), found: String::new() },
        OpenError::LegacyBbolt { path: p(), kind: StoreKind::Compute },
        OpenError::Io { path: p(), source: io::Error::other("x") },
        OpenError::Storage { path: p(), detail: String::new() },
    ];
    codes.extend(open.iter().map(OpenError::code));
    let doc = include_str!("../../../error.rs");
    for (i, code) in codes.iter().enumerate() {
        assert!(doc.contains(&format!("`{code}`")), "{code} is not in the table of codes in src/error.rs");
        assert!(!codes[..i].contains(code), "two open errors share the code {code}");
    }
}

#[test]
fn commits_from_several_threads_share_journal_syncs_and_each_returns_durable() {
    const THREADS: u64 = 8;
    const EACH: u64 = 10;
    let (store, journal) = (MemFile::default(), Flaky { sync_ms: 20, ..Flaky::default() });
    let b = RedbBackend::open_with_backend(store.clone(), journal.clone(), StoreKind::Compute, &RedbOptions::default())
        .unwrap();
    let before = journal.syncs.load(Ordering::SeqCst);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let b = &b;
            scope.spawn(move || {
                for i in 0..EACH {
                    put(b, &format!("t{t}-{i}")).unwrap();
                }
            });
        }
    });
    let syncs = journal.syncs.load(Ordering::SeqCst) - before;
    let commits = THREADS * EACH;
    // One thread alone would sync once per commit. While a sync takes 20 ms, the other seven
    // threads write their frames and wait; the next sync covers them all.
    assert!(syncs * 2 <= commits, "{syncs} syncs for {commits} commits: waiting commits did not share syncs");
    // Every commit that returned is durable: a crash image (both files as they are now, the
    // store not closed) recovers them all from the journal's frames.
    let image =
        MemFile { bytes: Arc::new(std::sync::RwLock::new(store.bytes.read().unwrap().clone())), ..Default::default() };
    let journal_image = MemoryJournal::default();
    journal_image.set_bytes(journal.inner.bytes());
    drop(b);
    let r = RedbBackend::open_with_backend(image, journal_image, StoreKind::Compute, &RedbOptions::default()).unwrap();
    for t in 0..THREADS {
        for i in 0..EACH {
            let key = format!("t{t}-{i}");
            assert_eq!(get(&r, &key).as_deref(), Some(key.as_str()), "{key} was acknowledged and is lost");
        }
    }
    println!("{commits} commits from {THREADS} threads took {syncs} journal syncs");
}
