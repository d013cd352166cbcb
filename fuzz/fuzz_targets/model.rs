//! Arbitrary operation sequences agree with the reference model of tests/model.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    bacalhau_state_fuzz_shared::model(data);
});
