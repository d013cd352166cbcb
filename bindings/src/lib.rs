//! JavaScript bindings for bacalhau-state: the compute node's execution store (`ComputeStore`) and
//! the requester's job store (`JobStore`), both on the in-memory backend.
//!
//! This crate only converts: arguments from JS values to the core's types, results back, and
//! errors to JS `Error`s with the core's stable `code`. Every rule about records, states and
//! transactions lives in the core, so the JS API behaves exactly like the Rust one (the shared
//! conformance scenarios check that).
//!
//! The crate panics nowhere on purpose: with `panic = "abort"` on wasm32 a panic is an
//! `unreachable` trap that leaves the module unusable, so every malformed input is an
//! `InvalidArgument` error instead.
#![warn(missing_docs)]

mod args;
mod class;
mod common;
mod compute;
mod convert;
mod error;
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
mod heap;
mod jobs;
mod types;

use std::sync::Arc;

use bacalhau_state::clock::{Clock, ManualClock};
use bacalhau_state::time::Timestamp;
use bacalhau_state::{Policy, StoreBuilder};
use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

pub use compute::{ComputeStore, ComputeTransaction};
pub use jobs::{JobStore, JobTransaction};

use convert::is_absent;
use error::Family;

/// The host's wall clock. The core's `SystemClock` needs std and `SystemTime::now()` panics on
/// wasm32-unknown-unknown, so the default clock reads `Date.now()` (milliseconds).
struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> Timestamp {
        let ms = js_sys::Date::now();
        // `as` saturates; Date.now() is far inside i64 nanoseconds until the year 2262.
        Timestamp::from_unix_nanos((ms * 1_000_000.0) as i64)
    }
}

/// A store's configuration from the JS `options` object.
pub(crate) struct Opened {
    pub builder: StoreBuilder,
    /// The manual clock, kept so that `setTime`/`advanceTime` can move it.
    pub manual: Option<Arc<ManualClock>>,
}

fn keys(v: &JsValue) -> Vec<String> {
    Object::keys(&Object::from(v.clone())).iter().filter_map(|k| k.as_string()).collect()
}

fn get(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn plain_object(v: &JsValue) -> bool {
    v.is_object() && !js_sys::Array::is_array(v)
}

/// Parses `{ strict?: boolean, clock?: "system" | { start?, step? } }`. Unknown keys are refused
/// so that a misspelt option (`strikt`) does not silently select the default.
pub(crate) fn open(f: Family, options: &JsValue) -> Result<Opened, JsValue> {
    let mut policy = Policy::Strict;
    let mut manual = None;
    if !is_absent(options) {
        if !plain_object(options) {
            return Err(error::invalid(f, "options", "expected an object"));
        }
        for key in keys(options) {
            let v = get(options, &key);
            match key.as_str() {
                "strict" if is_absent(&v) => {}
                "strict" => match v.as_bool() {
                    Some(true) => policy = Policy::Strict,
                    Some(false) => policy = Policy::Permissive,
                    None => return Err(error::invalid(f, "options.strict", "expected a boolean")),
                },
                "clock" => manual = clock(f, &v)?,
                other => return Err(error::invalid(f, &format!("options.{other}"), "unknown option")),
            }
        }
    }
    let builder = StoreBuilder::new().policy(policy);
    let builder = match &manual {
        Some(c) => builder.clock(c.clone()),
        None => builder.clock(JsClock),
    };
    Ok(Opened { builder, manual })
}

fn clock(f: Family, v: &JsValue) -> Result<Option<Arc<ManualClock>>, JsValue> {
    if is_absent(v) || v.as_string().as_deref() == Some("system") {
        return Ok(None);
    }
    if !plain_object(v) {
        return Err(error::invalid(f, "options.clock", "expected \"system\" or { start?, step? }"));
    }
    let (mut start, mut step) = (0, 0);
    for key in keys(v) {
        let x = get(v, &key);
        match key.as_str() {
            _ if is_absent(&x) => {}
            "start" => start = convert::i64_value(f, &x, "options.clock.start")?,
            "step" => step = convert::i64_value(f, &x, "options.clock.step")?,
            other => return Err(error::invalid(f, &format!("options.clock.{other}"), "unknown option")),
        }
    }
    if step < 0 {
        return Err(error::invalid(f, "options.clock.step", "must not be negative"));
    }
    // Shared between the store and setTime/advanceTime. Without the core's `std` feature (the
    // wasm build) a ManualClock is not Sync, which is fine: wasm32 here is single-threaded.
    #[allow(clippy::arc_with_non_send_sync)]
    Ok(Some(Arc::new(ManualClock::stepping(start, step))))
}

/// The manual clock, or the error for a store on the system clock.
pub(crate) fn manual(f: Family, c: &Option<Arc<ManualClock>>) -> Result<&ManualClock, JsValue> {
    c.as_deref().ok_or_else(|| {
        error::invalid(
            f,
            "clock",
            "this store uses the system clock; open it with { clock: { start, step } } to set time",
        )
    })
}
