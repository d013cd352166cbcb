//! How error messages write user input without core's heavier formatting, for the wasm
//! package's size: `{:?}` on a `str` links core's Unicode printability tables (~5 KB) and `{}` on
//! a float its float formatting (~9 KB), for a few error messages.
//!
//! `Quoted(s)` writes `s` in double quotes with `"`, `\` and control characters escaped, as
//! `{:?}` does for every printable string. The one difference: a non-control character that Rust
//! deems unprintable (a zero-width space, an unassigned code point) is written as itself instead
//! of as `\u{..}`.
//!
//! `Float(x)` writes NaN, the infinities and integers under 2^53 as `{}` does (`3`, `-0`, `inf`),
//! and any other value as `a number that is not a small integer` (see [`Float::is_exact`]).

use core::fmt::{self, Write as _};

/// `s` in double quotes, escaped (see the module docs).
#[derive(Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        let mut from = 0;
        for (i, c) in self.0.char_indices() {
            let escape = match c {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\0' => "\\0",
                c if c.is_control() => "",
                _ => continue,
            };
            f.write_str(&self.0[from..i])?;
            if escape.is_empty() {
                write!(f, "\\u{{{:x}}}", u32::from(c))?;
            } else {
                f.write_str(escape)?;
            }
            from = i + c.len_utf8();
        }
        f.write_str(&self.0[from..])?;
        f.write_char('"')
    }
}

/// A float in an error message (see the module docs).
#[derive(Clone, Copy)]
pub(crate) struct Float(pub f64);

/// 2^53: below it an integral float's shortest decimal form, which `{}` writes, is its integer.
const TWO_53: f64 = 9_007_199_254_740_992.0;

impl Float {
    /// Whether `Display` writes the value as `{}` would.
    pub(crate) fn is_exact(self) -> bool {
        let x = self.0;
        !x.is_finite() || (x.abs() < TWO_53 && (x as i64) as f64 == x)
    }
}

impl fmt::Display for Float {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let x = self.0;
        if x.is_nan() {
            f.write_str("NaN")
        } else if x.is_infinite() {
            f.write_str(if x > 0.0 { "inf" } else { "-inf" })
        } else if !self.is_exact() {
            f.write_str("a number that is not a small integer")
        } else if x == 0.0 && x.is_sign_negative() {
            f.write_str("-0")
        } else {
            write!(f, "{}", x as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Float, Quoted};
    use alloc::format;

    #[test]
    fn quoting_matches_debug_for_printable_and_control_characters() {
        let cases = [
            "",
            "plain",
            "with \"quotes\" and \\ backslash",
            "tab\tnewline\nreturn\rnul\0",
            "bell\u{7}escape\u{1b}del\u{7f}c1\u{85}",
            "é ü 漢字 🦀 'single'",
        ];
        for s in cases {
            assert_eq!(format!("{}", Quoted(s)), format!("{s:?}"), "{s:?}");
        }
    }

    #[test]
    fn exact_floats_are_written_as_display_writes_them() {
        let exact = [0.0, -0.0, 1.0, -3.0, 255.0, 9_007_199_254_740_991.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
        for x in exact {
            assert!(Float(x).is_exact(), "{x}");
            assert_eq!(format!("{}", Float(x)), format!("{x}"));
        }
        for x in [0.5, -1.25, 9_007_199_254_740_992.0, 1e300, f64::MIN_POSITIVE] {
            assert!(!Float(x).is_exact(), "{x}");
            assert_eq!(format!("{}", Float(x)), "a number that is not a small integer");
        }
    }
}
