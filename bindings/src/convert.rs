//! Conversions between JS values and the core's types. The only policy here: nothing is guessed
//! or truncated. A value that does not convert exactly is an `InvalidArgument` naming the
//! argument (and the field inside it), never a panic.
//!
//! Both directions cross the boundary as CBOR in one call (cbor.js holds the JS half): results
//! are encoded by the core's CBOR encoder and built into JS values in JS, arguments are written
//! as CBOR in JS and decoded by the core's decoder. So every record has one serializer and one
//! deserializer in the module, and a record costs two boundary calls instead of one per field.
//!
//! Output: every `u64`/`i64` becomes a `bigint` (sequence numbers, revisions and nanosecond times
//! exceed 2^53), execution states are numbers, maps become plain objects, and `None` becomes
//! `null` (so `getCheckpoint` of an unknown name and an absent `nextToken` are `null`, never
//! `undefined`).
//!
//! Input: integer fields take a `number` (a safe integer) or a `bigint`.

use js_sys::{BigInt, Number, Object, Reflect};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use bacalhau_state::error::Quoted;
use bacalhau_state::snapshot::CborError;

use crate::args::Arg;
use crate::error::{self, Family};

#[wasm_bindgen(module = "/src/cbor.js")]
extern "C" {
    /// Builds a result from its CBOR (see cbor.js for the mapping); throws only for a map key
    /// that is not text, which a JS object cannot hold.
    #[wasm_bindgen(catch)]
    fn cbor_to_js(bytes: &[u8], plain: bool) -> Result<JsValue, JsValue>;

    /// The CBOR `write_cbor` would write for `v`, or `None` where `write_cbor` must run (every
    /// input it refuses, so that its messages stay the only ones).
    fn js_to_cbor(v: &JsValue) -> Option<Vec<u8>>;
}

/// How a JS value is described in error messages.
fn describe(v: &JsValue) -> String {
    if v.is_null() {
        "null".into()
    } else if v.is_undefined() {
        "undefined".into()
    } else if let Some(s) = v.as_string() {
        format!("string {}", Quoted(truncate(&s)))
    } else if v.as_f64().is_some() {
        format!("number {}", js_text(v))
    } else if v.is_bigint() {
        "bigint".into()
    } else {
        v.js_typeof().as_string().unwrap_or_else(|| "value".into())
    }
}

/// A number or bigint as JS writes it (`String(v)`), for messages: Rust's float formatting would
/// add ~9 KB to the module, and its 128-bit integer formatting another 0.6 KB.
fn js_text(v: &JsValue) -> String {
    let text = if v.is_bigint() {
        v.unchecked_ref::<BigInt>().to_string(10).ok()
    } else {
        Number::from(v.as_f64().unwrap_or_default()).to_string_with_radix(10).ok()
    };
    text.map(String::from).unwrap_or_default()
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

/// A record, request or enum value through serde. The JS value is written as CBOR and decoded
/// with the same decoder snapshot import uses, so every record's deserializer is compiled once
/// (serde-wasm-bindgen's deserializer would be a second copy of each: a third of the package).
/// Plain objects are written with their keys in byte order, as serde_json (and so the native
/// API) presents them: snapshots must be byte-identical across platforms, so JS insertion order
/// must not leak into stored maps. `undefined` properties count as absent.
pub(crate) fn from_js<T: DeserializeOwned>(f: Family, v: JsValue, field: &str) -> Result<T, JsValue> {
    let buf = cbor_of(f, &v, field)?;
    bacalhau_state::snapshot::from_cbor(&buf).map_err(|e| decode_error(f, field, e))
}

// The non-generic halves of `from_js` and `options` stay out of line: inlined, they would be
// copied into every argument type's instantiation.
#[inline(never)]
fn cbor_of(f: Family, v: &JsValue, field: &str) -> Result<Vec<u8>, JsValue> {
    if let Some(buf) = js_to_cbor(v) {
        return Ok(buf);
    }
    let mut buf = Vec::with_capacity(256);
    write_cbor(f, v, field, &mut buf, 0)?;
    Ok(buf)
}

#[inline(never)]
fn decode_error(f: Family, field: &str, e: CborError) -> JsValue {
    match e {
        CborError::Semantic(_, msg) => error::invalid(f, field, msg),
        other => error::invalid(f, field, other),
    }
}

/// A required object argument (records and requests): a string or number there is a caller
/// mistake that serde's `#[serde(default)]` structs would otherwise hide.
pub(crate) fn object<T: DeserializeOwned>(f: Family, v: JsValue, field: &str) -> Result<T, JsValue> {
    check_object(f, &v, field)?;
    from_js(f, v, field)
}

#[inline(never)]
fn check_object(f: Family, v: &JsValue, field: &str) -> Result<(), JsValue> {
    if !v.is_object() || js_sys::Array::is_array(v) {
        return Err(error::invalid(f, field, format_args!("expected an object, got {}", describe(v))));
    }
    Ok(())
}

const MAX_DEPTH: usize = 64;

fn head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xFF => out.extend_from_slice(&[m | 24, n as u8]),
        0x100..=0xFFFF => {
            out.push(m | 25);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(m | 26);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn write_int(f: Family, v: &JsValue, field: &str, out: &mut Vec<u8>) -> Result<(), JsValue> {
    let n = integer(f, v, field)?;
    if let Ok(u) = u64::try_from(n) {
        head(out, 0, u);
    } else if let Ok(neg) = u64::try_from(-1 - n) {
        head(out, 1, neg);
    } else {
        return Err(error::invalid(f, field, format_args!("integer {} is out of the 64-bit range", js_text(v))));
    }
    Ok(())
}

/// Writes a JS value as CBOR: exact integers (safe-integer numbers and bigints), floats, text,
/// arrays, byte arrays and plain objects. Anything else (functions, symbols, Dates, Maps, NaN,
/// cycles) is an `InvalidArgument` naming the argument.
fn write_cbor(f: Family, v: &JsValue, field: &str, out: &mut Vec<u8>, depth: usize) -> Result<(), JsValue> {
    if depth > MAX_DEPTH {
        return Err(error::invalid(f, field, format_args!("nested more than {MAX_DEPTH} levels deep (or cyclic)")));
    }
    if is_absent(v) {
        out.push(0xF6);
    } else if let Some(b) = v.as_bool() {
        out.push(if b { 0xF5 } else { 0xF4 });
    } else if let Some(s) = v.as_string() {
        head(out, 3, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    } else if v.is_bigint() || (v.as_f64().is_some() && Number::is_safe_integer(v)) {
        write_int(f, v, field, out)?;
    } else if let Some(x) = v.as_f64() {
        if !x.is_finite() {
            return Err(error::invalid(f, field, format_args!("{} is not a finite number", describe(v))));
        }
        out.push(0xFB);
        out.extend_from_slice(&x.to_be_bytes());
    } else if let Some(a) = v.dyn_ref::<js_sys::Array>() {
        head(out, 4, u64::from(a.length()));
        for x in a.iter() {
            write_cbor(f, &x, field, out, depth + 1)?;
        }
    } else if let Some(a) = v.dyn_ref::<js_sys::Uint8Array>() {
        let bytes = a.to_vec();
        head(out, 2, bytes.len() as u64);
        out.extend_from_slice(&bytes);
    } else if v.is_object() && is_plain(v) {
        let mut entries: Vec<(String, JsValue)> = Object::keys(v.unchecked_ref::<Object>())
            .iter()
            .filter_map(|k| {
                let key = k.as_string()?;
                let x = Reflect::get(v, &k).unwrap_or(JsValue::UNDEFINED);
                (!x.is_undefined()).then_some((key, x))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        head(out, 5, entries.len() as u64);
        for (k, x) in entries {
            head(out, 3, k.len() as u64);
            out.extend_from_slice(k.as_bytes());
            write_cbor(f, &x, field, out, depth + 1)?;
        }
    } else {
        return Err(error::invalid(f, field, format_args!("unsupported value: {}", describe(v))));
    }
    Ok(())
}

fn is_plain(v: &JsValue) -> bool {
    let proto: JsValue = Object::get_prototype_of(v).into();
    proto.is_null() || proto == JsValue::from(Object::get_prototype_of(&Object::new()))
}

/// An optional options object: absent means the type's default. `small` lists its `u32` fields,
/// checked here first so that an out-of-range value is reported with its full path
/// (`page.limit`), which the decoder cannot do. Options are queries, decoded through
/// [`Arg`](crate::args::Arg).
pub(crate) fn options<T: Default>(f: Family, v: JsValue, field: &str, small: &[&str]) -> Result<T, JsValue>
where
    Arg<T>: DeserializeOwned,
{
    if is_absent(&v) {
        return Ok(T::default());
    }
    check_small(f, &v, field, small)?;
    request(f, v, field)
}

/// A required request object (`updateExecution`'s request...), decoded through
/// [`Arg`](crate::args::Arg).
pub(crate) fn request<T>(f: Family, v: JsValue, field: &str) -> Result<T, JsValue>
where
    Arg<T>: DeserializeOwned,
{
    object::<Arg<T>>(f, v, field).map(|a| a.0)
}

#[inline(never)]
fn check_small(f: Family, v: &JsValue, field: &str, small: &[&str]) -> Result<(), JsValue> {
    if v.is_object() {
        for k in small {
            let x = Reflect::get(v, &JsValue::from_str(k)).unwrap_or(JsValue::UNDEFINED);
            if !is_absent(&x) {
                u32_value(f, &x, &format!("{field}.{k}"))?;
            }
        }
    }
    Ok(())
}

/// A bigint's exact value from its decimal form, when it has at most 20 digits: every value we
/// accept does (|v| <= 2^64), so longer ones are out of every range. By hand because
/// `str::parse::<i128>` links 128-bit overflow checks into the module; 20 digits cannot overflow.
fn bigint_value(b: &BigInt) -> Option<i128> {
    let text = String::from(b.to_string(10).ok()?);
    let (negative, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.as_str()),
    };
    if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0i128, |n, c| n * 10 + i128::from(c - b'0'));
    Some(if negative { -n } else { n })
}

/// An exact integer from a safe-integer `number` or a `bigint`, as i128 for range checks.
fn integer(f: Family, v: &JsValue, field: &str) -> Result<i128, JsValue> {
    if v.is_bigint() {
        return bigint_value(v.unchecked_ref())
            .ok_or_else(|| error::invalid(f, field, format_args!("{} is out of the 64-bit range", js_text(v))));
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
    T::try_from(n).map_err(|_| error::invalid(f, field, format_args!("{} is out of range for {what}", js_text(v))))
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

/// A result as a JS value from its CBOR (see the module docs for the mapping). Results are
/// encoded by the core's one CBOR encoder (`snapshot::to_cbor`) and built on the JS side, so no
/// record type has a second serializer in the module.
pub(crate) fn js(f: Family, cbor: Vec<u8>) -> Result<JsValue, JsValue> {
    build(f, &cbor, false)
}

/// A result without records (`stats()`): its map keys are state names, so the record rules
/// (which keys hold execution states) must not apply.
pub(crate) fn plain_js(f: Family, cbor: Vec<u8>) -> Result<JsValue, JsValue> {
    build(f, &cbor, true)
}

fn build(f: Family, cbor: &[u8], plain: bool) -> Result<JsValue, JsValue> {
    cbor_to_js(cbor, plain).map_err(|e| error::encode(f, e.as_string().unwrap_or_default()))
}
