//! The event log and checkpoints as both models check them against their store.

use std::collections::BTreeMap;

use bacalhau_state::event::Event;

/// What the model's log says the store must answer: every kept event, a page of two read on
/// from the middle, and each named checkpoint.
pub fn check_log(
    at: &str,
    (log, trimmed): (&[Event], u64),
    checkpoints: &BTreeMap<usize, u64>,
    names: &[&str],
    events_after: impl Fn(u64, u32) -> Vec<Event>,
    get_checkpoint: impl Fn(&str) -> Option<u64>,
) {
    assert_eq!(events_after(0, 0), log[trimmed as usize..], "{at}: events");
    let mid = trimmed + (log.len() as u64 - trimmed) / 2;
    let tail: Vec<Event> = log.iter().skip(mid as usize).take(2).cloned().collect();
    assert_eq!(events_after(mid, 2), tail, "{at}: events after {mid}");
    for (n, name) in names.iter().enumerate() {
        assert_eq!(get_checkpoint(name), checkpoints.get(&n).copied(), "{at}: checkpoint {name}");
    }
}
