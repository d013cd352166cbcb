//! Where a state change is decided, and nowhere else: the state types, the transition graphs and
//! policies, the conditions of conditional updates, and both stores' steps as pure functions of
//! (record, request, policy, now). The stores (`compute/tx.rs`, `jobstore/tx.rs`) call these
//! steps and then only write what they decided; no clock is read and nothing is stored here.
//!
//! | file | what |
//! | --- | --- |
//! | `state.rs` | every state enum, its integer and name forms |
//! | `transition.rs` | the strict graphs (the default) and the permissive policy (Bacalhau exactly) |
//! | `condition.rs` | expected states / revision / unexpected states / terminal, in SPEC §2.8 order |
//! | `compute.rs` | the compute store's step: `decide_state_update`, `apply_state_update` |
//! | `jobs.rs` | the job store's steps: `apply_job_update`, `apply_execution_update`, `apply_evaluation_update` |
//! | `requests.rs` | the job store's update requests (the compute store's is in `compute.rs`) |

pub mod condition;
pub mod state;
pub mod transition;

pub(crate) mod compute;
pub(crate) mod jobs;
pub(crate) mod requests;
