//! Same-name lock shims for `std` and `no_std` builds (as redb's `src/sync.rs` does).
//!
//! With `std` these are real reader-writer locks, so stores are `Send + Sync`. Without `std` there
//! are no threads to exclude, so a `RefCell` suffices; the store is then `!Sync`. Both variants
//! report re-entrant use (a store called from inside its own transaction) as `None` from the
//! `try_*` methods instead of deadlocking or panicking.

#[cfg(feature = "std")]
mod imp {
    use std::sync::{RwLock as StdRwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

    /// A reader-writer lock; poisoning is ignored because every writer leaves the data consistent
    /// (mutations are undone on unwind by the memory backend's undo log).
    #[derive(Debug, Default)]
    pub struct RwLock<T>(StdRwLock<T>);

    /// Shared guard.
    pub type ReadGuard<'a, T> = RwLockReadGuard<'a, T>;
    /// Exclusive guard.
    pub type WriteGuard<'a, T> = RwLockWriteGuard<'a, T>;

    impl<T> RwLock<T> {
        pub const fn new(value: T) -> Self {
            Self(StdRwLock::new(value))
        }
        /// Blocks until shared access is available.
        pub fn read(&self) -> Option<ReadGuard<'_, T>> {
            Some(self.0.read().unwrap_or_else(|e| e.into_inner()))
        }
        /// Blocks until exclusive access is available.
        pub fn write(&self) -> Option<WriteGuard<'_, T>> {
            Some(self.0.write().unwrap_or_else(|e| e.into_inner()))
        }
        /// Exclusive access without blocking, `None` when held elsewhere.
        #[allow(dead_code)]
        pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
            match self.0.try_write() {
                Ok(g) => Some(g),
                Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            }
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    use core::cell::{Ref, RefCell, RefMut};

    /// Single-threaded stand-in for `std::sync::RwLock`.
    #[derive(Debug, Default)]
    pub struct RwLock<T>(RefCell<T>);

    /// Shared guard.
    pub type ReadGuard<'a, T> = Ref<'a, T>;
    /// Exclusive guard.
    pub type WriteGuard<'a, T> = RefMut<'a, T>;

    impl<T> RwLock<T> {
        pub const fn new(value: T) -> Self {
            Self(RefCell::new(value))
        }
        /// `None` when a write guard is alive (re-entrant use).
        pub fn read(&self) -> Option<ReadGuard<'_, T>> {
            self.0.try_borrow().ok()
        }
        /// `None` when any guard is alive (re-entrant use).
        pub fn write(&self) -> Option<WriteGuard<'_, T>> {
            self.0.try_borrow_mut().ok()
        }
        /// Same as `write` in a single-threaded build.
        #[allow(dead_code)]
        pub fn try_write(&self) -> Option<WriteGuard<'_, T>> {
            self.0.try_borrow_mut().ok()
        }
    }
}

pub(crate) use imp::*;
