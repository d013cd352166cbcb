//! Bytes as found in a store file, stored raw into a table, never panic a read or write.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = bacalhau_state_fuzz_shared::record_decode(data);
});
