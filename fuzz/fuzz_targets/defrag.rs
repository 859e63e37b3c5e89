//! IPv4/IPv6 defragmentation (see `wirebeat::fuzzing::defrag`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wirebeat::fuzzing::defrag(data));
