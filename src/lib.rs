//! Bacalhau node state: the compute node's execution store and the requester's job store.
//!
//! The core is `no_std` + `alloc`: data model, state machines, the store logic and an in-memory
//! backend build for `wasm32-unknown-unknown` and bare-metal targets. With the `redb` feature
//! (native only) the same store logic runs on a durable redb file.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod clock;
pub mod error;
pub mod event;
pub mod kv;
pub mod model;
pub mod page;
pub mod selector;
pub mod state;
pub mod time;
pub mod transition;

mod shell;
mod sync;

#[cfg(feature = "std")]
pub mod config;
