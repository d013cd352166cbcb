//! The redb backend against the backend contract (shared with the memory backend), and the
//! properties only a file can have: persistence, metadata checks, foreign files left untouched,
//! locking across handles and processes, permissions.
#![cfg(feature = "redb")]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::ops::Bound::{self, Excluded, Included, Unbounded};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use bacalhau_state::error::StorageError;
use bacalhau_state::kv::memory::MemoryBackend;
use bacalhau_state::kv::redb::{OpenError, RedbBackend, RedbOptions};
use bacalhau_state::kv::{Backend, Direction, Durability, KeyRange, ReadTxn, StoreKind, Table, WriteTxn};

const T: Table<String> = Table::new(0, "t");
const U: Table<u64> = Table::new(1, "u");
const RAW: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("t");
const RAW_META: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("meta");

fn options(lock_timeout: Duration) -> RedbOptions {
    RedbOptions { lock_timeout, ..RedbOptions::default() }
}

fn open(path: &Path) -> RedbBackend {
    RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default()).unwrap()
}

fn s(v: &str) -> String {
    v.to_string()
}

fn collect<B: ReadTxn>(txn: &B, start: Bound<&[u8]>, end: Bound<&[u8]>, dir: Direction) -> Vec<String> {
    let mut seen = Vec::new();
    txn.scan(T, KeyRange { start, end }, dir, &mut |k, v| {
        assert_eq!(k, v.as_bytes(), "key and value travel together");
        seen.push(v);
        Ok(true)
    })
    .unwrap();
    let mut keys = Vec::new();
    txn.scan_keys(T, KeyRange { start, end }, dir, &mut |k| {
        keys.push(String::from_utf8(k.to_vec()).unwrap());
        Ok(true)
    })
    .unwrap();
    assert_eq!(keys, seen, "scan_keys visits the keys scan visits");
    seen
}

/// The observable semantics every backend must share.
fn backend_contract(b: &impl Backend) {
    // Tables never written read as empty.
    {
        let r = b.begin_read().unwrap();
        assert_eq!(r.get(T, b"a").unwrap(), None);
        assert!(collect(&r, Unbounded, Unbounded, Direction::Forward).is_empty());
    }

    // put / get / overwrite / delete, and a write transaction reads its own writes.
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    for k in ["a", "b", "c", "d", "e"] {
        w.put(T, k.as_bytes(), s(k)).unwrap();
    }
    w.put(U, b"n", 1).unwrap();
    w.put(U, b"n", 2).unwrap();
    assert_eq!(w.get(U, b"n").unwrap(), Some(2));
    w.put(U, b"gone", 9).unwrap();
    assert!(w.delete(U, b"gone").unwrap());
    assert!(!w.delete(U, b"gone").unwrap());
    assert!(!w.delete(U, b"never").unwrap());
    assert_eq!(collect(&w, Unbounded, Unbounded, Direction::Forward), ["a", "b", "c", "d", "e"]);
    w.commit().unwrap();

    // Committed data is visible to a new read transaction.
    let r = b.begin_read().unwrap();
    assert_eq!(r.get(T, b"c").unwrap(), Some(s("c")));
    assert_eq!(r.get(U, b"n").unwrap(), Some(2));
    assert_eq!(r.get(U, b"gone").unwrap(), None);

    // Every bound kind, both directions.
    let (b_, d_) = (&b"b"[..], &b"d"[..]);
    type Case<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>, &'a [&'a str]);
    let cases: [Case<'_>; 9] = [
        (Unbounded, Unbounded, &["a", "b", "c", "d", "e"]),
        (Included(b_), Unbounded, &["b", "c", "d", "e"]),
        (Excluded(b_), Unbounded, &["c", "d", "e"]),
        (Unbounded, Included(d_), &["a", "b", "c", "d"]),
        (Unbounded, Excluded(d_), &["a", "b", "c"]),
        (Included(b_), Included(d_), &["b", "c", "d"]),
        (Included(b_), Excluded(d_), &["b", "c"]),
        (Excluded(b_), Included(d_), &["c", "d"]),
        (Excluded(b_), Excluded(d_), &["c"]),
    ];
    for (start, end, expected) in cases {
        assert_eq!(collect(&r, start, end, Direction::Forward), expected, "{start:?}..{end:?}");
        let mut reversed: Vec<&str> = expected.to_vec();
        reversed.reverse();
        assert_eq!(collect(&r, start, end, Direction::Reverse), reversed, "{start:?}..{end:?} reversed");
    }
    // Bounds between stored keys.
    assert_eq!(collect(&r, Included(b"bb"), Excluded(b"dd"), Direction::Forward), ["c", "d"]);

    // Inverted and empty ranges are empty, never a panic.
    let x = &b"x"[..];
    for (start, end) in [
        (Included(d_), Included(b_)),
        (Included(d_), Excluded(b_)),
        (Excluded(d_), Excluded(b_)),
        (Included(b_), Excluded(b_)),
        (Excluded(b_), Included(b_)),
        (Excluded(b_), Excluded(b_)),
        (Included(x), Unbounded),
    ] {
        for dir in [Direction::Forward, Direction::Reverse] {
            assert!(collect(&r, start, end, dir).is_empty(), "{start:?}..{end:?}");
        }
    }
    assert_eq!(collect(&r, Included(b_), Included(b_), Direction::Forward), ["b"]);

    // Early stop, both directions, values and keys.
    for (dir, expected) in [(Direction::Forward, ["a", "b"]), (Direction::Reverse, ["e", "d"])] {
        let mut seen = Vec::new();
        r.scan(T, KeyRange::ALL, dir, &mut |_, v| {
            seen.push(v);
            Ok(seen.len() < 2)
        })
        .unwrap();
        assert_eq!(seen, expected);
        let mut count = 0;
        r.scan_keys(T, KeyRange::ALL, dir, &mut |_| {
            count += 1;
            Ok(false)
        })
        .unwrap();
        assert_eq!(count, 1);
    }

    // A visitor's error stops the scan and is returned as is.
    let err = r.scan(T, KeyRange::ALL, Direction::Forward, &mut |_, _| Err(StorageError::Reentrant)).unwrap_err();
    assert_eq!(err, StorageError::Reentrant);

    // A visitor may read other tables of the same transaction.
    let mut pairs = Vec::new();
    r.scan(T, KeyRange::ALL, Direction::Forward, &mut |k, _| {
        pairs.push((r.get(U, b"n")?, r.get(T, k)?));
        Ok(true)
    })
    .unwrap();
    assert_eq!(pairs.len(), 5);
    assert!(pairs.iter().all(|(n, v)| *n == Some(2) && v.is_some()));
    drop(r);

    // A dropped write transaction changes nothing.
    {
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        w.put(T, b"a", s("changed")).unwrap();
        assert!(w.delete(T, b"b").unwrap());
        w.put(T, b"z", s("z")).unwrap();
        w.put(U, b"new", 5).unwrap();
        // Reads through the transaction during the change see it.
        let mut nested = 0;
        w.scan(T, KeyRange::ALL, Direction::Reverse, &mut |_, _| {
            nested += usize::from(w.get(U, b"new")? == Some(5));
            Ok(true)
        })
        .unwrap();
        assert_eq!(nested, 5);
    }
    let r = b.begin_read().unwrap();
    assert_eq!(r.get(T, b"a").unwrap(), Some(s("a")));
    assert_eq!(r.get(T, b"b").unwrap(), Some(s("b")));
    assert_eq!(r.get(T, b"z").unwrap(), None);
    assert_eq!(r.get(U, b"new").unwrap(), None);
    drop(r);

    // A commit without durability is visible at once.
    let mut w = b.begin_write(Durability::None).unwrap();
    w.put(T, b"f", s("f")).unwrap();
    w.commit().unwrap();
    assert_eq!(b.begin_read().unwrap().get(T, b"f").unwrap(), Some(s("f")));

    // Deletes commit too.
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    assert!(w.delete(T, b"f").unwrap());
    w.commit().unwrap();
    assert_eq!(b.begin_read().unwrap().get(T, b"f").unwrap(), None);
}

#[test]
fn the_memory_backend_meets_the_backend_contract() {
    backend_contract(&MemoryBackend::new());
}

#[test]
fn the_redb_backend_meets_the_backend_contract() {
    let dir = tempfile::tempdir().unwrap();
    backend_contract(&open(&dir.path().join("store.redb")));
}

#[test]
fn the_redb_backend_with_shared_readers_meets_the_backend_contract() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RedbOptions { shared_readers: true, ..RedbOptions::default() };
    let b = RedbBackend::open(&dir.path().join("store.redb"), StoreKind::Compute, &opts).unwrap();
    backend_contract(&b);
}

/// Memory readers hold the lock a writer needs, so this can only be observed on redb.
#[test]
fn a_read_transaction_keeps_its_snapshot_while_others_commit() {
    let dir = tempfile::tempdir().unwrap();
    let b = open(&dir.path().join("store.redb"));
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    w.put(T, b"a", s("old")).unwrap();
    w.commit().unwrap();

    let before = b.begin_read().unwrap();
    assert_eq!(before.get(T, b"a").unwrap(), Some(s("old")));
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    w.put(T, b"a", s("new")).unwrap();
    w.put(T, b"b", s("b")).unwrap();
    w.put(U, b"n", 1).unwrap();
    // Uncommitted changes are invisible to readers.
    assert_eq!(b.begin_read().unwrap().get(T, b"a").unwrap(), Some(s("old")));
    w.commit().unwrap();

    assert_eq!(before.get(T, b"a").unwrap(), Some(s("old")));
    assert_eq!(before.get(T, b"b").unwrap(), None);
    assert_eq!(before.get(U, b"n").unwrap(), None, "a table created later");
    let after = b.begin_read().unwrap();
    assert_eq!(after.get(T, b"a").unwrap(), Some(s("new")));
    assert_eq!(after.get(U, b"n").unwrap(), Some(1));
}

#[test]
fn data_survives_closing_and_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let b = open(&path);
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        w.put(T, b"a", s("1")).unwrap();
        w.commit().unwrap();
        let mut w = b.begin_write(Durability::None).unwrap();
        w.put(T, b"b", s("2")).unwrap();
        w.commit().unwrap();
    }
    let b = open(&path);
    let r = b.begin_read().unwrap();
    assert_eq!(r.get(T, b"a").unwrap(), Some(s("1")));
    assert_eq!(r.get(T, b"b").unwrap(), Some(s("2")), "a clean close persists non-durable commits");
}

#[test]
fn close_releases_the_file_and_later_transactions_fail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let b = open(&path);
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    w.put(T, b"a", s("1")).unwrap();
    w.commit().unwrap();
    b.close().unwrap();
    b.close().unwrap();
    let closed = StorageError::Backend { detail: "store is closed".into() };
    assert_eq!(b.begin_read().err(), Some(closed.clone()));
    assert_eq!(b.begin_write(Durability::Immediate).err(), Some(closed.clone()));
    assert_eq!(b.check_integrity().err(), Some(closed));

    let again = RedbBackend::open(&path, StoreKind::Compute, &options(Duration::ZERO)).unwrap();
    assert_eq!(again.begin_read().unwrap().get(T, b"a").unwrap(), Some(s("1")));
}

#[test]
fn new_stores_record_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    open(&path).close().unwrap();
    let db = redb::Database::open(&path).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    let meta = txn.open_table(RAW_META).unwrap();
    let get = |k: &str| {
        let v = redb::ReadableTable::get(&meta, k.as_bytes()).unwrap().unwrap();
        String::from_utf8(v.value().to_vec()).unwrap()
    };
    assert_eq!(get("schema_version"), bacalhau_state::kv::redb::SCHEMA_VERSION.to_string());
    assert_eq!(get("store_kind"), "compute");
    assert_eq!(get("created_by"), format!("bacalhau-state {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(get("journal_id").len(), 16);
    assert_eq!(get("journal_seq"), "0", "a clean close leaves every commit in the file");
    // No stray temporary files beside the store: the store and its commit journal.
    let mut names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["store.redb", "store.redb.journal"]);
}

fn set_meta(path: &Path, key: &str, value: &str) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(RAW_META).unwrap().insert(key.as_bytes(), value.as_bytes()).unwrap();
    txn.commit().unwrap();
}

#[test]
fn a_store_of_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    open(&path).close().unwrap();
    let newer = bacalhau_state::kv::redb::SCHEMA_VERSION + 1;
    set_meta(&path, "schema_version", &newer.to_string());
    let before = fs::read(&path).unwrap();
    let err = RedbBackend::open(&path, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    let supported = bacalhau_state::kv::redb::SCHEMA_VERSION;
    assert!(
        matches!(err, OpenError::NewerSchema { found, supported: s, .. } if found == newer && s == supported),
        "{err:?}"
    );
    assert_eq!(err.code(), "NewerSchema");
    assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    assert!(fs::read(&path).unwrap() == before, "the file is unchanged");
}

#[test]
fn a_store_of_the_other_kind_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    open(&path).close().unwrap();
    let before = fs::read(&path).unwrap();
    let err = RedbBackend::open(&path, StoreKind::Requester, &RedbOptions::default()).unwrap_err();
    match &err {
        OpenError::WrongKind { expected, found, .. } => {
            assert_eq!(*expected, StoreKind::Requester);
            assert_eq!(found, "compute");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.code(), "WrongKind");
    assert!(err.to_string().contains("is a compute store, not a requester store"));
    assert!(fs::read(&path).unwrap() == before, "the file is unchanged");
    open(&path);
}

fn assert_refused_untouched(path: &Path, found: &str) {
    let before = fs::read(path).unwrap();
    for read_only in [false, true] {
        let result = if read_only {
            RedbBackend::open_read_only(path, StoreKind::Compute, &RedbOptions::default())
        } else {
            RedbBackend::open(path, StoreKind::Compute, &RedbOptions::default())
        };
        let err = result.unwrap_err();
        match &err {
            OpenError::NotAStore { path: p, found: f } => {
                assert_eq!(p, path);
                assert_eq!(f, found);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(err.code(), "NotAStore");
        let message = err.to_string();
        assert!(message.contains(&*path.to_string_lossy()), "{message}");
        assert!(message.contains(found), "{message}");
    }
    assert!(fs::read(path).unwrap() == before, "the file is unchanged");
}

#[test]
fn foreign_files_are_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        p
    };
    assert_refused_untouched(&file("empty", b""), "an empty file");
    assert_refused_untouched(&file("notes.txt", b"# not a database\nkey = value\n"), "a text file");
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let random: Vec<u8> = (0..10_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    assert_refused_untouched(&file("random", &random), "a file of unknown format (not a redb database)");
    // bbolt page 0: 16-byte page header (id, flags = meta, count, overflow), then the meta struct
    // starting with the magic and version 2.
    let mut bolt = vec![0u8; 8192];
    bolt[8..10].copy_from_slice(&4u16.to_le_bytes());
    bolt[16..20].copy_from_slice(&0xED0C_DAEDu32.to_le_bytes());
    bolt[20..24].copy_from_slice(&2u32.to_le_bytes());
    bolt[24..28].copy_from_slice(&4096u32.to_le_bytes());
    let bolt_path = file("jobs.db", &bolt);
    for read_only in [false, true] {
        let result = if read_only {
            RedbBackend::open_read_only(&bolt_path, StoreKind::Requester, &RedbOptions::default())
        } else {
            RedbBackend::open(&bolt_path, StoreKind::Requester, &RedbOptions::default())
        };
        let err = result.unwrap_err();
        assert_eq!(err.code(), "LegacyBbolt", "{err:?}");
        let text = err.to_string();
        let want = format!("bacalhau-state migrate --requester-job-store-path {}", bolt_path.display());
        assert!(text.contains(&want), "{text}");
    }
    assert_eq!(fs::read(&bolt_path).unwrap(), bolt, "the bbolt file must stay byte-for-byte unchanged");
}

#[test]
fn a_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = RedbBackend::open(dir.path(), StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert!(matches!(&err, OpenError::NotAStore { found, .. } if found == "a directory"), "{err:?}");
    assert!(fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn a_redb_database_without_store_metadata_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    {
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(RAW).unwrap().insert(&b"k"[..], &b"v"[..]).unwrap();
        txn.commit().unwrap();
    }
    assert_refused_untouched(&path, "a redb database without bacalhau-state metadata");
}

#[test]
fn reading_a_missing_store_read_only_fails_without_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.redb");
    let err = RedbBackend::open_read_only(&path, StoreKind::Compute, &RedbOptions::default()).unwrap_err();
    assert_eq!(err.code(), "Io", "{err:?}");
    assert!(!path.exists());
}

#[cfg(unix)]
#[test]
fn new_stores_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a").join("b").join("store.redb");
    open(&path);
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.path().join("a")), 0o700);
    assert_eq!(mode(&dir.path().join("a").join("b")), 0o700);
}

#[test]
fn a_second_open_in_the_same_process_fails_with_in_use_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let first = open(&path);
    let timeout = Duration::from_millis(300);
    let start = Instant::now();
    let err = RedbBackend::open(&path, StoreKind::Compute, &options(timeout)).unwrap_err();
    let elapsed = start.elapsed();
    assert!(matches!(&err, OpenError::InUse { path: p } if *p == path), "{err:?}");
    assert_eq!(err.code(), "InUse");
    assert!(elapsed >= timeout, "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

    let start = Instant::now();
    let err = RedbBackend::open(&path, StoreKind::Compute, &options(Duration::ZERO)).unwrap_err();
    assert_eq!(err.code(), "InUse");
    assert!(start.elapsed() < Duration::from_secs(1));

    // The refused opens did not disturb the first handle.
    let mut w = first.begin_write(Durability::Immediate).unwrap();
    w.put(T, b"a", s("1")).unwrap();
    w.commit().unwrap();
    first.close().unwrap();
    let second = open(&path);
    assert_eq!(second.begin_read().unwrap().get(T, b"a").unwrap(), Some(s("1")));
}

#[test]
fn an_open_waits_for_the_holder_to_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let first = std::sync::Arc::new(open(&path));
    let holder = first.clone();
    let closer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        holder.close().unwrap();
    });
    let second = RedbBackend::open(&path, StoreKind::Compute, &options(Duration::from_secs(5)));
    closer.join().unwrap();
    second.unwrap();
}

// ---- cross-process ----

const CHILD_ENV: &str = "BACALHAU_STATE_REDB_TEST_CHILD";

/// Not a test: the body of the helper process the cross-process tests start (this test binary,
/// re-executed). It opens the store named by the environment, writes a key, reports READY, and
/// then obeys commands on stdin until it closes.
#[test]
fn child_process_holding_a_store() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (mode, path) = spec.split_once(':').unwrap();
    let opts = RedbOptions { shared_readers: mode == "shared", ..RedbOptions::default() };
    let b = RedbBackend::open(Path::new(path), StoreKind::Compute, &opts).unwrap();
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    w.put(T, b"child", s("1")).unwrap();
    w.commit().unwrap();
    println!("READY");
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        if let Some(value) = line.strip_prefix("write ") {
            let mut w = b.begin_write(Durability::Immediate).unwrap();
            w.put(T, b"child", s(value)).unwrap();
            w.commit().unwrap();
            println!("WROTE");
        }
    }
}

struct ChildStore {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl ChildStore {
    fn start(mode: &str, path: &Path) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_process_holding_a_store", "--nocapture"])
            .env(CHILD_ENV, format!("{mode}:{}", path.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut store = ChildStore { child, stdin, stdout };
        store.wait_for("READY");
        store
    }

    fn wait_for(&mut self, word: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(self.stdout.read_line(&mut line).unwrap() > 0, "child exited before {word}");
            if line.trim() == word {
                return;
            }
        }
    }

    fn write(&mut self, value: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "write {value}").unwrap();
        stdin.flush().unwrap();
        self.wait_for("WROTE");
    }

    fn stop(mut self) {
        drop(self.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

impl Drop for ChildStore {
    fn drop(&mut self) {
        if self.stdin.is_some() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[test]
fn a_store_open_in_another_process_is_in_use_until_that_process_exits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let child = ChildStore::start("exclusive", &path);

    let timeout = Duration::from_millis(500);
    let start = Instant::now();
    let err = RedbBackend::open(&path, StoreKind::Compute, &options(timeout)).unwrap_err();
    let elapsed = start.elapsed();
    assert_eq!(err.code(), "InUse", "{err:?}");
    assert!(elapsed >= timeout && elapsed < Duration::from_secs(5), "{elapsed:?}");

    // Without shared readers, even a read-only inspection is refused.
    let err = RedbBackend::open_read_only(&path, StoreKind::Compute, &options(timeout)).unwrap_err();
    assert_eq!(err.code(), "InUse", "{err:?}");

    child.stop();
    let b = RedbBackend::open(&path, StoreKind::Compute, &options(Duration::from_secs(5))).unwrap();
    assert_eq!(b.begin_read().unwrap().get(T, b"child").unwrap(), Some(s("1")));
}

#[test]
fn a_read_only_handle_follows_a_writer_in_another_process_that_shares_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let mut child = ChildStore::start("shared", &path);

    let reader = RedbBackend::open_read_only(&path, StoreKind::Compute, &options(Duration::ZERO)).unwrap();
    assert!(reader.is_read_only());
    let snapshot = reader.begin_read().unwrap();
    assert_eq!(snapshot.get(T, b"child").unwrap(), Some(s("1")));

    child.write("2");
    assert_eq!(snapshot.get(T, b"child").unwrap(), Some(s("1")), "an open read transaction keeps its snapshot");
    assert_eq!(
        reader.begin_read().unwrap().get(T, b"child").unwrap(),
        Some(s("2")),
        "a new read transaction sees the writer's commit"
    );
    drop(snapshot);

    assert_eq!(
        reader.begin_write(Durability::Immediate).err(),
        Some(StorageError::Backend { detail: "store is open read-only".into() })
    );
    assert!(reader.check_integrity().is_err());
    // Writers still exclude each other.
    let err = RedbBackend::open(&path, StoreKind::Compute, &options(Duration::ZERO)).unwrap_err();
    assert_eq!(err.code(), "InUse");
    // The metadata is checked on read-only opens too.
    let err = RedbBackend::open_read_only(&path, StoreKind::Requester, &options(Duration::ZERO)).unwrap_err();
    assert_eq!(err.code(), "WrongKind");

    reader.close().unwrap();
    child.stop();
}

#[test]
fn a_read_only_handle_in_this_process_shares_a_store_opened_with_shared_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let opts = RedbOptions { shared_readers: true, ..options(Duration::ZERO) };
    let writer = RedbBackend::open(&path, StoreKind::Compute, &opts).unwrap();
    let reader = RedbBackend::open_read_only(&path, StoreKind::Compute, &opts).unwrap();
    let mut w = writer.begin_write(Durability::None).unwrap();
    w.put(T, b"a", s("1")).unwrap();
    w.commit().unwrap();
    assert_eq!(reader.begin_read().unwrap().get(T, b"a").unwrap(), Some(s("1")));
}

#[test]
fn a_read_only_handle_keeps_an_exclusive_writer_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    open(&path).close().unwrap();
    let reader = RedbBackend::open_read_only(&path, StoreKind::Compute, &options(Duration::ZERO)).unwrap();
    let err = RedbBackend::open(&path, StoreKind::Compute, &options(Duration::ZERO)).unwrap_err();
    assert_eq!(err.code(), "InUse");
    reader.close().unwrap();
    open(&path);
}

// ---- stored values ----

fn write_raw(path: &Path, key: &[u8], value: &[u8]) {
    let db = redb::Database::open(path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(RAW).unwrap().insert(key, value).unwrap();
    txn.commit().unwrap();
}

#[test]
fn undecodable_values_are_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    {
        let b = open(&path);
        let mut w = b.begin_write(Durability::Immediate).unwrap();
        w.put(T, b"good", s("fine")).unwrap();
        w.commit().unwrap();
    }
    write_raw(&path, b"bad-cbor", &[1, 0xff, 0xff]);
    write_raw(&path, b"bad-format", &[7, 0x61, 0x78]);
    write_raw(&path, b"empty", &[]);

    let b = open(&path);
    let r = b.begin_read().unwrap();
    assert_eq!(r.get(T, b"good").unwrap(), Some(s("fine")));
    let corrupt = |key: &[u8]| match r.get(T, key).unwrap_err() {
        StorageError::Corrupt { table, detail } => {
            assert_eq!(table, "t");
            detail
        }
        other => panic!("{other:?}"),
    };
    assert!(corrupt(b"bad-cbor").starts_with("CBOR decode: "));
    assert_eq!(corrupt(b"bad-format"), "unknown value format 7");
    assert_eq!(corrupt(b"empty"), "empty value (no format byte)");
    let err = r.scan(T, KeyRange::ALL, Direction::Forward, &mut |_, _| Ok(true)).unwrap_err();
    assert_eq!(err.code(), "Corrupt");
    // Key scans never decode values.
    let mut keys = 0;
    r.scan_keys(T, KeyRange::ALL, Direction::Forward, &mut |_| {
        keys += 1;
        Ok(true)
    })
    .unwrap();
    assert_eq!(keys, 4);
    // A value of the wrong type is corrupt too.
    const WRONG: Table<u64> = Table::new(0, "t");
    assert_eq!(r.get(WRONG, b"good").unwrap_err().code(), "Corrupt");
}

#[test]
fn operator_tools_check_compact_and_measure_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let b = open(&path);
    assert_eq!(b.path(), path);
    assert_eq!(b.kind(), StoreKind::Compute);
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    for i in 0..2000u64 {
        w.put(T, &i.to_be_bytes(), "x".repeat(200)).unwrap();
    }
    w.commit().unwrap();
    let mut w = b.begin_write(Durability::Immediate).unwrap();
    for i in 0..2000u64 {
        w.delete(T, &i.to_be_bytes()).unwrap();
    }
    w.commit().unwrap();
    let before = b.file_size().unwrap();
    assert!(b.check_integrity().unwrap());
    b.compact().unwrap();
    // 2000 rows of 200 bytes were written and deleted: compaction must give their pages back.
    let after = b.file_size().unwrap();
    assert!(after < before, "compaction left the file at {after} bytes (was {before})");
    // Both need the handle to themselves.
    let r = b.begin_read().unwrap();
    assert!(b.check_integrity().is_err());
    drop(r);
    assert!(b.check_integrity().unwrap());
}

#[test]
fn open_errors_name_the_path_and_have_stable_codes() {
    let path = PathBuf::from("/some/store.redb");
    let cases = [
        (OpenError::InUse { path: path.clone() }, "InUse", "store /some/store.redb is in use"),
        (
            OpenError::NotAStore { path: path.clone(), found: "an empty file".into() },
            "NotAStore",
            "/some/store.redb is not a bacalhau-state store: found an empty file",
        ),
        (
            OpenError::Storage { path: path.clone(), detail: "boom".into() },
            "Storage",
            "cannot open store /some/store.redb: boom",
        ),
    ];
    for (err, code, message) in cases {
        assert_eq!(err.code(), code);
        assert!(err.to_string().starts_with(message), "{err}");
        assert_eq!(err.path(), path);
    }
    let io = OpenError::Io { path, source: std::io::Error::from(std::io::ErrorKind::PermissionDenied) };
    assert_eq!(io.code(), "Io");
    assert!(std::error::Error::source(&io).is_some());
}

// ---- performance ----

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Record {
    id: String,
    state: u8,
    revision: u64,
    payload: String,
}

const RECORDS: Table<Record> = Table::new(2, "records");
const INDEX: Table<u64> = Table::new(3, "index");
const RAW_RECORDS: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("records");
const RAW_INDEX: redb::TableDefinition<&[u8], &[u8]> = redb::TableDefinition::new("index");

fn cbor<T: serde::Serialize>(buf: &mut Vec<u8>, v: &T) {
    buf.clear();
    buf.push(1);
    ciborium::into_writer(v, &mut *buf).unwrap();
}

/// Compares the backend with raw redb doing the same work (same CBOR values, tables opened once
/// per transaction). Run with `cargo test --release --test redb_backend -- --ignored --nocapture`.
#[test]
#[ignore = "benchmark"]
fn benchmark_against_raw_redb() {
    let n = 20_000u64;
    let record = |i: u64| Record { id: format!("exec-{i:08}"), state: 1, revision: i, payload: "x".repeat(150) };
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        // Ours.
        let b =
            RedbBackend::open(&dir.path().join(format!("ours{round}")), StoreKind::Compute, &RedbOptions::default())
                .unwrap();
        let start = Instant::now();
        for i in 0..n {
            let mut w = b.begin_write(Durability::None).unwrap();
            let key = i.to_be_bytes();
            assert!(w.get(RECORDS, &key).unwrap().is_none());
            w.put(RECORDS, &key, record(i)).unwrap();
            w.put(INDEX, &(i + n).to_be_bytes(), i).unwrap();
            w.delete(INDEX, &i.to_be_bytes()).unwrap();
            w.commit().unwrap();
        }
        let ours_txn = start.elapsed();
        let start = Instant::now();
        let r = b.begin_read().unwrap();
        for i in 0..n {
            r.get(RECORDS, &i.to_be_bytes()).unwrap().unwrap();
        }
        let mut count = 0;
        r.scan(RECORDS, KeyRange::ALL, Direction::Reverse, &mut |_, _| {
            count += 1;
            Ok(true)
        })
        .unwrap();
        assert_eq!(count, n);
        let ours_read = start.elapsed();
        drop(r);

        // Raw redb.
        let db = redb::Database::create(dir.path().join(format!("raw{round}"))).unwrap();
        let mut buf = Vec::new();
        let start = Instant::now();
        for i in 0..n {
            let mut w = db.begin_write().unwrap();
            w.set_durability(redb::Durability::None).unwrap();
            {
                let mut records = w.open_table(RAW_RECORDS).unwrap();
                let mut index = w.open_table(RAW_INDEX).unwrap();
                let key = i.to_be_bytes();
                assert!(redb::ReadableTable::get(&records, &key[..]).unwrap().is_none());
                cbor(&mut buf, &record(i));
                records.insert(&key[..], buf.as_slice()).unwrap();
                cbor(&mut buf, &i);
                index.insert(&(i + n).to_be_bytes()[..], buf.as_slice()).unwrap();
                index.remove(&i.to_be_bytes()[..]).unwrap();
            }
            w.commit().unwrap();
        }
        let raw_txn = start.elapsed();
        let start = Instant::now();
        let r = redb::ReadableDatabase::begin_read(&db).unwrap();
        let records = r.open_table(RAW_RECORDS).unwrap();
        for i in 0..n {
            let v = redb::ReadableTable::get(&records, &i.to_be_bytes()[..]).unwrap().unwrap();
            let _: Record = ciborium::from_reader(&v.value()[1..]).unwrap();
        }
        let mut count = 0;
        for entry in redb::ReadableTable::range::<&[u8]>(&records, ..).unwrap().rev() {
            let (_, v) = entry.unwrap();
            let _: Record = ciborium::from_reader(&v.value()[1..]).unwrap();
            count += 1;
        }
        assert_eq!(count, n);
        let raw_read = start.elapsed();
        println!(
            "round {round}: write txns ours {ours_txn:?} raw {raw_txn:?} (ratio raw/ours {:.2}); \
             reads ours {ours_read:?} raw {raw_read:?} (ratio {:.2})",
            raw_txn.as_secs_f64() / ours_txn.as_secs_f64(),
            raw_read.as_secs_f64() / ours_read.as_secs_f64(),
        );
    }
}
