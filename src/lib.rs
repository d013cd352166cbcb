#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

mod builder;
pub mod clock;
mod compact;
pub mod compute;
pub mod condition;
pub mod error;
pub mod event;
pub mod jobstore;
pub mod kv;
pub mod limits;
pub mod model;
pub mod page;
pub mod selector;
pub mod snapshot;
pub mod state;
pub mod time;
pub mod transition;

mod quote;
mod shell;
pub use shell::CheckReport;
mod sync;

#[cfg(feature = "bbolt")]
pub mod bbolt;
pub mod config;
#[cfg(all(feature = "bbolt", feature = "redb"))]
pub mod migrate;

pub use builder::StoreBuilder;
pub use compute::{ExecutionStore, UpdateExecutionStateRequest};
pub use error::{ComputeError, JobStoreError, StorageError};
pub use jobstore::JobStore;
pub use kv::Durability;
pub use page::{Page, PageRequest};
pub use transition::Policy;
