//! On-disk structures of bbolt format version 2 (etcd-io/bbolt v1.3.x), decoded with bounds checks.
//!
//! Layout (all little-endian):
//!
//! * page header, 16 bytes: `id u64`, `flags u16`, `count u16`, `overflow u32`;
//! * meta (pages 0 and 1, right after the header): `magic u32`, `version u32`, `page_size u32`,
//!   `flags u32`, root bucket `{root u64, sequence u64}`, `freelist u64`, `pgid u64` (high water),
//!   `txid u64`, `checksum u64` (FNV-1a 64 over the 56 bytes before it);
//! * leaf element, 16 bytes: `flags u32`, `pos u32`, `ksize u32`, `vsize u32`, where `pos` is the
//!   distance from the element to its key and the value follows the key;
//! * branch element, 16 bytes: `pos u32`, `ksize u32`, `pgid u64`.

/// The bbolt magic number, at byte 16 of each meta page.
pub(crate) const MAGIC: u32 = 0xED0C_DAED;
/// The only supported format version.
pub(crate) const VERSION: u32 = 2;
/// Size of a page header.
pub(crate) const PAGE_HEADER: usize = 16;
/// Size of a leaf or branch element.
pub(crate) const ELEMENT: usize = 16;
/// Size of the meta struct up to and including the checksum.
pub(crate) const META_LEN: usize = 64;
/// Bytes covered by the meta checksum.
const META_CHECKSUMMED: usize = 56;
/// Smallest and largest page size accepted.
pub(crate) const MIN_PAGE_SIZE: u32 = 512;
/// Largest page size accepted.
pub(crate) const MAX_PAGE_SIZE: u32 = 65536;
/// Page flag of a branch page.
pub(crate) const BRANCH: u16 = 0x01;
/// Page flag of a leaf page.
pub(crate) const LEAF: u16 = 0x02;
/// Leaf element flag marking a nested bucket.
pub(crate) const BUCKET_LEAF: u32 = 0x01;
/// Freelist page id meaning "no freelist persisted".
pub(crate) const NO_FREELIST: u64 = u64::MAX;

/// Reads a little-endian `u16` at `at`, or `None` past the end.
pub(crate) fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// Reads a little-endian `u32` at `at`, or `None` past the end.
pub(crate) fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(s);
    Some(u32::from_le_bytes(a))
}

/// Reads a little-endian `u64` at `at`, or `None` past the end.
pub(crate) fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// FNV-1a, 64-bit (Go's `hash/fnv.New64a`).
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A decoded, validated meta page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub page_size: u32,
    pub root: u64,
    pub root_sequence: u64,
    pub freelist: u64,
    pub high_water: u64,
    pub txid: u64,
}

/// Why a meta page was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaProblem {
    Short,
    BadMagic(u32),
    BadVersion(u32),
    BadPageSize(u32),
    BadChecksum { stored: u64, computed: u64 },
}

impl core::fmt::Display for MetaProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MetaProblem::Short => f.write_str("meta page cut short"),
            MetaProblem::BadMagic(m) => write!(f, "bad magic 0x{m:08x}"),
            MetaProblem::BadVersion(v) => write!(f, "unsupported version {v}"),
            MetaProblem::BadPageSize(p) => write!(f, "bad page size {p}"),
            MetaProblem::BadChecksum { stored, computed } => {
                write!(f, "checksum mismatch (stored 0x{stored:016x}, computed 0x{computed:016x})")
            }
        }
    }
}

/// Whether `n` is a page size this reader accepts: a power of two in 512..=65536.
pub(crate) fn sane_page_size(n: u32) -> bool {
    n.is_power_of_two() && (MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&n)
}

/// Decodes and validates the meta page starting at byte `offset` of the file.
pub(crate) fn parse_meta(data: &[u8], offset: usize) -> Result<Meta, MetaProblem> {
    let start = offset.checked_add(PAGE_HEADER).ok_or(MetaProblem::Short)?;
    let end = start.checked_add(META_LEN).ok_or(MetaProblem::Short)?;
    let m = data.get(start..end).ok_or(MetaProblem::Short)?;
    let r32 = |at| u32_at(m, at).ok_or(MetaProblem::Short);
    let r64 = |at| u64_at(m, at).ok_or(MetaProblem::Short);
    let magic = r32(0)?;
    if magic != MAGIC {
        return Err(MetaProblem::BadMagic(magic));
    }
    let version = r32(4)?;
    if version != VERSION {
        return Err(MetaProblem::BadVersion(version));
    }
    let stored = r64(META_CHECKSUMMED)?;
    let computed = fnv1a64(&m[..META_CHECKSUMMED]);
    if stored != computed {
        return Err(MetaProblem::BadChecksum { stored, computed });
    }
    let page_size = r32(8)?;
    if !sane_page_size(page_size) {
        return Err(MetaProblem::BadPageSize(page_size));
    }
    Ok(Meta {
        page_size,
        root: r64(16)?,
        root_sequence: r64(24)?,
        freelist: r64(32)?,
        high_water: r64(40)?,
        txid: r64(48)?,
    })
}

/// A branch or leaf page (or the inline page of a small bucket) as a bounded byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageView<'a> {
    /// The whole page including its header and overflow pages.
    pub bytes: &'a [u8],
    /// Absolute file offset of `bytes[0]`, for identifying inline buckets.
    pub offset: usize,
    /// Page flags (`BRANCH` or `LEAF`).
    pub flags: u16,
    /// Number of elements.
    pub count: u16,
}

/// One leaf element: key, value and flags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LeafElement<'a> {
    pub flags: u32,
    pub key: &'a [u8],
    pub value: &'a [u8],
    /// Absolute file offset of `value[0]`.
    pub value_offset: usize,
}

/// One branch element: the first key of the child and the child's page id.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BranchElement<'a> {
    pub key: &'a [u8],
    pub child: u64,
}

/// Why an element could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElementProblem {
    /// The element header lies past the end of the page.
    HeaderOutOfPage,
    /// The key or value lies (partly) past the end of the page.
    DataOutOfPage,
    /// Leaf flags other than 0 or `BUCKET_LEAF`.
    BadFlags(u32),
}

impl core::fmt::Display for ElementProblem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ElementProblem::HeaderOutOfPage => f.write_str("element header runs past the page"),
            ElementProblem::DataOutOfPage => f.write_str("element key/value runs past the page"),
            ElementProblem::BadFlags(x) => write!(f, "unknown leaf element flags 0x{x:x}"),
        }
    }
}

impl<'a> PageView<'a> {
    /// Decodes the header of the page that `bytes` starts with.
    pub fn new(bytes: &'a [u8], offset: usize) -> Option<PageView<'a>> {
        Some(PageView { bytes, offset, flags: u16_at(bytes, 8)?, count: u16_at(bytes, 10)? })
    }

    /// Start of element `i`'s header and the element's raw fields, bounds-checked.
    fn element(&self, i: u16) -> Result<(usize, u32, u32, u64), ElementProblem> {
        let at = PAGE_HEADER + usize::from(i) * ELEMENT;
        let a = u32_at(self.bytes, at).ok_or(ElementProblem::HeaderOutOfPage)?;
        let b = u32_at(self.bytes, at + 4).ok_or(ElementProblem::HeaderOutOfPage)?;
        let c = u64_at(self.bytes, at + 8).ok_or(ElementProblem::HeaderOutOfPage)?;
        Ok((at, a, b, c))
    }

    /// Slices `len` bytes at `start`, or fails if that leaves the page.
    fn slice(&self, start: usize, len: usize) -> Result<&'a [u8], ElementProblem> {
        let end = start.checked_add(len).ok_or(ElementProblem::DataOutOfPage)?;
        self.bytes.get(start..end).ok_or(ElementProblem::DataOutOfPage)
    }

    /// Leaf element `i`.
    pub fn leaf(&self, i: u16) -> Result<LeafElement<'a>, ElementProblem> {
        let (at, flags, pos, sizes) = self.element(i)?;
        if flags & !BUCKET_LEAF != 0 {
            return Err(ElementProblem::BadFlags(flags));
        }
        let ksize = (sizes & 0xffff_ffff) as usize;
        let vsize = (sizes >> 32) as usize;
        let kstart = at.checked_add(pos as usize).ok_or(ElementProblem::DataOutOfPage)?;
        let key = self.slice(kstart, ksize)?;
        let vstart = kstart + ksize;
        let value = self.slice(vstart, vsize)?;
        Ok(LeafElement { flags, key, value, value_offset: self.offset.saturating_add(vstart) })
    }

    /// Branch element `i`.
    pub fn branch(&self, i: u16) -> Result<BranchElement<'a>, ElementProblem> {
        let (at, pos, ksize, child) = self.element(i)?;
        let kstart = at.checked_add(pos as usize).ok_or(ElementProblem::DataOutOfPage)?;
        let key = self.slice(kstart, ksize as usize)?;
        Ok(BranchElement { key, child })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    fn meta_page(page_size: u32, txid: u64) -> Vec<u8> {
        let mut p = vec![0u8; page_size as usize];
        p[8..10].copy_from_slice(&4u16.to_le_bytes());
        let m = &mut p[PAGE_HEADER..PAGE_HEADER + META_LEN];
        m[0..4].copy_from_slice(&MAGIC.to_le_bytes());
        m[4..8].copy_from_slice(&VERSION.to_le_bytes());
        m[8..12].copy_from_slice(&page_size.to_le_bytes());
        m[16..24].copy_from_slice(&3u64.to_le_bytes());
        m[40..48].copy_from_slice(&4u64.to_le_bytes());
        m[48..56].copy_from_slice(&txid.to_le_bytes());
        let sum = fnv1a64(&m[..56]);
        m[56..64].copy_from_slice(&sum.to_le_bytes());
        p
    }

    #[test]
    fn a_well_formed_meta_page_decodes() {
        let p = meta_page(4096, 7);
        let m = parse_meta(&p, 0).unwrap();
        assert_eq!((m.page_size, m.root, m.high_water, m.txid), (4096, 3, 4, 7));
    }

    #[test]
    fn each_meta_field_problem_is_named() {
        let good = meta_page(4096, 7);
        let mut p = good.clone();
        p[16] ^= 1;
        assert!(matches!(parse_meta(&p, 0), Err(MetaProblem::BadMagic(_))));
        let mut p = good.clone();
        p[20] = 1;
        assert_eq!(parse_meta(&p, 0), Err(MetaProblem::BadVersion(1)));
        let mut p = good.clone();
        p[70] ^= 1;
        assert!(matches!(parse_meta(&p, 0), Err(MetaProblem::BadChecksum { .. })));
        assert_eq!(parse_meta(&good[..40], 0), Err(MetaProblem::Short));
        assert_eq!(parse_meta(&good, usize::MAX - 3), Err(MetaProblem::Short));
        let p = meta_page(1000, 1);
        assert_eq!(parse_meta(&p, 0), Err(MetaProblem::BadPageSize(1000)));
    }

    #[test]
    fn elements_that_leave_their_page_are_rejected() {
        let mut p = vec![0u8; 64];
        p[8..10].copy_from_slice(&LEAF.to_le_bytes());
        p[10..12].copy_from_slice(&2u16.to_le_bytes());
        // element 0: pos 32 (from 16 → key at 48), ksize 4, vsize 4 → ends at 56: fine
        p[20..24].copy_from_slice(&32u32.to_le_bytes());
        p[24..28].copy_from_slice(&4u32.to_le_bytes());
        p[28..32].copy_from_slice(&4u32.to_le_bytes());
        // element 1: pos u32::MAX
        p[36..40].copy_from_slice(&u32::MAX.to_le_bytes());
        let v = PageView::new(&p, 0).unwrap();
        let e = v.leaf(0).unwrap();
        assert_eq!((e.key.len(), e.value.len(), e.value_offset), (4, 4, 52));
        assert_eq!(v.leaf(1).unwrap_err(), ElementProblem::DataOutOfPage);
        assert_eq!(v.leaf(3).unwrap_err(), ElementProblem::HeaderOutOfPage);
        assert_eq!(v.branch(1).unwrap_err(), ElementProblem::DataOutOfPage);
    }
}
