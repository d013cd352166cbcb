#![doc = include_str!("../README.md")]
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

mod builder;
mod codec;
mod lifecycle;
pub use lifecycle::{condition, state, transition};
pub mod compute;
pub mod error;
pub mod event;
pub mod jobstore;
pub mod kv;
pub mod model;
pub mod selector;
pub mod snapshot;
pub mod time;

mod store;
pub use store::{clock, limits, page, CheckReport};
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
