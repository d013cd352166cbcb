//! Conversions between JS values and the core's types. The only policy here: nothing is guessed
//! or truncated. A value that does not convert exactly is an `InvalidArgument` naming the
//! argument (and the field inside it), never a panic.
//!
//! Output: every `u64`/`i64` becomes a `bigint` (sequence numbers, revisions and nanosecond times
//! exceed 2^53), maps become plain objects, and `None` becomes `null` (so `getCheckpoint` of an
//! unknown name and an absent `nextToken` are `null`, never `undefined`).
//!
//! Input: integer fields take a `number` (a safe integer) or a `bigint`.

use js_sys::{BigInt, Number, Object, Reflect};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{self, Family};

/// How a JS value is described in error messages.
fn describe(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if v.is_undefined() {
        "undefined".into()
    } else if let Some(s) = v.as_string() {
        format!("string {:?}", truncate(&s))
    } else if let Some(n) = v.as_f64() {
        format!("number {n}")
    } else if v.is_bigint() {
        "bigint".into()
    } else {
        v.js_typeof().as_string().unwrap_or_else(|| "value".into())
    }
}

/// Quoted input is cut so that a hostile argument cannot blow up error messages.
fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `undefined` and `null` both mean "not given" for optional arguments.
pub(crate) fn is_absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// A required string argument (an ID, a name).
pub(crate) fn string(f: Family, v: &JsValue, field: &str) -> Result<String, JsValue> {
    v.as_string().ok_or_else(|| error::invalid(f, field, format_args!("expected a string, got {}", describe(v))))
}

/// A record, request or enum value through serde. The message names the argument and quotes
/// the offending value (serde-wasm-bindgen does not track the path inside it; a path-tracking
/// wrapper doubled every deserializer's code size).
pub(crate) fn from_js<T: DeserializeOwned>(f: Family, v: JsValue, field: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(v).map_err(|e| error::invalid(f, field, e))
}

/// A required object argument (records and requests): a string or number there is a caller
/// mistake that serde's `#[serde(default)]` structs would otherwise hide.
pub(crate) fn object<T: DeserializeOwned>(f: Family, v: JsValue, field: &str) -> Result<T, JsValue> {
    if !v.is_object() || js_sys::Array::is_array(&v) {
        return Err(error::invalid(f, field, format_args!("expected an object, got {}", describe(&v))));
    }
    from_js(f, canonical(&v), field)
}

/// A copy of a record with every object's keys in byte order, as serde_json (and so the native
/// API) presents them. Opaque values (task specs, params) keep their maps in input order, and
/// snapshots must be byte-identical across platforms, so JS insertion order must not leak in.
/// (JS itself lists integer-like keys first; those few keep JS order.)
fn canonical(v: &JsValue) -> JsValue {
    if let Some(a) = v.dyn_ref::<js_sys::Array>() {
        return a.iter().map(|x| canonical(&x)).collect::<js_sys::Array>().into();
    }
    if !v.is_object() {
        return v.clone();
    }
    let proto: JsValue = Object::get_prototype_of(v).into();
    let plain = proto.is_null() || proto == JsValue::from(Object::get_prototype_of(&Object::new()));
    if !plain {
        return v.clone();
    }
    let mut keys: Vec<String> =
        Object::keys(v.unchecked_ref::<Object>()).iter().filter_map(|k| k.as_string()).collect();
    keys.sort_unstable();
    let out = Object::new();
    for k in keys {
        let key = JsValue::from_str(&k);
        let x = Reflect::get(v, &key).unwrap_or(JsValue::UNDEFINED);
        let _ = Reflect::set(&out, &key, &canonical(&x));
    }
    out.into()
}

/// An optional options object: absent means the type's default. `small` lists its `u32` fields,
/// which serde-wasm-bindgen only reads from numbers; a `bigint` there is converted exactly first.
pub(crate) fn options<T: DeserializeOwned + Default>(
    f: Family,
    v: JsValue,
    field: &str,
    small: &[&str],
) -> Result<T, JsValue> {
    if is_absent(&v) {
        return Ok(T::default());
    }
    if !v.is_object() || js_sys::Array::is_array(&v) {
        return Err(error::invalid(f, field, format_args!("expected an object, got {}", describe(&v))));
    }
    let mut v = v;
    let has_bigint = small.iter().any(|k| Reflect::get(&v, &JsValue::from_str(k)).is_ok_and(|x| x.is_bigint()));
    if has_bigint {
        // A shallow copy: the caller's object is never modified.
        let copy = Object::assign(&Object::new(), v.unchecked_ref());
        for k in small {
            let key = JsValue::from_str(k);
            let x = Reflect::get(&copy, &key).unwrap_or(JsValue::UNDEFINED);
            if x.is_bigint() {
                let n = u32_value(f, &x, &format!("{field}.{k}"))?;
                let _ = Reflect::set(&copy, &key, &JsValue::from_f64(f64::from(n)));
            }
        }
        v = copy.into();
    }
    from_js(f, v, field)
}

/// An exact integer from a safe-integer `number` or a `bigint`, as i128 for range checks.
fn integer(f: Family, v: &JsValue, field: &str) -> Result<i128, JsValue> {
    if v.is_bigint() {
        let b: &BigInt = v.unchecked_ref();
        // Out of i128 range is out of every range we accept; the string form is exact.
        return b
            .to_string(10)
            .ok()
            .and_then(|s| String::from(s).parse::<i128>().ok())
            .ok_or_else(|| error::invalid(f, field, "bigint out of range"));
    }
    if v.as_f64().is_some() {
        if Number::is_safe_integer(v) {
            return Ok(v.as_f64().unwrap_or_default() as i128);
        }
        return Err(error::invalid(
            f,
            field,
            format_args!("{} is not a safe integer: pass an integer below 2^53 or a bigint", describe(v)),
        ));
    }
    Err(error::invalid(f, field, format_args!("expected an integer (number or bigint), got {}", describe(v))))
}

fn ranged<T: TryFrom<i128>>(f: Family, v: &JsValue, field: &str, what: &str) -> Result<T, JsValue> {
    let n = integer(f, v, field)?;
    T::try_from(n).map_err(|_| error::invalid(f, field, format_args!("{n} is out of range for {what}")))
}

/// A `u64` argument (sequence numbers).
pub(crate) fn u64_value(f: Family, v: &JsValue, field: &str) -> Result<u64, JsValue> {
    ranged(f, v, field, "an unsigned 64-bit integer")
}

/// A `u32` argument (limits).
pub(crate) fn u32_value(f: Family, v: &JsValue, field: &str) -> Result<u32, JsValue> {
    ranged(f, v, field, "an unsigned 32-bit integer")
}

/// An `i64` argument (nanosecond times).
pub(crate) fn i64_value(f: Family, v: &JsValue, field: &str) -> Result<i64, JsValue> {
    ranged(f, v, field, "a signed 64-bit integer")
}

/// An optional `u64` (absent = 0, as the Rust API's zero value).
pub(crate) fn opt_u64(f: Family, v: &JsValue, field: &str) -> Result<u64, JsValue> {
    if is_absent(v) {
        Ok(0)
    } else {
        u64_value(f, v, field)
    }
}

/// An optional `u32` (absent = 0: "no limit").
pub(crate) fn opt_u32(f: Family, v: &JsValue, field: &str) -> Result<u32, JsValue> {
    if is_absent(v) {
        Ok(0)
    } else {
        u32_value(f, v, field)
    }
}

/// Snapshot bytes: a `Uint8Array` (copied into wasm memory).
pub(crate) fn bytes(f: Family, v: &JsValue, field: &str) -> Result<Vec<u8>, JsValue> {
    match v.dyn_ref::<js_sys::Uint8Array>() {
        Some(a) => Ok(a.to_vec()),
        None => Err(error::invalid(f, field, format_args!("expected a Uint8Array, got {}", describe(v)))),
    }
}

/// A result as a JS value (see the module docs for the mapping).
pub(crate) fn to_js<T: Serialize + ?Sized>(f: Family, v: &T) -> Result<JsValue, JsValue> {
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_large_number_types_as_bigints(true)
        .serialize_maps_as_objects(true)
        .serialize_missing_as_null(true);
    v.serialize(&ser).map_err(|e| error::encode(f, e))
}

/// A `u64` result as a `bigint`.
pub(crate) fn bigint(v: u64) -> JsValue {
    BigInt::from(v).into()
}
