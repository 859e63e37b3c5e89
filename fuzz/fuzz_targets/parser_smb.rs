//! The smb parser as the registry makes it (see `wirebeat::fuzzing::parser`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wirebeat::fuzzing::parser("smb", data));
