//! The capture-file reader and the whole data path behind it (see `wirebeat::fuzzing::capture_file`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = wirebeat::fuzzing::capture_file(data);
});
