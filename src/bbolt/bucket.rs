//! Buckets: navigation over a bbolt B+tree (page-rooted or inline) with bounded, cycle-checked
//! traversal.

use std::collections::BTreeSet;

use super::error::show_key;
use super::page::{PageView, BRANCH, BUCKET_LEAF, LEAF, PAGE_HEADER};
use super::{BoltError, BoltFile};

/// Deepest B+tree (branch levels) accepted inside one bucket. A real bbolt tree of 2^64 keys is
/// far shallower.
const MAX_TREE_DEPTH: usize = 64;
/// Deepest bucket nesting accepted below the root bucket.
const MAX_BUCKET_DEPTH: usize = 64;
/// Size of a bucket header `{root u64, sequence u64}` inside a bucket value.
const BUCKET_HEADER: usize = 16;

/// Where a bucket's tree lives.
#[derive(Debug, Clone, Copy)]
enum Root<'a> {
    /// A B+tree rooted at a page.
    Page(u64),
    /// A small bucket stored inline in its parent's value: a single leaf page.
    Inline(PageView<'a>),
}

/// Identifies a bucket's tree within the file: its root page, or the file offset of its inline
/// page. In a well-formed file no two buckets share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum BucketId {
    Page(u64),
    Inline(usize),
}

/// A bucket of a [`BoltFile`]: an ordered map from byte keys to values or nested buckets.
#[derive(Debug, Clone)]
pub struct Bucket<'a> {
    file: &'a BoltFile,
    root: Root<'a>,
    sequence: u64,
    /// Names from the root bucket down, for messages and the nesting bound.
    names: Vec<&'a [u8]>,
    /// Trees of the enclosing buckets, to reject a bucket nested inside itself.
    ancestors: Vec<BucketId>,
}

/// One entry of a bucket, in key order.
#[derive(Debug, Clone)]
pub enum Entry<'a> {
    /// A key with a plain value.
    Value {
        /// The key.
        key: &'a [u8],
        /// The value (possibly empty).
        value: &'a [u8],
    },
    /// A key naming a nested bucket.
    Bucket {
        /// The nested bucket's name.
        key: &'a [u8],
        /// The nested bucket.
        bucket: Bucket<'a>,
    },
}

impl<'a> Entry<'a> {
    /// The entry's key.
    pub fn key(&self) -> &'a [u8] {
        match self {
            Entry::Value { key, .. } | Entry::Bucket { key, .. } => key,
        }
    }
}

impl<'a> Bucket<'a> {
    pub(crate) fn root(file: &'a BoltFile, pgid: u64, sequence: u64) -> Bucket<'a> {
        Bucket { file, root: Root::Page(pgid), sequence, names: Vec::new(), ancestors: Vec::new() }
    }

    /// The bucket's sequence counter (bbolt `NextSequence` state), from its header.
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// The bucket's `/`-joined path from the root (empty for the root bucket). Names that contain
    /// `/` make this ambiguous; it is meant for messages.
    pub fn path(&self) -> String {
        let parts: Vec<String> = self.names.iter().map(|n| show_key(n)).collect();
        parts.join("/")
    }

    /// The names from the root bucket down to this one.
    pub fn names(&self) -> &[&'a [u8]] {
        &self.names
    }

    pub(crate) fn id(&self) -> BucketId {
        match self.root {
            Root::Page(p) => BucketId::Page(p),
            Root::Inline(v) => BucketId::Inline(v.offset),
        }
    }

    fn corrupt(&self, what: impl std::fmt::Display) -> BoltError {
        self.file.corrupt(format!("bucket {:?}: {what}", self.path()))
    }

    /// The nested bucket `name`, if that key exists and is a bucket (`Ok(None)` when the key is
    /// absent or holds a plain value, as bbolt's `Bucket()` does).
    pub fn bucket(&self, name: &[u8]) -> Result<Option<Bucket<'a>>, BoltError> {
        match self.find(name)? {
            Some((key, flags, value, offset)) if flags & BUCKET_LEAF != 0 => self.child(key, value, offset).map(Some),
            _ => Ok(None),
        }
    }

    /// The value under `key`, if that key exists and is not a bucket (`Ok(None)` for a bucket, as
    /// bbolt's `Get()` does).
    pub fn get(&self, key: &[u8]) -> Result<Option<&'a [u8]>, BoltError> {
        match self.find(key)? {
            Some((_, flags, value, _)) if flags & BUCKET_LEAF == 0 => Ok(Some(value)),
            _ => Ok(None),
        }
    }

    /// Every entry, in key (byte) order. Fails on any malformed page, on keys out of order, and
    /// on a nested bucket whose header is malformed.
    pub fn entries(&self) -> Result<Vec<Entry<'a>>, BoltError> {
        let mut out = Vec::new();
        match self.root {
            Root::Inline(page) => self.leaf_entries(page, &mut out)?,
            Root::Page(pgid) => {
                let mut visited = BTreeSet::new();
                self.walk(pgid, 0, &mut visited, &mut out)?;
            }
        }
        for pair in out.windows(2) {
            if pair[0].key() >= pair[1].key() {
                return Err(self.corrupt(format!(
                    "keys out of order: {:?} before {:?}",
                    show_key(pair[0].key()),
                    show_key(pair[1].key())
                )));
            }
        }
        Ok(out)
    }

    fn walk(
        &self,
        pgid: u64,
        depth: usize,
        visited: &mut BTreeSet<u64>,
        out: &mut Vec<Entry<'a>>,
    ) -> Result<(), BoltError> {
        if depth > MAX_TREE_DEPTH {
            return Err(self.corrupt(format!("tree deeper than {MAX_TREE_DEPTH} levels")));
        }
        if !visited.insert(pgid) {
            return Err(self.corrupt(format!("page {pgid} reached twice (cycle)")));
        }
        let page = self.file.page(pgid)?;
        if page.flags == LEAF {
            return self.leaf_entries(page, out);
        }
        for i in 0..page.count {
            let e = page.branch(i).map_err(|p| self.corrupt(format!("page {pgid} element {i}: {p}")))?;
            self.walk(e.child, depth + 1, visited, out)?;
        }
        Ok(())
    }

    fn leaf_entries(&self, page: PageView<'a>, out: &mut Vec<Entry<'a>>) -> Result<(), BoltError> {
        for i in 0..page.count {
            let e = page.leaf(i).map_err(|p| self.corrupt(format!("page at {} element {i}: {p}", page.offset)))?;
            out.push(if e.flags & BUCKET_LEAF != 0 {
                Entry::Bucket { key: e.key, bucket: self.child(e.key, e.value, e.value_offset)? }
            } else {
                Entry::Value { key: e.key, value: e.value }
            });
        }
        Ok(())
    }

    /// Looks `key` up: descends branch pages by the last separator key `<= key`, then scans the
    /// leaf. Returns the key slice, element flags, value and value offset.
    #[allow(clippy::type_complexity)]
    fn find(&self, key: &[u8]) -> Result<Option<(&'a [u8], u32, &'a [u8], usize)>, BoltError> {
        let mut page = match self.root {
            Root::Inline(p) => p,
            Root::Page(pgid) => self.file.page(pgid)?,
        };
        let mut visited = BTreeSet::new();
        for _ in 0..=MAX_TREE_DEPTH {
            if page.flags == LEAF {
                for i in 0..page.count {
                    let e =
                        page.leaf(i).map_err(|p| self.corrupt(format!("page at {} element {i}: {p}", page.offset)))?;
                    if e.key == key {
                        return Ok(Some((e.key, e.flags, e.value, e.value_offset)));
                    }
                }
                return Ok(None);
            }
            let mut child = None;
            for i in 0..page.count {
                let e =
                    page.branch(i).map_err(|p| self.corrupt(format!("page at {} element {i}: {p}", page.offset)))?;
                if child.is_none() || e.key <= key {
                    child = Some(e.child);
                }
                if e.key > key {
                    break;
                }
            }
            let Some(child) = child else { return Ok(None) };
            if !visited.insert(child) {
                return Err(self.corrupt(format!("page {child} reached twice (cycle)")));
            }
            page = self.file.page(child)?;
        }
        Err(self.corrupt(format!("tree deeper than {MAX_TREE_DEPTH} levels")))
    }

    /// Builds the nested bucket stored under `name` from its value.
    fn child(&self, name: &'a [u8], value: &'a [u8], offset: usize) -> Result<Bucket<'a>, BoltError> {
        let bad = |what: &str| self.corrupt(format!("nested bucket {:?}: {what}", show_key(name)));
        if self.names.len() >= MAX_BUCKET_DEPTH {
            return Err(bad("buckets nested too deep"));
        }
        let (Some(root), Some(sequence)) = (super::page::u64_at(value, 0), super::page::u64_at(value, 8)) else {
            return Err(bad("value shorter than a bucket header"));
        };
        let root = if root == 0 {
            let bytes = &value[BUCKET_HEADER..];
            let view = PageView::new(bytes, offset.saturating_add(BUCKET_HEADER))
                .filter(|_| bytes.len() >= PAGE_HEADER)
                .ok_or_else(|| bad("inline page shorter than a page header"))?;
            if view.flags != LEAF {
                return Err(bad(&format!("inline page flags 0x{:02x}, expected a leaf", view.flags)));
            }
            Root::Inline(view)
        } else {
            let page = self.file.page(root)?;
            if page.flags != LEAF && page.flags != BRANCH {
                return Err(bad("root page is not a tree page"));
            }
            Root::Page(root)
        };
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.id());
        let child = Bucket {
            file: self.file,
            root,
            sequence,
            names: {
                let mut n = self.names.clone();
                n.push(name);
                n
            },
            ancestors,
        };
        if child.ancestors.contains(&child.id()) {
            return Err(bad("bucket nested inside itself (cycle)"));
        }
        Ok(child)
    }
}
