//! Snapshot bytes from anywhere (a file, a JS caller) never panic the importer of either store.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bacalhau_state_fuzz_shared::snapshot_decode(data);
});
