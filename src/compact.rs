//! The array forms some stored values use instead of maps with field names (schema 2: the compute
//! log's references, `event.rs`, and compute history entries, `compute/history.rs`). One reader
//! and one time encoding, so both forms check their input the same way.

use serde::de::{Error, IgnoredAny, SeqAccess};
use serde::ser::SerializeTuple;
use serde::Deserialize;

use crate::time::Timestamp;

/// Writes a time as two elements, seconds and nanoseconds: exact for every [`Timestamp`], unlike
/// nanoseconds in one `i64`, and a third of the RFC 3339 text.
pub(crate) fn write_time<T: SerializeTuple>(t: &mut T, time: Timestamp) -> Result<(), T::Error> {
    t.serialize_element(&time.unix_seconds())?;
    t.serialize_element(&time.subsec_nanos())
}

/// Reads an array of exactly `len` elements, described as `expecting` in errors.
pub(crate) struct Fields<A> {
    seq: A,
    read: usize,
    len: usize,
    expecting: &'static str,
}

impl<'de, A: SeqAccess<'de>> Fields<A> {
    pub fn new(seq: A, len: usize, expecting: &'static str) -> Self {
        Fields { seq, read: 0, len, expecting }
    }

    /// The next element; missing is an `invalid_length` error.
    pub fn next<T: Deserialize<'de>>(&mut self) -> Result<T, A::Error> {
        let v = self.seq.next_element()?.ok_or_else(|| A::Error::invalid_length(self.read, &self.expecting))?;
        self.read += 1;
        Ok(v)
    }

    /// The next two elements as a time written by [`write_time`].
    pub fn time(&mut self) -> Result<Timestamp, A::Error> {
        let (secs, nanos) = (self.next()?, self.next()?);
        Timestamp::from_unix(secs, nanos)
            .ok_or_else(|| A::Error::custom(format_args!("invalid time {secs} s {nanos} ns")))
    }

    /// Refuses elements beyond `len`.
    pub fn end(mut self) -> Result<(), A::Error> {
        if self.seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(A::Error::invalid_length(self.len + 1, &self.expecting));
        }
        Ok(())
    }
}
