//! Points in time as Bacalhau's Go code records them.
//!
//! Go persists `time.Time` as RFC 3339 text with up to nanosecond precision (for example
//! `"2024-02-07T10:00:00.123456789Z"`, sometimes with a numeric offset), and records other fields
//! as int64 nanoseconds since the Unix epoch. [`Timestamp`] reads both forms, keeps nanosecond
//! precision, and always writes RFC 3339 in UTC the way Go's `time.RFC3339Nano` does.

use alloc::string::{String, ToString};
use core::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::ser::{self, Serialize, Serializer};

const NANOS_PER_SEC: u32 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;
/// Inputs quoted in error messages are cut to this many characters so hostile input cannot
/// blow up logs.
const MAX_QUOTED_CHARS: usize = 64;

/// An instant with nanosecond precision, stored as seconds and nanoseconds since the Unix epoch
/// (1970-01-01T00:00:00Z) in UTC.
///
/// Every `i64` second count is representable, so times long before 1970 (including Go's zero
/// time, [`Timestamp::GO_ZERO`]) are ordinary values. Ordering is chronological.
///
/// `Default` is [`Timestamp::UNIX_EPOCH`], not Go's zero time: callers that mean "unset" in the
/// Go sense should compare against [`Timestamp::GO_ZERO`] (see [`Timestamp::is_go_zero`]).
///
/// Serde: serialized as an RFC 3339 string (years 0000..=9999 only, like Go's
/// `Time.MarshalJSON`); deserialized from such a string or from an integer count of Unix
/// nanoseconds. Deserialization asks the format for "any" value, so it needs a self-describing
/// format (JSON, CBOR).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    // Field order matters: the derived `Ord` is chronological because `secs` compares first and
    // `nanos` is always normalised into 0..NANOS_PER_SEC.
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp { secs: 0, nanos: 0 };

    /// 0001-01-01T00:00:00Z, the zero value of Go's `time.Time`, which Bacalhau writes for
    /// timestamps that were never set.
    pub const GO_ZERO: Timestamp = Timestamp { secs: -62_135_596_800, nanos: 0 };

    /// The instant `nanos` nanoseconds after the Unix epoch (before it when negative).
    pub const fn from_unix_nanos(nanos: i64) -> Timestamp {
        Timestamp { secs: nanos.div_euclid(NANOS_PER_SEC as i64), nanos: nanos.rem_euclid(NANOS_PER_SEC as i64) as u32 }
    }

    /// The instant `secs` seconds plus `nanos` nanoseconds after the Unix epoch.
    ///
    /// Returns `None` when `nanos` is not below one second, so that every value has exactly one
    /// representation.
    pub const fn from_unix(secs: i64, nanos: u32) -> Option<Timestamp> {
        if nanos < NANOS_PER_SEC {
            Some(Timestamp { secs, nanos })
        } else {
            None
        }
    }

    /// Nanoseconds since the Unix epoch, or `None` when that does not fit in an `i64`
    /// (roughly before 1677-09-21 or after 2262-04-11; Go's zero time is outside that range).
    pub const fn unix_nanos(&self) -> Option<i64> {
        // i128 because i64::MIN nanoseconds has a whole-second part whose product alone
        // overflows i64 even though the sum fits.
        let total = self.secs as i128 * NANOS_PER_SEC as i128 + self.nanos as i128;
        if total < i64::MIN as i128 || total > i64::MAX as i128 {
            None
        } else {
            Some(total as i64)
        }
    }

    /// Nanoseconds since the Unix epoch, clamped to `i64::MIN..=i64::MAX`.
    pub const fn saturating_unix_nanos(&self) -> i64 {
        match self.unix_nanos() {
            Some(nanos) => nanos,
            None if self.secs < 0 => i64::MIN,
            None => i64::MAX,
        }
    }

    /// Whole seconds since the Unix epoch, rounded towards negative infinity (so
    /// [`Timestamp::subsec_nanos`] is always non-negative).
    pub const fn unix_seconds(&self) -> i64 {
        self.secs
    }

    /// Nanoseconds past [`Timestamp::unix_seconds`], always below 1 000 000 000.
    pub const fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Whether this is Go's zero `time.Time` ([`Timestamp::GO_ZERO`]), Bacalhau's "never set".
    pub const fn is_go_zero(&self) -> bool {
        self.secs == Self::GO_ZERO.secs && self.nanos == Self::GO_ZERO.nanos
    }

    /// RFC 3339 text in UTC, e.g. `2024-02-07T10:00:00.123456789Z`.
    ///
    /// Matches Go's `time.RFC3339Nano`: trailing zeros of the fraction are trimmed and the
    /// fraction is omitted when it is zero. Years outside 0000..=9999 are still written (with a
    /// leading `-` or more than four digits, as Go's `Format` does), but that text is not valid
    /// RFC 3339; use [`Timestamp::try_format_rfc3339`] to refuse such years.
    pub fn format_rfc3339(&self) -> String {
        self.to_string()
    }

    /// Like [`Timestamp::format_rfc3339`], but fails for years outside 0000..=9999, which
    /// RFC 3339 cannot express. This is what serialization uses.
    pub fn try_format_rfc3339(&self) -> Result<String, TimeError> {
        let text = self.to_string();
        let (year, _, _) = civil_from_days(self.secs.div_euclid(SECS_PER_DAY));
        if (0..=9999).contains(&year) {
            Ok(text)
        } else {
            Err(TimeError::new(TimeErrorKind::YearOutOfRange, &text))
        }
    }

    /// Parses RFC 3339 text such as `2024-02-07T15:30:00.5+05:30` and converts it to UTC.
    ///
    /// Accepted: `YYYY-MM-DDTHH:MM:SS`, then optionally `.` and 1 to 9 fraction digits, then `Z`
    /// or `+HH:MM` / `-HH:MM`. `T` and `Z` may be lowercase. Dates are checked against the
    /// calendar (including leap years); hours must be 00..=23, minutes and seconds 00..=59 (no
    /// leap seconds, as in Go), offsets below 24:00. Nothing may follow the zone.
    pub fn parse_rfc3339(input: &str) -> Result<Timestamp, TimeError> {
        parse(input.as_bytes()).map_err(|kind| TimeError::new(kind, input))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(SECS_PER_DAY);
        let secs_of_day = self.secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        if year < 0 {
            write!(f, "-{:04}", year.unsigned_abs())?;
        } else {
            write!(f, "{year:04}")?;
        }
        write!(
            f,
            "-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        )?;
        if self.nanos != 0 {
            let mut fraction = self.nanos;
            let mut width = 9;
            while fraction % 10 == 0 {
                fraction /= 10;
                width -= 1;
            }
            write!(f, ".{fraction:0width$}")?;
        }
        f.write_str("Z")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl core::str::FromStr for Timestamp {
    type Err = TimeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl Timestamp {
    /// The [`Display`](fmt::Display) text for years 0000..=9999 (every serializable time),
    /// written into `buf` without `core::fmt` or an allocation: every stored record carries
    /// times, so this runs several times per store operation. `None` outside that range.
    fn format_rfc3339_into<'b>(&self, buf: &'b mut [u8; 30]) -> Option<&'b str> {
        let days = self.secs.div_euclid(SECS_PER_DAY);
        let secs_of_day = self.secs.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        if !(0..=9999).contains(&year) {
            return None;
        }
        fn put(buf: &mut [u8], at: usize, value: u32, width: usize) {
            let mut v = value;
            for i in (0..width).rev() {
                buf[at + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        *buf = *b"0000-00-00T00:00:00.000000000Z";
        put(buf, 0, year as u32, 4);
        put(buf, 5, month, 2);
        put(buf, 8, day, 2);
        put(buf, 11, secs_of_day / 3600, 2);
        put(buf, 14, secs_of_day / 60 % 60, 2);
        put(buf, 17, secs_of_day % 60, 2);
        let mut len = 19;
        if self.nanos != 0 {
            let mut fraction = self.nanos;
            let mut width = 9;
            while fraction % 10 == 0 {
                fraction /= 10;
                width -= 1;
            }
            put(buf, 20, fraction, width);
            len = 20 + width;
        }
        buf[len] = b'Z';
        core::str::from_utf8(&buf[..=len]).ok()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        if let Some(text) = self.format_rfc3339_into(&mut buf) {
            return serializer.serialize_str(text);
        }
        match self.try_format_rfc3339() {
            Ok(text) => serializer.serialize_str(&text),
            Err(err) => Err(<S::Error as ser::Error>::custom(err)),
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TimestampVisitor)
    }
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = Timestamp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp string or an integer count of Unix nanoseconds")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
        Timestamp::parse_rfc3339(v).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
        Ok(Timestamp::from_unix_nanos(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
        match i64::try_from(v) {
            Ok(nanos) => Ok(Timestamp::from_unix_nanos(nanos)),
            Err(_) => Err(E::custom(format_args!("Unix nanoseconds {v} do not fit in an i64"))),
        }
    }

    // As the state visitor: fitting values take the 64-bit paths, the rest are refused without
    // printing 128-bit digits (serde's default would, linking 128-bit formatting into wasm).
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Timestamp, E> {
        i64::try_from(v).map(Timestamp::from_unix_nanos).map_err(|_| E::custom(BEYOND_64_BITS))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Timestamp, E> {
        match u64::try_from(v) {
            Ok(v) => self.visit_u64(v),
            Err(_) => Err(E::custom(BEYOND_64_BITS)),
        }
    }
}

const BEYOND_64_BITS: &str = "Unix nanoseconds beyond 64 bits do not fit in an i64";

/// Why a timestamp could not be parsed or formatted; see [`TimeError::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeErrorKind {
    /// The text does not have RFC 3339 shape: `what` was expected at byte offset `at`.
    Expected {
        /// What the parser was looking for.
        what: &'static str,
        /// Byte offset into the input.
        at: usize,
    },
    /// More than nine fractional-second digits (finer than nanoseconds).
    TooManyFractionDigits,
    /// Month outside 01..=12.
    MonthOutOfRange,
    /// Day outside the month (e.g. February 29 in a common year).
    DayOutOfRange,
    /// Hour outside 00..=23.
    HourOutOfRange,
    /// Minute outside 00..=59.
    MinuteOutOfRange,
    /// Second outside 00..=59.
    SecondOutOfRange,
    /// Zone offset hour above 23 or minute above 59.
    OffsetOutOfRange,
    /// Input continues after the zone, starting at this byte offset.
    TrailingInput {
        /// Byte offset of the first unexpected byte.
        at: usize,
    },
    /// The year is outside 0000..=9999, which RFC 3339 cannot express (formatting only).
    YearOutOfRange,
}

impl fmt::Display for TimeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeErrorKind::Expected { what, at } => write!(f, "expected {what} at byte {at}"),
            TimeErrorKind::TooManyFractionDigits => f.write_str("more than 9 fractional-second digits"),
            TimeErrorKind::MonthOutOfRange => f.write_str("month out of range"),
            TimeErrorKind::DayOutOfRange => f.write_str("day out of range for the month"),
            TimeErrorKind::HourOutOfRange => f.write_str("hour out of range"),
            TimeErrorKind::MinuteOutOfRange => f.write_str("minute out of range"),
            TimeErrorKind::SecondOutOfRange => f.write_str("second out of range"),
            TimeErrorKind::OffsetOutOfRange => f.write_str("zone offset out of range"),
            TimeErrorKind::TrailingInput { at } => {
                write!(f, "unexpected trailing input at byte {at}")
            }
            TimeErrorKind::YearOutOfRange => f.write_str("year outside 0000..=9999"),
        }
    }
}

/// A timestamp that could not be parsed (or, for [`TimeErrorKind::YearOutOfRange`], formatted).
///
/// Displays as e.g. `invalid RFC 3339 timestamp "2023-02-29T00:00:00Z": day out of range for the
/// month`, quoting at most the first 64 characters of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    kind: TimeErrorKind,
    input: String,
}

impl TimeError {
    fn new(kind: TimeErrorKind, input: &str) -> TimeError {
        TimeError { kind, input: truncate_chars(input, MAX_QUOTED_CHARS) }
    }

    /// What was wrong.
    pub fn kind(&self) -> TimeErrorKind {
        self.kind
    }

    /// The offending text, cut to 64 characters (with `…` appended when cut).
    pub fn input(&self) -> &str {
        &self.input
    }
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == TimeErrorKind::YearOutOfRange {
            write!(f, "cannot write timestamp {} as RFC 3339: {}", crate::error::Quoted(&self.input), self.kind)
        } else {
            write!(f, "invalid RFC 3339 timestamp {}: {}", crate::error::Quoted(&self.input), self.kind)
        }
    }
}

impl core::error::Error for TimeError {}

/// `input` cut to at most `max` characters, marked with `…` when cut.
pub(crate) fn truncate_chars(input: &str, max: usize) -> String {
    match input.char_indices().nth(max) {
        Some((end, _)) => {
            let mut cut = String::from(&input[..end]);
            cut.push('…');
            cut
        }
        None => String::from(input),
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
///
/// Exact for every `year` whose day count fits in an `i64`; `month` must be 1..=12 and `day`
/// 1..=31 (callers validate first).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400; // 0..=399
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 }; // March = 0
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian `(year, month, day)` of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`). No overflow for any day count derived from `i64` seconds.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let days = days + 719_468; // shift the epoch to 0000-03-01
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097; // 0..=146096
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The value of the `count` ASCII digits at `at`, or an `Expected` error naming `what`.
fn digits(bytes: &[u8], at: usize, count: usize, what: &'static str) -> Result<u32, TimeErrorKind> {
    let mut value = 0u32;
    for offset in at..at + count {
        match bytes.get(offset) {
            Some(b @ b'0'..=b'9') => value = value * 10 + u32::from(b - b'0'),
            _ => return Err(TimeErrorKind::Expected { what, at: offset }),
        }
    }
    Ok(value)
}

fn separator(bytes: &[u8], at: usize, accepted: &[u8], what: &'static str) -> Result<(), TimeErrorKind> {
    match bytes.get(at) {
        Some(b) if accepted.contains(b) => Ok(()),
        _ => Err(TimeErrorKind::Expected { what, at }),
    }
}

fn parse(bytes: &[u8]) -> Result<Timestamp, TimeErrorKind> {
    let year = digits(bytes, 0, 4, "a 4-digit year")?;
    separator(bytes, 4, b"-", "'-'")?;
    let month = digits(bytes, 5, 2, "a 2-digit month")?;
    separator(bytes, 7, b"-", "'-'")?;
    let day = digits(bytes, 8, 2, "a 2-digit day")?;
    separator(bytes, 10, b"Tt", "'T'")?;
    let hour = digits(bytes, 11, 2, "a 2-digit hour")?;
    separator(bytes, 13, b":", "':'")?;
    let minute = digits(bytes, 14, 2, "2-digit minutes")?;
    separator(bytes, 16, b":", "':'")?;
    let second = digits(bytes, 17, 2, "2-digit seconds")?;

    let mut at = 19;
    let mut nanos = 0;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while bytes.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let count = at - start;
        if count == 0 {
            return Err(TimeErrorKind::Expected { what: "a fraction digit", at });
        }
        if count > 9 {
            return Err(TimeErrorKind::TooManyFractionDigits);
        }
        nanos = digits(bytes, start, count, "a fraction digit")? * 10u32.pow((9 - count) as u32);
    }

    let offset_secs = match bytes.get(at) {
        Some(b'Z' | b'z') => {
            at += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            let sign = if *sign == b'-' { -1 } else { 1 };
            let offset_hour = digits(bytes, at + 1, 2, "a 2-digit offset hour")?;
            separator(bytes, at + 3, b":", "':'")?;
            let offset_minute = digits(bytes, at + 4, 2, "2-digit offset minutes")?;
            if offset_hour > 23 || offset_minute > 59 {
                return Err(TimeErrorKind::OffsetOutOfRange);
            }
            at += 6;
            sign * i64::from(offset_hour * 3600 + offset_minute * 60)
        }
        _ => return Err(TimeErrorKind::Expected { what: "'Z' or a +HH:MM/-HH:MM zone offset", at }),
    };
    if at != bytes.len() {
        return Err(TimeErrorKind::TrailingInput { at });
    }

    let year = i64::from(year);
    if !(1..=12).contains(&month) {
        return Err(TimeErrorKind::MonthOutOfRange);
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(TimeErrorKind::DayOutOfRange);
    }
    if hour > 23 {
        return Err(TimeErrorKind::HourOutOfRange);
    }
    if minute > 59 {
        return Err(TimeErrorKind::MinuteOutOfRange);
    }
    if second > 59 {
        return Err(TimeErrorKind::SecondOutOfRange);
    }

    // Local time minus the offset is UTC; years are four digits, so none of this can overflow.
    let secs =
        days_from_civil(year, month, day) * SECS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second) - offset_secs;
    Ok(Timestamp { secs, nanos })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn parse(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap()
    }

    #[test]
    fn nanoseconds_wider_than_64_bits_decode_when_they_fit_and_are_refused_when_they_do_not() {
        use crate::snapshot::from_cbor;
        let t: Timestamp = from_cbor(&[0xC3, 0x41, 0x00]).unwrap(); // bignum -1
        assert_eq!(t, Timestamp::from_unix_nanos(-1));
        let t: Timestamp = from_cbor(&[0xC2, 0x42, 0x01, 0x00]).unwrap(); // bignum 256
        assert_eq!(t, Timestamp::from_unix_nanos(256));
        for wide in
            [&[0x3B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF][..], &[0xC2, 0x49, 1, 0, 0, 0, 0, 0, 0, 0, 0]]
        {
            let e = from_cbor::<Timestamp>(wide).unwrap_err().to_string();
            assert!(e.contains(BEYOND_64_BITS), "{e}");
        }
    }

    #[test]
    fn the_allocation_free_format_is_the_display_text() {
        let mut buf = [0u8; 30];
        let secs = [0, 1, 59, 86_399, 951_782_400, 1_700_000_000, 253_402_300_799, -62_167_219_200, -1];
        let nanos = [0, 1, 10, 500_000_000, 123_456_789, 999_999_999, 100];
        for &s in &secs {
            for &n in &nanos {
                let t = Timestamp::from_unix(s, n).unwrap();
                assert_eq!(t.format_rfc3339_into(&mut buf), Some(t.to_string().as_str()), "{s} {n}");
            }
        }
        assert_eq!(Timestamp::from_unix(253_402_300_800, 0).unwrap().format_rfc3339_into(&mut buf), None);
        assert_eq!(Timestamp::from_unix(-62_167_219_201, 0).unwrap().format_rfc3339_into(&mut buf), None);
    }

    fn parse_error(text: &str) -> TimeErrorKind {
        Timestamp::parse_rfc3339(text).unwrap_err().kind()
    }

    fn round_trips(text: &str) {
        let ts = parse(text);
        assert_eq!(ts.format_rfc3339(), text);
        assert_eq!(parse(&ts.format_rfc3339()), ts);
    }

    #[test]
    fn go_zero_is_year_one_and_round_trips() {
        assert_eq!(parse("0001-01-01T00:00:00Z"), Timestamp::GO_ZERO);
        assert_eq!(days_from_civil(1, 1, 1) * SECS_PER_DAY, Timestamp::GO_ZERO.unix_seconds());
        assert!(Timestamp::GO_ZERO.is_go_zero());
        assert!(!Timestamp::UNIX_EPOCH.is_go_zero());
        round_trips("0001-01-01T00:00:00Z");
    }

    #[test]
    fn default_is_the_unix_epoch() {
        assert_eq!(Timestamp::default(), Timestamp::UNIX_EPOCH);
        assert_eq!(Timestamp::UNIX_EPOCH.format_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(parse("1970-01-01T00:00:00Z"), Timestamp::UNIX_EPOCH);
    }

    #[test]
    fn nanosecond_example_from_go_round_trips() {
        let ts = parse("2024-02-07T10:00:00.123456789Z");
        assert_eq!(ts.unix_nanos(), Some(1_707_300_000_123_456_789));
        round_trips("2024-02-07T10:00:00.123456789Z");
    }

    #[test]
    fn rfc3339_with_positive_offset_is_converted_to_utc() {
        let ts = parse("2024-02-07T15:30:00.5+05:30");
        assert_eq!(ts, parse("2024-02-07T10:00:00.5Z"));
        assert_eq!(ts.format_rfc3339(), "2024-02-07T10:00:00.5Z");
    }

    #[test]
    fn rfc3339_with_negative_offset_is_converted_to_utc_across_midnight() {
        assert_eq!(parse("2024-02-28T20:00:00-08:00").format_rfc3339(), "2024-02-29T04:00:00Z");
    }

    #[test]
    fn times_before_1970_round_trip() {
        round_trips("1969-12-31T23:59:59.999999999Z");
        assert_eq!(parse("1969-12-31T23:59:59.999999999Z").unix_nanos(), Some(-1));
        round_trips("1900-03-01T12:34:56.789Z");
        round_trips("0000-01-01T00:00:00Z");
    }

    #[test]
    fn leap_day_2024_round_trips() {
        round_trips("2024-02-29T23:59:59Z");
        round_trips("2000-02-29T00:00:00Z");
    }

    #[test]
    fn last_representable_rfc3339_instant_round_trips() {
        round_trips("9999-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn fraction_trailing_zeros_are_trimmed_like_go() {
        assert_eq!(parse("2024-01-01T00:00:00.500000000Z").format_rfc3339(), "2024-01-01T00:00:00.5Z");
        assert_eq!(parse("2024-01-01T00:00:00.000001Z").format_rfc3339(), "2024-01-01T00:00:00.000001Z");
        assert_eq!(parse("2024-01-01T00:00:00.000Z").format_rfc3339(), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn lowercase_t_and_z_are_accepted() {
        assert_eq!(parse("2024-02-07t10:00:00z"), parse("2024-02-07T10:00:00Z"));
    }

    #[test]
    fn unix_nanos_conversions_handle_negative_and_out_of_range_values() {
        let before_epoch = Timestamp::from_unix_nanos(-1_500_000_000);
        assert_eq!(before_epoch.unix_seconds(), -2);
        assert_eq!(before_epoch.subsec_nanos(), 500_000_000);
        assert_eq!(before_epoch.unix_nanos(), Some(-1_500_000_000));
        for nanos in [i64::MIN, i64::MAX, 0, 1, -1] {
            assert_eq!(Timestamp::from_unix_nanos(nanos).unix_nanos(), Some(nanos));
        }
        assert_eq!(Timestamp::GO_ZERO.unix_nanos(), None);
        assert_eq!(Timestamp::GO_ZERO.saturating_unix_nanos(), i64::MIN);
        let far_future = parse("9999-12-31T23:59:59Z");
        assert_eq!(far_future.unix_nanos(), None);
        assert_eq!(far_future.saturating_unix_nanos(), i64::MAX);
    }

    #[test]
    fn from_unix_rejects_a_full_second_of_nanos() {
        assert_eq!(Timestamp::from_unix(5, 999_999_999).map(|t| t.subsec_nanos()), Some(999_999_999));
        assert_eq!(Timestamp::from_unix(5, 1_000_000_000), None);
    }

    #[test]
    fn invalid_calendar_dates_and_times_are_rejected() {
        assert_eq!(parse_error("2023-02-29T00:00:00Z"), TimeErrorKind::DayOutOfRange);
        assert_eq!(parse_error("1900-02-29T00:00:00Z"), TimeErrorKind::DayOutOfRange);
        assert_eq!(parse_error("2024-04-31T00:00:00Z"), TimeErrorKind::DayOutOfRange);
        assert_eq!(parse_error("2024-01-00T00:00:00Z"), TimeErrorKind::DayOutOfRange);
        assert_eq!(parse_error("2024-13-01T00:00:00Z"), TimeErrorKind::MonthOutOfRange);
        assert_eq!(parse_error("2024-00-01T00:00:00Z"), TimeErrorKind::MonthOutOfRange);
        assert_eq!(parse_error("2024-01-01T24:00:00Z"), TimeErrorKind::HourOutOfRange);
        assert_eq!(parse_error("2024-01-01T23:60:00Z"), TimeErrorKind::MinuteOutOfRange);
        assert_eq!(parse_error("2024-01-01T23:59:60Z"), TimeErrorKind::SecondOutOfRange);
        assert_eq!(parse_error("2024-01-01T00:00:00+24:00"), TimeErrorKind::OffsetOutOfRange);
    }

    #[test]
    fn malformed_text_is_rejected_with_the_byte_offset() {
        assert_eq!(
            parse_error("2024-01-01T00:00:00"),
            TimeErrorKind::Expected { what: "'Z' or a +HH:MM/-HH:MM zone offset", at: 19 }
        );
        assert_eq!(parse_error("2024-01-01T00:00:00.1234567891Z"), TimeErrorKind::TooManyFractionDigits);
        assert_eq!(parse_error("2024-01-01T00:00:00.Z"), TimeErrorKind::Expected { what: "a fraction digit", at: 20 });
        assert_eq!(parse_error("2024-01-01 00:00:00Z"), TimeErrorKind::Expected { what: "'T'", at: 10 });
        assert_eq!(parse_error("2024-01-01T00:00:00Zjunk"), TimeErrorKind::TrailingInput { at: 20 });
        assert_eq!(parse_error("2024-01-01T00:00:00+0530"), TimeErrorKind::Expected { what: "':'", at: 22 });
        assert_eq!(parse_error("24-01-01T00:00:00Z"), TimeErrorKind::Expected { what: "a 4-digit year", at: 2 });
        for garbage in ["", "not a time", "2024", "2024-01-01", "é", "+2024-01-01T00:00:00Z"] {
            assert!(Timestamp::parse_rfc3339(garbage).is_err(), "{garbage:?} was accepted");
        }
    }

    #[test]
    fn error_message_names_the_problem_and_quotes_truncated_input() {
        let err = Timestamp::parse_rfc3339("2023-02-29T00:00:00Z").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid RFC 3339 timestamp \"2023-02-29T00:00:00Z\": day out of range for the month"
        );
        let long = "x".repeat(100);
        let err = Timestamp::parse_rfc3339(&long).unwrap_err();
        assert_eq!(err.input().chars().count(), 65);
        assert!(err.input().ends_with('…'));
    }

    #[test]
    fn years_outside_rfc3339_are_displayed_but_not_serialized() {
        let early = Timestamp::from_unix(days_from_civil(-1, 1, 1) * SECS_PER_DAY, 0).unwrap();
        assert_eq!(early.to_string(), "-0001-01-01T00:00:00Z");
        assert_eq!(early.try_format_rfc3339().unwrap_err().kind(), TimeErrorKind::YearOutOfRange);
        let late = Timestamp::from_unix(days_from_civil(10_000, 1, 1) * SECS_PER_DAY, 0).unwrap();
        assert_eq!(late.to_string(), "10000-01-01T00:00:00Z");
        let err = serde_json::to_string(&late).unwrap_err();
        assert!(err.to_string().contains("year outside 0000..=9999"), "{err}");
        // Formatting the extremes must not overflow.
        let _ = Timestamp::from_unix(i64::MIN, 0).unwrap().to_string();
        let _ = Timestamp::from_unix(i64::MAX, 999_999_999).unwrap().to_string();
    }

    #[test]
    fn civil_conversion_agrees_with_day_by_day_counting() {
        let mut days = days_from_civil(1599, 1, 1);
        for year in 1599..=2401 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    assert_eq!(days_from_civil(year, month, day), days);
                    assert_eq!(civil_from_days(days), (year, month, day));
                    days += 1;
                }
            }
        }
    }

    #[test]
    fn ordering_is_chronological() {
        let mut times: Vec<Timestamp> = [
            "2024-02-07T10:00:00.5Z",
            "0001-01-01T00:00:00Z",
            "1969-12-31T23:59:59.9Z",
            "2024-02-07T10:00:00.123456789Z",
            "1970-01-01T00:00:00Z",
            "2024-02-07T15:30:00.4+05:30",
        ]
        .iter()
        .map(|text| parse(text))
        .collect();
        times.sort();
        let sorted: Vec<String> = times.iter().map(Timestamp::format_rfc3339).collect();
        assert_eq!(
            sorted,
            [
                "0001-01-01T00:00:00Z",
                "1969-12-31T23:59:59.9Z",
                "1970-01-01T00:00:00Z",
                "2024-02-07T10:00:00.123456789Z",
                "2024-02-07T10:00:00.4Z",
                "2024-02-07T10:00:00.5Z",
            ]
        );
    }

    #[test]
    fn serde_json_round_trips_as_an_rfc3339_string() {
        for text in ["2024-02-07T10:00:00.123456789Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"] {
            let ts = parse(text);
            let json = serde_json::to_string(&ts).unwrap();
            assert_eq!(json, alloc::format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), ts);
        }
        let converted: Timestamp = serde_json::from_str("\"2024-02-07T15:30:00.5+05:30\"").unwrap();
        assert_eq!(converted.format_rfc3339(), "2024-02-07T10:00:00.5Z");
    }

    #[test]
    fn serde_accepts_integer_unix_nanos() {
        let ts: Timestamp = serde_json::from_str("1707300000123456789").unwrap();
        assert_eq!(ts, parse("2024-02-07T10:00:00.123456789Z"));
        let ts: Timestamp = serde_json::from_str("-1").unwrap();
        assert_eq!(ts.format_rfc3339(), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn serde_rejects_other_values_with_a_reason() {
        let err = serde_json::from_str::<Timestamp>("\"2023-02-29T00:00:00Z\"").unwrap_err();
        assert!(err.to_string().contains("day out of range"), "{err}");
        let err = serde_json::from_str::<Timestamp>("18446744073709551615").unwrap_err();
        assert!(err.to_string().contains("do not fit in an i64"), "{err}");
        for other in ["1.5", "true", "null", "[]", "{}"] {
            let err = serde_json::from_str::<Timestamp>(other).unwrap_err();
            assert!(err.to_string().contains("expected an RFC 3339 timestamp"), "{other}: {err}");
        }
    }

    #[test]
    fn every_instant_in_rfc3339_range_round_trips_through_text() {
        // A cheap deterministic sweep (xorshift) instead of a property-testing dependency.
        let min = Timestamp::parse_rfc3339("0000-01-01T00:00:00Z").unwrap().unix_seconds();
        let max = Timestamp::parse_rfc3339("9999-12-31T23:59:59Z").unwrap().unix_seconds();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let secs = min + (state % (max - min + 1) as u64) as i64;
            let nanos = (state >> 20) as u32 % NANOS_PER_SEC;
            let ts = Timestamp::from_unix(secs, nanos).unwrap();
            assert_eq!(Timestamp::parse_rfc3339(&ts.try_format_rfc3339().unwrap()), Ok(ts));
        }
    }
}
