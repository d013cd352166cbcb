//! The error type of the bbolt reader.

use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading a bbolt file or extracting Bacalhau records from it.
///
/// Every variant names the file. The reader never panics on malformed input: each structural
/// problem it detects becomes one of these values.
#[derive(Debug)]
#[non_exhaustive]
pub enum BoltError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not a bbolt database at all (empty, or no meta page carries the bbolt magic).
    NotBbolt {
        /// The file.
        path: PathBuf,
        /// Why it was rejected, e.g. `bad magic 0x00000000 in both meta pages`.
        reason: String,
    },
    /// The file looks like bbolt but is shorter than its own meta data says it must be.
    Truncated {
        /// The file.
        path: PathBuf,
        /// The file's length in bytes.
        len: u64,
        /// The least length the meta data requires.
        needed: u64,
    },
    /// A bbolt file written by a format version other than 2.
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version found in the meta page.
        version: u32,
    },
    /// A structural inconsistency: bad checksums in both meta pages, a page id out of range, a
    /// cycle, an element that runs past its page, keys out of order, and so on.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What was wrong, with the page id or bucket path where it was found.
        reason: String,
    },
    /// A stored value that should be a JSON document is not valid JSON.
    InvalidJson {
        /// The file.
        path: PathBuf,
        /// The `/`-joined bucket path holding the value.
        bucket: String,
        /// The key of the value (lossily decoded).
        key: String,
        /// The JSON parser's message.
        reason: String,
    },
    /// A key that should be an ID or a sequence number is not (not UTF-8, not decimal, ...).
    InvalidKey {
        /// The file.
        path: PathBuf,
        /// The `/`-joined bucket path holding the key.
        bucket: String,
        /// The key (lossily decoded, non-printable bytes escaped).
        key: String,
        /// What was expected.
        reason: String,
    },
    /// A valid bbolt file whose buckets do not have the Bacalhau v1.2 layout that was asked for.
    UnexpectedLayout {
        /// The file.
        path: PathBuf,
        /// What was found where, e.g. `missing root bucket "execution"`.
        reason: String,
    },
}

impl BoltError {
    /// A stable, machine-readable name for the kind of error (the variant name).
    pub fn code(&self) -> &'static str {
        match self {
            BoltError::Io { .. } => "Io",
            BoltError::NotBbolt { .. } => "NotBbolt",
            BoltError::Truncated { .. } => "Truncated",
            BoltError::UnsupportedVersion { .. } => "UnsupportedVersion",
            BoltError::Corrupt { .. } => "Corrupt",
            BoltError::InvalidJson { .. } => "InvalidJson",
            BoltError::InvalidKey { .. } => "InvalidKey",
            BoltError::UnexpectedLayout { .. } => "UnexpectedLayout",
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            BoltError::Io { path, .. }
            | BoltError::NotBbolt { path, .. }
            | BoltError::Truncated { path, .. }
            | BoltError::UnsupportedVersion { path, .. }
            | BoltError::Corrupt { path, .. }
            | BoltError::InvalidJson { path, .. }
            | BoltError::InvalidKey { path, .. }
            | BoltError::UnexpectedLayout { path, .. } => path,
        }
    }
}

impl fmt::Display for BoltError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoltError::Io { path, source } => {
                write!(f, "cannot read bbolt file {}: {source}", path.display())
            }
            BoltError::NotBbolt { path, reason } => {
                write!(f, "not a bbolt file: {}: {reason}", path.display())
            }
            BoltError::Truncated { path, len, needed } => {
                write!(f, "truncated bbolt file {}: {len} bytes, need at least {needed}", path.display())
            }
            BoltError::UnsupportedVersion { path, version } => write!(
                f,
                "unsupported bbolt file {}: format version {version} (only version 2 is supported)",
                path.display()
            ),
            BoltError::Corrupt { path, reason } => {
                write!(f, "corrupt bbolt file {}: {reason}", path.display())
            }
            BoltError::InvalidJson { path, bucket, key, reason } => {
                write!(f, "invalid JSON in bbolt file {} at bucket {bucket:?} key {key:?}: {reason}", path.display())
            }
            BoltError::InvalidKey { path, bucket, key, reason } => {
                write!(f, "invalid key in bbolt file {} at bucket {bucket:?}: key {key:?}: {reason}", path.display())
            }
            BoltError::UnexpectedLayout { path, reason } => {
                write!(f, "unexpected bucket layout in bbolt file {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for BoltError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BoltError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Renders a key for a message: UTF-8 text as is, other bytes as `\xNN` escapes.
pub(crate) fn show_key(key: &[u8]) -> String {
    key.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_variant() -> Vec<BoltError> {
        let p = || PathBuf::from("/x/y.db");
        let s = |t: &str| t.to_string();
        vec![
            BoltError::Io { path: p(), source: std::io::Error::new(std::io::ErrorKind::NotFound, "gone") },
            BoltError::NotBbolt { path: p(), reason: s("bad magic 0x00000000 in both meta pages") },
            BoltError::Truncated { path: p(), len: 4096, needed: 8192 },
            BoltError::UnsupportedVersion { path: p(), version: 1 },
            BoltError::Corrupt { path: p(), reason: s("page 17 out of range (high water 12)") },
            BoltError::InvalidJson { path: p(), bucket: s("execution"), key: s("e-1"), reason: s("EOF") },
            BoltError::InvalidKey {
                path: p(),
                bucket: s("execution-history/e-1"),
                key: s("x"),
                reason: s("not decimal"),
            },
            BoltError::UnexpectedLayout { path: p(), reason: s("missing root bucket \"execution\"") },
        ]
    }

    #[test]
    fn every_variant_has_a_distinct_code_and_a_distinct_message_naming_the_path() {
        let all = every_variant();
        let codes: std::collections::BTreeSet<_> = all.iter().map(|e| e.code()).collect();
        let msgs: std::collections::BTreeSet<_> = all.iter().map(|e| e.to_string()).collect();
        assert_eq!(codes.len(), all.len());
        assert_eq!(msgs.len(), all.len());
        for e in &all {
            assert!(e.to_string().contains("/x/y.db"), "{e}");
            assert_eq!(e.path(), Path::new("/x/y.db"));
        }
    }

    #[test]
    fn messages_read_as_documented() {
        let all = every_variant();
        assert_eq!(all[1].to_string(), "not a bbolt file: /x/y.db: bad magic 0x00000000 in both meta pages");
        assert_eq!(all[2].to_string(), "truncated bbolt file /x/y.db: 4096 bytes, need at least 8192");
        assert_eq!(all[4].to_string(), "corrupt bbolt file /x/y.db: page 17 out of range (high water 12)");
    }

    #[test]
    fn keys_with_non_utf8_bytes_are_escaped_for_messages() {
        assert_eq!(show_key(b"e-1"), "e-1");
        assert_eq!(show_key(&[0xff, b'a']), "\\xffa");
    }
}
