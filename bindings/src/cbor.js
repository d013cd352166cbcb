// The JS half of the boundary (bindings/src/convert.rs): results arrive as the core's CBOR and
// are built into JS values here, arguments leave as CBOR built here. One call crosses the
// boundary per argument or result instead of one per field, and the wasm module needs no
// serializer of its own for each record type.
//
// Output contract (what serde-wasm-bindgen produced before, with bigints for 64-bit integers,
// maps as objects and None as null; tests/js checks it):
// - typed 64-bit fields (versions, revisions, times, counts, sequence numbers) are bigint;
// - execution states (u8 in Rust) are numbers: the values under SMALL keys of a record;
// - opaque values (task specs, resources, publisher params: everything under a `Tasks` or
//   `Params` key of a record) follow ciborium::Value, which narrows integers: a number within
//   i32/u32, a bigint beyond; a CBOR tag becomes { "@@TAGGED@@": [tag, value] };
// - byte strings are fresh Uint8Arrays, null is null, object keys keep the encoded order.
//
// Input contract: exactly the bytes write_cbor (convert.rs) writes for the same value. Anything
// this encoder does not handle the same way returns undefined, and Rust's write_cbor runs
// instead (it also builds every error message), so no input behaves differently.

const TYPED = 0;
const SMALL_INT = 1;
const OPAQUE = 2;
const PLAIN = 3;
const SMALL = new Set(["State", "StateType", "PreviousState", "NewState", "Previous", "New"]);
const NO_STRING_KEY = "Map key is not a string and cannot be an object key";

const decoder = new TextDecoder("utf-8", { ignoreBOM: true, fatal: true });
let B = null;
let V = null;
let P = 0;

/**
 * Builds the JS value of one CBOR item; `plain` turns off the record rules (stats maps).
 * Re-entrant: assigning a property can run a setter the caller put on Object.prototype, and
 * that setter may call the store. So the bytes are copied out of wasm memory first (a nested
 * call can grow the memory, which detaches views of it) and the cursor is restored on return.
 */
export function cbor_to_js(bytes, plain) {
  const saved = [B, V, P];
  B = bytes.slice();
  V = new DataView(B.buffer);
  P = 0;
  try {
    return item(plain ? PLAIN : TYPED);
  } finally {
    [B, V, P] = saved;
  }
}

// The argument of the head at P (a number, or a bigint above 2^53 - 1); -1 for indefinite.
function arg(ai) {
  if (ai < 24) return ai;
  let n;
  switch (ai) {
    case 24: n = B[P]; P += 1; return n;
    case 25: n = V.getUint16(P); P += 2; return n;
    case 26: n = V.getUint32(P); P += 4; return n;
    case 27: {
      const big = V.getBigUint64(P);
      P += 8;
      return big <= 9007199254740991n ? Number(big) : big;
    }
    case 31: return -1;
  }
  throw new Error("malformed CBOR from the store");
}

function item(mode) {
  const ib = B[P++];
  const major = ib >> 5;
  const ai = ib & 31;
  if (major === 7) return simple(ai);
  const n = arg(ai);
  switch (major) {
    case 0: return int(n, mode);
    case 1:
      if (typeof n === "bigint") return negative(-1n - n, mode);
      return negative(-1 - n, mode);
    case 2: {
      const v = B.slice(P, P + n);
      P += n;
      return v;
    }
    case 3: return text(n);
    case 4: {
      const child = mode === SMALL_INT ? TYPED : mode;
      const a = [];
      for (let i = 0; n < 0 ? B[P] !== 0xff : i < n; i++) a.push(item(child));
      if (n < 0) P++;
      return a;
    }
    case 5: return map(n, mode === SMALL_INT ? TYPED : mode);
    case 6: {
      const tag = typeof n === "bigint" ? n : BigInt(n);
      return { "@@TAGGED@@": [tag, item(OPAQUE)] };
    }
  }
  throw new Error("malformed CBOR from the store");
}

function int(n, mode) {
  if (mode === SMALL_INT) return Number(n);
  if (mode === OPAQUE) return n <= 0xffffffff ? n : BigInt(n);
  return typeof n === "bigint" ? n : BigInt(n);
}

function negative(v, mode) {
  if (mode === SMALL_INT) return Number(v);
  if (mode === OPAQUE && v >= -2147483648) return v;
  return typeof v === "bigint" ? v : BigInt(v);
}

function map(n, mode) {
  const o = {};
  for (let i = 0; n < 0 ? B[P] !== 0xff : i < n; i++) {
    const kb = B[P++];
    if (kb >> 5 !== 3) throw NO_STRING_KEY;
    const k = key(arg(kb & 31));
    o[k.s] = item(mode === TYPED ? k.mode : mode);
  }
  if (n < 0) P++;
  return o;
}

// Keys repeat across records, so each distinct key's string is made once and found again by
// its bytes (a fresh string per key is most of the cost of building a record otherwise).
const keys = new Map();

function key(n) {
  const end = P + n;
  let h = n;
  for (let i = P; i < end; i++) h = Math.imul(h ^ B[i], 16777619);
  h &= 0x3fffffff;
  let k = keys.get(h);
  if (k !== undefined && k.b.length === n) {
    const b = k.b;
    let i = 0;
    while (i < n && b[i] === B[P + i]) i++;
    if (i === n) {
      P = end;
      return k;
    }
  }
  const start = P;
  const s = text(n);
  const mode = s === "Tasks" || s === "Params" ? OPAQUE : SMALL.has(s) ? SMALL_INT : TYPED;
  k = { b: B.slice(start, end), s, mode };
  if (keys.size < 4096) keys.set(h, k);
  return k;
}

function text(n) {
  const end = P + n;
  if (n <= 24) {
    let s = "";
    let i = P;
    for (; i < end; i++) {
      const c = B[i];
      if (c > 0x7f) break;
      s += String.fromCharCode(c);
    }
    if (i === end) {
      P = end;
      return s;
    }
  }
  const s = decoder.decode(B.subarray(P, end));
  P = end;
  return s;
}

function simple(ai) {
  let v;
  switch (ai) {
    case 20: return false;
    case 21: return true;
    case 22: return null;
    case 23: return undefined;
    case 25: v = half(V.getUint16(P)); P += 2; return v;
    case 26: v = V.getFloat32(P); P += 4; return v;
    case 27: v = V.getFloat64(P); P += 8; return v;
  }
  throw new Error("malformed CBOR from the store");
}

function half(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- arguments ----

const MAX_DEPTH = 64;
const U64_MAX = 2n ** 64n - 1n;
const encoder = new TextEncoder();
let out = new Uint8Array(4096);
let len = 0;

let busy = false;

/**
 * The CBOR of a JS argument, or undefined when Rust's write_cbor must handle it. A getter of the
 * argument may call the store again: that nested call gets undefined (write_cbor keeps no shared
 * state), so this call's buffer is never overwritten. The returned view is copied into wasm
 * memory before any other JS runs.
 */
export function js_to_cbor(v) {
  if (busy) return undefined;
  busy = true;
  len = 0;
  try {
    return write(v, 0) ? out.subarray(0, len) : undefined;
  } catch {
    return undefined;
  } finally {
    busy = false;
  }
}

function reserve(n) {
  if (len + n <= out.length) return;
  const bigger = new Uint8Array(Math.max(out.length * 2, len + n));
  bigger.set(out.subarray(0, len));
  out = bigger;
}

function head(major, n) {
  reserve(9);
  const m = major << 5;
  if (n < 24) out[len++] = m | n;
  else if (n <= 0xff) {
    out[len++] = m | 24;
    out[len++] = n;
  } else if (n <= 0xffff) {
    out[len++] = m | 25;
    out[len++] = n >>> 8;
    out[len++] = n & 0xff;
  } else if (n <= 0xffffffff) {
    out[len++] = m | 26;
    out[len++] = n >>> 24;
    out[len++] = (n >>> 16) & 0xff;
    out[len++] = (n >>> 8) & 0xff;
    out[len++] = n & 0xff;
  } else {
    out[len++] = m | 27;
    new DataView(out.buffer).setBigUint64(len, BigInt(n));
    len += 8;
  }
}

function writeText(s) {
  const n = s.length;
  const start = len;
  head(3, n);
  reserve(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) {
      len = start;
      writeBytes(3, encoder.encode(s));
      return;
    }
    out[len++] = c;
  }
}

function writeBytes(major, bytes) {
  head(major, bytes.length);
  reserve(bytes.length);
  out.set(bytes, len);
  len += bytes.length;
}

function compareAscii(a, b) {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function compareUtf8(a, b) {
  const x = encoder.encode(a[0]);
  const y = encoder.encode(b[0]);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

function write(v, depth) {
  if (depth > MAX_DEPTH) return false;
  if (v === undefined || v === null) {
    reserve(1);
    out[len++] = 0xf6;
    return true;
  }
  switch (typeof v) {
    case "boolean":
      reserve(1);
      out[len++] = v ? 0xf5 : 0xf4;
      return true;
    case "string":
      writeText(v);
      return true;
    case "bigint":
      if (v >= 0n) {
        if (v > U64_MAX) return false;
        head(0, v <= 0xffffffffn ? Number(v) : v);
      } else {
        const n = -1n - v;
        if (n > U64_MAX) return false;
        head(1, n <= 0xffffffffn ? Number(n) : n);
      }
      return true;
    case "number":
      if (Number.isSafeInteger(v)) {
        if (v >= 0) head(0, v);
        else head(1, -1 - v);
        return true;
      }
      if (!Number.isFinite(v)) return false;
      reserve(9);
      out[len++] = 0xfb;
      new DataView(out.buffer).setFloat64(len, v);
      len += 8;
      return true;
    case "object":
      break;
    default:
      return false;
  }
  if (Array.isArray(v)) {
    const n = v.length;
    head(4, n);
    for (let i = 0; i < n; i++) if (!write(v[i], depth + 1)) return false;
    return true;
  }
  if (v instanceof Uint8Array) {
    writeBytes(2, v);
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== null && proto !== Object.prototype) return false;
  // Reads exactly what write_cbor reads: Object.keys, then each value once (a throwing getter
  // reads as undefined). Keys already in order, the common case for records built in one
  // place, skip the sort.
  const keys = Object.keys(v);
  const m = keys.length;
  const entries = [];
  let ascii = true;
  let sorted = true;
  let prev = "";
  for (let i = 0; i < m; i++) {
    const k = keys[i];
    let x;
    try {
      x = v[k];
    } catch {
      x = undefined;
    }
    if (x === undefined) continue;
    entries.push([k, x]);
    if (k < prev) sorted = false;
    prev = k;
    if (ascii) for (let j = 0; j < k.length; j++) if (k.charCodeAt(j) > 0x7f) ascii = false;
  }
  const n = entries.length;
  if (!ascii) entries.sort(compareUtf8);
  else if (!sorted) entries.sort(compareAscii);
  head(5, n);
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    writeText(e[0]);
    if (!write(e[1], depth + 1)) return false;
  }
  return true;
}
