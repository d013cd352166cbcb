//! Opening stores.

use alloc::boxed::Box;

use crate::clock::Clock;
use crate::compute::ExecutionStore;
use crate::jobstore::JobStore;
use crate::kv::Backend;
use crate::transition::Policy;

/// Options shared by both stores: the transition policy and the clock.
///
/// ```
/// use bacalhau_state::{StoreBuilder, Policy, clock::ManualClock};
/// let store = StoreBuilder::new()
///     .policy(Policy::Permissive)
///     .clock(ManualClock::new(0))
///     .in_memory_jobs();
/// assert_eq!(store.policy(), Policy::Permissive);
/// ```
pub struct StoreBuilder {
    policy: Policy,
    clock: Option<Box<dyn Clock>>,
}

impl Default for StoreBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl StoreBuilder {
    /// Strict policy, default clock.
    pub fn new() -> Self {
        Self { policy: Policy::Strict, clock: None }
    }

    /// Sets the transition policy.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the clock the store takes times from.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// The clock to use: the caller's, else the system clock with `std`. Without `std` there is
    /// no clock to read, so a store built without one gets a deterministic clock that starts at
    /// the Unix epoch and ticks one microsecond per reading; pass a real clock.
    fn take_clock(&mut self) -> Box<dyn Clock> {
        if let Some(c) = self.clock.take() {
            return c;
        }
        #[cfg(feature = "std")]
        {
            Box::new(crate::clock::SystemClock)
        }
        #[cfg(not(feature = "std"))]
        {
            Box::new(crate::clock::ManualClock::stepping(0, 1_000))
        }
    }

    /// A compute execution store over `backend`.
    pub fn compute<B: Backend>(mut self, backend: B) -> ExecutionStore<B> {
        let clock = self.take_clock();
        ExecutionStore::from_parts(backend, self.policy, clock)
    }

    /// A requester job store over `backend`.
    pub fn jobs<B: Backend>(mut self, backend: B) -> JobStore<B> {
        let clock = self.take_clock();
        JobStore::from_parts(backend, self.policy, clock)
    }

    /// An in-memory compute store.
    pub fn in_memory_compute(self) -> ExecutionStore {
        self.compute(crate::kv::memory::MemoryBackend::new())
    }

    /// An in-memory job store.
    pub fn in_memory_jobs(self) -> JobStore {
        self.jobs(crate::kv::memory::MemoryBackend::new())
    }
}
