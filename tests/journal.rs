//! The commit journal of the redb backend (src/kv/redb/journal.rs): a durable commit is a synced
//! journal frame plus a redb commit without a sync, and a reopen replays what the file lacks.
//!
//! A crash is simulated by copying the store file and its journal while the store is open and
//! has made no checkpoint: the copy is exactly what a killed process leaves behind (page cache
//! included), so opening the copy must recover every commit that returned. tests/crash.rs does
//! the same with real SIGKILLs.
#![cfg(feature = "redb")]

use std::fs;
use std::path::{Path, PathBuf};

use bacalhau_state::kv::redb::{journal_path, OpenError, RedbBackend, RedbOptions, JOURNAL_CAPACITY};
use bacalhau_state::kv::{Backend, Durability, ReadTxn, StoreKind, Table, WriteTxn};

const T: Table<String> = Table::new(0, "t");

fn open(path: &Path) -> RedbBackend {
    RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default()).unwrap()
}

fn put(b: &RedbBackend, durability: Durability, key: &str, value: &str) {
    let mut w = b.begin_write(durability).unwrap();
    w.put(T, key.as_bytes(), value.to_string()).unwrap();
    w.commit().unwrap();
}

fn delete(b: &RedbBackend, key: &str) {
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    assert!(w.delete(T, key.as_bytes()).unwrap());
    w.commit().unwrap();
}

fn get(b: &RedbBackend, key: &str) -> Option<String> {
    b.begin_read().unwrap().get(T, key.as_bytes()).unwrap()
}

/// What a process killed right now would leave: copies of the store and its journal.
fn crash_copy(path: &Path, to: &Path) -> PathBuf {
    let copy = to.join("copy.redb");
    fs::copy(path, &copy).unwrap();
    fs::copy(journal_path(path), journal_path(&copy)).unwrap();
    copy
}

#[test]
fn commits_made_only_in_the_journal_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    for i in 0..50 {
        put(&b, Durability::Immediate, &format!("k{i:02}"), &format!("v{i}"));
    }
    put(&b, Durability::Immediate, "k07", "changed");
    delete(&b, "k08");
    let copy = crash_copy(&path, dir.path());
    drop(b);

    let r = open(&copy);
    assert_eq!(get(&r, "k00").as_deref(), Some("v0"));
    assert_eq!(get(&r, "k49").as_deref(), Some("v49"));
    assert_eq!(get(&r, "k07").as_deref(), Some("changed"));
    assert_eq!(get(&r, "k08"), None);
    // Recovery checkpointed: the store can be inspected read-only once closed.
    drop(r);
    let ro = RedbBackend::open_read_only(&copy, StoreKind::Compute, &RedbOptions::default()).unwrap();
    assert_eq!(get(&ro, "k49").as_deref(), Some("v49"));
}

#[test]
fn a_torn_last_frame_is_ignored_and_the_frames_before_it_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    put(&b, Durability::Immediate, "b", "2");
    let copy = crash_copy(&path, dir.path());
    drop(b);
    // Damage the last byte of the second frame (its value).
    let journal = journal_path(&copy);
    let mut bytes = fs::read(&journal).unwrap();
    let last = bytes.iter().rposition(|&x| x != 0).unwrap();
    bytes[last] ^= 0xff;
    fs::write(&journal, bytes).unwrap();

    let r = open(&copy);
    assert_eq!(get(&r, "a").as_deref(), Some("1"));
    assert_eq!(get(&r, "b"), None, "a frame failing its checksum was never acknowledged");
    put(&r, Durability::Immediate, "c", "3");
    drop(r);
    let r = open(&copy);
    assert_eq!((get(&r, "a").as_deref(), get(&r, "b"), get(&r, "c").as_deref()), (Some("1"), None, Some("3")));
}

#[test]
fn commits_stay_recoverable_across_checkpoints_when_the_journal_fills() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    // ~200 KiB per commit: the journal fills and starts over about three times.
    let big = "x".repeat(200 << 10);
    let n = (3 * JOURNAL_CAPACITY / (200 << 10)) as usize;
    assert!(n > 200, "{n}");
    for i in 0..n {
        put(&b, Durability::Immediate, &format!("k{i:03}"), &format!("{i}{big}"));
    }
    let copy = crash_copy(&path, dir.path());
    drop(b);
    let r = open(&copy);
    for i in 0..n {
        let v = get(&r, &format!("k{i:03}")).unwrap_or_else(|| panic!("k{i:03} lost"));
        assert!(v.starts_with(&i.to_string()) && v.len() == big.len() + i.to_string().len());
    }
    assert!(
        fs::metadata(journal_path(&copy)).unwrap().len() <= JOURNAL_CAPACITY,
        "the journal never outgrows its capacity"
    );
}

#[test]
fn a_non_durable_commit_is_made_durable_by_the_next_durable_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    put(&b, Durability::None, "b", "2");
    put(&b, Durability::Immediate, "c", "3");
    put(&b, Durability::Immediate, "d", "4");
    let copy = crash_copy(&path, dir.path());
    drop(b);
    let r = open(&copy);
    let got: Vec<_> = ["a", "b", "c", "d"].iter().map(|k| get(&r, k)).collect();
    assert_eq!(got, [Some("1".into()), Some("2".into()), Some("3".into()), Some("4".into())]);
}

#[test]
fn an_empty_durable_commit_makes_the_non_durable_commits_before_it_durable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::None, "a", "1");
    put(&b, Durability::None, "b", "2");
    b.begin_write(Durability::Immediate).unwrap().commit().unwrap();
    let copy = crash_copy(&path, dir.path());
    drop(b);
    let r = open(&copy);
    assert_eq!((get(&r, "a").as_deref(), get(&r, "b").as_deref()), (Some("1"), Some("2")));
}

#[test]
fn a_rolled_back_transaction_writes_no_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    {
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        w.put(T, b"ghost", "boo".to_string()).unwrap();
    }
    put(&b, Durability::Immediate, "c", "3");
    let copy = crash_copy(&path, dir.path());
    drop(b);
    let r = open(&copy);
    assert_eq!((get(&r, "a").as_deref(), get(&r, "ghost"), get(&r, "c").as_deref()), (Some("1"), None, Some("3")));
}

#[test]
fn a_journal_of_another_store_is_refused_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.redb"), dir.path().join("two.redb"));
    open(&one).close().unwrap();
    open(&two).close().unwrap();
    fs::copy(journal_path(&one), journal_path(&two)).unwrap();
    let err = RedbBackend::open(&two, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "JournalForeign", "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("two.redb.journal") && msg.contains("belongs to another store"), "{msg}");

    fs::write(journal_path(&two), b"not a journal at all, just text; long enough to hold a header.....").unwrap();
    let err = RedbBackend::open(&two, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "NotAJournal");
    assert!(err.to_string().contains("not a bacalhau-state journal"), "{err}");
}

#[test]
fn a_read_only_open_refuses_a_store_whose_writer_crashed_until_a_writer_recovered_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    let copy = crash_copy(&path, dir.path());
    drop(b);

    // Either redb refuses the file that needs a repair only a writer may make, or the journal
    // check refuses it; it never shows the state without the journal's commits.
    let err = RedbBackend::open_read_only(&copy, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "Storage", "{err}");
    open(&copy).close().unwrap();
    let ro = RedbBackend::open_read_only(&copy, StoreKind::Compute, &RedbOptions::default()).unwrap();
    assert_eq!(get(&ro, "a").as_deref(), Some("1"));
}

#[test]
fn a_writer_sharing_the_file_with_readers_recovers_the_journal_before_it_writes() {
    // A journaled writer crashes with commits only in its journal; the next writer shares the
    // file with readers (what `simulate` does). It must replay them, not lose them, and the
    // journaled open after it must not replay them again over newer data.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    put(&b, Durability::Immediate, "b", "old");
    let copy = crash_copy(&path, dir.path());
    drop(b);
    let shared = RedbOptions { shared_readers: true, ..RedbOptions::default() };
    let w = RedbBackend::open(&copy, StoreKind::Compute, &shared).unwrap();
    assert_eq!(get(&w, "a").as_deref(), Some("1"), "acknowledged commits survive a shared-readers open");
    put(&w, Durability::Immediate, "b", "new");
    delete(&w, "a");
    // A crash of the shared writer, then a journaled open.
    let again = dir.path().join("again");
    fs::create_dir(&again).unwrap();
    let copy2 = crash_copy(&copy, &again);
    drop(w);
    let r = open(&copy2);
    assert_eq!(get(&r, "b").as_deref(), Some("new"), "old frames are not replayed over newer data");
    assert_eq!(get(&r, "a"), None, "a deleted record does not come back");
}

#[test]
fn a_store_that_was_not_closed_cleanly_and_lost_its_journal_is_refused_naming_both_paths() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    // A backup of the file alone while the store is open: its journal stays behind.
    let copy = dir.path().join("backup.redb");
    fs::copy(&path, &copy).unwrap();
    drop(b);
    let err = RedbBackend::open(&copy, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "JournalMissing", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("backup.redb") && msg.contains("backup.redb.journal") && msg.contains("accept"), "{msg}");
    assert!(!journal_path(&copy).exists(), "nothing was created by the refused open");
    // The caller may accept the loss explicitly.
    let accept = RedbOptions { accept_journal_loss: true, ..RedbOptions::default() };
    let r = RedbBackend::open(&copy, StoreKind::Compute, &accept).unwrap();
    put(&r, Durability::Immediate, "b", "2");
    drop(r);
    // Closed cleanly now: a missing journal loses nothing and is simply recreated.
    fs::remove_file(journal_path(&copy)).unwrap();
    assert_eq!(get(&open(&copy), "b").as_deref(), Some("2"));
}

#[test]
fn a_foreign_journal_beside_a_store_that_was_not_closed_cleanly_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.redb"), dir.path().join("two.redb"));
    open(&one).close().unwrap();
    let b = open(&two);
    put(&b, Durability::Immediate, "a", "1");
    let copy = dir.path().join("copy.redb");
    fs::copy(&two, &copy).unwrap();
    fs::copy(journal_path(&one), journal_path(&copy)).unwrap();
    drop(b);
    let err = RedbBackend::open(&copy, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "JournalForeign", "{err}");
    assert!(matches!(err, OpenError::Journal { .. }));
    assert!(err.to_string().contains("copy.redb.journal"), "{err}");
}

#[test]
fn a_read_only_open_reports_an_unreadable_journal_instead_of_assuming_nothing_is_pending() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    open(&path).close().unwrap();
    fs::remove_file(journal_path(&path)).unwrap();
    fs::create_dir(journal_path(&path)).unwrap();
    let err = RedbBackend::open_read_only(&path, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "JournalIo", "{err}");
}

#[test]
fn a_journal_left_by_a_deleted_store_is_replaced_when_a_new_store_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    put(&b, Durability::Immediate, "a", "1");
    drop(b);
    fs::remove_file(&path).unwrap();
    let b = open(&path);
    assert_eq!(get(&b, "a"), None, "nothing of the deleted store comes back");
    put(&b, Durability::Immediate, "b", "2");
    let copy = crash_copy(&path, dir.path());
    drop(b);
    assert_eq!(get(&open(&copy), "b").as_deref(), Some("2"));
}

#[test]
fn a_clean_close_gives_back_the_space_of_a_grown_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    let initial = fs::metadata(journal_path(&path)).unwrap().len();
    let big = "x".repeat(256 << 10);
    for i in 0..4 {
        put(&b, Durability::Immediate, &format!("k{i}"), &big);
    }
    assert!(fs::metadata(journal_path(&path)).unwrap().len() > initial, "frames grew the journal");
    b.close().unwrap();
    assert_eq!(fs::metadata(journal_path(&path)).unwrap().len(), initial);
    let b = open(&path);
    assert_eq!(get(&b, "k3").map(|v| v.len()), Some(big.len()));
}

#[test]
fn closing_a_compacted_store_keeps_it_compacted_and_the_next_write_marks_it_open_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let b = open(&path);
    // Megabytes kept after the deletions: redb grows a file that size by a region.
    let value = "x".repeat(4 << 10);
    for i in 0..3000 {
        put(&b, Durability::None, &format!("k{i:04}"), &value);
    }
    b.begin_write(Durability::Immediate).unwrap().commit().unwrap();
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    for i in 0..1500 {
        assert!(w.delete(T, format!("k{i:04}").as_bytes()).unwrap());
    }
    w.commit().unwrap();
    assert!(b.compact().unwrap(), "the deletions left space to reclaim");
    let compacted = fs::metadata(&path).unwrap().len();
    b.close().unwrap();
    // redb's own close records its allocator state (a few pages); a commit of ours after the
    // compaction would make redb grow the file by a region instead.
    let closed = fs::metadata(&path).unwrap().len();
    assert!(closed <= compacted + (32 << 10), "the close grew the compacted file from {compacted} to {closed} bytes");

    // The compaction recorded a clean close; a write after it must record the store as open
    // again before it is acknowledged, or a copy of the file alone would pass for a clean one.
    let b = open(&path);
    b.compact().unwrap();
    put(&b, Durability::Immediate, "after", "compaction");
    let copy = dir.path().join("backup.redb");
    fs::copy(&path, &copy).unwrap();
    drop(b);
    let err = RedbBackend::open(&copy, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "JournalMissing", "{err}");
    assert_eq!(get(&open(&path), "after").as_deref(), Some("compaction"));
}
