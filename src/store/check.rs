//! The consistency check's parts: index and count differences, the log's continuity, the report.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::StorageError;
use crate::event::StoredEvent;
use crate::kv::{Direction, KeyRange, ReadTxn, Table};

use super::LogTables;

/// Compares an index table with the entries the records imply, both ways, naming each
/// difference.
pub(crate) fn diff_index<T: ReadTxn>(
    txn: &T,
    table: Table<()>,
    expected: &alloc::collections::BTreeSet<Vec<u8>>,
    problems: &mut Vec<String>,
) -> Result<(), StorageError> {
    let mut seen = alloc::collections::BTreeSet::new();
    txn.scan_keys(table, KeyRange::ALL, Direction::Forward, &mut |k| {
        if !expected.contains(k) {
            problems.push(alloc::format!("{}: entry {} points at no matching record", table.name(), show_key(k)));
        }
        seen.insert(k.to_vec());
        Ok(problems.len() < 1000)
    })?;
    for k in expected.difference(&seen) {
        problems.push(alloc::format!("{}: missing entry {}", table.name(), show_key(k)));
    }
    Ok(())
}

/// Records per state, indexed by the state's byte (the key of the count tables), as a check
/// recomputes them. An array rather than a map: the wasm package then holds no `BTreeMap<u8, _>`
/// insertion and rebalancing code for this one use (~9 KB).
pub(crate) type StateCounts = [u64; 256];

/// Compares stored per-state counts with the counts the records imply (`expected`, where 0
/// means no entry: a stored zero count is a difference too).
pub(crate) fn diff_counts<T: ReadTxn>(
    txn: &T,
    table: Table<u64>,
    expected: &StateCounts,
    pending: impl Iterator<Item = (u8, u64)>,
    problems: &mut Vec<String>,
) -> Result<(), StorageError> {
    let mut stored: [Option<u64>; 256] = [None; 256];
    txn.scan(table, KeyRange::ALL, Direction::Forward, &mut |k, v| {
        stored[usize::from(k.first().copied().unwrap_or(u8::MAX))] = Some(v);
        Ok(true)
    })?;
    for (state, n) in pending {
        stored[usize::from(state)] = (n > 0).then_some(n);
    }
    let expected: [Option<u64>; 256] = core::array::from_fn(|s| (expected[s] > 0).then_some(expected[s]));
    if stored != expected {
        problems.push(alloc::format!(
            "{}: stored counts {} differ from the records' {}",
            table.name(),
            show_counts(&stored),
            show_counts(&expected)
        ));
    }
    Ok(())
}

/// `{state: count, ...}`, as the counts' map used to print.
fn show_counts(counts: &[Option<u64>; 256]) -> String {
    let entries: Vec<String> =
        counts.iter().enumerate().filter_map(|(s, n)| Some(alloc::format!("{s}: {}", (*n)?))).collect();
    alloc::format!("{{{}}}", entries.join(", "))
}

/// Checks that the event log is gap-free and ends at the counter's value `last`.
pub(crate) fn check_log<T: ReadTxn>(
    txn: &T,
    log: &LogTables,
    last: u64,
    problems: &mut Vec<String>,
) -> Result<u64, StorageError> {
    let mut prev: Option<u64> = None;
    let mut count = 0;
    txn.scan(log.events, KeyRange::ALL, Direction::Forward, &mut |_, e: StoredEvent| {
        if let Some(p) = prev {
            if e.seq_num != p + 1 {
                problems.push(alloc::format!("events: gap between {p} and {}", e.seq_num));
            }
        }
        prev = Some(e.seq_num);
        count += 1;
        Ok(true)
    })?;
    if let Some(p) = prev {
        if p != last {
            problems.push(alloc::format!("events: log ends at {p} but the sequence counter is {last}"));
        }
    }
    Ok(count)
}

/// A printable form of a key for reports: text where it is text, hex bytes otherwise.
pub(crate) fn show_key(k: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::new();
    for &b in k {
        if b.is_ascii_graphic() {
            s.push(b as char);
        } else {
            let _ = write!(s, "\\x{b:02x}");
        }
    }
    s
}

/// The result of a consistency check.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Primary records checked.
    pub records: u64,
    /// History entries checked.
    pub history_entries: u64,
    /// Events checked.
    pub events: u64,
    /// Every inconsistency found (empty when the store is consistent).
    pub problems: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_differences_are_reported_with_both_sides_and_pending_counts_override_stored_ones() {
        use crate::kv::memory::MemoryBackend;
        use crate::kv::{Backend as _, WriteTxn as _};
        const COUNTS: Table<u64> = Table::new(1, "counts");
        let db = MemoryBackend::new();
        let mut txn = db.begin_write(crate::kv::Durability::None).unwrap();
        txn.put(COUNTS, &[1], 3).unwrap();
        txn.put(COUNTS, &[4], 0).unwrap();
        let mut expected: StateCounts = [0; 256];
        expected[1] = 3;
        let diff = |expected: &StateCounts, pending: &[(u8, u64)]| {
            let mut problems = Vec::new();
            diff_counts(&txn, COUNTS, expected, pending.iter().copied(), &mut problems).unwrap();
            problems
        };
        // A stored zero count is an entry the records do not imply.
        assert_eq!(diff(&expected, &[]), ["counts: stored counts {1: 3, 4: 0} differ from the records' {1: 3}"]);
        assert!(diff(&expected, &[(4, 0)]).is_empty());
        expected[2] = 7;
        assert_eq!(diff(&expected, &[(4, 0)]), ["counts: stored counts {1: 3} differ from the records' {1: 3, 2: 7}"]);
        assert!(diff(&expected, &[(4, 0), (2, 7)]).is_empty());
    }
}
