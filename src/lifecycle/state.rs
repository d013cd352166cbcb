//! The state enumerations of SPEC §2, with their on-disk encodings.
//!
//! Discriminants are explicit and part of every format we write: never renumber (SPEC W-J22,
//! upstream broke its files by inserting states in the middle). Each enum serializes the way
//! Bacalhau's JSON does (job states and history types as names, execution states as integers) and
//! deserializes from either form, so records taken from Bacalhau API responses, files or JS callers
//! all load. Unknown names and out-of-range integers are rejected, never mapped to `Undefined`.

use core::fmt;

macro_rules! state_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $label:literal, serialize as $form:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u8)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every value, in discriminant order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable integer encoding.
            pub const fn as_u8(self) -> u8 {
                self as u8
            }

            /// Decodes the stable integer encoding.
            pub const fn from_u8(value: u8) -> Option<Self> {
                match value {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The canonical name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }

            /// Parses a name, ignoring ASCII case and surrounding whitespace.
            pub fn from_name(name: &str) -> Option<Self> {
                let name = name.trim();
                $( if name.eq_ignore_ascii_case($text) { return Some($name::$variant); } )+
                None
            }
        }

        /// The zero value (discriminant 0), as Go's zero value.
        impl Default for $name {
            fn default() -> Self {
                Self::ALL[0]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl core::str::FromStr for $name {
            type Err = UnknownState;
            fn from_str(s: &str) -> Result<Self, UnknownState> {
                Self::from_name(s).ok_or(UnknownState { kind: $label })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                state_enum!(@ser $form, self, s)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const NAMES: &[&str] = &[$($text),+];
                let i = d.deserialize_any(StateVisitor { label: $label, names: NAMES })?;
                // The visitor only returns indexes of `NAMES`, which lists every value in
                // discriminant order (the discriminants are dense from 0).
                Self::ALL.get(usize::from(i)).copied().ok_or_else(|| {
                    <D::Error as serde::de::Error>::custom(format_args!("unknown {} value {}", $label, i))
                })
            }
        }
    };
    (@ser name, $self:ident, $s:ident) => { $s.serialize_str($self.name()) };
    (@ser int, $self:ident, $s:ident) => { $s.serialize_u8($self.as_u8()) };
}

/// The deserializing visitor of every state enum, shared so that the module holds one copy of
/// it (and of the decoder's `deserialize_any` for it) instead of one per enum. Accepts a name
/// (ignoring ASCII case and surrounding whitespace) or an integer; returns the index into
/// `names`, which is the discriminant.
struct StateVisitor {
    label: &'static str,
    names: &'static [&'static str],
}

impl serde::de::Visitor<'_> for StateVisitor {
    type Value = u8;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {} name or integer", self.label)
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u8, E> {
        match u8::try_from(v) {
            Ok(i) if usize::from(i) < self.names.len() => Ok(i),
            _ => Err(E::custom(format_args!("unknown {} value {}", self.label, v))),
        }
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u8, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format_args!("unknown {} value {}", self.label, v))),
        }
    }
    // 128-bit integers (CBOR bignums, negatives below -2^64) take the 64-bit paths when they fit;
    // the rest are named without their digits, which keeps 128-bit formatting (serde's default
    // message) out of the wasm module (1.2 KB gzipped together with the bindings' share).
    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<u8, E> {
        match i64::try_from(v) {
            Ok(v) => self.visit_i64(v),
            Err(_) => Err(E::custom(format_args!("unknown {} value: an integer beyond 64 bits", self.label))),
        }
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<u8, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(format_args!("unknown {} value: an integer beyond 64 bits", self.label))),
        }
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<u8, E> {
        if (0.0..=255.0).contains(&v) && (v as u8) as f64 == v {
            self.visit_u64(v as u64)
        } else {
            Err(E::custom(format_args!("unknown {} value {}", self.label, crate::error::quote::Float(v))))
        }
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u8, E> {
        let name = v.trim();
        match self.names.iter().position(|n| name.eq_ignore_ascii_case(n)) {
            Some(i) => Ok(i as u8),
            None => Err(E::custom(format_args!("unknown {} {}", self.label, crate::error::Quoted(v)))),
        }
    }
}

/// A name that matches no value of a state enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownState {
    /// Which enum was being parsed.
    pub kind: &'static str,
}

impl fmt::Display for UnknownState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {}", self.kind)
    }
}

impl core::error::Error for UnknownState {}

state_enum! {
    /// Requester job state (SPEC §2.1). JSON: the name.
    JobStateType, "job state", serialize as name {
        /// Never stored: creation forces `Pending`.
        Undefined = 0 => "Undefined",
        /// Submitted, not yet running.
        Pending = 1 => "Pending",
        /// At least one execution is wanted running.
        Running = 2 => "Running",
        /// Finished successfully (terminal).
        Completed = 3 => "Completed",
        /// Failed (terminal).
        Failed = 4 => "Failed",
        /// Stopped by a user or housekeeping (terminal).
        Stopped = 5 => "Stopped",
    }
}

impl JobStateType {
    /// `Completed`, `Failed` and `Stopped` accept no further update.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Stopped)
    }
}

state_enum! {
    /// The requester's view of an execution's compute state (SPEC §2.2). JSON: the integer.
    ExecutionStateType, "execution state", serialize as int {
        /// Not a real state.
        Undefined = 0 => "Undefined",
        /// Created by the scheduler, not yet sent to a node.
        New = 1 => "New",
        /// The node has been asked to bid.
        AskForBid = 2 => "AskForBid",
        /// The node is willing; waiting for the requester's decision.
        AskForBidAccepted = 3 => "AskForBidAccepted",
        /// The node declined (terminal, discarded).
        AskForBidRejected = 4 => "AskForBidRejected",
        /// The requester approved the bid.
        BidAccepted = 5 => "BidAccepted",
        /// The requester declined the bid (terminal, discarded).
        BidRejected = 6 => "BidRejected",
        /// Finished (terminal).
        Completed = 7 => "Completed",
        /// Failed (terminal, discarded).
        Failed = 8 => "Failed",
        /// Cancelled (terminal, discarded).
        Cancelled = 9 => "Cancelled",
    }
}

impl ExecutionStateType {
    /// The compute-terminal states: no further update is accepted.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled | Self::AskForBidRejected | Self::BidRejected)
    }
    /// Terminal without a result.
    pub const fn is_discarded(self) -> bool {
        matches!(self, Self::AskForBidRejected | Self::BidRejected | Self::Cancelled | Self::Failed)
    }
}

state_enum! {
    /// What the orchestrator wants an execution to do (SPEC §2.3). JSON: the integer.
    ExecutionDesiredStateType, "desired state", serialize as int {
        /// The zero value: waiting for approval.
        Pending = 0 => "Pending",
        /// Approved to run.
        Running = 1 => "Running",
        /// Should stop (desired-terminal; does not block compute-state updates).
        Stopped = 2 => "Stopped",
    }
}

impl ExecutionDesiredStateType {
    /// `Stopped` is desired-terminal; it does not block compute-state updates.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Stopped)
    }
}

state_enum! {
    /// A compute node's local execution state (SPEC §2.4). JSON: the integer.
    LocalExecutionStateType, "local execution state", serialize as int {
        /// Not a real state.
        Undefined = 0 => "Undefined",
        /// Bid made, waiting for the requester's approval.
        Created = 1 => "Created",
        /// Approved; about to run.
        BidAccepted = 2 => "BidAccepted",
        /// Running (live).
        Running = 3 => "Running",
        /// Publishing results (live).
        Publishing = 4 => "Publishing",
        /// Finished (terminal).
        Completed = 5 => "Completed",
        /// Failed (terminal).
        Failed = 6 => "Failed",
        /// Cancelled (terminal).
        Cancelled = 7 => "Cancelled",
    }
}

impl LocalExecutionStateType {
    /// `Completed`, `Failed` and `Cancelled` accept no further update.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
    /// Executing ("live"): `Running` or `Publishing`, what a node restart must resume.
    pub const fn is_executing(self) -> bool {
        matches!(self, Self::Running | Self::Publishing)
    }
    /// Active: any non-terminal real state.
    pub const fn is_active(self) -> bool {
        matches!(self, Self::Created | Self::BidAccepted | Self::Running | Self::Publishing)
    }
}

state_enum! {
    /// Evaluation status (SPEC §2.5). JSON: the lower-case name (note the single "l" in canceled).
    EvaluationStatus, "evaluation status", serialize as name {
        /// Waiting on something before it can be enqueued.
        Blocked = 0 => "blocked",
        /// Ready to be processed.
        Pending = 1 => "pending",
        /// Processed (terminal).
        Complete = 2 => "complete",
        /// Processing failed (terminal).
        Failed = 3 => "failed",
        /// Cancelled (terminal).
        Canceled = 4 => "canceled",
    }
}

impl EvaluationStatus {
    /// `complete`, `failed` and `canceled` accept no further update.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Complete | Self::Failed | Self::Canceled)
    }
}

state_enum! {
    /// Level of a job history entry (SPEC §2.6). JSON: the name.
    JobHistoryType, "job history type", serialize as name {
        /// Not a real level.
        Undefined = 0 => "Undefined",
        /// A job state change.
        JobLevel = 1 => "JobLevel",
        /// An execution state change.
        ExecutionLevel = 2 => "ExecutionLevel",
    }
}

macro_rules! state_like {
    ($($t:ty),*) => {$(
        impl crate::condition::StateLike for $t {
            fn name(self) -> &'static str {
                <$t>::name(self)
            }
            fn is_terminal(self) -> bool {
                <$t>::is_terminal(self)
            }
        }
    )*};
}

state_like!(JobStateType, ExecutionStateType, ExecutionDesiredStateType, LocalExecutionStateType, EvaluationStatus);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_states_serialize_as_integers_and_job_states_as_names() {
        assert_eq!(serde_json::to_string(&ExecutionStateType::Cancelled).unwrap(), "9");
        assert_eq!(serde_json::to_string(&LocalExecutionStateType::Publishing).unwrap(), "4");
        assert_eq!(serde_json::to_string(&JobStateType::Running).unwrap(), "\"Running\"");
        assert_eq!(serde_json::to_string(&EvaluationStatus::Canceled).unwrap(), "\"canceled\"");
    }

    #[test]
    fn states_deserialize_from_either_form_and_reject_unknown_values() {
        let s: ExecutionStateType = serde_json::from_str("\" bidaccepted \"").unwrap();
        assert_eq!(s, ExecutionStateType::BidAccepted);
        let j: JobStateType = serde_json::from_str("3").unwrap();
        assert_eq!(j, JobStateType::Completed);
        assert!(serde_json::from_str::<ExecutionStateType>("10").is_err());
        assert!(serde_json::from_str::<JobStateType>("\"Queued\"").is_err());
        assert!(serde_json::from_str::<LocalExecutionStateType>("-1").is_err());
    }

    #[test]
    fn integers_wider_than_64_bits_decode_when_they_fit_and_are_named_when_they_do_not() {
        use crate::snapshot::from_cbor;
        // Bignum 5 (tag 2), -2^64 (a negative below i64), bignum 2^64.
        let five: LocalExecutionStateType = from_cbor(&[0xC2, 0x41, 0x05]).unwrap();
        assert_eq!(five, LocalExecutionStateType::Completed);
        let minus_one: Result<JobStateType, _> = from_cbor(&[0xC3, 0x41, 0x00]);
        assert!(minus_one.unwrap_err().to_string().contains("unknown job state value -1"));
        for wide in
            [&[0x3B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..], &[0xC2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
        {
            let e = from_cbor::<JobStateType>(wide).unwrap_err().to_string();
            assert!(e.contains("unknown job state value: an integer beyond 64 bits"), "{e}");
        }
    }

    #[test]
    fn discriminants_are_dense_in_declaration_order() {
        // The shared deserializing visitor returns indexes into the names in declaration order.
        fn dense<T: Copy>(all: &[T], as_u8: fn(T) -> u8) -> bool {
            all.iter().enumerate().all(|(i, s)| usize::from(as_u8(*s)) == i)
        }
        assert!(dense(JobStateType::ALL, JobStateType::as_u8));
        assert!(dense(ExecutionStateType::ALL, ExecutionStateType::as_u8));
        assert!(dense(ExecutionDesiredStateType::ALL, ExecutionDesiredStateType::as_u8));
        assert!(dense(LocalExecutionStateType::ALL, LocalExecutionStateType::as_u8));
        assert!(dense(EvaluationStatus::ALL, EvaluationStatus::as_u8));
        assert!(dense(JobHistoryType::ALL, JobHistoryType::as_u8));
    }

    #[test]
    fn discriminants_are_pinned() {
        // The on-disk format depends on these numbers (SPEC W-J22).
        let pinned: [(u8, &str); 10] = [
            (0, "Undefined"),
            (1, "New"),
            (2, "AskForBid"),
            (3, "AskForBidAccepted"),
            (4, "AskForBidRejected"),
            (5, "BidAccepted"),
            (6, "BidRejected"),
            (7, "Completed"),
            (8, "Failed"),
            (9, "Cancelled"),
        ];
        for (n, name) in pinned {
            assert_eq!(ExecutionStateType::from_u8(n).unwrap().name(), name);
        }
        assert_eq!(LocalExecutionStateType::Cancelled.as_u8(), 7);
        assert_eq!(JobStateType::Stopped.as_u8(), 5);
        assert_eq!(ExecutionDesiredStateType::Stopped.as_u8(), 2);
    }
}
