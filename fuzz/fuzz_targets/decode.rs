//! The frame decoder over every link type it supports (see `wirebeat::fuzzing::decode_frames`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| wirebeat::fuzzing::decode_frames(data));
