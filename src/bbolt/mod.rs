//! A read-only reader for bbolt files (etcd-io/bbolt v1.3.x, format version 2), and the
//! extraction of Bacalhau v1.2 node state (compute `executions.db`, requester `jobs.db`) from them
//! as JSON values, for migrating old nodes to this crate's stores.
//!
//! Safety properties:
//!
//! * [`BoltFile::open`] reads the whole file into memory through a read-only handle. It never
//!   creates, writes, locks or memory-maps the file, so a bbolt process that still has it open is
//!   not disturbed (and cannot change the bytes under the reader).
//! * Every offset, length and page id read from the file is checked; arithmetic is checked;
//!   B+tree descents are depth-bounded and remember visited pages, nested buckets are
//!   depth-bounded and cycle-checked. Malformed input yields a [`BoltError`], never a panic or an
//!   endless loop.
//!
//! ```no_run
//! use bacalhau_state::bbolt::{BoltFile, BacalhauLayout, read_compute};
//! let file = BoltFile::open("executions.db")?;
//! if file.layout()? == Some(BacalhauLayout::Compute) {
//!     let dump = read_compute(&file)?;
//!     println!("{} executions", dump.executions.len());
//! }
//! # Ok::<(), bacalhau_state::bbolt::BoltError>(())
//! ```

mod bacalhau;
mod bucket;
mod error;
mod page;

use std::path::{Path, PathBuf};

pub use bacalhau::{read_compute, read_requester, ComputeDump, JobDump, RequesterDump};
pub use bucket::{Bucket, Entry};
pub use error::BoltError;

use page::{parse_meta, Meta, MetaProblem, PageView, BRANCH, LEAF, NO_FREELIST, PAGE_HEADER};

/// An opened bbolt file: its bytes in memory plus the meta page in force.
#[derive(Debug, Clone)]
pub struct BoltFile {
    path: PathBuf,
    data: Vec<u8>,
    meta: Meta,
}

/// Which Bacalhau v1.2 store a bbolt file holds, judged by its root bucket names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BacalhauLayout {
    /// The compute node's execution store (`executions.db`): root buckets `execution`,
    /// `execution-history`, `execution-index`, `execution-live-index`.
    Compute,
    /// The requester's job store (`jobs.db`): root buckets `jobs`, `idx_tags`, `idx_inprogress`,
    /// `idx_namespaces`, `idx_executions`, `idx_evaluations`.
    Requester,
}

/// Root bucket names of the compute store, sorted.
pub(crate) const COMPUTE_ROOTS: [&str; 4] =
    ["execution", "execution-history", "execution-index", "execution-live-index"];
/// Root bucket names of the requester store, sorted.
pub(crate) const REQUESTER_ROOTS: [&str; 6] =
    ["idx_evaluations", "idx_executions", "idx_inprogress", "idx_namespaces", "idx_tags", "jobs"];

/// Whether `first_bytes` (the start of a file, ideally at least 80 bytes) begin like a bbolt file:
/// the bbolt magic `0xED0CDAED` and version 2 at byte 16 of the first meta page, or, when the first
/// meta page is damaged and enough bytes are given, at byte 16 of a second meta page whose page
/// size field matches its position.
///
/// Cheap and checksum-free: meant for store-opening code that failed to open a file and wants to
/// say "this is an old bbolt store, run migrate" instead of a generic error.
pub fn looks_like_bbolt(first_bytes: &[u8]) -> bool {
    let magic_at = |at: usize| {
        page::u32_at(first_bytes, at + PAGE_HEADER) == Some(page::MAGIC)
            && page::u32_at(first_bytes, at + PAGE_HEADER + 4) == Some(page::VERSION)
    };
    if magic_at(0) {
        return true;
    }
    let mut size = page::MIN_PAGE_SIZE;
    while size <= page::MAX_PAGE_SIZE {
        if magic_at(size as usize) && page::u32_at(first_bytes, size as usize + PAGE_HEADER + 8) == Some(size) {
            return true;
        }
        size *= 2;
    }
    false
}

/// Opens `path` and reports which Bacalhau store it holds: `Ok(Some(_))` for a compute or requester
/// store, `Ok(None)` for a valid bbolt file with other root buckets (the caller words that error),
/// and `Err` ([`BoltError::NotBbolt`] and others) when it is not a readable bbolt file.
pub fn detect(path: impl AsRef<Path>) -> Result<Option<BacalhauLayout>, BoltError> {
    BoltFile::open(path)?.layout()
}

impl BoltFile {
    /// Reads the file at `path` into memory (read-only; never created, written or locked) and
    /// validates its meta pages and root bucket.
    pub fn open(path: impl AsRef<Path>) -> Result<BoltFile, BoltError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| BoltError::Io { path: path.to_path_buf(), source })?;
        BoltFile::from_bytes(path, data)
    }

    /// Validates bytes already in memory; `path` is only used in error messages.
    pub fn from_bytes(path: impl Into<PathBuf>, data: Vec<u8>) -> Result<BoltFile, BoltError> {
        let path = path.into();
        let meta = choose_meta(&path, &data)?;
        let file = BoltFile { path, data, meta };
        file.check_meta()?;
        Ok(file)
    }

    /// The file's path (as given to [`BoltFile::open`]).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The page size recorded in the meta page.
    pub fn page_size(&self) -> u32 {
        self.meta.page_size
    }

    /// The transaction id of the meta page in force (the higher valid one).
    pub fn txid(&self) -> u64 {
        self.meta.txid
    }

    /// The high-water page id: every page in use is below it.
    pub fn high_water(&self) -> u64 {
        self.meta.high_water
    }

    /// The root bucket, whose entries are the top-level buckets.
    pub fn root(&self) -> Bucket<'_> {
        Bucket::root(self, self.meta.root, self.meta.root_sequence)
    }

    /// Which Bacalhau store this file holds (see [`detect`]).
    pub fn layout(&self) -> Result<Option<BacalhauLayout>, BoltError> {
        let mut names = Vec::new();
        for e in self.root().entries()? {
            match e {
                Entry::Bucket { key, .. } => names.push(key),
                Entry::Value { .. } => return Ok(None),
            }
        }
        let is = |want: &[&str]| names.len() == want.len() && names.iter().zip(want).all(|(n, w)| *n == w.as_bytes());
        Ok(if is(&COMPUTE_ROOTS) {
            Some(BacalhauLayout::Compute)
        } else if is(&REQUESTER_ROOTS) {
            Some(BacalhauLayout::Requester)
        } else {
            None
        })
    }

    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> BoltError {
        BoltError::Corrupt { path: self.path.clone(), reason: reason.into() }
    }

    /// The branch or leaf page `pgid`, including its overflow pages, checked against the high
    /// water mark and the file length.
    pub(crate) fn page(&self, pgid: u64) -> Result<PageView<'_>, BoltError> {
        let hw = self.meta.high_water;
        if pgid < 2 {
            return Err(self.corrupt(format!("page {pgid} is a meta page, not a tree page")));
        }
        if pgid >= hw {
            return Err(self.corrupt(format!("page {pgid} out of range (high water {hw})")));
        }
        let ps = u64::from(self.meta.page_size);
        // pgid < hw and hw * ps <= data.len() (checked at open), so these fit in usize.
        let start = (pgid * ps) as usize;
        let head = PageView::new(&self.data[start..], start)
            .ok_or_else(|| self.corrupt(format!("page {pgid} header past end of file")))?;
        let id = page::u64_at(head.bytes, 0).unwrap_or(u64::MAX);
        if id != pgid {
            return Err(self.corrupt(format!("page {pgid} header says it is page {id}")));
        }
        if head.flags != BRANCH && head.flags != LEAF {
            return Err(
                self.corrupt(format!("page {pgid} has flags 0x{:02x}, expected a branch or leaf page", head.flags))
            );
        }
        let overflow = u64::from(page::u32_at(head.bytes, 12).unwrap_or(0));
        let last = pgid.checked_add(overflow).filter(|l| *l < hw).ok_or_else(|| {
            self.corrupt(format!("page {pgid} with {overflow} overflow pages runs past high water {hw}"))
        })?;
        let end = ((last + 1) * ps) as usize;
        Ok(PageView { bytes: &self.data[start..end], ..head })
    }

    /// Checks the chosen meta page against the file: high water within the file, root and
    /// freelist page ids in range, root page a branch or leaf page.
    fn check_meta(&self) -> Result<(), BoltError> {
        let m = self.meta;
        let len = self.data.len() as u64;
        let needed = m.high_water.checked_mul(u64::from(m.page_size));
        match needed {
            Some(n) if n <= len => {}
            Some(n) => return Err(BoltError::Truncated { path: self.path.clone(), len, needed: n }),
            None => return Err(self.corrupt(format!("high water page id {} overflows", m.high_water))),
        }
        if m.high_water < 3 {
            return Err(self.corrupt(format!("high water page id {} < 3", m.high_water)));
        }
        if m.freelist != NO_FREELIST && !(2..m.high_water).contains(&m.freelist) {
            return Err(
                self.corrupt(format!("freelist page {} out of range (high water {})", m.freelist, m.high_water))
            );
        }
        self.page(m.root).map_err(|e| match e {
            BoltError::Corrupt { path, reason } => {
                BoltError::Corrupt { path, reason: format!("root bucket: {reason}") }
            }
            other => other,
        })?;
        Ok(())
    }
}

/// Validates both meta pages and returns the valid one with the higher txid.
fn choose_meta(path: &Path, data: &[u8]) -> Result<Meta, BoltError> {
    let len = data.len() as u64;
    let not_bbolt = |reason: String| BoltError::NotBbolt { path: path.to_path_buf(), reason };
    if data.is_empty() {
        return Err(not_bbolt("empty file".into()));
    }
    let m0 = parse_meta(data, 0);
    if let Err(MetaProblem::Short) = m0 {
        if page::u32_at(data, PAGE_HEADER) == Some(page::MAGIC) {
            let ps = page::u32_at(data, PAGE_HEADER + 8).unwrap_or(0);
            let needed =
                if page::sane_page_size(ps) { 2 * u64::from(ps) } else { (PAGE_HEADER + page::META_LEN) as u64 };
            return Err(BoltError::Truncated { path: path.to_path_buf(), len, needed });
        }
        return Err(not_bbolt(format!("{len} bytes, too short for a meta page")));
    }
    // The second meta page sits one page in; its position must agree with its page size.
    let m1_at = |ps: u32| match parse_meta(data, ps as usize) {
        Ok(m) if m.page_size == ps => Ok(m),
        Ok(m) => Err(MetaProblem::BadPageSize(m.page_size)),
        Err(p) => Err(p),
    };
    let m1 = match m0 {
        Ok(m) => {
            let needed = 2 * u64::from(m.page_size);
            if len < needed {
                return Err(BoltError::Truncated { path: path.to_path_buf(), len, needed });
            }
            m1_at(m.page_size)
        }
        Err(_) => {
            // Page size unknown: try every candidate, as bbolt does when meta 0 is damaged.
            let mut found = Err(MetaProblem::Short);
            let mut ps = page::MIN_PAGE_SIZE;
            while ps <= page::MAX_PAGE_SIZE {
                match m1_at(ps) {
                    Ok(m) if 2 * u64::from(ps) <= len => {
                        found = Ok(m);
                        break;
                    }
                    Ok(_) => {}
                    Err(MetaProblem::BadMagic(_) | MetaProblem::Short) => {}
                    Err(p) => found = Err(p),
                }
                ps *= 2;
            }
            found
        }
    };
    match (m0, m1) {
        (Ok(a), Ok(b)) => Ok(if b.txid > a.txid { b } else { a }),
        (Ok(a), Err(_)) => Ok(a),
        (Err(_), Ok(b)) => Ok(b),
        (Err(MetaProblem::BadMagic(m)), Err(MetaProblem::BadMagic(_) | MetaProblem::Short)) => {
            Err(not_bbolt(format!("bad magic 0x{m:08x} in both meta pages")))
        }
        (Err(MetaProblem::BadVersion(v)), Err(_)) => {
            Err(BoltError::UnsupportedVersion { path: path.to_path_buf(), version: v })
        }
        (Err(a), Err(b)) => Err(BoltError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("both meta pages invalid: meta 0: {a}; meta 1: {b}"),
        }),
    }
}
