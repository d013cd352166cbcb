//! Model-based tests: random operation sequences run against the real stores and against a
//! trivially correct reference model, compared after every step (counts, records, indexes,
//! history lengths, the event log and the store's own consistency check). Runs on the memory
//! backend and on redb. Proptest prints the failing sequence, and `proptest-regressions/` keeps
//! it for replay.
//!
//! The models use the permissive policy, whose rule is trivial to state independently (anything
//! but `Undefined` unless terminal); the strict graphs are tested exhaustively in
//! `src/transition.rs`.

#[path = "model/compute.rs"]
mod compute;
#[path = "model/jobs.rs"]
mod jobs;
