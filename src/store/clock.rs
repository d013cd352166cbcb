//! Time comes in from outside: the store logic never reads a clock itself, it asks the [`Clock`]
//! it was given. Tests and simulations pass a [`ManualClock`]; native nodes use [`SystemClock`];
//! the JS bindings pass `Date.now()`. A run with a deterministic clock replays identically on
//! every platform.

use crate::sync::RwLock;
use crate::time::Timestamp;

/// `Send + Sync` where threads exist (std), nothing otherwise.
#[cfg(feature = "std")]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(feature = "std")]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
/// `Send + Sync` where threads exist (std), nothing otherwise.
#[cfg(not(feature = "std"))]
pub trait MaybeSendSync {}
#[cfg(not(feature = "std"))]
impl<T: ?Sized> MaybeSendSync for T {}

/// A source of the current time.
pub trait Clock: MaybeSendSync {
    /// The current time (UTC).
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[cfg(feature = "std")]
impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Timestamp::from_unix(d.as_secs() as i64, d.subsec_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
    }
}

/// A clock that moves only when told to, optionally by a fixed step on every reading (so that
/// successive operations get distinct, increasing times without any real clock).
#[derive(Debug)]
pub struct ManualClock {
    state: RwLock<(i64, i64)>,
}

impl ManualClock {
    /// Starts at `start_nanos` and never moves on its own.
    pub fn new(start_nanos: i64) -> Self {
        Self::stepping(start_nanos, 0)
    }

    /// Starts at `start_nanos` and advances by `step_nanos` after every reading.
    pub fn stepping(start_nanos: i64, step_nanos: i64) -> Self {
        Self { state: RwLock::new((start_nanos, step_nanos)) }
    }

    /// Sets the time.
    pub fn set(&self, nanos: i64) {
        if let Some(mut s) = self.state.write() {
            s.0 = nanos;
        }
    }

    /// Moves the time forward.
    pub fn advance(&self, nanos: i64) {
        if let Some(mut s) = self.state.write() {
            s.0 = s.0.saturating_add(nanos);
        }
    }

    /// The current reading without stepping.
    pub fn peek(&self) -> i64 {
        self.state.read().map_or(0, |s| s.0)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        let now = match self.state.write() {
            Some(mut s) => {
                let now = s.0;
                s.0 = s.0.saturating_add(s.1);
                now
            }
            None => 0,
        };
        Timestamp::from_unix_nanos(now)
    }
}

impl<C: Clock + ?Sized> Clock for alloc::sync::Arc<C>
where
    alloc::sync::Arc<C>: MaybeSendSync,
{
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
