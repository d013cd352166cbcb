//! Bacalhau node state: the compute node's execution store and the requester's job store.
//!
//! The core is `no_std` + `alloc`: data model, state machines, the store logic and an in-memory
//! backend build for `wasm32-unknown-unknown` and bare-metal targets. With the `redb` feature
//! (native only) the same store logic runs on a durable redb file.
#![cfg_attr(not(feature = "std"), no_std)]
#![warn(missing_docs)]

extern crate alloc;

pub mod time;
pub mod selector;
#[cfg(feature = "std")]
pub mod config;
