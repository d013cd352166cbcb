//! Replays every fuzz crasher (`tests/fuzz-crashers/<target>/*`) and the committed seed corpus
//! (`fuzz/seeds/<target>/*`) through the same entry points the cargo-fuzz targets call
//! (`fuzz/src/lib.rs`, included here by path), so a fixed crash stays fixed in every
//! `cargo test`, with or without a nightly toolchain. Each input must return (Ok or a typed
//! error), never panic.
//!
//! Adding a crasher: copy `fuzz/artifacts/<target>/crash-*` to `tests/fuzz-crashers/<target>/`.
#![cfg(feature = "redb")]

#[allow(unused_imports)]
#[path = "../fuzz/src/lib.rs"]
mod harness;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in [root.join("tests/fuzz-crashers").join(target), root.join("fuzz/seeds").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        paths.sort();
        for path in paths {
            if path.file_name().is_some_and(|f| f.to_string_lossy().starts_with('.')) {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            if let Err(p) = std::panic::catch_unwind(|| run(&data)) {
                let msg =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                panic!("{target}: {} panicked: {}", path.display(), msg.unwrap_or_default());
            }
            n += 1;
        }
    }
    println!("{target}: {n} inputs replayed");
}

#[test]
fn snapshot_decoder_crashers_and_seeds_never_panic() {
    replay("snapshot_decode", harness::snapshot_decode);
}

#[test]
fn record_decoder_crashers_and_seeds_never_panic() {
    replay("record_decode", harness::record_decode);
}

#[test]
fn model_crashers_and_seeds_agree_with_the_model() {
    replay("model", harness::model);
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
    // Every table with: an empty value, an unknown format byte, format 1 + garbage CBOR.
    for table in 0..14u8 {
        for value in [&[][..], &[7u8, 1, 2][..], &[1u8, 0xff, 0x00][..], &[1u8, 0xa0][..]] {
            let mut data = vec![table];
            data.extend_from_slice(value);
            harness::record_decode(&data);
        }
    }
}
