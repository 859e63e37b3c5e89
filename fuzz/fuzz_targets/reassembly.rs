//! TCP stream reassembly (see `wirebeat::fuzzing::reassembly`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wirebeat::fuzzing::reassembly(data));
