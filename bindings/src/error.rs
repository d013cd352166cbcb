//! Every failure reaches JavaScript as a real `Error` (so stack traces, `instanceof Error` and
//! test frameworks work) carrying the core's stable `code`, which is what callers branch on;
//! messages are for humans and may change.

use bacalhau_state::{ComputeError, JobStoreError};
use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// Which store family an error belongs to; becomes the error's `name`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Family {
    Compute,
    Jobs,
}

impl Family {
    const fn name(self) -> &'static str {
        match self {
            Family::Compute => "ComputeError",
            Family::Jobs => "JobStoreError",
        }
    }
}

/// Builds `Error(message)` with `name` and `code` (and `field` for argument errors).
fn make(family: Family, code: &str, message: &str, field: Option<&str>) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name(family.name());
    // Reflect::set only fails on frozen or proxied targets; a fresh Error is neither.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    if let Some(field) = field {
        let _ = Reflect::set(&err, &JsValue::from_str("field"), &JsValue::from_str(field));
    }
    err.into()
}

/// A compute store error.
pub(crate) fn compute(e: ComputeError) -> JsValue {
    let field = match &e {
        ComputeError::InvalidArgument { field, .. } => Some(*field),
        _ => None,
    };
    make(Family::Compute, e.code(), &e.to_string(), field)
}

/// A job store error.
pub(crate) fn jobs(e: JobStoreError) -> JsValue {
    let field = match &e {
        JobStoreError::InvalidArgument { field, .. } => Some(*field),
        _ => None,
    };
    make(Family::Jobs, e.code(), &e.to_string(), field)
}

/// A malformed argument, detected by the bindings before the core sees it.
pub(crate) fn invalid(family: Family, field: &str, reason: impl core::fmt::Display) -> JsValue {
    make(family, "InvalidArgument", &format!("invalid argument {field}: {reason}"), Some(field))
}

/// A transaction handle used after its callback returned (or from a nested call of itself).
pub(crate) fn tx_inactive(family: Family) -> JsValue {
    make(
        family,
        "Closed",
        "transaction is no longer active: a transaction object may only be used inside its callback",
        None,
    )
}

/// A result that could not be turned into a JS value (a bug, not a caller error).
pub(crate) fn encode(family: Family, reason: impl core::fmt::Display) -> JsValue {
    make(family, "Encode", &format!("cannot convert result to JavaScript: {reason}"), None)
}
