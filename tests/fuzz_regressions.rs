//! Replays every fuzz crasher (`tests/fuzz-crashers/<target>/*`) and the committed seed corpus
//! (`fuzz/seeds/<target>/*`) through the same entry points the cargo-fuzz targets call
//! (`fuzz/src/lib.rs`, included here by path), so a fixed crash stays fixed in every
//! `cargo test`, with or without a nightly toolchain. Each input must return (Ok or a typed
//! error), never panic. Both directories must exist and hold inputs for every target: a
//! missing or emptied one fails instead of replaying nothing.
//!
//! Adding a crasher: copy `fuzz/artifacts/<target>/crash-*` to `tests/fuzz-crashers/<target>/`
//! (see the README there).
#![cfg(feature = "redb")]

#[allow(unused_imports)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

/// Replays every input of `dir` (all files but dot files and the README); returns how many.
fn replay_dir(target: &str, dir: &Path, run: &dyn Fn(&[u8])) -> usize {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{target}: {}: {e}", dir.display()));
    let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut n = 0;
    for path in paths {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') || name == "README.md" {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&data))) {
            let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
            panic!("{target}: {} panicked: {}", path.display(), msg.unwrap_or_default());
        }
        n += 1;
    }
    n
}

fn replay(target: &str, run: &dyn Fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let crashers = replay_dir(target, &root.join("tests/fuzz-crashers").join(target), run);
    let seeds = replay_dir(target, &root.join("fuzz/seeds").join(target), run);
    println!("{target}: {crashers} crashers and {seeds} seeds replayed");
    assert!(crashers > 0, "{target}: no crasher inputs in tests/fuzz-crashers/{target}");
    assert!(seeds > 0, "{target}: no seeds in fuzz/seeds/{target}");
}

#[test]
fn snapshot_decoder_crashers_and_seeds_never_panic() {
    replay("snapshot_decode", &harness::snapshot_decode);
}

#[test]
fn record_decoder_crashers_and_seeds_never_panic() {
    replay("record_decode", &|data| {
        let _ = harness::record_decode(data);
    });
}

#[test]
fn model_crashers_and_seeds_agree_with_the_model() {
    replay("model", &harness::model);
}

/// Hand-made inputs that reach the interesting paths even without a fuzzer-grown corpus.
#[test]
fn hand_made_inputs_never_panic() {
    for data in [&b""[..], b"\x00", b"\xff\xff\xff\xff", b"BSNP\x01\x00\x00\x00garbage", &[0u8; 64]] {
        harness::snapshot_decode(data);
        harness::model(data);
    }
    // A valid export of a store with content: imported into an empty store of the same kind.
    let s = bacalhau_state::ExecutionStore::in_memory();
    let exec = bacalhau_state::model::Execution { id: "e1".into(), job_id: "j1".into(), ..Default::default() };
    s.create_execution(bacalhau_state::model::LocalExecutionState::new(
        exec,
        "r",
        bacalhau_state::time::Timestamp::from_unix_nanos(1),
    ))
    .unwrap();
    let bytes = s.export_snapshot().unwrap();
    harness::snapshot_decode(&bytes);
    for cut in [1, bytes.len() / 2, bytes.len() - 1] {
        harness::snapshot_decode(&bytes[..cut]);
    }
    // Every table with: an empty value, an unknown format byte, format 1 + garbage CBOR: none
    // of them decodes, so the read of that row reports `Corrupt`. Format 1 + an empty map may
    // decode (a record of defaults) or not; it must only not panic.
    for table in 0..14u8 {
        for value in [&[][..], &[7u8, 1, 2][..], &[1u8, 0xff, 0x00][..]] {
            let mut data = vec![table];
            data.extend_from_slice(value);
            assert_eq!(harness::record_decode(&data), Err("Corrupt"), "table {table}, value {value:02x?}");
        }
        let _ = harness::record_decode(&[table, 1, 0xa0]);
    }
}
