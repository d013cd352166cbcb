//! The CBOR decoder behind [`super::from_cbor`]: a serde `Deserializer` over a byte slice that
//! behaves exactly as `ciborium::from_reader` on that slice: the same values, the same errors,
//! with the same offsets and messages, except that a non-integral float in an "invalid type"
//! message is not written out (see [`Error`]; the tests below compare the two on valid,
//! altered and random input). It is written for size: ciborium's deserializer is generic over its reader
//! and marks its methods `#[inline]`, so its header decoding, tag skipping, string and bignum
//! reading were copied into every visitor's instantiation (a fifth of the wasm package). Here
//! each `deserialize_*` method calls one non-generic function that does all of that and hands
//! the visitor a finished value. Strings and bytes are borrowed from the input instead of being
//! copied through a 4 KiB scratch buffer, which need not be zeroed on every call either.
//!
//! ciborium's observable quirks are kept on purpose, as stored snapshots and callers may depend
//! on them: tags are skipped where a typed value is expected; text and bytes of at most 4096
//! bytes (ciborium's scratch size) are handed over as `str`/`bytes`, longer or indefinite ones
//! as `String`/`byte_buf`, and field names longer than that are refused; a pushed-back header is
//! counted at its canonical (shortest) length, which shows in the offsets of some errors; trailing
//! bytes after the value are ignored.

use alloc::string::String;
use alloc::vec::Vec;

use serde::de::{self, Deserializer as _, IntoDeserializer as _};

/// Why [`super::from_cbor`] refused its input: the variants of the error `ciborium::from_reader`
/// returns for a byte slice, with the same contents (the differential tests compare their `Debug`
/// forms), but a message of its own: ciborium's `Display` is its `Debug`, and serde's default
/// "invalid type" text formats floats and `Debug`-quotes strings, which together link ~10 KB of
/// formatting code and tables into the wasm package. See [`Unexpected`] for the one difference.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The input ended inside an item (the slice reader's error; its type depends on ciborium's
    /// `std` feature, hence the projection).
    Io(<&'static [u8] as ciborium_io::Read>::Error),
    /// Malformed CBOR at this byte offset.
    Syntax(usize),
    /// Well-formed CBOR that does not decode as the type, at this offset when known.
    Semantic(Option<usize>, String),
    /// Items nested deeper than ciborium's limit (256).
    RecursionLimitExceeded,
}

impl Error {
    fn semantic(offset: usize, msg: &str) -> Error {
        Error::Semantic(Some(offset), msg.into())
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::Io(_) => f.write_str("unexpected end of input"),
            Error::Syntax(at) => write!(f, "malformed CBOR at byte {at}"),
            Error::Semantic(Some(at), msg) => write!(f, "{msg} (at byte {at})"),
            Error::Semantic(None, msg) => f.write_str(msg),
            Error::RecursionLimitExceeded => write!(f, "items nested deeper than {RECURSION_LIMIT} levels"),
        }
    }
}

impl core::error::Error for Error {}

impl de::Error for Error {
    #[cold]
    fn custom<T: core::fmt::Display>(msg: T) -> Error {
        Error::Semantic(None, alloc::format!("{msg}"))
    }

    #[cold]
    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Error {
        Error::custom(format_args!("invalid type: {}, expected {}", Unexpected(unexp), exp))
    }

    #[cold]
    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Error {
        Error::custom(format_args!("invalid value: {}, expected {}", Unexpected(unexp), exp))
    }
}

/// serde's text for an unexpected value (`de::Unexpected`'s `Display`), but with strings quoted
/// by [`crate::error::Quoted`] and floats written without core's float formatting: NaN, the
/// infinities and integral floats under 2^53 exactly as serde writes them (`2.0`, `-0.0`), any
/// other float as just `floating point`.
struct Unexpected<'a>(de::Unexpected<'a>);

impl core::fmt::Display for Unexpected<'_> {
    // Every arm is spelled out: delegating to serde's `Display` would link its float arm.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use de::Unexpected as U;
        match self.0 {
            U::Bool(b) => write!(f, "boolean `{b}`"),
            U::Unsigned(i) => write!(f, "integer `{i}`"),
            U::Signed(i) => write!(f, "integer `{i}`"),
            U::Float(x) => float(f, x),
            U::Char(c) => write!(f, "character `{c}`"),
            U::Str(s) => write!(f, "string {}", crate::error::Quoted(s)),
            U::Bytes(_) => f.write_str("byte array"),
            U::Unit => f.write_str("unit value"),
            U::Option => f.write_str("Option value"),
            U::NewtypeStruct => f.write_str("newtype struct"),
            U::Seq => f.write_str("sequence"),
            U::Map => f.write_str("map"),
            U::Enum => f.write_str("enum"),
            U::UnitVariant => f.write_str("unit variant"),
            U::NewtypeVariant => f.write_str("newtype variant"),
            U::TupleVariant => f.write_str("tuple variant"),
            U::StructVariant => f.write_str("struct variant"),
            U::Other(other) => f.write_str(other),
        }
    }
}

/// serde writes `floating point `x`` with `.0` appended to finite values; an inexact one (see
/// [`crate::error::quote::Float`]) is left out.
fn float(f: &mut core::fmt::Formatter<'_>, x: f64) -> core::fmt::Result {
    let text = crate::error::quote::Float(x);
    match (text.is_exact(), x.is_finite()) {
        (true, true) => write!(f, "floating point `{text}.0`"),
        (true, false) => write!(f, "floating point `{text}`"),
        (false, _) => f.write_str("floating point"),
    }
}

/// ciborium's scratch buffer size: text and bytes up to this length are read whole.
const SCRATCH: usize = 4096;
/// ciborium's default nesting limit.
const RECURSION_LIMIT: usize = 256;

const BIGPOS: u64 = 2;
const BIGNEG: u64 = 3;
const FALSE: u8 = 20;
const TRUE: u8 = 21;
const NULL: u8 = 22;
const UNDEFINED: u8 = 23;

/// A decoded CBOR item header (ciborium_ll's `Header`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Header {
    Positive(u64),
    Negative(u64),
    Float(f64),
    Simple(u8),
    Tag(u64),
    Break,
    Bytes(Option<usize>),
    Text(Option<usize>),
    Array(Option<usize>),
    Map(Option<usize>),
}

/// Bytes after the initial byte in the shortest encoding of `x`.
const fn int_len(x: u64) -> usize {
    if x <= 23 {
        0
    } else if x <= 0xFF {
        1
    } else if x <= 0xFFFF {
        2
    } else if x <= 0xFFFF_FFFF {
        4
    } else {
        8
    }
}

/// Whether `x` converts to a half-precision float and back bit for bit (what the `half` crate
/// computes, in software or with F16C: NaNs must be quiet with a payload in the top 10 bits).
fn is_f16_exact(x: f64) -> bool {
    let bits = x.to_bits();
    if x.is_nan() {
        return bits & (1 << 51) != 0 && bits & ((1 << 42) - 1) == 0;
    }
    if x == 0.0 || x.is_infinite() {
        return true;
    }
    let exp = ((bits >> 52) & 0x7FF) as i64 - 1023;
    if exp > 15 {
        false
    } else if exp >= -14 {
        // Normal in f16: at most 10 mantissa bits.
        bits & ((1 << 42) - 1) == 0
    } else {
        // Subnormal in f16: a multiple of 2^-24 (scaling by a power of two is exact here).
        let scaled = x.abs() * 16_777_216.0;
        scaled == f64::from(scaled as u32)
    }
}

/// `f16` bits as `f64` (the `half` crate's conversion, NaN payloads included).
fn f16_to_f64(i: u16) -> f64 {
    if i & 0x7FFF == 0 {
        return f64::from_bits(u64::from(i) << 48);
    }
    let sign = u64::from(i & 0x8000) << 48;
    let exp = u64::from(i & 0x7C00);
    let man = u64::from(i & 0x03FF);
    if exp == 0x7C00 {
        return if man == 0 {
            f64::from_bits(sign | 0x7FF0_0000_0000_0000)
        } else {
            f64::from_bits(sign | 0x7FF8_0000_0000_0000 | (man << 42))
        };
    }
    if exp == 0 {
        // Subnormal: normalise.
        let e = u64::from((man as u16).leading_zeros() - 6);
        let exp = (1023 - 15 - e) << 52;
        let man = (man << (43 + e)) & 0xF_FFFF_FFFF_FFFF;
        return f64::from_bits(sign | exp | man);
    }
    let exp = ((exp >> 10) + 1023 - 15) << 52;
    f64::from_bits(sign | exp | (man << 42))
}

impl Header {
    /// Length of the header re-encoded in its shortest form, which is what ciborium's decoder
    /// moves its offset by when a header is pushed back and pulled again.
    fn title_len(self) -> usize {
        1 + match self {
            Header::Positive(x) | Header::Negative(x) | Header::Tag(x) => int_len(x),
            Header::Bytes(l) | Header::Text(l) | Header::Array(l) | Header::Map(l) => {
                l.map_or(0, |x| int_len(x as u64))
            }
            Header::Break => 0,
            Header::Simple(x) => usize::from(x > 23),
            Header::Float(x) => {
                if is_f16_exact(x) {
                    2
                } else if f64::from(x as f32).to_bits() == x.to_bits() {
                    4
                } else {
                    8
                }
            }
        }
    }
}

/// The end-of-input error of the slice reader.
#[cold]
fn eof() -> Error {
    let mut empty: &[u8] = &[];
    match ciborium_io::Read::read_exact(&mut empty, &mut [0]) {
        Err(e) => Error::Io(e),
        Ok(()) => Error::Syntax(0),
    }
}

#[cold]
#[inline(never)]
fn custom(msg: &'static str) -> Error {
    Error::Semantic(None, msg.into())
}

/// ciborium's "invalid type" error for `header` where `kind` was expected.
#[cold]
#[inline(never)]
fn expected(header: Header, kind: &'static str) -> Error {
    use de::Unexpected as U;
    let unexpected = match header {
        Header::Positive(x) => U::Unsigned(x),
        Header::Negative(x) => U::Signed(x as i64 ^ !0),
        Header::Bytes(..) => U::Other("bytes"),
        Header::Text(..) => U::Other("string"),
        Header::Array(..) => U::Seq,
        Header::Map(..) => U::Map,
        Header::Tag(..) => U::Other("tag"),
        Header::Simple(FALSE) => U::Bool(false),
        Header::Simple(TRUE) => U::Bool(true),
        Header::Simple(NULL) => U::Other("null"),
        Header::Simple(UNDEFINED) => U::Other("undefined"),
        Header::Simple(..) => U::Other("simple"),
        Header::Float(x) => U::Float(x),
        Header::Break => U::Other("break"),
    };
    de::Error::invalid_type(unexpected, &kind)
}

/// Where the segments of a (possibly indefinite-length) string are.
#[derive(Default)]
struct Segments {
    finish: bool,
    nested: usize,
}

/// What `deserialize_any` found, decoded up to the visitor call.
enum Any<'a> {
    U64(u64),
    I64(i64),
    U128(u128),
    I128(i128),
    F64(f64),
    Bool(bool),
    None,
    Str(&'a str),
    String(String),
    Bytes(&'a [u8]),
    ByteBuf(Vec<u8>),
    Seq(Option<usize>),
    Map(Option<usize>),
    /// A tag other than a bignum: visited as ciborium's tag enum.
    Tagged(u64),
}

/// Bytes, or an array standing in for them.
enum BytesOr<T> {
    Bytes(T),
    Array(Option<usize>),
}

/// A field name, as text or bytes.
enum Ident<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
}

/// The decoder state: ciborium's `Deserializer` with its `Decoder` over a slice.
pub(crate) struct Decoder<'a> {
    input: &'a [u8],
    /// Bytes consumed.
    pos: usize,
    /// ciborium's offset: `pos`, less the canonical length of a pushed-back header.
    offset: usize,
    pushed: Option<Header>,
    recurse: usize,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Decoder { input, pos: 0, offset: 0, pushed: None, recurse: RECURSION_LIMIT }
    }

    /// The next `n` bytes.
    fn read(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let input: &'a [u8] = self.input;
        let end = self.pos.checked_add(n).ok_or_else(eof)?;
        let bytes = input.get(self.pos..end).ok_or_else(eof)?;
        self.pos = end;
        self.offset += n;
        Ok(bytes)
    }

    fn pull(&mut self) -> Result<Header, Error> {
        if let Some(h) = self.pushed.take() {
            self.offset += h.title_len();
            return Ok(h);
        }
        let start = self.offset;
        let initial = self.read(1)?[0];
        let minor = initial & 0x1F;
        let arg = match minor {
            0..=23 => Some(u64::from(minor)),
            24 => Some(u64::from(self.read(1)?[0])),
            25 => Some(u64::from(u16::from_be_bytes(self.array()?))),
            26 => Some(u64::from(u32::from_be_bytes(self.array()?))),
            27 => Some(u64::from_be_bytes(self.array()?)),
            31 => None,
            _ => return Err(Error::Syntax(start)),
        };
        let int = || arg.ok_or(Error::Syntax(start));
        let len = || match arg {
            Some(x) => usize::try_from(x).map(Some).map_err(|_| Error::Syntax(start)),
            None => Ok(None),
        };
        Ok(match initial >> 5 {
            0 => Header::Positive(int()?),
            1 => Header::Negative(int()?),
            2 => Header::Bytes(len()?),
            3 => Header::Text(len()?),
            4 => Header::Array(len()?),
            5 => Header::Map(len()?),
            6 => Header::Tag(int()?),
            _ => match (minor, arg) {
                (25, Some(x)) => Header::Float(f16_to_f64(x as u16)),
                (26, Some(x)) => Header::Float(f64::from(f32::from_bits(x as u32))),
                (27, Some(x)) => Header::Float(f64::from_bits(x)),
                (_, Some(x)) => Header::Simple(x as u8),
                (_, None) => Header::Break,
            },
        })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.read(N)?);
        Ok(out)
    }

    fn push(&mut self, h: Header) {
        self.offset = self.offset.wrapping_sub(h.title_len());
        self.pushed = Some(h);
    }

    fn peek(&mut self) -> Result<Header, Error> {
        let h = self.pull()?;
        self.push(h);
        Ok(h)
    }

    fn enter(&mut self) -> Result<(), Error> {
        if self.recurse == 0 {
            return Err(Error::RecursionLimitExceeded);
        }
        self.recurse -= 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.recurse += 1;
    }

    /// Whether a seq or map of `len` items (`None`: up to a break) has another one.
    fn more(&mut self, len: &mut Option<usize>) -> Result<bool, Error> {
        match *len {
            Some(0) => Ok(false),
            Some(n) => {
                *len = Some(n - 1);
                Ok(true)
            }
            None => match self.pull()? {
                Header::Break => Ok(false),
                h => {
                    self.push(h);
                    Ok(true)
                }
            },
        }
    }

    /// The next segment (offset of its header, length) of the string whose header was pushed.
    fn segment(&mut self, s: &mut Segments, text: bool) -> Result<Option<(usize, usize)>, Error> {
        while !s.finish {
            let offset = self.offset;
            match self.pull()? {
                Header::Break if s.nested == 1 => return Ok(None),
                Header::Break if s.nested > 1 => s.nested -= 1,
                Header::Text(len) if text => match len {
                    None => s.nested += 1,
                    Some(len) => {
                        s.finish = s.nested == 0;
                        return Ok(Some((offset, len)));
                    }
                },
                Header::Bytes(len) if !text => match len {
                    None => s.nested += 1,
                    Some(len) => {
                        s.finish = s.nested == 0;
                        return Ok(Some((offset, len)));
                    }
                },
                _ => return Err(Error::Syntax(offset)),
            }
        }
        Ok(None)
    }

    /// Up to how many bytes a buffer may reserve for `len` claimed bytes.
    fn capacity(&self, len: Option<usize>) -> usize {
        len.unwrap_or(0).min(self.input.len().saturating_sub(self.pos))
    }

    /// The bytes of a string with header `Bytes(len)` (already pulled).
    fn byte_segments(&mut self, len: Option<usize>) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(self.capacity(len));
        self.push(Header::Bytes(len));
        let mut s = Segments::default();
        while let Some((_, n)) = self.segment(&mut s, false)? {
            out.extend_from_slice(self.read(n)?);
        }
        Ok(out)
    }

    /// The text of a string with header `Text(len)` (already pulled), validated as ciborium
    /// does: in windows of at most 4096 bytes, carrying an incomplete character over.
    fn text_segments(&mut self, len: Option<usize>) -> Result<String, Error> {
        let mut out = String::with_capacity(self.capacity(len));
        self.push(Header::Text(len));
        let mut s = Segments::default();
        while let Some((offset, mut unread)) = self.segment(&mut s, true)? {
            let mut stored = 0;
            loop {
                if unread == 0 {
                    if stored == 0 {
                        break;
                    }
                    return Err(Error::Syntax(offset));
                }
                let size = SCRATCH.min(stored + unread);
                let new = size - stored;
                self.read(new)?;
                unread -= new;
                let window = self.input.get(self.pos - size..self.pos).ok_or(Error::Syntax(offset))?;
                match core::str::from_utf8(window) {
                    Ok(text) => {
                        out.push_str(text);
                        stored = 0;
                    }
                    Err(e) => {
                        let valid = e.valid_up_to();
                        stored = size - valid;
                        if stored > 3 {
                            return Err(Error::Syntax(offset));
                        }
                        out.push_str(core::str::from_utf8(&window[..valid]).map_err(|_| Error::Syntax(offset))?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// ciborium's `integer`: an integer or bignum, tags skipped; `(negative, magnitude)`.
    fn integer(&mut self, mut header: Option<Header>) -> Result<(bool, u128), Error> {
        loop {
            let h = match header.take() {
                Some(h) => h,
                None => self.pull()?,
            };
            let neg = match h {
                Header::Positive(x) => return Ok((false, x.into())),
                Header::Negative(x) => return Ok((true, x.into())),
                Header::Tag(BIGPOS) => false,
                Header::Tag(BIGNEG) => true,
                Header::Tag(..) => continue,
                h => return Err(expected(h, "integer")),
            };
            let len = match self.pull()? {
                Header::Bytes(len) => len,
                h => return Err(expected(h, "bytes")),
            };
            self.push(Header::Bytes(len));
            let mut value = [0u8; 16];
            let mut index = 0;
            let mut s = Segments::default();
            while let Some((_, mut unread)) = self.segment(&mut s, false)? {
                // Read in chunks of 16 bytes, as ciborium does, so that an overlong bignum is
                // reported before a truncation further on.
                while unread > 0 {
                    let n = unread.min(16);
                    let chunk = self.read(n)?;
                    unread -= n;
                    for &b in chunk {
                        match index {
                            16 => return Err(custom("bigint too large")),
                            0 if b == 0 => continue,
                            _ => value[index] = b,
                        }
                        index += 1;
                    }
                }
            }
            value[..index].reverse();
            return Ok((neg, u128::from_le_bytes(value)));
        }
    }

    fn u64_value(&mut self) -> Result<u64, Error> {
        match self.integer(None)? {
            (false, raw) => u64::try_from(raw).map_err(|_| custom("integer too large")),
            (true, _) => Err(custom("unexpected negative integer")),
        }
    }

    fn u128_value(&mut self) -> Result<u128, Error> {
        match self.integer(None)? {
            (false, raw) => Ok(raw),
            (true, _) => Err(custom("unexpected negative integer")),
        }
    }

    fn i64_value(&mut self) -> Result<i64, Error> {
        let result = match self.integer(None)? {
            (false, raw) => i64::try_from(raw),
            (true, raw) => i64::try_from(raw).map(|x| x ^ !0),
        };
        result.map_err(|_| custom("integer too large"))
    }

    fn i128_value(&mut self) -> Result<i128, Error> {
        let result = match self.integer(None)? {
            (false, raw) => i128::try_from(raw),
            (true, raw) => i128::try_from(raw).map(|x| x ^ !0),
        };
        result.map_err(|_| custom("integer too large"))
    }

    fn bool_value(&mut self) -> Result<bool, Error> {
        loop {
            let offset = self.offset;
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Simple(FALSE) => Ok(false),
                Header::Simple(TRUE) => Ok(true),
                _ => Err(Error::semantic(offset, "expected bool")),
            };
        }
    }

    fn f64_value(&mut self) -> Result<f64, Error> {
        loop {
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Float(x) => Ok(x),
                h => Err(expected(h, "float")),
            };
        }
    }

    fn char_value(&mut self) -> Result<char, Error> {
        loop {
            let offset = self.offset;
            let header = self.pull()?;
            return match header {
                Header::Tag(..) => continue,
                Header::Text(Some(len)) if len <= 4 => match core::str::from_utf8(self.read(len)?) {
                    Ok(s) => {
                        let mut chars = s.chars();
                        match (chars.next(), chars.next()) {
                            (Some(c), None) => Ok(c),
                            _ => Err(expected(header, "char")),
                        }
                    }
                    Err(..) => Err(Error::Syntax(offset)),
                },
                _ => Err(expected(header, "char")),
            };
        }
    }

    /// Text of at most 4096 bytes (`deserialize_str`).
    fn str_value(&mut self) -> Result<&'a str, Error> {
        loop {
            let offset = self.offset;
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Text(Some(len)) if len <= SCRATCH => {
                    core::str::from_utf8(self.read(len)?).map_err(|_| Error::Syntax(offset))
                }
                h => Err(expected(h, "str")),
            };
        }
    }

    fn string_value(&mut self) -> Result<String, Error> {
        loop {
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Text(len) => self.text_segments(len),
                h => Err(expected(h, "string")),
            };
        }
    }

    fn ident(&mut self) -> Result<Ident<'a>, Error> {
        loop {
            let offset = self.offset;
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Text(Some(len)) if len <= SCRATCH => {
                    core::str::from_utf8(self.read(len)?).map(Ident::Str).map_err(|_| Error::Syntax(offset))
                }
                Header::Bytes(Some(len)) if len <= SCRATCH => Ok(Ident::Bytes(self.read(len)?)),
                h => Err(expected(h, "str or bytes")),
            };
        }
    }

    /// Bytes of at most 4096 bytes, or an array (`deserialize_bytes`).
    fn bytes_value(&mut self) -> Result<BytesOr<&'a [u8]>, Error> {
        loop {
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Bytes(Some(len)) if len <= SCRATCH => Ok(BytesOr::Bytes(self.read(len)?)),
                Header::Array(len) => Ok(BytesOr::Array(len)),
                h => Err(expected(h, "bytes")),
            };
        }
    }

    fn byte_buf_value(&mut self) -> Result<BytesOr<Vec<u8>>, Error> {
        loop {
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Bytes(len) => self.byte_segments(len).map(BytesOr::Bytes),
                Header::Array(len) => Ok(BytesOr::Array(len)),
                h => Err(expected(h, "byte buffer")),
            };
        }
    }

    /// An array, or bytes read as a sequence of integers (`deserialize_seq`).
    fn seq_value(&mut self) -> Result<BytesOr<Vec<u8>>, Error> {
        loop {
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Array(len) => Ok(BytesOr::Array(len)),
                Header::Bytes(len) => self.byte_segments(len).map(BytesOr::Bytes),
                h => Err(expected(h, "array")),
            };
        }
    }

    fn map_len(&mut self) -> Result<Option<usize>, Error> {
        loop {
            return match self.pull()? {
                Header::Tag(..) => continue,
                Header::Map(len) => Ok(len),
                h => Err(expected(h, "map")),
            };
        }
    }

    /// Whether an optional value is absent (null or undefined); a present one is left unread.
    fn is_none(&mut self) -> Result<bool, Error> {
        match self.pull()? {
            Header::Simple(UNDEFINED | NULL) => Ok(true),
            h => {
                self.push(h);
                Ok(false)
            }
        }
    }

    fn unit(&mut self) -> Result<(), Error> {
        loop {
            return match self.pull()? {
                Header::Simple(UNDEFINED | NULL) => Ok(()),
                Header::Tag(..) => continue,
                h => Err(expected(h, "unit")),
            };
        }
    }

    /// The start of an externally tagged enum: a one-entry map or a bare variant name.
    fn enum_start(&mut self) -> Result<(), Error> {
        loop {
            match self.pull()? {
                Header::Tag(..) => continue,
                Header::Map(Some(1)) => (),
                h @ Header::Text(..) => self.push(h),
                h => return Err(expected(h, "enum")),
            }
            return Ok(());
        }
    }

    /// `deserialize_any` up to the visitor call, along ciborium's path through the typed methods.
    fn any(&mut self) -> Result<Any<'a>, Error> {
        let h = self.peek()?;
        Ok(match h {
            Header::Positive(..) => Any::U64(self.u64_value()?),
            Header::Negative(x) if i64::try_from(x).is_ok() => Any::I64(self.i64_value()?),
            Header::Negative(..) => Any::I128(self.i128_value()?),
            Header::Bytes(Some(len)) if len <= SCRATCH => match self.bytes_value()? {
                BytesOr::Bytes(b) => Any::Bytes(b),
                BytesOr::Array(len) => Any::Seq(len),
            },
            Header::Bytes(..) => match self.byte_buf_value()? {
                BytesOr::Bytes(b) => Any::ByteBuf(b),
                BytesOr::Array(len) => Any::Seq(len),
            },
            Header::Text(Some(len)) if len <= SCRATCH => Any::Str(self.str_value()?),
            Header::Text(..) => Any::String(self.string_value()?),
            Header::Array(len) => {
                self.pull()?;
                Any::Seq(len)
            }
            Header::Map(len) => {
                self.pull()?;
                Any::Map(len)
            }
            Header::Tag(tag) => {
                self.pull()?;
                let len = match self.peek()? {
                    Header::Bytes(len) => len,
                    _ => None,
                };
                match (tag, len) {
                    (BIGPOS | BIGNEG, Some(len)) if len <= 16 => match self.integer(Some(Header::Tag(tag)))? {
                        (false, raw) => Any::U128(raw),
                        (true, raw) => match i128::try_from(raw) {
                            Ok(x) => Any::I128(x ^ !0),
                            Err(..) => return Err(custom("integer too large")),
                        },
                    },
                    _ => Any::Tagged(tag),
                }
            }
            Header::Float(..) => Any::F64(self.f64_value()?),
            Header::Simple(FALSE | TRUE) => Any::Bool(self.bool_value()?),
            Header::Simple(NULL | UNDEFINED) => {
                self.pull()?;
                Any::None
            }
            h @ Header::Simple(..) => return Err(expected(h, "known simple value")),
            h @ Header::Break => return Err(expected(h, "non-break")),
        })
    }

    fn visit_seq<'de, V: de::Visitor<'de>>(&mut self, len: Option<usize>, visitor: V) -> Result<V::Value, Error> {
        self.enter()?;
        let result = visitor.visit_seq(Access { de: self, len });
        self.leave();
        result
    }

    fn visit_bytes_or_seq<'de, V: de::Visitor<'de>>(
        &mut self,
        value: BytesOr<Vec<u8>>,
        visitor: V,
    ) -> Result<V::Value, Error> {
        match value {
            BytesOr::Bytes(b) => visitor.visit_byte_buf(b),
            BytesOr::Array(len) => self.visit_seq(len, visitor),
        }
    }
}

impl<'de> de::Deserializer<'de> for &mut Decoder<'_> {
    type Error = Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.any()? {
            Any::U64(x) => visitor.visit_u64(x),
            Any::I64(x) => visitor.visit_i64(x),
            Any::U128(x) => visitor.visit_u128(x),
            Any::I128(x) => visitor.visit_i128(x),
            Any::F64(x) => visitor.visit_f64(x),
            Any::Bool(x) => visitor.visit_bool(x),
            Any::None => visitor.visit_none(),
            Any::Str(s) => visitor.visit_str(s),
            Any::String(s) => visitor.visit_string(s),
            Any::Bytes(b) => visitor.visit_bytes(b),
            Any::ByteBuf(b) => visitor.visit_byte_buf(b),
            Any::Seq(len) => self.visit_seq(len, visitor),
            Any::Map(len) => {
                self.enter()?;
                let result = visitor.visit_map(Access { de: self, len });
                self.leave();
                result
            }
            Any::Tagged(tag) => {
                self.enter()?;
                let result = visitor.visit_enum(TagAccess { parent: Some(&mut *self), state: 0, tag: Some(tag) });
                self.leave();
                result
            }
        }
    }

    fn deserialize_bool<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(self.bool_value()?)
    }

    fn deserialize_f32<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(self.f64_value()?)
    }

    fn deserialize_i8<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i16<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i32<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i64<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(self.i64_value()?)
    }

    fn deserialize_i128<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i128(self.i128_value()?)
    }

    fn deserialize_u8<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u64<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(self.u64_value()?)
    }

    fn deserialize_u128<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u128(self.u128_value()?)
    }

    fn deserialize_char<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_char(self.char_value()?)
    }

    fn deserialize_str<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_str(self.str_value()?)
    }

    fn deserialize_string<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_string(self.string_value()?)
    }

    fn deserialize_bytes<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.bytes_value()? {
            BytesOr::Bytes(b) => visitor.visit_bytes(b),
            BytesOr::Array(len) => self.visit_seq(len, visitor),
        }
    }

    fn deserialize_byte_buf<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let value = self.byte_buf_value()?;
        self.visit_bytes_or_seq(value, visitor)
    }

    fn deserialize_seq<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.seq_value()? {
            BytesOr::Array(len) => self.visit_seq(len, visitor),
            BytesOr::Bytes(b) => visitor.visit_seq(BytesAccess { next: 0, bytes: b }),
        }
    }

    fn deserialize_map<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let len = self.map_len()?;
        self.enter()?;
        let result = visitor.visit_map(Access { de: &mut *self, len });
        self.leave();
        result
    }

    fn deserialize_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_tuple<V: de::Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.ident()? {
            Ident::Str(s) => visitor.visit_str(s),
            Ident::Bytes(b) => visitor.visit_bytes(b),
        }
    }

    fn deserialize_ignored_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_any(visitor)
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.is_none()? {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.unit()?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: de::Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if name == "@@TAG@@" {
            let tag = match self.pull()? {
                Header::Tag(x) => Some(x),
                h => {
                    self.push(h);
                    None
                }
            };
            self.enter()?;
            let result = visitor.visit_enum(TagAccess { parent: Some(&mut *self), state: 0, tag });
            self.leave();
            return result;
        }
        self.enum_start()?;
        self.enter()?;
        let result = visitor.visit_enum(Access { de: &mut *self, len: Some(0) });
        self.leave();
        result
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

/// Items of an array or map, and the variant of an enum.
struct Access<'d, 'a> {
    de: &'d mut Decoder<'a>,
    len: Option<usize>,
}

impl<'de> de::SeqAccess<'de> for Access<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if !self.de.more(&mut self.len)? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        self.len
    }
}

impl<'de> de::MapAccess<'de> for Access<'_, '_> {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if !self.de.more(&mut self.len)? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.de).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(&mut *self.de)
    }

    fn size_hint(&self) -> Option<usize> {
        self.len
    }
}

impl<'de> de::EnumAccess<'de> for Access<'_, '_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: de::DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(&mut *self.de)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for Access<'_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Ok(())
    }

    fn newtype_variant_seed<U: de::DeserializeSeed<'de>>(self, seed: U) -> Result<U::Value, Error> {
        seed.deserialize(&mut *self.de)
    }

    fn tuple_variant<V: de::Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        self.de.deserialize_any(visitor)
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.de.deserialize_any(visitor)
    }
}

/// A byte string read as a sequence of integers.
struct BytesAccess {
    next: usize,
    bytes: Vec<u8>,
}

impl<'de> de::SeqAccess<'de> for BytesAccess {
    type Error = Error;

    fn next_element_seed<U: de::DeserializeSeed<'de>>(&mut self, seed: U) -> Result<Option<U::Value>, Error> {
        match self.bytes.get(self.next) {
            Some(&byte) => {
                self.next += 1;
                seed.deserialize(byte.into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.bytes.len() - self.next)
    }
}

/// A tagged item as ciborium presents it: an enum `@@TAG@@` whose variant `@@TAGGED@@` holds
/// the tag number and the item (what `ciborium::Value` and `ciborium::tag` read).
struct TagAccess<'d, 'a> {
    parent: Option<&'d mut Decoder<'a>>,
    state: usize,
    tag: Option<u64>,
}

impl<'de> de::Deserializer<'de> for &mut TagAccess<'_, '_> {
    type Error = Error;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.state += 1;
        match (self.state, self.tag) {
            (1, Some(..)) => visitor.visit_str("@@TAGGED@@"),
            (1, None) => visitor.visit_str("@@UNTAGGED@@"),
            (_, Some(tag)) => visitor.visit_u64(tag),
            (_, None) => Err(custom("expected tag")),
        }
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i64 i128
        u8 u16 u32 u64 u128
        bool f32 f64
        char str string
        bytes byte_buf
        seq map
        struct tuple tuple_struct
        identifier ignored_any
        option unit unit_struct newtype_struct enum
    }
}

impl<'de> de::EnumAccess<'de> for TagAccess<'_, '_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<V: de::DeserializeSeed<'de>>(mut self, seed: V) -> Result<(V::Value, Self), Error> {
        let variant = seed.deserialize(&mut self)?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for TagAccess<'_, '_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        Err(custom("expected tag"))
    }

    fn newtype_variant_seed<U: de::DeserializeSeed<'de>>(mut self, seed: U) -> Result<U::Value, Error> {
        match self.parent.take() {
            Some(parent) => seed.deserialize(parent),
            None => Err(custom("expected tag")),
        }
    }

    fn tuple_variant<V: de::Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(self)
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Error> {
        Err(custom("expected tag"))
    }
}

impl<'de> de::SeqAccess<'de> for TagAccess<'_, '_> {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if self.state < 2 {
            return Ok(Some(seed.deserialize(self)?));
        }
        Ok(match self.parent.take() {
            Some(parent) => Some(seed.deserialize(parent)?),
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    //! Differential tests: `from_cbor` must give what `ciborium::from_reader` gives, value or
    //! error (compared through `Debug`, so error offsets and messages count), for every type the
    //! core decodes and for valid, altered, truncated and random input.

    use alloc::collections::BTreeMap;
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec;
    use alloc::vec::Vec;
    use core::fmt::Debug;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Serialize};

    use crate::compute::ComputeSnapshot;
    use crate::event::Event;
    use crate::jobstore::{
        GetExecutionsOptions, JobHistoryQuery, JobQuery, JobSnapshot, UpdateEvaluationRequest, UpdateExecutionRequest,
        UpdateJobStateRequest,
    };
    use crate::model::{Evaluation, Execution, Job, JobHistory, LocalExecutionState, LocalStateHistory, Opaque};
    use crate::state::{EvaluationStatus, ExecutionStateType, JobStateType};
    use crate::time::Timestamp;
    use crate::{PageRequest, UpdateExecutionStateRequest};

    /// A deterministic xorshift generator (the tests must not depend on a seed from outside).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n.max(1)
        }
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Shape {
        Unit,
        Newtype(u32),
        Tuple(i8, String),
        Struct { a: bool, b: Option<char> },
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Unit;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Pair(u16, f32);

    /// Calls the typed methods that no record uses.
    #[derive(Debug)]
    #[allow(dead_code)]
    struct Raw(String);
    impl<'de> Deserialize<'de> for Raw {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V(&'static str);
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Raw;
                fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.write_str(self.0)
                }
                fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Raw, E> {
                    Ok(Raw(format!("str {v:?}")))
                }
                fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Raw, E> {
                    Ok(Raw(format!("string {v:?}")))
                }
                fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Raw, E> {
                    Ok(Raw(format!("bytes {v:?}")))
                }
                fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Raw, E> {
                    Ok(Raw(format!("byte_buf {v:?}")))
                }
                fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
                    let mut out = format!("seq {:?}", a.size_hint());
                    while let Some(x) = a.next_element::<u8>()? {
                        out.push_str(&format!(" {x}"));
                    }
                    Ok(Raw(out))
                }
                fn visit_unit<E: serde::de::Error>(self) -> Result<Raw, E> {
                    Ok(Raw("unit".into()))
                }
                fn visit_char<E: serde::de::Error>(self, v: char) -> Result<Raw, E> {
                    Ok(Raw(format!("char {v:?}")))
                }
            }
            let (a, b, c, d2, e, f, g) = (
                serde::Deserializer::deserialize_str::<V>,
                serde::Deserializer::deserialize_bytes::<V>,
                serde::Deserializer::deserialize_byte_buf::<V>,
                serde::Deserializer::deserialize_seq::<V>,
                serde::Deserializer::deserialize_identifier::<V>,
                serde::Deserializer::deserialize_char::<V>,
                serde::Deserializer::deserialize_unit::<V>,
            );
            // One method per call, chosen by the caller through `METHOD`.
            match METHOD.with(|m| m.get()) {
                0 => a(d, V("str")),
                1 => b(d, V("bytes")),
                2 => c(d, V("byte buf")),
                3 => d2(d, V("seq")),
                4 => e(d, V("identifier")),
                5 => f(d, V("char")),
                _ => g(d, V("unit")),
            }
        }
    }

    std::thread_local! {
        static METHOD: core::cell::Cell<u8> = const { core::cell::Cell::new(0) };
    }

    fn same<T: DeserializeOwned + Debug>(bytes: &[u8]) {
        let ours = format!("{:?}", super::super::from_cbor::<T>(bytes));
        let theirs = without_fractions(&format!("{:?}", ciborium::from_reader::<T, _>(bytes)));
        assert_eq!(ours, theirs, "{} from {bytes:02x?}", core::any::type_name::<T>());
    }

    /// serde's message with every non-integral float value dropped, as ours writes it (see
    /// `Unexpected`); integral ones stay and must match exactly.
    fn without_fractions(text: &str) -> String {
        const MARK: &str = "floating point `";
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find(MARK) {
            let value_at = at + MARK.len();
            let end = value_at + rest[value_at..].find('`').expect("closing backtick");
            let value = &rest[value_at..end];
            out.push_str(&rest[..at]);
            let kept = value.parse::<f64>().is_ok_and(|x| crate::error::quote::Float(x).is_exact());
            if kept {
                out.push_str(&rest[at..=end]);
            } else {
                out.push_str("floating point");
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Every type decoded from `bytes`.
    fn all(bytes: &[u8]) {
        same::<Job>(bytes);
        same::<Execution>(bytes);
        same::<Evaluation>(bytes);
        same::<LocalExecutionState>(bytes);
        same::<JobHistory>(bytes);
        same::<LocalStateHistory>(bytes);
        same::<Event>(bytes);
        same::<JobSnapshot>(bytes);
        same::<ComputeSnapshot>(bytes);
        same::<UpdateExecutionRequest>(bytes);
        same::<UpdateJobStateRequest>(bytes);
        same::<UpdateEvaluationRequest>(bytes);
        same::<UpdateExecutionStateRequest>(bytes);
        same::<JobQuery>(bytes);
        same::<JobHistoryQuery>(bytes);
        same::<GetExecutionsOptions>(bytes);
        same::<PageRequest>(bytes);
        same::<JobStateType>(bytes);
        same::<ExecutionStateType>(bytes);
        same::<EvaluationStatus>(bytes);
        same::<Timestamp>(bytes);
        same::<Opaque>(bytes);
        same::<ciborium::Value>(bytes);
        same::<ciborium::tag::Captured<ciborium::Value>>(bytes);
        same::<ciborium::tag::Required<u64, 7>>(bytes);
        same::<Vec<(String, u64)>>(bytes);
        same::<BTreeMap<String, String>>(bytes);
        same::<Vec<Option<bool>>>(bytes);
        same::<Option<bool>>(bytes);
        same::<(u8, u16, u32, u64, u128)>(bytes);
        same::<(i8, i16, i32, i64, i128)>(bytes);
        same::<(f32, f64, char, bool, ())>(bytes);
        same::<Vec<Shape>>(bytes);
        same::<(Unit, Pair)>(bytes);
        same::<u128>(bytes);
        same::<i128>(bytes);
        same::<String>(bytes);
        same::<Vec<u8>>(bytes);
        for m in 0..7 {
            METHOD.with(|c| c.set(m));
            same::<Raw>(bytes);
            same::<Vec<Raw>>(bytes);
        }
    }

    fn cbor<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out
    }

    fn json<T: DeserializeOwned>(s: &str) -> T {
        serde_json::from_str(s).unwrap()
    }

    /// Encodings of real records, snapshots and requests.
    fn samples() -> Vec<Vec<u8>> {
        let job: Job = json(
            r#"{"ID": "j-1", "Name": "job one", "Type": "batch", "Count": 1, "Priority": 3,
                "Labels": {"zone": "a", "gpu": "true"}, "Meta": {"m": "x"},
                "Constraints": [{"Key": "k", "Operator": "in", "Values": ["a", "b"]}],
                "Tasks": [{"Name": "main", "Engine": {"Type": "docker", "Params": {"Image": "ubuntu", "N": -5, "F": 1.5, "L": [1, 2, {"x": null}]}}}]}"#,
        );
        let exec: Execution = json(
            r#"{"ID": "e-1", "JobID": "j-1", "NodeID": "n-1", "EvalID": "v-1",
                "ComputeState": {"StateType": "New"}, "DesiredState": {"StateType": "Pending", "Message": "m"},
                "PublishedResult": {"Type": "ipfs", "Params": {"CID": "Qm"}},
                "RunOutput": {"Stdout": "out", "ExitCode": 3, "ErrorMsg": ""}}"#,
        );
        let eval: Evaluation = json(
            r#"{"ID": "v-1", "JobID": "j-1", "TriggeredBy": "job-register", "Type": "batch", "Priority": 50,
                "Status": "pending", "WaitUntil": "2024-01-02T03:04:05.123456789+01:00"}"#,
        );
        let local: LocalExecutionState = json(
            r#"{"Execution": {"ID": "e-2", "JobID": "j-2"}, "RequesterNodeID": "r", "State": 1, "Version": 1,
                "CreateTime": "2024-01-02T03:04:05Z", "UpdateTime": 1700000000000000000}"#,
        );
        let jobs = crate::StoreBuilder::new().in_memory_jobs();
        jobs.create_job(job.clone()).unwrap();
        jobs.create_execution(exec.clone()).unwrap();
        jobs.create_evaluation(eval.clone()).unwrap();
        jobs.update_job_state(json(r#"{"jobId": "j-1", "newState": "Running", "comment": "go"}"#)).unwrap();
        jobs.checkpoint("c", 2).unwrap();
        let compute = crate::StoreBuilder::new().in_memory_compute();
        compute.create_execution(local.clone()).unwrap();
        compute.update_execution_state(json(r#"{"executionId": "e-2", "newState": "BidAccepted"}"#)).unwrap();
        let body = |snap: Vec<u8>| snap[10..snap.len() - 4].to_vec();
        let mut out = vec![
            cbor(&job),
            cbor(&exec),
            cbor(&eval),
            cbor(&local),
            body(jobs.export_snapshot().unwrap()),
            body(compute.export_snapshot().unwrap()),
            cbor(&jobs.events_after(0, 0).unwrap()),
            cbor(&jobs.snapshot().unwrap().history),
            cbor(&compute.snapshot().unwrap().history),
            cbor(&json::<UpdateExecutionRequest>(
                r#"{"executionId": "e-1", "expectedStates": [1, "New"], "expectedRevision": 2,
                    "patch": {"computeState": "BidAccepted", "publishedResult": null, "runOutput": {"Stdout": "o"}}}"#,
            )),
            cbor(&json::<JobQuery>(
                r#"{"namespace": "n", "includeTags": ["a"], "selector": "gpu=true,zone in (a,b)", "sortBy": "modified_at",
                    "reverse": true, "limit": 3, "offset": 1, "nextToken": "t"}"#,
            )),
            cbor(&json::<JobHistoryQuery>(r#"{"since": -4, "executionId": "e", "limit": 2}"#)),
            cbor(&json::<UpdateEvaluationRequest>(r#"{"evaluationId": "v", "newStatus": "failed", "expectedStatus": 1}"#)),
            cbor(&json::<GetExecutionsOptions>(r#"{"jobId": "j", "includeJob": true}"#)),
            cbor(&ciborium::Value::Tag(7, ciborium::Value::Integer(5.into()).into())),
            cbor(&ciborium::Value::Array(vec![
                ciborium::Value::Tag(2, ciborium::Value::Bytes(vec![1, 0, 0, 0, 0, 0, 0, 0, 0]).into()),
                ciborium::Value::Tag(3, ciborium::Value::Bytes(vec![0, 0, 1, 2]).into()),
                ciborium::Value::Integer((-5i64).into()),
                ciborium::Value::Integer(u64::MAX.into()),
                ciborium::Value::Integer((-(1i128 << 64)).try_into().unwrap()),
                ciborium::Value::Float(0.5),
                ciborium::Value::Float(1e300),
                ciborium::Value::Float(f64::NAN),
                ciborium::Value::Bytes(vec![1, 2, 3]),
                ciborium::Value::Null,
                ciborium::Value::Bool(true),
            ])),
            cbor(&(Some(true), None::<bool>, 'x', "é".to_string(), 1u8, -1i8, 1.25f32)),
            cbor(&vec![(String::from("a"), 1u64), (String::from("b"), u64::MAX)]),
            // Every Shape variant, externally tagged, and as a bare name.
            hex("84 64 556e6974 a1 67 4e6577747970 65 18 2a a1 65 5475706c65 82 20 61 61 a1 66 537472756374 a2 61 61 f5 61 62 f6"),
            hex("82 f6 82 19 0001 fa 3fc00000"),
            // Indefinite-length text, bytes, arrays and maps; nested indefinite strings.
            hex("bf 62 4944 7f 61 61 62 6263 ff 64 4e616d65 5f 41 01 42 0203 ff 65 4c6162656c bf 61 6b 61 76 ff ff"),
            hex("9f 7f 7f 61 61 ff 61 62 ff 5f 5f 41 01 ff ff 9f 01 ff ff"),
            hex("9f 7f 7f 7f 61 61 ff ff 61 62 ff 5f 5f 5f 41 01 ff ff 41 02 ff 01 ff"),
            // Non-canonical headers (long lengths, long integers, half and single floats, simple 24).
            hex("a2 78 02 4944 79 0003 6a2d31 7b 0000000000000004 4e616d65 f9 3e00"),
            hex("86 1b 0000000000000005 3a 00000004 f9 7c00 f9 7e00 fa 7fc00000 f8 14"),
            // Tags before typed values, bignums of every size, undefined.
            hex("85 c1 c2 41 05 c3 50 0102030405060708090a0b0c0d0e0f10 c2 51 000102030405060708090a0b0c0d0e0f10 f7 d8 20 63 616263"),
            // An overlong bignum (its truncations end before or after the first 16 bytes).
            hex("82 c2 54 0102030405060708090a0b0c0d0e0f1011121314 c3 5f 42 0001 52 02030405060708090a0b0c0d0e0f10111213 ff"),
            // Simple values in two bytes where a bool is expected, after a push-back.
            hex("9f f8 20 f8 14 f8 ff ff"),
            hex("82 f8 20 f8 15"),
        ];
        // Text around ciborium's 4096-byte scratch size, as keys (field names), values and
        // segments, with multi-byte characters and bad bytes across the 4096-byte windows.
        for len in [4094, 4095, 4096, 4097, 8191, 8192, 8193] {
            for fill in ["a", "é", "€", "😀", "a😀", "ab😀", "a€"] {
                let mut t = fill.repeat(len / fill.len() + 1).into_bytes();
                t.truncate(len);
                for bad in [None, Some(4095), Some(4096), Some(len - 1)] {
                    let mut t = t.clone();
                    if let Some(i) = bad.filter(|i| *i < t.len()) {
                        t[i] = 0xFF;
                    }
                    let mut head = vec![0x7A];
                    head.extend_from_slice(&(t.len() as u32).to_be_bytes());
                    out.push([&[0xA1][..], &head, &t, &[0x01]].concat());
                    out.push([&[0x9F][..], &head, &t, &[0xFF]].concat());
                    out.push([&[0x82, 0x7F][..], &head, &t, &[0x61, 0x61, 0xFF, 0x00]].concat());
                }
            }
        }
        out
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn valid_truncated_and_altered_input_decodes_as_ciborium_decodes_it() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for bytes in samples() {
            all(&bytes);
            if bytes.len() < 1000 {
                for len in 0..bytes.len() {
                    all(&bytes[..len]);
                }
            } else {
                // Long text: cut around the 4096-byte windows and the ends.
                for len in [0, 1, 3, 5, 6, 4090, 4095, 4096, 4097, 4098, 4101, 4102, 8190, 8197, 8198, bytes.len() - 1]
                {
                    all(&bytes[..len.min(bytes.len())]);
                }
            }
            let tries = if bytes.len() < 1000 { 3 * bytes.len() } else { 4 };
            for _ in 0..tries {
                let mut bad = bytes.clone();
                let i = rng.below(bad.len() as u64) as usize;
                match rng.below(4) {
                    0 => bad[i] ^= 1 << rng.below(8),
                    1 => bad[i] = rng.next() as u8,
                    2 => {
                        bad.insert(i, rng.next() as u8);
                    }
                    _ => {
                        bad.remove(i);
                    }
                }
                all(&bad);
            }
        }
    }

    /// A random CBOR item (headers of every form, lengths sometimes wrong, UTF-8 sometimes bad).
    fn item(rng: &mut Rng, out: &mut Vec<u8>, depth: u32) {
        let head = |rng: &mut Rng, out: &mut Vec<u8>, major: u8, n: u64| {
            let m = major << 5;
            match rng.below(8) {
                0 => put(out, &[m | 27], &n.to_be_bytes()),
                1 if n <= 0xFFFF => put(out, &[m | 25], &(n as u16).to_be_bytes()),
                _ if n < 24 => out.push(m | n as u8),
                _ if n <= 0xFF => out.extend_from_slice(&[m | 24, n as u8]),
                _ if n <= 0xFFFF => put(out, &[m | 25], &(n as u16).to_be_bytes()),
                _ => put(out, &[m | 26], &(n as u32).to_be_bytes()),
            }
        };
        let small = |rng: &mut Rng| match rng.below(6) {
            0 => rng.next(),
            1 => rng.below(300),
            _ => rng.below(24),
        };
        let text = |rng: &mut Rng| -> Vec<u8> {
            const PIECES: [&str; 8] = ["ID", "Name", "a", "é", "€", "😀", "Job", "StateType"];
            let mut t = Vec::new();
            let long = rng.below(20) == 0;
            let n = if long { 1300 + rng.below(100) } else { rng.below(4) };
            for _ in 0..n {
                t.extend_from_slice(PIECES[rng.below(8) as usize].as_bytes());
            }
            if rng.below(10) == 0 && !t.is_empty() {
                let i = rng.below(t.len() as u64) as usize;
                t[i] = 0x80 | rng.next() as u8;
            }
            t
        };
        let leaf = depth > 3 || rng.below(3) == 0;
        match rng.below(if leaf { 8 } else { 12 }) {
            0 => {
                let n = small(rng);
                head(rng, out, 0, n)
            }
            1 => {
                let n = small(rng);
                head(rng, out, 1, n)
            }
            2 | 3 => {
                let t = text(rng);
                if rng.below(4) == 0 {
                    out.push(0x7F);
                    for chunk in t.chunks(1 + rng.below(5000) as usize) {
                        head(rng, out, 3, chunk.len() as u64);
                        out.extend_from_slice(chunk);
                    }
                    out.push(0xFF);
                } else {
                    head(rng, out, 3, t.len() as u64);
                    out.extend_from_slice(&t);
                }
            }
            4 => {
                let n = rng.below(20) as usize;
                let b: Vec<u8> = (0..n).map(|_| rng.below(3) as u8).collect();
                head(rng, out, 2, b.len() as u64);
                out.extend_from_slice(&b);
            }
            5 if rng.below(3) == 0 => put(out, &[0xF8], &[rng.next() as u8]),
            5 => out.push(0xE0 | [20u8, 21, 22, 23, 0, 19][rng.below(6) as usize]),
            6 => match rng.below(4) {
                0 => put(out, &[0xF9], &(rng.next() as u16).to_be_bytes()),
                1 => put(out, &[0xFA], &(rng.next() as u32).to_be_bytes()),
                2 => put(out, &[0xFB], &[0.5f64, 1e300, 2.0, -0.0][rng.below(4) as usize].to_be_bytes()),
                _ => put(out, &[0xFB], &rng.next().to_be_bytes()),
            },
            7 => out.push(rng.next() as u8),
            8 | 9 => {
                let n = rng.below(6);
                let indefinite = rng.below(4) == 0;
                if indefinite {
                    out.push(0x9F);
                } else {
                    head(rng, out, 4, n);
                }
                for _ in 0..n {
                    item(rng, out, depth + 1);
                }
                if indefinite {
                    out.push(0xFF);
                }
            }
            10 => {
                let n = rng.below(5);
                let indefinite = rng.below(4) == 0;
                if indefinite {
                    out.push(0xBF);
                } else {
                    head(rng, out, 5, n);
                }
                for _ in 0..n {
                    let t = text(rng);
                    head(rng, out, 3, t.len() as u64);
                    out.extend_from_slice(&t);
                    item(rng, out, depth + 1);
                }
                if indefinite {
                    out.push(0xFF);
                }
            }
            _ => {
                let tag = [2, 3, 0, 1, 24, 55799][rng.below(6) as usize];
                head(rng, out, 6, tag);
                item(rng, out, depth + 1);
            }
        }
    }

    fn put(out: &mut Vec<u8>, head: &[u8], rest: &[u8]) {
        out.extend_from_slice(head);
        out.extend_from_slice(rest);
    }

    #[test]
    fn random_input_decodes_as_ciborium_decodes_it() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let runs = if cfg!(miri) { 10 } else { 3000 };
        for _ in 0..runs {
            let mut bytes = Vec::new();
            item(&mut rng, &mut bytes, 0);
            all(&bytes);
        }
    }

    #[test]
    fn deep_nesting_hits_the_same_limit() {
        for depth in [255, 256, 257, 300] {
            all(&[vec![0x81; depth], vec![0x00]].concat());
            all(&[[0xA1, 0x61, 0x61].repeat(depth), vec![0x00]].concat());
            all(&[vec![0xC7; depth], vec![0x00]].concat());
        }
    }

    #[test]
    fn floats_report_offsets_at_their_canonical_length() {
        // A float where a bool is expected, after a push-back (option, indefinite array): the
        // error offset depends on the float's shortest exact encoding.
        let mut values = vec![
            0.0,
            -0.0,
            1.0,
            0.5,
            65504.0,
            65520.0,
            1e-5,
            5.960_464_477_539_063e-8,
            2.980_232_238_769_531_3e-8,
            6.103_515_625e-5,
            6.097_555_160_522_461e-5,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN_POSITIVE,
            1.0 / 3.0,
            16_777_217.0,
        ];
        for bits in [
            0x7FF8_0000_0000_0000u64,
            0x7FF0_0000_0000_0001,
            0x7FF4_0000_0000_0000,
            0xFFFC_0000_0000_0000,
            0x7FF8_0400_0000_0000,
            0x7FF8_0000_0000_0400,
            0x7FF8_0000_2000_0000,
            0x7FFF_FFFF_E000_0000,
        ] {
            values.push(f64::from_bits(bits));
        }
        let mut rng = Rng(7);
        for _ in 0..2000 {
            values.push(f64::from_bits(rng.next()));
            values.push(f64::from(f32::from_bits(rng.next() as u32)));
            values.push(super::f16_to_f64(rng.next() as u16));
        }
        for x in values {
            let mut bytes = vec![0x9F, 0xFB];
            bytes.extend_from_slice(&x.to_be_bytes());
            bytes.push(0xFF);
            same::<Vec<Option<bool>>>(&bytes);
            same::<Vec<bool>>(&bytes);
        }
    }
}
