//! Printing: aligned tables for people, JSON for programs.

use std::sync::OnceLock;

use serde::Serialize;

use crate::OutputFormat;

static FORMAT: OnceLock<OutputFormat> = OnceLock::new();

/// Sets the output format once, from `--output`.
pub fn set_format(f: OutputFormat) {
    let _ = FORMAT.set(f);
}

/// The output format.
pub fn format() -> OutputFormat {
    FORMAT.get().copied().unwrap_or_default()
}

/// Whether JSON was asked for.
pub fn json() -> bool {
    format() == OutputFormat::Json
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize + ?Sized>(v: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Prints rows under a header, columns padded to the widest cell.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out!("{}", s.trim_end());
    };
    line(header.to_vec());
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}

/// Prints key/value lines, keys padded.
pub fn print_fields(fields: &[(&str, String)]) {
    let w = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in fields {
        out!("{k:<w$}  {v}");
    }
}

/// A short form of a nanosecond Unix time.
pub fn time(nanos: i64) -> String {
    bacalhau_state::time::Timestamp::from_unix_nanos(nanos).to_string()
}

/// "a=1 b=2" of a map.
pub fn kv<K: std::fmt::Display, V: std::fmt::Display>(m: impl IntoIterator<Item = (K, V)>) -> String {
    m.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
}
