//! What both stores share, written against the [`kv`](crate::kv) traits only: the write/read
//! entry points ([`StoreCore`], `store_surface!`), ID resolution (`lookup.rs`), the event log
//! (`log.rs`), per-state counts and the event counter (`counters.rs`), paging (`paging.rs`),
//! the consistency check (`check.rs`), the clock the stores are given, and the limits.
use alloc::boxed::Box;
use core::sync::atomic::{AtomicBool, Ordering};

use crate::clock::Clock;
use crate::error::StorageError;
use crate::kv::{Backend, Direction, Durability, KeyRange, ReadTxn, Table, Value};
use crate::transition::Policy;

mod check;
mod counters;
mod log;
mod lookup;

pub mod clock;
pub mod limits;
pub mod page;

pub use check::CheckReport;
pub(crate) use check::{check_log, diff_counts, diff_index, StateCounts};
pub(crate) use counters::Counters;
pub(crate) use log::{restore_log, LogTables};
pub(crate) use lookup::{corrupt_key, decode_str_key, ids_under, lookup, next_seq, Lookup};
pub(crate) use page::paged;

pub(crate) struct StoreCore<B> {
    pub backend: B,
    pub policy: Policy,
    pub clock: Box<dyn Clock>,
    closed: AtomicBool,
}

impl<B: Backend> StoreCore<B> {
    pub fn new(backend: B, policy: Policy, clock: Box<dyn Clock>) -> Self {
        Self { backend, policy, clock, closed: AtomicBool::new(false) }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Runs `f` in a read transaction.
    pub fn read<'a, X, R>(&'a self, f: impl FnOnce(&X) -> Result<R, X::Error>) -> Result<R, X::Error>
    where
        X: OpenTx<'a, B::Read<'a>>,
    {
        if self.is_closed() {
            return Err(X::Error::closed());
        }
        let txn = self.backend.begin_read()?;
        f(&X::open(txn, self.policy, &*self.clock))
    }

    /// Runs `f` in a write transaction and commits when it returns `Ok`; any `Err` (or a drop on
    /// unwind) rolls everything back.
    pub fn write<'a, X, R, E>(&'a self, durability: Durability, f: impl FnOnce(&mut X) -> Result<R, E>) -> Result<R, E>
    where
        X: OpenTx<'a, B::Write<'a>> + CommitTx<Error = <X as OpenTx<'a, B::Write<'a>>>::Error>,
        E: From<<X as OpenTx<'a, B::Write<'a>>>::Error>,
    {
        if self.is_closed() {
            return Err(E::from(<X as OpenTx<'a, B::Write<'a>>>::Error::closed()));
        }
        let txn = self.backend.begin_write(durability).map_err(|e| E::from(e.into()))?;
        let mut tx = X::open(txn, self.policy, &*self.clock);
        let out = f(&mut tx)?;
        tx.commit().map_err(E::from)?;
        Ok(out)
    }

    /// Idempotent: only the first call closes the backend.
    pub fn close(&self) -> Result<(), StorageError> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.backend.close()
    }
}

/// The part of a store's API that does not depend on what it stores: construction, policy,
/// backend access, the transaction entry points and close. Each store invokes it once, so the
/// two stores cannot drift apart here. `read_op!`/`write_op!` then declare each operation as a
/// one-line delegation to the store's transaction type (`OpError` is the store's error type).
macro_rules! store_surface {
    ($store:ident, $tx:ident, $err:ident, $snapshot:ident, $stats:ident) => {
        impl<B: crate::kv::Backend> core::fmt::Debug for $store<B> {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($store)).field("policy", &self.core.policy).finish_non_exhaustive()
            }
        }

        impl<B: crate::kv::Backend> $store<B> {
            pub(crate) fn from_parts(
                backend: B,
                policy: crate::transition::Policy,
                clock: alloc::boxed::Box<dyn crate::clock::Clock>,
            ) -> Self {
                Self { core: crate::store::StoreCore::new(backend, policy, clock) }
            }

            /// The transition policy.
            pub fn policy(&self) -> crate::transition::Policy {
                self.core.policy
            }

            /// The backend (for backend-specific maintenance such as compaction).
            pub fn backend(&self) -> &B {
                &self.core.backend
            }

            fn read<'a, R>(&'a self, f: impl FnOnce(&$tx<'a, B::Read<'a>>) -> Result<R, $err>) -> Result<R, $err> {
                self.core.read(f)
            }

            /// Runs `f` in one write transaction with durable commit: every operation in it
            /// commits together, or none does (an `Err` from `f`, or a storage failure, rolls all
            /// back). This is also the group-commit entry point: many operations, one fsync.
            ///
            /// # Errors
            /// `f`'s error, `Closed`, or a storage error from the commit.
            pub fn transaction<'a, R, E>(
                &'a self,
                f: impl FnOnce(&mut $tx<'a, B::Write<'a>>) -> Result<R, E>,
            ) -> Result<R, E>
            where
                E: From<$err>,
            {
                self.transaction_with(crate::kv::Durability::Immediate, f)
            }

            /// [`transaction`](Self::transaction) with a chosen durability (`Durability::None`
            /// defers the fsync to a later durable commit: for bulk loads and benchmarks only).
            pub fn transaction_with<'a, R, E>(
                &'a self,
                durability: crate::kv::Durability,
                f: impl FnOnce(&mut $tx<'a, B::Write<'a>>) -> Result<R, E>,
            ) -> Result<R, E>
            where
                E: From<$err>,
            {
                self.core.write(durability, f)
            }

            /// Closes the store; idempotent. Every later call returns a `Closed` error.
            pub fn close(&self) -> Result<(), $err> {
                self.core.close().map_err($err::from)
            }

            /// Whether [`close`](Self::close) was called.
            pub fn is_closed(&self) -> bool {
                self.core.is_closed()
            }

            crate::store::read_op!(
                /// Counts per state, totals and the last event sequence number.
                stats() -> $stats
            );
            crate::store::read_op!(
                /// Events after sequence number `after`, oldest first; `limit` 0 = all.
                events_after(after: u64, limit: u32) -> alloc::vec::Vec<crate::event::Event>
            );
            crate::store::read_op!(
                /// The sequence number last stored under `name`.
                get_checkpoint(name: &str) -> Option<u64>
            );
            crate::store::read_op!(
                /// Everything in the store.
                snapshot() -> $snapshot
            );
            crate::store::read_op!(
                /// The store as portable snapshot bytes (see [`crate::snapshot`]).
                export_snapshot() -> alloc::vec::Vec<u8>
            );
            crate::store::read_op!(
                /// Recomputes every index and count from the records and reports differences.
                check() -> crate::store::CheckReport
            );
            crate::store::write_op!(
                /// Stores `seq` under the consumer name `name`.
                checkpoint(name: &str, seq: u64) -> ()
            );
            crate::store::write_op!(
                /// Deletes events up to and including `through`; returns how many were deleted.
                trim_events(through: u64) -> u64
            );
            crate::store::write_op!(
                /// Loads snapshot bytes into this empty store (one transaction: all or nothing).
                import_snapshot(bytes: &[u8]) -> ()
            );
            crate::store::write_op!(
                /// Loads a snapshot into this empty store (one transaction: all or nothing).
                import(snapshot: $snapshot) -> ()
            );
        }
    };
}
pub(crate) use store_surface;

/// A store method that runs one read operation.
macro_rules! read_op {
    ($(#[$m:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        $(#[$m])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<$ret, OpError> {
            self.read(|tx| tx.$name($($arg),*))
        }
    };
}
pub(crate) use read_op;

/// A store method that runs one write operation in its own durable transaction.
macro_rules! write_op {
    ($(#[$m:meta])* $name:ident ( $($arg:ident : $ty:ty),* ) -> $ret:ty) => {
        $(#[$m])*
        pub fn $name(&self, $($arg: $ty),*) -> Result<$ret, OpError> {
            self.transaction(|tx| tx.$name($($arg),*))
        }
    };
}
pub(crate) use write_op;

/// A store family's error type, as [`StoreCore`] needs it.
pub(crate) trait FamilyError: From<StorageError> {
    fn closed() -> Self;
    /// The storage failure this error is, if it is one.
    fn storage(&self) -> Option<&StorageError>;
}

macro_rules! family_error {
    ($($ty:ty),+) => {$(
        impl FamilyError for $ty {
            fn closed() -> Self {
                Self::Closed
            }
            fn storage(&self) -> Option<&StorageError> {
                match self {
                    Self::Storage(e) => Some(e),
                    _ => None,
                }
            }
        }
    )+};
}
family_error!(crate::error::ComputeError, crate::error::JobStoreError);

/// The first storage failure of a write transaction. After one, the backend's state inside the
/// transaction is unknown, so every later operation of it, and its commit, fail with that
/// failure instead of writing on top of it (the whole transaction rolls back).
#[derive(Debug, Default)]
pub(crate) struct Poison(Option<StorageError>);

impl Poison {
    /// Runs one operation of the transaction `tx`, refusing if poisoned and remembering a
    /// storage failure the operation returns.
    pub fn guard<X, R, E: FamilyError>(
        tx: &mut X,
        poison: fn(&mut X) -> &mut Poison,
        op: impl FnOnce(&mut X) -> Result<R, E>,
    ) -> Result<R, E> {
        poison(tx).check::<E>()?;
        let out = op(tx);
        if let Some(e) = out.as_ref().err().and_then(E::storage) {
            poison(tx).0.get_or_insert_with(|| e.clone());
        }
        out
    }

    /// The failure that poisoned the transaction, as the error of its next step.
    pub fn check<E: FamilyError>(&self) -> Result<(), E> {
        match &self.0 {
            Some(e) => Err(E::from(e.clone())),
            None => Ok(()),
        }
    }
}

/// A store's transaction type, opened over a backend transaction.
pub(crate) trait OpenTx<'a, T>: Sized {
    type Error: FamilyError;
    fn open(txn: T, policy: Policy, clock: &'a dyn Clock) -> Self;
}

/// A store's write transaction: commits unless a storage failure poisoned it.
pub(crate) trait CommitTx: Sized {
    type Error;
    fn commit(self) -> Result<(), Self::Error>;
}

impl<T: ReadTxn + ?Sized> ReadTxn for &T {
    fn get<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<Option<V>, StorageError> {
        (**self).get(table, key)
    }
    fn contains<V: Value>(&self, table: Table<V>, key: &[u8]) -> Result<bool, StorageError> {
        (**self).contains(table, key)
    }
    fn scan<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut crate::kv::ScanVisitor<'_, V>,
    ) -> Result<(), StorageError> {
        (**self).scan(table, range, dir, visit)
    }
    fn scan_keys<V: Value>(
        &self,
        table: Table<V>,
        range: KeyRange<'_>,
        dir: Direction,
        visit: &mut dyn FnMut(&[u8]) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        (**self).scan_keys(table, range, dir, visit)
    }
}
