//! Every error code is distinct within its family and listed in the module's table of codes.
//! The matches below have no wildcard, so a new variant does not compile until it is listed.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;

fn storage() -> Vec<StorageError> {
    let all = vec![
        StorageError::Backend { detail: String::new() },
        StorageError::StorageFull { detail: String::new() },
        StorageError::Corrupt { table: "t", detail: String::new() },
        StorageError::Encode { detail: String::new() },
        StorageError::Reentrant,
        StorageError::CommitUncertain { cause: Box::new(StorageError::Reentrant) },
    ];
    for e in &all {
        match e {
            StorageError::Backend { .. }
            | StorageError::StorageFull { .. }
            | StorageError::Corrupt { .. }
            | StorageError::Encode { .. }
            | StorageError::Reentrant
            | StorageError::CommitUncertain { .. } => {}
        }
    }
    all
}

fn condition() -> Vec<ConditionError> {
    let (kind, id) = (RecordKind::Job, String::new());
    let all = vec![
        ConditionError::StateMismatch { kind, id: id.clone(), actual: "a", expected: vec![] },
        ConditionError::RevisionMismatch { kind, id: id.clone(), actual: 1, expected: 2 },
        ConditionError::UnexpectedState { kind, id: id.clone(), actual: "a" },
        ConditionError::AlreadyTerminal { kind, id, actual: "a", new: "b" },
    ];
    for e in &all {
        match e {
            ConditionError::StateMismatch { .. }
            | ConditionError::RevisionMismatch { .. }
            | ConditionError::UnexpectedState { .. }
            | ConditionError::AlreadyTerminal { .. } => {}
        }
    }
    all
}

fn transition() -> TransitionError {
    TransitionError { kind: RecordKind::Job, id: String::new(), field: "state", from: None, to: "x", strict: true }
}

fn validation() -> ValidationError {
    ValidationError { kind: RecordKind::Job, id: String::new(), problems: vec![] }
}

fn compute() -> Vec<ComputeError> {
    let id = String::new();
    let mut all = vec![
        ComputeError::ExecutionNotFound { id: id.clone() },
        ComputeError::ExecutionsNotFoundForJob { job_id: id.clone() },
        ComputeError::ExecutionAlreadyExists { id: id.clone() },
        ComputeError::ExecutionHistoryNotFound { id: id.clone() },
        ComputeError::AmbiguousId { prefix: id.clone(), matches: vec![] },
        ComputeError::Validation(validation()),
        ComputeError::InvalidTransition(transition()),
        ComputeError::InvalidArgument { field: "f", reason: id.clone() },
        ComputeError::InvalidToken { reason: id },
        ComputeError::Closed,
        ComputeError::Snapshot(SnapshotError::NotEmpty),
        ComputeError::Snapshot(SnapshotError::BadMagic),
    ];
    all.extend(condition().into_iter().map(ComputeError::Condition));
    all.extend(storage().into_iter().map(ComputeError::Storage));
    for e in &all {
        match e {
            ComputeError::ExecutionNotFound { .. }
            | ComputeError::ExecutionsNotFoundForJob { .. }
            | ComputeError::ExecutionAlreadyExists { .. }
            | ComputeError::ExecutionHistoryNotFound { .. }
            | ComputeError::AmbiguousId { .. }
            | ComputeError::Validation(_)
            | ComputeError::Condition(_)
            | ComputeError::InvalidTransition(_)
            | ComputeError::InvalidArgument { .. }
            | ComputeError::InvalidToken { .. }
            | ComputeError::Closed
            | ComputeError::Snapshot(_)
            | ComputeError::Storage(_) => {}
        }
    }
    all
}

fn jobs() -> Vec<JobStoreError> {
    let id = String::new();
    let mut all = vec![
        JobStoreError::JobNotFound { id: id.clone() },
        JobStoreError::JobAlreadyExists { id: id.clone() },
        JobStoreError::ExecutionNotFound { id: id.clone() },
        JobStoreError::ExecutionAlreadyExists { id: id.clone() },
        JobStoreError::EvaluationNotFound { id: id.clone() },
        JobStoreError::EvaluationAlreadyExists { id: id.clone() },
        JobStoreError::AmbiguousId { kind: RecordKind::Job, prefix: id.clone(), matches: vec![] },
        JobStoreError::Validation(validation()),
        JobStoreError::InvalidTransition(transition()),
        JobStoreError::InvalidArgument { field: "f", reason: id.clone() },
        JobStoreError::InvalidToken { reason: id },
        JobStoreError::Closed,
        JobStoreError::Snapshot(SnapshotError::NotEmpty),
        JobStoreError::Snapshot(SnapshotError::BadMagic),
    ];
    all.extend(condition().into_iter().map(JobStoreError::Condition));
    all.extend(storage().into_iter().map(JobStoreError::Storage));
    for e in &all {
        match e {
            JobStoreError::JobNotFound { .. }
            | JobStoreError::JobAlreadyExists { .. }
            | JobStoreError::ExecutionNotFound { .. }
            | JobStoreError::ExecutionAlreadyExists { .. }
            | JobStoreError::EvaluationNotFound { .. }
            | JobStoreError::EvaluationAlreadyExists { .. }
            | JobStoreError::AmbiguousId { .. }
            | JobStoreError::Validation(_)
            | JobStoreError::Condition(_)
            | JobStoreError::InvalidTransition(_)
            | JobStoreError::InvalidArgument { .. }
            | JobStoreError::InvalidToken { .. }
            | JobStoreError::Closed
            | JobStoreError::Snapshot(_)
            | JobStoreError::Storage(_) => {}
        }
    }
    all
}

/// The codes documented in the module's table (and the paragraph on open errors after it).
fn documented() -> Vec<&'static str> {
    let doc = include_str!("../error.rs");
    let head = &doc[doc.find("//! # Codes").expect("a table of codes")..doc.find("\nuse ").expect("imports")];
    head.split('`').skip(1).step_by(2).collect()
}

fn check(family: &str, codes: Vec<&'static str>) {
    let documented = documented();
    let mut seen = Vec::new();
    for code in codes {
        assert!(documented.contains(&code), "{family}: code {code} is not in the table of codes");
        assert!(!seen.contains(&code), "{family}: two variants share the code {code}");
        seen.push(code);
    }
}

#[test]
fn every_store_error_code_is_distinct_within_its_family_and_documented() {
    // The two snapshot samples share `SnapshotInvalid` on purpose (every malformed snapshot is
    // one code): keep one of them.
    let compute: Vec<_> = compute().iter().map(ComputeError::code).filter(|c| *c != "SnapshotInvalid").collect();
    let jobs: Vec<_> = jobs().iter().map(JobStoreError::code).filter(|c| *c != "SnapshotInvalid").collect();
    check("ComputeError", compute);
    check("JobStoreError", jobs);
    check("SnapshotError", vec![SnapshotError::NotEmpty.code(), SnapshotError::BadMagic.code()]);
}

#[cfg(feature = "std")]
#[test]
fn a_commit_uncertain_error_names_its_cause_as_its_source() {
    use core::error::Error as _;
    let e = ComputeError::Storage(StorageError::CommitUncertain { cause: Box::new(StorageError::Reentrant) });
    assert_eq!(e.source().map(alloc::string::ToString::to_string), Some(StorageError::Reentrant.to_string()));
    assert!(JobStoreError::Closed.source().is_none());
}
