//! How many cases a proptest here runs: its own default, or `PROPTEST_CASES` when that asks for
//! more (a nightly run raises every test at once). The variable never lowers a default, so a
//! plain `cargo test` keeps the coverage each test was given.

pub fn cases(default: u32) -> u32 {
    let asked = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse::<u32>().ok());
    asked.map_or(default, |n| n.max(default))
}
