//! A cheap upper bound on a record's encoded size, so that the record-size limit
//! ([`crate::limits::check_record`]) is enforced without encoding every record on every write.
//!
//! The bound counts what the store's CBOR encoding can at most write for each serde event: a
//! header of at most 9 bytes per value (and per map key, field or variant name), plus the bytes
//! of every string and byte string and every name. A record whose bound is within the limit is
//! within it; any other record (or one whose `Serialize` fails here) gets the exact check, so the
//! result is always the exact check's. It reports itself as not human-readable, as the CBOR
//! encoder does, so every `Serialize` impl takes the same path as when the record is stored.

use core::fmt;
use serde::ser::{self, Serialize};

/// At most the bytes of any CBOR header (initial byte + 8-byte argument).
const HEADER: usize = 9;
/// Generous for a 128-bit integer (a bignum tag, a header and 16 bytes).
const WIDE: usize = 32;

/// Appends a problem when `record` encodes to more than [`MAX_RECORD`](crate::limits::MAX_RECORD).
pub(crate) fn check_record<T: Serialize>(problems: &mut alloc::vec::Vec<alloc::string::String>, record: &T) {
    // On wasm the exact count alone: there the bound's second instantiation of every record's
    // `Serialize` costs 1.7 KB of the gzipped module's budget, and skipping it is not measurably
    // slower in Node (26-32k lifecycle ops/s both ways, alternating runs; a call across the JS
    // boundary outweighs the ~13k instructions it saves per create).
    if cfg!(target_family = "wasm") {
        return crate::limits::check_record(problems, record);
    }
    let mut bound = Bound(0);
    match record.serialize(&mut bound) {
        Ok(()) if bound.0 <= crate::limits::MAX_RECORD => {}
        _ => crate::limits::check_record(problems, record),
    }
}

struct Bound(usize);

#[derive(Debug)]
struct Failed;

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not measurable")
    }
}

impl ser::StdError for Failed {}

impl ser::Error for Failed {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Failed
    }
}

impl Bound {
    fn add(&mut self, n: usize) {
        self.0 = self.0.saturating_add(n);
    }
    fn name(&mut self, name: &str) {
        self.add(HEADER + name.len());
    }
}

macro_rules! scalar {
    ($($f:ident: $t:ty = $n:expr),* $(,)?) => {
        $(fn $f(self, _: $t) -> Result<(), Failed> {
            self.add($n);
            Ok(())
        })*
    };
}

impl ser::Serializer for &mut Bound {
    type Ok = ();
    type Error = Failed;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    scalar!(
        serialize_bool: bool = 1,
        serialize_i8: i8 = HEADER,
        serialize_i16: i16 = HEADER,
        serialize_i32: i32 = HEADER,
        serialize_i64: i64 = HEADER,
        serialize_i128: i128 = WIDE,
        serialize_u8: u8 = HEADER,
        serialize_u16: u16 = HEADER,
        serialize_u32: u32 = HEADER,
        serialize_u64: u64 = HEADER,
        serialize_u128: u128 = WIDE,
        serialize_f32: f32 = HEADER,
        serialize_f64: f64 = HEADER,
        serialize_char: char = HEADER + 4,
    );

    fn is_human_readable(&self) -> bool {
        false
    }
    fn serialize_str(self, v: &str) -> Result<(), Failed> {
        self.add(HEADER + v.len());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Failed> {
        self.add(HEADER + v.len());
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Failed> {
        self.add(1);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Failed> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Failed> {
        self.add(1);
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Failed> {
        self.add(1);
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Failed> {
        self.name(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(self, name: &'static str, v: &T) -> Result<(), Failed> {
        // Covers encodings that turn a marker newtype into a tag.
        self.name(name);
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Failed> {
        self.add(HEADER);
        self.name(name);
        self.name(variant);
        v.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self, Failed> {
        self.add(HEADER + 1);
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Failed> {
        self.add(HEADER + 1);
        Ok(self)
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Self, Failed> {
        self.add(HEADER + 1);
        self.name(name);
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Failed> {
        self.add(2 * HEADER + 1);
        self.name(name);
        self.name(variant);
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self, Failed> {
        self.add(HEADER + 1);
        Ok(self)
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self, Failed> {
        self.add(HEADER + 1);
        self.name(name);
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self, Failed> {
        self.add(2 * HEADER + 1);
        self.name(name);
        self.name(variant);
        Ok(self)
    }
}

macro_rules! compound {
    ($($tr:ident :: $f:ident),*) => {
        $(impl ser::$tr for &mut Bound {
            type Ok = ();
            type Error = Failed;
            fn $f<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Failed> {
                v.serialize(&mut **self)
            }
            fn end(self) -> Result<(), Failed> {
                Ok(())
            }
        })*
    };
}
compound!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for &mut Bound {
    type Ok = ();
    type Error = Failed;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Failed> {
        k.serialize(&mut **self)
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Failed> {
        v.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Failed> {
        Ok(())
    }
}

macro_rules! fields {
    ($($tr:ident),*) => {
        $(impl ser::$tr for &mut Bound {
            type Ok = ();
            type Error = Failed;
            fn serialize_field<T: ?Sized + Serialize>(&mut self, key: &'static str, v: &T) -> Result<(), Failed> {
                self.name(key);
                v.serialize(&mut **self)
            }
            fn skip_field(&mut self, _: &'static str) -> Result<(), Failed> {
                Ok(())
            }
            fn end(self) -> Result<(), Failed> {
                Ok(())
            }
        })*
    };
}
fields!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Execution, Job, LocalExecutionState, Opaque, Task};

    fn exact<T: Serialize>(v: &T) -> usize {
        let mut out = alloc::vec::Vec::new();
        ciborium::into_writer(v, &mut out).unwrap();
        out.len()
    }

    fn bound<T: Serialize>(v: &T) -> usize {
        let mut b = Bound(0);
        v.serialize(&mut b).unwrap();
        b.0
    }

    #[test]
    fn the_bound_is_never_below_the_encoded_size() {
        use ciborium::Value;
        let task = Task(Opaque(Value::Map(alloc::vec![
            (Value::Text("Name".into()), Value::Text("main".into())),
            (Value::Integer(7.into()), Value::Tag(2, Value::Bytes(alloc::vec![1; 40]).into())),
            (Value::Text("n".into()), Value::Array(alloc::vec![Value::Null, Value::Bool(true), Value::Float(0.5)])),
            (Value::Text("big".into()), Value::Integer(u64::MAX.into())),
        ])));
        let job = Job { id: "j-1".into(), tasks: alloc::vec![task.clone(), task], ..Job::default() };
        let rec = LocalExecutionState {
            execution: Execution {
                id: "e-1".into(),
                job: Some(alloc::sync::Arc::new(job.clone())),
                ..Execution::default()
            }
            .into(),
            ..LocalExecutionState::default()
        };
        assert!(bound(&rec) >= exact(&rec), "{} < {}", bound(&rec), exact(&rec));
        assert!(bound(&job) >= exact(&job));
        assert!(bound(&LocalExecutionState::default()) >= exact(&LocalExecutionState::default()));
    }

    #[test]
    fn an_oversized_record_still_gets_the_exact_check() {
        let mut rec = LocalExecutionState {
            latest_comment: "x".repeat(crate::limits::MAX_RECORD + 1),
            ..LocalExecutionState::default()
        };
        let mut problems = alloc::vec::Vec::new();
        check_record(&mut problems, &rec);
        assert_eq!(problems.len(), 1);
        rec.latest_comment.truncate(100);
        problems.clear();
        check_record(&mut problems, &rec);
        assert!(problems.is_empty());
    }
}
