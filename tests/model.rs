//! Model-based tests: random operation sequences run against the real stores and against a
//! trivially correct reference model (plain maps and vectors), compared after every step and
//! inside a transaction after every action of it: counts, every record field by field, every
//! index, each history entry and event by content (operation included), checkpoints, the error
//! code of every lookup, and the store's own consistency check. Runs on the memory backend and on
//! redb. Proptest prints the failing sequence, and the `*.proptest-regressions` files keep it for
//! replay. `PROPTEST_CASES` raises the case counts (never lowers them).
//!
//! The models use the permissive policy, whose rule is trivial to state independently (anything
//! but `Undefined` unless terminal); the strict graphs are tested exhaustively in
//! `src/transition.rs`.

#[path = "model/cases.rs"]
mod cases;
#[path = "model/compute.rs"]
mod compute;
#[path = "model/jobs.rs"]
mod jobs;
#[path = "model/log.rs"]
mod log;
