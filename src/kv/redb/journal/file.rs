//! The journal's file operations behind a small trait, so that a test disk can stand in for the
//! file and decide, at a simulated power cut, which unsynced bytes survive (tests/power_loss.rs).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

/// The operations the journal makes on its file. A journal that does not exist has size 0.
///
/// Durability contract (what the power-loss tests simulate): a write is durable only after a
/// later [`sync`](JournalFile::sync) returned `Ok`; until then a power cut may drop it, keep it,
/// or keep a prefix of it. [`replace`](JournalFile::replace) is atomic and durable.
pub trait JournalFile: Send + Sync + fmt::Debug {
    /// Current length in bytes; 0 when the journal does not exist.
    fn size(&self) -> io::Result<u64>;
    /// Fills `buf` from offset `at`; an error if the file is shorter.
    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `data` at offset `at`, extending the file if needed.
    fn write_at(&self, at: u64, data: &[u8]) -> io::Result<()>;
    /// Makes every earlier write durable, with the file's length.
    fn sync(&self) -> io::Result<()>;
    /// Replaces the whole file with `bytes`: after a crash it holds the old content or `bytes`,
    /// never a mix, and `bytes` is durable when this returns.
    fn replace(&self, bytes: &[u8]) -> io::Result<()>;
    /// Truncates to `len` bytes (only ever to shrink an empty journal) and syncs.
    fn truncate(&self, len: u64) -> io::Result<()>;
}

/// The journal beside a store file, `<store>.journal`.
pub(crate) struct PathJournal {
    path: PathBuf,
    /// `None` while no file exists at `path`.
    file: RwLock<Option<File>>,
}

impl fmt::Debug for PathJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathJournal").field("path", &self.path).finish()
    }
}

impl PathJournal {
    /// Opens the journal at `path` if there is one.
    pub fn open(path: PathBuf) -> io::Result<PathJournal> {
        let file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(PathJournal { path, file: RwLock::new(file) })
    }

    fn file(&self) -> io::Result<RwLockReadGuard<'_, Option<File>>> {
        let guard = self.file.read().unwrap_or_else(|e| e.into_inner());
        match *guard {
            Some(_) => Ok(guard),
            None => Err(io::Error::new(io::ErrorKind::NotFound, "the journal does not exist")),
        }
    }
}

fn with<R>(guard: &Option<File>, f: impl FnOnce(&File) -> io::Result<R>) -> io::Result<R> {
    f(guard.as_ref().expect("PathJournal::file returns only a guard holding a file"))
}

impl JournalFile for PathJournal {
    fn size(&self) -> io::Result<u64> {
        match &*self.file.read().unwrap_or_else(|e| e.into_inner()) {
            Some(file) => Ok(file.metadata()?.len()),
            None => Ok(0),
        }
    }

    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        with(&*self.file()?, |f| read_exact_at(f, buf, at))
    }

    fn write_at(&self, at: u64, data: &[u8]) -> io::Result<()> {
        with(&*self.file()?, |f| write_all_at(f, data, at))
    }

    fn sync(&self) -> io::Result<()> {
        with(&*self.file()?, File::sync_data)
    }

    /// Writes `bytes` to `<journal>.creating`, syncs it, renames it over the journal and syncs
    /// the directory.
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".creating");
        let tmp = PathBuf::from(tmp);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&tmp)?;
        write_all_at(&file, bytes, 0)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            super::super::sync_dir(if dir.as_os_str().is_empty() { Path::new(".") } else { dir });
        }
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = Some(file);
        Ok(())
    }

    fn truncate(&self, len: u64) -> io::Result<()> {
        with(&*self.file()?, |f| {
            f.set_len(len)?;
            f.sync_all()
        })
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, at)
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, at)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut at: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, at)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                at += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(windows)]
fn write_all_at(file: &File, mut buf: &[u8], mut at: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_write(buf, at)?;
        buf = &buf[n..];
        at += n as u64;
    }
    Ok(())
}

/// A journal kept in memory, for a store opened over a custom redb backend
/// ([`RedbBackend::open_with_backend`](super::super::RedbBackend::open_with_backend)) in tests
/// and fuzzing. Clones share the bytes, so a test can reopen "the same file"; every write is
/// durable at once.
#[derive(Clone, Debug, Default)]
pub struct MemoryJournal(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl MemoryJournal {
    /// A copy of the bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.lock().clone()
    }

    /// Replaces the bytes (a test that damages or swaps a journal).
    pub fn set_bytes(&self, bytes: Vec<u8>) {
        *self.lock() = bytes;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl JournalFile for MemoryJournal {
    fn size(&self) -> io::Result<u64> {
        Ok(self.lock().len() as u64)
    }
    fn read_at(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        let bytes = self.lock();
        let start = usize::try_from(at).map_err(|_| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        let src = start.checked_add(buf.len()).and_then(|end| bytes.get(start..end));
        buf.copy_from_slice(src.ok_or(io::ErrorKind::UnexpectedEof)?);
        Ok(())
    }
    fn write_at(&self, at: u64, data: &[u8]) -> io::Result<()> {
        let mut bytes = self.lock();
        let start = usize::try_from(at).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        let end = start + data.len();
        if bytes.len() < end {
            bytes.resize(end, 0);
        }
        bytes[start..end].copy_from_slice(data);
        Ok(())
    }
    fn sync(&self) -> io::Result<()> {
        Ok(())
    }
    fn replace(&self, bytes: &[u8]) -> io::Result<()> {
        self.set_bytes(bytes.to_vec());
        Ok(())
    }
    fn truncate(&self, len: u64) -> io::Result<()> {
        self.lock().truncate(len as usize);
        Ok(())
    }
}
