//! Transition policies (SPEC §2.8–§2.11).
//!
//! Upstream stores accept any new state unless the current one is terminal. That is the
//! [`Policy::Permissive`] policy here, kept so upstream's own test suites pass. The default,
//! [`Policy::Strict`], accepts exactly the transitions Bacalhau's callers drive:
//!
//! Compute-local (C1–C9):
//! ```text
//! create ──► Created | BidAccepted
//! Created     ──► BidAccepted | Cancelled | Failed
//! BidAccepted ──► Running | Cancelled | Failed
//! Running     ──► Running | Publishing | Completed | Cancelled | Failed
//! Publishing  ──► Completed | Cancelled | Failed
//! ```
//! Requester compute state (R1–R11):
//! ```text
//! create ──► New
//! New               ──► AskForBid | BidAccepted | AskForBidAccepted | AskForBidRejected
//!                       | Completed | Failed | Cancelled
//! AskForBid         ──► AskForBidAccepted | AskForBidRejected | Failed | Cancelled
//! AskForBidAccepted ──► BidAccepted | BidRejected | Completed | Failed | Cancelled
//! BidAccepted       ──► Completed | Failed | Cancelled
//! ```
//! Desired state: forward along `Pending → Running → Stopped` (staying put is allowed, so a
//! repeated stop is idempotent). Jobs (J1–J5): create → `Pending`; `Pending → Running`;
//! `Pending | Running → Completed | Failed | Stopped`. Evaluations: create → `blocked | pending`;
//! `blocked → pending | canceled`; `pending → blocked | complete | failed | canceled`.
//!
//! Both policies reject `Undefined` as a target (SPEC W-C7); unknown values cannot be
//! represented at all. Terminal states are checked before the policy, so a terminal record
//! reports `AlreadyTerminal`, not `InvalidTransition`.

use alloc::string::String;

use crate::error::{RecordKind, TransitionError};
use crate::state::{
    EvaluationStatus as E, ExecutionDesiredStateType as D, ExecutionStateType as X, JobStateType as J,
    LocalExecutionStateType as L,
};

/// Which transitions a store accepts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Policy {
    /// Only the transitions Bacalhau's callers drive (the default).
    #[default]
    Strict,
    /// Bacalhau's own rule: anything but `Undefined`, unless the record is terminal.
    Permissive,
}

fn local_allowed(from: Option<L>, to: L) -> bool {
    match from {
        None => matches!(to, L::Created | L::BidAccepted),
        Some(L::Created) => matches!(to, L::BidAccepted | L::Cancelled | L::Failed),
        Some(L::BidAccepted) => matches!(to, L::Running | L::Cancelled | L::Failed),
        Some(L::Running) => matches!(to, L::Running | L::Publishing | L::Completed | L::Cancelled | L::Failed),
        Some(L::Publishing) => matches!(to, L::Completed | L::Cancelled | L::Failed),
        Some(_) => false,
    }
}

fn compute_allowed(from: Option<X>, to: X) -> bool {
    match from {
        None => to == X::New,
        Some(X::New) => matches!(
            to,
            X::AskForBid
                | X::BidAccepted
                | X::AskForBidAccepted
                | X::AskForBidRejected
                | X::Completed
                | X::Failed
                | X::Cancelled
        ),
        Some(X::AskForBid) => matches!(to, X::AskForBidAccepted | X::AskForBidRejected | X::Failed | X::Cancelled),
        Some(X::AskForBidAccepted) => {
            matches!(to, X::BidAccepted | X::BidRejected | X::Completed | X::Failed | X::Cancelled)
        }
        Some(X::BidAccepted) => matches!(to, X::Completed | X::Failed | X::Cancelled),
        Some(_) => false,
    }
}

fn job_allowed(from: Option<J>, to: J) -> bool {
    match from {
        None => to == J::Pending,
        Some(J::Pending) => matches!(to, J::Running | J::Completed | J::Failed | J::Stopped),
        Some(J::Running) => matches!(to, J::Completed | J::Failed | J::Stopped),
        Some(_) => false,
    }
}

fn eval_allowed(from: Option<E>, to: E) -> bool {
    match from {
        None => matches!(to, E::Blocked | E::Pending),
        Some(E::Blocked) => matches!(to, E::Pending | E::Canceled),
        Some(E::Pending) => matches!(to, E::Blocked | E::Complete | E::Failed | E::Canceled),
        Some(_) => false,
    }
}

struct Check<'a> {
    policy: Policy,
    kind: RecordKind,
    id: &'a str,
    field: &'static str,
    from: Option<&'static str>,
    to: &'static str,
}

impl Check<'_> {
    fn decide(self, undefined: bool, allowed: bool) -> Result<(), TransitionError> {
        let strict = self.policy == Policy::Strict;
        if undefined || (strict && !allowed) {
            return Err(TransitionError {
                kind: self.kind,
                id: String::from(self.id),
                field: self.field,
                from: self.from,
                to: self.to,
                strict,
            });
        }
        Ok(())
    }
}

impl Policy {
    /// A compute-local state change (`from` is `None` on create).
    pub fn check_local(self, id: &str, from: Option<L>, to: L) -> Result<(), TransitionError> {
        let c = Check {
            policy: self,
            kind: RecordKind::LocalExecution,
            id,
            field: "state",
            from: from.map(L::name),
            to: to.name(),
        };
        c.decide(to == L::Undefined, local_allowed(from, to))
    }

    /// A requester execution's compute-state change (`from` is `None` on create).
    pub fn check_compute(self, id: &str, from: Option<X>, to: X) -> Result<(), TransitionError> {
        let c = Check {
            policy: self,
            kind: RecordKind::Execution,
            id,
            field: "compute state",
            from: from.map(X::name),
            to: to.name(),
        };
        c.decide(to == X::Undefined, compute_allowed(from, to))
    }

    /// A requester execution's desired-state change.
    pub fn check_desired(self, id: &str, from: D, to: D) -> Result<(), TransitionError> {
        let c = Check {
            policy: self,
            kind: RecordKind::Execution,
            id,
            field: "desired state",
            from: Some(from.name()),
            to: to.name(),
        };
        c.decide(false, to >= from)
    }

    /// A job state change (`from` is `None` on create).
    pub fn check_job(self, id: &str, from: Option<J>, to: J) -> Result<(), TransitionError> {
        let c =
            Check { policy: self, kind: RecordKind::Job, id, field: "state", from: from.map(J::name), to: to.name() };
        c.decide(to == J::Undefined, job_allowed(from, to))
    }

    /// An evaluation status change (`from` is `None` on create).
    pub fn check_evaluation(self, id: &str, from: Option<E>, to: E) -> Result<(), TransitionError> {
        let c = Check {
            policy: self,
            kind: RecordKind::Evaluation,
            id,
            field: "status",
            from: from.map(E::name),
            to: to.name(),
        };
        c.decide(false, eval_allowed(from, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_compute_local_policy_accepts_exactly_the_caller_edges() {
        let edges = [
            (None, L::Created),
            (None, L::BidAccepted),
            (Some(L::Created), L::BidAccepted),
            (Some(L::Created), L::Cancelled),
            (Some(L::BidAccepted), L::Running),
            (Some(L::Running), L::Running),
            (Some(L::Running), L::Publishing),
            (Some(L::Running), L::Completed),
            (Some(L::Publishing), L::Completed),
        ];
        let nonterminal = [L::Created, L::BidAccepted, L::Running, L::Publishing];
        let mut accepted = 0;
        for from in core::iter::once(None).chain(L::ALL.iter().copied().map(Some)) {
            for &to in L::ALL {
                let expected = edges.contains(&(from, to))
                    || (from.is_some_and(|f| nonterminal.contains(&f)) && matches!(to, L::Failed | L::Cancelled));
                let got = Policy::Strict.check_local("e", from, to).is_ok();
                assert_eq!(got, expected, "{from:?} -> {to:?}");
                accepted += usize::from(got);
            }
        }
        assert_eq!(accepted, 9 + 8 - 1); // C4 (Created -> Cancelled) is counted once
    }

    #[test]
    fn permissive_policy_accepts_backward_moves_but_never_undefined() {
        assert!(Policy::Permissive.check_local("e", Some(L::BidAccepted), L::Created).is_ok());
        assert!(Policy::Strict.check_local("e", Some(L::BidAccepted), L::Created).is_err());
        let e = Policy::Permissive.check_local("e-1", Some(L::Running), L::Undefined).unwrap_err();
        assert!(!e.strict);
        assert_eq!(e.from, Some("Running"));
        assert!(Policy::Permissive.check_job("j", Some(J::Pending), J::Pending).is_ok());
        assert!(Policy::Strict.check_job("j", Some(J::Pending), J::Pending).is_err());
    }

    #[test]
    fn desired_state_moves_only_forward_under_the_strict_policy() {
        assert!(Policy::Strict.check_desired("e", D::Pending, D::Running).is_ok());
        assert!(Policy::Strict.check_desired("e", D::Running, D::Stopped).is_ok());
        assert!(Policy::Strict.check_desired("e", D::Stopped, D::Stopped).is_ok());
        assert!(Policy::Strict.check_desired("e", D::Running, D::Pending).is_err());
        assert!(Policy::Permissive.check_desired("e", D::Running, D::Pending).is_ok());
    }

    #[test]
    fn transition_errors_name_the_record_and_both_states() {
        let e = Policy::Strict.check_compute("e-7", Some(X::BidAccepted), X::New).unwrap_err();
        let text = alloc::format!("{e}");
        assert!(text.contains("e-7") && text.contains("BidAccepted -> New") && text.contains("strict"), "{text}");
    }
}
