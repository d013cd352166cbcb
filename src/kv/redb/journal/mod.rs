//! The commit journal: a redo log beside the redb file that makes a commit durable with one
//! small synced write instead of a redb durable commit.
//!
//! # Why
//!
//! A redb durable commit writes every B-tree page the transaction dirtied, the table tree, the
//! freed-page tree and the header, then syncs. One store operation touches six or seven tables
//! (record, two indexes, counts, history, event log, counter), so it dirties ~19 pages (76 KiB)
//! where raw redb writing one record dirties ~8 (32 KiB), and sync time grows with those bytes.
//! With the journal, a durable commit appends the transaction's changes (table, key, encoded
//! value: ~2-3 KiB) to this file and syncs that; the redb transaction commits without a sync
//! (`redb::Durability::None`: its pages stay in redb's memory until a later durable commit).
//! Every [`RedbOptions::checkpoint_bytes`](super::RedbOptions::checkpoint_bytes) of journal the
//! store makes one real redb durable commit (a *checkpoint*) and starts the journal over.
//!
//! # Generations, and what was taken from SQLite's WAL and RocksDB's log
//!
//! The journal is reused from its start after every checkpoint, so the bytes of older frames
//! stay behind the new end, and record values (labels, names: any bytes a user submits) are
//! copied into frames verbatim. A frame therefore counts only if it proves it was written in the
//! current *generation*: as SQLite's WAL copies the header's salts into every frame and RocksDB's
//! recyclable log format puts the log number in every record, each frame carries the
//! generation's 64-bit random salt, and its checksum covers the salt, the store's journal ID, the
//! sequence number and the body. A new salt is drawn from the operating system at every
//! checkpoint and at every writable open, and is stored *durably in the redb file* (in `meta`,
//! with `journal_seq`) by the same durable commit that starts the generation, never in the
//! journal. Bytes a user planted cannot carry a salt they never saw; frames of an older
//! generation carry an older salt. The end of the log is unambiguous: the first frame that does
//! not carry the next sequence number, the generation's salt, a matching checksum and a body
//! that parses, and every frame is written with zero bytes after it (a "no frame" marker) in the
//! same write. The frame layout is in `frame.rs`.
//!
//! # Invariants (checked by `debug_assert!`s where they are kept)
//!
//! * `meta.journal_seq` is the sequence number of the last frame whose changes the redb file
//!   holds durably, and `meta.journal_salt` the salt of the frames that follow it; both change
//!   only in durable redb commits (generation starts: open, checkpoint, close).
//! * Frames of a generation are written from [`HEADER_LEN`] on, with sequence numbers
//!   `journal_seq + 1, + 2, ...`, each only after the one before it; `durable <= seq`.
//! * A commit returns `Ok` only after a sync that covers its frame (or a checkpoint after it)
//!   returned: nothing acknowledged is lost. Its changes may be visible to readers *in this
//!   process* from its redb commit on, slightly before that sync (a crash takes those readers
//!   down with them); see "Group commit".
//! * Replaying a frame is idempotent (puts of whole values and deletes), and recovery's own
//!   durable commit starts a new generation, so a crash during recovery recovers again.
//! * A redb commit made with `Durability::None` by the caller is not in the journal; the next
//!   durable commit is therefore a checkpoint, never a frame, so replay never runs on top of a
//!   file that lacks it.
//! * Once any journal write, sync or checkpoint fails, the journal is *poisoned*: the process
//!   no longer knows what the disk holds, so every later write is refused until a reopen
//!   recovers from what is really there.
//!
//! # One commit path
//!
//! Every writable open recovers: it replays the frames of the current generation and starts a
//! new one, whatever the options. A writer that shares the file with readers in other processes
//! (`shared_readers`) must make every redb commit durable (redb refuses non-durable commits in
//! that mode, since a commit only in the writer's memory would be invisible to them), so its
//! commits are durable redb commits and write no frames; readers are never stale.
//!
//! # Clean close
//!
//! `meta.journal_state` is `open` from the generation commit of a writable open until the
//! close's checkpoint sets it to `closed`. A store that is `open` (its writer crashed, or it was
//! copied while open) and has no journal, or a foreign one, may have acknowledged commits only
//! in a journal that is not there: the open fails with [`JournalError::Missing`] /
//! [`JournalError::Foreign`] / [`JournalError::NotAJournal`] unless the caller accepts the loss.
//! A `closed` store (or one written before the state was recorded) with no journal gets a new
//! one: nothing can be lost.
//!
//! # Group commit
//!
//! A committing thread writes its frame and commits redb (non-durably) under the journal's
//! lock, releases the redb write lock and then waits until a sync covers its frame. The first
//! waiter that finds no sync running syncs for everyone (the leader): every frame written before
//! its sync began is durable when it returns, and those waiters return together. A caller alone
//! pays one write and one sync, as before. A failed sync poisons the journal and every waiter it
//! covered gets `CommitUncertain`; an operation that fails before its frame is written takes no
//! one else down.
//!
//! # Header
//!
//! [`HEADER_LEN`] bytes: [`MAGIC`], the store's journal ID (16 ASCII hex digits, also in
//! `meta.journal_id`), zero padding. A new journal is written whole under a temporary name and
//! renamed into place, so a journal is never without its header. The file is zero-filled as it
//! grows (64 KiB, doubling up to the capacity), so a synced frame overwrites allocated blocks.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard};

use ::redb::{Database, ReadableDatabase, TableDefinition, WriteTransaction};

use crate::error::StorageError;

mod error;
mod file;
mod frame;

pub use error::JournalError;
pub(super) use file::PathJournal;
pub use file::{JournalFile, MemoryJournal};
pub(super) use frame::Changes;
use frame::{Frames, Generation, FRAME_HEAD};

/// First bytes of a journal file.
pub const MAGIC: &[u8; 8] = b"BSJRNL02";
/// First bytes of a journal with version-1 frames (unsalted), recovered once and replaced.
const MAGIC_V1: &[u8; 8] = b"BSJRNL01";
/// Bytes before the first frame.
pub const HEADER_LEN: u64 = 64;
/// Default journal bytes between checkpoints: the file's largest size.
pub const CAPACITY: u64 = 16 << 20;
/// The smallest capacity an option may set: a header and a few frames.
pub const MIN_CAPACITY: u64 = 4 << 10;
/// Size of a new journal (or half its capacity, if smaller); it grows by doubling,
/// zero-filled, up to its capacity.
const INITIAL_LEN: u64 = 64 << 10;

fn initial_len(capacity: u64) -> u64 {
    INITIAL_LEN.min(capacity / 2).max(HEADER_LEN + 2 * FRAME_HEAD as u64)
}
const ID_LEN: usize = 16;

const META_JOURNAL_SEQ: &[u8] = b"journal_seq";
const META_JOURNAL_ID: &[u8] = b"journal_id";
const META_JOURNAL_SALT: &[u8] = b"journal_salt";
const META_JOURNAL_STATE: &[u8] = b"journal_state";
const OPEN: &[u8] = b"open";
const CLOSED: &[u8] = b"closed";
const META: TableDefinition<&[u8], &[u8]> = TableDefinition::new(super::META_TABLE);

/// The journal's path for a store at `store`: `<store>.journal`.
pub fn path_for(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

/// How a writable open treats its journal.
pub(super) struct JournalOptions {
    /// Open even if a store that was not closed cleanly has no journal of its own.
    pub accept_loss: bool,
    /// Journal bytes between checkpoints.
    pub capacity: u64,
    /// Every commit is a durable redb commit (a writer sharing the file with readers).
    pub direct: bool,
}

/// The store's journal metadata, as its last durable commit left it.
#[derive(Debug)]
struct JournalMeta {
    id: Option<[u8; ID_LEN]>,
    seq: u64,
    salt: Option<u64>,
    /// `journal_state` is `closed`, or absent (stores written before it was recorded).
    clean: bool,
}

/// The writer's journal; owned by the backend.
pub(super) struct Journal {
    file: Box<dyn JournalFile>,
    path: PathBuf,
    id: [u8; ID_LEN],
    capacity: u64,
    /// The length of a new journal, and what a clean close shrinks a grown one back to.
    initial_len: u64,
    direct: bool,
    state: Mutex<State>,
    /// Signalled when a sync ends or a checkpoint makes frames durable.
    synced: Condvar,
}

struct State {
    salt: u64,
    /// Offset of the next frame.
    pos: u64,
    /// File length: zero-filled up to here.
    len: u64,
    /// Sequence number of the last frame written (or of the last checkpoint).
    seq: u64,
    /// Every frame up to this sequence number is durable.
    durable: u64,
    /// A leader's sync is running.
    syncing: bool,
    /// A `Durability::None` redb commit happened since the last durable redb commit.
    unlogged: bool,
    /// A write transaction of the backend is alive (between `begin` and `commit`/`abandon`).
    active: bool,
    /// The last durable commit recorded a clean close (`journal_state` = `closed`: a
    /// compaction does so) and nothing was written since. The next write must record `open`
    /// durably before a frame relies on it, so it is a checkpoint.
    closed_on_disk: bool,
    /// Why the journal was poisoned (see the module docs).
    poisoned: Option<String>,
    frame: Vec<u8>,
}

fn uncertain(cause: StorageError) -> StorageError {
    StorageError::CommitUncertain { cause: Box::new(cause) }
}

fn io_storage(e: std::io::Error) -> StorageError {
    super::storage_error(::redb::StorageError::Io(e))
}

impl Journal {
    /// Recovers the journal of the store `store` (redb handle `db`, write lock held): replays
    /// the frames the file lacks and starts a new generation, or refuses (see the module docs).
    pub fn open(
        store: &Path,
        db: &Database,
        file: Box<dyn JournalFile>,
        path: PathBuf,
        options: &JournalOptions,
    ) -> Result<Journal, JournalError> {
        let meta = read_meta(db)?;
        let capacity = options.capacity.max(MIN_CAPACITY);
        let initial_len = initial_len(capacity);
        let at = path.as_path();
        let io = |op| move |source| JournalError::Io { journal: at.to_path_buf(), op, source };
        let (id, frames, v1) = recover(store, &meta, &*file, &path, options.accept_loss, initial_len)?;
        let last = frames.last().map_or(meta.seq, |&(seq, _)| seq);
        let salt = new_salt(meta.salt);
        start_generation(db, &path, &frames, GenerationMeta { id: &id, seq: last, salt, open: true })?;
        if v1 {
            file.replace(&initial(&id, initial_len)).map_err(io("replace the version-1"))?;
        }
        let len = file.size().map_err(io("read the length of"))?;
        let journal = Journal {
            file,
            path,
            id,
            capacity,
            initial_len,
            direct: options.direct,
            state: Mutex::new(State {
                salt,
                pos: HEADER_LEN,
                len,
                seq: last,
                durable: last,
                syncing: false,
                unlogged: false,
                active: false,
                closed_on_disk: false,
                poisoned: None,
                frame: Vec::new(),
            }),
            synced: Condvar::new(),
        };
        Ok(journal)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn generation<'a>(&'a self, state: &State) -> Generation<'a> {
        Generation { id: &self.id, salt: state.salt }
    }

    /// Whether durable commits go through frames (not for a writer sharing the file with
    /// readers, whose commits are redb durable commits).
    pub fn writes_frames(&self) -> bool {
        !self.direct
    }

    /// A write transaction begins; refused once poisoned.
    pub fn begin(&self) -> Result<(), StorageError> {
        let mut state = self.lock();
        if let Some(e) = poisoned(&state) {
            return Err(e);
        }
        debug_assert!(!state.active, "redb allows one write transaction at a time");
        state.active = true;
        Ok(())
    }

    /// The write transaction ended without a commit.
    pub fn abandon(&self) {
        self.lock().active = false;
    }

    /// Commits `txn` (non-durable in redb unless direct) and makes `changes` durable: a frame
    /// and a sync, or a checkpoint. `unlogged`: the caller asked for `Durability::None`.
    pub fn commit(&self, txn: WriteTransaction, changes: &Changes, unlogged: bool) -> Result<(), StorageError> {
        let mut state = self.lock();
        state.active = false;
        if let Some(e) = poisoned(&state) {
            // Dropping `txn` aborts it: nothing of it is applied.
            return Err(e);
        }
        if self.direct || unlogged {
            // Not in the journal: the next durable commit must be a checkpoint.
            state.unlogged |= unlogged && !self.direct;
            return txn.commit().map_err(|e| uncertain(super::commit_error(e)));
        }
        if state.unlogged || state.closed_on_disk || state.pos + changes.frame_len() > self.capacity {
            return self.checkpoint_with(&mut state, txn, false);
        }
        if changes.is_empty() {
            // Nothing of its own to log; durable means everything committed before it is too.
            txn.commit().map_err(|e| uncertain(super::commit_error(e)))?;
            let seq = state.seq;
            drop(state);
            return self.wait_durable(seq);
        }
        let seq = state.seq + 1;
        if let Err(e) = self.write_frame(&mut state, seq, changes) {
            state.poisoned = Some(format!("writing frame {seq} of journal {} failed: {e}", self.path.display()));
            return Err(uncertain(io_storage(e)));
        }
        // From here the transaction is visible in this process; it is acknowledged only once a
        // sync covers its frame.
        if let Err(e) = txn.commit() {
            let e = super::commit_error(e);
            state.poisoned = Some(format!("committing after frame {seq} was written failed: {e}"));
            return Err(uncertain(e));
        }
        drop(state);
        self.wait_durable(seq)
    }

    fn write_frame(&self, state: &mut State, seq: u64, changes: &Changes) -> std::io::Result<()> {
        debug_assert!(state.pos >= HEADER_LEN && state.pos <= state.len.max(HEADER_LEN));
        let mut frame = std::mem::take(&mut state.frame);
        frame::encode(&mut frame, self.generation(state), seq, changes);
        let end = state.pos + frame.len() as u64;
        debug_assert!(end <= self.capacity, "a frame that does not fit is a checkpoint");
        if end > state.len {
            // Grow once per doubling, zero-filled and synced with its new length, so frame syncs
            // keep overwriting allocated blocks.
            let len = end.max(state.len * 2).min(self.capacity.max(end));
            zero_fill(&*self.file, state.len, len)?;
            self.file.sync()?;
            state.len = len;
        }
        let written = self.file.write_at(state.pos, &frame);
        state.frame = frame;
        written?;
        // The zeros after the frame are where the next frame goes.
        state.pos = end - FRAME_HEAD as u64;
        state.seq = seq;
        Ok(())
    }

    /// Returns once frame `seq` is durable: as the leader that syncs, or as a follower whose
    /// frame a leader's sync covered.
    fn wait_durable(&self, seq: u64) -> Result<(), StorageError> {
        let mut state = self.lock();
        loop {
            debug_assert!(state.durable <= state.seq);
            if state.durable >= seq {
                return Ok(());
            }
            if let Some(why) = &state.poisoned {
                return Err(uncertain(StorageError::Backend { detail: why.clone() }));
            }
            if state.syncing {
                state = self.synced.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            state.syncing = true;
            let target = state.seq;
            drop(state);
            let synced = self.file.sync();
            state = self.lock();
            state.syncing = false;
            match synced {
                Ok(()) => state.durable = state.durable.max(target),
                Err(e) => {
                    state.poisoned.get_or_insert(format!("syncing journal {} failed: {e}", self.path.display()));
                }
            }
            self.synced.notify_all();
        }
    }

    /// Makes everything durable in the file with `txn` (which may hold changes of its own),
    /// starting a new generation; `closing` records a clean close.
    fn checkpoint_with(&self, state: &mut State, mut txn: WriteTransaction, closing: bool) -> Result<(), StorageError> {
        let salt = new_salt(Some(state.salt));
        let meta = GenerationMeta { id: &self.id, seq: state.seq, salt, open: !closing };
        write_generation(&txn, &meta).map_err(super::storage_error)?;
        txn.set_durability(::redb::Durability::Immediate).map_err(super::backend)?;
        txn.set_quick_repair(true);
        if let Err(e) = txn.commit() {
            let e = super::commit_error(e);
            state.poisoned.get_or_insert(format!("checkpoint of journal {} failed: {e}", self.path.display()));
            return Err(uncertain(e));
        }
        state.salt = salt;
        state.pos = HEADER_LEN;
        state.unlogged = false;
        state.closed_on_disk = closing;
        state.durable = state.seq;
        self.synced.notify_all();
        Ok(())
    }

    /// Makes everything the journal holds durable in the file and starts the journal over; with
    /// `closing`, records a clean close (a compaction does too, so that its close need not
    /// commit again: a commit after a compaction would make redb grow the file it just shrank). A write transaction still alive
    /// is left to finish on its own (its frames are recovered at the next open).
    pub fn checkpoint(&self, db: &Database, closing: bool) -> Result<(), StorageError> {
        let mut state = self.lock();
        if state.active {
            return Ok(());
        }
        if let Some(e) = poisoned(&state) {
            return Err(e);
        }
        let unchanged = state.pos == HEADER_LEN && !state.unlogged;
        // Nothing to make durable, and (when closing) the clean close is recorded already.
        if unchanged && (!closing || state.closed_on_disk) {
            return Ok(());
        }
        let txn = db.begin_write().map_err(super::transaction_error)?;
        self.checkpoint_with(&mut state, txn, closing)
    }

    /// Gives back the space of a grown journal; only right after a checkpoint (nothing in the
    /// journal is needed): called at close.
    pub fn shrink(&self) -> Result<(), StorageError> {
        let mut state = self.lock();
        if state.pos == HEADER_LEN && !state.active && state.len > self.initial_len {
            self.file.truncate(self.initial_len).map_err(io_storage)?;
            state.len = self.initial_len;
        }
        Ok(())
    }
}

fn poisoned(state: &State) -> Option<StorageError> {
    state.poisoned.as_ref().map(|why| StorageError::Backend {
        detail: format!("an earlier commit's outcome is unknown ({why}); reopen the store to recover it"),
    })
}

/// What is at the journal's path, as seen from the store's journal metadata.
enum Found {
    /// No journal (a file of length 0 counts as none).
    Missing,
    /// A file without a journal's header.
    NotAJournal,
    /// A journal of another store, with its ID.
    Foreign(String),
    /// The store's journal: the frames the file lacks, and whether they are version-1 frames.
    Frames { frames: Frames, v1: bool },
}

/// Reads the journal's header and, if it is the store's (`id`), the frames after `meta.seq`.
fn read_journal(file: &dyn JournalFile, id: &[u8; ID_LEN], meta: &JournalMeta) -> std::io::Result<Found> {
    let len = file.size()?;
    if len == 0 {
        return Ok(Found::Missing);
    }
    if len < HEADER_LEN {
        return Ok(Found::NotAJournal);
    }
    let mut head = [0u8; HEADER_LEN as usize];
    file.read_at(0, &mut head)?;
    let v1 = match &head[..MAGIC.len()] {
        m if m == MAGIC => false,
        m if m == MAGIC_V1 => true,
        _ => return Ok(Found::NotAJournal),
    };
    let found = &head[MAGIC.len()..MAGIC.len() + ID_LEN];
    if found != id {
        return Ok(Found::Foreign(String::from_utf8_lossy(found).into_owned()));
    }
    let frames = match (v1, meta.salt) {
        (true, _) => frame::scan_v1(file, meta.seq)?,
        (false, Some(salt)) => frame::scan(file, Generation { id, salt }, meta.seq)?,
        // A version-2 journal is always started together with a salt.
        (false, None) => Vec::new(),
    };
    Ok(Found::Frames { frames, v1 })
}

/// Finds the journal's frames the file lacks, or refuses; replaces a journal only where nothing
/// can be lost (or the caller accepted the loss). Returns the store's journal ID, the frames,
/// and whether the journal has version-1 frames (to be replaced once they are applied).
fn recover(
    store: &Path,
    meta: &JournalMeta,
    file: &dyn JournalFile,
    path: &Path,
    accept_loss: bool,
    initial_len: u64,
) -> Result<([u8; ID_LEN], Frames, bool), JournalError> {
    let io = |op| move |source| JournalError::Io { journal: path.to_path_buf(), op, source };
    let fresh = |id: [u8; ID_LEN]| -> Result<_, JournalError> {
        file.replace(&initial(&id, initial_len)).map_err(io("create"))?;
        Ok((id, Vec::new(), false))
    };
    // A store without a journal ID never had a journal: a file at the journal's path is left
    // over from a deleted store of the same name, and is replaced.
    let Some(id) = meta.id else { return fresh(new_id()) };
    let refuse = |e: JournalError| if accept_loss { fresh(id) } else { Err(e) };
    let (store, journal) = (store.to_path_buf(), path.to_path_buf());
    match read_journal(file, &id, meta).map_err(io("read"))? {
        Found::Frames { frames, v1 } => Ok((id, frames, v1)),
        Found::Missing if meta.clean => fresh(id),
        Found::Missing => refuse(JournalError::Missing { store, journal }),
        Found::NotAJournal => refuse(JournalError::NotAJournal { store, journal, store_clean: meta.clean }),
        Found::Foreign(found) => {
            refuse(JournalError::Foreign { store, journal, found, expected: String::from_utf8_lossy(&id).into_owned() })
        }
    }
}

/// Whether the journal beside `store` holds frames the file does not have (a writer crashed and
/// nobody reopened the store for writing since). For read-only opens, which cannot replay.
pub fn has_pending(store: &Path, db: &impl ReadableDatabase) -> Result<bool, JournalError> {
    let path = path_for(store);
    let at = path.as_path();
    let io = |op| move |source| JournalError::Io { journal: at.to_path_buf(), op, source };
    let meta = read_meta(db)?;
    let Some(id) = meta.id else { return Ok(false) };
    let file = PathJournal::open(path.clone()).map_err(io("open"))?;
    Ok(match read_journal(&file, &id, &meta).map_err(io("read"))? {
        Found::Frames { frames, .. } => !frames.is_empty(),
        Found::Missing | Found::NotAJournal | Found::Foreign(_) => false,
    })
}

/// What a generation commit writes to `meta`.
struct GenerationMeta<'a> {
    id: &'a [u8; ID_LEN],
    seq: u64,
    salt: u64,
    /// `journal_state`: `open` (a writer has the store) or `closed`.
    open: bool,
}

fn write_generation(txn: &WriteTransaction, g: &GenerationMeta<'_>) -> Result<(), ::redb::StorageError> {
    let mut meta = txn.open_table(META).map_err(|e| match e {
        ::redb::TableError::Storage(e) => e,
        other => ::redb::StorageError::Io(std::io::Error::other(other.to_string())),
    })?;
    meta.insert(META_JOURNAL_ID, &g.id[..])?;
    meta.insert(META_JOURNAL_SEQ, g.seq.to_string().as_bytes())?;
    meta.insert(META_JOURNAL_SALT, format!("{:016x}", g.salt).as_bytes())?;
    meta.insert(META_JOURNAL_STATE, if g.open { OPEN } else { CLOSED })?;
    Ok(())
}

/// Applies `frames` and records generation `g`, in one durable quick-repair commit.
fn start_generation(
    db: &Database,
    path: &Path,
    frames: &[(u64, Vec<u8>)],
    g: GenerationMeta<'_>,
) -> Result<(), JournalError> {
    let fail = |detail: String| JournalError::Replay { journal: path.to_path_buf(), detail };
    let mut txn = db.begin_write().map_err(|e| fail(e.to_string()))?;
    for (seq, body) in frames {
        debug_assert!(*seq <= g.seq);
        frame::apply(&txn, body).map_err(|e| fail(format!("frame {seq}: {e}")))?;
    }
    write_generation(&txn, &g).map_err(|e| fail(e.to_string()))?;
    txn.set_quick_repair(true);
    txn.commit().map_err(|e| fail(e.to_string()))
}

/// `meta.journal_*` as the last durable commit left them.
fn read_meta(db: &impl ReadableDatabase) -> Result<JournalMeta, JournalError> {
    let meta_err = |e: &dyn std::fmt::Display| JournalError::Meta { detail: e.to_string() };
    let txn = db.begin_read().map_err(|e| meta_err(&e))?;
    let meta = txn.open_table(META).map_err(|e| meta_err(&e))?;
    let get = |key: &[u8]| -> Result<Option<Vec<u8>>, JournalError> {
        Ok(meta.get(key).map_err(|e| meta_err(&e))?.map(|v| v.value().to_vec()))
    };
    let text = |key: &'static [u8], v: &[u8]| -> Result<String, JournalError> {
        String::from_utf8(v.to_vec()).map_err(|_| JournalError::Meta {
            detail: format!("{} is not UTF-8 in the meta table", String::from_utf8_lossy(key)),
        })
    };
    let id = match get(META_JOURNAL_ID)? {
        None => None,
        Some(v) => Some(<[u8; ID_LEN]>::try_from(v.as_slice()).map_err(|_| JournalError::Meta {
            detail: format!("journal_id {:?} is not {ID_LEN} bytes", String::from_utf8_lossy(&v)),
        })?),
    };
    let seq = match get(META_JOURNAL_SEQ)? {
        None => 0,
        Some(v) => {
            let t = text(META_JOURNAL_SEQ, &v)?;
            t.parse().map_err(|_| JournalError::Meta { detail: format!("unreadable journal_seq {t:?}") })?
        }
    };
    let salt = match get(META_JOURNAL_SALT)? {
        None => None,
        Some(v) => {
            let t = text(META_JOURNAL_SALT, &v)?;
            Some(
                u64::from_str_radix(&t, 16)
                    .map_err(|_| JournalError::Meta { detail: format!("unreadable journal_salt {t:?}") })?,
            )
        }
    };
    let clean = match get(META_JOURNAL_STATE)?.as_deref() {
        None | Some(CLOSED) => true,
        Some(OPEN) => false,
        Some(other) => {
            return Err(JournalError::Meta {
                detail: format!("unknown journal_state {:?}", String::from_utf8_lossy(other)),
            })
        }
    };
    Ok(JournalMeta { id, seq, salt, clean })
}

/// A new journal: header, then zeros up to `len`.
fn initial(id: &[u8; ID_LEN], len: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; len as usize];
    bytes[..MAGIC.len()].copy_from_slice(MAGIC);
    bytes[MAGIC.len()..MAGIC.len() + ID_LEN].copy_from_slice(id);
    bytes
}

fn zero_fill(file: &dyn JournalFile, from: u64, to: u64) -> std::io::Result<()> {
    let zeros = vec![0u8; (to - from).min(1 << 20) as usize];
    let mut at = from;
    while at < to {
        let n = zeros.len().min((to - at) as usize);
        file.write_at(at, &zeros[..n])?;
        at += n as u64;
    }
    Ok(())
}

/// 64 random bits from the operating system (a keyed std hash of the time if it has none),
/// never equal to `previous`.
fn new_salt(previous: Option<u64>) -> u64 {
    loop {
        let salt = getrandom::u64().unwrap_or_else(|_| fallback_random());
        if Some(salt) != previous {
            return salt;
        }
    }
}

fn fallback_random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    h.finish()
}

/// 16 hex digits, different for every store in practice; only ties a journal to its store.
fn new_id() -> [u8; ID_LEN] {
    let text = format!("{:016x}", new_salt(None));
    text.as_bytes().try_into().expect("16 hex digits")
}

#[cfg(test)]
mod tests;
